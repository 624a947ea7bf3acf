//! The HTTP edge: actix and utoipa.

pub mod admin_api;
pub mod api;
pub mod auth;
pub mod authz;
pub mod error;
pub mod jwks;
pub mod policy_api;
pub mod ratelimit;
pub mod state;
pub mod whistleblowing;
