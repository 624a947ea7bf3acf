use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::config::{
    AuditArgs, BackupArgs, CalendarCmd, Cli, Cmd, Common, ExportArgs, HolidaysArgs, HolidaysCmd,
    LogFormat, PolicyCmd, ReportArgs, RestoreArgs, ServeArgs, SynthArgs, TokenArgs, WitnessArgs,
};
use crate::http::auth::{self, Claims};
use crate::{app, cli::witness, http::routes, service::bundle, service::holidays, service::verify};

fn init_logs(format: LogFormat) {
    use tracing_subscriber::field::MakeExt as _;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only for a person at a terminal: the log goes to stderr, so a
    // log piped or redirected to a file (or collected by journald or a
    // container runtime) has no escape codes. NO_COLOR turns colour off too.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        // JSON escapes control characters itself.
        LogFormat::Json => builder.json().init(),
        // Text: every field's value (span fields included) has its control
        // characters escaped, so no value a client sent (a query key, a JSON
        // key, a path) can start a forged line or steer a terminal.
        LogFormat::Text => builder
            .fmt_fields(
                tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
                    let v = crate::core::input::escape_controls(&format!("{value:?}"));
                    if field.name() == "message" {
                        write!(w, "{v}")
                    } else {
                        write!(w, "{}={v}", field.name())
                    }
                })
                .delimited(" "),
            )
            .init(),
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.common.log_format);
    if let Some(start) = cli.common.test_clock {
        crate::core::clock::install(crate::core::clock::Clock::starting_at(start));
    }
    crate::store::db::set_sqlite_synchronous(cli.common.sqlite_synchronous.into());
    let command = cli
        .command
        .unwrap_or_else(|| Cmd::Serve(Box::new(ServeArgs::from_env())));
    // The first start, and nowhere else: only `serve` and `migrate` create
    // key files (and, through `app::first_start`, the database and the
    // ledger's `log_key_recorded` entry). Every other command reads keys
    // with `Common`'s getters, which refuse a missing file.
    if let Some((db, token_secret)) = command.first_start() {
        // A mistyped database URL is refused before any key is made.
        let url = crate::store::db::DbUrl::parse(&cli.common.database_url(db));
        if let Err(e) = url.and_then(|_| cli.common.provision(token_secret)) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    let result = match command {
        Cmd::Serve(args) => serve(&cli.common, *args),
        Cmd::Migrate(db) => migrate(&cli.common, &db),
        Cmd::RotateLogKey(db) => rotate_log_key(&cli.common, &db),
        Cmd::Token(args) => token(&cli.common, args),
        Cmd::ConsoleLink(args) => console_link(&cli.common, args),
        Cmd::Verify(db) => return verify_cmd(&cli.common, &db),
        Cmd::Witness(args) => return witness_cmd(args),
        Cmd::Export(args) => export_cmd(&cli.common, args),
        Cmd::Backup(args) => backup_cmd(&cli.common, args),
        Cmd::Restore(args) => restore_cmd(&cli.common, args),
        Cmd::Probe { url } => return probe_cmd(&url),
        Cmd::Audit(args) => return audit_cmd(args),
        Cmd::Proof(args) => proof_cmd(&cli.common, args),
        Cmd::Report(args) => report_cmd(args),
        Cmd::Holidays(args) => return holidays_cmd(&cli.common, args),
        Cmd::BundleSynth(args) => synth_cmd(&cli.common, args),
        Cmd::Policy(cmd) => return policy_cmd(cmd),
        Cmd::Calendar(cmd) => return calendar_cmd(&cli.common, cmd),
        Cmd::Openapi => {
            let doc = routes::ApiDoc::openapi_pretty();
            println!("{doc}");
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `policy check FILE`: 0 valid, 1 invalid, 2 unreadable. `policy show VERSION`.
fn policy_cmd(cmd: PolicyCmd) -> ExitCode {
    use crate::core::policy;
    match cmd {
        PolicyCmd::Check { file } => {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", file.display());
                    return ExitCode::from(2);
                }
            };
            match policy::parse(&text) {
                Ok(p) => {
                    println!(
                        "{}: policy {} (\"{}\"), sha256 {}",
                        file.display(),
                        p.version,
                        p.title,
                        policy::sha256_hex(&text)
                    );
                    println!("rungs: {}", p.rung_names().join(" -> "));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    println!("{}: {e}", file.display());
                    ExitCode::from(1)
                }
            }
        }
        PolicyCmd::Show { version } => match policy::shipped_text(&version) {
            Some(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!(
                    "error: no shipped policy '{version}'; the shipped ones are {}",
                    policy::SHIPPED.map(|(v, _)| v).join(", ")
                );
                ExitCode::from(2)
            }
        },
    }
}

fn serve(common: &Common, args: ServeArgs) -> Result<(), String> {
    let url = common.database_url(&args.db);
    let jwks = args.auth.jwks_config()?;
    let jwks_mode = jwks.is_some();
    // Email settings are checked before anything starts: a bad one stops here.
    let mail_backend = args.mail.backend()?;
    if let Some(u) = &args.console.public_base_url {
        crate::cli::config::checked_public_base_url(Some(u), "")?;
    }
    let oidc = args.console.oidc_config(&args.auth)?;
    let log = common.log_key()?;
    let whistleblowing_key = common.whistleblowing_key()?;
    // The bank holiday feed: a configured or imported file that does not check
    // out stops the start, rather than count deadlines on other holidays.
    let feed_source = common.holidays();
    let feed = feed_source.load()?;
    tracing::info!(
        source = %feed.origin,
        covers = %feed.summary.describe(),
        sha256 = %feed.summary.sha256,
        "bank holiday feed loaded"
    );
    holidays::set_current(feed.calendar.clone());
    let pool = app::first_start(&url, args.pool_size, args.pool_wait, &log)?;
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    actix_web::rt::System::new().block_on(async move {
        // The background tasks run on this thread: no diesel here either.
        crate::store::db::mark_async_worker();
        let auth = common.authenticator(jwks).await?;
        if !args.checkpoint_interval.is_zero() {
            crate::workers::checkpointer::spawn_checkpointer(pool.clone(), log.clone(), args.checkpoint_interval);
        }
        if !args.deadline_sweep.is_zero() {
            crate::workers::sweeper::spawn_deadline_sweeper(
                pool.clone(),
                args.deadline_sweep,
                args.deadline_warning_hours,
            );
        }
        if !args.holidays_reload.is_zero() {
            let watch = holidays::Watch::new(feed_source, &feed);
            crate::workers::holidays::spawn_watcher(watch, args.holidays_reload);
        }
        crate::workers::sender::spawn_sender(pool.clone(), args.outbox.sender_config());
        if !args.witness_push_poll.is_zero() {
            crate::workers::pusher::spawn_pusher(
                pool.clone(),
                crate::workers::pusher::PusherConfig {
                    poll: args.witness_push_poll,
                    ..Default::default()
                },
            );
        }
        let settings = app::Settings {
            witness_quorum: args.witness_quorum.clone(),
            rate_limit_per_subject: args.rate_limit_per_subject,
            rate_limit_per_address: args.rate_limit_per_address,
            trust_forwarded_for: args.trust_forwarded_for,
            whistleblowing_key,
            report_suppress_below: args.report_suppress_below,
            shutdown_grace: args.shutdown_grace,
            body_read_timeout: args.body_read_timeout,
            console: crate::http::console::ConsoleConfig {
                public_base_url: crate::cli::config::public_base_url(
                    args.console.public_base_url.as_deref(),
                    &args.bind,
                ),
                timeouts: crate::service::console::Timeouts {
                    idle: args.console.console_idle_timeout,
                    absolute: args.console.console_session_lifetime,
                },
                oidc: oidc.clone(),
            },
            batching: crate::service::sequencer::Batching {
                max: args.batch_max as usize,
                linger: args.batch_linger,
                ..Default::default()
            },
        };
        let metrics_pool = pool.clone();
        let (server, addr) = app::start(pool, auth, log, settings, &args.bind, workers)
            .map_err(|e| format!("bind {}: {e}", args.bind))?;
        println!("escalation-ledger listening on http://{addr}");
        if let Some(backend) = mail_backend {
            let public_base_url = crate::cli::config::checked_public_base_url(
                args.console.public_base_url.as_deref(),
                &addr.to_string(),
            )?;
            tracing::info!(backend = ?backend, links = %public_base_url, "email on");
            crate::workers::mailer::spawn_mailer(
                metrics_pool.clone(),
                crate::workers::mailer::MailerConfig {
                    backend,
                    public_base_url,
                    sender: args.outbox.sender_config(),
                },
            );
        }
        if let Some(bind) = &args.metrics_bind {
            let (metrics, maddr) = app::start_metrics(metrics_pool, args.witness_quorum.min_cosignatures(), bind)
                .map_err(|e| format!("bind METRICS_BIND {bind}: {e}"))?;
            actix_web::rt::spawn(metrics);
            println!("metrics on http://{maddr}/metrics");
        }
        // SIGTERM: the server stops accepting and finishes the requests in
        // flight (actix, within the grace); the background tasks take no new
        // work, and we wait for what they have started and for every open
        // transaction, within what is left of the grace.
        let grace = args.shutdown_grace;
        let deadline = std::sync::Arc::new(std::sync::Mutex::new(None::<std::time::Instant>));
        let seen = deadline.clone();
        actix_web::rt::spawn(async move {
            use actix_web::rt::signal::unix::{signal, SignalKind};
            if let Ok(mut term) = signal(SignalKind::terminate()) {
                if term.recv().await.is_some() {
                    tracing::info!(grace = ?grace, "SIGTERM: draining requests, then stopping the workers");
                    *seen.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(std::time::Instant::now() + grace);
                    crate::workers::shutdown::begin();
                }
            }
        });
        println!("database: {}", crate::store::db::redact_url(&url));
        for line in banner(common, &url, jwks_mode, addr) {
            println!("{line}");
        }
        server.await.map_err(|e| e.to_string())?;
        crate::workers::shutdown::begin();
        let until = deadline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or_else(|| std::time::Instant::now() + grace);
        if crate::workers::shutdown::drain(until).await {
            tracing::info!("stopped cleanly: no request, task or transaction in progress");
        }
        Ok(())
    })
}

fn token(common: &Common, args: TokenArgs) -> Result<(), String> {
    if args.ttl > common.token_max_lifetime {
        return Err(format!(
            "--ttl {} is longer than TOKEN_MAX_LIFETIME ({}): serve would refuse the token",
            humantime::format_duration(args.ttl),
            humantime::format_duration(common.token_max_lifetime)
        ));
    }
    let exp = chrono::Utc::now().timestamp() + args.ttl.as_secs() as i64;
    let claims = Claims {
        sub: args.sub,
        role: args.role,
        agency: args.agency,
        partner: args.partner,
        exp,
    };
    let actor = auth::actor_from(claims.clone())?;
    let keys = common.keys()?;
    // An agency token names an agency the service knows, or it is refused
    // at every request: check the registry it will be checked against.
    if let Some(agency) = &actor.agency {
        let url = common.existing_database(&args.db)?;
        let pool = crate::store::db::pool(&url, 1).map_err(|e| e.to_string())?;
        let mut conn = crate::store::db::checkout(&pool).map_err(|e| e.to_string())?;
        let known = crate::service::registry::agencies(&mut conn, None, i64::MAX)
            .map_err(|e| e.to_string())?;
        if !known.iter().any(|a| &a.id == agency) {
            return Err(format!(
                "no agency '{agency}' in the registry of {}; `GET /v1/agencies` lists the {} it has (e.g. {})",
                crate::store::db::redact_url(&url),
                known.len(),
                known.iter().take(3).map(|a| a.id.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    println!("{}", keys.mint(&claims)?);
    Ok(())
}

/// `console-link`: a one-time sign-in URL for the console, its token stored
/// hashed in the database `serve` uses.
fn console_link(common: &Common, args: crate::cli::config::ConsoleLinkArgs) -> Result<(), String> {
    let actor = auth::actor_from(Claims {
        sub: args.sub,
        role: args.role,
        agency: args.agency,
        partner: args.partner,
        exp: 0,
    })?;
    let url = common.existing_database(&args.db)?;
    let pool = crate::store::db::pool(&url, 1).map_err(|e| e.to_string())?;
    let mut conn = crate::store::db::checkout(&pool).map_err(|e| e.to_string())?;
    let token = crate::service::console::issue_link_to(&mut conn, &actor, args.next.as_deref())
        .map_err(|e| e.to_string())?;
    let base = crate::cli::config::public_base_url(args.base_url.as_deref(), &args.bind);
    println!("{}", crate::http::console::sign_in_url(&base, &token));
    Ok(())
}

/// `migrate`: the database, its migrations and registry, and the log key's entry.
fn migrate(common: &Common, db: &crate::cli::config::DbArgs) -> Result<(), String> {
    let url = common.database_url(db);
    let log = common.log_key()?;
    app::first_start(&url, 1, crate::store::db::DEFAULT_POOL_WAIT, &log)?;
    println!(
        "migrations applied; registry seeded; log key {}",
        log.verifier_key()
    );
    Ok(())
}

/// `rotate-log-key`, with the service stopped: a new key is written beside
/// the old (`<key file>.new`), recorded in the ledger, then moved into place;
/// the old file is kept as `<key file>.retired-<key id>`.
fn rotate_log_key(common: &Common, db: &crate::cli::config::DbArgs) -> Result<(), String> {
    use crate::service::checkpoint::{self, LogKey};
    let url = common.existing_database(db)?;
    let path = common.log_key_path();
    let old = common.log_key()?;
    let new = LogKey::generate(&common.log_origin)?;
    let with_suffix = |suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        std::path::PathBuf::from(p)
    };
    let staged = with_suffix(".new");
    let retired = with_suffix(&format!(".retired-{:08x}", old.signer.key_id()));
    crate::service::keys::write_secret_file(&staged, new.signer.key_string().as_bytes()).map_err(
        |e| {
            format!(
                "{}: {e} (a file left by an interrupted rotation? see docs/operations.md)",
                staged.display()
            )
        },
    )?;
    // The ML-DSA-44 key rotates with it (`<key file>.mldsa44`).
    let pq_path = checkpoint::pq_key_path(&path);
    let pq_staged = checkpoint::pq_key_path(&staged);
    let pq_retired = checkpoint::pq_key_path(&retired);
    if let Some(pq) = &new.pq {
        if let Err(e) =
            crate::service::keys::write_secret_file(&pq_staged, pq.key_string().as_bytes())
        {
            let _ = std::fs::remove_file(&staged);
            return Err(format!("{}: {e}", pq_staged.display()));
        }
    }
    let recorded = (|| -> Result<crate::core::ledger::Entry, String> {
        let pool = crate::store::db::pool(&url, 1).map_err(|e| e.to_string())?;
        let mut conn = crate::store::db::checkout(&pool).map_err(|e| e.to_string())?;
        crate::store::db::write_tx(&mut conn, |c| checkpoint::rotate_key(c, &old, &new))
            .map_err(|e| e.to_string())
    })();
    let entry = match recorded {
        Ok(e) => e,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            let _ = std::fs::remove_file(&pq_staged);
            return Err(format!("the log key was not rotated: {e}"));
        }
    };
    // Recorded: from here the new key is the ledger's. Put it in place.
    let pq_moved = || -> std::io::Result<()> {
        if pq_path.exists() {
            std::fs::rename(&pq_path, &pq_retired)?;
        }
        if pq_staged.exists() {
            std::fs::rename(&pq_staged, &pq_path)?;
        }
        Ok(())
    };
    let moved = std::fs::rename(&path, &retired)
        .and_then(|()| std::fs::rename(&staged, &path))
        .and_then(|()| pq_moved())
        .map_err(|e| {
            format!(
                "the new key is recorded (seq {}) but moving the files failed: {e}; \
                 put {} at {} by hand (the old key is at {} or {})",
                entry.seq,
                staged.display(),
                path.display(),
                path.display(),
                retired.display()
            )
        });
    moved?;
    println!(
        "recorded log key {} at seq {} (replacing {})",
        new.verifier_key(),
        entry.seq,
        old.verifier_key()
    );
    println!(
        "{} holds the new key; the old one is kept at {}",
        path.display(),
        retired.display()
    );
    println!("give witnesses and auditors the new verifier key before starting serve");
    Ok(())
}

/// The banner's ready-to-paste lines. `token` is shown with the absolute
/// `--data-dir` and the `--database-url` this process uses, always: the
/// defaults are relative to the folder `serve` was started in, so a line
/// without them, pasted in another folder, would look elsewhere.
fn banner(common: &Common, url: &str, jwks_mode: bool, addr: std::net::SocketAddr) -> Vec<String> {
    if jwks_mode {
        return vec![
            "tokens:        from your identity provider (JWKS); `token` mints HS256 tokens this service does not accept".to_string(),
            format!("then:          curl -H \"Authorization: Bearer $TOKEN\" http://{addr}/v1/agencies"),
        ];
    }
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "escalation-ledger".to_string());
    let data_dir =
        std::path::absolute(&common.data_dir).unwrap_or_else(|_| common.data_dir.clone());
    let database = match crate::store::db::DbUrl::parse(url) {
        Ok(crate::store::db::DbUrl::Sqlite(p)) => {
            let p = std::path::absolute(&p).unwrap_or(p);
            shell_quote(&format!("sqlite://{}", p.display()))
        }
        // Never a password on the screen: name the variable instead.
        _ if has_password(url) => "\"$DATABASE_URL\"".to_string(),
        _ => shell_quote(url),
    };
    let mut lines = vec![format!(
        "mint a token:  {} token --data-dir {} --database-url {database} --sub you@kingston --role agency --agency kingston-council",
        shell_quote(&exe),
        shell_quote(&data_dir.display().to_string()),
    )];
    if common.jwt_secret.is_some() {
        lines.push(
            "               (with the JWT_SECRET this service was started with in the environment)"
                .to_string(),
        );
    }
    lines.push(format!(
        "then:          curl -H \"Authorization: Bearer $TOKEN\" http://{addr}/v1/agencies"
    ));
    lines
}

/// Whether `url`'s user info holds a password (`scheme://user:password@host`).
fn has_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// `s` as one POSIX shell word.
fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:@=+,%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn verify_cmd(common: &Common, db: &crate::cli::config::DbArgs) -> ExitCode {
    let run = || -> Result<(verify::VerifyReport, bool), String> {
        let url = common.existing_database(db)?;
        let pool = crate::store::db::pool(&url, 1).map_err(|e| e.to_string())?;
        let mut conn = crate::store::db::checkout(&pool).map_err(|e| e.to_string())?;
        let r = verify::verify(&mut conn).map_err(|e| e.to_string())?;
        let keys =
            crate::service::checkpoint::recorded_keys(&mut conn).map_err(|e| e.to_string())?;
        Ok((r, keys.is_empty()))
    };
    match run() {
        Ok((r, no_key)) if r.ok => {
            if no_key && r.size > 0 {
                println!(
                    "warning: the ledger records no log key, so checkpoint signatures were not checked; \
                     `migrate` (or starting `serve`) records it"
                );
            }
            println!(
                "ledger intact: {} entries, head {}",
                r.size,
                r.head_hash.as_deref().unwrap_or("(empty)")
            );
            for x in &r.redacted {
                println!(
                    "redacted: the payload of seq {} was erased by the approved redaction at seq {}",
                    x.seq, x.redacted_by
                );
            }
            ExitCode::SUCCESS
        }
        Ok((r, _)) => {
            match (r.first_bad_seq, &r.mismatched_dispute, r.bad_checkpoint) {
                (Some(seq), _, _) => println!("ledger broken at seq {seq}"),
                (None, Some(d), _) => println!("dispute {d} does not match the ledger"),
                (None, None, Some(size)) => {
                    println!("bad checkpoint: the one signed at size {size}")
                }
                _ => println!("ledger check failed"),
            }
            println!("problem: {}", r.problem.unwrap_or_default());
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `calendar due`: the due instant on stdout (RFC 3339 UTC), counted by
/// `core::deadline::due` on the feed `serve` would load. 0 printed, 1 the feed
/// is refused, 2 the answer is out of range.
fn calendar_cmd(common: &Common, cmd: CalendarCmd) -> ExitCode {
    use crate::core::calendar::{london_date, Source};
    use crate::core::deadline::{due, Target};
    let CalendarCmd::Due(args) = cmd;
    let loaded = match common.holidays().load() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let target = match (args.working_days, args.working_hours) {
        (Some(n), None) => Target::WorkingDays(n),
        (None, Some(n)) => Target::WorkingHours(n),
        _ => {
            eprintln!("error: give one of --working-days and --working-hours");
            return ExitCode::from(2);
        }
    };
    let cal = &loaded.calendar;
    let Some(at) = due(cal, target, args.from) else {
        eprintln!("error: the due time is past the last date the calendar can count to");
        return ExitCode::from(2);
    };
    if cal.source_between(london_date(args.from), london_date(at)) == Source::Computed {
        eprintln!(
            "note: {} does not cover every year counted; bank holidays there come from the statutory rules",
            loaded.origin
        );
    }
    println!("{}", at.format("%Y-%m-%dT%H:%M:%SZ"));
    ExitCode::SUCCESS
}

fn holidays_cmd(common: &Common, args: HolidaysArgs) -> ExitCode {
    let source = common.holidays();
    match args.command {
        HolidaysCmd::Import { file } => match holidays::install(&file, &source.path) {
            Ok(s) => {
                println!(
                    "installed {} as {}: {}",
                    file.display(),
                    source.path.display(),
                    s.describe()
                );
                println!("sha256: {}", s.sha256);
                for (year, n) in &s.thin_years {
                    println!(
                        "warning: {year} lists {n} holidays, fewer than the statutory rules give; is the feed complete?"
                    );
                }
                println!("a running serve using this path picks it up within HOLIDAYS_RELOAD (default 1m)");
                ExitCode::SUCCESS
            }
            Err(e @ holidays::InstallError::Refused(_)) => {
                eprintln!("error: {e}");
                eprintln!(
                    "nothing was installed; {} is unchanged",
                    source.path.display()
                );
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        HolidaysCmd::Show => match source.load() {
            Ok(l) => {
                println!("source: {}", l.origin);
                println!("covers: {}", l.summary.describe());
                println!("sha256: {}", l.summary.sha256);
                println!(
                    "years outside it use the statutory rules (one-off holidays unknown); import a fresh feed with `escalation-ledger holidays import FILE`"
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
    }
}

fn witness_cmd(args: WitnessArgs) -> ExitCode {
    if let Some(crate::cli::config::WitnessCmd::Serve(a)) = args.cmd {
        let cfg = crate::cli::witness_serve::ServeConfig {
            key_file: a.key,
            log_key: a.log_key,
            state_file: a.state,
            bind: a.bind,
        };
        return match crate::cli::witness_serve::serve(&cfg) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e @ witness::WitnessError::Inconsistent(_)) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        };
    }
    let Some(key_file) = args.key_file else {
        eprintln!("error: --key-file is required");
        return ExitCode::from(2);
    };
    if let Some(name) = &args.generate_key {
        return match witness::generate_key(name, &key_file, args.ml_dsa_44) {
            Ok(vkey) => {
                eprintln!(
                    "wrote the cosigner key to {}; register this verifier key with the partnership admin:",
                    key_file.display()
                );
                println!("{vkey}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        };
    }
    let (Some(url), Some(state), Some(token)) = (args.url, args.state, args.token) else {
        eprintln!("error: a run needs --url, --state and --token (or WITNESS_TOKEN)");
        return ExitCode::from(2);
    };
    let cfg = witness::RunConfig {
        url,
        key_file,
        state_file: state,
        token,
        log_key: args.log_key,
    };
    match witness::run_blocking(&cfg) {
        Ok(r) => {
            match &r.line {
                Some(_) if r.previous > 0 => println!(
                    "cosigned the checkpoint of size {} (consistent with size {})",
                    r.size, r.previous
                ),
                Some(_) => println!("cosigned the checkpoint of size {}", r.size),
                None => println!("nothing new: size {} is already cosigned", r.size),
            }
            ExitCode::SUCCESS
        }
        Err(e @ witness::WitnessError::Inconsistent(_)) => {
            eprintln!("refusing to cosign: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn export_cmd(common: &Common, args: ExportArgs) -> Result<(), String> {
    let url = common.existing_database(&args.db)?;
    let log = common.log_key()?;
    let pool = crate::store::db::pool(&url, 1).map_err(|e| e.to_string())?;
    let mut conn = crate::store::db::checkout(&pool).map_err(|e| e.to_string())?;
    let header = bundle::export_dir(&mut conn, &log, &args.out)?;
    println!(
        "exported {} entries to {}",
        header.size,
        args.out.join(bundle::FILE_NAME).display()
    );
    println!("log key: {}", header.log_key);
    Ok(())
}

/// One plain-HTTP GET with a 3 s timeout: 0 on a 2xx status line, else 1.
fn probe_cmd(url: &str) -> ExitCode {
    use std::io::{Read, Write};
    let probe = || -> Result<bool, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or("probe speaks plain http:// only")?;
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let addr = std::net::ToSocketAddrs::to_socket_addrs(host)
            .map_err(|e| format!("{host}: {e}"))?
            .next()
            .ok_or(format!("{host}: no address"))?;
        let timeout = std::time::Duration::from_secs(3);
        let mut s =
            std::net::TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        write!(
            s,
            "GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .map_err(|e| e.to_string())?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head).map_err(|e| e.to_string())?;
        Ok(head.starts_with(b"HTTP/1.") && head[9] == b'2')
    };
    match probe() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("{url}: not ready");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("{url}: {e}");
            ExitCode::from(1)
        }
    }
}

fn backup_cmd(common: &Common, args: BackupArgs) -> Result<(), String> {
    let url = common.existing_database(&args.db)?;
    let b = crate::service::backup::backup(&url, &args.out)?;
    println!(
        "backed up {} pages to {}; the copy verifies: {} entries, head {}",
        b.pages,
        args.out.display(),
        b.report.size,
        b.report.head_hash.as_deref().unwrap_or("(empty)")
    );
    println!(
        "the keys are not in the database: back up {} too (see docs/operations.md)",
        common.data_dir.display()
    );
    Ok(())
}

/// `restore --bundle DIR --database-url URL`: see `service::restore`.
fn restore_cmd(common: &Common, args: RestoreArgs) -> Result<(), String> {
    let url = common.database_url(&args.db);
    let mut policy_texts = Vec::new();
    for p in &args.policies {
        policy_texts
            .push(std::fs::read_to_string(p).map_err(|e| format!("policy {}: {e}", p.display()))?);
    }
    let opts = crate::service::restore::RestoreOptions {
        log_key: args.log_key.clone(),
        witness_keys: args.witness_keys.clone(),
        policy_texts,
    };
    let r = crate::service::restore::restore(&args.bundle, &url, opts)?;
    if r.log_key_from_bundle {
        eprintln!("warning: the bundle was audited with the log key it names; pin the key you trust with --log-key");
    }
    for id in &r.webhooks {
        eprintln!("warning: webhook {id} was restored with its origin only and a new secret; deactivate it and register the endpoint again");
    }
    println!(
        "restored {} entries ({} disputes, {} cosignatures) into {}; verify: ok",
        r.size,
        r.disputes,
        r.cosignatures,
        crate::store::db::redact_url(&url)
    );
    println!("head {}", r.head_hash.as_deref().unwrap_or("(empty)"));
    println!("root {}", r.root);
    Ok(())
}

/// `proof --seq N | --dispute ID`: the tlog-proof file on stdout.
fn proof_cmd(common: &Common, args: crate::cli::config::ProofArgs) -> Result<(), String> {
    let url = common.existing_database(&args.db)?;
    let pool = crate::store::db::pool(&url, 1).map_err(|e| e.to_string())?;
    let mut conn = crate::store::db::checkout(&pool).map_err(|e| e.to_string())?;
    let seq = match (args.seq, &args.dispute) {
        (Some(seq), _) => seq,
        (None, Some(id)) => {
            crate::store::db::read_tx(&mut conn, |conn| crate::service::proof::entry_of(conn, id))
                .map_err(|e| e.to_string())?
        }
        (None, None) => return Err("give --seq N or --dispute ID".into()),
    };
    let key = common.log_key()?;
    let p = crate::service::proof::of_seq(&mut conn, &key, seq).map_err(|e| e.to_string())?;
    if !p.cosigned {
        eprintln!(
            "warning: no witness has cosigned a checkpoint covering entry {seq} yet; \
             the proof is against the log's own signatures at size {}",
            p.size
        );
    }
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, p.text.as_bytes()).map_err(|e| format!("stdout: {e}"))
}

fn read_policy(path: &std::path::Path) -> Result<crate::core::tlog_policy::Policy, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("policy {}: {e}", path.display()))?;
    crate::core::tlog_policy::Policy::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// `audit --proof FILE --policy FILE`: 0 verified, 1 refused, 2 unreadable.
fn audit_proof(proof: &std::path::Path, policy: &std::path::Path) -> ExitCode {
    let policy = match read_policy(policy) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let text = match std::fs::read(proof).map(String::from_utf8) {
        Ok(Ok(t)) => t,
        Ok(Err(_)) => {
            println!("proof {}: REFUSED: not UTF-8 text", proof.display());
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("error: proof {}: {e}", proof.display());
            return ExitCode::from(2);
        }
    };
    match crate::core::tlog_proof::verify_text(&text, &policy) {
        Ok(v) => {
            let cp = &v.accepted.checkpoint;
            println!(
                "proof {}: OK: entry {} is in the log {} at size {}, signed by {} log key(s), cosigned by {}",
                proof.display(),
                v.index,
                cp.origin(),
                cp.size(),
                v.accepted.log_keys.len(),
                if v.accepted.witnesses.is_empty() {
                    "no witness".to_string()
                } else {
                    v.accepted.witnesses.join(", ")
                }
            );
            println!("entry: {}", String::from_utf8_lossy(&v.entry));
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("proof {}: REFUSED: {e}", proof.display());
            ExitCode::from(1)
        }
    }
}

fn audit_cmd(args: AuditArgs) -> ExitCode {
    if let (Some(proof), Some(policy)) = (&args.proof, &args.policy) {
        return audit_proof(proof, policy);
    }
    let Some(bundle_path) = args.bundle.clone() else {
        eprintln!("error: give a bundle, or --proof FILE --policy FILE");
        return ExitCode::from(2);
    };
    let policy = match args.policy.as_deref().map(read_policy).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let trusted = match &args.trusted_checkpoint {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("error: trusted checkpoint {}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let opts = bundle::AuditOptions {
        log_key: args.log_key.clone(),
        witness_keys: args.witness_keys.clone(),
        trusted_checkpoint: trusted,
    };
    let report = bundle::audit_file(&bundle_path, opts, |n, elapsed| {
        let rate = n as f64 / elapsed.as_secs_f64().max(1e-9);
        eprintln!("audited {n} entries ({rate:.0} entries/s)");
    });
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(j) => println!("{j}"),
            Err(e) => eprintln!("error: {e}"),
        }
    } else {
        print_audit(&report);
    }
    if let Some(policy) = &policy {
        match bundle_policy_check(&bundle_path, policy) {
            Ok(line) => eprintln!("{line}"),
            Err(e) => {
                eprintln!("policy: REFUSED: {e}");
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::from(report.outcome.exit_code())
}

/// The bundle's checkpoint (its header line) under `policy`.
fn bundle_policy_check(
    path: &std::path::Path,
    policy: &crate::core::tlog_policy::Policy,
) -> Result<String, String> {
    let file = if path.is_dir() {
        path.join("bundle.jsonl")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let first = text.lines().next().unwrap_or_default();
    let header: crate::core::audit::Header =
        serde_json::from_str(first).map_err(|e| format!("bundle header: {e}"))?;
    let a = policy.verify(&header.checkpoint)?;
    Ok(format!(
        "policy: OK: the checkpoint of size {} meets the quorum (cosigned by {})",
        a.checkpoint.size(),
        a.witnesses.join(", ")
    ))
}

fn report_cmd(args: ReportArgs) -> Result<(), String> {
    let opts = crate::core::report::Options {
        period: crate::core::report::Period::parse(&args.from, &args.to)?,
        audience: args.audience.parse()?,
        suppress_below: args.suppress_below,
    };
    let figures = crate::service::reports::from_bundle(&args.bundle, opts)?;
    let text = figures.canonical()?;
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, text.as_bytes()).map_err(|e| format!("stdout: {e}"))
}

fn print_audit(r: &bundle::AuditReport) {
    for w in &r.warnings {
        println!("warning: {w}");
    }
    match r.outcome {
        bundle::Outcome::Intact => {
            println!(
                "bundle intact: {} entries, root {}",
                r.entries,
                r.root.as_deref().unwrap_or("(none)")
            );
            println!(
                "checkpoint signed by the log key {}",
                r.log_key.as_deref().unwrap_or("?")
            );
        }
        bundle::Outcome::Tampered => {
            match (r.first_bad_seq, r.first_bad_line) {
                (Some(seq), Some(line)) => println!("bundle broken at seq {seq} (line {line})"),
                (Some(seq), None) => println!("bundle broken at seq {seq}"),
                _ => println!("bundle does not check out"),
            }
            println!("problem: {}", r.problem.as_deref().unwrap_or(""));
            println!("entries checked before the problem: {}", r.entries);
        }
        bundle::Outcome::Unreadable => {
            eprintln!(
                "error: {}",
                r.problem.as_deref().unwrap_or("unreadable bundle")
            );
        }
    }
    if r.outcome != bundle::Outcome::Unreadable {
        match r.payloads {
            Some(bundle::Payloads::Withheld) => println!(
                "payloads: withheld from this bundle ({} entries): payload hashes not checked",
                r.payloads_absent
            ),
            _ => println!(
                "payloads: {} entries have erased payloads (payload hash not checked)",
                r.payloads_absent
            ),
        }
        for w in &r.witnesses_verified {
            println!("witness cosignature verified: {w}");
        }
        for w in &r.witnesses_missing {
            println!("witness cosignature missing: {w}");
        }
        match r.trusted_checkpoint_ok {
            Some(true) => println!("trusted checkpoint: consistent with the bundle"),
            Some(false) => println!("trusted checkpoint: NOT consistent with the bundle"),
            None => {}
        }
    }
}

fn synth_cmd(common: &Common, args: SynthArgs) -> Result<(), String> {
    let key = crate::service::checkpoint::LogKey::generate(&common.log_origin)?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let path = args.out.join(bundle::FILE_NAME);
    let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let header = bundle::synth(args.entries, &key, &mut out)?;
    bundle::write_side_files(&args.out, &header)?;
    println!(
        "wrote {} synthetic entries to {}",
        header.size,
        path.display()
    );
    println!("log key: {}", header.log_key);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_words() {
        assert!(has_password("postgres://u:secret@h/db"));
        assert!(!has_password("postgres://u@h/db?options=-c%3Dx"));
        assert!(!has_password("postgres://h/db?user=a:b@c"));
        assert_eq!(shell_quote("/a/b.db"), "/a/b.db");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
