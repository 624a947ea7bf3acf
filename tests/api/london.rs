//! London time (issue 10 §6): `escalation-ledger calendar due` prints the
//! instant the service itself would record, counted in `Europe/London`.
//! The expected answers are worked out by hand (the wall times are in the
//! comments); the property tests around both clock changes are in
//! `src/core/calendar.rs`.

use std::path::Path;
use std::process::{Command, Output};

use escalation_ledger::core::calendar::DEFAULT_FEED;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const BIN: &str = env!("CARGO_BIN_EXE_escalation-ledger");

fn calendar(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("calendar")
        .arg("due")
        .args(args)
        .env("DATA_DIR", data_dir)
        .env_remove("HOLIDAYS_FILE")
        .env("RUST_LOG", "error")
        .output()
        .expect("run escalation-ledger")
}

fn printed(o: &Output) -> String {
    assert!(o.status.success(), "{o:?}");
    String::from_utf8_lossy(&o.stdout).trim_end().to_string()
}

#[test]
fn calendar_due_counts_in_london_time() {
    let dir = tempfile::tempdir().expect("dir");
    let due = |args: &[&str]| printed(&calendar(dir.path(), args));
    // Good Friday 26 March 2027 16:00 GMT; clocks forward on the 28th; Easter
    // Monday the 29th: Tuesday 30 March 09:00 to 11:00 BST = 10:00 UTC.
    assert_eq!(
        due(&["--from", "2027-03-26T16:00:00Z", "--working-hours", "2"]),
        "2027-03-30T10:00:00Z"
    );
    // Friday 23 October 2026 16:00 BST (15:00 UTC): 1 hour, clocks back on
    // Sunday, 7 hours on Monday from 09:00 GMT.
    assert_eq!(
        due(&["--from", "2026-10-23T15:00:00Z", "--working-hours", "8"]),
        "2026-10-26T16:00:00Z"
    );
    // An offset is an instant like any other: 16:00+01:00 is 15:00 UTC.
    assert_eq!(
        due(&[
            "--from",
            "2026-10-23T16:00:00+01:00",
            "--working-hours",
            "8"
        ]),
        "2026-10-26T16:00:00Z"
    );
    // Wednesday 25 March 2026 + 5 working days: Wednesday 1 April, 17:00 BST.
    assert_eq!(
        due(&["--from", "2026-03-25T10:00:00Z", "--working-days", "5"]),
        "2026-04-01T16:00:00Z"
    );
    // 23:30 UTC on Monday 1 June is Tuesday in London: + 1 is Wednesday.
    assert_eq!(
        due(&["--from", "2026-06-01T23:30:00Z", "--working-days", "1"]),
        "2026-06-03T16:00:00Z"
    );

    // --holidays-file: a made-up holiday on Monday 30 March 2026 moves it a day.
    let mut feed: Value = serde_json::from_str(DEFAULT_FEED).expect("feed");
    feed["england-and-wales"]["events"]
        .as_array_mut()
        .expect("events")
        .push(serde_json::json!({"title": "Made up", "date": "2026-03-30", "notes": "", "bunting": false}));
    let file = dir.path().join("feed.json");
    std::fs::write(&file, feed.to_string()).expect("write");
    let file = file.to_str().expect("path");
    assert_eq!(
        due(&[
            "--from",
            "2026-03-25T10:00:00Z",
            "--working-days",
            "5",
            "--holidays-file",
            file
        ]),
        "2026-04-02T16:00:00Z"
    );

    // Refused: both targets, neither, zero, a time without a zone; a bad feed.
    for bad in [
        &[
            "--from",
            "2026-03-25T10:00:00Z",
            "--working-days",
            "5",
            "--working-hours",
            "2",
        ][..],
        &["--from", "2026-03-25T10:00:00Z"],
        &["--from", "2026-03-25T10:00:00Z", "--working-days", "0"],
        &["--from", "2026-03-25 10:00:00", "--working-days", "1"],
    ] {
        let o = calendar(dir.path(), bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {o:?}");
        assert!(o.stdout.is_empty());
    }
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{}").expect("write");
    let o = calendar(
        dir.path(),
        &[
            "--from",
            "2026-03-25T10:00:00Z",
            "--working-days",
            "1",
            "--holidays-file",
            broken.to_str().expect("path"),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
}

/// The service's `due_at` for a dispute raised in summer time is the CLI's
/// answer from the same instant: one piece of code.
async fn the_service_and_the_cli_agree(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().expect("dir");
    for (at, from, urgent, target, want) in [
        // Monday 1 June + 5 working days: Monday 8 June, 17:00 BST.
        (
            "2026-06-01 10:00:00",
            "2026-06-01T10:00:00Z",
            false,
            ["--working-days", "5"],
            "2026-06-08T16:00:00Z",
        ),
        // Friday 23 October 16:00 BST + 8 hours: Monday 26 October, 16:00 GMT.
        (
            "2026-10-23 15:00:00",
            "2026-10-23T15:00:00Z",
            true,
            ["--working-hours", "8"],
            "2026-10-26T16:00:00Z",
        ),
    ] {
        let id = app
            .raise_at(&["kingston-council", "cafcass"], urgent, false, at)
            .await;
        let (s, d) = app
            .get(
                &app.agency("kingston-council"),
                &format!("/v1/disputes/{id}"),
            )
            .await;
        assert_eq!(s, 200, "{d}");
        let mut args = vec!["--from", from];
        args.extend(target);
        assert_eq!(d["due_at"], want, "{d}");
        assert_eq!(printed(&calendar(dir.path(), &args)), want);
    }
    assert!(app.verify().ok);
}

both_backends!(the_service_and_the_cli_agree);
