//! XMeld-shaped Melderegister messages (synthetic register only).
