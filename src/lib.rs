//! escalation-ledger: the KRSCP escalation ladder with a verifiable ledger.
//!
//! The layers, and the only way imports point (see `ARCHITECTURE.md`):
//! `cli`/`app` → `http`/`workers` → `service` → `store` → `core`.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod cli;
pub mod core;
pub mod http;
pub mod service;
pub mod store;
pub mod workers;
