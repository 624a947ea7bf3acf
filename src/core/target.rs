//! Whom a notification is for: an agency (every step of its disputes) or a
//! role (when it is due to act). Shared by webhook endpoints and email lists.
//! Pure.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::core::ladder::Role;

/// Whom an endpoint or an address list is for: `{"agency": id}` or `{"role": role}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    Agency(String),
    Role(Role),
}

impl Target {
    /// The two columns a table stores it in: kind (`agency`, `role`) and value.
    pub fn columns(&self) -> (&'static str, String) {
        match self {
            Target::Agency(a) => ("agency", a.clone()),
            Target::Role(r) => ("role", r.as_str().to_string()),
        }
    }

    /// Read back from [`Target::columns`].
    pub fn from_columns(kind: &str, value: &str) -> Result<Self, String> {
        match kind {
            "agency" => Ok(Target::Agency(value.to_string())),
            "role" => value.parse().map(Target::Role),
            other => Err(format!("unknown target kind '{other}'")),
        }
    }
}
