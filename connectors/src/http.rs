//! Fetching remote sources over HTTP(S).
