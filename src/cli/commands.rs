use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::config::{
    AuditArgs, BackupArgs, Cli, Cmd, Common, ExportArgs, HolidaysArgs, HolidaysCmd, LogFormat,
    PolicyCmd, ReportArgs, ServeArgs, SynthArgs, TokenArgs, WitnessArgs,
};
use crate::http::auth::{self, Claims};
use crate::{app, cli::witness, http::routes, service::bundle, service::holidays, service::verify};

fn init_logs(format: LogFormat) {
    use tracing_subscriber::field::MakeExt as _;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
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
    let result = match cli.command {
        None => serve(&cli.common, ServeArgs::from_env()),
        Some(Cmd::Serve(args)) => serve(&cli.common, *args),
        Some(Cmd::Migrate(db)) => {
            let url = cli.common.database_url(&db);
            app::prepare(&url, 1).map(|_| println!("migrations applied; registry seeded"))
        }
        Some(Cmd::Token(args)) => token(&cli.common, args),
        Some(Cmd::Verify(db)) => return verify_cmd(&cli.common.database_url(&db)),
        Some(Cmd::Witness(args)) => return witness_cmd(args),
        Some(Cmd::Export(args)) => export_cmd(&cli.common, args),
        Some(Cmd::Backup(args)) => backup_cmd(&cli.common, args),
        Some(Cmd::Probe { url }) => return probe_cmd(&url),
        Some(Cmd::Audit(args)) => return audit_cmd(args),
        Some(Cmd::Report(args)) => report_cmd(args),
        Some(Cmd::Holidays(args)) => return holidays_cmd(&cli.common, args),
        Some(Cmd::BundleSynth(args)) => synth_cmd(&cli.common, args),
        Some(Cmd::Policy(cmd)) => return policy_cmd(cmd),
        Some(Cmd::Openapi) => {
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
    let pool = app::prepare_with(&url, args.pool_size, args.pool_wait)?;
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    actix_web::rt::System::new().block_on(async move {
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
        let settings = app::Settings {
            witness_quorum: args.witness_quorum,
            rate_limit_per_subject: args.rate_limit_per_subject,
            rate_limit_per_address: args.rate_limit_per_address,
            trust_forwarded_for: args.trust_forwarded_for,
            whistleblowing_key,
            report_suppress_below: args.report_suppress_below,
            shutdown_grace: args.shutdown_grace,
            body_read_timeout: args.body_read_timeout,
        };
        let metrics_pool = pool.clone();
        let (server, addr) = app::start(pool, auth, log, settings, &args.bind, workers)
            .map_err(|e| format!("bind {}: {e}", args.bind))?;
        println!("escalation-ledger listening on http://{addr}");
        if let Some(bind) = &args.metrics_bind {
            let (metrics, maddr) = app::start_metrics(metrics_pool, args.witness_quorum, bind)
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
        println!("mint a token:  cargo run --release -- token --sub you@kingston --role agency --agency kingston-council");
        println!("then:          curl -H \"Authorization: Bearer $TOKEN\" http://{addr}/v1/agencies");
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
    let keys = common.keys()?;
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
    auth::actor_from(claims.clone())?;
    println!("{}", keys.mint(&claims)?);
    Ok(())
}

fn verify_cmd(url: &str) -> ExitCode {
    let run = || -> Result<verify::VerifyReport, String> {
        let pool = crate::store::db::pool(url, 1).map_err(|e| e.to_string())?;
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        verify::verify(&mut conn).map_err(|e| e.to_string())
    };
    match run() {
        Ok(r) if r.ok => {
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
        Ok(r) => {
            match (r.first_bad_seq, &r.mismatched_dispute) {
                (Some(seq), _) => println!("ledger broken at seq {seq}"),
                (None, Some(d)) => println!("dispute {d} does not match the ledger"),
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
    if let Some(name) = &args.generate_key {
        return match witness::generate_key(name, &args.key_file) {
            Ok(vkey) => {
                eprintln!(
                    "wrote the cosigner key to {}; register this verifier key with the partnership admin:",
                    args.key_file.display()
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
        key_file: args.key_file,
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
    let url = common.database_url(&args.db);
    let log = common.log_key()?;
    let pool = crate::store::db::pool(&url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
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
    let url = common.database_url(&args.db);
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

fn audit_cmd(args: AuditArgs) -> ExitCode {
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
    let report = bundle::audit_file(&args.bundle, opts, |n, elapsed| {
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
    ExitCode::from(report.outcome.exit_code())
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
