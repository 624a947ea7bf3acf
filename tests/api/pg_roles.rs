//! `deploy/roles.sql` and `deploy/grants.sql` as `deploy/postgres.md` runs
//! them, in a database that is not called `ledger`: the owner migrates, the
//! application role serves with only the granted privileges, and may not
//! change the ledger. PostgreSQL only: these files are PostgreSQL's.

use std::process::Command;

use escalation_ledger::core::ladder::Role;
use escalation_ledger::http::auth::{Claims, Keys};
use serde_json::json;

use crate::helpers::{pg_admin_url, Served, SECRET};

/// `url` with its user and database replaced: `postgres://USER@host:port/DB`.
fn with_user_and_db(url: &str, user: &str, db: &str) -> String {
    let rest = url.strip_prefix("postgres://").expect("a postgres:// URL");
    let host_and_path = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host = host_and_path.split('/').next().expect("a host");
    format!("postgres://{user}@{host}/{db}")
}

fn psql(url: &str, args: &[&str]) {
    let out = Command::new("psql")
        .args(["-v", "ON_ERROR_STOP=1", "-qX", url])
        .args(args)
        .output()
        .expect("psql is installed (CI installs postgresql-client)");
    assert!(
        out.status.success(),
        "psql {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Drops the database when the test ends, pass or fail.
struct Database {
    admin: String,
    name: String,
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-qX", &self.admin, "-c"])
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .output();
    }
}

#[actix_web::test]
async fn roles_and_grants_work_for_any_database_name() {
    let admin = pg_admin_url();
    let name = format!("krscp_{}", uuid::Uuid::new_v4().simple());
    psql(&admin, &["-c", &format!("CREATE DATABASE {name}")]);
    let _db = Database {
        admin: admin.clone(),
        name: name.clone(),
    };
    let superuser = with_user_and_db(&admin, "postgres", &name);
    let owner = with_user_and_db(&admin, "ledger_owner", &name);
    let app = with_user_and_db(&admin, "ledger_app", &name);
    let root = env!("CARGO_MANIFEST_DIR");

    // Twice: the file may be run again without failing.
    psql(&superuser, &["-f", &format!("{root}/deploy/roles.sql")]);
    psql(&superuser, &["-f", &format!("{root}/deploy/roles.sql")]);
    let data = tempfile::tempdir().expect("temp dir");
    let migrated = Command::new(env!("CARGO_BIN_EXE_escalation-ledger"))
        .args(["migrate"])
        .env("DATABASE_URL", &owner)
        .env("DATA_DIR", data.path())
        .env("JWT_SECRET", SECRET)
        .output()
        .expect("migrate runs");
    assert!(
        migrated.status.success(),
        "migrate as the owner: {}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    psql(&owner, &["-f", &format!("{root}/deploy/grants.sql")]);
    every_table_is_granted(&owner, &format!("{root}/deploy/grants.sql"));

    // The application role serves and appends with what grants.sql gives it.
    let (url, dir) = (app.clone(), data.path().to_path_buf());
    let served = actix_web::rt::task::spawn_blocking(move || {
        Served::spawn(&url, &dir, "warn", &[], std::process::Stdio::null())
    })
    .await
    .expect("join");
    let token = Keys::from_secret(SECRET.as_bytes())
        .mint(&Claims {
            sub: "user@kingston-council".into(),
            role: Role::Agency,
            agency: Some("kingston-council".into()),
            partner: None,
            exp: chrono::Utc::now().timestamp() + 3600,
        })
        .expect("mint");
    let res = awc::Client::default()
        .post(format!("{}/v1/disputes", served.base))
        .bearer_auth(&token)
        .send_json(&json!({"parties": ["kingston-council", "metropolitan-police"], "summary": "s", "child_ref": "KR-2026-0001"}))
        .await
        .expect("the service answers");
    assert_eq!(res.status().as_u16(), 201, "raise as ledger_app");

    // A console sign-in writes its link and session rows as ledger_app too.
    let linked = Command::new(env!("CARGO_BIN_EXE_escalation-ledger"))
        .args(["console-link", "--sub", "lead@kingston", "--role", "agency"])
        .args(["--agency", "kingston-council", "--base-url", &served.base])
        .env("DATABASE_URL", &app)
        .env("DATA_DIR", data.path())
        .env("JWT_SECRET", SECRET)
        .output()
        .expect("console-link runs");
    let url = String::from_utf8_lossy(&linked.stdout).trim().to_string();
    assert!(
        linked.status.success(),
        "console-link as ledger_app: {}",
        String::from_utf8_lossy(&linked.stderr)
    );
    let token = url.split("token=").nth(1).expect("a token in the link");
    let mut signed = awc::Client::builder()
        .disable_redirects()
        .finish()
        .post(format!("{}/console/sign-in", served.base))
        .send_form(&[("token", token)])
        .await
        .expect("the service answers");
    let page = signed.body().await.unwrap_or_default();
    assert_eq!(
        signed.status().as_u16(),
        303,
        "sign in as ledger_app: {}",
        String::from_utf8_lossy(&page)
    );
    assert!(
        signed.headers().contains_key("set-cookie"),
        "no session cookie"
    );
    drop(served);

    // ... and may not rewrite history.
    let refused = Command::new("psql")
        .args(["-v", "ON_ERROR_STOP=1", "-qX", &app, "-c"])
        .arg("UPDATE ledger_entries SET prev_hash = prev_hash")
        .output()
        .expect("psql runs");
    assert!(!refused.status.success(), "ledger_app updated the ledger");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("permission denied"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// Every table the migrations made is named in `grants.sql` beyond the blanket
/// SELECT, so a new table cannot be forgotten (the service would fail on it
/// only under the application role, in production).
fn every_table_is_granted(owner: &str, grants: &str) {
    let out = Command::new("psql")
        .args(["-v", "ON_ERROR_STOP=1", "-qAtX", owner, "-c"])
        .arg(
            "SELECT table_name FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
             AND table_name <> '__diesel_schema_migrations' ORDER BY 1",
        )
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tables: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert!(tables.len() >= 20, "too few tables: {tables:?}");
    let text = std::fs::read_to_string(grants).expect("grants.sql");
    let named = |t: &str| {
        text.lines()
            .filter(|l| l.starts_with("GRANT") && !l.starts_with("GRANT SELECT ON ALL"))
            .any(|l| {
                l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .any(|w| w == t)
            })
    };
    let missing: Vec<&String> = tables.iter().filter(|t| !named(t)).collect();
    assert!(
        missing.is_empty(),
        "grants.sql names no grant for {missing:?}"
    );
}
