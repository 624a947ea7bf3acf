//! Diesel only: the backends, the schema and one module per aggregate.

pub mod checkpoints;
pub mod db;
pub mod error;
pub mod ledger;
pub mod redactions;
pub mod schema;
pub mod scrutiny;
pub mod tree;
pub mod whistleblowers;
pub mod witnesses;
