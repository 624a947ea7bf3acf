//! The background tasks.
