//! Commands never invent secrets, and the log's key is part of the ledger
//! (issue 10 §5): commands run from the wrong folder refuse and write
//! nothing; `serve`/`migrate` record the log key in a `log_key_recorded`
//! entry; a checkpoint signed by any other key is named by `verify` and
//! `audit`; a rotation is recorded and accepted; the banner's token line
//! works when pasted elsewhere; piped logs have no colour; a client error is
//! logged once.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use escalation_ledger::core::checkpoint::Checkpoint;
use escalation_ledger::core::ladder::Role;
use escalation_ledger::core::note::{sign_note, Signer};
use escalation_ledger::service::bundle::{self, AuditOptions, Outcome};
use escalation_ledger::service::checkpoint::{self, LogKey};
use escalation_ledger::store::db::write_tx;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{client, Backend, LoggedServe, TestApp, TestDb, ORIGIN};

const BIN: &str = env!("CARGO_BIN_EXE_escalation-ledger");

/// The binary in `cwd` with none of the service's settings in its environment.
fn bare(cwd: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(cwd)
        .args(args)
        .env_remove("DATA_DIR")
        .env_remove("DATABASE_URL")
        .env_remove("JWT_SECRET")
        .env_remove("LOG_KEY_FILE")
        .env_remove("WHISTLEBLOWING_KEY_FILE")
        .env_remove("HOLIDAYS_FILE")
        .env_remove("WITNESS_TOKEN")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the binary")
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.push(p.clone());
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// From an empty folder, every command that needs the service's keys or
/// database refuses, says where it looked and how to point elsewhere, and
/// leaves the folder empty.
#[test]
fn commands_from_an_empty_folder_refuse_and_create_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let cwd = dir.path().canonicalize().expect("canonical");
    let data = cwd.join("data");
    let data = data.display().to_string();
    let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        (
            "token (agency)",
            vec![
                "token",
                "--sub",
                "a@k",
                "--role",
                "agency",
                "--agency",
                "kingston-council",
            ],
            vec![&data, "--data-dir or DATA_DIR", "JWT_SECRET"],
        ),
        (
            "token (auditor)",
            vec!["token", "--sub", "a@k", "--role", "auditor"],
            vec![&data, "--data-dir or DATA_DIR", "token secret"],
        ),
        (
            "export",
            vec!["export", "--out", "bundle"],
            vec![&data, "--database-url or DATABASE_URL", "no database"],
        ),
        (
            "verify",
            vec!["verify"],
            vec![&data, "--database-url or DATABASE_URL", "no database"],
        ),
        (
            "backup",
            vec!["backup", "--out", "copy.db"],
            vec![&data, "--database-url or DATABASE_URL", "no database"],
        ),
        (
            "rotate-log-key",
            vec!["rotate-log-key"],
            vec![&data, "--database-url or DATABASE_URL", "no database"],
        ),
        ("audit", vec!["audit", "bundle"], vec!["bundle"]),
        (
            "report",
            vec![
                "report",
                "--bundle",
                "bundle",
                "--from",
                "2026-01-01",
                "--to",
                "2026-12-31",
            ],
            vec!["bundle"],
        ),
        (
            "witness",
            vec![
                "witness",
                "--url",
                "http://127.0.0.1:9",
                "--state",
                "state.json",
                "--key-file",
                "witness-key",
                "--token",
                "t",
            ],
            vec![
                "no witness key",
                cwd.to_str().expect("utf-8"),
                "--key-file",
                "--generate-key",
            ],
        ),
    ];
    for (name, args, wants) in cases {
        let out = bare(&cwd, &args);
        let err = text(&out.stderr) + &text(&out.stdout);
        assert!(!out.status.success(), "{name} succeeded: {err}");
        for want in wants {
            assert!(err.contains(want), "{name}: '{want}' missing from: {err}");
        }
        assert_eq!(
            files_under(&cwd),
            Vec::<PathBuf>::new(),
            "{name} wrote into the folder: {err}"
        );
    }
    // With the database given but the keys elsewhere: still refused, naming
    // the key file's folder and its flag.
    let db = tempfile::tempdir().expect("db dir");
    let url = format!("sqlite://{}", db.path().join("l.db").display());
    let out = bare(db.path(), &["migrate", "--database-url", &url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = bare(&cwd, &["export", "--out", "bundle", "--database-url", &url]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    for want in [
        "no log key at ./data/log-key",
        &data,
        "--log-key-file or LOG_KEY_FILE",
    ] {
        assert!(err.contains(want), "'{want}' missing from: {err}");
    }
    assert_eq!(files_under(&cwd), Vec::<PathBuf>::new(), "{err}");
}

/// `token --agency` names an agency in the registry of the database given.
async fn token_names_a_registered_agency(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().display().to_string();
    let out = bare(
        dir.path(),
        &["migrate", "--data-dir", &d, "--database-url", &db.url],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mint = |agency: &str| {
        bare(
            dir.path(),
            &[
                "token",
                "--data-dir",
                &d,
                "--database-url",
                &db.url,
                "--sub",
                "a@k",
                "--role",
                "agency",
                "--agency",
                agency,
            ],
        )
    };
    let out = mint("kingston-council");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim().split('.').count(), 3, "a JWT");
    let out = mint("kingston-counsel");
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("no agency 'kingston-counsel' in the registry")
            && err.contains("/v1/agencies"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "no token printed");
}

fn recorded(url: &str) -> Vec<String> {
    let pool = escalation_ledger::store::db::pool(url, 1).expect("pool");
    let mut conn = pool.get().expect("conn");
    let h = checkpoint::recorded_keys(&mut conn).expect("keys");
    h.keys().map(|(_, k)| k.key_string()).collect()
}

fn verifier_of(file: &Path) -> String {
    let s = std::fs::read_to_string(file).expect("key file");
    Signer::from_key_string(s.trim())
        .expect("key")
        .verifier_key()
}

/// The first start records the log key once; a key file from elsewhere is
/// refused at start; `rotate-log-key` records the next key, both are accepted
/// by `verify` and `audit`, and the retired key can no longer sign.
async fn the_log_key_is_recorded_and_rotated(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path().display().to_string();
    let run = |args: &[&str]| {
        let mut all = vec!["--data-dir", &d, "--log-origin", ORIGIN];
        all.extend_from_slice(args);
        bare(dir.path(), &all)
    };
    for _ in 0..2 {
        let out = run(&["migrate", "--database-url", &db.url]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let k1 = verifier_of(&dir.path().join("log-key"));
    assert_eq!(recorded(&db.url), vec![k1.clone()], "recorded once");
    // The entry: a setup entry by the system, with the key and nothing else.
    let pool = escalation_ledger::store::db::pool(&db.url, 1).expect("pool");
    let entries = escalation_ledger::store::ledger::setup_entries(
        &mut pool.get().expect("conn"),
        "log_key_recorded",
    )
    .expect("entries");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor.sub, "system");
    let signer = std::fs::read_to_string(dir.path().join("log-key")).expect("key file");
    let id = format!(
        "{:08x}",
        Signer::from_key_string(signer.trim())
            .expect("key")
            .key_id()
    );
    // The ML-DSA-44 key beside it, made at the same first start, is recorded with it.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("log-key.mldsa44"))
            .expect("pq key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the ML-DSA-44 key is the owner's only");
    }
    let pq = std::fs::read_to_string(dir.path().join("log-key.mldsa44")).expect("pq key file");
    let pq = escalation_ledger::core::pq::MlDsaSigner::from_key_string(pq.trim())
        .expect("ML-DSA-44 key")
        .verifier_key();
    assert_eq!(
        entries[0].facts,
        json!({"verifier_key": k1, "key_id": id, "replaces": null, "mldsa44_verifier_key": pq})
    );

    // Another folder's key is not this ledger's: refused at start.
    let other = tempfile::tempdir().expect("other");
    let o = other.path().display().to_string();
    let out = bare(
        other.path(),
        &[
            "--data-dir",
            &o,
            "--log-origin",
            ORIGIN,
            "migrate",
            "--database-url",
            &db.url,
        ],
    );
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("rotate-log-key") && err.contains(&k1), "{err}");

    let export = |name: &str, key_file: Option<&Path>| {
        let out_dir = dir.path().join(name).display().to_string();
        let mut cmd = Command::new(BIN);
        cmd.current_dir(dir.path())
            .args([
                "--data-dir",
                &d,
                "--log-origin",
                ORIGIN,
                "export",
                "--out",
                &out_dir,
            ])
            .args(["--database-url", &db.url])
            .env("RUST_LOG", "warn")
            .env_remove("LOG_KEY_FILE");
        if let Some(k) = key_file {
            cmd.env("LOG_KEY_FILE", k);
        }
        cmd.output().expect("export")
    };
    let out = export("before", None);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = run(&["rotate-log-key", "--database-url", &db.url]);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{}{said}", text(&out.stderr));
    let k2 = verifier_of(&dir.path().join("log-key"));
    assert_ne!(k1, k2);
    assert!(said.contains(&format!("recorded log key {k2}")), "{said}");
    let retired = dir.path().join(format!("log-key.retired-{}", id));
    assert_eq!(verifier_of(&retired), k1, "the old key is kept");
    // The ML-DSA-44 key rotated with it; the old one is kept beside the old key.
    let pq_now = std::fs::read_to_string(dir.path().join("log-key.mldsa44")).expect("new pq");
    let pq_old = std::fs::read_to_string(dir.path().join(format!("log-key.retired-{id}.mldsa44")))
        .expect("retired pq");
    assert_ne!(pq_now, pq_old);
    assert_eq!(recorded(&db.url), vec![k1.clone(), k2.clone()]);

    // The retired key may not sign any more.
    let out = export("retired", Some(&retired));
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("refusing to sign") && err.contains(&k2),
        "{err}"
    );
    let out = export("after", None);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = run(&["verify", "--database-url", &db.url]);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("ledger intact: 4 entries"), "{said}");
    let audit = |name: &str, key: &str| {
        bundle::audit_file(
            &dir.path().join(name),
            AuditOptions {
                log_key: Some(key.to_string()),
                ..AuditOptions::default()
            },
            |_, _| {},
        )
    };
    assert_eq!(audit("before", &k1).outcome, Outcome::Intact);
    let r = audit("after", &k2);
    assert_eq!(r.outcome, Outcome::Intact, "{r:?}");
    assert!(
        r.warnings.iter().all(|w| !w.contains("records no log key")),
        "{r:?}"
    );
    assert_eq!(audit("after", &k1).outcome, Outcome::Tampered);
}

/// A checkpoint stored under another key is named by `verify`; a bundle whose
/// checkpoint another key signed is named by `audit`, even with that key
/// pinned; and that key cannot sign.
async fn a_checkpoint_signed_by_another_key_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut conn = app.conn();
    let recorded = write_tx(&mut conn, |c| checkpoint::record_key(c, &app.log)).expect("record");
    assert!(recorded);
    app.raise(&["kingston-council", "cafcass"], false).await;
    let _ = app.checkpoint_note().await;
    let out = tempfile::tempdir().expect("dir");
    let honest = out.path().join("honest");
    bundle::export_dir(&mut conn, &app.log, &honest).expect("export");
    assert!(app.verify().ok, "{:?}", app.verify());

    let rogue = LogKey::generate(ORIGIN).expect("key");
    let err = write_tx(&mut conn, |c| checkpoint::sign_current(c, &rogue))
        .expect_err("another key may not sign");
    assert!(err.to_string().contains("refusing to sign"), "{err}");

    // A bundle re-signed under the rogue key, which names it in its header.
    let body = std::fs::read_to_string(honest.join("bundle.jsonl")).expect("bundle");
    let (first, rest) = body.split_once('\n').expect("lines");
    let mut header: Value = serde_json::from_str(first).expect("header");
    let note = header["checkpoint"].as_str().expect("note").to_string();
    let body_text = &note[..note.find("\n\n").expect("signatures") + 1];
    let cp = Checkpoint::parse(body_text).expect("checkpoint");
    header["checkpoint"] = json!(sign_note(&cp.to_string(), &[&rogue.signer]).expect("sign"));
    header["log_key"] = json!(rogue.verifier_key());
    let forged = out.path().join("forged.jsonl");
    std::fs::write(&forged, format!("{header}\n{rest}")).expect("write");
    for pinned in [None, Some(rogue.verifier_key())] {
        let r = bundle::audit_file(
            &forged,
            AuditOptions {
                log_key: pinned.clone(),
                ..AuditOptions::default()
            },
            |_, _| {},
        );
        assert_eq!(r.outcome, Outcome::Tampered, "{pinned:?}: {r:?}");
        let p = r.problem.unwrap_or_default();
        assert!(
            p.contains(&format!("the header's checkpoint (size {})", cp.size()))
                && p.contains("not signed by the log key recorded at seq 2"),
            "{p}"
        );
    }
    let r = bundle::audit_file(&honest, AuditOptions::default(), |_, _| {});
    assert_eq!(r.outcome, Outcome::Intact, "{r:?}");

    // A checkpoint row under the rogue key, stored beside the honest ones.
    app.raise(&["kingston-council", "cafcass"], false).await;
    let size = app.size().await;
    let root = checkpoint::root_at(&mut conn, size as u64).expect("root");
    let body = Checkpoint::new(ORIGIN, size as u64, root).expect("body");
    escalation_ledger::store::checkpoints::insert(
        &mut conn,
        &escalation_ledger::store::checkpoints::Signed {
            size,
            root: root.to_vec(),
            note: sign_note(&body.to_string(), &[&rogue.signer]).expect("sign"),
            signed_at: chrono::Utc::now().naive_utc(),
        },
    )
    .expect("insert");
    let r = app.verify();
    assert!(!r.ok, "{r:?}");
    assert_eq!(r.bad_checkpoint, Some(size), "{r:?}");
    let p = r.problem.unwrap_or_default();
    assert!(
        p.contains(&format!(
            "checkpoint of size {size} is not signed by the log key recorded at seq 2"
        )),
        "{p}"
    );
    let out = Command::new(BIN)
        .args(["verify", "--database-url", &app.db.url])
        .output()
        .expect("verify");
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("bad checkpoint: the one signed at size {size}")),
        "{said}"
    );
}

/// The banner's token line carries the data folder and database `serve`
/// uses, and works as pasted in another folder.
async fn the_banner_mints_a_token_from_anywhere(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .args(["serve", "--bind", "127.0.0.1:0", "--workers", "1"])
        .args(["--database-url", &db.url])
        .env("DATA_DIR", "./here")
        .env_remove("JWT_SECRET")
        .env_remove("LOG_KEY_FILE")
        .env_remove("WHISTLEBLOWING_KEY_FILE")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        let done = line.starts_with("then:");
        banner.push(line);
        if done {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let base = banner[0]
        .strip_prefix("escalation-ledger listening on ")
        .expect("first line")
        .to_string();
    let mint = banner
        .iter()
        .find_map(|l| l.strip_prefix("mint a token:"))
        .unwrap_or_else(|| panic!("no token line in {banner:?}"))
        .trim()
        .to_string();
    let data = dir.path().canonicalize().expect("canonical").join("here");
    assert!(
        mint.contains(&format!("--data-dir {}", data.display())),
        "{mint}"
    );
    assert!(mint.contains("--database-url"), "{mint}");
    let elsewhere = tempfile::tempdir().expect("elsewhere");
    let out = Command::new("sh")
        .current_dir(elsewhere.path())
        .args(["-c", &mint])
        .env_remove("DATA_DIR")
        .env_remove("DATABASE_URL")
        .env_remove("JWT_SECRET")
        .output()
        .expect("sh");
    assert!(out.status.success(), "{mint}: {}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();
    let res = client()
        .get(format!("{base}/v1/agencies"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(files_under(elsewhere.path()), Vec::<PathBuf>::new());
}

/// A log written to a file has no colour codes, and a client error (a bad
/// body, a refused route) is logged once.
async fn piped_logs_are_plain_and_a_4xx_is_logged_once(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().expect("dir");
    let served = LoggedServe::start(&db.url, dir.path(), "info").await;
    let keys = escalation_ledger::http::auth::Keys::from_secret(crate::helpers::SECRET.as_bytes());
    let mint = |sub: &str, agency: &str| {
        keys.mint(&escalation_ledger::http::auth::Claims {
            sub: sub.into(),
            role: Role::Agency,
            agency: Some(agency.into()),
            partner: None,
            exp: chrono::Utc::now().timestamp() + 600,
        })
        .expect("mint")
    };
    let res = client()
        .post(format!("{}/v1/disputes", served.base))
        .bearer_auth(mint("a@k", "kingston-council"))
        .insert_header(("content-type", "application/json"))
        .send_body("{not json")
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 400);
    let res = client()
        .get(format!("{}/v1/ledger/entries", served.base))
        .bearer_auth(mint("nosy@cafcass", "cafcass"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 403);
    let log = served.stop();
    assert!(
        !log.contains("\u{1b}["),
        "colour codes in a piped log:\n{log}"
    );
    assert!(log.contains("listening") || log.contains("INFO"), "{log}");
    for route in ["/v1/disputes", "/v1/ledger/entries"] {
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(route) && (l.contains("WARN") || l.contains("ERROR")))
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "{route} logged {} times:\n{log}",
            lines.len()
        );
    }
    assert!(!log.contains("Error encountered"), "{log}");
}

both_backends!(
    token_names_a_registered_agency,
    the_log_key_is_recorded_and_rotated,
    a_checkpoint_signed_by_another_key_is_named,
    the_banner_mints_a_token_from_anywhere,
    piped_logs_are_plain_and_a_4xx_is_logged_once
);
