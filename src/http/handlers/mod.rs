//! One module per resource: each handler parses, gets its caller from
//! [`crate::http::authz`], calls one service use case through
//! [`crate::http::state::run`] and renders. Its `#[utoipa::path]` (over the
//! actix route macro) gives both its route and its OpenAPI entry; they are
//! mounted in [`crate::http::routes`].

pub mod agencies;
pub mod disputes;
pub mod email;
pub mod health;
pub mod ledger;
pub mod metrics;
pub mod policies;
pub mod problems;
pub mod proofs;
pub mod redactions;
pub mod reports;
pub mod scrutiny;
pub mod tlog;
pub mod webhooks;
pub mod whistleblowing;
pub mod witnesses;
