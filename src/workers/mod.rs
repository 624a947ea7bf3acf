//! The background tasks.
pub mod holidays;
pub mod sender;
pub mod shutdown;
