//! ML-DSA-44 witnesses on the live service (C2SP tlog-cosignature type 0x06,
//! `subtree/v1`): registered with their ML-DSA-44 verifier key, their
//! cosignatures accepted on the pull path (`POST /v1/ledger/cosignatures`,
//! the `witness` client) and the push path (`witness serve` and a witness
//! written here), checked and stored like the Ed25519 ones; altered lines
//! refused and nothing stored.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use escalation_ledger::cli::witness::{self, RunConfig};
use escalation_ledger::core::checkpoint::Checkpoint;
use escalation_ledger::core::ladder::{Partner, Role};
use escalation_ledger::core::note::{Note, NoteSignature};
use escalation_ledger::core::pq::{vkey_type, MlDsaSigner, MlDsaVerifier, ALG_MLDSA44};
use escalation_ledger::core::witness_protocol;
use escalation_ledger::workers::pusher::{self, PusherConfig};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const BIN: &str = env!("CARGO_BIN_EXE_escalation-ledger");

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn register(app: &TestApp, name: &str, key: &str, url: Option<&str>) -> (u16, Value) {
    let mut body = json!({"name": name, "key": key});
    if let Some(url) = url {
        body["url"] = json!(url);
    }
    app.post(
        &app.role(Role::PartnershipAdmin),
        "/v1/admin/witnesses",
        body,
    )
    .await
}

async fn post_line(app: &TestApp, size: u64, line: &str) -> (u16, Value) {
    app.post(
        &app.role(Role::Scrutineer),
        "/v1/ledger/cosignatures",
        json!({"size": size, "cosignature": line}),
    )
    .await
}

/// The served checkpoint, parsed.
async fn current(app: &TestApp) -> Checkpoint {
    let note = app.checkpoint_note().await;
    Checkpoint::parse(Note::parse(&note).expect("a note").text()).expect("a checkpoint")
}

fn stored(app: &TestApp, size: u64) -> Vec<escalation_ledger::service::cosign::StoredCosignature> {
    escalation_ledger::service::cosign::for_size(&mut app.conn(), size as i64).expect("reads")
}

/// A copy of `line` with one bit of its signature bytes flipped at `at`
/// (counted from the start of the key ID).
fn altered(line: &str, at: usize) -> String {
    let (head, b64) = line.trim_end().rsplit_once(' ').expect("a line");
    let mut raw = B64.decode(b64).expect("base64");
    raw[at] ^= 1;
    format!("{head} {}\n", B64.encode(raw))
}

fn now() -> u64 {
    chrono::Utc::now().timestamp() as u64
}

/// Pull path: an ML-DSA-44 witness registers with its 0x06 verifier key and
/// posts its cosignature; a changed signature, timestamp or checkpoint is 422
/// and stores nothing; the `witness` client cosigns with an ML-DSA-44 key file;
/// `verify` re-checks the stored lines.
async fn mldsa_cosignatures_on_the_pull_path(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = MlDsaSigner::generate("pq.witness.example").unwrap();
    assert_eq!(vkey_type(&w.verifier_key()), Some(ALG_MLDSA44));
    // Named otherwise, or a mangled key: 422, nothing registered.
    assert_eq!(
        register(&app, "other", &w.verifier_key(), None).await.0,
        422
    );
    let mangled = w.verifier_key().replacen('+', "+0", 1);
    assert_eq!(
        register(&app, "pq.witness.example", &mangled, None).await.0,
        422
    );
    let (s, v) = register(&app, "pq.witness.example", &w.verifier_key(), None).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["key"], w.verifier_key());

    app.raise(&["kingston-council", "cafcass"], false).await;
    let cp = current(&app).await;
    let size = cp.size();
    let good = w.sign_checkpoint(&cp.head(), now()).unwrap().to_line();

    // Altered: a bit of the ML-DSA signature, of the timestamp; the line for
    // another size; a line by the same name with another key.
    let other_size = {
        let head = escalation_ledger::core::pq::TreeHead {
            size: size + 1,
            ..cp.head()
        };
        w.sign_checkpoint(&head, now()).unwrap().to_line()
    };
    let impostor = MlDsaSigner::generate("pq.witness.example").unwrap();
    let impostor = impostor
        .sign_checkpoint(&cp.head(), now())
        .unwrap()
        .to_line();
    for (what, line) in [
        ("a signature bit", altered(&good, 4 + 8 + 100)),
        ("the last signature byte", altered(&good, 4 + 8 + 2419)),
        ("a timestamp bit", altered(&good, 4 + 7)),
        ("another size", other_size),
        ("another key", impostor),
    ] {
        let (s, v) = post_line(&app, size, &line).await;
        assert_eq!(s, 422, "{what}: {v}");
        assert!(stored(&app, size).is_empty(), "{what} stored");
    }

    let (s, v) = post_line(&app, size, &good).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["witness"], "pq.witness.example");
    let rows = stored(&app, size);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].line, good);
    // The same line again is not a new row.
    assert_eq!(post_line(&app, size, &good).await.0, 200);
    // The served note carries it, and it verifies with the registered key alone.
    let (_, witnessed) = app
        .get(&app.role(Role::Auditor), "/v1/ledger/checkpoint/witnessed")
        .await;
    assert_eq!(
        witnessed["cosigned_by"],
        json!(["pq.witness.example"]),
        "{witnessed}"
    );
    let note = app.checkpoint_note().await;
    let v = MlDsaVerifier::from_key_string(&w.verifier_key()).unwrap();
    let sig = Note::parse(&note)
        .unwrap()
        .signatures()
        .iter()
        .find(|s| v.matches(s))
        .cloned()
        .expect("the witness's line is on the note");
    assert!(v.verify_checkpoint(&cp.head(), &sig).is_ok());

    // The `witness` pull client with an ML-DSA-44 key file.
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("client.key");
    let vkey = witness::generate_key("pq.client.example", &key_file, true).unwrap();
    assert_eq!(vkey_type(&vkey), Some(ALG_MLDSA44));
    assert_eq!(
        register(&app, "pq.client.example", &vkey, None).await.0,
        201
    );
    let report = witness::run(&RunConfig {
        url: app.base.clone(),
        key_file,
        state_file: dir.path().join("client.state"),
        token: app.partner(Role::StatutoryPartner, Partner::La),
        log_key: Some(app.log.verifier_key()),
    })
    .await
    .expect("the witness run");
    let line = report.line.expect("a line sent");
    let sig = NoteSignature::from_line(&line).unwrap();
    let cv = MlDsaVerifier::from_key_string(&vkey).unwrap();
    let current = current(&app).await;
    assert!(cv.verify_checkpoint(&current.head(), &sig).is_ok());
    let names: Vec<String> = stored(&app, current.size())
        .into_iter()
        .map(|c| c.witness)
        .collect();
    assert!(
        names.contains(&"pq.client.example".to_string()),
        "{names:?}"
    );

    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

fn pusher_cfg() -> PusherConfig {
    PusherConfig {
        poll: Duration::from_millis(50),
        backoff: Duration::from_secs(60),
        timeout: Duration::from_secs(20),
        ..PusherConfig::default()
    }
}

/// Push path: `witness serve` with a key made by `--generate-key NAME
/// --ml-dsa-44` takes the pusher's `add-checkpoint` and answers an ML-DSA-44
/// cosignature, which is checked and stored like an Ed25519 one.
async fn witness_serve_cosigns_with_mldsa(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("serve.key");
    let out = Command::new(BIN)
        .args([
            "witness",
            "--generate-key",
            "pq.serve.example",
            "--ml-dsa-44",
        ])
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
    assert_eq!(vkey_type(&vkey), Some(ALG_MLDSA44));
    let mut child = Command::new(BIN)
        .args(["witness", "serve", "--key"])
        .arg(&key)
        .args(["--log-key", &app.log.verifier_key(), "--state"])
        .arg(dir.path().join("serve.state"))
        .args(["--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("witness serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("readable");
    let _served = Proc(child);
    std::thread::spawn(move || for _ in lines {});
    let url = first
        .strip_prefix("witness listening on ")
        .unwrap_or_else(|| panic!("unexpected line: {first}"))
        .to_string();
    let (s, v) = register(&app, "pq.serve.example", &vkey, Some(&url)).await;
    assert_eq!(s, 201, "{v}");
    pusher::spawn_pusher(app.pool.clone(), pusher_cfg());

    app.raise(&["kingston-council", "cafcass"], false).await;
    let cp = current(&app).await;
    let until = Instant::now() + Duration::from_secs(60);
    while stored(&app, cp.size()).is_empty() {
        assert!(Instant::now() < until, "size {} not cosigned", cp.size());
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = stored(&app, cp.size());
    assert_eq!(rows[0].witness, "pq.serve.example");
    let sig = NoteSignature::from_line(&rows[0].line).unwrap();
    let v = MlDsaVerifier::from_key_string(&vkey).unwrap();
    assert_eq!(
        v.verify_checkpoint(&cp.head(), &sig).ok(),
        Some(rows[0].timestamp as u64)
    );
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

/// A tlog-witness written here from the spec that answers every push with its
/// ML-DSA-44 cosignature, one bit altered: the log raises an alert, does not
/// retry the checkpoint, and stores nothing.
async fn an_altered_pushed_mldsa_cosignature_is_refused(backend: Backend) {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let app = TestApp::spawn(backend).await;
    let signer = MlDsaSigner::generate("pq.bad.example").unwrap();
    let vkey = signer.verifier_key();
    let answer = move |body: String| {
        let req = witness_protocol::parse_request(&body).expect("a request");
        let note = Note::parse(&req.note).expect("a note");
        let cp = Checkpoint::parse(note.text()).expect("a checkpoint");
        let line = signer.sign_checkpoint(&cp.head(), now()).unwrap().to_line();
        HttpResponse::Ok().body(altered(&line, 4 + 8 + 7))
    };
    let server = HttpServer::new(move || {
        let answer = answer.clone();
        App::new().route(
            "/add-checkpoint",
            web::post().to(move |body: String| {
                let answer = answer.clone();
                async move { answer(body) }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .expect("bind");
    let url = format!("http://{}", server.addrs()[0]);
    let handle = server.run();
    actix_web::rt::spawn(handle);
    assert_eq!(
        register(&app, "pq.bad.example", &vkey, Some(&url)).await.0,
        201
    );
    pusher::spawn_pusher(app.pool.clone(), pusher_cfg());

    app.raise(&["kingston-council", "cafcass"], false).await;
    let cp = current(&app).await;
    let until = Instant::now() + Duration::from_secs(60);
    let w = loop {
        let (_, w) = app
            .get(
                &app.role(Role::Auditor),
                "/v1/ledger/witnesses/pq.bad.example",
            )
            .await;
        if w["push"]["alert_size"] == json!(cp.size()) {
            break w;
        }
        assert!(Instant::now() < until, "no alert: {w}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    };
    let why = w["push"]["last_push_error"].as_str().unwrap_or_default();
    assert!(why.contains("does not verify"), "{w}");
    assert!(stored(&app, cp.size()).is_empty());
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

both_backends!(
    mldsa_cosignatures_on_the_pull_path,
    witness_serve_cosigns_with_mldsa,
    an_altered_pushed_mldsa_cosignature_is_refused,
);

/// Witness names may contain `/` (and any non-space character but `+`): the
/// note format allows them. Such a witness is reachable with its name
/// percent-encoded as one path segment, and the `Location` headers say so.
async fn witness_names_with_a_slash_are_reachable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let name = "partner.example/witness~1";
    let w = MlDsaSigner::generate(name).unwrap();
    let (s, location, v) = app
        .post_created(
            &app.role(Role::PartnershipAdmin),
            "/v1/admin/witnesses",
            json!({"name": name, "key": w.verifier_key()}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let encoded = "partner.example%2Fwitness~1";
    let path = format!("/v1/ledger/witnesses/{encoded}");
    assert_eq!(location.as_deref(), Some(path.as_str()));
    let (s, got) = app.get(&app.role(Role::Auditor), &path).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got["name"], name);
    assert_eq!(got["key"], w.verifier_key());
    // Lower-case hex works too; the raw slash is another route (404).
    let (s, got) = app
        .get(
            &app.role(Role::Auditor),
            "/v1/ledger/witnesses/partner.example%2fwitness~1",
        )
        .await;
    assert_eq!((s, got["name"].clone()), (200, json!(name)));
    let (s, _) = app
        .get(
            &app.role(Role::Auditor),
            &format!("/v1/ledger/witnesses/{name}"),
        )
        .await;
    assert_eq!(s, 404);

    // Its cosignature, read back by size and encoded name.
    app.raise(&["kingston-council", "cafcass"], false).await;
    let cp = current(&app).await;
    let line = w.sign_checkpoint(&cp.head(), now()).unwrap().to_line();
    let (s, location, v) = app
        .post_created(
            &app.role(Role::Scrutineer),
            "/v1/ledger/cosignatures",
            json!({"size": cp.size(), "cosignature": line}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let path = format!("/v1/ledger/cosignatures/{}/{encoded}", cp.size());
    assert_eq!(location.as_deref(), Some(path.as_str()));
    let (s, got) = app.get(&app.role(Role::Auditor), &path).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got["line"], line);
}

both_backends!(witness_names_with_a_slash_are_reachable);
