//! The restore drill (issue 13 §7): export a ledger from one backend, rebuild
//! an empty database of the other from the bundle with `escalation-ledger
//! restore`, start a server on the restored database and compare the head, the
//! root and every dispute through the API. Then the refusals: a database that
//! is not empty, and a bundle that fails the offline audit, each leaving the
//! target as it was.

use std::path::Path;
use std::process::Command;

use escalation_ledger::core::checkpoint::{Checkpoint, Cosigner};
use escalation_ledger::core::ladder::Role;
use escalation_ledger::core::note;
use escalation_ledger::store::db;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{client, Backend, TestApp, TestDb, ORIGIN, SECRET};

const BIN: &str = env!("CARGO_BIN_EXE_escalation-ledger");

/// A ledger with something of every kind a restore rebuilds: disputes on
/// several rungs, a resolution, a withdrawal, a webhook, a witness with a
/// cosignature on the exported checkpoint, and an approved redaction.
async fn history(app: &TestApp) -> Vec<String> {
    let mut ids = Vec::new();
    let tok = app.agency("kingston-council");
    // Escalated once, with an open proposal on the new rung.
    let a = app.raise(&["kingston-council", "cafcass"], false).await;
    let (s, v) = app
        .post(
            &tok,
            &format!("/v1/disputes/{a}/escalate"),
            json!({"reason": "No agreement"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    ids.push(a);
    // Resolved on the first rung: proposed by one party, accepted by the other.
    let b = app.raise(&["kingston-council", "cafcass"], false).await;
    let (s, v) = app
        .post(
            &tok,
            &format!("/v1/disputes/{b}/proposals"),
            json!({"resolution": "Hold a strategy meeting"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let pid = v["id"].as_str().expect("proposal id").to_string();
    let accept = format!("/v1/disputes/{b}/proposals/{pid}/accept");
    let (s, mut v) = app.post(&app.agency("cafcass"), &accept, json!({})).await;
    assert_eq!(s, 200, "{v}");
    if v["status"] != "resolved" {
        let (s, w) = app.post(&tok, &accept, json!({})).await;
        assert_eq!(s, 200, "{w}");
        v = w;
    }
    assert_eq!(v["status"], "resolved", "{v}");
    ids.push(b);
    // Withdrawn by the raiser.
    let c = app
        .raise(&["kingston-council", "metropolitan-police"], true)
        .await;
    let (s, v) = app
        .post(
            &tok,
            &format!("/v1/disputes/{c}/withdraw"),
            json!({"reason": "Agreed locally"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    ids.push(c);
    ids.push(
        app.raise(&["richmond-council", "kingston-hospital"], true)
            .await,
    );

    let admin = app.role(Role::PartnershipAdmin);
    let (s, v) = app
        .post(
            &admin,
            "/v1/admin/webhooks",
            json!({"target": {"agency": "kingston-council"}, "url": "http://127.0.0.1:9/hooks/secret-path"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    // Erase the first dispute's `raised` payload (entry 2: registry 0, policy 1).
    let (_, e) = app.get(&admin, "/v1/ledger/entries?from=2&limit=1").await;
    assert_eq!(e["items"][0]["event"], "raised", "{e}");
    let path = "/v1/admin/ledger/entries/2/redact";
    let (s, v) = app.post(&admin, path, json!({"reason": "erasure"})).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app.post(&app.role(Role::Scrutineer), path, json!({})).await;
    assert_eq!(s, 200, "{v}");

    let w = Cosigner::generate("witness.example/w1").expect("witness key");
    // The partnership's registry changes: added, renamed, retired.
    let (s, v) = app
        .post(
            &admin,
            "/v1/agencies",
            json!({"id": "st-marys-primary", "name": "St Mary's Primary", "kind": "education"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app
        .patch(
            &admin,
            "/v1/agencies/st-marys-primary",
            json!({"name": "St Mary's C of E Primary"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(&admin, "/v1/agencies/st-marys-primary/retire", json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app
        .post(
            &admin,
            "/v1/admin/witnesses",
            json!({"name": w.name(), "key": w.verifier_key(), "url": "https://witness.example/la"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    // The checkpoint the export will carry: cosigned at the final size.
    let signed = app.checkpoint_note().await;
    let opened = note::open_note(&signed, &[app.log.signer.verifier()]).expect("log signed");
    let cp = Checkpoint::parse(&opened.text).expect("checkpoint");
    let line = w
        .cosign(&cp, chrono::Utc::now().timestamp() as u64)
        .expect("cosign")
        .to_line();
    let (s, v) = app
        .post(
            &app.role(Role::Scrutineer),
            "/v1/ledger/cosignatures",
            json!({"size": cp.size(), "cosignature": line}),
        )
        .await;
    assert!((200..300).contains(&s), "{s} {v}");
    ids
}

/// Run the binary with `args`, off the test's runtime; exit code and output.
async fn run(args: Vec<String>, envs: Vec<(String, String)>) -> (i32, String, String) {
    let out = actix_web::rt::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(&args)
            .envs(envs)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run the binary")
    })
    .await
    .expect("join");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `escalation-ledger export --out DIR/export` with the app's log key.
async fn export(app: &TestApp, dir: &Path) -> std::path::PathBuf {
    let key_file = dir.join("log-key");
    std::fs::write(&key_file, app.log.signer.key_string()).expect("key file");
    let out = dir.join("export");
    let (code, _, err) = run(
        vec![
            "export".into(),
            "--out".into(),
            out.display().to_string(),
            "--database-url".into(),
            app.db.url.clone(),
        ],
        vec![
            ("DATA_DIR".into(), dir.display().to_string()),
            ("LOG_KEY_FILE".into(), key_file.display().to_string()),
            ("LOG_ORIGIN".into(), ORIGIN.into()),
        ],
    )
    .await;
    assert_eq!(code, 0, "export failed: {err}");
    out
}

/// `escalation-ledger restore --bundle DIR --database-url URL --log-key KEY`.
async fn restore(bundle: &Path, url: &str, log_key: &str) -> (i32, String, String) {
    let data = tempfile::tempdir().expect("temp dir");
    run(
        vec![
            "restore".into(),
            "--bundle".into(),
            bundle.display().to_string(),
            "--database-url".into(),
            url.into(),
            "--log-key".into(),
            log_key.into(),
        ],
        vec![("DATA_DIR".into(), data.path().display().to_string())],
    )
    .await
}

/// Rows in every table restore writes, to show a refusal wrote none.
fn counts(url: &str) -> Value {
    let pool = db::pool(url, 1).expect("pool");
    let mut conn = pool.get().expect("conn");
    db::migrate(&mut conn).expect("migrate");
    let occupied = escalation_ledger::store::restore::occupied(&mut conn).expect("counts");
    json!(occupied
        .into_iter()
        .map(|(t, n)| (t.to_string(), n))
        .collect::<std::collections::BTreeMap<_, _>>())
}

async fn round_trip(from: Backend, to: Backend) {
    let app = TestApp::spawn(from).await;
    let ids = history(&app).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let bundle = export(&app, dir.path()).await;

    let target = TestDb::new(to);
    let log_key = app.log.verifier_key();
    let (code, out, err) = restore(&bundle, &target.url, &log_key).await;
    assert_eq!(code, 0, "restore failed:\n{out}\n{err}");

    // The head and root it prints are the source's.
    let auditor = app.role(Role::Auditor);
    let (_, head) = app.get(&auditor, "/v1/ledger/head").await;
    let head_hash = head["head_hash"].as_str().expect("head hash");
    assert!(out.contains(&format!("head {head_hash}")), "{out}");
    let note = app.checkpoint_note().await;
    let opened = note::open_note(&note, &[app.log.signer.verifier()]).expect("log signed");
    let cp = Checkpoint::parse(&opened.text).expect("checkpoint");
    assert_eq!(cp.size() as i64, head["size"].as_i64().expect("size"));
    assert!(
        out.contains(&format!("root {}", hex::encode(cp.root_hash()))),
        "{out}"
    );
    assert!(out.contains("1 cosignatures"), "{out}");
    assert!(
        err.contains("webhook wh_"),
        "the origin-only webhook is named: {err}"
    );

    // A server on the restored database, with the same log key, answers alike.
    let url = target.url.clone();
    let pool =
        actix_web::rt::task::spawn_blocking(move || escalation_ledger::app::prepare(&url, 4))
            .await
            .expect("join")
            .expect("prepare the restored database");
    let (server, addr) = escalation_ledger::app::start(
        pool.clone(),
        escalation_ledger::http::auth::Keys::from_secret(SECRET.as_bytes()),
        app.log.clone(),
        escalation_ledger::app::Settings::default(),
        "127.0.0.1:0",
        2,
    )
    .expect("start on the restored database");
    actix_web::rt::spawn(server);
    let restored = format!("http://{addr}");
    let get = |base: String, token: String, path: String| async move {
        let mut res = client()
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let body = res.body().limit(64 << 20).await.expect("body");
        (
            res.status().as_u16(),
            String::from_utf8_lossy(&body).into_owned(),
        )
    };
    let admin = app.role(Role::PartnershipAdmin);
    for path in [
        "/v1/ledger/head".to_string(),
        "/v1/ledger/checkpoint".to_string(),
        "/v1/ledger/entries?from=0&limit=200".to_string(),
        "/v1/admin/ledger/redactions".to_string(),
        "/v1/ledger/witnesses".to_string(),
        "/v1/policies".to_string(),
        "/v1/agencies".to_string(),
        "/v1/disputes".to_string(),
    ] {
        let want = app.get_text(&admin, &path).await;
        let got = get(restored.clone(), admin.clone(), path.clone()).await;
        assert_eq!(want.0, 200, "{path}: {}", want.1);
        assert_eq!(got, want, "{path} differs after the restore");
    }
    for id in &ids {
        for path in [
            format!("/v1/disputes/{id}"),
            format!("/v1/disputes/{id}/history"),
        ] {
            let want = app.get_text(&admin, &path).await;
            let got = get(restored.clone(), admin.clone(), path.clone()).await;
            assert_eq!(want.0, 200, "{path}: {}", want.1);
            assert_eq!(got, want, "{path} differs after the restore");
        }
    }
    // The redacted payload stayed redacted.
    let (_, e) = app.get(&admin, "/v1/ledger/entries?from=2&limit=1").await;
    assert_eq!(e["items"][0]["payload"], Value::Null, "{e}");
    let (s, v) = get(restored.clone(), admin.clone(), "/v1/ledger/verify".into()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        serde_json::from_str::<Value>(&v).expect("json")["ok"],
        true,
        "{v}"
    );
    // And it keeps working: a new dispute on the restored ledger verifies.
    let tok = app.agency("kingston-council");
    let res = client()
        .post(format!("{restored}/v1/disputes"))
        .bearer_auth(&tok)
        .send_json(&json!({"parties": ["kingston-council", "cafcass"], "summary": "After the restore", "child_ref": "KR-2026-0002", "complex": false}))
        .await
        .expect("raise");
    assert_eq!(res.status().as_u16(), 201);
    let report = escalation_ledger::service::verify::verify(&mut pool.get().expect("conn"))
        .expect("verify runs");
    assert!(report.ok, "{report:?}");
}

#[actix_web::test]
async fn sqlite_into_postgres() {
    round_trip(Backend::Sqlite, Backend::Postgres).await
}

#[actix_web::test]
async fn postgres_into_sqlite() {
    round_trip(Backend::Postgres, Backend::Sqlite).await
}

/// A database that holds anything is refused, and keeps what it held.
async fn a_non_empty_target_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.raise(&["kingston-council", "cafcass"], false).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let bundle = export(&app, dir.path()).await;
    // The source itself: its registry, policy and dispute.
    let before = counts(&app.db.url);
    let (code, out, err) = restore(&bundle, &app.db.url, &app.log.verifier_key()).await;
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(counts(&app.db.url), before);
    // A migrated but empty database is accepted.
    let empty = TestDb::new(backend);
    assert_eq!(counts(&empty.url), json!({}));
    let (code, out, err) = restore(&bundle, &empty.url, &app.log.verifier_key()).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert_ne!(counts(&empty.url), json!({}));
}

/// A bundle that fails the offline audit (one payload edited, one byte of a
/// hash, or under another log key) is refused and nothing is written.
async fn a_tampered_bundle_is_refused_and_nothing_written(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    history(&app).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let bundle = export(&app, dir.path()).await;
    let file = bundle.join("bundle.jsonl");
    let original = std::fs::read_to_string(&file).expect("bundle");
    let lines: Vec<&str> = original.lines().collect();

    // An edited summary: its payload no longer hashes to payload_hash.
    let (at, mut entry) = lines
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, l)| (i, serde_json::from_str::<Value>(l).expect("entry line")))
        .find(|(_, e)| e["event"] == "raised" && !e["payload"].is_null())
        .expect("a raised entry with its payload");
    let seq = entry["seq"].as_i64().expect("seq");
    entry["payload"]["summary"] = json!("A different account");
    let mut edited = lines.clone();
    let edited_line = entry.to_string();
    edited[at] = &edited_line;
    let target = TestDb::new(backend);
    std::fs::write(&file, edited.join("\n") + "\n").expect("write");
    let (code, out, err) = restore(&bundle, &target.url, &app.log.verifier_key()).await;
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("fails the offline audit"), "{err}");
    assert!(
        err.contains(&format!("entry {seq}")),
        "names the entry: {err}"
    );
    assert_eq!(counts(&target.url), json!({}), "nothing written");

    // An entry dropped from the middle: the chain breaks.
    let mut gap = lines.clone();
    gap.remove(6);
    std::fs::write(&file, gap.join("\n") + "\n").expect("write");
    let (code, _, err) = restore(&bundle, &target.url, &app.log.verifier_key()).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("fails the offline audit"), "{err}");
    assert_eq!(counts(&target.url), json!({}), "nothing written");

    // The untouched bundle under a log key the operator does not trust.
    std::fs::write(&file, &original).expect("write");
    let other = escalation_ledger::service::checkpoint::LogKey::generate(ORIGIN).expect("key");
    let (code, _, err) = restore(&bundle, &target.url, &other.verifier_key()).await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("fails the offline audit"), "{err}");
    assert_eq!(counts(&target.url), json!({}), "nothing written");

    // The same bundle, untouched and under the right key, restores.
    let (code, out, err) = restore(&bundle, &target.url, &app.log.verifier_key()).await;
    assert_eq!(code, 0, "{out}\n{err}");
}

both_backends!(
    a_non_empty_target_is_refused,
    a_tampered_bundle_is_refused_and_nothing_written
);
