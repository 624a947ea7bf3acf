//! Wiring: open the store, migrate, seed, and build the HTTP server.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_web::{dev::Server, middleware, web, App, HttpServer};
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt as _;

use crate::core::registry;
use crate::http::auth::Authenticator;
use crate::http::error;
use crate::http::ratelimit::{self, RateLimits};
use crate::http::routes;
use crate::http::state::AppState;
use crate::service::checkpoint::LogKey;
use crate::service::sequencer::{Batching, Sequencer};
use crate::service::whistleblowing::WhistleKey;
use crate::store::db::{self, write_tx, Pool};

/// Open the database at `url`, apply migrations and seed the registry; a
/// request waits at most [`db::DEFAULT_POOL_WAIT`] for a connection.
pub fn prepare(url: &str, pool_size: u32) -> Result<Pool, String> {
    prepare_with(url, pool_size, db::DEFAULT_POOL_WAIT)
}

/// [`prepare`], with requests waiting at most `pool_wait` for a connection
/// (`DB_POOL_WAIT`) before they are answered 503.
pub fn prepare_with(url: &str, pool_size: u32, pool_wait: Duration) -> Result<Pool, String> {
    let pool = db::pool_with(url, pool_size, pool_wait).map_err(|e| e.to_string())?;
    let mut conn = db::checkout(&pool).map_err(|e| e.to_string())?;
    let ran = db::migrate(&mut conn).map_err(|e| e.to_string())?;
    if ran > 0 {
        tracing::info!(migrations = ran, "migrations applied");
    }
    let seeded = write_tx(&mut conn, |c| {
        crate::store::agencies::seed_registry(c, &registry::seed())
    })
    .map_err(|e| format!("seeding the agency registry failed: {e}"))?;
    if seeded {
        tracing::info!("agency registry seeded");
    }
    let added = write_tx(&mut conn, crate::store::tree::catch_up)
        .map_err(|e| format!("building the Merkle tree failed: {e}"))?;
    if added > 0 {
        tracing::info!(leaves = added, "Merkle tree caught up with the ledger");
    }
    let activated = write_tx(&mut conn, crate::service::policy_store::activate_default)
        .map_err(|e| format!("activating the default ladder policy failed: {e}"))?;
    if activated {
        tracing::info!(
            version = crate::core::policy::DEFAULT_VERSION,
            "default ladder policy activated"
        );
    }
    // Every stored policy document is validated at load: a document this
    // binary cannot read stops it here, naming the line, not mid-request.
    let policies = crate::service::policy_store::all(&mut conn)
        .map_err(|e| format!("loading the ladder policies failed: {e}"))?;
    let active =
        crate::service::policy_store::active_version(&mut conn).map_err(|e| e.to_string())?;
    tracing::info!(
        policies = policies.len(),
        active = %active,
        "ladder policies loaded"
    );
    Ok(pool)
}

/// [`prepare`], then record the log's key in the ledger if it records none
/// (a `log_key_recorded` entry: the first start, or the first start after
/// the upgrade that introduced it). A ledger that records another key is
/// refused: the key file is not this ledger's. `serve` and `migrate` start
/// here; nothing else may.
pub fn first_start(
    url: &str,
    pool_size: u32,
    pool_wait: Duration,
    log: &LogKey,
) -> Result<Pool, String> {
    let pool = prepare_with(url, pool_size, pool_wait)?;
    let mut conn = db::checkout(&pool).map_err(|e| e.to_string())?;
    let recorded = write_tx(&mut conn, |c| {
        crate::service::checkpoint::record_key(c, log)
    })
    .map_err(|e| format!("recording the log key failed: {e}"))?;
    if recorded {
        tracing::info!(key = %log.verifier_key(), "log key recorded in the ledger");
    }
    Ok(pool)
}

/// Service policy knobs beyond the pool and the keys.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Witness cosignatures that make a checkpoint fully witnessed: a count,
    /// or a tlog-policy's quorum (`WITNESS_QUORUM`).
    pub witness_quorum: crate::core::tlog_policy::WitnessQuorum,
    /// Requests per minute per token `sub`; 0 turns the limit off.
    pub rate_limit_per_subject: u32,
    /// Requests per minute per client address; 0 turns the limit off.
    pub rate_limit_per_address: u32,
    /// Take the client address from `Forwarded`/`X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// Derives whistleblowers' pseudonyms. The default is a fresh random key
    /// (pseudonyms then change on restart): `serve` loads a persistent one.
    pub whistleblowing_key: WhistleKey,
    /// Public reports suppress counts from 1 to this minus one (`REPORT_SUPPRESS_BELOW`).
    pub report_suppress_below: u64,
    /// On SIGTERM, how long in-flight requests may take before the workers
    /// are stopped (`SHUTDOWN_GRACE`).
    pub shutdown_grace: Duration,
    /// How long a request body may take to arrive before a 408 (`BODY_READ_TIMEOUT`).
    pub body_read_timeout: Duration,
    /// The console's public address and session timeouts (`PUBLIC_BASE_URL`,
    /// `CONSOLE_IDLE_TIMEOUT`, `CONSOLE_SESSION_LIFETIME`).
    pub console: crate::http::console::ConsoleConfig,
    /// How the sequencer groups ledger writes (`BATCH_MAX`, `BATCH_LINGER`).
    pub batching: Batching,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            witness_quorum: crate::core::tlog_policy::WitnessQuorum::Count(3),
            rate_limit_per_subject: 600,
            rate_limit_per_address: 1200,
            trust_forwarded_for: false,
            whistleblowing_key: WhistleKey::generate()
                .unwrap_or_else(|_| WhistleKey::from_bytes(uuid::Uuid::new_v4().as_bytes())),
            report_suppress_below: crate::core::report::DEFAULT_SUPPRESS_BELOW,
            shutdown_grace: Duration::from_secs(30),
            body_read_timeout: crate::http::guard::DEFAULT_BODY_TIMEOUT,
            console: crate::http::console::ConsoleConfig::default(),
            batching: Batching::default(),
        }
    }
}

/// Build the server on an already bound listener (port 0 in tests).
pub fn server(
    pool: Pool,
    auth: impl Into<Authenticator>,
    log: LogKey,
    settings: Settings,
    listener: TcpListener,
    workers: usize,
) -> std::io::Result<Server> {
    let state = web::Data::new(AppState {
        seq: Sequencer::start(pool.clone(), settings.batching.clone()),
        pool,
        log,
        witness_quorum: settings.witness_quorum,
        whistleblowing_key: settings.whistleblowing_key,
        report_suppress_below: settings.report_suppress_below,
    });
    let auth = web::Data::new(auth.into());
    crate::http::metrics::install();
    let grace = settings.shutdown_grace;
    let limits = web::Data::new(RateLimits::new(
        settings.rate_limit_per_subject,
        settings.rate_limit_per_address,
        settings.trust_forwarded_for,
    ));
    let guard = web::Data::new(crate::http::guard::Guard {
        body_timeout: settings.body_read_timeout,
        body_limit: routes::BODY_LIMIT,
    });
    let console = web::Data::new(settings.console.clone());
    // The console's background verifications: one slot per server.
    let verify_jobs = web::Data::new(crate::service::verify_job::Jobs::default());
    // The starter's clock, on every worker (`core::clock`).
    let clock = crate::core::clock::current();
    let server = HttpServer::new(move || {
        // Runs on each worker thread: no diesel here, only through `db::run`.
        db::mark_async_worker();
        crate::core::clock::set_for_thread(clock);
        App::new()
            // Innermost: what text is accepted, and how long a body may take.
            .wrap(middleware::from_fn(crate::http::guard::middleware))
            .wrap(middleware::from_fn(log_refusals))
            // Runs after NormalizePath (the last `wrap` runs first).
            .wrap(middleware::from_fn(ratelimit::middleware))
            .wrap(middleware::NormalizePath::trim())
            .wrap(TracingLogger::default())
            // Outermost: times and counts every request, refusals included.
            .wrap(middleware::from_fn(crate::http::metrics::track))
            .app_data(state.clone())
            .app_data(auth.clone())
            .app_data(limits.clone())
            .app_data(guard.clone())
            .app_data(console.clone())
            .app_data(verify_jobs.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(routes::BODY_LIMIT)
                    .error_handler(|e, _| error::json_error(e).into()),
            )
            .app_data(
                web::QueryConfig::default().error_handler(|e, _| error::query_error(e).into()),
            )
            .app_data(web::PathConfig::default().error_handler(|e, _| error::path_error(e).into()))
            // The console's HTML pages (not in the OpenAPI document); each is
            // decided by a row of the access table (`authz::CONSOLE_ROUTES`).
            .configure(crate::http::console::routes)
            // Each handler's route and its OpenAPI entry come from one registration.
            .into_utoipa_app()
            .configure(routes::routes)
            // 405 with `Allow` for a known path, else 404.
            .default_service(web::to(routes::unrouted))
            .into_app()
    })
    .workers(workers)
    // On SIGTERM: stop accepting, let requests in flight finish for up to this long.
    .shutdown_timeout(grace.as_secs().max(1))
    .listen(listener)?
    .run();
    Ok(server)
}

/// Serve `GET /metrics` alone on `addr` (`METRICS_BIND`), with no token.
pub fn start_metrics(
    pool: Pool,
    witness_quorum: u32,
    addr: &str,
) -> std::io::Result<(Server, SocketAddr)> {
    use crate::http::handlers::metrics::{metrics, MetricsState};
    crate::http::metrics::install();
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let state = web::Data::new(MetricsState {
        pool,
        witness_quorum,
    });
    let clock = crate::core::clock::current();
    let server = HttpServer::new(move || {
        db::mark_async_worker();
        crate::core::clock::set_for_thread(clock);
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(metrics))
            .default_service(web::to(routes::not_found))
    })
    .workers(1)
    .shutdown_timeout(5)
    .listen(listener)?
    .run();
    Ok((server, local))
}

/// Log every request answered with an error, once (`tracing-actix-web`'s
/// own error event is off, see `Cargo.toml`). A refusal (403, and 404 for an
/// authenticated caller, which may hide a dispute they may not see) at warn
/// with `sub`, `role`, route (the path and the access table's route id) and
/// reason (for a hidden dispute, why the caller may not see it, which the
/// response does not say); never the token. Any other client error, and a
/// 503, at warn with the route, the status and the reason. Not here: 401
/// (logged where the token is checked), 429 (by the rate limiter, which
/// answers before this runs) and 500 (logged with its cause by `AppError`).
async fn log_refusals(
    req: actix_web::dev::ServiceRequest,
    next: middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use actix_web::HttpMessage;
    let route = req.path().to_string();
    let method = req.method().clone();
    let res = next.call(req).await?;
    let status = res.status().as_u16();
    let reason = || {
        res.response()
            .error()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let actor = res
        .request()
        .extensions()
        .get::<crate::core::ladder::Actor>()
        .cloned();
    match (status, actor) {
        (403 | 404, Some(a)) => {
            let reason = reason();
            // Never a whistleblower's sub (nor their pseudonym beside it).
            let state = res.request().app_data::<web::Data<AppState>>().cloned();
            let route_id = res
                .request()
                .extensions()
                .get::<crate::http::authz::RouteId>()
                .map_or("", |r| r.0);
            let sub =
                crate::http::state::loggable_sub(state.as_ref().map(|s| s.get_ref()), &a.sub).await;
            tracing::warn!(sub = %sub, role = %a.role, %method, route = %route, route_id = %route_id, status, reason = %reason, "request refused");
        }
        (403, None) => tracing::warn!(%method, route = %route, status, "request refused"),
        (401 | 429, _) => {}
        (400..=499 | 503, _) => {
            tracing::warn!(%method, route = ?route, status, reason = ?reason(), "request not served")
        }
        _ => {}
    }
    Ok(res)
}

/// Bind `addr` and start; returns the running server and the address it got.
pub fn start(
    pool: Pool,
    auth: impl Into<Authenticator>,
    log: LogKey,
    settings: Settings,
    addr: &str,
    workers: usize,
) -> std::io::Result<(Server, SocketAddr)> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    Ok((server(pool, auth, log, settings, listener, workers)?, local))
}
