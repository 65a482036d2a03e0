//! placeholder: PostgreSQL applications piece (being written)
