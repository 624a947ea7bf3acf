//! A dispute event as a ledger entry holds it: the event's name in `event`,
//! its fields in `facts`. Pure.

use serde_json::Value;

use crate::core::ladder::Event;
use crate::core::ledger::Entry;

/// A dispute event's ledger facts: the event's fields without its tag.
pub fn facts_of(event: &Event) -> Value {
    let mut v = serde_json::to_value(event).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.remove("event");
    }
    v
}

/// Read a dispute event back from an entry's `event` and `facts`.
pub fn event_of(entry: &Entry) -> Result<Event, String> {
    let mut v = entry.facts.clone();
    match &mut v {
        Value::Object(m) => {
            m.insert("event".into(), Value::String(entry.event.clone()));
        }
        _ => return Err("facts are not an object".into()),
    }
    serde_json::from_value(v).map_err(|e| format!("unreadable '{}' facts: {e}", entry.event))
}
