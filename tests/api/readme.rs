//! What the README promises about a running `serve`, checked on the real
//! binary: key files created with mode 0600, `/v1/ledger/keys` serving the key
//! on disk, `LOG_FORMAT=json` with a request id on request lines, and
//! `CHECKPOINT_INTERVAL` signing while the ledger grows.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use escalation_ledger::core::ladder::Role;
use escalation_ledger::core::note::Signer;
use escalation_ledger::http::auth::{Claims, Keys};
use serde_json::{json, Value};

use crate::helpers::{client, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_escalation-ledger");

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Does `v` hold a non-empty string under `key`, at any depth? Its value.
fn find_str(v: &Value, key: &str) -> Option<String> {
    match v {
        Value::Object(m) => m
            .get(key)
            .and_then(|x| x.as_str().filter(|s| !s.is_empty()).map(str::to_string))
            .or_else(|| m.values().find_map(|x| find_str(x, key))),
        Value::Array(a) => a.iter().find_map(|x| find_str(x, key)),
        _ => None,
    }
}

#[actix_web::test]
async fn serve_keeps_the_readme_promises() {
    let db = TestDb::new(crate::helpers::Backend::Sqlite);
    let dir = tempfile::tempdir().expect("dir");
    let log_path = dir.path().join("stderr.log");
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0", "--workers", "1"])
        .env("DATABASE_URL", &db.url)
        .env("DATA_DIR", dir.path())
        .env_remove("JWT_SECRET")
        .env_remove("LOG_KEY_FILE")
        .env_remove("WHISTLEBLOWING_KEY_FILE")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("CHECKPOINT_INTERVAL", "100ms")
        .env("DEADLINE_SWEEP", "0s")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).expect("log file"))
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().expect("stdout");
    let child = Child(child);
    let mut lines = BufReader::new(stdout).lines();
    let line = lines.next().expect("a first line").expect("readable");
    // Keep reading, or the server's next line to stdout hits a closed pipe.
    std::thread::spawn(move || for _ in lines {});
    let base = line
        .strip_prefix("escalation-ledger listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();

    // Every key file the first start created is private to its owner.
    for name in ["jwt-secret", "log-key", "whistleblowing-key"] {
        let meta = std::fs::metadata(dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name} was not created: {e}"));
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
    }

    // Tokens minted with the secret on disk are accepted.
    let secret = std::fs::read(dir.path().join("jwt-secret")).expect("secret");
    let keys = escalation_ledger::http::auth::load_or_create_secret(&dir.path().join("jwt-secret"))
        .map(|s| Keys::from_secret(&s))
        .expect("the secret file reads back");
    assert!(!secret.is_empty());
    let mint = |sub: &str, role: Role, agency: Option<&str>| {
        keys.mint(&Claims {
            sub: sub.into(),
            role,
            agency: agency.map(str::to_string),
            partner: None,
            exp: chrono::Utc::now().timestamp() + 3600,
        })
        .expect("mint")
    };
    let auditor = mint("auditor-1", Role::Auditor, None);
    let get = |path: &str, tok: &str| {
        let req = client().get(format!("{base}{path}")).bearer_auth(tok);
        async move {
            let mut res = req.send().await.expect("request");
            let s = res.status().as_u16();
            let v: Value = res.json().await.unwrap_or(Value::Null);
            (s, v)
        }
    };

    // `/v1/ledger/keys` serves the verifier of the signer key on disk.
    let on_disk = std::fs::read_to_string(dir.path().join("log-key")).expect("log key");
    let signer = Signer::from_key_string(on_disk.trim()).expect("a note signer key");
    let (s, served) = get("/v1/ledger/keys", &auditor).await;
    assert_eq!(s, 200, "{served}");
    assert_eq!(served["log"], signer.verifier_key().as_str(), "{served}");

    // CHECKPOINT_INTERVAL: the growth is signed without anyone asking for a
    // checkpoint (the witnessed view reads the newest signed one, never signs).
    let (s, head) = get("/v1/ledger/head", &auditor).await;
    assert_eq!(s, 200, "{head}");
    let mut res = client()
        .post(format!("{base}/v1/disputes"))
        .bearer_auth(mint(
            "user@kingston-council",
            Role::Agency,
            Some("kingston-council"),
        ))
        .send_json(&json!({"parties": ["kingston-council", "cafcass"], "summary": "Threshold"}))
        .await
        .expect("raise");
    assert_eq!(res.status().as_u16(), 201, "{:?}", res.body().await);
    let grown = head["size"].as_i64().expect("size") + 1;
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, w) = get("/v1/ledger/checkpoint/witnessed", &auditor).await;
        if s == 200 && w["size"] == grown {
            break;
        }
        assert!(Instant::now() < end, "never signed size {grown}: {s} {w}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }

    // Two refusals, each logged inside its own request.
    for _ in 0..2 {
        let (s, v) = get("/v1/admin/webhooks", &auditor).await;
        assert_eq!(s, 403, "{v}");
    }

    drop(child);
    let log = std::fs::read_to_string(&log_path).expect("log");
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty(), "nothing logged");
    // Every line logged inside a request carries that request's id.
    let in_requests: Vec<&Value> = lines
        .iter()
        .filter(|v| v["span"]["http.method"].is_string())
        .collect();
    for v in &in_requests {
        assert!(
            find_str(&v["span"], "request_id").is_some(),
            "no request_id: {v}"
        );
    }
    let raised = lines
        .iter()
        .find(|v| v["fields"]["message"] == "dispute raised")
        .unwrap_or_else(|| panic!("the raise was logged: {log}"));
    assert_eq!(raised["span"]["http.route"], "/v1/disputes", "{raised}");
    let ids: std::collections::BTreeSet<String> = in_requests
        .iter()
        .filter_map(|v| find_str(&v["span"], "request_id"))
        .collect();
    assert!(
        ids.len() >= 3,
        "one id per request, not one for all: {ids:?}"
    );
}
