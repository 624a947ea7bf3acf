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
use crate::helpers::{browser_journey, Backend, Served, TestDb};

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
    for js in [true, false] {
        // Each run adds its own agency and addresses. Every page is visited, and
        // each checked (no script; axe with JavaScript on).
        let suffix = if js { "js" } else { "nojs" };
        browser_journey(
            &served,
            &db,
            dir.path(),
            "admin.py",
            &["--suffix", suffix],
            js,
            19,
        )
        .await;
    }
    drop(served);
}

both_backends!(the_partnership_teams_pages_in_a_browser);
