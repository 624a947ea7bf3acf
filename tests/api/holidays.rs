//! The bank holiday feed at run time: `holidays import` checks a file and
//! installs it where `serve` reads it; `serve` counts deadlines with it and
//! picks up a replacement without a restart, refusing a bad one.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use escalation_ledger::core::calendar::{Calendar, DEFAULT_FEED};
use escalation_ledger::core::ladder::Role;
use escalation_ledger::http::auth::{Claims, Keys};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{client, Backend, LoggedServe, TestDb, SECRET};

const BIN: &str = env!("CARGO_BIN_EXE_escalation-ledger");

fn run(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("DATA_DIR", data_dir)
        .env_remove("HOLIDAYS_FILE")
        .env("RUST_LOG", "error")
        .output()
        .expect("run escalation-ledger")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The embedded feed plus made-up England and Wales holidays on `extra` dates.
fn feed_with(extra: &[NaiveDate]) -> String {
    let mut v: Value = serde_json::from_str(DEFAULT_FEED).expect("embedded feed");
    let events = v["england-and-wales"]["events"]
        .as_array_mut()
        .expect("events");
    for d in extra {
        events.push(json!({
            "title": "Made-up test holiday",
            "date": d.format("%Y-%m-%d").to_string(),
            "notes": "",
            "bunting": false
        }));
    }
    serde_json::to_string_pretty(&v).expect("json")
}

/// Good files are installed (atomically, nothing left behind) and reported;
/// bad ones are refused with exit 1, a message naming what is wrong, and
/// nothing installed.
#[test]
fn import_checks_the_file_and_installs_it() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let installed = data.join("bank-holidays.json");
    let write = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).expect("write");
        p.display().to_string()
    };

    let out = run(&data, &["holidays", "show"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("source: the embedded feed")
            && shown.contains("2018 to 2027, 83 England and Wales bank holidays"),
        "{shown}"
    );

    let bad = [
        (
            "syntax.json",
            "{\n  \"england-and-wales\": {\n    \"events\": [,]\n  }\n}\n".to_string(),
            vec!["GOV.UK", "line 3"],
        ),
        (
            "scotland.json",
            r#"{"scotland": {"division": "scotland", "events": [{"title": "x", "date": "2026-01-01"}]}}"#
                .to_string(),
            vec!["no \"england-and-wales\" division"],
        ),
        (
            "date.json",
            "{\"england-and-wales\": {\"division\": \"england-and-wales\", \"events\": [\n  {\"title\": \"New Year's Day\", \"date\": \"2026-01-01\"},\n  {\"title\": \"Leap day\", \"date\": \"2026-02-30\"}\n]}}\n"
                .to_string(),
            vec!["event 1 (Leap day)", "\"2026-02-30\"", "line 3"],
        ),
        (
            "gap.json",
            r#"{"england-and-wales": {"events": [{"title": "a", "date": "2024-01-01"}, {"title": "b", "date": "2026-01-01"}]}}"#
                .to_string(),
            vec!["2025"],
        ),
    ];
    for (name, body, wanted) in &bad {
        let path = write(name, body);
        let out = run(&data, &["holidays", "import", &path]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        for w in wanted {
            assert!(err.contains(w), "{name}: {w:?} not in {err}");
        }
        assert!(err.contains(name), "the message names the file: {err}");
        assert!(err.contains("nothing was installed"), "{err}");
        assert!(!installed.exists(), "{name} was installed");
    }
    let out = run(&data, &["holidays", "import", "/nonexistent/feed.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    let made_up = NaiveDate::from_ymd_opt(2026, 6, 10).expect("date");
    let good_body = feed_with(&[made_up]);
    let good = write("good.json", &good_body);
    let out = run(&data, &["holidays", "import", &good]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("2018 to 2027, 84 England and Wales bank holidays"),
        "{said}"
    );
    assert_eq!(
        std::fs::read_to_string(&installed).expect("installed"),
        good_body
    );
    let leftovers: Vec<String> = std::fs::read_dir(&data)
        .expect("ls")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "bank-holidays.json")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A bad file after a good one leaves the good one in place.
    let out = run(&data, &["holidays", "import", &write("again.json", "[]")]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(&installed).expect("kept"),
        good_body
    );

    let out = run(&data, &["holidays", "show"]);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("bank-holidays.json (imported)") && shown.contains("84 England"),
        "{shown}"
    );

    // HOLIDAYS_FILE moves where the feed is read and installed.
    let elsewhere = dir.path().join("conf").join("feed.json");
    let elsewhere_s = elsewhere.display().to_string();
    let out = run(
        &data,
        &["holidays", "import", &good, "--holidays-file", &elsewhere_s],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(elsewhere.exists());
    let out = run(
        &data,
        &["--holidays-file", &elsewhere_s, "holidays", "show"],
    );
    assert!(
        text(&out.stdout).contains("(HOLIDAYS_FILE)"),
        "{}",
        text(&out.stdout)
    );
}

/// A configured feed that does not check out stops `serve` before it starts.
#[test]
fn serve_refuses_to_start_on_a_bad_feed() {
    let dir = tempfile::tempdir().expect("dir");
    let bad = dir.path().join("feed.json");
    std::fs::write(
        &bad,
        "{\n\"england-and-wales\": {\"events\": [\n{\"date\": \"soon\"}]}}",
    )
    .expect("write");
    let db = format!("sqlite://{}", dir.path().join("x.db").display());
    let out = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &db])
        .env("DATA_DIR", dir.path())
        .env("JWT_SECRET", SECRET)
        .env("HOLIDAYS_FILE", &bad)
        .env("RUST_LOG", "error")
        .output()
        .expect("run serve");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("feed.json") && err.contains("\"soon\"") && err.contains("line 3"),
        "{err}"
    );
    assert!(!dir.path().join("x.db").exists(), "nothing was created");
}

async fn due_at(base: &str, token: &str, id: &str) -> Value {
    let mut res = client()
        .get(format!("{base}/v1/disputes/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    res.json::<Value>().await.expect("json")
}

/// `serve` counts with an imported feed holding made-up holidays, switches to
/// a newly imported one without a restart, and refuses (and logs) a bad one,
/// keeping the feed in use. `verify` is untouched by any of it.
async fn serve_counts_with_the_imported_feed_and_reloads_it(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().expect("dir");
    // The service's clock starts at Wednesday 10 June 2026, 11:00 in London
    // (`TEST_CLOCK`), so the window is known whatever day the test runs.
    let clock_start = "2026-06-10T10:00:00Z";
    // Made-up holidays on the first four working days of the window.
    let made_up: Vec<NaiveDate> = [11, 12, 15, 16]
        .map(|d| NaiveDate::from_ymd_opt(2026, 6, d).expect("date"))
        .to_vec();
    let custom_body = feed_with(&made_up);
    Calendar::from_json(&custom_body).expect("the custom feed reads");
    let feed = dir.path().join("custom.json");
    std::fs::write(&feed, &custom_body).expect("write");
    let out = run(
        dir.path(),
        &["holidays", "import", &feed.display().to_string()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let served = LoggedServe::start_with(
        &db.url,
        dir.path(),
        "info",
        &[
            ("HOLIDAYS_RELOAD", "200ms"),
            ("DEADLINE_SWEEP", "0s"),
            ("TEST_CLOCK", clock_start),
        ],
    )
    .await;
    let token = Keys::from_secret(SECRET.as_bytes())
        .mint(&Claims {
            sub: "user@kingston-council".into(),
            role: Role::Agency,
            agency: Some("kingston-council".into()),
            partner: None,
            exp: Utc::now().timestamp() + 3600,
        })
        .expect("mint");
    let mut res = client()
        .post(format!("{}/v1/disputes", served.base))
        .bearer_auth(&token)
        .send_json(&json!({"parties": ["kingston-council", "cafcass"], "summary": "Threshold"}))
        .await
        .expect("raise");
    assert_eq!(res.status().as_u16(), 201);
    let v: Value = res.json().await.expect("json");
    let id = v["id"].as_str().expect("id").to_string();
    assert!(
        v["opened_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("2026-06-10T10:")),
        "raised on the injected clock: {v}"
    );
    // Five working days after Wednesday 10 June at 17:00 BST (16:00 UTC):
    // with the made-up holidays Wed 17, Thu 18, Fri 19, Mon 22, Tue 23 June;
    // without them Thu 11, Fri 12, Mon 15, Tue 16, Wed 17 June.
    let (with_made_up, without) = ("2026-06-23T16:00:00Z", "2026-06-17T16:00:00Z");
    assert_eq!(v["due_at"], with_made_up, "{v}");

    // Import the embedded feed again: the running service switches to it.
    let plain = dir.path().join("plain.json");
    std::fs::write(&plain, DEFAULT_FEED).expect("write");
    let out = run(
        dir.path(),
        &["holidays", "import", &plain.display().to_string()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let v = due_at(&served.base, &token, &id).await;
        if v["due_at"] == without {
            break;
        }
        assert!(Instant::now() < end, "never switched: {v}");
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }

    // A bad file put in place by hand is refused; the feed in use stays.
    let tmp = dir.path().join("broken.tmp");
    std::fs::write(&tmp, "{\"england-and-wales\": ").expect("write");
    std::fs::rename(&tmp, dir.path().join("bank-holidays.json")).expect("rename");
    // Wait for the watcher to have looked at it and said so, not for a time.
    let end = Instant::now() + Duration::from_secs(30);
    while !served
        .log()
        .contains("bank holiday feed replacement refused")
    {
        assert!(Instant::now() < end, "never refused: {}", served.log());
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let v = due_at(&served.base, &token, &id).await;
    assert_eq!(v["due_at"], without, "{v}");
    let log = served.stop();
    assert!(log.contains("bank holiday feed loaded"), "{log}");
    assert!(
        log.contains("bank holiday feed replaced; deadlines now count with it"),
        "{log}"
    );
    assert_eq!(
        log.matches("bank holiday feed replacement refused").count(),
        1,
        "logged once: {log}"
    );

    let out = Command::new(BIN)
        .args(["verify", "--database-url", &db.url])
        .output()
        .expect("verify");
    assert!(out.status.success(), "{}", text(&out.stdout));
}

both_backends!(serve_counts_with_the_imported_feed_and_reloads_it);

/// The `due_at` of every `deadline_missed` entry of `dispute`, in ledger order.
fn missed_due_ats(app: &crate::helpers::TestApp, dispute: &str) -> Vec<String> {
    escalation_ledger::store::ledger::entries(&mut app.conn(), Some(dispute), 0, 100)
        .expect("entries")
        .into_iter()
        .filter(|s| s.entry.event == "deadline_missed")
        .map(|s| {
            s.entry.facts["due_at"]
                .as_str()
                .expect("due_at")
                .to_string()
        })
        .collect()
}

/// Run `serve` with its sweeper on `data_dir`'s feed until `dispute` has a
/// recorded miss, then stop it.
async fn sweep_until_missed(app: &crate::helpers::TestApp, dir: &Path, dispute: &str) {
    let served = LoggedServe::start_with(
        &app.db.url,
        dir,
        "info",
        &[("DEADLINE_SWEEP", "100ms"), ("HOLIDAYS_RELOAD", "0s")],
    )
    .await;
    let end = Instant::now() + Duration::from_secs(30);
    while missed_due_ats(app, dispute).is_empty() {
        assert!(Instant::now() < end, "the sweeper never recorded the miss");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    served.stop();
}

/// Invariant 14. A dispute entered `agencies` (5 working days) on Monday
/// 2026-01-05 09:00 UTC (GMT in January). Under feed A (the embedded one, no
/// holiday that week) it was due Monday 2026-01-12 17:00: Jan 6, 7, 8, 9, 12.
/// Feed B adds holidays on Jan 7 and 8, so a dispute judged under it is due
/// Wednesday 2026-01-14 17:00: Jan 6, 9, 12, 13, 14. The miss recorded under A
/// keeps A's time after B is imported, `verify` (run on feed B) passes, and
/// only the dispute swept afterwards is judged under B.
async fn a_new_feed_changes_no_recorded_deadline(backend: Backend) {
    const UNDER_A: &str = "2026-01-12T17:00:00Z";
    const UNDER_B: &str = "2026-01-14T17:00:00Z";
    let app = crate::helpers::TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().expect("dir");
    let install = |name: &str, body: &str| {
        let file = dir.path().join(name);
        std::fs::write(&file, body).expect("write");
        let out = run(
            dir.path(),
            &["holidays", "import", &file.display().to_string()],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    install("a.json", DEFAULT_FEED);
    let first = app
        .raise_at(
            &["kingston-council", "cafcass"],
            false,
            false,
            "2026-01-05 09:00:00",
        )
        .await;
    sweep_until_missed(&app, dir.path(), &first).await;
    assert_eq!(missed_due_ats(&app, &first), [UNDER_A]);

    let b = feed_with(&[
        NaiveDate::from_ymd_opt(2026, 1, 7).unwrap(),
        NaiveDate::from_ymd_opt(2026, 1, 8).unwrap(),
    ]);
    install("b.json", &b);
    let second = app
        .raise_at(
            &["richmond-council", "cafcass"],
            false,
            false,
            "2026-01-05 09:00:00",
        )
        .await;
    sweep_until_missed(&app, dir.path(), &second).await;
    assert_eq!(
        missed_due_ats(&app, &second),
        [UNDER_B],
        "new disputes use B"
    );
    assert_eq!(
        missed_due_ats(&app, &first),
        [UNDER_A],
        "the recorded miss is unchanged and not recorded again"
    );

    let r = app.verify();
    // Six entries, and the `log_key_recorded` of the `serve` that swept.
    assert!(r.ok && r.size == 7, "{r:?}");
    let out = Command::new(BIN)
        .args(["verify", "--database-url", &app.db.url])
        .env("DATA_DIR", dir.path())
        .env_remove("HOLIDAYS_FILE")
        .output()
        .expect("verify");
    assert!(out.status.success(), "{}", text(&out.stdout));
}

both_backends!(a_new_feed_changes_no_recorded_deadline);
