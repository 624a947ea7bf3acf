//! The command line and its environment variables. Every knob has a default
//! that works on a fresh machine (see the README's configuration table).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::auth::{self, Keys};
use crate::ladder::{Partner, Role};

#[derive(Debug, Parser)]
#[command(
    name = "escalation-ledger",
    version,
    about = "The KRSCP escalation ladder with a hash-chained ledger"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Debug, Args, Clone)]
pub struct Common {
    /// Folder for the embedded database, the token secret and other local state.
    #[arg(long, env = "DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// Token signing secret (at least 32 characters). Default: `DATA_DIR/jwt-secret`,
    /// created on first start.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,
    /// The log's Ed25519 signer key (C2SP key string). Default: `DATA_DIR/log-key`,
    /// created on first start.
    #[arg(long, env = "LOG_KEY_FILE", global = true)]
    pub log_key_file: Option<PathBuf>,
    /// The checkpoint origin line, also the log key's name.
    #[arg(
        long,
        env = "LOG_ORIGIN",
        default_value = "krscp/escalation-ledger",
        global = true
    )]
    pub log_origin: String,
    /// `text` or `json` log lines; the level comes from `RUST_LOG`.
    #[arg(long, env = "LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args, Clone)]
pub struct DbArgs {
    /// `sqlite://PATH` or `postgres://...`. Default: `sqlite://DATA_DIR/escalation-ledger.db`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run the service (the default when no command is given).
    Serve(ServeArgs),
    /// Apply pending migrations and seed the agency registry.
    Migrate(DbArgs),
    /// Print a bearer token that `serve` accepts.
    Token(TokenArgs),
    /// Check the whole ledger and the tables built from it; non-zero exit if anything is wrong.
    Verify(DbArgs),
    /// Print the OpenAPI document.
    #[command(hide = true)]
    Openapi,
    /// Write the whole ledger as an audit bundle: DIR/bundle.jsonl, checkpoint.txt, keys.json.
    Export(ExportArgs),
    /// Check an audit bundle offline (no database, no server); exit 0 intact, 1 tampered, 2 unreadable.
    Audit(AuditArgs),
    /// Write a valid synthetic bundle of N entries, for benchmarking `audit`.
    #[command(hide = true)]
    BundleSynth(SynthArgs),
}

#[derive(Debug, Args, Clone)]
pub struct ExportArgs {
    /// The directory to write (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args, Clone)]
pub struct AuditArgs {
    /// The export directory, or its bundle.jsonl.
    pub bundle: PathBuf,
    /// A checkpoint note saved earlier (e.g. an old checkpoint.txt), signed by the log key.
    #[arg(long)]
    pub trusted_checkpoint: Option<PathBuf>,
    /// The log's verifier key to trust; default: the key named in the bundle (with a warning).
    #[arg(long)]
    pub log_key: Option<String>,
    /// A witness's cosignature verifier key; repeatable.
    #[arg(long = "witness-key")]
    pub witness_keys: Vec<String>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct SynthArgs {
    #[arg(long)]
    pub entries: u64,
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    #[arg(long = "bind", env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind: String,
    #[command(flatten)]
    pub db: DbArgs,
    /// HTTP worker threads; default: one per core.
    #[arg(long, env = "WORKERS")]
    pub workers: Option<usize>,
    /// Database connections in the pool.
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 8)]
    pub pool_size: u32,
    /// How often to sign a checkpoint while the ledger grows, e.g. `5m`.
    #[arg(long, env = "CHECKPOINT_INTERVAL", default_value = "5m", value_parser = humantime::parse_duration)]
    pub checkpoint_interval: std::time::Duration,
}

/// `serve` with nothing but its defaults and environment, for a bare `cargo run`.
#[derive(Debug, Parser)]
#[command(name = "escalation-ledger")]
pub struct ServeOnly {
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl ServeArgs {
    pub fn from_env() -> Self {
        ServeOnly::parse_from(["escalation-ledger"]).serve
    }
}

#[derive(Debug, Args, Clone)]
pub struct TokenArgs {
    #[arg(long)]
    pub sub: String,
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// The agency id, for `--role agency`.
    #[arg(long)]
    pub agency: Option<String>,
    /// `la`, `icb` or `police`, for `statutory_partner` and `chief_officer`.
    #[arg(long, value_parser = parse_partner)]
    pub partner: Option<Partner>,
    /// How long the token lives, e.g. `8h`, `30m`.
    #[arg(long, default_value = "8h", value_parser = humantime::parse_duration)]
    pub ttl: std::time::Duration,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

fn parse_partner(s: &str) -> Result<Partner, String> {
    s.parse()
}

impl Common {
    pub fn database_url(&self, db: &DbArgs) -> String {
        db.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}",
                self.data_dir.join("escalation-ledger.db").display()
            )
        })
    }

    /// The log's signing key: `LOG_KEY_FILE`, else the data dir's `log-key`.
    pub fn log_key(&self) -> Result<crate::checkpoint::LogKey, String> {
        let path = self
            .log_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("log-key"));
        crate::checkpoint::LogKey::load_or_create(&path, &self.log_origin)
    }

    /// The token keys: `JWT_SECRET` if set, else the data dir's secret file.
    pub fn keys(&self) -> Result<Keys, String> {
        if let Some(s) = &self.jwt_secret {
            if s.len() < 32 {
                return Err("JWT_SECRET must be at least 32 characters".into());
            }
            return Ok(Keys::from_secret(s.as_bytes()));
        }
        let path = self.data_dir.join("jwt-secret");
        auth::load_or_create_secret(&path)
            .map(|s| Keys::from_secret(&s))
            .map_err(|e| format!("token secret {}: {e}", path.display()))
    }
}
