//! The command line: clap commands, configuration, the witness client.

pub mod commands;
pub mod config;
pub mod witness;
pub mod witness_serve;
