//! Integration tests: the real app over HTTP, on SQLite and on PostgreSQL.

mod helpers;

mod bad_input;
mod bundle;
mod cli;
mod concurrency;
mod ladder_walk;
mod ledger;
mod openapi;
mod tamper;
mod tree;
