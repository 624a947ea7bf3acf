//! The use cases, each one write transaction.

pub mod backup;
pub mod bundle;
pub mod casework;
pub mod checkpoint;
pub mod cosign;
pub mod deadline;
pub mod disputes;
pub mod error;
pub mod export;
pub mod figures;
pub mod holidays;
pub mod keys;
pub mod ledger;
pub mod notify;
pub mod policies;
pub mod policy_store;
pub mod record;
pub mod redaction;
pub mod registry;
pub mod reports;
pub mod scrutiny;
pub mod scrutiny_replay;
pub mod synth;
pub mod verify;
pub mod webhooks;
pub mod whistleblowing;
