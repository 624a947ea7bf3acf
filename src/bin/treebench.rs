//! `treebench`: what the Merkle tree costs and how fast its proofs are (not a test).
//!
//! One run, on fresh scratch databases:
//!
//! 1. **Appends with and without the tree, side by side.** Two scratch ledgers;
//!    blocks of single-entry write transactions alternate between them, one
//!    through `store::append` (chain + tree), one through
//!    `store::append_chain_only`. Alternating blocks share the machine's noise,
//!    so the ratio is the figure to compare.
//! 2. **Growth to `--entries`** (default 1,000,000) in batched transactions.
//! 3. **Proofs at that size.** The real server runs in-process; `--clients`
//!    HTTP clients ask for random inclusion proofs (`size` = the whole tree)
//!    and random consistency proofs (`from` random, `to` = the whole tree).
//!    Latency is taken at the client over loopback, and separately in-process
//!    (`tree::inclusion`/`tree::consistency` on the database without HTTP: the
//!    server-side work), with the distinct nodes each answer read (in one query).
//!
//! ```text
//! cargo run --release --bin treebench -- --database-url sqlite:///tmp/treebench.db
//! cargo run --release --bin treebench -- --database-url postgres://postgres@127.0.0.1:5432/test
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use futures_util::future::join_all;
use serde_json::json;

use escalation_ledger::core::ladder::Role;
use escalation_ledger::core::ledger::NewEntry;
use escalation_ledger::http::auth::{Claims, Keys};
use escalation_ledger::service::checkpoint::LogKey;
use escalation_ledger::store::db::{write_tx, DbConn, DbUrl, Pool};
use escalation_ledger::store::error::StoreError;
use escalation_ledger::store::tree;
use escalation_ledger::{app, store::ledger as store};

#[derive(Debug, Parser)]
#[command(
    name = "treebench",
    about = "Measure the Merkle tree's append cost and proof latency"
)]
struct Args {
    /// `sqlite://PATH` (must not exist; a sibling `-chain` file is used too) or `postgres://...`
    /// (two scratch schemas are created and dropped).
    #[arg(long)]
    database_url: String,
    /// Ledger size at which proofs are measured.
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
    /// Single-transaction appends per ledger in the side-by-side phase.
    #[arg(long, default_value_t = 4000)]
    appends: u64,
    /// Proofs of each kind to request.
    #[arg(long, default_value_t = 2000)]
    proofs: usize,
    /// Concurrent HTTP clients for the proof phase.
    #[arg(long, default_value_t = 4)]
    clients: usize,
}

/// A scratch database: a new SQLite file, or a new PostgreSQL schema dropped at the end.
struct Scratch {
    url: String,
    drop: Option<(String, String)>,
}

impl Scratch {
    fn new(url: &str, suffix: &str) -> Result<Self, String> {
        match DbUrl::parse(url)? {
            DbUrl::Sqlite(path) => {
                let p = PathBuf::from(format!("{}{suffix}", path.display()));
                if p.exists() {
                    return Err(format!("{} exists; give a new path", p.display()));
                }
                Ok(Scratch {
                    url: format!("sqlite://{}", p.display()),
                    drop: None,
                })
            }
            DbUrl::Postgres(admin) => {
                let schema = format!("treebench_{}", uuid::Uuid::new_v4().simple());
                let mut c = PgConnection::establish(&admin).map_err(|e| e.to_string())?;
                c.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .map_err(|e| e.to_string())?;
                let sep = if admin.contains('?') { '&' } else { '?' };
                Ok(Scratch {
                    url: format!("{admin}{sep}options=-csearch_path%3D{schema}"),
                    drop: Some((admin, schema)),
                })
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some((admin, schema)) = &self.drop {
            if let Ok(mut c) = PgConnection::establish(admin) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

fn entry(i: u64) -> NewEntry {
    NewEntry {
        dispute_id: None,
        event: "bench".into(),
        actor: escalation_ledger::store::agencies::system_actor(),
        facts: json!({ "n": i }),
        payload: json!({}),
    }
}

type Append =
    fn(&mut DbConn, NewEntry) -> Result<escalation_ledger::core::ledger::Entry, StoreError>;

/// `n` appends, one write transaction each; returns the seconds taken.
fn appends(pool: &Pool, n: u64, f: Append) -> Result<f64, String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let t = Instant::now();
    for i in 0..n {
        write_tx(&mut conn, |c| f(c, entry(i))).map_err(|e| e.to_string())?;
    }
    Ok(t.elapsed().as_secs_f64())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn summary(name: &str, mut lat: Vec<Duration>, reads: &[u64]) -> serde_json::Value {
    lat.sort();
    let (p50, p99) = (percentile(&lat, 0.50), percentile(&lat, 0.99));
    let max_reads = reads.iter().copied().max().unwrap_or(0);
    let mean_reads = reads.iter().sum::<u64>() as f64 / reads.len().max(1) as f64;
    println!("  {name:<28} n={:<6} p50 {p50:7.3} ms  p99 {p99:7.3} ms  reads mean {mean_reads:5.1} max {max_reads}", lat.len());
    json!({"n": lat.len(), "p50_ms": p50, "p99_ms": p99, "reads_mean": mean_reads, "reads_max": max_reads})
}

/// Cheap deterministic pseudo-random numbers (the benchmark needs no crypto).
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

fn run(args: Args) -> Result<serde_json::Value, String> {
    let tree_db = Scratch::new(&args.database_url, "")?;
    let chain_db = Scratch::new(&args.database_url, "-chain")?;
    let tree_pool = app::prepare(&tree_db.url, 8)?;
    let chain_pool = app::prepare(&chain_db.url, 2)?;

    // 1. Side by side, in alternating blocks.
    let block = (args.appends / 8).max(1);
    let (mut with_tree, mut without) = (0.0, 0.0);
    let mut done = 0;
    while done < args.appends {
        with_tree += appends(&tree_pool, block, store::append)?;
        without += appends(&chain_pool, block, store::append_chain_only)?;
        done += block;
    }
    let (tree_rate, chain_rate) = (done as f64 / with_tree, done as f64 / without);
    println!("appends, one transaction each, {done} per ledger:");
    println!(
        "  chain + tree {tree_rate:9.1}/s   chain only {chain_rate:9.1}/s   ratio {:.3}",
        tree_rate / chain_rate
    );
    drop(chain_pool);
    drop(chain_db);

    // 2. Grow to the target size in batches.
    let t = Instant::now();
    let mut conn = tree_pool.get().map_err(|e| e.to_string())?;
    let mut size = store::head(&mut conn)
        .map_err(|e| e.to_string())?
        .map_or(0, |(s, _)| s as u64 + 1);
    let start = size;
    while size < args.entries {
        let batch = (args.entries - size).min(10_000);
        write_tx(&mut conn, |c| {
            for i in 0..batch {
                store::append(c, entry(size + i))?;
            }
            Ok::<_, StoreError>(())
        })
        .map_err(|e| e.to_string())?;
        size += batch;
        if size % 100_000 < batch {
            eprintln!(
                "  grown to {size} entries ({:.0}/s)",
                (size - start) as f64 / t.elapsed().as_secs_f64()
            );
        }
    }
    let grow_rate = (size - start) as f64 / t.elapsed().as_secs_f64();
    println!(
        "grew to {size} entries at {grow_rate:.0} appends/s (batches of 10,000 per transaction)"
    );

    // 3a. Proofs in-process: the server-side work without HTTP.
    let mut rng = Lcg(7);
    let (mut inc, mut inc_reads, mut con, mut con_reads) = (vec![], vec![], vec![], vec![]);
    for _ in 0..args.proofs {
        let seq = rng.below(size);
        let from = 1 + rng.below(size - 1);
        let t = Instant::now();
        let p = tree::inclusion(&mut conn, seq, size).map_err(|e| format!("{e:?}"))?;
        inc.push(t.elapsed());
        inc_reads.push(p.node_reads);
        let t = Instant::now();
        let p = tree::consistency(&mut conn, from, size).map_err(|e| format!("{e:?}"))?;
        con.push(t.elapsed());
        con_reads.push(p.node_reads);
    }
    drop(conn);
    println!("proofs at {size} entries, built in-process from the database:");
    let inproc = json!({
        "inclusion": summary("inclusion", inc, &inc_reads),
        "consistency": summary("consistency", con, &con_reads),
    });

    // 3b. Proofs over HTTP from the real server.
    let http =
        actix_web::rt::System::new().block_on(proofs_over_http(tree_pool.clone(), size, &args))?;
    Ok(json!({
        "backend": if DbUrl::parse(&args.database_url)?.is_sqlite() { "sqlite" } else { "postgres" },
        "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "appends": {"per_ledger": done, "tree_per_s": tree_rate, "chain_only_per_s": chain_rate, "ratio": tree_rate / chain_rate},
        "grow": {"entries": size, "appends_per_s": grow_rate},
        "proofs_in_process": inproc,
        "proofs_http": http,
    }))
}

async fn proofs_over_http(pool: Pool, size: u64, args: &Args) -> Result<serde_json::Value, String> {
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let keys = Keys::from_secret(secret.as_bytes());
    let token = keys.mint(&Claims {
        sub: "treebench".into(),
        role: Role::Auditor,
        agency: None,
        partner: None,
        exp: chrono::Utc::now().timestamp() + 3600,
    })?;
    let log = LogKey::generate("treebench/escalation-ledger")?;
    // A benchmark of the tree, not of the rate limiter.
    let unlimited = app::Settings {
        rate_limit_per_subject: 0,
        rate_limit_per_address: 0,
        ..app::Settings::default()
    };
    let (server, addr) =
        app::start(pool, keys, log, unlimited, "127.0.0.1:0", 2).map_err(|e| e.to_string())?;
    actix_web::rt::spawn(server);
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .finish();
    let mut out = json!({});
    for kind in ["inclusion", "consistency"] {
        let per = args.proofs / args.clients.max(1);
        let runs = (0..args.clients.max(1)).map(|c| {
            let client = &client;
            let token = &token;
            async move {
                let mut rng = Lcg(100 + c as u64);
                let (mut lat, mut reads) = (Vec::with_capacity(per), Vec::with_capacity(per));
                for _ in 0..per {
                    let q = if kind == "inclusion" {
                        format!("seq={}&size={size}", rng.below(size))
                    } else {
                        format!("from={}&to={size}", 1 + rng.below(size - 1))
                    };
                    let t = Instant::now();
                    let mut res = client
                        .get(format!("http://{addr}/v1/ledger/proofs/{kind}?{q}"))
                        .bearer_auth(token)
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    let body: serde_json::Value = res.json().await.map_err(|e| e.to_string())?;
                    lat.push(t.elapsed());
                    if !res.status().is_success() {
                        return Err(format!("{kind} proof failed: {body}"));
                    }
                    reads.push(body["node_reads"].as_u64().unwrap_or(0));
                }
                Ok::<_, String>((lat, reads))
            }
        });
        let (mut lat, mut reads) = (vec![], vec![]);
        for r in join_all(runs).await {
            let (l, n) = r?;
            lat.extend(l);
            reads.extend(n);
        }
        if kind == "inclusion" {
            println!(
                "proofs at {size} entries over HTTP ({} clients, loopback):",
                args.clients
            );
        }
        out[kind] = summary(kind, lat, &reads);
    }
    Ok(out)
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(result) => {
            println!("RESULT {result}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
