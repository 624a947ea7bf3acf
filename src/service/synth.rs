//! Synthetic audit bundles, for benchmarks and tests: valid chains of
//! made-up entries with a checkpoint signed by a given log key.

use std::io::Write;

use chrono::Utc;
use serde_json::Value;

use crate::core::audit::{EntryLine, Header, Payloads, FORMAT};
use crate::core::checkpoint::Checkpoint;
use crate::core::ladder::Actor;
use crate::core::ledger::{self, format_time, Hash};
use crate::core::merkle::Frontier;
use crate::service::checkpoint::LogKey;
use crate::service::export::write_line;

/// Write a valid bundle of `n` synthetic entries, its checkpoint signed by `key`; returns its header.
pub fn synth<W: Write>(n: u64, key: &LogKey, out: &mut W) -> Result<Header, String> {
    use crate::core::ladder::Role;
    let origin = key.origin.as_str();
    let actor = Actor {
        sub: "bench@kingston".into(),
        role: Role::Agency,
        agency: Some("kingston-council".into()),
        partner: None,
    };
    let t0 = ledger::ledger_time(Utc::now());
    // Seal and hash first, to know the root for the header.
    // Entry 0 records the log key, as the first start of a real ledger does.
    let key_entry = ledger::NewEntry {
        dispute_id: None,
        event: crate::core::event::LedgerEvent::LogKeyRecorded
            .as_str()
            .into(),
        actor: Actor {
            sub: "system".into(),
            role: Role::PartnershipAdmin,
            agency: None,
            partner: None,
        },
        facts: key.facts(None),
        payload: serde_json::json!({}),
    };
    let seal_one = |i: u64, head: Option<(i64, Hash)>| {
        if i == 0 {
            return ledger::seal(key_entry.clone(), head, t0);
        }
        ledger::seal(
            ledger::NewEntry {
                dispute_id: Some(format!("00000000-0000-4000-8000-{:012x}", i / 4)),
                event: "proposal_made".into(),
                actor: actor.clone(),
                facts: serde_json::json!({"proposal_id": format!("p-{i}"), "rung": "agencies"}),
                payload: serde_json::json!({"resolution": format!("Synthetic resolution number {i}")}),
            },
            head,
            t0 + chrono::Duration::microseconds(i as i64),
        )
    };
    let mut frontier = Frontier::new();
    let mut head = None;
    for i in 0..n {
        let s = seal_one(i, head)?;
        frontier.push(s.entry.entry_hash);
        head = Some((s.entry.seq, s.entry.entry_hash));
    }
    let body = Checkpoint::new(origin, n, frontier.root()).map_err(|e| e.to_string())?;
    let note = key.sign_checkpoint(&body).map_err(|e| e.to_string())?;
    let header = Header {
        format: FORMAT.into(),
        origin: origin.into(),
        log_key: key.verifier_key(),
        witness_keys: Vec::new(),
        checkpoint: note,
        size: n,
        exported_at: format_time(&ledger::ledger_time(Utc::now())),
        payloads: Payloads::Included,
    };
    let io = |e: std::io::Error| e.to_string();
    write_line(out, &header).map_err(io)?;
    let mut head = None;
    for i in 0..n {
        let s = seal_one(i, head)?;
        head = Some((s.entry.seq, s.entry.entry_hash));
        let payload: Value = serde_json::from_str(&s.payload).map_err(|e| e.to_string())?;
        write_line(out, &EntryLine::from_entry(s.entry, Some(payload))).map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::audit::{audit_lines, AuditOptions, AuditReport, Outcome};

    fn bundle(n: u64) -> (Vec<String>, String) {
        let mut buf = Vec::new();
        let key = LogKey::generate("test.krscp/bundle").unwrap();
        let h = synth(n, &key, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        (text.lines().map(str::to_string).collect(), h.log_key)
    }

    fn audit(lines: &[String], opts: AuditOptions) -> AuditReport {
        audit_lines(lines.iter().cloned().map(Ok), opts, |_, _| {})
    }

    fn pinned(key: &str) -> AuditOptions {
        AuditOptions {
            log_key: Some(key.into()),
            ..Default::default()
        }
    }

    fn edit(lines: &mut [String], i: usize, f: impl FnOnce(&mut EntryLine)) {
        let mut e: EntryLine = serde_json::from_str(&lines[i]).unwrap();
        f(&mut e);
        lines[i] = serde_json::to_string(&e).unwrap();
    }

    #[test]
    fn a_synthetic_bundle_is_intact() {
        let (lines, key) = bundle(37);
        let r = audit(&lines, pinned(&key));
        assert_eq!(r.outcome, Outcome::Intact, "{r:?}");
        assert_eq!(r.entries, 37);
        assert_eq!(r.payloads_absent, 0);
        assert!(!r.log_key_from_bundle);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);

        let r = audit(&lines, AuditOptions::default());
        assert_eq!(r.outcome, Outcome::Intact);
        assert!(r.log_key_from_bundle);
        assert!(r.warnings[0].contains("taken from the bundle"));
    }

    #[test]
    fn an_empty_ledger_bundle_is_intact() {
        let (lines, key) = bundle(0);
        assert_eq!(lines.len(), 1);
        assert_eq!(audit(&lines, pinned(&key)).outcome, Outcome::Intact);
    }

    #[test]
    fn edits_are_named_by_seq() {
        let (lines, key) = bundle(10);
        // Payload text changed.
        let mut l = lines.clone();
        edit(&mut l, 4, |e| {
            e.payload = Some(serde_json::json!({"resolution": "forged"}))
        });
        let r = audit(&l, pinned(&key));
        assert_eq!(
            (r.outcome, r.first_bad_seq),
            (Outcome::Tampered, Some(3)),
            "{r:?}"
        );
        assert_eq!(
            r.problem.as_deref(),
            Some("payload does not match payload_hash")
        );
        assert_eq!(r.first_bad_line, Some(5));

        // Erasing a payload is allowed and counted.
        let mut l = lines.clone();
        edit(&mut l, 4, |e| e.payload = None);
        let r = audit(&l, pinned(&key));
        assert_eq!(
            (r.outcome, r.payloads_absent),
            (Outcome::Intact, 1),
            "{r:?}"
        );

        // A fact changed: the entry hash no longer matches.
        let mut l = lines.clone();
        edit(&mut l, 6, |e| e.event = "resolved".into());
        let r = audit(&l, pinned(&key));
        assert_eq!(r.first_bad_seq, Some(5));
        assert!(r.problem.unwrap().starts_with("entry_hash"));

        // A line dropped, two swapped, one duplicated.
        let mut l = lines.clone();
        l.remove(3);
        let r = audit(&l, pinned(&key));
        assert_eq!(r.first_bad_seq, Some(2));
        assert!(r.problem.unwrap().contains("entry 2 is missing"));
        let mut l = lines.clone();
        l.swap(7, 8);
        assert_eq!(audit(&l, pinned(&key)).first_bad_seq, Some(6));
        let mut l = lines.clone();
        l.insert(5, lines[2].clone());
        let r = audit(&l, pinned(&key));
        assert_eq!(
            (r.outcome, r.first_bad_seq),
            (Outcome::Tampered, Some(4)),
            "{r:?}"
        );

        // The last line dropped: the checkpoint covers more than the file.
        let mut l = lines.clone();
        l.pop();
        let r = audit(&l, pinned(&key));
        assert_eq!(
            (r.outcome, r.first_bad_seq),
            (Outcome::Tampered, Some(9)),
            "{r:?}"
        );

        // Garbage in an entry line.
        let mut l = lines.clone();
        l[3] = "{not json".into();
        let r = audit(&l, pinned(&key));
        assert_eq!((r.outcome, r.first_bad_line), (Outcome::Tampered, Some(4)));
    }

    #[test]
    fn headers_are_checked() {
        let (lines, key) = bundle(5);
        let (other, other_key) = bundle(5);
        // Another log's checkpoint, pinned to ours.
        let mut l = lines.clone();
        l[0] = other[0].clone();
        let r = audit(&l, pinned(&key));
        assert_eq!(r.outcome, Outcome::Tampered);
        assert!(r.problem.unwrap().contains("not signed by the log key"));
        // Our entries under the other log's (valid) header: the root differs.
        let r = audit(&l, pinned(&other_key));
        assert_eq!(r.outcome, Outcome::Tampered);
        assert!(r.problem.unwrap().contains("root"), "{:?}", r.first_bad_seq);

        assert_eq!(
            audit(&["nonsense".into()], pinned(&key)).outcome,
            Outcome::Unreadable
        );
        assert_eq!(audit(&[], pinned(&key)).outcome, Outcome::Unreadable);
        assert_eq!(
            audit(&lines, pinned("not a key")).outcome,
            Outcome::Unreadable
        );
        let mut h: Header = serde_json::from_str(&lines[0]).unwrap();
        h.format = "something-else/9".into();
        let mut l = lines.clone();
        l[0] = serde_json::to_string(&h).unwrap();
        assert_eq!(audit(&l, pinned(&key)).outcome, Outcome::Unreadable);
    }

    #[test]
    fn trusted_checkpoints_catch_rewrites_and_forks() {
        let (lines, key) = bundle(6);
        let h: Header = serde_json::from_str(&lines[0]).unwrap();
        let mut opts = pinned(&key);
        opts.trusted_checkpoint = Some(h.checkpoint.clone());
        let r = audit(&lines, opts.clone());
        assert_eq!(
            (r.outcome, r.trusted_checkpoint_ok),
            (Outcome::Intact, Some(true))
        );
        // A trusted checkpoint larger than the bundle.
        let (bigger, _) = bundle(7);
        let bh: Header = serde_json::from_str(&bigger[0]).unwrap();
        let o = AuditOptions {
            trusted_checkpoint: Some(bh.checkpoint),
            ..Default::default()
        };
        let r = audit(&bigger[..7], o);
        assert_eq!(r.outcome, Outcome::Tampered, "{r:?}");
    }

    /// The pipelined, borrowing audit and the serial one (every line through
    /// `Auditor::feed`) give the same report, intact or tampered in any of
    /// many ways, including past the first batch of lines.
    #[test]
    fn the_fast_audit_reports_what_the_serial_audit_reports() {
        use crate::core::audit::{audit_lines_serial, fast};
        let (lines, key) = bundle(3000);
        let serial =
            |l: &[String]| audit_lines_serial(l.iter().cloned().map(Ok), pinned(&key), |_, _| {});
        let same = |l: &[String], what: &str| {
            let (a, b) = (audit(l, pinned(&key)), serial(l));
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{what}");
            a
        };
        let r = same(&lines, "intact");
        assert_eq!((r.outcome, r.entries), (Outcome::Intact, 3000));
        // Every plain synthetic line takes the fast path.
        let mut scratch = fast::Scratch::default();
        assert!(lines[2..]
            .iter()
            .all(|l| fast::precheck(l, &mut scratch).is_some()));
        // The log key entry is left to the slow path.
        assert!(fast::precheck(&lines[1], &mut scratch).is_none());

        type Tamper = Box<dyn Fn(&mut Vec<String>)>;
        let at = 2345usize;
        let tampers: Vec<(&str, Tamper)> = vec![
            (
                "payload",
                Box::new(move |l| {
                    edit(l, at, |e| {
                        e.payload = Some(serde_json::json!({"resolution": "forged"}))
                    })
                }),
            ),
            (
                "erased",
                Box::new(move |l| edit(l, at, |e| e.payload = None)),
            ),
            (
                "event",
                Box::new(move |l| edit(l, at, |e| e.event = "resolved".into())),
            ),
            (
                "facts",
                Box::new(move |l| edit(l, at, |e| e.facts = serde_json::json!({"rung": "slg"}))),
            ),
            (
                "facts spaced",
                Box::new(move |l| l[at] = l[at].replace("{\"proposal_id\"", "{ \"proposal_id\"")),
            ),
            (
                "sub escaped",
                Box::new(move |l| l[at] = l[at].replace("bench@kingston", "bench\\u0040kingston")),
            ),
            (
                "time",
                Box::new(move |l| edit(l, at, |e| e.recorded_at = e.recorded_at.replace('T', " "))),
            ),
            (
                "month 13",
                Box::new(move |l| edit(l, at, |e| e.recorded_at.replace_range(5..7, "13"))),
            ),
            (
                "prev",
                Box::new(move |l| edit(l, at, |e| e.prev_hash = "00".repeat(32))),
            ),
            (
                "entry hash",
                Box::new(move |l| edit(l, at, |e| e.entry_hash = "ab".repeat(32))),
            ),
            (
                "upper hex",
                Box::new(move |l| edit(l, at, |e| e.prev_hash = e.prev_hash.to_uppercase())),
            ),
            ("seq", Box::new(move |l| edit(l, at, |e| e.seq += 1))),
            (
                "dropped",
                Box::new(move |l| {
                    l.remove(at);
                }),
            ),
            ("swapped", Box::new(move |l| l.swap(at, at + 1))),
            (
                "duplicated",
                Box::new(move |l| {
                    let d = l[at].clone();
                    l.insert(at, d);
                }),
            ),
            ("truncated", Box::new(|l| l.truncate(2400))),
            (
                "extra",
                Box::new(|l| {
                    let d = l[3].clone();
                    l.push(d);
                }),
            ),
            ("garbage", Box::new(move |l| l[at] = "{not json".into())),
            ("empty", Box::new(move |l| l[at] = String::new())),
            (
                "unknown field",
                Box::new(move |l| l[at] = l[at].replacen('{', "{\"x\":1,", 1)),
            ),
            (
                "actor role",
                Box::new(move |l| {
                    l[at] = l[at].replace("\"role\":\"agency\"", "\"role\":\"nobody\"")
                }),
            ),
            (
                "two faults",
                Box::new(move |l| {
                    edit(l, at + 100, |e| e.event = "x".into());
                    edit(l, at, |e| e.seq = 0);
                }),
            ),
        ];
        for (what, t) in tampers {
            let mut l = lines.clone();
            t(&mut l);
            let r = same(&l, what);
            // Not tampering: an erased payload, and the same entry written
            // another way (the slow path reads those, as before).
            let intact = ["erased", "upper hex", "facts spaced", "sub escaped"];
            let want = if intact.contains(&what) {
                Outcome::Intact
            } else {
                Outcome::Tampered
            };
            assert_eq!(r.outcome, want, "{what}: {r:?}");
        }
        // A read error part-way: the entries before it are counted, then Unreadable.
        let mut items: Vec<std::io::Result<String>> = lines.iter().cloned().map(Ok).collect();
        items.insert(2500, Err(std::io::Error::other("disk gone")));
        items.truncate(2501);
        let a = audit_lines(
            items.iter().map(|r| match r {
                Ok(s) => Ok(s.clone()),
                Err(e) => Err(std::io::Error::other(e.to_string())),
            }),
            pinned(&key),
            |_, _| {},
        );
        let b = audit_lines_serial(
            items.iter().map(|r| match r {
                Ok(s) => Ok(s.clone()),
                Err(e) => Err(std::io::Error::other(e.to_string())),
            }),
            pinned(&key),
            |_, _| {},
        );
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!((a.outcome, a.entries), (Outcome::Unreadable, 2499));
    }

    /// `fast::canonical` accepts exactly canonical text: each of these is
    /// compared with `canonical_json` of its parse.
    #[test]
    fn the_canonical_form_check_agrees_with_canonical_json() {
        use crate::core::audit::fast::canonical;
        for text in [
            "{}",
            "[]",
            "null",
            "true",
            "0",
            "-1",
            "12",
            "\"a\"",
            "{\"a\":1,\"b\":[1,2,{\"c\":null}]}",
            "{\"b\":1,\"a\":2}",
            "{\"a\":1,\"a\":2}",
            "{ \"a\":1}",
            "[1, 2]",
            "1.0",
            "1e3",
            "-0",
            "[0,10]",
            "\"\\n\"",
            "\"\\u000a\"",
            "\"\\u001f\"",
            "\"\\u001F\"",
            "\"\\/\"",
            "\"\\u0041\"",
            "\"é\"",
            "{\"\\u0061\":1}",
            "123456789012345678",
            "1234567890123456789",
            "\"\\\"\\\\\"",
            "{\"\u{e000}\":1,\"\u{1f600}\":2}",
            "{\"\u{1f600}\":2,\"\u{e000}\":1}",
        ] {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            let canon = ledger::canonical_json(&v)
                .map(|c| c == text)
                .unwrap_or(false);
            // The check may refuse canonical text it is unsure of, never accept other text.
            if canonical(text.as_bytes()) {
                assert!(canon, "accepted non-canonical {text}");
            }
            if !["{\"\u{1f600}\":2,\"\u{e000}\":1}", "1234567890123456789"].contains(&text) {
                assert_eq!(canonical(text.as_bytes()), canon, "{text}");
            }
        }
    }
}
