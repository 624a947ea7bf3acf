//! The command line and its environment variables. Every knob has a default
//! that works on a fresh machine (see the README's configuration table).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::core::ladder::{Partner, Role};
use crate::http::auth::{self, Authenticator, Keys};
use crate::service::keys;

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
    /// The key whistleblowers' pseudonyms are derived with (hex, at least 32
    /// bytes). Default: `DATA_DIR/whistleblowing-key`, created on first start.
    #[arg(long, env = "WHISTLEBLOWING_KEY_FILE", global = true)]
    pub whistleblowing_key_file: Option<PathBuf>,
    /// The checkpoint origin line, also the log key's name.
    #[arg(
        long,
        env = "LOG_ORIGIN",
        default_value = "krscp/escalation-ledger",
        global = true
    )]
    pub log_origin: String,
    /// The bank holiday feed (GOV.UK `bank-holidays.json` shape) deadlines count
    /// with. Default: `DATA_DIR/bank-holidays.json` if one was imported, else the
    /// feed built into the binary. `holidays import` installs here.
    #[arg(long, env = "HOLIDAYS_FILE", global = true)]
    pub holidays_file: Option<PathBuf>,
    /// How SQLite syncs at commit: `full` (default: an acknowledged action is
    /// in the synced WAL and survives an OS crash or power loss), `normal`
    /// (faster; an OS crash may lose the last acknowledged actions), `extra`.
    /// PostgreSQL keeps its own `synchronous_commit` (on).
    #[arg(
        long,
        env = "SQLITE_SYNCHRONOUS",
        default_value = "full",
        global = true
    )]
    pub sqlite_synchronous: SqliteSynchronous,
    /// The longest lifetime an HS256 token may claim: `serve` refuses a token
    /// whose `exp` is further ahead, and `token` will not mint one, e.g. `24h`.
    #[arg(long, env = "TOKEN_MAX_LIFETIME", default_value = "24h", value_parser = humantime::parse_duration, global = true)]
    pub token_max_lifetime: std::time::Duration,
    /// `text` or `json` log lines; the level comes from `RUST_LOG`.
    #[arg(long, env = "LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: LogFormat,
    /// For tests only: the process's clock starts at this RFC 3339 instant and
    /// runs on from there (`core::clock`). Unset in production.
    #[arg(long, env = "TEST_CLOCK", hide = true, global = true, value_parser = parse_instant)]
    pub test_clock: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SqliteSynchronous {
    Normal,
    Full,
    Extra,
}

impl From<SqliteSynchronous> for crate::store::db::SqliteSync {
    fn from(s: SqliteSynchronous) -> Self {
        use crate::store::db::SqliteSync;
        match s {
            SqliteSynchronous::Normal => SqliteSync::Normal,
            SqliteSynchronous::Full => SqliteSync::Full,
            SqliteSynchronous::Extra => SqliteSync::Extra,
        }
    }
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
    Serve(Box<ServeArgs>),
    /// Apply pending migrations and seed the agency registry.
    Migrate(DbArgs),
    /// Print a bearer token that `serve` accepts.
    Token(TokenArgs),
    /// Check the whole ledger and the tables built from it; non-zero exit if anything is wrong.
    Verify(DbArgs),
    /// Act as a partner witness: cosign the service's newest checkpoint once it
    /// is proven consistent with the last one cosigned (run it from cron); or,
    /// with --generate-key, make the witness's key.
    Witness(WitnessArgs),
    /// The bank holiday feed: check and install a new one, or show the one in use.
    Holidays(HolidaysArgs),
    /// Print the OpenAPI document.
    #[command(hide = true)]
    Openapi,
    /// Write the whole ledger as an audit bundle: DIR/bundle.jsonl, checkpoint.txt, keys.json.
    Export(ExportArgs),
    /// A consistent online copy of a SQLite database (WAL included) to FILE,
    /// verified; for PostgreSQL it refuses and points to `pg_dump`.
    Backup(BackupArgs),
    /// Rebuild an EMPTY database (either backend) from an export bundle: audit
    /// it, replay every entry through the projections, store the checkpoint
    /// and cosignatures, run verify, all in one transaction; prints the head
    /// hash and root. Refuses a non-empty database or a bundle that fails the audit.
    Restore(RestoreArgs),
    /// GET URL and exit 0 on a 2xx answer, else 1: the container's
    /// HEALTHCHECK (the image has no shell or curl).
    #[command(hide = true)]
    Probe {
        /// e.g. `http://127.0.0.1:8080/readyz`; plain http only.
        #[arg(long, default_value = "http://127.0.0.1:8080/readyz")]
        url: String,
    },
    /// Check an audit bundle, or a proof file (--proof), offline (no database,
    /// no server); exit 0 intact, 1 tampered, 2 unreadable.
    Audit(AuditArgs),
    /// Print the C2SP tlog-proof file of entry --seq N (or of dispute
    /// --dispute ID's resolving or latest entry) against the newest cosigned
    /// checkpoint covering it.
    Proof(ProofArgs),
    /// The annual report's escalation figures, offline from an export bundle:
    /// RFC 8785 JSON on stdout, byte-identical to GET /v1/reports/escalations
    /// at the bundle's size. Exit 2 if the bundle cannot be read.
    Report(ReportArgs),
    /// Write a valid synthetic bundle of N entries, for benchmarking `audit`.
    #[command(hide = true)]
    BundleSynth(SynthArgs),
    /// Ladder policy documents: check one before activating it (POST /v1/policies).
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Working-time arithmetic, counted as the service counts deadlines.
    #[command(subcommand)]
    Calendar(CalendarCmd),
    /// Replace the log's signing key, with the service stopped: make a new
    /// key, record it in the ledger (a `log_key_recorded` entry), then put it
    /// in place of the old one, which is kept beside it as `*.retired-<key id>`.
    RotateLogKey(DbArgs),
    /// Print a one-time sign-in URL for the console (single use, valid for 10 minutes).
    ConsoleLink(ConsoleLinkArgs),
}

impl Cmd {
    /// For the commands that may create the service's key files and its
    /// database, the first start: only `serve` and `migrate`. Their database,
    /// and whether they need the HS256 token secret (not with a JWKS). `None`
    /// for every other command, which then only reads keys. No wildcard: a
    /// new command must say which it is.
    pub fn first_start(&self) -> Option<(&DbArgs, bool)> {
        match self {
            Cmd::Serve(a) => Some((
                &a.db,
                a.auth.jwks_file.is_none() && a.auth.jwks_url.is_none(),
            )),
            Cmd::Migrate(db) => Some((db, true)),
            Cmd::Token(_)
            | Cmd::Verify(_)
            | Cmd::Witness(_)
            | Cmd::Holidays(_)
            | Cmd::Openapi
            | Cmd::Export(_)
            | Cmd::Backup(_)
            | Cmd::Probe { .. }
            | Cmd::Audit(_)
            | Cmd::Proof(_)
            | Cmd::Report(_)
            | Cmd::BundleSynth(_)
            | Cmd::Policy(_)
            | Cmd::Restore(_)
            | Cmd::Calendar(_)
            | Cmd::RotateLogKey(_)
            | Cmd::ConsoleLink(_) => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum CalendarCmd {
    /// Print when a deadline counted from --from falls due, as RFC 3339 UTC:
    /// 17:00 London time on the N-th working day after the London date of
    /// --from, or N working hours (09:00 to 17:00 London time, Monday to
    /// Friday less bank holidays) after it. Holidays come from the feed
    /// `serve` uses (--holidays-file / HOLIDAYS_FILE, else
    /// DATA_DIR/bank-holidays.json if imported, else the built-in feed).
    /// Exit 1 if the feed is refused, 2 if the answer is out of range.
    Due(DueArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["working_days", "working_hours"])))]
pub struct DueArgs {
    /// The instant the clock starts, RFC 3339 (e.g. 2027-03-26T16:00:00Z).
    #[arg(long, value_parser = parse_instant)]
    pub from: chrono::DateTime<chrono::Utc>,
    /// Due at 17:00 London time on the N-th working day after --from's London date.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub working_days: Option<u32>,
    /// Due N working hours after --from.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub working_hours: Option<u32>,
}

fn parse_instant(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("not an RFC 3339 instant (e.g. 2027-03-26T16:00:00Z): {e}"))
}

#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Validate a policy document: print its version, SHA-256 and rungs, or
    /// the first error with its line and column (exit 1).
    Check {
        /// The TOML document.
        file: PathBuf,
    },
    /// Print a shipped policy document (`krscp-2024-02`, `wt-2023`), to start a new one from.
    Show { version: String },
}

#[derive(Debug, Args, Clone)]
pub struct HolidaysArgs {
    #[command(subcommand)]
    pub command: HolidaysCmd,
}

#[derive(Debug, Subcommand, Clone)]
pub enum HolidaysCmd {
    /// Check FILE (GOV.UK bank-holidays.json shape, England and Wales) and install
    /// it where `serve` reads the feed (`HOLIDAYS_FILE`, else
    /// `DATA_DIR/bank-holidays.json`), atomically; a running `serve` picks it up.
    /// Exit 1 if the file is refused (nothing is installed), 2 if it cannot be read or written.
    Import {
        /// The feed to install, e.g. a download of https://www.gov.uk/bank-holidays.json.
        file: PathBuf,
    },
    /// Print where `serve` reads the feed and the years it covers.
    Show,
}

impl Common {
    /// Where the bank holiday feed is read and installed.
    pub fn holidays(&self) -> crate::service::holidays::FeedSource {
        crate::service::holidays::FeedSource::new(self.holidays_file.clone(), &self.data_dir)
    }
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
pub struct BackupArgs {
    /// The file to write; it must not exist.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args, Clone)]
pub struct RestoreArgs {
    /// The export directory, or its bundle.jsonl.
    #[arg(long)]
    pub bundle: PathBuf,
    /// The log's verifier key to trust; default: the key named in the bundle (with a warning).
    #[arg(long)]
    pub log_key: Option<String>,
    /// A witness's cosignature verifier key the audit must check; repeatable.
    #[arg(long = "witness-key")]
    pub witness_keys: Vec<String>,
    /// A policy document activated in the ledger but not shipped with the
    /// binary (an activation records only its hash); repeatable.
    #[arg(long = "policy")]
    pub policies: Vec<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args, Clone)]
pub struct AuditArgs {
    /// The export directory, or its bundle.jsonl (not with --proof).
    #[arg(required_unless_present = "proof", conflicts_with = "proof")]
    pub bundle: Option<PathBuf>,
    /// A `.tlog-proof` file (C2SP tlog-proof v1, from GET /v1/disputes/{id}/proof
    /// or `escalation-ledger proof`) to verify offline instead of a bundle; needs --policy.
    #[arg(long, requires = "policy")]
    pub proof: Option<PathBuf>,
    /// A C2SP tlog-policy file: the log keys and witnesses trusted and the
    /// quorum. With a bundle, its checkpoint must meet it too.
    #[arg(long)]
    pub policy: Option<PathBuf>,
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
pub struct ProofArgs {
    /// The entry's `seq`.
    #[arg(long, required_unless_present = "dispute", conflicts_with = "dispute")]
    pub seq: Option<i64>,
    /// A dispute id: its resolving (or latest) entry.
    #[arg(long)]
    pub dispute: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// The export directory, or its bundle.jsonl.
    #[arg(long)]
    pub bundle: PathBuf,
    /// First day of the period, a London date (YYYY-MM-DD), inclusive.
    #[arg(long)]
    pub from: String,
    /// Last day of the period, a London date (YYYY-MM-DD), inclusive.
    #[arg(long)]
    pub to: String,
    /// `internal` or `public` (small counts suppressed).
    #[arg(long, default_value = "internal")]
    pub audience: String,
    /// With `public`: suppress every count from 1 to this minus one; the
    /// server's setting must match for byte-identical output.
    #[arg(long, env = "REPORT_SUPPRESS_BELOW", default_value_t = crate::core::report::DEFAULT_SUPPRESS_BELOW, value_parser = clap::value_parser!(u64).range(1..))]
    pub suppress_below: u64,
}

#[derive(Debug, Args, Clone)]
pub struct SynthArgs {
    #[arg(long)]
    pub entries: u64,
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args, Clone)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct WitnessArgs {
    #[command(subcommand)]
    pub cmd: Option<WitnessCmd>,
    /// Write a new cosigner key named NAME to --key-file (mode 0600) and print
    /// its verifier key, for registration; nothing else.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["url", "state", "log_key"])]
    pub generate_key: Option<String>,
    /// With --generate-key: make an ML-DSA-44 key (C2SP tlog-cosignature type
    /// 0x06) instead of an Ed25519 `cosignature/v1` one.
    #[arg(long = "ml-dsa-44", requires = "generate_key")]
    pub ml_dsa_44: bool,
    /// The witness's cosigner key string.
    #[arg(long, value_name = "FILE", required = true)]
    pub key_file: Option<PathBuf>,
    /// The service's base URL.
    #[arg(long, required_unless_present = "generate_key")]
    pub url: Option<String>,
    /// The witness's state file (JSON), created on the first run.
    #[arg(long, value_name = "FILE", required_unless_present = "generate_key")]
    pub state: Option<PathBuf>,
    /// A bearer token for the service.
    #[arg(long, env = "WITNESS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The log's verifier key to pin on the first run (default: trust on first use).
    #[arg(long, value_name = "VKEY")]
    pub log_key: Option<String>,
}

#[derive(Debug, Subcommand, Clone)]
pub enum WitnessCmd {
    /// Run a C2SP tlog-witness server for this log: the log POSTs
    /// `add-checkpoint` to http://ADDR/ (register that URL with the witness's
    /// key); it checks the log's signature and the consistency proof from the
    /// size in --state, saves the new size before answering, and returns its
    /// cosignature. Prints `witness listening on http://ADDR`.
    Serve(WitnessServeArgs),
}

#[derive(Debug, Args, Clone)]
pub struct WitnessServeArgs {
    /// The witness's cosigner key string (made with `witness --generate-key`).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The log's verifier key (`name+keyid+base64`); its name is the origin.
    #[arg(long, value_name = "VKEY")]
    pub log_key: String,
    /// The witness's state (JSON, as the pull client's), created if missing.
    #[arg(long, value_name = "FILE")]
    pub state: PathBuf,
    /// Where to listen; port 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8090")]
    pub bind: String,
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
    /// How long a request waits for a database connection before it is
    /// answered 503 with `Retry-After`, e.g. `3s`.
    #[arg(long, env = "DB_POOL_WAIT", default_value = "3s", value_parser = humantime::parse_duration)]
    pub pool_wait: std::time::Duration,
    /// How long a request body may take to arrive in full before the request
    /// is answered 408 and its connection closed, e.g. `10s`.
    #[arg(long, env = "BODY_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub body_read_timeout: std::time::Duration,
    /// Ledger writes per transaction at most (the sequencer's batch; 1 turns
    /// batching off).
    #[arg(long, env = "BATCH_MAX", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub batch_max: u32,
    /// How long the sequencer waits for more writes once the first of a batch
    /// has arrived, e.g. `1ms`; `0s` takes only what is already waiting.
    #[arg(long, env = "BATCH_LINGER", default_value = "1ms", value_parser = humantime::parse_duration)]
    pub batch_linger: std::time::Duration,
    /// How often to sign a checkpoint while the ledger grows, e.g. `5m`.
    #[arg(long, env = "CHECKPOINT_INTERVAL", default_value = "5m", value_parser = humantime::parse_duration)]
    pub checkpoint_interval: std::time::Duration,
    /// How often to record missed deadlines (`deadline_missed` entries), e.g. `1m`;
    /// `0s` turns the sweeper off.
    #[arg(long, env = "DEADLINE_SWEEP", default_value = "1m", value_parser = humantime::parse_duration)]
    pub deadline_sweep: std::time::Duration,
    /// Warn of a deadline this many working hours ahead (a `deadline_approaching`
    /// entry and notification, once per dispute and rung); 8 is one working day,
    /// 0 turns warnings off.
    #[arg(long, env = "DEADLINE_WARNING_HOURS", default_value_t = crate::service::deadline::DEFAULT_WARNING_HOURS)]
    pub deadline_warning_hours: u32,
    /// How often to re-read the bank holiday feed file for a replacement, e.g.
    /// `1m`; `0s` reads it only at start.
    #[arg(long, env = "HOLIDAYS_RELOAD", default_value = "1m", value_parser = humantime::parse_duration)]
    pub holidays_reload: std::time::Duration,
    /// How often the witness pusher looks for registered witnesses with a URL
    /// that have not cosigned the newest checkpoint (C2SP tlog-witness
    /// `add-checkpoint`); 0 disables pushing.
    #[arg(long, env = "WITNESS_PUSH_POLL", default_value = "2s", value_parser = humantime::parse_duration)]
    pub witness_push_poll: std::time::Duration,
    /// Witness cosignatures a checkpoint needs to count as fully witnessed:
    /// a number (at least 1), or the path of a C2SP tlog-policy file, whose
    /// quorum's fewest cosignatures it then is (the whole rule is what
    /// `audit --policy` and the proof verifier enforce).
    #[arg(long, env = "WITNESS_QUORUM", default_value = "3", value_parser = parse_quorum)]
    pub witness_quorum: crate::core::tlog_policy::WitnessQuorum,
    /// Requests per minute per token subject (`sub`); 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT_PER_SUBJECT", default_value_t = 600)]
    pub rate_limit_per_subject: u32,
    /// Requests per minute per client address; 0 turns the limit off.
    #[arg(long, env = "RATE_LIMIT_PER_ADDRESS", default_value_t = 1200)]
    pub rate_limit_per_address: u32,
    /// Take the client address from `Forwarded`/`X-Forwarded-For` rather than
    /// the TCP peer: only behind a proxy that overwrites those headers.
    #[arg(long, env = "TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Public reports (`GET /v1/reports/escalations?audience=public`) suppress
    /// every count from 1 to this minus one.
    #[arg(long, env = "REPORT_SUPPRESS_BELOW", default_value_t = crate::core::report::DEFAULT_SUPPRESS_BELOW, value_parser = clap::value_parser!(u64).range(1..))]
    pub report_suppress_below: u64,
    /// Serve `GET /metrics` (Prometheus text, no token) on this separate
    /// address, e.g. `127.0.0.1:9464`; unset: no metrics listener.
    #[arg(long, env = "METRICS_BIND")]
    pub metrics_bind: Option<String>,
    /// On SIGTERM: how long requests in flight and the background tasks'
    /// work in progress may take before the process exits, e.g. `30s`.
    #[arg(long, env = "SHUTDOWN_GRACE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: std::time::Duration,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub outbox: OutboxArgs,
    #[command(flatten)]
    pub console: ConsoleArgs,
    #[command(flatten)]
    pub mail: MailArgs,
}

/// The console (`/console/`, see `docs/console.md`).
#[derive(Debug, Args, Clone)]
pub struct ConsoleArgs {
    /// Where people reach the service, e.g. `https://ladder.example.org`: sign-in
    /// and email links start with it, and `https` makes the session cookie
    /// `Secure`. Default: `http://` and `BIND_ADDR` (`0.0.0.0` read as `127.0.0.1`).
    #[arg(long, env = "PUBLIC_BASE_URL")]
    pub public_base_url: Option<String>,
    /// A console session unused for this long is signed out, e.g. `30m`.
    #[arg(long, env = "CONSOLE_IDLE_TIMEOUT", default_value = "30m", value_parser = humantime::parse_duration)]
    pub console_idle_timeout: std::time::Duration,
    /// A console session ends this long after signing in, however busy, e.g. `12h`.
    #[arg(long, env = "CONSOLE_SESSION_LIFETIME", default_value = "12h", value_parser = humantime::parse_duration)]
    pub console_session_lifetime: std::time::Duration,
    /// The console's OpenID Connect client id: set, the sign-in page offers
    /// "Sign in with your organisation" (authorisation code flow with PKCE).
    /// The issuer sends people back to `PUBLIC_BASE_URL/console/oidc/callback`.
    #[arg(long, env = "OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// The client secret, for a confidential client (Entra ID's "Web" platform).
    #[arg(long, env = "OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// The issuer to sign in with. Default: the first `JWT_ISSUER`.
    #[arg(long, env = "OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// Scopes asked for beside `openid` (comma-separated), e.g. `profile`.
    #[arg(long, env = "OIDC_SCOPES", value_delimiter = ',')]
    pub oidc_scopes: Vec<String>,
}

impl ConsoleArgs {
    /// The console's OpenID Connect client, if `OIDC_CLIENT_ID` is set: the
    /// issuer from `OIDC_ISSUER` or the API's `JWT_ISSUER`, and the API's
    /// claims map (`CLAIMS_MAP`), so roles come through the same mapping.
    pub fn oidc_config(
        &self,
        auth: &AuthArgs,
    ) -> Result<Option<crate::http::console::oidc::OidcConfig>, String> {
        let Some(client_id) = self
            .oidc_client_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        else {
            return Ok(None);
        };
        let issuer = self
            .oidc_issuer
            .iter()
            .chain(auth.jwt_issuer.iter())
            .map(|s| s.trim().to_string())
            .find(|s| !s.is_empty())
            .ok_or("OIDC_CLIENT_ID needs OIDC_ISSUER or JWT_ISSUER: the issuer to sign in with")?;
        if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
            return Err(format!("OIDC_ISSUER '{issuer}': not an http(s) URL"));
        }
        let claims = match &auth.claims_map {
            Some(p) => crate::http::jwks::ClaimsMap::load(p)?,
            None => crate::http::jwks::ClaimsMap::default(),
        };
        Ok(Some(crate::http::console::oidc::OidcConfig {
            issuer,
            client_id: client_id.to_string(),
            client_secret: self
                .oidc_client_secret
                .clone()
                .filter(|s| !s.trim().is_empty()),
            scopes: self
                .oidc_scopes
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty() && s != "openid")
                .collect(),
            claims,
        }))
    }
}

/// `PUBLIC_BASE_URL`, or the address `BIND_ADDR` serves on.
pub fn public_base_url(explicit: Option<&str>, bind: &str) -> String {
    match explicit {
        Some(u) if !u.trim().is_empty() => u.trim().trim_end_matches('/').to_string(),
        _ => {
            let host = bind
                .strip_prefix("0.0.0.0:")
                .map(|port| format!("127.0.0.1:{port}"))
                .or_else(|| {
                    bind.strip_prefix("[::]:")
                        .map(|port| format!("[::1]:{port}"))
                })
                .unwrap_or_else(|| bind.to_string());
            format!("http://{host}")
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct ConsoleLinkArgs {
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
    /// The start of the URL. Default: `PUBLIC_BASE_URL`, else from `BIND_ADDR`.
    #[arg(long, env = "PUBLIC_BASE_URL")]
    pub base_url: Option<String>,
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080", hide = true)]
    pub bind: String,
    #[command(flatten)]
    pub db: DbArgs,
    /// The console page to land on after sign-in, e.g. `/console/disputes/ID`
    /// (a path starting `/console/`; anything else is refused).
    #[arg(long)]
    pub next: Option<String>,
}

/// Email (see the README's "Email"): the backend and its settings. Who gets
/// email is set through the API (`PUT /v1/admin/email/recipients`).
#[derive(Debug, Args, Clone)]
pub struct MailArgs {
    /// `none` (default: emails are queued, not sent), `smtp` or `notify`.
    #[arg(long, env = "EMAIL_BACKEND", default_value = "none")]
    pub email_backend: EmailBackend,
    /// The sender of SMTP email, e.g. `Escalations <escalations@example.org>`.
    #[arg(long, env = "EMAIL_FROM")]
    pub email_from: Option<String>,
    /// SMTP in one URL (lettre's form): `smtps://user:pass@host:465`,
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtp://127.0.0.1:25`
    /// (plain). Instead of SMTP_HOST and the rest.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    #[arg(long, env = "SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// Default: 587 for starttls, 465 for tls, 25 for none.
    #[arg(long, env = "SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// `starttls` (default), `tls` (implicit TLS) or `none` (a relay on localhost only).
    #[arg(long, env = "SMTP_TLS", default_value = "starttls")]
    pub smtp_tls: String,
    #[arg(long, env = "SMTP_USER")]
    pub smtp_user: Option<String>,
    #[arg(long, env = "SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// A GOV.UK Notify API key, `{name}-{service id}-{secret key}`.
    #[arg(long, env = "NOTIFY_API_KEY", hide_env_values = true)]
    pub notify_api_key: Option<String>,
    /// Notify's API base URL (a stand-in for tests).
    #[arg(long, env = "NOTIFY_BASE_URL", default_value = crate::workers::mailer::NOTIFY_BASE_URL)]
    pub notify_base_url: String,
    /// The Notify email template of every event without its own (a UUID).
    #[arg(long, env = "NOTIFY_TEMPLATE_ID")]
    pub notify_template_id: Option<String>,
    /// Templates per event, `event=template-id,...` (e.g. `escalated=...,resolved=...`).
    #[arg(long, env = "NOTIFY_TEMPLATES", value_delimiter = ',')]
    pub notify_templates: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EmailBackend {
    None,
    Smtp,
    Notify,
}

/// Check `PUBLIC_BASE_URL`: `http://` or `https://` with a host; no query.
pub fn checked_public_base_url(given: Option<&str>, bound: &str) -> Result<String, String> {
    let Some(u) = given else {
        return Ok(format!("http://{bound}"));
    };
    let bad = |why: &str| format!("PUBLIC_BASE_URL '{u}': {why}");
    let uri: http::Uri = u.parse().map_err(|_| bad("not a URL"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(bad("use http:// or https://"));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if uri.query().is_some() {
        return Err(bad("no query string"));
    }
    Ok(u.trim_end_matches('/').to_string())
}

impl MailArgs {
    /// The mailer's backend, every setting checked; `None` with no backend.
    /// Settings of a backend not chosen are refused, so a typo in
    /// `EMAIL_BACKEND` cannot silently send nothing.
    pub fn backend(&self) -> Result<Option<crate::workers::mailer::Backend>, String> {
        use crate::workers::mailer::{Backend, NotifyApi, NotifyKey, SmtpSettings, SmtpTls};
        let smtp_set = self.smtp_url.is_some() || self.smtp_host.is_some();
        let notify_set = self.notify_api_key.is_some() || self.notify_template_id.is_some();
        match self.email_backend {
            EmailBackend::None => {
                if smtp_set || notify_set {
                    return Err(
                        "SMTP_* or NOTIFY_* settings are given but EMAIL_BACKEND is none: \
                         set EMAIL_BACKEND=smtp or EMAIL_BACKEND=notify"
                            .into(),
                    );
                }
                Ok(None)
            }
            EmailBackend::Smtp => {
                if notify_set {
                    return Err("NOTIFY_* settings are given but EMAIL_BACKEND is smtp".into());
                }
                let from = self
                    .email_from
                    .clone()
                    .ok_or("EMAIL_BACKEND=smtp needs EMAIL_FROM")?;
                let tls: SmtpTls = self.smtp_tls.parse()?;
                Backend::smtp(&SmtpSettings {
                    url: self.smtp_url.clone(),
                    host: self.smtp_host.clone(),
                    port: self.smtp_port,
                    tls,
                    user: self.smtp_user.clone(),
                    password: self.smtp_password.clone(),
                    from,
                    timeout: std::time::Duration::from_secs(30),
                })
                .map(Some)
            }
            EmailBackend::Notify => {
                if smtp_set {
                    return Err("SMTP_* settings are given but EMAIL_BACKEND is notify".into());
                }
                let key = NotifyKey::parse(
                    self.notify_api_key
                        .as_deref()
                        .ok_or("EMAIL_BACKEND=notify needs NOTIFY_API_KEY")?,
                )?;
                let uuid = |what: &str, v: &str| -> Result<String, String> {
                    uuid::Uuid::parse_str(v.trim())
                        .map(|u| u.to_string())
                        .map_err(|_| format!("{what} '{v}' is not a template id (a UUID)"))
                };
                let template = uuid(
                    "NOTIFY_TEMPLATE_ID",
                    self.notify_template_id
                        .as_deref()
                        .ok_or("EMAIL_BACKEND=notify needs NOTIFY_TEMPLATE_ID")?,
                )?;
                let mut templates = std::collections::BTreeMap::new();
                for pair in self
                    .notify_templates
                    .iter()
                    .filter(|p| !p.trim().is_empty())
                {
                    let (event, id) = pair.split_once('=').ok_or_else(|| {
                        format!("NOTIFY_TEMPLATES: '{pair}' is not event=template-id")
                    })?;
                    let event = event.trim();
                    if crate::core::event::LedgerEvent::parse(event).is_none() {
                        return Err(format!("NOTIFY_TEMPLATES: no event '{event}'"));
                    }
                    templates.insert(event.to_string(), uuid("NOTIFY_TEMPLATES", id)?);
                }
                let base: http::Uri = self.notify_base_url.parse().map_err(|_| {
                    format!("NOTIFY_BASE_URL '{}' is not a URL", self.notify_base_url)
                })?;
                if !matches!(base.scheme_str(), Some("http" | "https")) || base.host().is_none() {
                    return Err(format!(
                        "NOTIFY_BASE_URL '{}': use http:// or https:// with a host",
                        self.notify_base_url
                    ));
                }
                Ok(Some(Backend::Notify(NotifyApi {
                    base_url: self.notify_base_url.trim_end_matches('/').to_string(),
                    key,
                    template,
                    templates,
                })))
            }
        }
    }
}

/// The notification sender (see the README's "Notifications").
#[derive(Debug, Args, Clone)]
pub struct OutboxArgs {
    /// How often the sender looks for due webhook deliveries.
    #[arg(long, env = "OUTBOX_POLL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub outbox_poll: std::time::Duration,
    /// The first retry delay after a failed delivery; doubled each time (cap 1h), with jitter.
    #[arg(long, env = "OUTBOX_BACKOFF", default_value = "1s", value_parser = humantime::parse_duration)]
    pub outbox_backoff: std::time::Duration,
    /// Attempts before a delivery is marked `failed`.
    #[arg(long, env = "OUTBOX_MAX_ATTEMPTS", default_value_t = 12, value_parser = clap::value_parser!(i32).range(1..))]
    pub outbox_max_attempts: i32,
}

impl OutboxArgs {
    pub fn sender_config(&self) -> crate::workers::sender::SenderConfig {
        crate::workers::sender::SenderConfig {
            poll: self.outbox_poll.max(std::time::Duration::from_millis(10)),
            backoff: self.outbox_backoff,
            max_attempts: self.outbox_max_attempts,
            ..Default::default()
        }
    }
}

/// Production identity: asymmetric tokens checked against a JWKS. With neither
/// `JWKS_FILE` nor `JWKS_URL`, `serve` checks HS256 tokens with the secret.
#[derive(Debug, Args, Clone)]
pub struct AuthArgs {
    /// A JWKS file to check RS256/ES256/EdDSA tokens with (re-read like a URL).
    #[arg(long, env = "JWKS_FILE", conflicts_with = "jwks_url")]
    pub jwks_file: Option<PathBuf>,
    /// The issuer's `jwks_uri`, fetched at start and refreshed in the background.
    #[arg(long, env = "JWKS_URL")]
    pub jwks_url: Option<String>,
    /// Accepted `iss` (comma-separated for several); required with a JWKS.
    #[arg(long, env = "JWT_ISSUER", value_delimiter = ',')]
    pub jwt_issuer: Vec<String>,
    /// Accepted `aud` (comma-separated for several); required with a JWKS.
    #[arg(long, env = "JWT_AUDIENCE", value_delimiter = ',')]
    pub jwt_audience: Vec<String>,
    /// How often to re-read the JWKS; `0s` turns it off.
    #[arg(long, env = "JWKS_REFRESH", default_value = "10m", value_parser = humantime::parse_duration)]
    pub jwks_refresh: std::time::Duration,
    /// At most one re-read per this long for tokens naming an unknown `kid`.
    #[arg(long, env = "JWKS_MIN_REFETCH", default_value = "30s", value_parser = humantime::parse_duration)]
    pub jwks_min_refetch: std::time::Duration,
    /// A TOML (or `.json`) file mapping provider roles/groups to our roles.
    /// Default: the token's own `role`, `agency` and `partner` claims.
    #[arg(long, env = "CLAIMS_MAP")]
    pub claims_map: Option<PathBuf>,
}

impl AuthArgs {
    /// The JWKS configuration, if a JWKS is configured.
    pub fn jwks_config(&self) -> Result<Option<crate::http::jwks::JwksConfig>, String> {
        use crate::http::jwks::{ClaimsMap, JwksConfig, JwksSource};
        let source = match (&self.jwks_file, &self.jwks_url) {
            (None, None) => return Ok(None),
            (Some(_), Some(_)) => return Err("set JWKS_FILE or JWKS_URL, not both".into()),
            (Some(p), None) => JwksSource::File(p.clone()),
            (None, Some(u)) => JwksSource::Url(u.clone()),
        };
        let clean = |v: &[String]| -> Vec<String> {
            v.iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let claims = match &self.claims_map {
            Some(p) => ClaimsMap::load(p)?,
            None => ClaimsMap::default(),
        };
        let (issuers, audiences) = (clean(&self.jwt_issuer), clean(&self.jwt_audience));
        if issuers.is_empty() {
            return Err("JWT_ISSUER is required with a JWKS".into());
        }
        if audiences.is_empty() {
            return Err("JWT_AUDIENCE is required with a JWKS".into());
        }
        Ok(Some(JwksConfig {
            source,
            issuers,
            audiences,
            refresh: self.jwks_refresh,
            min_refetch: self.jwks_min_refetch,
            claims,
        }))
    }
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
    /// The database whose agency registry `--agency` is checked against.
    #[command(flatten)]
    pub db: DbArgs,
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

    /// Where the log's signing key is: `LOG_KEY_FILE`, else the data dir's `log-key`.
    pub fn log_key_path(&self) -> PathBuf {
        self.log_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("log-key"))
    }

    fn whistleblowing_key_path(&self) -> PathBuf {
        self.whistleblowing_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("whistleblowing-key"))
    }

    fn jwt_secret_path(&self) -> PathBuf {
        self.data_dir.join("jwt-secret")
    }

    /// The refusal for a key file that is not there: where it looked, and
    /// the flag or variable that points elsewhere. `file_flag` names the
    /// flag that sets this one file, if any.
    fn missing(&self, what: &str, path: &std::path::Path, file_flag: Option<&str>) -> String {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let how = match file_flag {
            Some(flag) => {
                format!("the data folder is set with --data-dir or DATA_DIR, this file with {flag}")
            }
            None => "the data folder is set with --data-dir or DATA_DIR".to_string(),
        };
        format!(
            "no {what} at {}: looked in {} ({how}). Only `serve` and `migrate` create keys: \
             run this command with the data folder the service uses",
            path.display(),
            dir.display()
        )
    }

    /// Create every key file the service needs that does not exist yet: the
    /// first start. `main` runs this for `serve` and `migrate` only
    /// ([`Cmd::first_start`]); every other command reads keys with the
    /// getters below, which never create one.
    pub fn provision(&self, token_secret: bool) -> Result<(), String> {
        crate::service::checkpoint::LogKey::load_or_create(&self.log_key_path(), &self.log_origin)?;
        crate::service::whistleblowing::WhistleKey::load_or_create(
            &self.whistleblowing_key_path(),
        )?;
        if token_secret && self.jwt_secret.is_none() {
            let path = self.jwt_secret_path();
            auth::load_or_create_secret(&path)
                .map_err(|e| format!("token secret {}: {e}", path.display()))?;
        }
        Ok(())
    }

    /// The log's signing key (`LOG_KEY_FILE`, else `DATA_DIR/log-key`); never created here.
    pub fn log_key(&self) -> Result<crate::service::checkpoint::LogKey, String> {
        let path = self.log_key_path();
        crate::service::checkpoint::LogKey::load(&path, &self.log_origin).map_err(|e| match e {
            keys::LoadError::Missing(_) => {
                self.missing("log key", &path, Some("--log-key-file or LOG_KEY_FILE"))
            }
            other => format!("log key {other}"),
        })
    }

    /// The whistleblowing key (`WHISTLEBLOWING_KEY_FILE`, else
    /// `DATA_DIR/whistleblowing-key`); never created here.
    pub fn whistleblowing_key(&self) -> Result<crate::service::whistleblowing::WhistleKey, String> {
        let path = self.whistleblowing_key_path();
        keys::load(&path, crate::service::whistleblowing::WhistleKey::from_hex).map_err(|e| match e
        {
            keys::LoadError::Missing(_) => self.missing(
                "whistleblowing key",
                &path,
                Some("--whistleblowing-key-file or WHISTLEBLOWING_KEY_FILE"),
            ),
            other => format!("whistleblowing key {other}"),
        })
    }

    /// The token keys: `JWT_SECRET` if set, else `DATA_DIR/jwt-secret`; never created here.
    pub fn keys(&self) -> Result<Keys, String> {
        if let Some(s) = &self.jwt_secret {
            if s.len() < 32 {
                return Err("JWT_SECRET must be at least 32 characters".into());
            }
            return Ok(Keys::from_secret(s.as_bytes()).with_max_lifetime(self.token_max_lifetime));
        }
        let path = self.jwt_secret_path();
        keys::load(&path, |s| {
            if s.len() >= 32 {
                Ok(Keys::from_secret(s.as_bytes()).with_max_lifetime(self.token_max_lifetime))
            } else {
                Err("holds fewer than 32 characters")
            }
        })
        .map_err(|e| match e {
            keys::LoadError::Missing(_) => self.missing(
                "token secret",
                &path,
                Some("JWT_SECRET (the secret itself)"),
            ),
            other => format!("token secret {other}"),
        })
    }

    /// The database URL of a command that reads an existing ledger: a SQLite
    /// file that is not there is refused (opening it would create it).
    pub fn existing_database(&self, db: &DbArgs) -> Result<String, String> {
        let url = self.database_url(db);
        if let crate::store::db::DbUrl::Sqlite(path) = crate::store::db::DbUrl::parse(&url)? {
            if !path.exists() {
                let dir = path
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(std::path::Path::new("."));
                let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
                let how = if db.database_url.is_some() {
                    "set with --database-url or DATABASE_URL"
                } else {
                    "the default in the data folder, set with --data-dir or DATA_DIR; \
                     or give --database-url or DATABASE_URL"
                };
                return Err(format!(
                    "no database at {}: looked in {} ({how}). Only `serve` and `migrate` create one",
                    path.display(),
                    dir.display()
                ));
            }
        }
        Ok(url)
    }

    /// The configured verifier: the JWKS if one is configured (`jwks` from
    /// [`AuthArgs::jwks_config`]), else the HS256 secret. Call inside the actix
    /// system: the JWKS is fetched and refreshed there.
    pub async fn authenticator(
        &self,
        jwks: Option<crate::http::jwks::JwksConfig>,
    ) -> Result<Authenticator, String> {
        match jwks {
            Some(cfg) => crate::http::jwks::JwksVerifier::start(cfg)
                .await
                .map(Authenticator::from),
            None => self.keys().map(Authenticator::from),
        }
    }
}

/// `WITNESS_QUORUM`: a count, or a tlog-policy file whose quorum (groups
/// included) the cosigning witnesses must meet.
fn parse_quorum(s: &str) -> Result<crate::core::tlog_policy::WitnessQuorum, String> {
    use crate::core::tlog_policy::{Policy, WitnessQuorum};
    if let Ok(n) = s.parse::<u32>() {
        return if n >= 1 {
            Ok(WitnessQuorum::Count(n))
        } else {
            Err(
                "a witness quorum of 0: give at least 1, or a policy file with `quorum none`"
                    .into(),
            )
        };
    }
    let text = std::fs::read_to_string(s)
        .map_err(|e| format!("neither a number nor a readable tlog-policy file: {s}: {e}"))?;
    let policy = Policy::parse(&text).map_err(|e| format!("{s}: {e}"))?;
    Ok(WitnessQuorum::Policy(std::sync::Arc::new(policy)))
}
