//! The auditor's pages and the report's charts in a real browser:
//! `tests/browser/auditor.py` drives Chromium through chromedriver against
//! the real binary, with JavaScript on (axe-core, WCAG 2.0/2.1/2.2 A and AA,
//! on every page: 0 violations) and off, and runs "Verify the whole ledger"
//! to its end. Fails (never skips) when a browser tool is missing.
//! `CONSOLE_SCREENSHOTS=docs/console` makes the SQLite run with JavaScript on
//! write the guide's screenshots of these pages there.

use crate::both_backends;
use crate::helpers::{browser_journey, Backend, Served, TestDb};

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
    for js in [true, false] {
        let stdout = browser_journey(&served, &db, dir.path(), "auditor.py", &[], js, 9).await;
        assert!(stdout.contains("verified: The ledger verifies"), "{stdout}");
        assert!(stdout.contains("charts: "), "{stdout}");
    }
    drop(served);
}

both_backends!(the_auditor_pages_in_a_browser);
