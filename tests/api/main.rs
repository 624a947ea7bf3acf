//! Integration tests: the real app over HTTP, on SQLite and on PostgreSQL.

mod helpers;

mod bad_input;
mod cli;
mod concurrency;
mod identity;
mod ladder_walk;
mod ledger;
mod notify;
mod openapi;
mod redaction;
mod tamper;
mod tree;
mod witness;
