//! Audit bundles: export by CLI and over HTTP, offline `audit`, and tampering
//! with the bundle file (the database-side tampering is in `tamper.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

use escalation_ledger::core::checkpoint::Checkpoint;
use escalation_ledger::core::ladder::Role;
use escalation_ledger::core::ledger::{canonical_json, sha256};
use escalation_ledger::core::merkle::Frontier;
use escalation_ledger::core::note::{self, Signer};
use escalation_ledger::service::bundle::{
    self, AuditOptions, EntryLine, Header, Outcome, Payloads,
};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, ORIGIN};

const BIN: &str = env!("CARGO_BIN_EXE_escalation-ledger");

/// Eight entries: registry (0), raised (1), proposal (2), escalated (3), raised (4..7).
async fn history(app: &TestApp) {
    let id = app.raise(&["kingston-council", "cafcass"], false).await;
    let tok = app.agency("kingston-council");
    let (s, v) = app
        .post(
            &tok,
            &format!("/v1/disputes/{id}/proposals"),
            json!({"resolution": "Hold a strategy meeting"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = app
        .post(
            &tok,
            &format!("/v1/disputes/{id}/escalate"),
            json!({"reason": "No agreement"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    grow(app, 4).await;
}

async fn grow(app: &TestApp, n: usize) {
    for _ in 0..n {
        app.raise(&["richmond-council", "kingston-hospital"], false)
            .await;
    }
}

/// `escalation-ledger export` with the app's own log key, as an operator would run it.
/// Off the test's runtime, so the app's connections stay served meanwhile.
async fn cli_export(app: &TestApp, dir: &Path) {
    let key_file = dir.join("log-key");
    std::fs::write(&key_file, app.log.signer.key_string()).expect("key file");
    let mut cmd = Command::new(BIN);
    cmd.args(["export", "--out"])
        .arg(dir.join("export"))
        .args(["--database-url", &app.db.url])
        .env("DATA_DIR", dir)
        .env("LOG_KEY_FILE", &key_file)
        .env("LOG_ORIGIN", ORIGIN)
        .env("RUST_LOG", "warn");
    let out = actix_web::rt::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("run export");
    assert!(
        out.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `escalation-ledger audit` with these arguments: exit code and stdout.
fn cli_audit(bundle: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .arg("audit")
        .arg(bundle)
        .args(args)
        .output()
        .expect("run audit");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn http_export(app: &TestApp, token: &str) -> (u16, String, String) {
    let mut res = app
        .client
        .get(format!("{}/v1/ledger/export", app.base))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = res.body().limit(64 << 20).await.expect("body");
    (
        res.status().as_u16(),
        ct,
        String::from_utf8(body.to_vec()).expect("utf-8"),
    )
}

fn header(text: &str) -> Header {
    serde_json::from_str(text.lines().next().expect("a header")).expect("header")
}

fn pinned(app: &TestApp) -> AuditOptions {
    AuditOptions {
        log_key: Some(app.log.verifier_key()),
        ..Default::default()
    }
}

fn audit_text(text: &str, opts: AuditOptions) -> bundle::AuditReport {
    bundle::audit_lines(text.lines().map(|l| Ok(l.to_string())), opts, |_, _| {})
}

/// The CLI and HTTP exports are the same bundle (bar the export time), entry lines
/// are exactly what `/v1/ledger/entries` returns, and `audit` passes on both.
async fn cli_and_http_exports_agree_and_audit_clean(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    history(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    cli_export(&app, &d).await;
    let file = d.join("export").join("bundle.jsonl");
    let cli_text = std::fs::read_to_string(&file).expect("bundle.jsonl");
    let checkpoint_txt =
        std::fs::read_to_string(d.join("export/checkpoint.txt")).expect("checkpoint.txt");
    let keys: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("export/keys.json")).unwrap())
            .unwrap();
    assert_eq!(keys["log"], json!(app.log.verifier_key()));

    let (s, ct, http_text) = http_export(&app, &app.role(Role::PartnershipAdmin)).await;
    assert_eq!(s, 200, "{http_text}");
    assert!(ct.starts_with("application/x-ndjson"), "{ct}");

    let (hc, hh) = (header(&cli_text), header(&http_text));
    assert_eq!(hc.size, 9);
    assert_eq!(hc.format, bundle::FORMAT);
    assert_eq!(hc.checkpoint, checkpoint_txt);
    assert_eq!(hc.log_key, app.log.verifier_key());
    assert_eq!(hc.payloads, Payloads::Included);
    assert_eq!(
        Header {
            exported_at: String::new(),
            ..hc.clone()
        },
        Header {
            exported_at: String::new(),
            ..hh
        },
        "headers differ beyond exported_at"
    );
    let cli_lines: Vec<&str> = cli_text.lines().skip(1).collect();
    let http_lines: Vec<&str> = http_text.lines().skip(1).collect();
    assert_eq!(cli_lines.len(), 9);
    assert_eq!(cli_lines, http_lines, "entry lines differ");

    let entries = Value::Array(
        app.all(
            &app.role(Role::PartnershipAdmin),
            "/v1/ledger/entries?limit=200",
        )
        .await,
    );
    let from_lines: Vec<Value> = cli_lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        Value::Array(from_lines),
        entries,
        "not the entries API's shape"
    );

    for text in [&cli_text, &http_text] {
        let r = audit_text(text, pinned(&app));
        assert_eq!(r.outcome, Outcome::Intact, "{r:?}");
        assert_eq!((r.entries, r.payloads_absent), (9, 0));
    }
    let key = app.log.verifier_key();
    let (code, out) = cli_audit(&d.join("export"), &["--log-key", &key]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("bundle intact: 9 entries"), "{out}");
    // The only warning: this ledger was built by the library (`TestApp`),
    // not started by `serve`/`migrate`, so its chain records no log key.
    let warnings: Vec<&str> = out.lines().filter(|l| l.contains("warning")).collect();
    assert!(
        warnings.len() == 1 && warnings[0].contains("the chain records no log key"),
        "{out}"
    );
    let (code, out) = cli_audit(&file, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("key was taken from the bundle"), "{out}");
    let (code, out) = cli_audit(
        &file,
        &[
            "--trusted-checkpoint",
            d.join("export/checkpoint.txt").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("trusted checkpoint: consistent"), "{out}");

    // An auditor's export withholds payloads; audit checks everything else and says so.
    let (s, _, auditor_text) = http_export(&app, &app.role(Role::Auditor)).await;
    assert_eq!(s, 200);
    assert_eq!(header(&auditor_text).payloads, Payloads::Withheld);
    // One line per entry, so the check below is not over an empty export.
    assert_eq!(
        auditor_text.lines().skip(1).count() as i64,
        app.size().await,
        "{auditor_text}"
    );
    assert!(auditor_text
        .lines()
        .skip(1)
        .all(|l| serde_json::from_str::<Value>(l).unwrap()["payload"].is_null()));
    let r = audit_text(&auditor_text, pinned(&app));
    assert_eq!(r.outcome, Outcome::Intact, "{r:?}");
    assert_eq!(r.payloads_absent, 9);
    assert!(r.warnings.iter().any(|w| w.contains("withheld")));
    let withheld = d.join("auditor.jsonl");
    std::fs::write(&withheld, &auditor_text).unwrap();
    let (code, out) = cli_audit(&withheld, &["--log-key", &key]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("payload hashes not checked"), "{out}");

    // Agency users may not read the whole ledger.
    let (s, _, _) = http_export(&app, &app.agency("kingston-council")).await;
    assert_eq!(s, 403);
}

fn lines_of(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

fn write(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

fn edit(lines: &mut [String], i: usize, f: impl FnOnce(&mut EntryLine)) {
    let mut e: EntryLine = serde_json::from_str(&lines[i]).unwrap();
    f(&mut e);
    lines[i] = serde_json::to_string(&e).unwrap();
}

/// Change entry `seq`'s payload, recompute every hash from there on, and re-sign
/// a checkpoint over the forged tree with `signer`: a perfect forgery of the chain.
fn rewrite(lines: &[String], seq: usize, signer: &Signer) -> Vec<String> {
    let mut out = lines.to_vec();
    let mut entries: Vec<EntryLine> = out[1..]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut frontier = Frontier::new();
    for i in 0..entries.len() {
        if i == seq {
            let e = &mut entries[i];
            e.payload = Some(json!({"summary": "A different story", "child_ref": "KR-2026-0001"}));
            e.payload_hash = hex::encode(sha256(
                canonical_json(e.payload.as_ref().unwrap())
                    .unwrap()
                    .as_bytes(),
            ));
        }
        if i > 0 {
            entries[i].prev_hash = entries[i - 1].entry_hash.clone();
        }
        let hash = entries[i].to_entry().unwrap().compute_hash().unwrap();
        entries[i].entry_hash = hex::encode(hash);
        frontier.push(hash);
    }
    let mut h: Header = serde_json::from_str(&out[0]).unwrap();
    let body = Checkpoint::new(ORIGIN, frontier.size(), frontier.root()).unwrap();
    h.checkpoint = note::sign_note(&body.to_string(), &[signer]).unwrap();
    h.log_key = signer.verifier_key();
    out[0] = serde_json::to_string(&h).unwrap();
    for (i, e) in entries.into_iter().enumerate() {
        out[i + 1] = serde_json::to_string(&e).unwrap();
    }
    out
}

/// Every edit of a bundle file is caught by `audit`, which names where.
async fn audit_catches_tampering_with_the_bundle(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    history(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    // A checkpoint saved by an auditor at an earlier visit.
    cli_export(&app, &d).await;
    let trusted_old = d.join("trusted-old.txt");
    std::fs::copy(d.join("export/checkpoint.txt"), &trusted_old).unwrap();
    grow(&app, 3).await;
    cli_export(&app, &d).await;
    let trusted_now = d.join("trusted-now.txt");
    std::fs::copy(d.join("export/checkpoint.txt"), &trusted_now).unwrap();
    let good = lines_of(&std::fs::read_to_string(d.join("export/bundle.jsonl")).unwrap());
    assert_eq!(good.len(), 13, "a header and 12 entries");
    let key = app.log.verifier_key();
    let pin = ["--log-key", key.as_str()];
    let (code, out) = cli_audit(&write(&d, "good.jsonl", &good), &pin);
    assert_eq!(code, 0, "{out}");

    // (name, tampered lines, the seq audit must name, a phrase of the problem)
    let mut cases: Vec<(&str, Vec<String>, i64, &str)> = Vec::new();
    let mut l = good.clone();
    edit(&mut l, 2, |e| {
        e.payload = Some(json!({"summary": "Edited after the fact", "child_ref": "KR-2026-0001"}))
    });
    cases.push((
        "edit a payload",
        l,
        1,
        "payload does not match payload_hash",
    ));
    let mut l = good.clone();
    edit(&mut l, 3, |e| e.entry_hash = "00".repeat(32));
    cases.push(("edit a hash", l, 2, "entry_hash"));
    let mut l = good.clone();
    edit(&mut l, 4, |e| e.prev_hash = "11".repeat(32));
    cases.push(("edit a prev_hash", l, 3, "prev_hash"));
    let mut l = good.clone();
    l.remove(4);
    cases.push(("delete an entry line", l, 3, "entry 3 is missing"));
    let mut l = good.clone();
    l.insert(3, good[2].clone());
    cases.push((
        "insert a line",
        l,
        2,
        "entry 2 is missing (found seq 1 next)",
    ));
    let mut l = good.clone();
    l.swap(5, 6);
    cases.push(("reorder two lines", l, 4, "entry 4 is missing"));
    let mut l = good.clone();
    l.pop();
    cases.push(("drop the newest entry", l, 11, "entry 11 is missing"));
    for (name, lines, seq, phrase) in cases {
        let (code, out) = cli_audit(&write(&d, "t.jsonl", &lines), &pin);
        assert_eq!(code, 1, "{name}: {out}");
        assert!(
            out.contains(&format!("bundle broken at seq {seq} ")),
            "{name}: {out}"
        );
        assert!(out.contains(phrase), "{name}: {out}");
    }

    // The whole history rewritten with every hash recomputed and re-signed by the
    // log key itself: only a checkpoint saved before the rewrite catches it.
    let forged = write(&d, "forged.jsonl", &rewrite(&good, 1, &app.log.signer));
    let (code, out) = cli_audit(&forged, &pin);
    assert_eq!(code, 0, "a perfect forgery passes without history: {out}");
    let (code, out) = cli_audit(
        &forged,
        &[
            &pin[..],
            &["--trusted-checkpoint", trusted_old.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("history rewritten"), "{out}");
    assert!(out.contains("first 9 entries"), "{out}");
    assert!(out.contains("NOT consistent"), "{out}");
    // Against the checkpoint of the same size: the log signed two trees, a fork.
    let (code, out) = cli_audit(
        &forged,
        &[
            &pin[..],
            &["--trusted-checkpoint", trusted_now.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("fork"), "{out}");

    // A forked checkpoint (same size, another root, validly signed by the log key)
    // held as trusted: the genuine bundle is reported as a fork against it.
    let fork = Checkpoint::new(ORIGIN, 12, [7u8; 32]).unwrap();
    let fork_file = d.join("fork.txt");
    std::fs::write(
        &fork_file,
        note::sign_note(&fork.to_string(), &[&app.log.signer]).unwrap(),
    )
    .unwrap();
    let (code, out) = cli_audit(
        &write(&d, "good.jsonl", &good),
        &[
            &pin[..],
            &["--trusted-checkpoint", fork_file.to_str().unwrap()],
        ]
        .concat(),
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("fork: the trusted checkpoint"), "{out}");

    // Re-signed under another key: refused when the log key is pinned. Unpinned,
    // it passes, but audit warns that the key came from the bundle.
    let other = Signer::generate(ORIGIN).unwrap();
    let resigned = write(&d, "resigned.jsonl", &rewrite(&good, 1, &other));
    let (code, out) = cli_audit(&resigned, &pin);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not signed by the log key"), "{out}");
    let (code, out) = cli_audit(&resigned, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("warning: the log key was taken from the bundle"),
        "{out}"
    );
    // ...and a trusted checkpoint from the real key catches it even unpinned.
    let (code, out) = cli_audit(
        &resigned,
        &["--trusted-checkpoint", trusted_old.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("trusted checkpoint does not verify"), "{out}");

    // Unreadable input and bad options exit 2.
    let (code, out) = cli_audit(&d.join("missing.jsonl"), &[]);
    assert_eq!(code, 2, "{out}");
    let (code, out) = cli_audit(&write(&d, "junk.jsonl", &["junk".into()]), &[]);
    assert_eq!(code, 2, "{out}");
    let (code, out) = cli_audit(&forged, &["--log-key", "not-a-key"]);
    assert_eq!(code, 2, "{out}");
    let (code, out) = cli_audit(&forged, &["--trusted-checkpoint", "/nonexistent/cp.txt"]);
    assert_eq!(code, 2, "{out}");

    // The database itself is untouched by all this.
    assert!(app.verify().ok);
}

both_backends!(
    cli_and_http_exports_agree_and_audit_clean,
    audit_catches_tampering_with_the_bundle
);
