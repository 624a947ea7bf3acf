//! The background tasks.

pub mod checkpointer;
pub mod holidays;
pub mod mailer;
pub mod pusher;
pub mod sender;
pub mod shutdown;
pub mod sweeper;
