//! Diesel only: the backends, the schema and one module per aggregate.

pub mod agencies;
pub mod backup;
pub mod checkpoints;
pub mod console;
pub mod db;
pub mod deadlines;
pub mod disputes;
pub mod email;
pub mod error;
pub mod figures;
pub mod ledger;
pub mod outbox;
pub mod policies;
pub mod redactions;
pub mod restore;
pub mod schema;
pub mod scrutiny;
pub mod tail;
pub mod tree;
pub mod whistleblowers;
pub mod witnesses;
