//! placeholder: PostgreSQL access piece (being written)
