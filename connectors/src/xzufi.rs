//! XZuFi 2.2 / PVOG service descriptions.
