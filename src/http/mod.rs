//! The HTTP edge: actix and utoipa.

pub mod auth;
pub mod authz;
pub mod error;
pub mod handlers;
pub mod jwks;
pub mod ratelimit;
pub mod routes;
pub mod state;
pub mod views;

/// The old home of the OpenAPI document, kept for `cli::commands` until it
/// imports [`routes::ApiDoc`] itself.
pub mod api {
    pub use super::routes::ApiDoc;
}
