//! The pure domain: no actix, no diesel, no file or network I/O.

pub mod audit;
pub mod calendar;
pub mod checkpoint;
pub mod clock;
pub mod deadline;
pub mod event;
pub mod input;
pub mod ladder;
pub mod ledger;
pub mod merkle;
pub mod metrics;
pub mod note;
pub mod policy;
pub mod pq;
pub mod registry;
pub mod report;
pub mod scrutiny;
pub mod target;
pub mod tiles;
pub mod tlog_policy;
pub mod tlog_proof;
pub mod whistleblowing;
pub mod witness_protocol;
