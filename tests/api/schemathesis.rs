//! Schemathesis against the real server, on both backends: every check, the
//! examples, coverage, fuzzing and stateful phases, a bounded number of
//! examples per operation, and 0 failures. The document it reads is the one
//! the server serves (`GET /openapi.json`), so what is tested is what clients
//! are told.
//!
//! `tests/schemathesis/hooks.py` gives it values the service holds (registry
//! ids for a dispute's parties, stored rungs, tree sizes the ledger has), and
//! `tests/schemathesis/schemathesis.toml` says the one default it widens, and
//! why. The run uses an agency user's token, who may raise disputes and act
//! on them; the routes that user may not call are still exercised for their
//! 401, 403, 405, 413 and 415 answers and their problem documents.
//!
//! Schemathesis is required (`.ci/run` installs the pinned version): without
//! it this test fails, it never skips.

use std::path::PathBuf;
use std::process::Command;

use escalation_ledger::app::Settings;

use escalation_ledger::core::ladder::Role;

use crate::helpers::{Backend, TestApp};

/// The version `.ci/run` installs.
const VERSION: &str = "4.32.5";
/// Examples per operation and phase: enough to find what the document gets
/// wrong, few enough for about a minute of CPU per backend.
const EXAMPLES: &str = "10";
/// A fixed seed: a failure is reproduced by running again.
const SEED: &str = "20261201";
const AGENCY: &str = "kingston-council";

fn dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis"))
}

/// `schemathesis --version`, or why it cannot be run.
fn installed() -> Result<String, String> {
    let out = Command::new("schemathesis")
        .arg("--version")
        .output()
        .map_err(|e| format!("schemathesis cannot be run: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Run schemathesis against `app` as `token` (an agency user's when `agency`
/// names it); assert 0 failures and every operation tested; its stdout.
async fn run(app: &TestApp, backend: Backend, token: String, agency: Option<&str>) -> String {
    let version = installed().unwrap_or_else(|e| {
        panic!(
            "{e}. The suite needs it (CI={}); install it with \
             `python3 -m pip install schemathesis=={VERSION}` (as .ci/run does)",
            std::env::var("CI").unwrap_or_default()
        )
    });
    assert!(version.ends_with(VERSION), "want {VERSION}, have {version}");
    let work = tempfile::tempdir().expect("temp dir");
    let cwd = work.path().to_path_buf();
    let base = app.base.clone();
    let agency = agency.unwrap_or_default().to_string();
    let out = actix_web::rt::task::spawn_blocking(move || {
        Command::new("schemathesis")
            .arg("--config-file")
            .arg(dir().join("schemathesis.toml"))
            .arg("--no-color")
            .args(["run", &format!("{base}/openapi.json")])
            .args(["--checks", "all"])
            .args(["--phases", "examples,coverage,fuzzing,stateful"])
            .args(["--max-examples", EXAMPLES, "--seed", SEED])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .env("SCHEMATHESIS_HOOKS", dir().join("hooks.py"))
            .env("LEDGER_URL", &base)
            .env("LEDGER_TOKEN", &token)
            .env("LEDGER_AGENCY", &agency)
            // Hypothesis keeps its example database here, not in the tree.
            .current_dir(&cwd)
            .output()
            .expect("schemathesis runs")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis found failures on {backend:?} ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // It ran: every operation of the document was selected and tested.
    let summary = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("Tested:"))
        .unwrap_or_default();
    let doc = escalation_ledger::http::routes::ApiDoc::openapi();
    let operations: usize = doc
        .paths
        .paths
        .values()
        .map(|p| {
            [
                p.get.is_some(),
                p.post.is_some(),
                p.delete.is_some(),
                p.patch.is_some(),
            ]
            .iter()
            .filter(|x| **x)
            .count()
        })
        .sum();
    assert_eq!(
        summary.trim(),
        format!("Tested: {operations}"),
        "not every operation was tested:\n{stdout}"
    );
    assert!(
        !stdout.contains("failures,") && !stdout.contains("failure,"),
        "{stdout}"
    );
    stdout
}

/// Rate limits off: a run sends thousands of requests from one token.
async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with_settings(
        backend,
        Settings {
            rate_limit_per_subject: 0,
            rate_limit_per_address: 0,
            ..Settings::default()
        },
    )
    .await
}

/// As an agency user, who may raise disputes and act on them.
async fn schemathesis_finds_nothing(backend: Backend) {
    let app = spawn(backend).await;
    run(&app, backend, app.agency(AGENCY), Some(AGENCY)).await;
    // The dispute the hooks made possible was raised (the stateful phase got going).
    let (s, list) = app.get(&app.agency(AGENCY), "/v1/disputes?limit=1").await;
    assert_eq!(s, 200, "{list}");
    assert!(
        list.to_string().contains(AGENCY),
        "schemathesis raised no dispute: {list}"
    );
}

/// As the partnership team, who may call the administration routes the
/// agency user only gets 401 and 403 from: the registry, webhooks, witnesses,
/// policies and redactions.
async fn schemathesis_finds_nothing_as_the_partnership_team(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.role(Role::PartnershipAdmin);
    let before = app.size().await;
    run(&app, backend, admin.clone(), None).await;
    // The administration routes were reached, not just refused: they wrote entries.
    let (s, page) = app
        .get(
            &admin,
            &format!("/v1/ledger/entries?from={before}&limit=200"),
        )
        .await;
    assert_eq!(s, 200, "{page}");
    let events: std::collections::BTreeSet<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert!(!events.is_empty(), "the admin run wrote nothing");
    eprintln!("schemathesis as partnership_admin wrote: {events:?}");
}

crate::both_backends!(
    schemathesis_finds_nothing,
    schemathesis_finds_nothing_as_the_partnership_team
);
