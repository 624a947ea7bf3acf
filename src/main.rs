use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use escalation_ledger::auth::{self, Claims};
use escalation_ledger::config::{Cli, Cmd, Common, LogFormat, ServeArgs, TokenArgs};
use escalation_ledger::{api, app, verify};

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
        let (server, addr) = app::start(pool, auth, log, &args.bind, workers)
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
