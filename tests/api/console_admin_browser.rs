//! The partnership team's pages in a real browser: `tests/browser/admin.py`
//! drives Debian's Chromium through chromedriver (Python selenium) against
//! the real binary, once with JavaScript on (axe-core, WCAG 2.0/2.1/2.2 A and
//! AA, on every page: 0 violations) and once with it off, visiting every
//! admin page and submitting the registry's add (after a form with errors),
//! rename and retire, and the email settings (after a form with errors).
//!
//! Fails (never skips) when chromium, chromedriver, selenium or axe-core is
//! missing: `.ci/run` installs them. `CONSOLE_SCREENSHOTS=docs/console` makes
//! the SQLite run with JavaScript on write the guide's screenshots there.

use crate::both_backends;
use crate::helpers::{Backend, Served, TestDb, SECRET};

async fn the_partnership_teams_pages_in_a_browser(backend: Backend) {
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
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/admin.py");
    // `CONSOLE_SCREENSHOTS=docs/console`: the SQLite run with JavaScript on
    // writes the guide's screenshots of the team's pages there.
    let shots = std::env::var("CONSOLE_SCREENSHOTS")
        .ok()
        .filter(|_| backend == Backend::Sqlite)
        .map(|d| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(d));
    for js in [true, false] {
        let mut cmd = std::process::Command::new("python3");
        cmd.arg(script)
            .args(["--base", &served.base])
            .args(["--bin", env!("CARGO_BIN_EXE_escalation-ledger")])
            // Each run adds its own agency and addresses.
            .args(["--suffix", if js { "js" } else { "nojs" }])
            .env("DATABASE_URL", &db.url)
            .env("DATA_DIR", dir.path())
            .env("JWT_SECRET", SECRET);
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
            "the admin pages (javascript {}) failed:\n{stdout}\n{stderr}",
            if js { "on" } else { "off" }
        );
        let summary: serde_json::Value = stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok())
            .expect("a summary line");
        assert_eq!(summary["violations"], 0, "{stdout}");
        // Every page visited, each checked (no script; axe with JavaScript on).
        assert!(summary["pages"].as_u64().unwrap_or(0) >= 19, "{stdout}");
    }
    drop(served);
}

both_backends!(the_partnership_teams_pages_in_a_browser);
