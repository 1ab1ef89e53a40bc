//! OParl 1.1 council information systems.
