//! The sequencer (`service::sequencer`): one transaction per batch of ledger
//! writes, a savepoint per command, answered only after the batch's commit.
//!
//! The app runs with a long linger so that requests sent together land in one
//! batch; its `BatchLog` shows that they did.

use std::time::Duration;

use futures_util::future::{join, join_all};
use serde_json::{json, Value};

use escalation_ledger::app::Settings;
use escalation_ledger::core::ladder::Role;
use escalation_ledger::http::auth::{Claims, Keys};
use escalation_ledger::service::sequencer::{BatchLog, BatchRecord, Batching};

use crate::both_backends;
use crate::helpers::{client, Backend, Served, TestApp, TestDb, SECRET};

const PARTIES: [&str; 2] = ["kingston-council", "cafcass"];

/// The app with a linger long enough that concurrent requests share a batch.
async fn batching_app(backend: Backend) -> (TestApp, BatchLog) {
    let log = BatchLog::default();
    let settings = Settings {
        batching: Batching {
            max: 64,
            linger: Duration::from_millis(1500),
            log: log.clone(),
        },
        ..Default::default()
    };
    (TestApp::spawn_with_settings(backend, settings).await, log)
}

/// POST `body` on `c`, a client of its own for each burst of requests sent
/// together (the app's shared client may hold keep-alive connections that
/// the server closed while a test waited).
async fn post(c: &awc::Client, app: &TestApp, tok: &str, path: &str, body: Value) -> (u16, Value) {
    let mut res = c
        .post(format!("{}{path}", app.base))
        .bearer_auth(tok)
        .send_json(&body)
        .await
        .expect("request");
    let body = res.body().await.expect("body");
    (
        res.status().as_u16(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

fn raise_body() -> Value {
    json!({"parties": PARTIES, "summary": "Threshold for a strategy meeting"})
}

/// The batches noted since `before` of them.
fn batches_since(log: &BatchLog, before: usize) -> Vec<BatchRecord> {
    log.batches().into_iter().skip(before).collect()
}

fn count(app: &TestApp, table: &str) -> i64 {
    use diesel::prelude::*;
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

/// Raises and competing proposals sent together share one batch: each command
/// sees what the earlier ones left (one proposal opens, the rest are refused
/// 409 by the ladder), the refused ones write nothing, the others are kept;
/// then commands that fail after writing their entry (a trigger on
/// `proposals`) roll back alone inside a committed batch.
async fn mixed_commands_in_one_batch(backend: Backend) {
    let (app, log) = batching_app(backend).await;
    let tok = app.agency(PARTIES[0]);
    let disputed = app.raise(&PARTIES, false).await;
    let size0 = app.size().await;
    let before = log.batches().len();

    const RAISES: usize = 8;
    const PROPOSALS: usize = 6;
    let propose = format!("/v1/disputes/{disputed}/proposals");
    let c = client();
    let raises = (0..RAISES).map(|_| post(&c, &app, &tok, "/v1/disputes", raise_body()));
    let proposals = (0..PROPOSALS).map(|i| {
        post(
            &c,
            &app,
            &tok,
            &propose,
            json!({"resolution": format!("proposal {i}")}),
        )
    });
    let (raised, proposed) = join(join_all(raises), join_all(proposals)).await;

    let batches = batches_since(&log, before);
    assert_eq!(
        batches,
        [BatchRecord {
            size: RAISES + PROPOSALS,
            committed: true
        }],
        "every command in one committed batch"
    );
    let mut seqs = Vec::new();
    for (s, v) in &raised {
        assert_eq!(*s, 201, "{v}");
        seqs.push(v["seq"].as_i64().expect("seq"));
    }
    let won: Vec<&Value> = proposed
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, v)| v)
        .collect();
    assert_eq!(won.len(), 1, "one proposal opens: {proposed:?}");
    seqs.push(won[0]["seq"].as_i64().expect("seq"));
    for (s, v) in proposed.iter().filter(|(s, _)| *s != 201) {
        assert_eq!(*s, 409, "the ladder refuses the others: {v}");
        assert_eq!(v["status"], 409, "{v}");
    }
    // The kept commands are the new entries, in one dense run after the old head.
    seqs.sort();
    let expect: Vec<i64> = (size0..size0 + (RAISES as i64) + 1).collect();
    assert_eq!(seqs, expect, "kept entries are dense and follow the head");
    assert_eq!(app.size().await, size0 + RAISES as i64 + 1);
    let r = app.verify();
    assert!(r.ok, "{r:?}");

    // Commands that fail after their entry is written, in a batch with ones
    // that succeed: their savepoints roll back, the batch commits.
    let mut fresh = Vec::new();
    for _ in 0..3 {
        fresh.push(app.raise(&PARTIES, false).await);
    }
    let size1 = app.size().await;
    let proposals_before = count(&app, "proposals");
    app.sql(
        "CREATE TRIGGER seq_fail BEFORE INSERT ON proposals \
         BEGIN SELECT RAISE(ABORT, 'forced failure in proposals'); END;",
        "CREATE FUNCTION seq_fail() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'forced failure in proposals'; END; $$; \
         CREATE TRIGGER seq_fail BEFORE INSERT ON proposals \
         FOR EACH ROW EXECUTE FUNCTION seq_fail();",
    )
    .expect("create the failing trigger");
    let before = log.batches().len();
    let c = client();
    let raises = (0..RAISES).map(|_| post(&c, &app, &tok, "/v1/disputes", raise_body()));
    let paths: Vec<String> = fresh
        .iter()
        .map(|id| format!("/v1/disputes/{id}/proposals"))
        .collect();
    let failing = paths
        .iter()
        .map(|p| post(&c, &app, &tok, p, json!({"resolution": "meet on Monday"})));
    let (raised, failed) = join(join_all(raises), join_all(failing)).await;
    assert_eq!(
        batches_since(&log, before),
        [BatchRecord {
            size: RAISES + fresh.len(),
            committed: true
        }],
        "one committed batch"
    );
    for (s, v) in &raised {
        assert_eq!(*s, 201, "{v}");
    }
    for (s, v) in &failed {
        assert_eq!(*s, 500, "the failing command gets its own answer: {v}");
    }
    assert_eq!(
        app.size().await,
        size1 + RAISES as i64,
        "only the raises kept"
    );
    assert_eq!(count(&app, "proposals"), proposals_before);
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

/// A write that fails at COMMIT (a deferred foreign key, broken by a trigger on
/// `proposals`) fails its whole batch: every waiter gets 503, nothing of the
/// batch is kept, the ledger's size is unchanged.
async fn a_storage_error_fails_the_whole_batch(backend: Backend) {
    let (app, log) = batching_app(backend).await;
    let tok = app.agency(PARTIES[0]);
    let disputed = app.raise(&PARTIES, false).await;
    app.sql(
        "CREATE TABLE seq_parent (id INTEGER PRIMARY KEY); \
         CREATE TABLE seq_child (parent INTEGER REFERENCES seq_parent(id) DEFERRABLE INITIALLY DEFERRED); \
         CREATE TRIGGER seq_boom AFTER INSERT ON proposals BEGIN INSERT INTO seq_child VALUES (42); END;",
        "CREATE TABLE seq_parent (id INTEGER PRIMARY KEY); \
         CREATE TABLE seq_child (parent INTEGER REFERENCES seq_parent(id) DEFERRABLE INITIALLY DEFERRED); \
         CREATE FUNCTION seq_boom() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN INSERT INTO seq_child VALUES (42); RETURN NEW; END; $$; \
         CREATE TRIGGER seq_boom AFTER INSERT ON proposals FOR EACH ROW EXECUTE FUNCTION seq_boom();",
    )
    .expect("create the deferred failure");
    let size0 = app.size().await;
    let head0 = app.get(&app.role(Role::Auditor), "/v1/ledger/head").await.1;
    let disputes0 = count(&app, "disputes");
    let outbox0 = count(&app, "outbox");
    let before = log.batches().len();

    const RAISES: usize = 6;
    let propose = format!("/v1/disputes/{disputed}/proposals");
    let c = client();
    let raises = (0..RAISES).map(|_| post(&c, &app, &tok, "/v1/disputes", raise_body()));
    let poisoned = post(
        &c,
        &app,
        &tok,
        &propose,
        json!({"resolution": "meet on Monday"}),
    );
    let (raised, (ps, pv)) = join(join_all(raises), poisoned).await;

    assert_eq!(
        batches_since(&log, before),
        [BatchRecord {
            size: RAISES + 1,
            committed: false
        }],
        "one batch, failed"
    );
    assert_eq!(ps, 503, "{pv}");
    for (s, v) in &raised {
        assert_eq!(*s, 503, "nothing of a failed batch is acknowledged: {v}");
        assert_eq!(v["status"], 503, "{v}");
    }
    assert_eq!(app.size().await, size0, "ledger size unchanged");
    let head = app.get(&app.role(Role::Auditor), "/v1/ledger/head").await.1;
    assert_eq!(head, head0, "same head");
    assert_eq!(count(&app, "disputes"), disputes0, "no dispute kept");
    assert_eq!(count(&app, "proposals"), 0, "no proposal kept");
    assert_eq!(count(&app, "outbox"), outbox0, "no notification kept");
    let r = app.verify();
    assert!(r.ok, "{r:?}");

    // Without the fault the same commands go through: the batch was the cause.
    app.sql(
        "DROP TRIGGER seq_boom;",
        "DROP TRIGGER seq_boom ON proposals;",
    )
    .expect("drop the trigger");
    let c = client();
    let raises = (0..RAISES).map(|_| post(&c, &app, &tok, "/v1/disputes", raise_body()));
    let proposal = post(
        &c,
        &app,
        &tok,
        &propose,
        json!({"resolution": "meet on Monday"}),
    );
    let (raised, (ps, pv)) = join(join_all(raises), proposal).await;
    assert_eq!(ps, 201, "{pv}");
    assert!(raised.iter().all(|(s, _)| *s == 201), "{raised:?}");
    assert_eq!(app.size().await, size0 + RAISES as i64 + 1);
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

fn mint(agency: &str) -> String {
    crate::helpers::served_token(&format!("user@{agency}"), Role::Agency, Some(agency))
}

/// A figure from a `/metrics` text: the first line starting with `name `.
fn figure(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Two `serve` binaries on one database, each batching, 16 clients each:
/// every action acknowledged, one linear chain, `verify` ok.
async fn two_batching_processes_share_one_chain(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = db.url.clone();
    let d = dir.path().to_path_buf();
    let env = [("BATCH_LINGER", "5ms"), ("BATCH_MAX", "64")];
    let spawn = move |u: &str| Served::spawn(u, &d, "warn", &env, std::process::Stdio::null());
    let (one, two) = actix_web::rt::task::spawn_blocking(move || (spawn(&url), spawn(&url)))
        .await
        .expect("join");
    let (a, b) = (mint(PARTIES[0]), mint(PARTIES[1]));
    let c = client();
    const CLIENTS: usize = 16;
    const EACH: usize = 4;
    let post = |base: &str, tok: &str, path: String, body: Value| {
        let req = c.post(format!("{base}{path}")).bearer_auth(tok);
        async move {
            let mut res = req.send_json(&body).await.expect("request");
            let v: Value = res.json().await.unwrap_or(Value::Null);
            (res.status().as_u16(), v)
        }
    };
    let walks = [&one.base, &two.base].into_iter().flat_map(|base| {
        let (a, b, post) = (&a, &b, &post);
        (0..CLIENTS).map(move |_| async move {
            for _ in 0..EACH {
                let (s, v) = post(base, a, "/v1/disputes".into(), raise_body()).await;
                assert_eq!(s, 201, "{v}");
                let id = v["id"].as_str().expect("id").to_string();
                let (s, v) = post(
                    base,
                    a,
                    format!("/v1/disputes/{id}/proposals"),
                    json!({"resolution": "r"}),
                )
                .await;
                assert_eq!(s, 201, "{v}");
                let (s, v) = post(
                    base,
                    b,
                    format!("/v1/disputes/{id}/escalate"),
                    json!({"reason": "stuck"}),
                )
                .await;
                assert_eq!(s, 200, "{v}");
            }
        })
    });
    join_all(walks).await;
    // Each process grouped its writes (more commands than batches).
    let auditor = Keys::from_secret(SECRET.as_bytes())
        .mint(&Claims {
            sub: "auditor@test".into(),
            role: Role::Auditor,
            agency: None,
            partner: None,
            exp: chrono::Utc::now().timestamp() + 3600,
        })
        .expect("mint");
    let mut grouped = 0;
    for base in [&one.base, &two.base] {
        let mut res = c
            .get(format!("{base}/metrics"))
            .bearer_auth(&auditor)
            .send()
            .await
            .expect("metrics");
        assert_eq!(res.status().as_u16(), 200);
        let body = res.body().limit(1 << 22).await.expect("body");
        let text = String::from_utf8_lossy(&body);
        let n = figure(&text, "escalation_ledger_batch_size_count").expect("batch count");
        let sum = figure(&text, "escalation_ledger_batch_size_sum").expect("batch sum");
        assert!(sum >= (CLIENTS * EACH * 3) as f64, "{sum}");
        if sum > n {
            grouped += 1;
        }
    }
    assert!(grouped >= 1, "no process put two commands in one batch");
    drop((one, two));
    let url = db.url.clone();
    let out = actix_web::rt::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_escalation-ledger"))
            .args(["verify", "--database-url", &url])
            .output()
            .expect("verify runs")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    // The registry, the default policy, the log key, then three per walk.
    let entries = 3 + 2 * CLIENTS * EACH * 3;
    assert!(
        stdout.contains(&format!("ledger intact: {entries} entries")),
        "{stdout}"
    );
}

/// A batch's later commands read neither the ledger head, the webhooks and
/// address lists, the registry nor the active policy, and share the batch's
/// check-out, `BEGIN`, lock and `COMMIT`: the transaction's tail
/// (`store::tail`) has what the first one read. Eight raises sent together
/// take at least 8 (SQLite) or 9 (PostgreSQL) statements
/// fewer each, after the first, than eight raised one at a time; a Merkle read
/// that an in-batch leaf still needs (a sibling stored before the batch) may
/// take back at most two of those. And the chain they make verifies.
async fn a_batch_reads_the_tail_once(backend: Backend) {
    let (app, log) = batching_app(backend).await;
    let tok = app.agency(PARTIES[0]);
    let sent = || escalation_ledger::store::db::statements(&app.db.url).expect("counted");
    const N: u64 = 8;
    // One at a time (each its own batch): the policy and registry are warm
    // after the first, as they are in the batch below.
    app.raise(&PARTIES, false).await;
    let c = client();
    let s0 = sent();
    for _ in 0..N {
        let (s, v) = post(&c, &app, &tok, "/v1/disputes", raise_body()).await;
        assert_eq!(s, 201, "{v}");
    }
    let alone = sent() - s0;
    let before = log.batches().len();
    let s1 = sent();
    let c = client();
    let raised = join_all((0..N).map(|_| post(&c, &app, &tok, "/v1/disputes", raise_body()))).await;
    let together = sent() - s1;
    assert!(raised.iter().all(|(s, _)| *s == 201), "{raised:?}");
    assert_eq!(
        batches_since(&log, before),
        [BatchRecord {
            size: N as usize,
            committed: true
        }],
        "one batch"
    );
    // Per later command: check-out, BEGIN, (lock,) COMMIT, head, webhooks,
    // lists, registry, active policy.
    let saved = match backend {
        Backend::Sqlite => 8,
        Backend::Postgres => 9,
    };
    assert!(
        together + (N - 1) * saved <= alone + 2,
        "{N} raises: {together} statements in one batch, {alone} one at a time, saving {saved} each"
    );
    let r = app.verify();
    assert!(r.ok, "{r:?}");
}

both_backends!(
    mixed_commands_in_one_batch,
    a_storage_error_fails_the_whole_batch,
    two_batching_processes_share_one_chain,
    a_batch_reads_the_tail_once,
);
