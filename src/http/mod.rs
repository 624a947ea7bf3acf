//! The HTTP edge: actix and utoipa.

pub mod auth;
pub mod authz;
pub mod console;
pub mod error;
pub mod guard;
pub mod handlers;
pub mod jwks;
pub mod metrics;
pub mod openapi;
pub mod paging;
pub mod ratelimit;
pub mod routes;
pub mod state;
pub mod views;
