//! `loadgen`: a benchmark harness for escalation-ledger (not a test).
//!
//! One run, on one fresh database, takes three measurements side by side:
//!
//! 1. **Ledger actions over HTTP.** The real server runs in-process on
//!    127.0.0.1 with two workers; `--clients` concurrent HTTP clients walk
//!    `--disputes` disputes through raise → propose → accept (by the raising
//!    party) → escalate to `slg` (by the other party, which lapses the open
//!    proposal). Each of the four actions appends exactly one ledger entry in
//!    one write transaction, so actions/s is ledger appends/s end to end:
//!    HTTP, JSON, JWT, the hash chain, the projection tables and the commit.
//!    Every action is timed on its own.
//! 2. **Raw single-row commits.** With the same concurrency (one thread and one
//!    pool connection each) and as many commits as step 1 appended, rows go
//!    into `bench_inserts` one per transaction: once through `db::write_tx`
//!    (the lock path of a ledger append: `BEGIN IMMEDIATE` on SQLite, the
//!    advisory lock on PostgreSQL) and once in plain autocommit. That is the
//!    floor a ledger action cannot beat on this machine and this disk.
//! 3. **Verify.** `verify::verify` over the resulting ledger: entries/s.
//!
//! Absolute rates drift on a shared machine; the figure to compare between
//! runs is the ratio *ledger actions/s ÷ raw write_tx commits/s* taken in the
//! same run. The last stdout line is `RESULT {json}` holding every figure.
//!
//! The run never touches existing data: SQLite refuses an existing file unless
//! `--fresh`; PostgreSQL runs in a new schema `bench_<uuid>`, dropped at the end
//! (or in `--schema NAME`, which is kept). Exit status: 0 when every action
//! succeeded and the ledger verifies, 1 otherwise, 2 on a setup or database error.
//!
//! ```text
//! cargo run --release --bin loadgen -- --database-url sqlite:///tmp/bench.db --fresh
//! cargo run --release --bin loadgen -- --database-url postgres://postgres@127.0.0.1:5432/test
//! ```

use std::cell::Cell;
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use clap::Parser;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use futures_util::future::join_all;
use serde_json::{json, Value};

use escalation_ledger::core::ladder::Role;
use escalation_ledger::http::auth::{Claims, Keys};
use escalation_ledger::service::sequencer::{
    BatchLog, BatchRecord, BatchTimes, Batching, LOG_KEEP,
};
use escalation_ledger::store::db::{redact_url, statements, write_tx, DbUrl, Pool};
use escalation_ledger::store::schema::bench_inserts;
use escalation_ledger::{app, service::verify, store::ledger as store};

/// Server workers, as in the brief: the machine has two cores.
const WORKERS: usize = 2;

/// Real agency ids from the registry; dispute `n` takes an ordered pair of them.
const AGENCIES: [&str; 6] = [
    "kingston-council",
    "richmond-council",
    "cafcass",
    "kingston-hospital",
    "metropolitan-police",
    "sw-london-icb",
];

#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    about = "Benchmark: ledger actions over HTTP against raw commits, and verify throughput"
)]
struct Args {
    /// sqlite://PATH or postgres://... (never read from the environment)
    #[arg(long)]
    database_url: String,
    /// Concurrent HTTP clients, and threads for the raw-insert measurement.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=64))]
    clients: u32,
    /// Disputes to walk in total; each is four ledger-appending actions.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    disputes: u32,
    /// PostgreSQL only: run in this schema and keep it afterwards
    /// (default: a fresh `bench_<uuid>` schema, dropped at the end).
    #[arg(long)]
    schema: Option<String>,
    /// Delete an existing SQLite file (and its -wal/-shm) first, or drop an existing --schema.
    #[arg(long)]
    fresh: bool,
    /// The server's `BATCH_MAX` (1 with `--batch-linger 0s`: one transaction per action).
    #[arg(long, default_value_t = 64)]
    batch_max: usize,
    /// The server's `BATCH_LINGER`, e.g. `1ms`.
    #[arg(long, default_value = "1ms", value_parser = humantime::parse_duration)]
    batch_linger: Duration,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::from(2)
        }
    }
}

/// The whole run; `Ok(false)` when an action failed or the ledger does not verify.
fn run(args: &Args) -> Result<bool, String> {
    // Declared first so it is dropped last, after every pool connection is gone.
    let db = BenchDb::open(args)?;
    let clients = args.clients as usize;
    let pool = app::prepare(&db.url, args.clients + 2)?;
    let size_before = ledger_size(&pool)?;

    let sent_before = statements(&db.url).unwrap_or(0);
    let http = http_phase(pool.clone(), clients, args.disputes, args)?;
    let sent = statements(&db.url).unwrap_or(0) - sent_before;
    let commits = http.ok() as i64;
    let write_tx_s = raw_commits(&pool, clients, commits, 0, true)?;
    let autocommit_s = raw_commits(&pool, clients, commits, commits, false)?;

    let mut conn = pool
        .get()
        .map_err(|e| format!("no connection for verify: {e}"))?;
    let started = Instant::now();
    let report = verify::verify(&mut conn).map_err(|e| format!("verify did not run: {e}"))?;
    let verify_s = started.elapsed().as_secs_f64();
    drop(conn);

    let mut problems: Vec<String> = http.failures.iter().take(5).cloned().collect();
    if !report.ok {
        problems.push(format!("verify is not ok: {report:?}"));
    }
    let expected = size_before + commits;
    if report.size != expected {
        problems.push(format!(
            "the ledger holds {} entries, expected {expected} ({size_before} before + {commits} actions)",
            report.size
        ));
    }

    let rate = |n: i64, secs: f64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let actions_per_s = rate(commits, http.wall.as_secs_f64());
    let write_tx_per_s = rate(commits, write_tx_s);
    let autocommit_per_s = rate(commits, autocommit_s);
    let ratio = |raw: f64| if raw > 0.0 { actions_per_s / raw } else { 0.0 };
    let verify_per_s = rate(report.size, verify_s);
    let all = Stats::of(http.samples.iter().map(|(_, d)| *d));
    // Every statement of the phase (batch control included) per action, and
    // how many actions shared a transaction.
    let statements_per_action = if commits > 0 {
        sent as f64 / commits as f64
    } else {
        0.0
    };
    let batches = http.batches.len().max(1) as f64;
    let mean_batch = http.batches.iter().map(|(b, _)| b.size).sum::<usize>() as f64 / batches;
    // The writer thread's share of the phase, and a batch's mean split (ms).
    let total = |part: fn(&BatchTimes) -> Duration| {
        http.batches
            .iter()
            .map(|(_, t)| part(t).as_secs_f64())
            .sum::<f64>()
    };
    let (open_s, commands_s, commit_s) = (
        total(|t| t.open),
        total(|t| t.commands),
        total(|t| t.commit),
    );
    let writer_busy = (open_s + commands_s + commit_s) / http.wall.as_secs_f64().max(1e-9);
    let per_batch_ms = |secs: f64| secs * 1000.0 / batches;

    println!(
        "loadgen: {} ({}), {clients} clients, {} disputes, {WORKERS} server workers",
        db.backend,
        redact_url(&db.url),
        args.disputes
    );
    println!(
        "ledger actions over HTTP: {} ok, {} failed in {:.2} s = {actions_per_s:.1} actions/s",
        http.ok(),
        http.failures.len(),
        http.wall.as_secs_f64()
    );
    println!("  latency ms      n     mean      p50      p99");
    println!("  {:<10} {all}", "all");
    let mut by_kind = serde_json::Map::new();
    for kind in Kind::ALL {
        let s = Stats::of(http.samples_of(kind));
        println!("  {:<10} {s}", kind.name());
        by_kind.insert(kind.name().into(), s.json());
    }
    println!(
        "statements per action: {statements_per_action:.1}; mean batch: {mean_batch:.1} actions ({} batches)",
        http.batches.len()
    );
    println!(
        "writer busy {:.0} % of the phase; a batch's mean: open {:.2} ms, commands {:.2} ms, commit {:.2} ms",
        writer_busy * 100.0,
        per_batch_ms(open_s),
        per_batch_ms(commands_s),
        per_batch_ms(commit_s)
    );
    println!("raw single-row commits ({commits} each, {clients} threads):");
    println!("  write_tx   {write_tx_per_s:>9.1} commits/s");
    println!("  autocommit {autocommit_per_s:>9.1} commits/s");
    println!(
        "ledger actions/s ÷ raw commits/s: {:.3} (write_tx), {:.3} (autocommit)",
        ratio(write_tx_per_s),
        ratio(autocommit_per_s)
    );
    println!(
        "verify: {} entries in {verify_s:.3} s = {verify_per_s:.0} entries/s, ok = {}",
        report.size, report.ok
    );
    for p in &problems {
        println!("PROBLEM: {p}");
    }
    if http.failures.len() > 5 {
        println!("PROBLEM: ... and {} more failures", http.failures.len() - 5);
    }

    let result = json!({
        "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "backend": db.backend,
        "clients": clients,
        "disputes": args.disputes,
        "server_workers": WORKERS,
        "batch": {"max": args.batch_max, "linger_ms": round3(args.batch_linger.as_secs_f64() * 1000.0)},
        "http": {
            "actions": http.samples.len(),
            "ok": http.ok(),
            "failed": http.failures.len(),
            "wall_s": round3(http.wall.as_secs_f64()),
            "actions_per_s": round3(actions_per_s),
            "mean_ms": round3(all.mean_ms),
            "p50_ms": round3(all.p50_ms),
            "p99_ms": round3(all.p99_ms),
            "by_kind": by_kind,
            "statements_per_action": round3(statements_per_action),
            "mean_batch": round3(mean_batch),
            "writer_busy": round3(writer_busy),
            "batch_open_ms": round3(per_batch_ms(open_s)),
            "batch_commands_ms": round3(per_batch_ms(commands_s)),
            "batch_commit_ms": round3(per_batch_ms(commit_s)),
        },
        "raw": {
            "commits": commits,
            "threads": clients,
            "write_tx_per_s": round3(write_tx_per_s),
            "autocommit_per_s": round3(autocommit_per_s),
        },
        "ratio_write_tx": round3(ratio(write_tx_per_s)),
        "ratio_autocommit": round3(ratio(autocommit_per_s)),
        "verify": {
            "entries": report.size,
            "seconds": round3(verify_s),
            "entries_per_s": round3(verify_per_s),
            "ok": report.ok,
        },
        "ok": problems.is_empty(),
    });
    println!("RESULT {result}");
    Ok(problems.is_empty())
}

// ---- the database a run owns ----

/// The database of one run: the URL to use, and a PostgreSQL schema to drop at the end.
struct BenchDb {
    url: String,
    backend: &'static str,
    /// (admin URL, schema) dropped with `DROP SCHEMA ... CASCADE` on drop.
    drop_schema: Option<(String, String)>,
}

impl BenchDb {
    fn open(args: &Args) -> Result<Self, String> {
        match DbUrl::parse(&args.database_url)? {
            DbUrl::Sqlite(path) => {
                if args.schema.is_some() {
                    return Err("--schema applies to PostgreSQL only".into());
                }
                let files: Vec<PathBuf> = ["", "-wal", "-shm"]
                    .iter()
                    .map(|suffix| {
                        let mut p = OsString::from(path.as_os_str());
                        p.push(suffix);
                        PathBuf::from(p)
                    })
                    .collect();
                for f in files.iter().filter(|f| f.exists()) {
                    if !args.fresh {
                        return Err(format!(
                            "{} exists; pass --fresh to delete it (and its -wal/-shm) first",
                            f.display()
                        ));
                    }
                    std::fs::remove_file(f)
                        .map_err(|e| format!("cannot delete {}: {e}", f.display()))?;
                }
                Ok(BenchDb {
                    url: args.database_url.clone(),
                    backend: "sqlite",
                    drop_schema: None,
                })
            }
            DbUrl::Postgres(admin) => {
                let (schema, keep) = match &args.schema {
                    Some(s) => (identifier(s)?, true),
                    None => (format!("bench_{}", uuid::Uuid::new_v4().simple()), false),
                };
                let mut c = PgConnection::establish(&admin)
                    .map_err(|e| format!("cannot connect to {}: {e}", redact_url(&admin)))?;
                if keep && args.fresh {
                    c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .map_err(|e| format!("DROP SCHEMA {schema}: {e}"))?;
                }
                c.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .map_err(|e| {
                        format!("CREATE SCHEMA {schema}: {e} (pass --fresh to replace it)")
                    })?;
                let sep = if admin.contains('?') { '&' } else { '?' };
                Ok(BenchDb {
                    url: format!("{admin}{sep}options=-csearch_path%3D{schema}"),
                    backend: "postgres",
                    drop_schema: (!keep).then_some((admin, schema)),
                })
            }
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        let Some((admin, schema)) = &self.drop_schema else {
            return;
        };
        let dropped = PgConnection::establish(admin)
            .map_err(|e| e.to_string())
            .and_then(|mut c| {
                c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = dropped {
            eprintln!("loadgen: could not drop schema {schema}: {e}");
        }
    }
}

/// A schema name safe to splice into SQL: a lowercase identifier.
fn identifier(s: &str) -> Result<String, String> {
    let mut chars = s.chars();
    let ok = s.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "--schema '{s}': use up to 63 lowercase letters, digits or _, not starting with a digit"
        ))
    }
}

fn ledger_size(pool: &Pool) -> Result<i64, String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let head = store::head(&mut conn).map_err(|e| format!("reading the ledger head: {e}"))?;
    Ok(head.map_or(0, |(seq, _)| seq + 1))
}

// ---- phase 1: ledger actions over HTTP ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Raise,
    Propose,
    Accept,
    Escalate,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Raise, Kind::Propose, Kind::Accept, Kind::Escalate];

    fn name(self) -> &'static str {
        match self {
            Kind::Raise => "raise",
            Kind::Propose => "propose",
            Kind::Accept => "accept",
            Kind::Escalate => "escalate",
        }
    }
}

struct HttpOutcome {
    /// Every action attempted, with its latency (request sent to body read).
    samples: Vec<(Kind, Duration)>,
    failures: Vec<String>,
    wall: Duration,
    /// The phase's batches, and where their time went (`BatchLog` keeps the
    /// last `LOG_KEEP`).
    batches: Vec<(BatchRecord, BatchTimes)>,
}

impl HttpOutcome {
    /// Actions that succeeded: each appended one ledger entry.
    fn ok(&self) -> usize {
        self.samples.len() - self.failures.len()
    }

    fn samples_of(&self, kind: Kind) -> impl Iterator<Item = Duration> + '_ {
        self.samples
            .iter()
            .filter(move |(k, _)| *k == kind)
            .map(|(_, d)| *d)
    }
}

/// What the client futures share; they all run on one thread.
struct Ctx {
    client: awc::Client,
    base: String,
    tokens: HashMap<&'static str, String>,
    next: Cell<u32>,
    disputes: u32,
}

impl Ctx {
    fn token(&self, agency: &str) -> &str {
        self.tokens
            .get(agency)
            .map(String::as_str)
            .expect("a token is minted for every agency in AGENCIES")
    }

    /// POST `body` as `token`, time it, and return the JSON answer of a 2xx.
    async fn post(
        &self,
        kind: Kind,
        token: &str,
        path: &str,
        body: Value,
        samples: &mut Vec<(Kind, Duration)>,
    ) -> Result<Value, String> {
        let started = Instant::now();
        let answer = async {
            let mut res = self
                .client
                .post(format!("{}{path}", self.base))
                .bearer_auth(token)
                .send_json(&body)
                .await
                .map_err(|e| e.to_string())?;
            let bytes = res.body().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((res.status(), bytes))
        }
        .await;
        samples.push((kind, started.elapsed()));
        let (status, bytes) = answer.map_err(|e| format!("{} POST {path}: {e}", kind.name()))?;
        if !status.is_success() {
            return Err(format!(
                "{} POST {path}: {status}: {}",
                kind.name(),
                String::from_utf8_lossy(&bytes)
            ));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} POST {path}: the answer is not JSON: {e}", kind.name()))
    }
}

/// The ordered agency pair of dispute `n`: all 30 pairs of the six, in turn.
fn pair(n: u32) -> (&'static str, &'static str) {
    let a = n as usize % AGENCIES.len();
    let step = 1 + (n as usize / AGENCIES.len()) % (AGENCIES.len() - 1);
    (AGENCIES[a], AGENCIES[(a + step) % AGENCIES.len()])
}

fn str_at<'v>(v: &'v Value, pointer: &str) -> Result<&'v str, String> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the answer has no {pointer}: {v}"))
}

/// Raise, propose, accept by A, escalate by B: four ledger appends.
async fn walk(ctx: &Ctx, n: u32, samples: &mut Vec<(Kind, Duration)>) -> Result<(), String> {
    let (a, b) = pair(n);
    let (ta, tb) = (ctx.token(a), ctx.token(b));
    let raised = json!({
        "parties": [a, b],
        "summary": format!("Benchmark dispute {n}: threshold for a strategy meeting"),
        "child_ref": format!("BENCH-{n}"),
    });
    let v = ctx
        .post(Kind::Raise, ta, "/v1/disputes", raised, samples)
        .await?;
    let id = str_at(&v, "/id")?.to_string();
    let propose = json!({"resolution": "Hold a joint strategy meeting within five working days"});
    let path = format!("/v1/disputes/{id}/proposals");
    let v = ctx.post(Kind::Propose, ta, &path, propose, samples).await?;
    // The proposal is the answer (201, issue 10): its id is `/id`.
    let pid = str_at(&v, "/id")?.to_string();
    let path = format!("/v1/disputes/{id}/proposals/{pid}/accept");
    ctx.post(Kind::Accept, ta, &path, json!({}), samples)
        .await?;
    let reason = json!({"reason": "No agreement between the agencies"});
    let path = format!("/v1/disputes/{id}/escalate");
    let v = ctx.post(Kind::Escalate, tb, &path, reason, samples).await?;
    if v["rung"] != "slg" || !v["open_proposal"].is_null() {
        return Err(format!(
            "dispute {id}: escalate answered rung {} with open proposal {}",
            v["rung"], v["open_proposal"]
        ));
    }
    Ok(())
}

/// One client: take the next dispute number until none are left.
async fn client_loop(ctx: &Ctx) -> (Vec<(Kind, Duration)>, Vec<String>) {
    let mut samples = Vec::new();
    let mut failures = Vec::new();
    loop {
        let n = ctx.next.get();
        if n >= ctx.disputes {
            break;
        }
        ctx.next.set(n + 1);
        if let Err(e) = walk(ctx, n, &mut samples).await {
            failures.push(e);
        }
    }
    (samples, failures)
}

/// Start the server in-process and drive it with `clients` concurrent clients.
fn http_phase(
    pool: Pool,
    clients: usize,
    disputes: u32,
    args: &Args,
) -> Result<HttpOutcome, String> {
    let batch_log = BatchLog::default();
    let batching = Batching {
        max: args.batch_max.max(1),
        linger: args.batch_linger,
        log: batch_log.clone(),
    };
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let keys = Keys::from_secret(secret.as_bytes());
    let log = escalation_ledger::service::checkpoint::LogKey::generate("loadgen/escalation-ledger")
        .map_err(|e| format!("log key: {e}"))?;
    let exp = chrono::Utc::now().timestamp() + 3600;
    let mut tokens = HashMap::new();
    for agency in AGENCIES {
        let claims = Claims {
            sub: format!("loadgen@{agency}"),
            role: Role::Agency,
            agency: Some(agency.to_string()),
            partner: None,
            exp,
        };
        tokens.insert(agency, keys.mint(&claims)?);
    }
    actix_web::rt::System::new().block_on(async move {
        let (server, addr) = app::start(
            pool,
            keys,
            log,
            app::Settings {
                // A benchmark of the store, not of the rate limiter.
                rate_limit_per_subject: 0,
                rate_limit_per_address: 0,
                batching,
                ..app::Settings::default()
            },
            "127.0.0.1:0",
            WORKERS,
        )
        .map_err(|e| format!("cannot start the server: {e}"))?;
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let ctx = Ctx {
            client: awc::Client::builder()
                .timeout(Duration::from_secs(60))
                .finish(),
            base: format!("http://{addr}"),
            tokens,
            next: Cell::new(0),
            disputes,
        };
        let before = batch_log.timed().len();
        let started = Instant::now();
        let results = join_all((0..clients).map(|_| client_loop(&ctx))).await;
        let wall = started.elapsed();
        handle.stop(true).await;
        let mut batches = batch_log.timed();
        // Only the phase's own (while the log has not yet dropped any).
        if batches.len() < LOG_KEEP {
            batches.drain(..before.min(batches.len()));
        }
        let mut out = HttpOutcome {
            samples: Vec::new(),
            failures: Vec::new(),
            wall,
            batches,
        };
        for (samples, failures) in results {
            out.samples.extend(samples);
            out.failures.extend(failures);
        }
        Ok(out)
    })
}

// ---- phase 2: raw single-row commits ----

/// Insert `commits` rows (ids from `first_id`), one per transaction, from
/// `threads` threads with a pool connection each; returns the seconds taken.
fn raw_commits(
    pool: &Pool,
    threads: usize,
    commits: i64,
    first_id: i64,
    in_write_tx: bool,
) -> Result<f64, String> {
    let next = AtomicI64::new(0);
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<(), String> {
                    let conn = pool.get();
                    // Connections are taken before the clock starts; wait even on error.
                    barrier.wait();
                    let mut conn = conn.map_err(|e| format!("no pool connection: {e}"))?;
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= commits {
                            return Ok(());
                        }
                        let row = (
                            bench_inserts::id.eq(first_id + k),
                            bench_inserts::note.eq("loadgen"),
                        );
                        let insert = diesel::insert_into(bench_inserts::table).values(row);
                        let done = if in_write_tx {
                            write_tx(&mut conn, |c| insert.execute(c))
                        } else {
                            insert.execute(&mut *conn)
                        };
                        done.map_err(|e| format!("insert {}: {e}", first_id + k))?;
                    }
                })
            })
            .collect();
        barrier.wait();
        let started = Instant::now();
        let mut errors = Vec::new();
        for w in workers {
            match w.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push(e),
                Err(_) => errors.push("a raw-insert thread panicked".to_string()),
            }
        }
        let secs = started.elapsed().as_secs_f64();
        if errors.is_empty() {
            Ok(secs)
        } else {
            Err(format!("raw inserts failed: {}", errors.join("; ")))
        }
    })
}

// ---- figures ----

/// Count, mean and p50/p99 latency in milliseconds (nearest rank).
#[derive(Debug, Clone, Copy)]
struct Stats {
    n: usize,
    mean_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Stats {
    fn of(latencies: impl Iterator<Item = Duration>) -> Self {
        let mut v: Vec<Duration> = latencies.collect();
        v.sort_unstable();
        let at = |p: f64| {
            if v.is_empty() {
                return 0.0;
            }
            let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
            v[rank - 1].as_secs_f64() * 1e3
        };
        let total: Duration = v.iter().sum();
        Stats {
            n: v.len(),
            mean_ms: total.as_secs_f64() * 1e3 / v.len().max(1) as f64,
            p50_ms: at(0.50),
            p99_ms: at(0.99),
        }
    }

    fn json(&self) -> Value {
        json!({"n": self.n, "mean_ms": round3(self.mean_ms), "p50_ms": round3(self.p50_ms), "p99_ms": round3(self.p99_ms)})
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>6} {:>8.2} {:>8.2} {:>8.2}",
            self.n, self.mean_ms, self.p50_ms, self.p99_ms
        )
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
