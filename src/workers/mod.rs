//! The background tasks.
pub mod sender;
