//! The migration that makes one outbox of the webhook outbox and the email
//! outbox (`2026-12-01-177000_one_outbox`), run on a database that already
//! holds deliveries of both kinds: the migrations up to the one before are
//! applied, rows are written as that schema had them (raw SQL, since the
//! code's `schema.rs` is already the new one), the new migration runs, and
//! every row is there on its channel, claimable by the one claim code, and
//! listed as before. Reverting it splits the rows back out.

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::migration::{MigrationConnection, MigrationSource};
use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use escalation_ledger::service::email;
use escalation_ledger::store::db::{self, DbConn};
use escalation_ledger::store::outbox::{self, Channel, DeliveryStatus, Destination};
use escalation_ledger::store::schema::outbox as ob;

use crate::both_backends;
use crate::helpers::{Backend, TestDb};

const PG: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// The migration under test, and the version it comes after.
const ONE_OUTBOX: &str = "20261201177000";

fn version_digits(v: impl std::fmt::Display) -> String {
    v.to_string()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect()
}

/// Apply every migration before [`ONE_OUTBOX`], one by one.
fn migrate_to_before(conn: &mut DbConn) -> usize {
    let mut n = 0;
    match conn {
        DbConn::Sqlite(c) => {
            c.setup().unwrap();
            let all = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE).unwrap();
            for m in all {
                if version_digits(m.name().version()).as_str() < ONE_OUTBOX {
                    c.run_migration(&m).unwrap();
                    n += 1;
                }
            }
        }
        DbConn::Pg(c) => {
            c.setup().unwrap();
            let all = MigrationSource::<diesel::pg::Pg>::migrations(&PG).unwrap();
            for m in all {
                if version_digits(m.name().version()).as_str() < ONE_OUTBOX {
                    c.run_migration(&m).unwrap();
                    n += 1;
                }
            }
        }
    }
    n
}

fn exec(conn: &mut DbConn, sql: &str) -> Result<(), String> {
    match conn {
        DbConn::Sqlite(c) => c.batch_execute(sql),
        DbConn::Pg(c) => c.batch_execute(sql),
    }
    .map_err(|e| e.to_string())
}

/// Three ledger entries (hashes are stand-ins: only the foreign keys matter
/// here), one endpoint, and deliveries of both kinds in each state, as the
/// schema before the migration held them.
fn old_rows(conn: &mut DbConn, backend: Backend) {
    let hash = |n: u8| match backend {
        Backend::Sqlite => format!("X'{}'", format!("{n:02x}").repeat(32)),
        Backend::Postgres => format!("decode('{}', 'hex')", format!("{n:02x}").repeat(32)),
    };
    for seq in 0..3u8 {
        exec(
            conn,
            &format!(
                "INSERT INTO ledger_entries (seq, recorded_at, dispute_id, event, actor_sub, \
                 actor_role, facts, payload_hash, prev_hash, entry_hash) VALUES \
                 ({seq}, '2026-12-01 09:00:0{seq}', {d}, '{ev}', 'admin', 'partnership_admin', \
                 '{{}}', {h}, {p}, {e})",
                d = if seq == 0 { "NULL" } else { "'d-1'" },
                ev = if seq == 0 {
                    "webhook_registered"
                } else {
                    "escalated"
                },
                h = hash(100 + seq),
                p = hash(seq),
                e = hash(seq + 1),
            ),
        )
        .unwrap();
    }
    let active = match backend {
        Backend::Sqlite => "1",
        Backend::Postgres => "TRUE",
    };
    exec(
        conn,
        &format!(
            "INSERT INTO webhooks (id, target_kind, target, url, secret, active, \
             registered_seq, created_at) VALUES ('wh_1', 'agency', 'kingston-council', \
             'http://127.0.0.1:9/hook', 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0', {active}, 0, \
             '2026-12-01 09:00:00');
             INSERT INTO outbox (id, webhook_id, seq, event, body, status, attempts, \
             next_attempt_at, lease_until, last_error, last_attempt_at, created_at) VALUES \
             ('msg_1_wh_1', 'wh_1', 1, 'escalated', '{{\"seq\":1}}', 'pending', 3, \
             '2026-12-01 09:30:00', '2026-12-01 09:31:00', 'HTTP 503', '2026-12-01 09:20:00', \
             '2026-12-01 09:00:01');
             INSERT INTO outbox (id, webhook_id, seq, event, body, status, attempts, \
             next_attempt_at, last_attempt_at, delivered_at, created_at) VALUES \
             ('msg_2_wh_1', 'wh_1', 2, 'escalated', '{{\"seq\":2}}', 'delivered', 1, \
             '2026-12-01 09:00:02', '2026-12-01 09:00:03', '2026-12-01 09:00:03', \
             '2026-12-01 09:00:02');
             INSERT INTO email_outbox (id, seq, dispute_id, event, recipient, status, \
             attempts, next_attempt_at, lease_until, last_error, last_attempt_at, created_at) \
             VALUES ('mail_000000000001_aa', 1, 'd-1', 'escalated', 'lead@kingston.example.org', \
             'pending', 2, '2026-12-01 09:40:00', '2026-12-01 09:41:00', 'smtp: 451', \
             '2026-12-01 09:35:00', '2026-12-01 09:00:01');
             INSERT INTO email_outbox (id, seq, dispute_id, event, recipient, status, \
             attempts, next_attempt_at, last_error, last_attempt_at, created_at) VALUES \
             ('mail_000000000002_bb', 2, 'd-1', 'escalated', 'chair@slg.example.org', \
             'failed', 12, '2026-12-01 10:00:00', 'smtp: 550', '2026-12-01 09:59:00', \
             '2026-12-01 09:00:02');"
        ),
    )
    .unwrap();
}

#[derive(Debug, Queryable, PartialEq)]
struct Row {
    id: String,
    channel: String,
    webhook_id: Option<String>,
    body: Option<String>,
    recipient: Option<String>,
    dispute_id: Option<String>,
    status: String,
    attempts: i32,
    lease_until: Option<NaiveDateTime>,
    last_error: Option<String>,
}

fn rows(conn: &mut DbConn) -> Vec<Row> {
    ob::table
        .select((
            ob::id,
            ob::channel,
            ob::webhook_id,
            ob::body,
            ob::recipient,
            ob::dispute_id,
            ob::status,
            ob::attempts,
            ob::lease_until,
            ob::last_error,
        ))
        .order(ob::id.asc())
        .load(conn)
        .unwrap()
}

fn at(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn count_sql(conn: &mut DbConn, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(sql).get_result::<N>(conn).unwrap().n
}

fn the_due_index_is_on_channel(conn: &mut DbConn, backend: Backend) {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT count(*) AS n FROM pragma_index_info('outbox_due') WHERE name = 'channel'"
        }
        Backend::Postgres => {
            "SELECT count(*) AS n FROM pg_indexes WHERE indexname = 'outbox_due' \
             AND schemaname = current_schema() AND indexdef LIKE '%(channel, status, next_attempt_at)%'"
        }
    };
    assert_eq!(count_sql(conn, sql), 1, "outbox_due leads with channel");
}

fn both_kinds_survive_the_one_outbox_migration_blocking(backend: Backend) {
    let tdb = TestDb::new(backend);
    let pool = db::pool(&tdb.url, 1).unwrap();
    let mut pooled = pool.get().unwrap();
    let conn: &mut DbConn = &mut pooled;
    assert!(migrate_to_before(conn) >= 14, "the earlier migrations ran");
    old_rows(conn, backend);

    // The migration under test (and only it: nothing else is pending).
    assert_eq!(db::migrate(conn).unwrap(), 1);

    let wh = |id: &str, body: &str, status: &str, attempts, lease: Option<&str>, err| Row {
        id: id.into(),
        channel: "webhook".into(),
        webhook_id: Some("wh_1".into()),
        body: Some(body.into()),
        recipient: None,
        dispute_id: None,
        status: status.into(),
        attempts,
        lease_until: lease.map(at),
        last_error: err,
    };
    let mail = |id: &str, to: &str, status: &str, attempts, lease: Option<&str>, err: &str| Row {
        id: id.into(),
        channel: "email".into(),
        webhook_id: None,
        body: None,
        recipient: Some(to.into()),
        dispute_id: Some("d-1".into()),
        status: status.into(),
        attempts,
        lease_until: lease.map(at),
        last_error: Some(err.into()),
    };
    assert_eq!(
        rows(conn),
        vec![
            mail(
                "mail_000000000001_aa",
                "lead@kingston.example.org",
                "pending",
                2,
                Some("2026-12-01 09:41:00"),
                "smtp: 451"
            ),
            mail(
                "mail_000000000002_bb",
                "chair@slg.example.org",
                "failed",
                12,
                None,
                "smtp: 550"
            ),
            wh(
                "msg_1_wh_1",
                r#"{"seq":1}"#,
                "pending",
                3,
                Some("2026-12-01 09:31:00"),
                Some("HTTP 503".into())
            ),
            wh("msg_2_wh_1", r#"{"seq":2}"#, "delivered", 1, None, None),
        ],
        "every row of both outboxes, on its channel, with its state"
    );
    assert!(
        exec(conn, "SELECT count(*) FROM email_outbox").is_err(),
        "email_outbox is gone"
    );
    the_due_index_is_on_channel(conn, backend);

    // The table's CHECK keeps each channel's columns: an email without an
    // address, or a webhook row that names an address too, is refused.
    for bad in [
        "INSERT INTO outbox (id, channel, seq, event, status, attempts, next_attempt_at, \
         created_at, dispute_id) VALUES ('x1', 'email', 1, 'escalated', 'pending', 0, \
         '2026-12-01 09:00:00', '2026-12-01 09:00:00', 'd-1')",
        "INSERT INTO outbox (id, channel, webhook_id, seq, event, body, status, attempts, \
         next_attempt_at, created_at, recipient) VALUES ('x2', 'webhook', 'wh_1', 1, \
         'escalated', '{}', 'pending', 0, '2026-12-01 09:00:00', '2026-12-01 09:00:00', \
         'a@b.org')",
        "INSERT INTO outbox (id, channel, seq, event, status, attempts, next_attempt_at, \
         created_at, recipient, dispute_id) VALUES ('x3', 'sms', 1, 'escalated', 'pending', \
         0, '2026-12-01 09:00:00', '2026-12-01 09:00:00', 'a@b.org', 'd-1')",
    ] {
        assert!(exec(conn, bad).is_err(), "refused: {bad}");
    }

    // The one claim code takes each pending row on its own channel, with
    // its attempts so far (the leases of the killed process have run out).
    let now = Utc::now().naive_utc();
    let until = now + Duration::seconds(30);
    let mails = outbox::claim(conn, Channel::Email, 10, now, until).unwrap();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].id, "mail_000000000001_aa");
    assert_eq!(mails[0].attempts, 2);
    assert_eq!(
        mails[0].to,
        Destination::Email {
            recipient: "lead@kingston.example.org".into(),
            dispute_id: "d-1".into(),
        }
    );
    let hooks = outbox::claim(conn, Channel::Webhook, 10, now, until).unwrap();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0].id, "msg_1_wh_1");
    assert_eq!(hooks[0].attempts, 3);
    assert_eq!(
        hooks[0].to,
        Destination::Webhook {
            url: "http://127.0.0.1:9/hook".into(),
            secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0".into(),
            body: r#"{"seq":1}"#.into(),
        }
    );
    // Claimed once: a second claim under the lease gets nothing.
    assert!(outbox::claim(conn, Channel::Email, 10, now, until)
        .unwrap()
        .is_empty());
    // Settled by the same code: delivered.
    outbox::settle(conn, &mails[0].id, 3, now, outbox::Outcome::Delivered).unwrap();

    // The email deliveries listing shows the moved rows as before.
    let listed = email::deliveries(conn, None, 10).unwrap();
    let got: Vec<(&str, &str, &str, i32)> = listed
        .iter()
        .map(|d| {
            (
                d.id.as_str(),
                d.recipient.as_str(),
                d.status.as_str(),
                d.attempts,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "mail_000000000001_aa",
                "lead@kingston.example.org",
                DeliveryStatus::Delivered.as_str(),
                3
            ),
            (
                "mail_000000000002_bb",
                "chair@slg.example.org",
                "failed",
                12
            ),
        ]
    );
    assert!(listed.iter().all(|d| d.dispute_id == "d-1"));

    // Reverting splits the outbox again, losing nothing.
    match conn {
        DbConn::Sqlite(c) => c.revert_last_migration(SQLITE).map(|_| ()),
        DbConn::Pg(c) => c.revert_last_migration(PG).map(|_| ()),
    }
    .unwrap();
    assert_eq!(count_sql(conn, "SELECT count(*) AS n FROM email_outbox"), 2);
    assert_eq!(
        count_sql(
            conn,
            "SELECT count(*) AS n FROM outbox WHERE webhook_id = 'wh_1' AND body IS NOT NULL"
        ),
        2
    );
    assert!(exec(conn, "SELECT channel FROM outbox").is_err());
}

async fn both_kinds_survive_the_one_outbox_migration(backend: Backend) {
    actix_web::rt::task::spawn_blocking(move || {
        both_kinds_survive_the_one_outbox_migration_blocking(backend)
    })
    .await
    .unwrap();
}

both_backends!(both_kinds_survive_the_one_outbox_migration);
