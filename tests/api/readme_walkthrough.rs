//! The README's walkthroughs, run as written: the shell blocks of "First
//! steps" and "A scrutineer's day" are taken from README.md itself and run by
//! bash against the real binary, started as a newcomer starts it (`serve` in
//! an empty folder, its keys and secret created there). Two substitutions
//! only: the port (the test binds port 0, not 8080) and `cargo run -q
//! --release --` (the test's build of the same binary). Every request must
//! succeed: no problem document in anything the blocks print, and `verify`
//! passes, over HTTP and offline.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::both_backends;
use crate::helpers::{Backend, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_escalation-ledger");
const README: &str = include_str!("../../README.md");

/// The fenced `sh` blocks under the `## heading` of the README, in order.
fn blocks(heading: &str) -> Vec<String> {
    let start = README
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README has no section {heading:?}"));
    let section = &README[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |n| n + 3)];
    let mut out = Vec::new();
    let mut rest = section;
    while let Some(open) = rest.find("```sh\n") {
        let body = &rest[open + 6..];
        let close = body.find("\n```").expect("a closed block");
        out.push(body[..close].to_string());
        rest = &body[close + 4..];
    }
    out
}

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn readme_walkthroughs_run_as_written(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().expect("dir");
    // `serve` in an empty folder, with nothing configured but the database
    // (SQLite's default file is ./data/escalation-ledger.db; PostgreSQL's URL
    // is exported for the later commands too, as an operator would).
    let db_env: Vec<(&str, &str)> = match backend {
        Backend::Sqlite => vec![],
        Backend::Postgres => vec![("DATABASE_URL", db.url.as_str())],
    };
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0", "--workers", "2"])
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .envs(db_env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let _child = Child(child);
    let mut lines = BufReader::new(stdout).lines();
    let line = lines.next().expect("a first line").expect("readable");
    std::thread::spawn(move || for _ in lines {});
    let base = line
        .strip_prefix("escalation-ledger listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();

    let first = blocks("First steps");
    let day = blocks("A scrutineer's day");
    assert_eq!(
        first.len(),
        2,
        "First steps: the start, then the walkthrough"
    );
    assert_eq!(day.len(), 1, "A scrutineer's day: one block");
    let script = format!("{}\n{}\n", first[1], day[0])
        .replace("http://127.0.0.1:8080", &base)
        .replace("cargo run -q --release --", BIN);
    assert!(
        !script.contains("cargo "),
        "a command the test cannot run as written"
    );
    let out = actix_web::rt::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        let db_env: Vec<(String, String)> = db_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move || {
            Command::new("bash")
                .args(["-euo", "pipefail", "-c", &script])
                .current_dir(dir)
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .envs(db_env)
                .output()
                .expect("bash runs")
        }
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the walkthrough failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        !stdout.contains("\"type\":\"/problems/"),
        "a step was refused:\n{stdout}"
    );
    // The first dispute was resolved by both parties' acceptance, and the
    // scrutineer's day ends with the SLG's response recorded.
    assert!(stdout.contains("\"status\":\"resolved\""), "{stdout}");
    assert!(stdout.contains("\"event\":\"resolved\""), "{stdout}");
    assert!(stdout.contains("\"status\":\"responded\""), "{stdout}");
    // `/v1/ledger/verify`, twice (once per block), and the offline `verify`.
    assert_eq!(stdout.matches("\"ok\":true").count(), 2, "{stdout}");
    assert!(stdout.contains("ledger intact: "), "{stdout}");
    assert!(!stdout.contains("warning:"), "{stdout}");
}

both_backends!(readme_walkthroughs_run_as_written);
