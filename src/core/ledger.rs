//! The ledger format: canonical JSON (RFC 8785), payload and entry hashes, and
//! chain checking. Pure: no actix, no diesel. `docs/ledger-format.md` describes
//! the same rules for outsiders, and `scripts/verify_chain.py` recomputes them.

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::core::ladder::{self, Actor};

pub type Hash = [u8; 32];
pub const ZERO_HASH: Hash = [0; 32];

/// Serialise a JSON value per RFC 8785 (JCS): no whitespace, object members
/// sorted by their UTF-16 code units, strings escaped as ECMAScript does.
/// Only integers are allowed as numbers; the ledger never stores fractions.
pub fn canonical_json(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    write_canonical(v, &mut out)?;
    Ok(out)
}

fn write_canonical(v: &Value, out: &mut String) -> Result<(), String> {
    match v {
        Value::Null | Value::Bool(_) | Value::String(_) => {
            // serde_json escapes exactly as JCS requires: \" \\ \b \f \n \r \t,
            // other controls as lowercase \u00xx, everything else verbatim.
            out.push_str(&serde_json::to_string(v).map_err(|e| e.to_string())?);
        }
        Value::Number(n) => {
            if n.is_f64() {
                return Err(format!("non-integer number {n} in ledger JSON"));
            }
            out.push_str(&n.to_string());
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(&Value::String(k.clone()), out)?;
                out.push(':');
                write_canonical(&map[k], out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// RFC 9162 leaf hash: SHA-256(0x00 || bytes).
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(bytes);
    h.finalize().into()
}

/// Ledger time: UTC, truncated to whole microseconds so both databases keep it exactly.
pub fn ledger_time(t: DateTime<Utc>) -> NaiveDateTime {
    let n = t.naive_utc();
    n.with_nanosecond(n.nanosecond() / 1000 * 1000).unwrap_or(n)
}

/// `recorded_at` as it appears in the canonical entry: RFC 3339, microseconds, `Z`.
pub fn format_time(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// One ledger entry, without its payload (which lives apart so it can be erased).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub seq: i64,
    pub recorded_at: NaiveDateTime,
    pub dispute_id: Option<String>,
    pub event: String,
    pub actor: Actor,
    /// Non-personal structured facts of the event (canonical JSON): enough to
    /// replay state even after every payload has been erased.
    pub facts: Value,
    pub payload_hash: Hash,
    pub prev_hash: Hash,
    pub entry_hash: Hash,
}

impl Entry {
    /// The bytes that `entry_hash` commits to.
    pub fn canonical_bytes(&self) -> Result<String, String> {
        let v = serde_json::json!({
            "seq": self.seq,
            "recorded_at": format_time(&self.recorded_at),
            "dispute_id": self.dispute_id,
            "event": self.event,
            "actor": {
                "sub": self.actor.sub,
                "role": self.actor.role,
                "agency": self.actor.agency,
                "partner": self.actor.partner,
            },
            "facts": self.facts,
            "payload_hash": hex::encode(self.payload_hash),
            "prev_hash": hex::encode(self.prev_hash),
        });
        canonical_json(&v)
    }

    pub fn compute_hash(&self) -> Result<Hash, String> {
        Ok(leaf_hash(self.canonical_bytes()?.as_bytes()))
    }
}

/// Everything needed to append one entry, before `seq` and hashes are known.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub dispute_id: Option<String>,
    pub event: String,
    pub actor: Actor,
    pub facts: Value,
    /// Free text and personal data; stored apart, committed to by hash.
    pub payload: Value,
}

/// A built entry and its canonical payload, ready to insert.
#[derive(Debug, Clone)]
pub struct Sealed {
    pub entry: Entry,
    pub payload: String,
}

/// Seal `new` as the entry after `head` (`None` for the first entry).
pub fn seal(
    new: NewEntry,
    head: Option<(i64, Hash)>,
    now: NaiveDateTime,
) -> Result<Sealed, String> {
    let payload = canonical_json(&new.payload)?;
    let facts: Value =
        serde_json::from_str(&canonical_json(&new.facts)?).map_err(|e| e.to_string())?;
    let (seq, prev_hash) = match head {
        Some((seq, h)) => (seq + 1, h),
        None => (0, ZERO_HASH),
    };
    let mut entry = Entry {
        seq,
        recorded_at: now,
        dispute_id: new.dispute_id,
        event: new.event,
        actor: new.actor,
        facts,
        payload_hash: sha256(payload.as_bytes()),
        prev_hash,
        entry_hash: ZERO_HASH,
    };
    entry.entry_hash = entry.compute_hash()?;
    Ok(Sealed { entry, payload })
}

/// What is wrong with one entry of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainFault {
    pub seq: i64,
    pub problem: String,
}

/// Streaming chain checker: feed entries in order, it keeps the running head.
#[derive(Debug, Default)]
pub struct ChainChecker {
    pub size: i64,
    pub head: Option<Hash>,
}

impl ChainChecker {
    /// Check one entry and, if given, its stored payload (`None` = erased).
    pub fn check(&mut self, e: &Entry, payload: Option<&str>) -> Result<(), ChainFault> {
        let fault = |problem: String| ChainFault {
            seq: e.seq,
            problem,
        };
        if e.seq != self.size {
            return Err(ChainFault {
                seq: self.size,
                problem: format!("entry {} is missing (found seq {} next)", self.size, e.seq),
            });
        }
        let expected_prev = self.head.unwrap_or(ZERO_HASH);
        if e.prev_hash != expected_prev {
            return Err(fault(format!(
                "prev_hash {} does not match the previous entry_hash {}",
                hex::encode(e.prev_hash),
                hex::encode(expected_prev)
            )));
        }
        if let Some(p) = payload {
            if sha256(p.as_bytes()) != e.payload_hash {
                return Err(fault("payload does not match payload_hash".into()));
            }
        }
        let computed = e.compute_hash().map_err(fault)?;
        if computed != e.entry_hash {
            return Err(fault(format!(
                "entry_hash {} does not match the recomputed {}",
                hex::encode(e.entry_hash),
                hex::encode(computed)
            )));
        }
        self.size += 1;
        self.head = Some(e.entry_hash);
        Ok(())
    }
}

// ---- dispute events as entries ----

/// A dispute event's ledger facts: the event's fields without its tag.
pub fn facts_of(event: &ladder::Event) -> Value {
    let mut v = serde_json::to_value(event).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.remove("event");
    }
    v
}

/// Read a dispute event back from an entry's `event` and `facts`.
pub fn event_of(entry: &Entry) -> Result<ladder::Event, String> {
    let mut v = entry.facts.clone();
    match &mut v {
        Value::Object(m) => {
            m.insert("event".into(), Value::String(entry.event.clone()));
        }
        _ => return Err("facts are not an object".into()),
    }
    serde_json::from_value(v).map_err(|e| format!("unreadable '{}' facts: {e}", entry.event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ladder::Role;
    use chrono::NaiveDate;
    use serde_json::json;

    /// Ledger time keeps whole microseconds and drops the rest (cargo-mutants
    /// found no test holding `/ 1000 * 1000`).
    #[test]
    fn ledger_time_truncates_to_microseconds() {
        let t = NaiveDate::from_ymd_opt(2026, 1, 5)
            .unwrap()
            .and_hms_nano_opt(9, 0, 0, 123_456_789)
            .unwrap()
            .and_utc();
        let want = NaiveDate::from_ymd_opt(2026, 1, 5)
            .unwrap()
            .and_hms_micro_opt(9, 0, 0, 123_456)
            .unwrap();
        assert_eq!(ledger_time(t), want);
        assert_eq!(format_time(&ledger_time(t)), "2026-01-05T09:00:00.123456Z");
    }

    #[test]
    fn canonical_json_sorts_keys_and_escapes_like_jcs() {
        let v = json!({"b": [1, true, null], "a": "x\u{1}\n\"é", "\u{e000}": 1, "\u{1f600}": 2});
        // U+1F600 is a surrogate pair (0xD83D..) and sorts before U+E000 in UTF-16.
        assert_eq!(
            canonical_json(&v).unwrap(),
            "{\"a\":\"x\\u0001\\n\\\"é\",\"b\":[1,true,null],\"\u{1f600}\":2,\"\u{e000}\":1}"
        );
        assert!(canonical_json(&json!({"x": 1.5})).is_err());
    }

    pub(crate) fn vector_entry() -> Sealed {
        let new = NewEntry {
            dispute_id: Some("3f1c2a9e-0000-4000-8000-000000000001".into()),
            event: "raised".into(),
            actor: Actor {
                sub: "alice@kingston".into(),
                role: Role::Agency,
                agency: Some("kingston-council".into()),
                partner: None,
            },
            facts: json!({"policy": "krscp-2024-02", "rung": "agencies",
                          "parties": ["kingston-council", "metropolitan-police"],
                          "urgent": false, "complex": false}),
            payload: json!({"summary": "Disagreement over threshold for a strategy meeting",
                            "child_ref": "KR-2026-0001"}),
        };
        let t = NaiveDate::from_ymd_opt(2026, 11, 26)
            .and_then(|d| d.and_hms_micro_opt(9, 30, 0, 123456))
            .unwrap();
        seal(new, None, t).unwrap()
    }

    /// The worked example of docs/ledger-format.md. If this changes, the format changed.
    #[test]
    fn worked_test_vector() {
        let s = vector_entry();
        assert_eq!(
            s.payload,
            r#"{"child_ref":"KR-2026-0001","summary":"Disagreement over threshold for a strategy meeting"}"#
        );
        assert_eq!(
            s.entry.canonical_bytes().unwrap(),
            concat!(
                r#"{"actor":{"agency":"kingston-council","partner":null,"role":"agency","sub":"alice@kingston"},"#,
                r#""dispute_id":"3f1c2a9e-0000-4000-8000-000000000001","event":"raised","#,
                r#""facts":{"complex":false,"parties":["kingston-council","metropolitan-police"],"policy":"krscp-2024-02","rung":"agencies","urgent":false},"#,
                r#""payload_hash":"f83a7ac59646540b817d0a133a5dfb4b7bd0e155ff06589d3e39c3739fe76b7b","#,
                r#""prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","#,
                r#""recorded_at":"2026-11-26T09:30:00.123456Z","seq":0}"#
            )
        );
        assert_eq!(
            hex::encode(s.entry.entry_hash),
            "ae2eeefad04a34615990db6a5238aeb61a2e015718df953609a4d9585d3c361a"
        );
    }

    #[test]
    fn checker_finds_gaps_and_edits() {
        let first = vector_entry();
        let second = seal(
            NewEntry {
                dispute_id: first.entry.dispute_id.clone(),
                event: "withdrawn".into(),
                actor: first.entry.actor.clone(),
                facts: json!({}),
                payload: json!({"reason": "sorted"}),
            },
            Some((0, first.entry.entry_hash)),
            first.entry.recorded_at,
        )
        .unwrap();
        let mut c = ChainChecker::default();
        c.check(&first.entry, Some(&first.payload)).unwrap();
        c.check(&second.entry, Some(&second.payload)).unwrap();
        assert_eq!(c.size, 2);

        let mut c = ChainChecker::default();
        assert_eq!(c.check(&second.entry, None).unwrap_err().seq, 0);

        let mut c = ChainChecker::default();
        assert_eq!(
            c.check(&first.entry, Some("{}")).unwrap_err().problem,
            "payload does not match payload_hash"
        );
        let mut tampered = first.entry.clone();
        tampered.event = "resolved".into();
        assert!(ChainChecker::default()
            .check(&tampered, None)
            .unwrap_err()
            .problem
            .starts_with("entry_hash"));
    }
}
