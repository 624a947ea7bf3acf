//! Spawn the real app on 127.0.0.1:0 over a real database, once per backend:
//! a temp-dir SQLite file, or a fresh PostgreSQL schema per test.

use std::time::Duration;

use awc::Client;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use escalation_ledger::core::clock::{self, Clock};
use escalation_ledger::core::ladder::{Partner, Role};
use escalation_ledger::http::auth::{Authenticator, Claims, Keys};
use escalation_ledger::service::checkpoint::LogKey;
use escalation_ledger::store::db::{DbConn, Pool};
use escalation_ledger::{app, service::verify};
use serde_json::{json, Value};

pub const ORIGIN: &str = "test.krscp/escalation-ledger";
pub const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// PostgreSQL for tests: `TEST_DATABASE_URL`, or the local default. Never skipped.
pub fn pg_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A database for one test, removed when dropped.
pub struct TestDb {
    pub url: String,
    schema: Option<String>,
    _dir: tempfile::TempDir,
}

impl TestDb {
    pub fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.path().join("test.db").display()),
                schema: None,
                _dir: dir,
            },
            Backend::Postgres => {
                let admin = pg_admin_url();
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                let mut c = PgConnection::establish(&admin).unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is required for the test suite and {admin} cannot be reached: {e}. \
                         Start it or set TEST_DATABASE_URL."
                    )
                });
                c.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create schema");
                let sep = if admin.contains('?') { '&' } else { '?' };
                TestDb {
                    url: format!("{admin}{sep}options=-csearch_path%3D{schema}"),
                    schema: Some(schema),
                    _dir: dir,
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema {
            if let Ok(mut c) = PgConnection::establish(&pg_admin_url()) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub pool: Pool,
    pub client: Client,
    pub db: TestDb,
    /// The log's signing key the app runs with (tests re-sign checkpoints with it).
    pub log: LogKey,
    keys: Keys,
    /// The app's clock (`core::clock`): the system's, or one started at a
    /// given instant ([`TestApp::spawn_at`]). Tokens stay on real time.
    pub clock: Clock,
}

/// A client whose idle connections are dropped before the server's keep-alive
/// (actix's 5 s) closes them: a pooled connection the server has closed fails
/// the next request with `Connect(Disconnected)`.
pub fn client() -> Client {
    Client::builder()
        .connector(awc::Connector::new().conn_keep_alive(Duration::from_secs(2)))
        .timeout(Duration::from_secs(120))
        .finish()
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        let keys = Keys::from_secret(SECRET.as_bytes());
        TestApp::spawn_with_auth(backend, keys.into()).await
    }

    /// The app checking tokens with `auth` (e.g. a JWKS verifier). `token` and
    /// friends still mint HS256 tokens with `SECRET`.
    pub async fn spawn_with_auth(backend: Backend, auth: Authenticator) -> TestApp {
        TestApp::spawn_with(backend, auth, app::Settings::default()).await
    }

    /// The app with HS256 `SECRET` tokens and the given `settings`.
    pub async fn spawn_with_settings(backend: Backend, settings: app::Settings) -> TestApp {
        let keys = Keys::from_secret(SECRET.as_bytes());
        TestApp::spawn_with(backend, keys.into(), settings).await
    }

    /// The app with its clock started at `at` (RFC 3339) and running on from
    /// there, as `TEST_CLOCK` does for a spawned binary: ledger times,
    /// deadlines' "overdue" and scrutiny's "today" follow it, not the date the
    /// test runs on. Per app, so apps in one test process keep their own.
    pub async fn spawn_at(backend: Backend, at: &str) -> TestApp {
        TestApp::spawn_at_with_settings(backend, at, app::Settings::default()).await
    }

    /// [`TestApp::spawn_at`] with the given `settings`.
    pub async fn spawn_at_with_settings(
        backend: Backend,
        at: &str,
        settings: app::Settings,
    ) -> TestApp {
        let start = chrono::DateTime::parse_from_rfc3339(at)
            .expect("an RFC 3339 instant")
            .with_timezone(&chrono::Utc);
        let keys = Keys::from_secret(SECRET.as_bytes());
        TestApp::spawn_clocked(backend, keys.into(), settings, Clock::starting_at(start)).await
    }

    async fn spawn_with(backend: Backend, auth: Authenticator, settings: app::Settings) -> TestApp {
        TestApp::spawn_clocked(backend, auth, settings, clock::current()).await
    }

    async fn spawn_clocked(
        backend: Backend,
        auth: Authenticator,
        settings: app::Settings,
        clock: Clock,
    ) -> TestApp {
        let db = TestDb::new(backend);
        let url = db.url.clone();
        // A long pool wait: the suite checks behaviour under contention (32
        // clients on 8 connections) on a shared, loaded machine, not latency;
        // the short default (`DB_POOL_WAIT`, 3 s) is exercised in faults.rs.
        // On the app's clock too: the default policy's activation is its
        // ledger's first entry, and a report's period must find it in force.
        let pool = actix_web::rt::task::spawn_blocking(move || {
            clock::scoped(clock, || {
                app::prepare_with(&url, 8, Duration::from_secs(30))
            })
        })
        .await
        .expect("join")
        .expect("prepare database");
        let keys = Keys::from_secret(SECRET.as_bytes());
        let log = LogKey::generate(ORIGIN).expect("log key");
        // The server hands the clock it starts under to its workers and its
        // sequencer, and they to each blocking task.
        let (server, addr) = clock::scoped(clock, || {
            app::start(pool.clone(), auth, log.clone(), settings, "127.0.0.1:0", 2)
        })
        .expect("start server");
        actix_web::rt::spawn(server);
        TestApp {
            base: format!("http://{addr}"),
            pool,
            client: client(),
            db,
            log,
            keys,
            clock,
        }
    }

    pub fn token(
        &self,
        sub: &str,
        role: Role,
        agency: Option<&str>,
        partner: Option<Partner>,
    ) -> String {
        self.keys
            .mint(&Claims {
                sub: sub.into(),
                role,
                agency: agency.map(str::to_string),
                partner,
                exp: chrono::Utc::now().timestamp() + 3600,
            })
            .expect("mint")
    }

    /// Today on the app's clock: a London date, as the service takes it.
    pub fn today(&self) -> chrono::NaiveDate {
        escalation_ledger::core::calendar::london_date(self.clock.now())
    }

    pub fn agency(&self, id: &str) -> String {
        self.token(&format!("user@{id}"), Role::Agency, Some(id), None)
    }
    pub fn role(&self, role: Role) -> String {
        self.token(&format!("{role}-user"), role, None, None)
    }
    pub fn partner(&self, role: Role, p: Partner) -> String {
        self.token(&format!("{role}-{p}"), role, None, Some(p))
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let (s, body) = self.get_text(token, path).await;
        (s, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// Run one of the independent Python checkers in `scripts/` against this
    /// app, with `token` in `LEDGER_TOKEN`.
    pub async fn python(&self, script: &str, token: String) -> std::process::Output {
        python_run(
            script,
            vec![self.base.clone()],
            vec![("LEDGER_TOKEN".into(), token)],
        )
        .await
    }

    /// Every item of the list at `path`, following its pages' `next` cursors.
    pub async fn all(&self, token: &str, path: &str) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut url = path.to_string();
        loop {
            let (s, v) = self.get(token, &url).await;
            assert_eq!(s, 200, "{url}: {v}");
            items.extend(v["items"].as_array().expect("a page").iter().cloned());
            match v["next"].as_str() {
                Some(c) => url = format!("{path}{sep}cursor={c}"),
                None => return items,
            }
        }
    }

    /// Send `body` as JSON with `token`: the status, the `Location` header
    /// (if any) and the body as JSON (`Null` if it is not).
    async fn send_json(
        &self,
        req: awc::ClientRequest,
        token: &str,
        body: Value,
    ) -> (u16, Option<String>, Value) {
        let mut res = req
            .bearer_auth(token)
            .send_json(&body)
            .await
            .expect("request");
        let location = res
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        let body = res.body().await.expect("body");
        (
            res.status().as_u16(),
            location,
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        )
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let req = self.client.post(format!("{}{path}", self.base));
        let (s, _, v) = self.send_json(req, token, body).await;
        (s, v)
    }

    /// [`TestApp::post`], with the `Location` header a create answers.
    pub async fn post_created(
        &self,
        token: &str,
        path: &str,
        body: Value,
    ) -> (u16, Option<String>, Value) {
        let req = self.client.post(format!("{}{path}", self.base));
        self.send_json(req, token, body).await
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let req = self.client.patch(format!("{}{path}", self.base));
        let (s, _, v) = self.send_json(req, token, body).await;
        (s, v)
    }

    /// Raise a dispute as the first party's agency user; returns its id.
    pub async fn raise(&self, parties: &[&str], complex: bool) -> String {
        let (s, v) = self
            .post(
                &self.agency(parties[0]),
                "/v1/disputes",
                json!({"parties": parties, "summary": "Threshold for a strategy meeting", "child_ref": "KR-2026-0001", "complex": complex}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().expect("id").to_string()
    }

    /// Raise a dispute between `parties` as if at `at` (`YYYY-MM-DD HH:MM:SS`,
    /// UTC): its `raised` entry is recorded with that time (through the
    /// library, as the first party's agency user), so the dispute entered its
    /// rung then, in the ledger and in the tables alike, under the active
    /// ladder policy. Returns its id.
    pub async fn raise_at(
        &self,
        parties: &[&str],
        urgent: bool,
        complex: bool,
        at: &str,
    ) -> String {
        use escalation_ledger::core::ladder::{self, Actor};
        let at = chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S").expect("time");
        let parties: Vec<String> = parties.iter().map(|p| p.to_string()).collect();
        let pool = self.pool.clone();
        actix_web::rt::task::spawn_blocking(move || {
            let actor = Actor {
                sub: format!("user@{}", parties[0]),
                role: Role::Agency,
                agency: Some(parties[0].clone()),
                partner: None,
            };
            let id = uuid::Uuid::new_v4().to_string();
            let payload = json!({"summary": "Threshold for a strategy meeting", "child_ref": null});
            escalation_ledger::store::db::write_tx(&mut pool.get().expect("conn"), |c| {
                let policy = escalation_ledger::service::policy_store::active(c)?;
                let event = ladder::raise(&policy, &actor, &parties, urgent, complex, false)?;
                escalation_ledger::service::record::record_at(c, &id, &actor, &event, payload, at)
            })
            .expect("record the raise");
            id
        })
        .await
        .expect("join")
    }

    /// Issue a recommendation as the scrutineer `scrutineer-1` would have
    /// `days_ago` days ago, due `due_after` days after that (so it can be
    /// overdue today: the API refuses a due date in the past). Through the
    /// library, with that day as the clock's; returns its id.
    pub async fn issue_recommendation_back_then(
        &self,
        days_ago: u64,
        due_after: u64,
        payload: Value,
    ) -> String {
        use escalation_ledger::core::ladder::Actor;
        let then = self.today() - chrono::Days::new(days_ago);
        let due = then + chrono::Days::new(due_after);
        let pool = self.pool.clone();
        let app_clock = self.clock;
        actix_web::rt::task::spawn_blocking(move || {
            let actor = Actor {
                sub: "scrutineer-1".into(),
                role: Role::Scrutineer,
                agency: None,
                partner: None,
            };
            // Recorded at a ledger time on the app's clock, as the server would.
            clock::scoped(app_clock, || {
                escalation_ledger::store::db::write_tx(&mut pool.get().expect("conn"), |c| {
                    escalation_ledger::service::scrutiny::issue_recommendation_on(
                        c, &actor, None, due, payload, then,
                    )
                })
            })
            .expect("issue the recommendation")
        })
        .await
        .expect("join")
    }

    /// Two deadline sweeps (the KRSCP policy) at the same instant `now`
    /// (RFC 3339) on this database, as two racing instances would run them.
    pub async fn sweep_twice_at_once(
        &self,
        warning_hours: u32,
        now: &str,
    ) -> Vec<escalation_ledger::service::deadline::Swept> {
        use std::sync::{Arc, Barrier};
        let now = chrono::DateTime::parse_from_rfc3339(now)
            .expect("time")
            .with_timezone(&chrono::Utc);
        let barrier = Arc::new(Barrier::new(2));
        let runs = (0..2).map(|_| {
            let pool = self.pool.clone();
            let barrier = barrier.clone();
            actix_web::rt::task::spawn_blocking(move || {
                let mut conn = pool.get().expect("conn");
                let policies = [escalation_ledger::core::ladder::Policy::krscp().into()];
                barrier.wait();
                escalation_ledger::service::deadline::sweep(
                    &mut conn,
                    &policies,
                    warning_hours,
                    now,
                )
                .expect("sweep")
            })
        });
        futures_util::future::join_all(runs)
            .await
            .into_iter()
            .map(|r| r.expect("join"))
            .collect()
    }

    /// GET a body as text (a signed note, a bundle, JSON to search): status and text.
    pub async fn get_text(&self, token: &str, path: &str) -> (u16, String) {
        let mut res = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let body = res.body().limit(64 << 20).await.expect("body");
        (
            res.status().as_u16(),
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    /// The log's current signed checkpoint note.
    pub async fn checkpoint_note(&self) -> String {
        let auditor = self.role(Role::Auditor);
        let (s, note) = self.get_text(&auditor, "/v1/ledger/checkpoint").await;
        assert_eq!(s, 200, "{note}");
        note
    }

    pub async fn size(&self) -> i64 {
        let (s, v) = self.get(&self.role(Role::Auditor), "/v1/ledger/head").await;
        assert_eq!(s, 200, "{v}");
        v["size"].as_i64().expect("size")
    }

    pub fn conn(&self) -> escalation_ledger::store::db::PooledConn {
        self.pool.get().expect("connection")
    }

    /// Run the library's verify directly on the database.
    pub fn verify(&self) -> verify::VerifyReport {
        verify::verify(&mut self.conn()).expect("verify runs")
    }

    /// Execute raw SQL, for tampering; the SQL may differ per backend.
    pub fn sql(&self, sqlite: &str, pg: &str) -> Result<(), String> {
        let mut c = self.conn();
        let conn: &mut DbConn = &mut c;
        match conn {
            DbConn::Sqlite(c) => c.batch_execute(sqlite),
            DbConn::Pg(c) => c.batch_execute(pg),
        }
        .map_err(|e| e.to_string())
    }
}

/// Run a checker in `scripts/` with `args` and extra environment `env`.
pub async fn python_run(
    script: &str,
    args: Vec<String>,
    env: Vec<(String, String)>,
) -> std::process::Output {
    let path = format!("{}/scripts/{script}", env!("CARGO_MANIFEST_DIR"));
    actix_web::rt::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(path)
            .args(args)
            .envs(env)
            .output()
            .expect("python3 runs")
    })
    .await
    .expect("join")
}

/// Declare an async test once and run it on both backends.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
                #[actix_web::test]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }
        )+
    };
}

/// The real binary serving `db_url` on 127.0.0.1:0, with this test's secret
/// and data directory; killed when dropped.
pub struct Served {
    child: std::process::Child,
    pub base: String,
}

impl Served {
    /// Start `serve` and wait (blocking) for its "listening on" line.
    pub fn spawn(
        db_url: &str,
        data_dir: &std::path::Path,
        rust_log: &str,
        env: &[(&str, &str)],
        stderr: std::process::Stdio,
    ) -> Self {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let mut child = Command::new(env!("CARGO_BIN_EXE_escalation-ledger"))
            .args(["serve", "--bind", "127.0.0.1:0", "--workers", "2"])
            .env("DATABASE_URL", db_url)
            .env("JWT_SECRET", SECRET)
            .env("DATA_DIR", data_dir)
            .env("RUST_LOG", rust_log)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = lines.next().expect("a first line").expect("readable");
        let base = line
            .strip_prefix("escalation-ledger listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .to_string();
        std::thread::spawn(move || for _ in lines {});
        Served { child, base }
    }
}

impl Served {
    /// Send SIGTERM and wait (blocking) up to `within` for the process to
    /// exit; its exit status, or `None` if it is still running (then killed).
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM {pid}");
        let until = std::time::Instant::now() + within;
        while std::time::Instant::now() < until {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// [`Served`] with its log (stderr) in a file, for tests that read what the
/// service logs.
pub struct LoggedServe {
    served: Served,
    pub base: String,
    log_path: std::path::PathBuf,
}

impl LoggedServe {
    pub async fn start(db_url: &str, data_dir: &std::path::Path, rust_log: &str) -> Self {
        Self::start_with(db_url, data_dir, rust_log, &[]).await
    }

    /// [`LoggedServe::start`] with extra environment variables.
    pub async fn start_with(
        db_url: &str,
        data_dir: &std::path::Path,
        rust_log: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let log_path = data_dir.join("stderr.log");
        let log_file = std::fs::File::create(&log_path).expect("log file");
        let (url, dir, log) = (
            db_url.to_string(),
            data_dir.to_path_buf(),
            rust_log.to_string(),
        );
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let served = actix_web::rt::task::spawn_blocking(move || {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            Served::spawn(&url, &dir, &log, &env, log_file.into())
        })
        .await
        .expect("join");
        LoggedServe {
            base: served.base.clone(),
            served,
            log_path,
        }
    }

    /// Everything it has logged so far (it keeps running).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).expect("read the log")
    }

    /// Stop the process and return everything it logged.
    pub fn stop(self) -> String {
        drop(self.served);
        std::fs::read_to_string(&self.log_path).expect("read the log")
    }
}

/// A token that a served binary (one started with [`SECRET`]) accepts, for an
/// hour of real time (tokens never follow an injected clock).
pub fn served_token(sub: &str, role: Role, agency: Option<&str>) -> String {
    Keys::from_secret(SECRET.as_bytes())
        .mint(&Claims {
            sub: sub.into(),
            role,
            agency: agency.map(str::to_string),
            partner: None,
            exp: chrono::Utc::now().timestamp() + 3600,
        })
        .expect("mint")
}

/// One request to a served binary: a GET, or a POST of `body` as JSON; the
/// status and the JSON answer (`null` if it is not JSON).
pub async fn served_call(method: &str, url: String, tok: &str, body: Value) -> (u16, Value) {
    let c = client();
    let req = match method {
        "GET" => c.get(url),
        _ => c.post(url),
    }
    .bearer_auth(tok);
    let mut res = if method == "GET" {
        req.send().await
    } else {
        req.send_json(&body).await
    }
    .expect("request");
    let v: Value = res.json().limit(1 << 20).await.unwrap_or(Value::Null);
    (res.status().as_u16(), v)
}

/// A console journey of `tests/browser/` (`script`, with its own `args`) run
/// in Chromium against `served`, with JavaScript on or off. The SQLite run
/// with JavaScript on writes the guide's screenshots where
/// `CONSOLE_SCREENSHOTS` says. Asserts that the script succeeded, that it
/// checked at least `pages` pages and that axe-core found nothing there;
/// returns what it printed.
pub async fn browser_journey(
    served: &Served,
    db: &TestDb,
    data: &std::path::Path,
    script: &str,
    args: &[&str],
    js: bool,
    pages: u64,
) -> String {
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/browser")
            .join(script),
    )
    .args(["--base", &served.base])
    .args(["--bin", env!("CARGO_BIN_EXE_escalation-ledger")])
    .args(args)
    .env("DATABASE_URL", &db.url)
    .env("DATA_DIR", data)
    .env("JWT_SECRET", SECRET);
    if !js {
        cmd.arg("--no-js");
    }
    let shots = std::env::var("CONSOLE_SCREENSHOTS")
        .ok()
        .filter(|_| js && !db.url.starts_with("postgres"));
    if let Some(d) = shots {
        cmd.arg("--screenshots")
            .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(d));
    }
    let out = actix_web::rt::task::spawn_blocking(move || cmd.output().expect("python3 runs"))
        .await
        .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mode = if js { "on" } else { "off" };
    assert!(
        out.status.success(),
        "{script} (javascript {mode}) failed:\n{stdout}\n{stderr}"
    );
    let summary: serde_json::Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .expect("a summary line");
    assert_eq!(summary["violations"], 0, "{stdout}");
    assert!(
        summary["pages"].as_u64().unwrap_or(0) >= pages,
        "{script} (javascript {mode}) checked too few pages:\n{stdout}"
    );
    stdout
}
