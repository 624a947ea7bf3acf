use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use escalation_ledger::auth::{self, Claims};
use escalation_ledger::config::{Cli, Cmd, Common, LogFormat, ServeArgs, TokenArgs, WitnessArgs};
use escalation_ledger::{api, app, verify, witness};

fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.common.log_format);
    let result = match cli.command {
        None => serve(&cli.common, ServeArgs::from_env()),
        Some(Cmd::Serve(args)) => serve(&cli.common, args),
        Some(Cmd::Migrate(db)) => {
            let url = cli.common.database_url(&db);
            app::prepare(&url, 1).map(|_| println!("migrations applied; registry seeded"))
        }
        Some(Cmd::Token(args)) => token(&cli.common, args),
        Some(Cmd::Verify(db)) => return verify_cmd(&cli.common.database_url(&db)),
        Some(Cmd::Witness(args)) => return witness_cmd(args),
        Some(Cmd::Openapi) => {
            let doc = api::ApiDoc::openapi_pretty();
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

fn serve(common: &Common, args: ServeArgs) -> Result<(), String> {
    let url = common.database_url(&args.db);
    let jwks = args.auth.jwks_config()?;
    let log = common.log_key()?;
    let pool = app::prepare(&url, args.pool_size)?;
    let workers = args.workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    actix_web::rt::System::new().block_on(async move {
        let auth = common.authenticator(jwks).await?;
        if !args.checkpoint_interval.is_zero() {
            app::spawn_checkpointer(pool.clone(), log.clone(), args.checkpoint_interval);
        }
        escalation_ledger::notify::spawn_sender(pool.clone(), args.outbox.sender_config());
        let settings = app::Settings {
            witness_quorum: args.witness_quorum,
        };
        let (server, addr) = app::start(pool, auth, log, settings, &args.bind, workers)
            .map_err(|e| format!("bind {}: {e}", args.bind))?;
        println!("escalation-ledger listening on http://{addr}");
        println!("database: {}", escalation_ledger::db::redact_url(&url));
        println!("mint a token:  cargo run --release -- token --sub you@kingston --role agency --agency kingston-council");
        println!("then:          curl -H \"Authorization: Bearer $TOKEN\" http://{addr}/v1/agencies");
        server.await.map_err(|e| e.to_string())
    })
}

fn token(common: &Common, args: TokenArgs) -> Result<(), String> {
    let keys = common.keys()?;
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
        let pool = escalation_ledger::db::pool(url, 1).map_err(|e| e.to_string())?;
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
