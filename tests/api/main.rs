//! Integration tests: the real app over HTTP, on SQLite and on PostgreSQL.

mod helpers;

mod access_table;
mod authz_matrix;
mod backup;
mod bad_input;
mod bundle;
mod cli;
mod concurrency;
mod deadlines;
mod forged;
mod holidays;
mod identity;
mod ladder_walk;
mod ledger;
mod metrics;
mod notify;
mod openapi;
mod policies;
mod ratelimit;
mod readme;
mod redaction;
mod reports;
mod schemathesis;
mod scrutiny;
mod shutdown;
mod tamper;
mod tree;
mod whistleblowing;
mod witness;
