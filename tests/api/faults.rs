//! Faults give 503 quickly, never 500 (issue 10, section 3): a PostgreSQL
//! restart under load, on a private cluster (never the shared one), and a
//! full filesystem under SQLite. Both need root (`runuser`, `mount`); neither
//! is skipped: without them the test fails, under CI as anywhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use awc::Client;
use escalation_ledger::core::ladder::Role;
use escalation_ledger::http::auth::{Claims, Keys};
use escalation_ledger::service::checkpoint::LogKey;
use escalation_ledger::store::db::Pool;
use escalation_ledger::{app, service::verify};
use serde_json::json;

use crate::helpers::{ORIGIN, SECRET};

const A: &str = "kingston-council";
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A PostgreSQL 15 cluster of our own on a private Unix socket, run as the `postgres`
/// OS user; stopped (immediately) and removed when dropped.
struct PrivatePg {
    _dir: tempfile::TempDir,
    data: PathBuf,
    port: u16,
}

impl PrivatePg {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        run(Command::new("chown")
            .args(["-R", "postgres"])
            .arg(dir.path()));
        run(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(format!("{PG_BIN}/initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data));
        // No TCP port: the cluster listens only on a Unix socket in its own
        // data directory, so no port is picked, released and bound again (by
        // `pg_ctl start`, nor by the restart), and no other process can take it.
        let port = 5432;
        let pg = PrivatePg {
            data,
            port,
            _dir: dir,
        };
        pg.pg_ctl(&["start"]);
        pg
    }

    fn pg_ctl(&self, args: &[&str]) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses= -c fsync=off",
            self.port,
            self.data.display()
        );
        let log = self.data.join("server.log");
        run(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(format!("{PG_BIN}/pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&log)
            .args(["-o", &opts, "-w", "-m", "fast"])
            .args(args));
    }

    fn url(&self) -> String {
        format!(
            "postgres://postgres@/postgres?host={}&port={}",
            self.data.display(),
            self.port
        )
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(format!("{PG_BIN}/pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

/// A tmpfs of `size` mounted on a fresh folder; unmounted when dropped.
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path()));
        SmallFs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .output();
    }
}

/// The real app over `url`, with no rate limits, its pool waiting `wait`.
struct Running {
    base: String,
    pool: Pool,
    client: Client,
    keys: Keys,
}

impl Running {
    async fn start(url: &str, wait: Duration) -> Running {
        let url = url.to_string();
        let pool = actix_web::rt::task::spawn_blocking(move || app::prepare_with(&url, 8, wait))
            .await
            .expect("join")
            .expect("prepare database");
        let keys = Keys::from_secret(SECRET.as_bytes());
        let settings = app::Settings {
            rate_limit_per_subject: 0,
            rate_limit_per_address: 0,
            ..Default::default()
        };
        let log = LogKey::generate(ORIGIN).expect("log key");
        let (server, addr) =
            app::start(pool.clone(), keys.clone(), log, settings, "127.0.0.1:0", 2)
                .expect("start server");
        actix_web::rt::spawn(server);
        Running {
            base: format!("http://{addr}"),
            pool,
            client: Client::builder().timeout(Duration::from_secs(60)).finish(),
            keys,
        }
    }

    fn token(&self, role: Role, agency: Option<&str>) -> String {
        self.keys
            .mint(&Claims {
                sub: format!("{role}-user"),
                role,
                agency: agency.map(str::to_string),
                partner: None,
                exp: chrono::Utc::now().timestamp() + 3600,
            })
            .expect("mint")
    }

    /// `/readyz`: its status, its `Retry-After`, and how long it took.
    async fn ready(&self) -> (u16, Option<String>, Duration) {
        let t = Instant::now();
        let res = self
            .client
            .get(format!("{}/readyz", self.base))
            .send()
            .await
            .expect("readyz");
        let retry = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (res.status().as_u16(), retry, t.elapsed())
    }
}

/// What the load saw: every status with its count, the acknowledged ids, and
/// whether every 503 carried `Retry-After` as problem+json.
#[derive(Default)]
struct Seen {
    statuses: BTreeMap<u16, usize>,
    acknowledged: Vec<String>,
    bad_503: Vec<String>,
    ok_after: usize,
}

/// `workers` clients raising disputes (with a `summary` of `summary_len`
/// characters) until `stop`; `after` turns on counting successes in `ok_after`.
fn load(
    run: &Rc<Running>,
    workers: usize,
    summary_len: usize,
    stop: &Arc<AtomicBool>,
    after: &Arc<AtomicBool>,
    seen: &Arc<Mutex<Seen>>,
) -> Vec<actix_web::rt::task::JoinHandle<()>> {
    (0..workers)
        .map(|_| {
            let (run, stop, after, seen) = (run.clone(), stop.clone(), after.clone(), seen.clone());
            actix_web::rt::spawn(async move {
                let token = run.token(Role::Agency, Some(A));
                let summary = "s".repeat(summary_len);
                while !stop.load(Ordering::SeqCst) {
                    let res = run
                        .client
                        .post(format!("{}/v1/disputes", run.base))
                        .bearer_auth(&token)
                        .send_json(&json!({"parties": [A, "cafcass"], "summary": summary}))
                        .await;
                    let Ok(mut res) = res else {
                        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    };
                    let status = res.status().as_u16();
                    let retry = res.headers().contains_key("retry-after");
                    let ct = res
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let body: serde_json::Value =
                        res.json().limit(1 << 20).await.unwrap_or_default();
                    let mut s = seen.lock().unwrap();
                    *s.statuses.entry(status).or_default() += 1;
                    if status == 201 {
                        s.acknowledged
                            .push(body["id"].as_str().expect("id").to_string());
                        if after.load(Ordering::SeqCst) {
                            s.ok_after += 1;
                        }
                    }
                    if status == 503 && (!retry || ct != "application/problem+json") {
                        s.bad_503.push(format!("{ct} {body}"));
                    }
                }
            })
        })
        .collect()
}

async fn wait_until(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < until, "{what} within {within:?}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// After the fault: no 500 and nothing but 201/503, every 503 problem+json
/// with `Retry-After`, every acknowledged dispute readable, `verify` intact.
async fn nothing_acknowledged_is_lost(run: &Running, seen: &Seen) {
    assert!(
        !seen.statuses.contains_key(&500),
        "a 500: {:?}",
        seen.statuses
    );
    assert!(
        seen.statuses.keys().all(|s| *s == 201 || *s == 503),
        "{:?}",
        seen.statuses
    );
    assert!(
        seen.statuses.contains_key(&503),
        "the fault was seen: {:?}",
        seen.statuses
    );
    assert!(seen.bad_503.is_empty(), "{:?}", seen.bad_503);
    let party = run.token(Role::Agency, Some(A));
    for id in &seen.acknowledged {
        let res = run
            .client
            .get(format!("{}/v1/disputes/{id}", run.base))
            .bearer_auth(&party)
            .send()
            .await
            .expect("read");
        assert_eq!(
            res.status().as_u16(),
            200,
            "acknowledged dispute {id} is gone"
        );
    }
    let pool = run.pool.clone();
    let report = actix_web::rt::task::spawn_blocking(move || {
        verify::verify(&mut pool.get().expect("conn")).expect("verify runs")
    })
    .await
    .expect("join");
    assert!(report.ok, "{report:?}");
}

/// PostgreSQL stopped (fast: sessions terminated "due to administrator
/// command") and started again under load.
#[actix_web::test]
async fn postgres_restarted_under_load() {
    let pg = PrivatePg::start();
    let run = Rc::new(Running::start(&pg.url(), Duration::from_secs(2)).await);
    let (stop, after) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let seen = Arc::new(Mutex::new(Seen::default()));
    let tasks = load(&run, 6, 200, &stop, &after, &seen);
    wait_until("some load acknowledged", Duration::from_secs(30), || {
        seen.lock().unwrap().acknowledged.len() >= 20
    })
    .await;
    let pg = Arc::new(pg);
    let p = pg.clone();
    actix_web::rt::task::spawn_blocking(move || p.pg_ctl(&["stop"]))
        .await
        .expect("join");
    // Down: /readyz says so within a second, every time.
    for _ in 0..5 {
        let (s, retry, took) = run.ready().await;
        assert_eq!(s, 503, "readyz while down");
        assert!(retry.is_some(), "Retry-After on readyz");
        assert!(
            took < Duration::from_secs(1),
            "readyz took {took:?} while down"
        );
    }
    actix_web::rt::time::sleep(Duration::from_millis(2500)).await;
    let p = pg.clone();
    actix_web::rt::task::spawn_blocking(move || p.pg_ctl(&["start"]))
        .await
        .expect("join");
    after.store(true, Ordering::SeqCst);
    // Recovered without restarting the service.
    wait_until("writes succeed again", Duration::from_secs(30), || {
        seen.lock().unwrap().ok_after >= 10
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.expect("load task");
    }
    let (s, _, took) = run.ready().await;
    assert_eq!(s, 200);
    assert!(took < Duration::from_secs(1));
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    eprintln!(
        "postgres restart: {:?}, {} acknowledged",
        seen.statuses,
        seen.acknowledged.len()
    );
    nothing_acknowledged_is_lost(&run, &seen).await;
}

/// Fill the filesystem under SQLite's feet during load, then free it.
#[actix_web::test]
async fn sqlite_disk_fills_under_load() {
    let fs = SmallFs::mount("16m");
    let url = format!("sqlite://{}", fs.path().join("test.db").display());
    let run = Rc::new(Running::start(&url, Duration::from_secs(2)).await);
    let (stop, after) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let seen = Arc::new(Mutex::new(Seen::default()));
    let tasks = load(&run, 4, 4000, &stop, &after, &seen);
    wait_until("some load acknowledged", Duration::from_secs(30), || {
        seen.lock().unwrap().acknowledged.len() >= 10
    })
    .await;
    // Take every byte that is left.
    let filler = fs.path().join("filler");
    let f = filler.clone();
    actix_web::rt::task::spawn_blocking(move || {
        use std::io::Write;
        let mut file = std::fs::File::create(&f).expect("filler");
        let chunk = vec![0u8; 64 << 10];
        while file.write_all(&chunk).is_ok() {}
        let small = vec![0u8; 512];
        while file.write_all(&small).is_ok() {}
        let _ = file.flush();
    })
    .await
    .expect("join");
    wait_until("503 on a full disk", Duration::from_secs(60), || {
        seen.lock()
            .unwrap()
            .statuses
            .get(&503)
            .copied()
            .unwrap_or(0)
            >= 5
    })
    .await;
    std::fs::remove_file(&filler).expect("free the space");
    after.store(true, Ordering::SeqCst);
    wait_until("writes succeed again", Duration::from_secs(30), || {
        seen.lock().unwrap().ok_after >= 10
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.expect("load task");
    }
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    eprintln!(
        "sqlite full disk: {:?}, {} acknowledged",
        seen.statuses,
        seen.acknowledged.len()
    );
    nothing_acknowledged_is_lost(&run, &seen).await;
    drop(run);
}
