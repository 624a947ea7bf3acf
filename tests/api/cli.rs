//! The binary itself: `serve` twice on one database, `token`, `migrate`, `verify`.

use std::process::{Command, Stdio};

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{client, Backend, LoggedServe, Served, TestDb, SECRET};

const BIN: &str = env!("CARGO_BIN_EXE_escalation-ledger");

fn serve(url: &str, data_dir: &std::path::Path) -> Served {
    Served::spawn(url, data_dir, "warn", &[], Stdio::null())
}

/// `token` against the database at `url` (an agency token names an agency in its registry).
fn token(url: &str, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("token")
        .args(["--database-url", url])
        .args(args)
        .env("JWT_SECRET", SECRET)
        .output()
        .expect("token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Two `serve` processes append to one database at once; the chain never forks or gaps.
async fn two_serve_processes_share_one_chain(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let url = db.url.clone();
    let d = dir.path().to_path_buf();
    let (one, two) =
        actix_web::rt::task::spawn_blocking(move || (serve(&url, &d), serve(&url, &d)))
            .await
            .unwrap();
    let tok = token(
        &db.url,
        &[
            "--sub",
            "u@k",
            "--role",
            "agency",
            "--agency",
            "kingston-council",
        ],
    );
    let c = client();
    const EACH: usize = 16;
    let calls = [&one.base, &two.base].into_iter().flat_map(|base| {
        let c = &c;
        let tok = &tok;
        (0..EACH).map(move |_| async move {
            let mut res = c
                .post(format!("{base}/v1/disputes"))
                .bearer_auth(tok)
                .send_json(&json!({"parties": ["kingston-council", "cafcass"], "summary": "s"}))
                .await
                .expect("request");
            let body: Value = res.json().await.unwrap_or(Value::Null);
            (res.status().as_u16(), body)
        })
    });
    let results = join_all(calls).await;
    for (s, v) in &results {
        assert_eq!(*s, 201, "{v}");
    }
    drop((one, two));
    let url = db.url.clone();
    let out = actix_web::rt::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["verify", "--database-url", &url])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        // The registry, the default policy, the log key, then the disputes.
        stdout.contains(&format!("ledger intact: {} entries", 3 + 2 * EACH)),
        "{stdout}"
    );
}

/// A fresh data dir: `migrate` creates the database, `token` mints what `serve` accepts.
async fn migrate_token_and_serve_on_a_fresh_data_dir(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["migrate", "--database-url", &db.url])
        .env("DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = db.url.clone();
    let d = dir.path().to_path_buf();
    let s = actix_web::rt::task::spawn_blocking(move || serve(&url, &d))
        .await
        .unwrap();
    let c = client();
    let tok = token(
        &db.url,
        &[
            "--sub",
            "scrutineer@krscp",
            "--role",
            "scrutineer",
            "--ttl",
            "5m",
        ],
    );
    let res = c
        .get(format!("{}/v1/agencies", s.base))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let out = Command::new(BIN)
        .args(["token", "--sub", "x", "--role", "agency"])
        .env("JWT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(!out.status.success(), "an agency token needs --agency");
}

both_backends!(
    two_serve_processes_share_one_chain,
    migrate_token_and_serve_on_a_fresh_data_dir
);

#[test]
fn a_mistyped_scheme_is_an_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["sqlit://x.db", "x.db", "postgress://localhost/db"] {
        let out = Command::new(BIN)
            .current_dir(dir.path())
            .args(["migrate", "--database-url", url])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{url}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"),
            "{url}"
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file was created"
    );
}

/// In an empty folder, `token` refuses (it never makes a secret); `migrate`
/// makes the default data dir with private key files and the database, and
/// then `token` mints with that secret.
#[test]
fn the_default_data_dir_gets_a_private_secret() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(BIN)
            .current_dir(dir.path())
            .args(args)
            .env_remove("JWT_SECRET")
            .env_remove("DATA_DIR")
            .env_remove("DATABASE_URL")
            .env_remove("LOG_KEY_FILE")
            .env_remove("WHISTLEBLOWING_KEY_FILE")
            .output()
            .unwrap()
    };
    let out = run(&["token", "--sub", "a", "--role", "auditor"]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    let out2 = run(&["migrate"]);
    assert!(
        out2.status.success(),
        "{}",
        String::from_utf8_lossy(&out2.stderr)
    );
    assert!(dir.path().join("data/escalation-ledger.db").exists());
    #[cfg(unix)]
    for name in ["jwt-secret", "log-key", "whistleblowing-key"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("data").join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{name} is private to the user");
    }
    let out = run(&["token", "--sub", "a", "--role", "auditor"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A refused request is logged at warn with sub, role, route and reason, and the
/// token never appears in the log.
async fn refusals_are_logged_without_the_token(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let served = LoggedServe::start(&db.url, dir.path(), "warn").await;
    let base = served.base.clone();
    let tok = token(
        &db.url,
        &[
            "--sub",
            "nosy@cafcass",
            "--role",
            "agency",
            "--agency",
            "cafcass",
        ],
    );
    let res = client()
        .get(format!("{base}/v1/ledger/entries"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let res = client()
        .get(format!("{base}/v1/agencies"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let log = served.stop();
    let refused = log
        .lines()
        .find(|l| l.contains("request refused"))
        .unwrap_or_else(|| panic!("no refusal line in:\n{log}"));
    for want in [
        "nosy@cafcass",
        "agency",
        "/v1/ledger/entries",
        "ledger.entries",
        "agency may not use GET /v1/ledger/entries",
    ] {
        assert!(refused.contains(want), "{want} missing from: {refused}");
    }
    assert!(log.contains("token refused"), "{log}");
    assert!(!log.contains(&tok), "the token leaked into the log");
    assert!(
        !log.contains("not-a-token"),
        "the bad token leaked into the log"
    );
}

both_backends!(refusals_are_logged_without_the_token);
