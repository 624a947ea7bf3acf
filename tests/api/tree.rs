//! The Merkle tree over the ledger: proofs checked against signed checkpoints.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use escalation_ledger::core::checkpoint::{self, Checkpoint};
use escalation_ledger::core::ladder::Role;
use escalation_ledger::core::ledger::Hash;
use escalation_ledger::core::merkle;
use escalation_ledger::core::note::Verifier;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

fn hash_b64(v: &Value) -> Hash {
    let bytes = B64
        .decode(v.as_str().expect("a base64 string"))
        .expect("base64");
    bytes.try_into().expect("32 bytes")
}

fn proof(v: &Value) -> Vec<Hash> {
    v["proof"]
        .as_array()
        .expect("proof")
        .iter()
        .map(hash_b64)
        .collect()
}

async fn text(app: &TestApp, path: &str) -> (u16, String) {
    app.get_text(&app.role(Role::Auditor), path).await
}

/// Fetch and check a signed checkpoint with the published log key.
async fn checkpoint(app: &TestApp) -> Checkpoint {
    let (_, keys) = app.get(&app.role(Role::Auditor), "/v1/ledger/keys").await;
    let log = Verifier::from_key_string(keys["log"].as_str().unwrap()).expect("log key");
    let (s, body) = text(app, "/v1/ledger/checkpoint").await;
    assert_eq!(s, 200, "{body}");
    let opened =
        checkpoint::open_checkpoint(&body, &[log], &[]).expect("a valid signed checkpoint");
    assert_eq!(opened.checkpoint.origin(), keys["origin"].as_str().unwrap());
    opened.checkpoint
}

async fn grow(app: &TestApp, n: usize) {
    for i in 0..n {
        let parties = [
            ["kingston-council", "cafcass"],
            ["richmond-council", "kingston-hospital"],
        ][i % 2];
        app.raise(&parties, false).await;
    }
}

/// Every entry's inclusion proof and the consistency proof between two signed
/// checkpoints verify with the pure verifiers, as an auditor would check them.
async fn proofs_verify_against_signed_checkpoints(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    grow(&app, 5).await;
    let first = checkpoint(&app).await;
    assert_eq!(
        first.size(),
        7,
        "the registry and policy entries and five disputes"
    );
    assert_eq!(
        checkpoint(&app).await.root_hash(),
        first.root_hash(),
        "no growth, same checkpoint"
    );
    grow(&app, 7).await;
    let second = checkpoint(&app).await;
    assert_eq!(second.size(), 14);

    let (s, c) = app
        .get(
            &app.role(Role::Auditor),
            &format!(
                "/v1/ledger/proofs/consistency?from={}&to={}",
                first.size(),
                second.size()
            ),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    merkle::verify_consistency(
        first.size(),
        second.size(),
        &proof(&c),
        first.root_hash(),
        second.root_hash(),
    )
    .expect("the second checkpoint extends the first");

    let (s, entries) = app
        .get(&app.role(Role::Auditor), "/v1/ledger/entries?limit=100")
        .await;
    assert_eq!(s, 200, "{entries}");
    let entries = entries["items"].clone();
    assert_eq!(
        entries.as_array().unwrap().len() as u64,
        second.size(),
        "a proof checked for every entry: {entries}"
    );
    for e in entries.as_array().unwrap() {
        let seq = e["seq"].as_u64().unwrap();
        let (s, p) = app
            .get(
                &app.role(Role::Auditor),
                &format!(
                    "/v1/ledger/proofs/inclusion?seq={seq}&size={}",
                    second.size()
                ),
            )
            .await;
        assert_eq!(s, 200, "{p}");
        let leaf: Hash = hex::decode(e["entry_hash"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(hash_b64(&p["leaf_hash"]), leaf);
        merkle::verify_inclusion(&leaf, seq, second.size(), &proof(&p), second.root_hash())
            .unwrap_or_else(|err| panic!("entry {seq}: {err}"));
        assert!(p["node_reads"].as_u64().unwrap() <= 2 * 4, "O(log n) reads");
    }
    // Without a size, a proof covers the whole ledger.
    let (_, p) = app
        .get(
            &app.role(Role::Auditor),
            "/v1/ledger/proofs/inclusion?seq=3",
        )
        .await;
    assert_eq!(p["size"], 14);
}

async fn bad_proof_requests_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    grow(&app, 2).await;
    let tok = app.role(Role::Auditor);
    for q in [
        "inclusion?seq=4",
        "inclusion?seq=0&size=5",
        "inclusion?seq=-1",
        "inclusion?seq=2&size=0",
        "inclusion",
        "inclusion?seq=x",
        "consistency?from=0&to=3",
        "consistency?from=4&to=3",
        "consistency?from=2&to=9",
    ] {
        let (s, v) = app.get(&tok, &format!("/v1/ledger/proofs/{q}")).await;
        assert_eq!(s, 400, "{q}: {v}");
    }
}

/// Once a checkpoint is signed, a tree that no longer produces its root gets no
/// new signature: the log never signs two inconsistent checkpoints.
async fn never_signs_an_inconsistent_checkpoint(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    grow(&app, 3).await;
    let signed = checkpoint(&app).await;
    app.sql(
        // The perfect subtree over leaves 0..4 is what every root from size 4 on reads.
        "DROP TRIGGER merkle_nodes_no_update; UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 0",
        "ALTER TABLE merkle_nodes DISABLE TRIGGER merkle_nodes_no_update; \
         UPDATE merkle_nodes SET hash = decode(repeat('00', 32), 'hex') WHERE level = 2 AND idx = 0",
    )
    .unwrap();
    grow(&app, 1).await;
    let (s, body) = text(&app, "/v1/ledger/checkpoint").await;
    assert_eq!(s, 409, "{body}");
    assert!(body.contains("refusing to sign"), "{body}");
    let sql =
        "INSERT INTO bench_inserts (id, note) SELECT COUNT(*), 'checkpoints' FROM checkpoints";
    app.sql(sql, sql).unwrap();
    let mut conn = app.conn();
    use diesel::prelude::*;
    let n: i64 = escalation_ledger::store::schema::bench_inserts::table
        .select(escalation_ledger::store::schema::bench_inserts::id)
        .first(&mut *conn)
        .unwrap();
    assert_eq!(n, 1, "still only the checkpoint of size {}", signed.size());
    let r = app.verify();
    assert!(!r.ok);
    assert!(
        r.problem.unwrap().contains("stored Merkle tree"),
        "verify names the tree"
    );
}

/// verify recomputes the tree from the entries and checks every signed checkpoint.
async fn verify_checks_signed_checkpoints(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    grow(&app, 2).await;
    let first = checkpoint(&app).await;
    grow(&app, 2).await;
    checkpoint(&app).await;
    let r = app.verify();
    assert!(r.ok, "{r:?}");
    let size = first.size();
    app.sql(
        &format!("DROP TRIGGER checkpoints_no_update; UPDATE checkpoints SET root = zeroblob(32) WHERE size = {size}"),
        &format!(
            "ALTER TABLE checkpoints DISABLE TRIGGER checkpoints_no_update; \
             UPDATE checkpoints SET root = decode(repeat('00', 32), 'hex') WHERE size = {size}"
        ),
    )
    .unwrap();
    let r = app.verify();
    assert_eq!(
        (r.ok, r.bad_checkpoint),
        (false, Some(size as i64)),
        "{r:?}"
    );
}

both_backends!(
    proofs_verify_against_signed_checkpoints,
    bad_proof_requests_are_refused,
    never_signs_an_inconsistent_checkpoint,
    verify_checks_signed_checkpoints,
);

/// An implementation that is not ours (Python, from the RFC and C2SP texts, with
/// the `cryptography` package's Ed25519) accepts our checkpoint and proofs.
async fn an_independent_implementation_accepts_checkpoint_and_proofs(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    grow(&app, 11).await;
    let out = app
        .python("check_checkpoint.py", app.role(Role::Auditor))
        .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("independent check ok: size 13"), "{stdout}");
}

/// The independent checker is seen to fail: on a stored tree node corrupted
/// before any checkpoint was signed (the log signs the corrupted root, which
/// the entries do not give), and on a log key other than the one pinned.
async fn the_independent_checker_rejects_a_bad_tree_and_a_wrong_key(backend: Backend) {
    use crate::helpers::python_run;
    use escalation_ledger::core::note::Signer;
    let run = |app: &TestApp, pinned: Option<String>| {
        let mut env = vec![("LEDGER_TOKEN".to_string(), app.role(Role::Auditor))];
        env.extend(pinned.map(|k| ("LEDGER_LOG_KEY".to_string(), k)));
        python_run("check_checkpoint.py", vec![app.base.clone()], env)
    };
    let say = |out: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };

    let app = TestApp::spawn(backend).await;
    grow(&app, 3).await;
    // Pinned to the log's own key, the check passes: the key is what fails below.
    let own = app.log.verifier_key();
    let out = run(&app, Some(own)).await;
    assert!(out.status.success(), "{}", say(&out));
    let other = Signer::generate(crate::helpers::ORIGIN)
        .expect("key")
        .verifier_key();
    let out = run(&app, Some(other)).await;
    assert_eq!(out.status.code(), Some(1), "{}", say(&out));
    assert!(
        say(&out).contains("check failed: no signature by the log key"),
        "{}",
        say(&out)
    );

    // Size 5: its root reads the stored perfect subtree over leaves 0..4.
    let app = TestApp::spawn(backend).await;
    grow(&app, 3).await;
    app.sql(
        "DROP TRIGGER merkle_nodes_no_update; UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 2 AND idx = 0",
        "ALTER TABLE merkle_nodes DISABLE TRIGGER merkle_nodes_no_update; \
         UPDATE merkle_nodes SET hash = decode(repeat('00', 32), 'hex') WHERE level = 2 AND idx = 0",
    )
    .unwrap();
    let out = run(&app, None).await;
    assert_eq!(out.status.code(), Some(1), "{}", say(&out));
    assert!(
        say(&out).contains("check failed: the recomputed root differs from the signed checkpoint"),
        "{}",
        say(&out)
    );
}

both_backends!(
    an_independent_implementation_accepts_checkpoint_and_proofs,
    the_independent_checker_rejects_a_bad_tree_and_a_wrong_key,
);
