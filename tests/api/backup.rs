//! `escalation-ledger backup`: a consistent copy of a SQLite database taken
//! while it is being written; PostgreSQL is refused with a pointer to pg_dump.

use std::process::Command;

use escalation_ledger::service::verify;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const BIN: &str = env!("CARGO_BIN_EXE_escalation-ledger");

fn run_backup(url: &str, out: &std::path::Path, data: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(["backup", "--out"])
        .arg(out)
        .args(["--database-url", url])
        .env("DATA_DIR", data)
        .output()
        .expect("backup runs")
}

async fn backup_is_consistent_while_writing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("copy.db");
    for _ in 0..5 {
        app.raise(&["kingston-council", "richmond-council"], false)
            .await;
    }
    if backend == Backend::Postgres {
        let o = run_backup(&app.db.url, &out, dir.path());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("pg_dump") && err.contains("verify"), "{err}");
        assert!(!out.exists());
        return;
    }
    // Raise while the backup runs: the copy is one snapshot, a prefix of the chain.
    let (url, o2, d2) = (app.db.url.clone(), out.clone(), dir.path().to_path_buf());
    let backup = actix_web::rt::task::spawn_blocking(move || run_backup(&url, &o2, &d2));
    let writes = async {
        for _ in 0..20 {
            app.raise(&["kingston-council", "richmond-council"], false)
                .await;
        }
    };
    writes.await;
    let o = backup.await.expect("join");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("the copy verifies"), "{stdout}");

    let pool = escalation_ledger::store::db::pool(&format!("sqlite://{}", out.display()), 1)
        .expect("open the copy");
    let copy = verify::verify(&mut pool.get().expect("conn")).expect("verify");
    assert!(copy.ok, "{copy:?}");
    let live = app.verify();
    assert!(live.ok);
    assert!(
        copy.size >= 5 && copy.size <= live.size,
        "{} vs {}",
        copy.size,
        live.size
    );
    // The copy's head is the live chain's entry at that position.
    let (_, entries) = app
        .get(
            &app.role(escalation_ledger::core::ladder::Role::Auditor),
            &format!("/v1/ledger/entries?from={}&limit=1", copy.size - 1),
        )
        .await;
    let hash = entries["items"][0]["entry_hash"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(Some(hash), copy.head_hash, "{entries}");

    // Never over an existing file.
    let o = run_backup(&app.db.url, &out, dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("exists"));
}

both_backends!(backup_is_consistent_while_writing);
