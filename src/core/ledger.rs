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
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::String(s) => write_jcs_str(s, out),
        Value::Number(n) => {
            if n.is_f64() {
                return Err(format!("non-integer number {n} in ledger JSON"));
            }
            use std::fmt::Write as _;
            let _ = write!(out, "{n}");
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
            // Byte order is UTF-16 order unless a key holds U+E000..U+FFFF or
            // a supplementary character (UTF-8 lead bytes 0xEE and up).
            if keys.iter().any(|k| k.bytes().any(|b| b >= 0xEE)) {
                keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            } else {
                keys.sort_unstable();
            }
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_jcs_str(k, out);
                out.push(':');
                write_canonical(&map[k], out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// A JSON string as JCS (and serde_json) writes it: `\"` `\\` `\b` `\f` `\n`
/// `\r` `\t`, other controls as lowercase `\u00xx`, everything else verbatim.
pub(crate) fn write_jcs_str(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
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
        let mut out = String::with_capacity(512);
        self.write_canonical_bytes(&mut out)?;
        Ok(out)
    }

    /// [`Entry::canonical_bytes`] appended to `out`, written directly (the
    /// members in JCS order) rather than through a `Value`: `verify` and the
    /// audit's slow path call it once per entry.
    pub fn write_canonical_bytes(&self, out: &mut String) -> Result<(), String> {
        let opt = |v: Option<&str>, out: &mut String| match v {
            Some(s) => write_jcs_str(s, out),
            None => out.push_str("null"),
        };
        out.push_str("{\"actor\":{\"agency\":");
        opt(self.actor.agency.as_deref(), out);
        out.push_str(",\"partner\":");
        opt(self.actor.partner.map(|p| p.as_str()), out);
        out.push_str(",\"role\":\"");
        out.push_str(self.actor.role.as_str());
        out.push_str("\",\"sub\":");
        write_jcs_str(&self.actor.sub, out);
        out.push_str("},\"dispute_id\":");
        opt(self.dispute_id.as_deref(), out);
        out.push_str(",\"event\":");
        write_jcs_str(&self.event, out);
        out.push_str(",\"facts\":");
        write_canonical(&self.facts, out)?;
        out.push_str(",\"payload_hash\":\"");
        push_hex(&self.payload_hash, out);
        out.push_str("\",\"prev_hash\":\"");
        push_hex(&self.prev_hash, out);
        out.push_str("\",\"recorded_at\":\"");
        use std::fmt::Write as _;
        let _ = write!(out, "{}", self.recorded_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"));
        let _ = write!(out, "\",\"seq\":{}}}", self.seq);
        Ok(())
    }

    pub fn compute_hash(&self) -> Result<Hash, String> {
        let mut out = String::with_capacity(512);
        self.write_canonical_bytes(&mut out)?;
        Ok(leaf_hash(out.as_bytes()))
    }
}

/// Lowercase hex of `h`, appended.
pub(crate) fn push_hex(h: &Hash, out: &mut String) {
    let mut buf = [0u8; 64];
    // 64 bytes for 32: encode_to_slice cannot fail.
    if hex::encode_to_slice(h, &mut buf).is_ok() {
        out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
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

/// An entry's own hashes (its payload's and its recomputed `entry_hash`),
/// which depend on nothing before it: computed on any thread, ahead of the
/// chain ([`ChainChecker::check_hashed`]).
#[derive(Debug, Clone)]
pub struct OwnHashes {
    /// Whether the payload given matched `payload_hash`; `None` when erased.
    payload_ok: Option<bool>,
    computed: Result<Hash, String>,
}

impl OwnHashes {
    pub fn of(e: &Entry, payload: Option<&str>) -> Self {
        OwnHashes {
            payload_ok: payload.map(|p| sha256(p.as_bytes()) == e.payload_hash),
            computed: e.compute_hash(),
        }
    }
}

impl ChainChecker {
    /// Check one entry and, if given, its stored payload (`None` = erased).
    pub fn check(&mut self, e: &Entry, payload: Option<&str>) -> Result<(), ChainFault> {
        self.check_hashed(e, &OwnHashes::of(e, payload))
    }

    /// [`ChainChecker::check`] with the entry's own hashes already computed
    /// (`OwnHashes::of` the same entry and payload): the same checks, in the
    /// same order, so the same fault.
    pub fn check_hashed(&mut self, e: &Entry, own: &OwnHashes) -> Result<(), ChainFault> {
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
        if own.payload_ok == Some(false) {
            return Err(fault("payload does not match payload_hash".into()));
        }
        let computed = own.computed.clone().map_err(fault)?;
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

    /// The entry's canonical bytes as they were first defined: through a `Value`.
    fn reference_bytes(e: &Entry) -> String {
        canonical_json(&json!({
            "seq": e.seq,
            "recorded_at": format_time(&e.recorded_at),
            "dispute_id": e.dispute_id,
            "event": e.event,
            "actor": {"sub": e.actor.sub, "role": e.actor.role,
                      "agency": e.actor.agency, "partner": e.actor.partner},
            "facts": e.facts,
            "payload_hash": hex::encode(e.payload_hash),
            "prev_hash": hex::encode(e.prev_hash),
        }))
        .unwrap()
    }

    /// The direct writer gives the bytes the `Value` route gave, escapes,
    /// nulls, partners, negative numbers and non-BMP keys included.
    #[test]
    fn direct_canonical_bytes_match_the_value_route() {
        let mut e = vector_entry().entry;
        assert_eq!(e.canonical_bytes().unwrap(), reference_bytes(&e));
        e.dispute_id = None;
        e.actor.agency = None;
        e.actor.partner = Some(crate::core::ladder::Partner::Icb);
        e.actor.role = Role::StatutoryPartner;
        e.actor.sub = "a\"b\\c\u{1}\u{8}\u{c}\n\r\t\u{7f}é\u{1f600}".into();
        e.event = "x\u{1f}y".into();
        e.seq = 123_456_789;
        e.facts = json!({"z": -5, "\u{e000}": [1, {"b": null, "a": "\u{0}"}], "\u{1f600}": 18446744073709551615u64, "": true});
        assert_eq!(e.canonical_bytes().unwrap(), reference_bytes(&e));
        let old = leaf_hash(reference_bytes(&e).as_bytes());
        assert_eq!(e.compute_hash().unwrap(), old);
        e.facts = json!({"x": 0.5});
        assert!(e.canonical_bytes().is_err());
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
