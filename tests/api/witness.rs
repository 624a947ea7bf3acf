//! Partner witnesses: registration, the witness run (pinned log key, consistency
//! from saved state, cosign, post), cosigned checkpoints and the quorum.

use std::path::Path;
use std::process::Command;

use escalation_ledger::cli::witness::{self, RunConfig, WitnessError, WitnessState};
use escalation_ledger::core::checkpoint::{self, Checkpoint, CosignatureVerifier, Cosigner};
use escalation_ledger::core::ladder::{Partner, Role};
use escalation_ledger::core::note::{self, Signer, Verifier};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

const BIN: &str = env!("CARGO_BIN_EXE_escalation-ledger");
const NAMES: [&str; 4] = ["la", "icb", "police", "scrutineer"];

async fn checkpoint_note(app: &TestApp) -> String {
    app.checkpoint_note().await
}

async fn log_verifier(app: &TestApp) -> Verifier {
    let (_, keys) = app.get(&app.role(Role::Auditor), "/v1/ledger/keys").await;
    Verifier::from_key_string(keys["log"].as_str().expect("log key")).expect("log key")
}

async fn register(app: &TestApp, name: &str, key: &str) -> (u16, Value) {
    app.post(
        &app.role(Role::PartnershipAdmin),
        "/v1/admin/witnesses",
        json!({"name": name, "key": key}),
    )
    .await
}

async fn witnessed(app: &TestApp) -> (u16, Value) {
    app.get(
        &app.agency("kingston-council"),
        "/v1/ledger/checkpoint/witnessed",
    )
    .await
}

fn config(app: &TestApp, dir: &Path, name: &str, log_key: Option<String>) -> RunConfig {
    RunConfig {
        url: app.base.clone(),
        key_file: dir.join(format!("{name}.key")),
        state_file: dir.join(format!("{name}.state")),
        token: app.partner(Role::StatutoryPartner, Partner::La),
        log_key,
    }
}

async fn cosign_line(app: &TestApp, size: i64, line: &str) -> (u16, Value) {
    app.post(
        &app.role(Role::Scrutineer),
        "/v1/ledger/cosignatures",
        json!({"size": size, "cosignature": line}),
    )
    .await
}

fn open(note_text: &str, log: &Verifier, keys: &[String]) -> checkpoint::VerifiedCheckpoint {
    let ws: Vec<CosignatureVerifier> = keys
        .iter()
        .map(|k| CosignatureVerifier::from_key_string(k).expect("vkey"))
        .collect();
    checkpoint::open_checkpoint(note_text, std::slice::from_ref(log), &ws).expect("opens")
}

/// Four witnesses registered, three cosign: quorum met; the ledger grows and
/// all four cosign the new size after checking consistency; bad lines refused.
async fn witnesses_cosign_checkpoints(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let mut vkeys = Vec::new();
    for name in NAMES {
        let vkey =
            witness::generate_key(name, &dir.path().join(format!("{name}.key")), false).unwrap();
        let (s, v) = register(&app, name, &vkey).await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(
            (v["name"].as_str(), v["key"].as_str()),
            (Some(name), Some(vkey.as_str()))
        );
        vkeys.push(vkey);
    }
    // Refusals: not the admin, a duplicate, a bad key, a key named otherwise.
    let other = Cosigner::generate("la").unwrap().verifier_key();
    for tok in [app.agency("kingston-council"), app.role(Role::Auditor)] {
        let (s, v) = app
            .post(
                &tok,
                "/v1/admin/witnesses",
                json!({"name": "x", "key": other}),
            )
            .await;
        assert_eq!(s, 403, "{v}");
    }
    assert_eq!(register(&app, "la", &other).await.0, 409);
    assert_eq!(register(&app, "la", &vkeys[0]).await.0, 409);
    assert_eq!(register(&app, "nobody", "nonsense").await.0, 422);
    assert_eq!(register(&app, "nobody", &other).await.0, 422);
    let note_key = Signer::generate("nobody").unwrap().verifier_key();
    assert_eq!(
        register(&app, "nobody", &note_key).await.0,
        422,
        "a note key is not a cosignature key"
    );

    let (s, list) = app
        .get(&app.agency("cafcass"), "/v1/ledger/witnesses")
        .await;
    assert_eq!(s, 200, "{list}");
    let listed: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["icb", "la", "police", "scrutineer"]);
    assert_eq!(
        app.size().await,
        6,
        "the registry, the policy and four registrations"
    );

    assert_eq!(witnessed(&app).await.0, 404, "nothing signed yet");
    let log = log_verifier(&app).await;
    let first_note = checkpoint_note(&app).await;
    let (s, w) = witnessed(&app).await;
    assert_eq!(s, 200, "{w}");
    assert_eq!(
        w,
        json!({"size": 6, "cosigned_by": [], "quorum": 3, "fully_witnessed": false})
    );

    // Three witnesses run: one pins the log key, the others trust on first use.
    for (i, name) in NAMES[..3].iter().enumerate() {
        let pin = (i == 0).then(|| log.key_string());
        let r = witness::run(&config(&app, dir.path(), name, pin))
            .await
            .expect("cosigns");
        assert_eq!((r.size, r.previous), (6, 0));
        assert!(r.line.is_some());
        if i == 1 {
            assert_eq!(witnessed(&app).await.1["fully_witnessed"], false);
        }
    }
    let (_, w) = witnessed(&app).await;
    assert_eq!(
        w,
        json!({"size": 6, "cosigned_by": ["icb", "la", "police"], "quorum": 3, "fully_witnessed": true})
    );
    let opened = open(&checkpoint_note(&app).await, &log, &vkeys);
    assert_eq!(opened.checkpoint.size(), 6);
    let mut by: Vec<&str> = opened.cosignatures.iter().map(|c| c.name()).collect();
    by.sort();
    assert_eq!(by, ["icb", "la", "police"]);

    // An exported bundle carries the cosigned checkpoint and the witness keys;
    // the offline audit verifies the cosignatures with keys the auditor pins.
    {
        use escalation_ledger::service::bundle::{self, AuditOptions, Outcome, Payloads};
        let mut conn = app.conn();
        let mut out = Vec::new();
        let header = bundle::export(&mut conn, &app.log, Payloads::Included, &mut out).unwrap();
        drop(conn);
        assert_eq!(header.witness_keys.len(), 4);
        let text = String::from_utf8(out).unwrap();
        let report = bundle::audit_lines(
            text.lines().map(|l| Ok(l.to_string())),
            AuditOptions {
                log_key: Some(log.key_string()),
                witness_keys: vkeys.clone(),
                trusted_checkpoint: None,
            },
            |_, _| {},
        );
        assert_eq!(report.outcome, Outcome::Intact, "{:?}", report.problem);
        let mut verified = report.witnesses_verified.clone();
        verified.sort();
        assert_eq!(verified.len(), 3, "{verified:?}");
        assert_eq!(
            report.witnesses_missing.len(),
            1,
            "the scrutineer has not cosigned yet"
        );
    }

    // Nothing new: no second cosignature for the same size.
    let again = witness::run(&config(&app, dir.path(), "la", None))
        .await
        .unwrap();
    assert_eq!((again.size, again.line), (6, None));

    // Posting the same line is idempotent; another line for the same size is not.
    let la = Cosigner::from_key_string(
        std::fs::read_to_string(dir.path().join("la.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let stored = opened
        .cosignatures
        .iter()
        .find(|c| c.name() == "la")
        .unwrap()
        .to_line();
    let (s, v) = cosign_line(&app, 6, &stored).await;
    assert_eq!(s, 200, "{v}");
    let cp5 = Checkpoint::parse(
        &note::open_note(&first_note, std::slice::from_ref(&log))
            .unwrap()
            .text,
    )
    .unwrap();
    let later = la.cosign(&cp5, 1_900_000_000).unwrap().to_line();
    assert_eq!(cosign_line(&app, 6, &later).await.0, 409);

    // The ledger grows; every witness proves consistency from its saved state.
    app.raise(&["kingston-council", "cafcass"], false).await;
    app.raise(&["richmond-council", "kingston-hospital"], false)
        .await;
    for name in NAMES {
        let r = witness::run(&config(&app, dir.path(), name, None))
            .await
            .expect("cosigns again");
        assert_eq!(r.size, 8);
        assert_eq!(r.previous, if name == "scrutineer" { 0 } else { 6 });
        let st: WitnessState = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(format!("{name}.state"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (st.size, st.log_key.as_str()),
            (8, log.key_string().as_str())
        );
    }
    let (_, w) = witnessed(&app).await;
    assert_eq!(
        w["cosigned_by"],
        json!(["icb", "la", "police", "scrutineer"])
    );
    assert_eq!(w["fully_witnessed"], true);
    let now = checkpoint_note(&app).await;
    assert_eq!(open(&now, &log, &vkeys).cosignatures.len(), 4);
    let cp7 = open(&now, &log, &vkeys).checkpoint;

    // Refused: an unregistered witness, a registered name with another key,
    // a line over another checkpoint, no checkpoint of that size, not a line.
    let mallory = Cosigner::generate("mallory").unwrap();
    let (s, v) = cosign_line(&app, 8, &mallory.cosign(&cp7, 1).unwrap().to_line()).await;
    assert_eq!(s, 422, "{v}");
    let fake_la = Cosigner::generate("la").unwrap();
    assert_eq!(
        cosign_line(&app, 8, &fake_la.cosign(&cp7, 1).unwrap().to_line())
            .await
            .0,
        422
    );
    let (s, v) = cosign_line(&app, 8, &la.cosign(&cp5, 2).unwrap().to_line()).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(
        cosign_line(&app, 7, &la.cosign(&cp7, 2).unwrap().to_line())
            .await
            .0,
        404
    );
    assert_eq!(cosign_line(&app, 7, "not a line").await.0, 422);
    let (s, v) = app
        .post(
            &app.role(Role::Auditor),
            "/v1/ledger/cosignatures",
            json!({"size": 8}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        witnessed(&app).await.1["cosigned_by"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    let r = app.verify();
    assert!(r.ok, "{r:?}");
    // A witness row the ledger never registered is caught.
    let sql = "INSERT INTO witnesses (name, key, registered_seq) VALUES ('ghost', 'ghost+00000000+AAAA', 0)";
    app.sql(sql, sql).unwrap();
    let r = app.verify();
    assert!(!r.ok);
    assert!(
        r.problem.unwrap().contains("witnesses table"),
        "verify names the witnesses"
    );
}

/// A witness whose saved root disagrees with the log refuses to cosign.
async fn witness_refuses_a_rewritten_history(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let vkey = witness::generate_key("la", &dir.path().join("la.key"), false).unwrap();
    assert_eq!(register(&app, "la", &vkey).await.0, 201);
    let cfg = config(&app, dir.path(), "la", None);
    let first = witness::run(&cfg).await.expect("first run cosigns");
    assert_eq!(first.size, 3);

    // Rewrite the saved root: as if the log had shown another history at size 3.
    let mut st = witness::load_state(&cfg.state_file).unwrap().unwrap();
    st.root = Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into());
    witness::save_state(&cfg.state_file, &st).unwrap();
    let err = witness::run(&cfg).await.expect_err("same size, other root");
    assert!(matches!(err, WitnessError::Inconsistent(_)), "{err}");

    app.raise(&["kingston-council", "cafcass"], false).await;
    let err = witness::run(&cfg).await.expect_err("not consistent");
    assert!(
        matches!(&err, WitnessError::Inconsistent(m) if m.contains("not consistent")),
        "{err}"
    );
    let (_, w) = witnessed(&app).await;
    assert_eq!(
        (w["size"].as_i64(), w["cosigned_by"].clone()),
        (Some(4), json!([])),
        "nothing cosigned"
    );
    assert_eq!(
        witness::load_state(&cfg.state_file).unwrap().unwrap(),
        st,
        "state untouched"
    );

    // A state pinned to another log key: the checkpoint does not open.
    let other = Signer::generate("test.krscp/escalation-ledger")
        .unwrap()
        .verifier_key();
    let mut cfg2 = config(&app, dir.path(), "la", Some(other));
    cfg2.state_file = dir.path().join("other.state");
    let err = witness::run(&cfg2).await.expect_err("wrong log key");
    assert!(matches!(err, WitnessError::Inconsistent(_)), "{err}");
    assert!(!cfg2.state_file.exists());
    assert!(app.verify().ok);
}

fn run_bin(args: &[&str], token: &str) -> std::process::Output {
    Command::new(BIN)
        .arg("witness")
        .args(args)
        .env("WITNESS_TOKEN", token)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the binary")
}

/// `witness --generate-key`, registration, then `witness` against the server.
async fn witness_binary_end_to_end(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("police.key");
    let state = dir.path().join("police.state");
    let k = key.to_str().unwrap().to_string();
    let out = actix_web::rt::task::spawn_blocking(move || {
        run_bin(&["--generate-key", "police", "--key-file", &k], "")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let vkey = String::from_utf8(out.stdout).unwrap().trim().to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (s, v) = register(&app, "police", &vkey).await;
    assert_eq!(s, 201, "{v}");

    let token = app.partner(Role::StatutoryPartner, Partner::Police);
    let args: Vec<String> = [
        "--url",
        &app.base,
        "--key-file",
        key.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let run = |args: Vec<String>, token: String| async move {
        actix_web::rt::task::spawn_blocking(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            run_bin(&a, &token)
        })
        .await
        .unwrap()
    };
    let out = run(args.clone(), token.clone()).await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("cosigned the checkpoint of size 3"),
        "{stdout}"
    );
    assert!(stderr.contains("trust on first use"), "{stderr}");
    let (_, w) = witnessed(&app).await;
    assert_eq!(w["cosigned_by"], json!(["police"]));

    // A tampered state: exit 1, nothing cosigned.
    app.raise(&["kingston-council", "cafcass"], false).await;
    let mut st = witness::load_state(&state).unwrap().unwrap();
    st.root = Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into());
    witness::save_state(&state, &st).unwrap();
    let out = run(args, token).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to cosign"));
    let (_, w) = witnessed(&app).await;
    assert_eq!(w["cosigned_by"], json!([]));
}

both_backends!(
    witnesses_cosign_checkpoints,
    witness_refuses_a_rewritten_history,
    witness_binary_end_to_end,
);
