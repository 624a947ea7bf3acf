//! The auditor's pages and the report's charts in a real browser:
//! `tests/browser/auditor.py` drives Chromium through chromedriver against
//! the real binary, with JavaScript on (axe-core, WCAG 2.0/2.1/2.2 A and AA,
//! on every page: 0 violations) and off, and runs "Verify the whole ledger"
//! to its end. Fails (never skips) when a browser tool is missing.
//! `CONSOLE_SCREENSHOTS=docs/console` makes the SQLite run with JavaScript on
//! write the guide's screenshots of these pages there.

use crate::both_backends;
use crate::helpers::{Backend, Served, TestDb};

async fn the_auditor_pages_in_a_browser(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = db.url.clone();
    let data = dir.path().to_path_buf();
    let served = actix_web::rt::task::spawn_blocking(move || {
        Served::spawn(
            &url,
            &data,
            "warn",
            &[("CHECKPOINT_INTERVAL", "1s")],
            std::process::Stdio::null(),
        )
    })
    .await
    .expect("join");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/auditor.py");
    let shots = std::env::var("CONSOLE_SCREENSHOTS")
        .ok()
        .filter(|_| backend == Backend::Sqlite)
        .map(|d| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(d));
    for js in [true, false] {
        let mut cmd = std::process::Command::new("python3");
        cmd.arg(script)
            .args(["--base", &served.base])
            .args(["--bin", env!("CARGO_BIN_EXE_escalation-ledger")])
            .env("DATABASE_URL", &db.url)
            .env("DATA_DIR", dir.path());
        if !js {
            cmd.arg("--no-js");
        }
        if let (true, Some(d)) = (js, &shots) {
            cmd.arg("--screenshots").arg(d);
        }
        let out = actix_web::rt::task::spawn_blocking(move || cmd.output().expect("python3 runs"))
            .await
            .expect("join");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "the auditor's pages (javascript {}) failed:\n{stdout}\n{stderr}",
            if js { "on" } else { "off" }
        );
        let summary: serde_json::Value = stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok())
            .expect("a summary line");
        assert_eq!(summary["violations"], 0, "{stdout}");
        assert!(summary["pages"].as_u64().unwrap_or(0) >= 9, "{stdout}");
        assert!(stdout.contains("verified: The ledger verifies"), "{stdout}");
        assert!(stdout.contains("charts: "), "{stdout}");
    }
    drop(served);
}

both_backends!(the_auditor_pages_in_a_browser);
