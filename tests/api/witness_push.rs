//! C2SP tlog-witness push: the log POSTs `add-checkpoint` to every witness
//! registered with a URL. Witnesses from outside the service: a Python one
//! written from the specs (`tests/witness/fake_witness.py`), and the real
//! binary's `witness serve`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use escalation_ledger::core::checkpoint::{self, CosignatureVerifier};
use escalation_ledger::core::ladder::Role;
use escalation_ledger::core::note::{Signer, Verifier};
use escalation_ledger::workers::pusher::{self, PusherConfig};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, ORIGIN};

const BIN: &str = env!("CARGO_BIN_EXE_escalation-ledger");

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start a child and read its first `n` stdout lines; the rest is drained.
fn start(cmd: &mut Command, n: usize) -> (Proc, Vec<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first: Vec<String> = (0..n)
        .map(|_| lines.next().expect("a line").expect("readable"))
        .collect();
    std::thread::spawn(move || for _ in lines {});
    (Proc(child), first)
}

/// The Python witness: its process, verifier key and URL.
fn fake_witness(
    name: &str,
    log_key: &str,
    requests: &Path,
    extra: &[&str],
) -> (Proc, String, String) {
    let script = format!(
        "{}/tests/witness/fake_witness.py",
        env!("CARGO_MANIFEST_DIR")
    );
    let (p, lines) = start(
        Command::new("python3")
            .arg(script)
            .args(["--name", name, "--log-key", log_key])
            .arg("--requests")
            .arg(requests)
            .args(extra),
        2,
    );
    let vkey = lines[0]
        .strip_prefix("vkey ")
        .expect("vkey line")
        .to_string();
    let port = lines[1].strip_prefix("port ").expect("port line");
    (p, vkey, format!("http://127.0.0.1:{port}"))
}

/// What the Python witness was sent and answered, in order.
fn requests(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

async fn register(app: &TestApp, name: &str, key: &str, url: &str) -> Value {
    let (s, v) = app
        .post(
            &app.role(Role::PartnershipAdmin),
            "/v1/admin/witnesses",
            json!({"name": name, "key": key, "url": url}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    v
}

/// Sign the checkpoint of the current ledger: its size and base64 root.
async fn sign(app: &TestApp) -> (u64, String) {
    let note = app.checkpoint_note().await;
    let mut l = note.lines().skip(1);
    let size = l.next().expect("size").parse().expect("a size");
    (size, l.next().expect("root").to_string())
}

async fn witness(app: &TestApp, name: &str) -> Value {
    let (s, v) = app
        .get(
            &app.role(Role::Auditor),
            &format!("/v1/ledger/witnesses/{name}"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

/// The served checkpoint opened with the log key and `vkey`: the sizes and
/// witness names of the cosignatures that verify.
async fn cosigned_by(app: &TestApp, vkey: &str) -> (u64, Vec<String>) {
    let note = app.checkpoint_note().await;
    let log = Verifier::from_key_string(&app.log.verifier_key()).expect("log key");
    let w = CosignatureVerifier::from_key_string(vkey).expect("witness key");
    let opened = checkpoint::open_checkpoint(&note, &[log], &[w]).expect("the note verifies");
    (
        opened.checkpoint.size(),
        opened
            .cosignatures
            .iter()
            .map(|c| c.name().to_string())
            .collect(),
    )
}

fn cfg() -> PusherConfig {
    PusherConfig {
        poll: Duration::from_millis(50),
        backoff: Duration::from_secs(60),
        timeout: Duration::from_secs(20),
        ..PusherConfig::default()
    }
}

/// The Python witness already cosigned size K: the first push (old 0) is
/// answered 409 with K, the log resends from K with the consistency proof
/// K→M, and the witness's cosignature of M is stored and verifies.
async fn push_resends_from_the_witness_size(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    app.raise(&["kingston-council", "cafcass"], false).await;
    let (k, root_k) = sign(&app).await;
    app.raise(&["richmond-council", "kingston-hospital"], false)
        .await;
    app.raise(&["kingston-council", "richmond-council"], false)
        .await;
    let log_key = app.log.verifier_key();
    let reqs = dir.path().join("w1.jsonl");
    let (_w, vkey, url) = fake_witness(
        "w1.example",
        &log_key,
        &reqs,
        &["--size", &k.to_string(), "--root", &root_k],
    );
    let reg = register(&app, "w1.example", &vkey, &url).await;
    assert_eq!(reg["url"], url.as_str());
    // Registering is an entry too: sign after it.
    let (m, _) = sign(&app).await;
    assert!(k > 1 && m > k);

    let client = awc::Client::default();
    let pushed = pusher::push_due(&app.pool, &client, &cfg())
        .await
        .expect("a round");
    assert_eq!(pushed, 1);
    let seen = requests(&reqs);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0]["old"], 0);
    assert_eq!(seen[0]["status"], 409);
    assert_eq!(seen[1]["old"], k);
    assert_eq!(seen[1]["size"], m);
    assert!(seen[1]["proof"].as_u64().unwrap() > 0, "{seen:?}");
    assert_eq!(seen[1]["status"], 200);

    let (size, names) = cosigned_by(&app, &vkey).await;
    assert_eq!((size, names), (m, vec!["w1.example".to_string()]));
    let w = witness(&app, "w1.example").await;
    assert_eq!(w["url"], url.as_str());
    assert_eq!(w["push"]["last_status"], 200, "{w}");
    assert_eq!(w["push"]["last_push_error"], Value::Null, "{w}");
    // Nothing more is owed, so nothing is sent.
    assert_eq!(
        pusher::push_due(&app.pool, &client, &cfg()).await.unwrap(),
        0
    );
    assert_eq!(requests(&reqs).len(), 2);
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

/// 403 (the witness trusts another key for our origin) and 422 (its stored
/// root makes our consistency proof fail) raise alerts, visible in the API,
/// and are not retried for that checkpoint; a witness that cannot be reached
/// is retried only after its backoff. A newer checkpoint is pushed again.
async fn push_refusals_raise_alerts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    app.raise(&["kingston-council", "cafcass"], false).await;
    let (k, _) = sign(&app).await;
    app.raise(&["richmond-council", "kingston-hospital"], false)
        .await;

    let stranger = Signer::generate(ORIGIN).unwrap().verifier_key();
    let r403 = dir.path().join("w403.jsonl");
    let (_a, key_a, url_a) = fake_witness("w403.example", &stranger, &r403, &[]);
    register(&app, "w403.example", &key_a, &url_a).await;
    let r422 = dir.path().join("w422.jsonl");
    let wrong_root = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let (_b, key_b, url_b) = fake_witness(
        "w422.example",
        &app.log.verifier_key(),
        &r422,
        &["--size", &k.to_string(), "--root", wrong_root],
    );
    register(&app, "w422.example", &key_b, &url_b).await;
    // A witness nobody answers for: a port that was free a moment ago.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let dead = escalation_ledger::core::checkpoint::Cosigner::generate("dead.example").unwrap();
    register(&app, "dead.example", &dead.verifier_key(), &dead_url).await;
    let (m, _) = sign(&app).await;

    let client = awc::Client::default();
    assert_eq!(
        pusher::push_due(&app.pool, &client, &cfg()).await.unwrap(),
        3
    );
    let a = requests(&r403);
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0]["status"], 403);
    let b = requests(&r422);
    assert_eq!(b.len(), 2, "{b:?}");
    assert_eq!(
        (b[0]["status"].clone(), b[1]["status"].clone()),
        (json!(409), json!(422))
    );
    assert_eq!(b[1]["old"], k);

    for (name, status) in [("w403.example", 403), ("w422.example", 422)] {
        let w = witness(&app, name).await;
        assert_eq!(w["push"]["last_status"], status, "{w}");
        assert_eq!(w["push"]["alert_size"], m, "{w}");
        let err = w["push"]["last_push_error"].as_str().expect("an error");
        assert!(err.starts_with(&status.to_string()), "{err}");
    }
    let d = witness(&app, "dead.example").await;
    assert_eq!(d["push"]["last_status"], Value::Null, "{d}");
    assert_eq!(d["push"]["attempts"], 1, "{d}");
    assert!(d["push"]["retry_at"].is_string(), "{d}");
    assert!(
        d["push"]["last_push_error"]
            .as_str()
            .unwrap()
            .contains("not reached"),
        "{d}"
    );

    // The next round owes nobody anything: no blind retry, no early retry.
    assert_eq!(
        pusher::push_due(&app.pool, &client, &cfg()).await.unwrap(),
        0
    );
    assert_eq!(requests(&r403).len(), 1);
    assert_eq!(requests(&r422).len(), 2);
    let (_, cosigned) = app
        .get(&app.role(Role::Auditor), "/v1/ledger/checkpoint/witnessed")
        .await;
    assert_eq!(cosigned["cosigned_by"], json!([]), "{cosigned}");

    // A newer checkpoint is offered again to the alerted witnesses.
    app.raise(&["kingston-council", "richmond-council"], false)
        .await;
    let (n, _) = sign(&app).await;
    assert!(n > m);
    assert_eq!(
        pusher::push_due(&app.pool, &client, &cfg()).await.unwrap(),
        2
    );
    assert_eq!(requests(&r403).len(), 2);
    let w = witness(&app, "w403.example").await;
    assert_eq!(w["push"]["alert_size"], n, "{w}");
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

/// The real `witness serve`, registered with its URL, takes the background
/// pusher's pushes over two checkpoints (the second with the consistency
/// proof from the first); its cosignatures land and verify, and its state
/// file holds the newest size.
async fn witness_serve_cosigns_pushed_checkpoints(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("serve.key");
    let state = dir.path().join("serve.state");
    let out = Command::new(BIN)
        .args(["witness", "--generate-key", "serve.example"])
        .arg("--key-file")
        .arg(&key)
        .output()
        .expect("witness --generate-key");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let vkey = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let (_served, lines) = start(
        Command::new(BIN)
            .args(["witness", "serve", "--key"])
            .arg(&key)
            .args(["--log-key", &app.log.verifier_key(), "--state"])
            .arg(&state)
            .args(["--bind", "127.0.0.1:0"]),
        1,
    );
    let url = lines[0]
        .strip_prefix("witness listening on ")
        .unwrap_or_else(|| panic!("unexpected line: {}", lines[0]))
        .to_string();
    register(&app, "serve.example", &vkey, &url).await;
    pusher::spawn_pusher(app.pool.clone(), cfg());

    let mut sizes = Vec::new();
    for parties in [
        ["kingston-council", "cafcass"],
        ["richmond-council", "kingston-hospital"],
    ] {
        app.raise(&parties, false).await;
        let (size, _) = sign(&app).await;
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let (s, names) = cosigned_by(&app, &vkey).await;
            if s == size && names == ["serve.example"] {
                break;
            }
            if Instant::now() > until {
                let w = witness(&app, "serve.example").await;
                panic!("size {size} not cosigned by witness serve: {w}");
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
        assert_eq!(saved["size"], size, "{saved}");
        sizes.push(size);
    }
    assert!(sizes[1] > sizes[0]);
    let w = witness(&app, "serve.example").await;
    assert_eq!(w["push"]["last_status"], 200, "{w}");
    // Both cosignatures are stored as the pull path stores them.
    let (_, v) = app
        .get(&app.role(Role::Auditor), "/v1/ledger/checkpoint/witnessed")
        .await;
    assert_eq!(v["cosigned_by"], json!(["serve.example"]), "{v}");
    for size in sizes {
        let stored =
            escalation_ledger::service::cosign::for_size(&mut app.conn(), size as i64).unwrap();
        assert_eq!(stored.len(), 1, "size {size}: {stored:?}");
        assert_eq!(stored[0].witness, "serve.example");
    }
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

both_backends!(
    push_resends_from_the_witness_size,
    push_refusals_raise_alerts,
    witness_serve_cosigns_pushed_checkpoints,
);

/// The URL is checked (http or https, a host, no credentials, query or
/// fragment; 422 and nothing written); a witness without one is pull only.
async fn witness_url_is_checked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.role(Role::PartnershipAdmin);
    let size = app.size().await;
    for (i, bad) in [
        "ftp://w.example",
        "not a url",
        "http://user:pw@w.example",
        "https://w.example/?q=1",
        "https://w.example/#f",
        "http://",
    ]
    .iter()
    .enumerate()
    {
        let name = format!("bad{i}.example");
        let c = escalation_ledger::core::checkpoint::Cosigner::generate(&name).unwrap();
        let (s, v) = app
            .post(
                &admin,
                "/v1/admin/witnesses",
                json!({"name": name, "key": c.verifier_key(), "url": bad}),
            )
            .await;
        assert_eq!(s, 422, "{bad}: {v}");
        assert!(v["detail"].as_str().unwrap().starts_with("url"), "{v}");
    }
    assert_eq!(app.size().await, size, "nothing written");
    let c = escalation_ledger::core::checkpoint::Cosigner::generate("pull.example").unwrap();
    let (s, v) = app
        .post(
            &admin,
            "/v1/admin/witnesses",
            json!({"name": "pull.example", "key": c.verifier_key()}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["url"], Value::Null);
    let c = escalation_ledger::core::checkpoint::Cosigner::generate("push.example").unwrap();
    let v = register(
        &app,
        "push.example",
        &c.verifier_key(),
        "https://w.example/sub/",
    )
    .await;
    assert_eq!(
        v["url"], "https://w.example/sub",
        "stored without the trailing /"
    );
    let w = witness(&app, "pull.example").await;
    assert_eq!(
        (w["url"].clone(), w["push"].clone()),
        (Value::Null, Value::Null)
    );
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

both_backends!(witness_url_is_checked);

/// A push owed when the process stops is sent by the next one: the pending
/// work is "last cosigned size < newest checkpoint", read from the database by
/// a pool that shares nothing with the one that signed.
async fn a_pending_push_survives_a_restart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let reqs = dir.path().join("w.jsonl");
    let (_w, vkey, url) = fake_witness("later.example", &app.log.verifier_key(), &reqs, &[]);
    register(&app, "later.example", &vkey, &url).await;
    app.raise(&["kingston-council", "cafcass"], false).await;
    let (size, _) = sign(&app).await;
    // "Restart": a fresh pool on the same database, nothing carried over.
    let db = app.db.url.clone();
    let pool = actix_web::rt::task::spawn_blocking(move || {
        escalation_ledger::app::prepare_with(&db, 2, Duration::from_secs(30))
    })
    .await
    .unwrap()
    .expect("the database again");
    let client = awc::Client::default();
    assert_eq!(pusher::push_due(&pool, &client, &cfg()).await.unwrap(), 1);
    let seen = requests(&reqs);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        (seen[0]["old"].clone(), seen[0]["size"].clone()),
        (json!(0), json!(size))
    );
    let (s, names) = cosigned_by(&app, &vkey).await;
    assert_eq!((s, names), (size, vec!["later.example".to_string()]));
}

both_backends!(a_pending_push_survives_a_restart);
