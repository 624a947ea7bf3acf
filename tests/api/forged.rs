//! Invariants broken on purpose. Each test forges what the service would
//! never write (an entry appended through the real `append`, so it is chained
//! and in the Merkle tree, but never checked by the ladder or projected), or
//! makes a statement fail half-way through an action, and asserts that
//! `verify` names the first bad `seq` and the reason, or that nothing of the
//! action was kept.

use diesel::prelude::*;
use escalation_ledger::core::checkpoint::{Checkpoint, Cosigner};
use escalation_ledger::core::ladder::{Actor, Role, AUTO_ESCALATE_RULE};
use escalation_ledger::core::ledger::NewEntry;
use escalation_ledger::core::note::{self, Verifier};
use escalation_ledger::service::deadline::sweeper_actor;
use escalation_ledger::store::db::write_tx;
use escalation_ledger::store::error::StoreError;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

fn person(sub: &str, role: Role, agency: Option<&str>) -> Actor {
    Actor {
        sub: sub.into(),
        role,
        agency: agency.map(str::to_string),
        partner: None,
    }
}

/// Append an entry the service would never write, through the real append:
/// chained after the head and added to the tree, with no ladder check, no
/// projection and no notification. Returns its `seq`.
fn forge(app: &TestApp, dispute: Option<&str>, actor: Actor, event: &str, facts: Value) -> i64 {
    let mut conn = app.conn();
    write_tx(&mut conn, |c| -> Result<_, StoreError> {
        escalation_ledger::store::ledger::append(
            c,
            NewEntry {
                dispute_id: dispute.map(str::to_string),
                event: event.into(),
                actor,
                facts,
                payload: json!({}),
            },
        )
    })
    .expect("forge an entry")
    .seq
}

/// `verify` fails, naming `seq` as the first bad entry, for `why`.
fn refused_at(app: &TestApp, seq: i64, why: &str) {
    let r = app.verify();
    assert_eq!((r.ok, r.first_bad_seq), (false, Some(seq)), "{r:?}");
    let problem = r.problem.clone().unwrap_or_default();
    assert!(problem.contains(why), "expected '{why}': {r:?}");
    // Only the entries before the bad one were counted as good.
    assert_eq!(r.size, seq, "{r:?}");
}

/// A dispute on the `agencies` rung, verified clean before any forging.
async fn clean_dispute(app: &TestApp) -> String {
    let id = app.raise(&["kingston-council", "cafcass"], false).await;
    let r = app.verify();
    assert!(r.ok && r.size == 3, "{r:?}");
    id
}

const DUE: &str = "2026-01-12T17:00:00Z";

/// The sweeper's automatic escalation is only legitimate after the missed
/// deadline of the rung it leaves.
async fn an_automatic_escalation_without_a_missed_deadline_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = clean_dispute(&app).await;
    let seq = forge(
        &app,
        Some(&id),
        sweeper_actor(),
        "escalated",
        json!({"from": "agencies", "to": "slg", "rule": AUTO_ESCALATE_RULE}),
    );
    assert_eq!(seq, 3);
    refused_at(
        &app,
        3,
        "automatic escalation from agencies without a missed deadline there",
    );

    // With the missed deadline recorded first, the replay accepts the same
    // escalation: what is left is only the (unprojected) tables' mismatch.
    let app = TestApp::spawn(backend).await;
    let id = clean_dispute(&app).await;
    forge(
        &app,
        Some(&id),
        sweeper_actor(),
        "deadline_missed",
        json!({"rung": "agencies", "due_at": DUE}),
    );
    forge(
        &app,
        Some(&id),
        sweeper_actor(),
        "escalated",
        json!({"from": "agencies", "to": "slg", "rule": AUTO_ESCALATE_RULE}),
    );
    let r = app.verify();
    assert_eq!(
        (r.ok, r.first_bad_seq, r.mismatched_dispute.as_deref()),
        (false, None, Some(id.as_str())),
        "{r:?}"
    );
}

async fn a_second_deadline_missed_on_a_rung_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = clean_dispute(&app).await;
    let missed = json!({"rung": "agencies", "due_at": DUE});
    assert_eq!(
        forge(
            &app,
            Some(&id),
            sweeper_actor(),
            "deadline_missed",
            missed.clone()
        ),
        3
    );
    assert_eq!(
        forge(&app, Some(&id), sweeper_actor(), "deadline_missed", missed),
        4
    );
    refused_at(&app, 4, "deadline on agencies recorded as missed twice");
}

async fn a_deadline_warned_of_twice_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = clean_dispute(&app).await;
    let warned = json!({"rung": "agencies", "due_at": DUE});
    assert_eq!(
        forge(
            &app,
            Some(&id),
            sweeper_actor(),
            "deadline_approaching",
            warned.clone()
        ),
        3
    );
    assert_eq!(
        forge(
            &app,
            Some(&id),
            sweeper_actor(),
            "deadline_approaching",
            warned
        ),
        4
    );
    refused_at(&app, 4, "deadline on agencies warned of twice");
}

/// `raised` under a shipped policy that was never activated (only
/// `krscp-2024-02` is in force on a fresh ledger).
async fn a_dispute_raised_under_a_policy_not_in_force_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    clean_dispute(&app).await;
    let seq = forge(
        &app,
        Some("00000000-0000-4000-8000-000000000001"),
        person(
            "user@kingston-council",
            Role::Agency,
            Some("kingston-council"),
        ),
        "raised",
        json!({"policy": "wt-2023", "rung": "agencies", "parties": ["kingston-council", "cafcass"],
               "urgent": false, "complex": false}),
    );
    assert_eq!(seq, 3);
    refused_at(
        &app,
        3,
        "dispute raised under policy wt-2023 while krscp-2024-02 was in force",
    );
}

/// A migration onto a policy never activated, and onto a rung the activated
/// policy does not have.
async fn a_migration_to_a_policy_never_activated_is_named(backend: Backend) {
    let admin = person("admin", Role::PartnershipAdmin, None);
    for (to, rung, why) in [
        (
            "wt-2023",
            "agencies",
            "migration to policy wt-2023, rung agencies, which no activated policy has",
        ),
        (
            "krscp-2024-02",
            "independent_scrutiny",
            "migration to policy krscp-2024-02, rung independent_scrutiny, which no activated policy has",
        ),
    ] {
        let app = TestApp::spawn(backend).await;
        let id = clean_dispute(&app).await;
        let seq = forge(
            &app,
            Some(&id),
            admin.clone(),
            "policy_migrated",
            json!({"from": "krscp-2024-02", "to": to, "rung": rung}),
        );
        assert_eq!(seq, 3);
        refused_at(&app, 3, why);
    }
}

/// A cosignature row written straight into the table (not through the
/// endpoint that checks it), under a registered witness's name but signed with
/// another key: `verify` names the witness and the size.
async fn a_stored_cosignature_that_does_not_verify_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    clean_dispute(&app).await;
    let la = Cosigner::generate("la").expect("key");
    let (s, v) = app
        .post(
            &app.role(Role::PartnershipAdmin),
            "/v1/admin/witnesses",
            json!({"name": "la", "key": la.verifier_key()}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let signed = app.checkpoint_note().await;
    let (_, keys) = app.get(&app.role(Role::Auditor), "/v1/ledger/keys").await;
    let log = Verifier::from_key_string(keys["log"].as_str().expect("log key")).expect("key");
    let checkpoint =
        Checkpoint::parse(&note::open_note(&signed, &[log]).expect("opens").text).expect("cp");
    assert_eq!(checkpoint.size(), 4);
    assert!(app.verify().ok);

    let impostor = Cosigner::generate("la").expect("key");
    let line = impostor.cosign(&checkpoint, 1_800_000_000).expect("cosign");
    {
        use escalation_ledger::store::schema::cosignatures as c;
        diesel::insert_into(c::table)
            .values((
                c::size.eq(4i64),
                c::witness.eq("la"),
                c::timestamp.eq(1_800_000_000i64),
                c::line.eq(line.to_line()),
            ))
            .execute(&mut *app.conn())
            .expect("insert");
    }
    let r = app.verify();
    assert!(!r.ok, "{r:?}");
    let problem = r.problem.clone().unwrap_or_default();
    assert!(
        problem.starts_with("the cosignature of la on size 4 does not verify"),
        "{r:?}"
    );
}

/// A person's escalation that skips a rung (invariant 6): `verify` names it,
/// even with the dispute's row edited to match.
async fn an_escalation_that_skips_a_rung_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = clean_dispute(&app).await;
    let seq = forge(
        &app,
        Some(&id),
        person("lead@kingston", Role::Agency, Some("kingston-council")),
        "escalated",
        json!({"from": "agencies", "to": "scrutineer"}),
    );
    assert_eq!(seq, 3);
    refused_at(&app, 3, "an escalation from agencies to scrutineer");

    // The next rung, by the same person: accepted by the replay (only the
    // unprojected tables then differ).
    let app = TestApp::spawn(backend).await;
    let id = clean_dispute(&app).await;
    forge(
        &app,
        Some(&id),
        person("lead@kingston", Role::Agency, Some("kingston-council")),
        "escalated",
        json!({"from": "agencies", "to": "slg"}),
    );
    let r = app.verify();
    assert_eq!(
        (r.ok, r.first_bad_seq, r.mismatched_dispute.as_deref()),
        (false, None, Some(id.as_str())),
        "{r:?}"
    );
}

/// Invariant 19: an entry of a kind no `LedgerEvent` names, and entries of
/// known kinds in the wrong shape (a ladder event naming no dispute, a
/// registry event naming one), are refused by the replay, never skipped.
async fn an_unknown_or_misshapen_entry_is_named(backend: Backend) {
    let admin = person("admin", Role::PartnershipAdmin, None);
    let cases: [(Option<&str>, &str, Value, &str); 3] = [
        (
            None,
            "dispute_reopened",
            json!({}),
            "unknown ledger event 'dispute_reopened'",
        ),
        (
            None,
            "withdrawn",
            json!({}),
            "a 'withdrawn' entry that names no dispute",
        ),
        (
            Some("00000000-0000-4000-8000-000000000002"),
            "webhook_deactivated",
            json!({"id": "00000000-0000-4000-8000-000000000003"}),
            "a 'webhook_deactivated' entry that names a dispute",
        ),
    ];
    for (dispute, event, facts, why) in cases {
        let app = TestApp::spawn(backend).await;
        clean_dispute(&app).await;
        let seq = forge(&app, dispute, admin.clone(), event, facts);
        assert_eq!(seq, 3);
        refused_at(&app, 3, why);
    }
}

both_backends!(
    an_unknown_or_misshapen_entry_is_named,
    an_automatic_escalation_without_a_missed_deadline_is_named,
    a_second_deadline_missed_on_a_rung_is_named,
    a_deadline_warned_of_twice_is_named,
    a_dispute_raised_under_a_policy_not_in_force_is_named,
    a_migration_to_a_policy_never_activated_is_named,
    a_stored_cosignature_that_does_not_verify_is_named,
    an_escalation_that_skips_a_rung_is_named,
);

fn count(app: &TestApp, table: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
        .get_result::<N>(&mut *app.conn())
        .expect("count")
        .n
}

/// A trigger that makes every INSERT into `table` fail, in each backend's syntax.
fn fail_inserts_into(app: &TestApp, table: &str) {
    app.sql(
        &format!(
            "CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} \
             BEGIN SELECT RAISE(ABORT, 'forced failure in {table}'); END;"
        ),
        &format!(
            "CREATE OR REPLACE FUNCTION forced_failure() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'forced failure in %', TG_TABLE_NAME; END; $$; \
             CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} \
             FOR EACH ROW EXECUTE FUNCTION forced_failure();"
        ),
    )
    .expect("create the failing trigger");
}

fn drop_trigger(app: &TestApp, table: &str) {
    app.sql(
        &format!("DROP TRIGGER fail_{table}"),
        &format!("DROP TRIGGER fail_{table} ON {table}"),
    )
    .expect("drop the trigger");
}

/// Everything an action could leave behind: the head (size and hash), the tree, the
/// projection rows and the outbox.
async fn traces(app: &TestApp) -> (Value, i64, i64, i64) {
    let (s, head) = app.get(&app.role(Role::Auditor), "/v1/ledger/head").await;
    assert_eq!(s, 200, "{head}");
    (
        head,
        count(app, "merkle_nodes"),
        count(app, "proposals"),
        count(app, "outbox"),
    )
}

/// Invariants 1 and 13: the ledger entry is written first, then the
/// projection, then the outbox rows; a statement failing after the entry (in
/// the projection, or in the outbox) rolls all of it back: no entry, no tree
/// leaf, no state change, no notification.
async fn a_failure_after_the_entry_keeps_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (s, v) = app
        .post(
            &app.role(Role::PartnershipAdmin),
            "/v1/admin/webhooks",
            json!({"target": {"agency": "kingston-council"}, "url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let id = app.raise(&["kingston-council", "cafcass"], false).await;
    let tok = app.agency("kingston-council");
    let propose = format!("/v1/disputes/{id}/proposals");

    for table in ["proposals", "outbox"] {
        let before = traces(&app).await;
        assert_eq!(before.2, 0, "no proposal yet");
        assert_eq!(before.3, 1, "the raise was queued for kingston's endpoint");
        fail_inserts_into(&app, table);
        let (s, v) = app
            .post(&tok, &propose, json!({"resolution": "meet on Monday"}))
            .await;
        assert_eq!(s, 500, "{table}: {v}");
        assert_eq!(traces(&app).await, before, "{table}: nothing kept");
        let r = app.verify();
        assert!(r.ok, "{table}: {r:?}");
        drop_trigger(&app, table);
    }

    // The same action without the failure keeps all of it: the checks above
    // looked where the action writes.
    let before = traces(&app).await;
    let (s, v) = app
        .post(&tok, &propose, json!({"resolution": "meet on Monday"}))
        .await;
    assert_eq!(s, 201, "{v}");
    let after = traces(&app).await;
    assert_eq!(
        after.0["size"].as_i64(),
        before.0["size"].as_i64().map(|n| n + 1)
    );
    assert!(after.1 > before.1, "a new leaf");
    assert_eq!(
        (after.2, after.3),
        (1, 2),
        "a proposal and its notification"
    );
    assert!(app.verify().ok);
}

/// Invariant 8: the stored tree and the signed checkpoints are append-only in
/// the database, like the ledger.
async fn the_tree_and_checkpoints_refuse_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    clean_dispute(&app).await;
    app.checkpoint_note().await;
    assert!(count(&app, "merkle_nodes") >= 3);
    assert_eq!(count(&app, "checkpoints"), 1);
    let mut refused = vec![
        (
            "UPDATE merkle_nodes SET idx = idx + 100 WHERE level = 0 AND idx = 0",
            "merkle_nodes is append-only",
        ),
        (
            "DELETE FROM merkle_nodes WHERE level = 0 AND idx = 0",
            "merkle_nodes is append-only",
        ),
        (
            "UPDATE checkpoints SET note = 'x'",
            "checkpoints is append-only",
        ),
        ("DELETE FROM checkpoints", "checkpoints is append-only"),
    ];
    if backend == Backend::Postgres {
        refused.extend([
            ("TRUNCATE merkle_nodes", "merkle_nodes is append-only"),
            // `cosignatures` refers to it, so only a cascading TRUNCATE gets as
            // far as the triggers (either table's refuses).
            ("TRUNCATE checkpoints CASCADE", "is append-only"),
        ]);
    }
    for (sql, why) in refused {
        let err = app.sql(sql, sql).expect_err(sql);
        assert!(err.contains(why), "{sql}: {err}");
    }
    assert!(count(&app, "merkle_nodes") >= 3);
    assert_eq!(count(&app, "checkpoints"), 1);
    assert!(app.verify().ok);
}

both_backends!(
    a_failure_after_the_entry_keeps_nothing,
    the_tree_and_checkpoints_refuse_change,
);
