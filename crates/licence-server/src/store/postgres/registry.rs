//! placeholder: PostgreSQL registry piece (being written)
