//! The console in a real browser: `tests/browser/journey.py` drives Debian's
//! Chromium through chromedriver (Python selenium) against the real binary,
//! once with JavaScript on (axe-core, WCAG 2.0/2.1/2.2 A and AA, on every
//! page: 0 violations) and once with it off. The journey: an agency lead
//! signs in by link, raises a dispute and escalates it, a forged action is
//! refused, the SLG proposes, both parties accept, and the dispute page shows
//! it resolved with every step verified against a signed checkpoint.
//!
//! Fails (never skips) when chromium, chromedriver, selenium or axe-core is
//! missing: `.ci/run` installs them. `CONSOLE_SCREENSHOTS=docs/console` makes
//! the SQLite run with JavaScript on write the guide's screenshots there.

use crate::both_backends;
use crate::helpers::{browser_journey, Backend, Served, TestDb};

async fn the_main_journey_in_a_browser(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = db.url.clone();
    let data = dir.path().to_path_buf();
    let served = actix_web::rt::task::spawn_blocking(move || {
        Served::spawn(
            &url,
            &data,
            "warn",
            // Checkpoints within a second, so the page can show every step verified.
            &[("CHECKPOINT_INTERVAL", "1s")],
            std::process::Stdio::null(),
        )
    })
    .await
    .expect("join");
    for js in [true, false] {
        let stdout = browser_journey(&served, &db, dir.path(), "journey.py", &[], js, 20).await;
        assert!(stdout.contains("steps verified: "), "{stdout}");
    }
    drop(served);
}

both_backends!(the_main_journey_in_a_browser);
