//! escalation-ledger: the KRSCP escalation ladder with a verifiable ledger.
//!
//! `ladder` and `ledger` are the pure core; `store`, `db` and `verify` hold the
//! data; `api`, `auth` and `error` are the HTTP edge; `app` wires them up.
//! See `ARCHITECTURE.md`.

pub mod admin_api;
pub mod api;
pub mod app;
pub mod auth;
pub mod authz;
pub mod bundle;
pub mod calendar;
pub mod checkpoint;
pub mod config;
pub mod cosign;
pub mod db;
pub mod deadline;
pub mod error;
pub mod holidays;
pub mod jwks;
pub mod ladder;
pub mod ledger;
pub mod merkle;
pub mod note;
pub mod notify;
pub mod policy;
pub mod policy_api;
pub mod policy_store;
pub mod ratelimit;
pub mod redaction;
pub mod registry;
pub mod schema;
pub mod scrutiny;
pub mod store;
pub mod tree;
pub mod verify;
pub mod whistleblowing;
pub mod witness;
