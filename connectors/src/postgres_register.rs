//! Registers kept in a PostgreSQL database.
