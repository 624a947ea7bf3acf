use escalation_ledger::ladder::Role;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

/// A small history: registry (0), raised (1), proposal (2), escalated (3), raised (4).
async fn history(app: &TestApp) -> String {
    let id = app.raise(&["kingston-council", "cafcass"], false).await;
    let tok = app.agency("kingston-council");
    let (s, _) = app
        .post(
            &tok,
            &format!("/v1/disputes/{id}/proposals"),
            json!({"resolution": "r"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .post(
            &tok,
            &format!("/v1/disputes/{id}/escalate"),
            json!({"reason": "r"}),
        )
        .await;
    assert_eq!(s, 200);
    app.raise(&["richmond-council", "cafcass"], false).await;
    let r = app.verify();
    assert!(r.ok && r.size == 5, "{r:?}");
    id
}

fn run_verify_cli(app: &TestApp) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_escalation-ledger"))
        .args(["verify", "--database-url", &app.db.url])
        .output()
        .expect("run verify");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

async fn the_database_refuses_to_change_entries(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    history(&app).await;
    for sql in [
        "UPDATE ledger_entries SET event = 'resolved' WHERE seq = 1",
        "DELETE FROM ledger_entries WHERE seq = 4",
    ] {
        let err = app.sql(sql, sql).expect_err(sql);
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    if backend == Backend::Postgres {
        let err = app
            .sql("", "TRUNCATE ledger_entries CASCADE")
            .expect_err("truncate");
        assert!(err.contains("append-only"), "{err}");
    }
    assert!(app.verify().ok);
}

async fn an_altered_payload_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    history(&app).await;
    let sql =
        r#"UPDATE ledger_payloads SET payload = '{"resolution":"something else"}' WHERE seq = 2"#;
    app.sql(sql, sql).unwrap();
    let r = app.verify();
    assert!(!r.ok);
    assert_eq!(r.first_bad_seq, Some(2));
    assert!(r.problem.unwrap().contains("payload"));
    let (code, out) = run_verify_cli(&app);
    assert_eq!(code, 1);
    assert!(out.contains("seq 2"), "{out}");
    let (s, v) = app.get(&app.role(Role::Auditor), "/v1/ledger/verify").await;
    assert_eq!(s, 200);
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_bad_seq"], 2);
}

async fn an_altered_hash_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    history(&app).await;
    app.sql(
        "DROP TRIGGER ledger_entries_no_update; UPDATE ledger_entries SET prev_hash = zeroblob(32) WHERE seq = 3",
        "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_no_update; \
         UPDATE ledger_entries SET prev_hash = decode(repeat('00', 32), 'hex') WHERE seq = 3",
    )
    .unwrap();
    let r = app.verify();
    assert_eq!((r.ok, r.first_bad_seq), (false, Some(3)), "{r:?}");
    assert!(r.problem.unwrap().contains("prev_hash"));
}

async fn a_rewritten_entry_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    history(&app).await;
    // Change what happened but keep the stored hashes: the recomputed hash differs.
    app.sql(
        "DROP TRIGGER ledger_entries_no_update; UPDATE ledger_entries SET actor_sub = 'someone-else' WHERE seq = 1",
        "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_no_update; \
         UPDATE ledger_entries SET actor_sub = 'someone-else' WHERE seq = 1",
    )
    .unwrap();
    let r = app.verify();
    assert_eq!((r.ok, r.first_bad_seq), (false, Some(1)), "{r:?}");
    assert!(r.problem.unwrap().contains("entry_hash"));
}

async fn a_deleted_entry_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    history(&app).await;
    app.sql(
        "DROP TRIGGER ledger_entries_no_delete; DELETE FROM ledger_payloads WHERE seq = 3; \
         DELETE FROM ledger_entries WHERE seq = 3",
        "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_no_update; \
         DELETE FROM ledger_payloads WHERE seq = 3; DELETE FROM ledger_entries WHERE seq = 3",
    )
    .unwrap();
    let r = app.verify();
    assert_eq!((r.ok, r.first_bad_seq), (false, Some(3)), "{r:?}");
    assert!(r.problem.unwrap().contains("missing"));
    let (code, out) = run_verify_cli(&app);
    assert_eq!(code, 1);
    assert!(out.contains("seq 3"), "{out}");
}

async fn an_altered_dispute_row_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = history(&app).await;
    let sql = format!("UPDATE disputes SET rung = 'scrutineer' WHERE id = '{id}'");
    app.sql(&sql, &sql).unwrap();
    let r = app.verify();
    assert!(!r.ok);
    assert_eq!(r.first_bad_seq, None);
    assert_eq!(r.mismatched_dispute.as_deref(), Some(id.as_str()));
    assert!(r
        .problem
        .unwrap()
        .contains("rung slg in the ledger, scrutineer in the tables"));
    let (code, out) = run_verify_cli(&app);
    assert_eq!(code, 1);
    assert!(out.contains(&id), "{out}");

    // A projected acceptance that the ledger never recorded is caught too.
    let app = TestApp::spawn(backend).await;
    let id = history(&app).await;
    let sql = format!(
        "INSERT INTO proposal_acceptances (proposal_id, acceptor, seq) \
         SELECT id, 'agency:cafcass', seq FROM proposals WHERE dispute_id = '{id}'"
    );
    app.sql(&sql, &sql).unwrap();
    let r = app.verify();
    assert_eq!(r.mismatched_dispute.as_deref(), Some(id.as_str()), "{r:?}");
}

both_backends!(
    the_database_refuses_to_change_entries,
    an_altered_payload_is_named,
    an_altered_hash_is_named,
    a_rewritten_entry_is_named,
    a_deleted_entry_is_named,
    an_altered_dispute_row_is_named,
);
