use escalation_ledger::core::ladder::Role;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

/// A small history: registry (0), policy (1), raised (2), proposal (3), escalated (4), raised (5).
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
    assert_eq!(s, 201);
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
    assert!(r.ok && r.size == 6, "{r:?}");
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
        "UPDATE ledger_entries SET event = 'resolved' WHERE seq = 2",
        "DELETE FROM ledger_entries WHERE seq = 5",
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
        r#"UPDATE ledger_payloads SET payload = '{"resolution":"something else"}' WHERE seq = 3"#;
    app.sql(sql, sql).unwrap();
    let r = app.verify();
    assert!(!r.ok);
    assert_eq!(r.first_bad_seq, Some(3));
    assert!(r.problem.unwrap().contains("payload"));
    let (code, out) = run_verify_cli(&app);
    assert_eq!(code, 1);
    assert!(out.contains("seq 3"), "{out}");
    let (s, v) = app.get(&app.role(Role::Auditor), "/v1/ledger/verify").await;
    assert_eq!(s, 200);
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_bad_seq"], 3);
}

async fn an_altered_hash_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    history(&app).await;
    app.sql(
        "DROP TRIGGER ledger_entries_no_update; UPDATE ledger_entries SET prev_hash = zeroblob(32) WHERE seq = 4",
        "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_no_update; \
         UPDATE ledger_entries SET prev_hash = decode(repeat('00', 32), 'hex') WHERE seq = 4",
    )
    .unwrap();
    let r = app.verify();
    assert_eq!((r.ok, r.first_bad_seq), (false, Some(4)), "{r:?}");
    assert!(r.problem.unwrap().contains("prev_hash"));
}

async fn a_rewritten_entry_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    history(&app).await;
    // Change what happened but keep the stored hashes: the recomputed hash differs.
    app.sql(
        "DROP TRIGGER ledger_entries_no_update; UPDATE ledger_entries SET actor_sub = 'someone-else' WHERE seq = 2",
        "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_no_update; \
         UPDATE ledger_entries SET actor_sub = 'someone-else' WHERE seq = 2",
    )
    .unwrap();
    let r = app.verify();
    assert_eq!((r.ok, r.first_bad_seq), (false, Some(2)), "{r:?}");
    assert!(r.problem.unwrap().contains("entry_hash"));
}

async fn a_deleted_entry_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    history(&app).await;
    app.sql(
        "DROP TRIGGER ledger_entries_no_delete; DELETE FROM ledger_payloads WHERE seq = 4; \
         DELETE FROM ledger_entries WHERE seq = 4",
        "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_no_update; \
         DELETE FROM ledger_payloads WHERE seq = 4; DELETE FROM ledger_entries WHERE seq = 4",
    )
    .unwrap();
    let r = app.verify();
    assert_eq!((r.ok, r.first_bad_seq), (false, Some(4)), "{r:?}");
    assert!(r.problem.unwrap().contains("missing"));
    let (code, out) = run_verify_cli(&app);
    assert_eq!(code, 1);
    assert!(out.contains("seq 4"), "{out}");
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

/// Deadlines count from `disputes.rung_entered_at`: moving it would move a
/// deadline, so `verify` holds it to the time of the entry that put the
/// dispute on its rung.
async fn an_edited_rung_entered_at_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = history(&app).await;
    let tok = app.agency("kingston-council");
    let due = |v: serde_json::Value| v["due_at"].as_str().map(str::to_string);
    let (s, view) = app.get(&tok, &format!("/v1/disputes/{id}")).await;
    assert_eq!(s, 200, "{view}");
    let before = due(view);
    assert!(before.is_some(), "the slg rung has a target");
    let sql =
        format!("UPDATE disputes SET rung_entered_at = '2026-01-05 09:00:00' WHERE id = '{id}'");
    app.sql(&sql, &sql).unwrap();
    let after = due(app.get(&tok, &format!("/v1/disputes/{id}")).await.1);
    assert_eq!(after.as_deref(), Some("2026-01-12T17:00:00Z"));
    assert_ne!(before, after, "the edit moved the deadline");
    let r = app.verify();
    assert!(!r.ok);
    assert_eq!(r.first_bad_seq, None);
    assert_eq!(r.mismatched_dispute.as_deref(), Some(id.as_str()), "{r:?}");
    let problem = r.problem.unwrap();
    assert!(
        problem.contains("rung_entered_at 2026-01-05T09:00:00.000000Z in the tables")
            && problem.contains("(seq 4)"),
        "{problem}"
    );
    let (code, out) = run_verify_cli(&app);
    assert_eq!(code, 1);
    assert!(
        out.contains(&id) && out.contains("rung_entered_at"),
        "{out}"
    );

    // Restarting the clock from the raise instead of the escalation is caught too.
    let app = TestApp::spawn(backend).await;
    let id = history(&app).await;
    let sql = format!("UPDATE disputes SET rung_entered_at = opened_at WHERE id = '{id}'");
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
    an_edited_rung_entered_at_is_named,
);

/// Disable the append-only triggers of the ledger and its tree (an operator with
/// full control of the database).
fn unlock(app: &TestApp) {
    app.sql(
        "DROP TRIGGER ledger_entries_no_update; DROP TRIGGER ledger_entries_no_delete; \
         DROP TRIGGER merkle_nodes_no_update; DROP TRIGGER merkle_nodes_no_delete;",
        "ALTER TABLE ledger_entries DISABLE TRIGGER USER; ALTER TABLE merkle_nodes DISABLE TRIGGER USER;",
    )
    .unwrap();
}

async fn an_inserted_entry_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    history(&app).await;
    unlock(&app);
    // A forged entry 6, correctly chained after 5, written straight into the
    // table: the chain holds, but the tree never took it in.
    let mut conn = app.conn();
    let head = escalation_ledger::store::ledger::entries(&mut conn, None, 5, 1)
        .unwrap()
        .remove(0)
        .entry;
    let forged = escalation_ledger::core::ledger::seal(
        escalation_ledger::core::ledger::NewEntry {
            dispute_id: None,
            event: "registry_seeded".into(),
            actor: head.actor.clone(),
            facts: json!({"agencies": []}),
            payload: json!({}),
        },
        Some((5, head.entry_hash)),
        head.recorded_at,
    )
    .unwrap();
    {
        use diesel::prelude::*;
        use escalation_ledger::store::schema::{ledger_entries as le, ledger_payloads as lp};
        let e = &forged.entry;
        diesel::insert_into(le::table)
            .values((
                le::seq.eq(e.seq),
                le::recorded_at.eq(e.recorded_at),
                le::dispute_id.eq(e.dispute_id.clone()),
                le::event.eq(e.event.clone()),
                le::actor_sub.eq(e.actor.sub.clone()),
                le::actor_role.eq(e.actor.role.as_str()),
                le::actor_agency.eq(e.actor.agency.clone()),
                le::actor_partner.eq(e.actor.partner.map(|p| p.as_str())),
                le::facts.eq(escalation_ledger::core::ledger::canonical_json(&e.facts).unwrap()),
                le::payload_hash.eq(e.payload_hash.to_vec()),
                le::prev_hash.eq(e.prev_hash.to_vec()),
                le::entry_hash.eq(e.entry_hash.to_vec()),
            ))
            .execute(&mut *conn)
            .unwrap();
        diesel::insert_into(lp::table)
            .values((
                lp::seq.eq(6i64),
                lp::payload.eq(Some(forged.payload.clone())),
            ))
            .execute(&mut *conn)
            .unwrap();
    }
    drop(conn);
    let r = app.verify();
    assert_eq!((r.ok, r.first_bad_seq), (false, Some(6)), "{r:?}");
    assert_eq!(
        r.problem.as_deref(),
        Some("the entry is not in the Merkle tree")
    );
}

async fn reordered_entries_are_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    history(&app).await;
    unlock(&app);
    // Swap what entries 3 and 4 say, keeping their seq and stored hashes.
    let swap = "UPDATE ledger_entries SET event = CASE seq WHEN 3 THEN 'escalated' ELSE 'proposal_made' END \
                WHERE seq IN (3, 4)";
    app.sql(swap, swap).unwrap();
    let r = app.verify();
    assert_eq!((r.ok, r.first_bad_seq), (false, Some(3)), "{r:?}");
}

/// An operator rewrites history and recomputes every hash and the whole tree:
/// the chain and the tree are self-consistent again, but the checkpoint signed
/// before the rewrite no longer matches, and verify says so.
async fn a_rewritten_history_is_caught_by_an_earlier_checkpoint(backend: Backend) {
    use diesel::prelude::*;
    use escalation_ledger::core::ledger::{self, canonical_json, sha256};
    use escalation_ledger::store::db::write_tx;
    use escalation_ledger::store::schema::{ledger_entries as le, ledger_payloads as lp};

    let app = TestApp::spawn(backend).await;
    history(&app).await;
    let (s, _) = app
        .get(&app.role(Role::Auditor), "/v1/ledger/checkpoint")
        .await;
    assert_eq!(s, 200);
    unlock(&app);
    app.sql("DELETE FROM merkle_nodes", "DELETE FROM merkle_nodes")
        .unwrap();

    let mut conn = app.conn();
    let stored = escalation_ledger::store::ledger::entries(&mut conn, None, 0, 100).unwrap();
    let forged_payload = canonical_json(&json!({"resolution": "a different story"})).unwrap();
    let mut prev = ledger::ZERO_HASH;
    for s in stored {
        let mut e = s.entry;
        if e.seq == 3 {
            e.payload_hash = sha256(forged_payload.as_bytes());
            diesel::update(lp::table.find(3i64))
                .set(lp::payload.eq(Some(forged_payload.clone())))
                .execute(&mut *conn)
                .unwrap();
        }
        e.prev_hash = prev;
        e.entry_hash = e.compute_hash().unwrap();
        diesel::update(le::table.find(e.seq))
            .set((
                le::payload_hash.eq(e.payload_hash.to_vec()),
                le::prev_hash.eq(e.prev_hash.to_vec()),
                le::entry_hash.eq(e.entry_hash.to_vec()),
            ))
            .execute(&mut *conn)
            .unwrap();
        prev = e.entry_hash;
    }
    write_tx(&mut conn, escalation_ledger::store::tree::catch_up).unwrap();
    drop(conn);

    let r = app.verify();
    assert!(!r.ok);
    assert_eq!(
        r.first_bad_seq, None,
        "the chain itself is consistent again"
    );
    assert_eq!(r.bad_checkpoint, Some(6), "{r:?}");
    // And the log refuses to sign the rewritten tree.
    let (s, _) = app
        .get(&app.role(Role::Auditor), "/v1/ledger/checkpoint")
        .await;
    assert_eq!(s, 409);
}

both_backends!(
    an_inserted_entry_is_named,
    reordered_entries_are_named,
    a_rewritten_history_is_caught_by_an_earlier_checkpoint,
);
