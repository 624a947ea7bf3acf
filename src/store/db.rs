//! Database plumbing: one connection type over PostgreSQL and SQLite, the
//! pool, migrations, and the write transaction. Backends differ only here.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::store::error::StoreError;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// Which backend a database URL names, and what to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DbUrl {
    /// `postgres://` / `postgresql://` or `sqlite://PATH`; anything else is an error,
    /// so a typo never creates a stray SQLite file.
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_string()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path.contains(":memory:") || path.starts_with("file:") {
                return Err(format!(
                    "'{url}': give SQLite a file path, e.g. sqlite://./data/escalation-ledger.db"
                ));
            }
            return Ok(DbUrl::Sqlite(PathBuf::from(path)));
        }
        Err(format!(
            "unsupported database URL '{}': use postgres://... or sqlite://PATH",
            redact_url(url)
        ))
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, DbUrl::Sqlite(_))
    }
}

/// The URL without any password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

/// How SQLite syncs at commit (`PRAGMA synchronous`, in WAL mode).
///
/// `Full` (the default) syncs the WAL at every commit, so an acknowledged
/// action survives an OS crash or power loss; `Normal` syncs only at
/// checkpoints and may lose the last commits before such a crash (never
/// corrupts); `Extra` also syncs the directory. `SQLITE_SYNCHRONOUS` sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteSync {
    Normal = 1,
    Full = 2,
    Extra = 3,
}

impl SqliteSync {
    pub fn as_str(self) -> &'static str {
        match self {
            SqliteSync::Normal => "NORMAL",
            SqliteSync::Full => "FULL",
            SqliteSync::Extra => "EXTRA",
        }
    }
}

static SQLITE_SYNC: std::sync::atomic::AtomicU8 =
    std::sync::atomic::AtomicU8::new(SqliteSync::Full as u8);

/// Set the `synchronous` level of SQLite connections opened from now on (the
/// CLI does it once, before any pool exists).
pub fn set_sqlite_synchronous(s: SqliteSync) {
    SQLITE_SYNC.store(s as u8, std::sync::atomic::Ordering::SeqCst);
}

/// The level new SQLite connections get.
pub fn sqlite_synchronous() -> SqliteSync {
    match SQLITE_SYNC.load(std::sync::atomic::Ordering::SeqCst) {
        1 => SqliteSync::Normal,
        3 => SqliteSync::Extra,
        _ => SqliteSync::Full,
    }
}

fn sqlite_pragmas(sync: SqliteSync) -> String {
    format!(
        "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = {};",
        sync.as_str()
    )
}

/// r2d2 manager that picks the backend from the URL and keeps the real
/// connection error (the derived `establish` would hide it).
#[derive(Debug, Clone)]
pub struct Manager {
    url: DbUrl,
    /// Statements sent on this pool's connections ([`statements`]).
    sent: Arc<AtomicU64>,
}

/// Count every statement a connection sends (each is one round trip to
/// PostgreSQL; `batch_execute` of several counts once, as it is one). With
/// `DB_STATEMENT_LOG` set (a debugging aid, not a setting), each is also
/// written to stderr once it has finished, one line each, with the
/// microseconds it took from being sent to its answer.
fn counting(sent: &Arc<AtomicU64>) -> impl diesel::connection::Instrumentation {
    let sent = sent.clone();
    let log = std::env::var_os("DB_STATEMENT_LOG").is_some();
    let mut started = None;
    move |event: diesel::connection::InstrumentationEvent<'_>| match event {
        diesel::connection::InstrumentationEvent::StartQuery { .. } => {
            sent.fetch_add(1, Ordering::Relaxed);
            if log {
                started = Some(std::time::Instant::now());
            }
        }
        diesel::connection::InstrumentationEvent::FinishQuery { query, .. } if log => {
            let us = started.take().map_or(0, |t| t.elapsed().as_micros());
            eprintln!("statement: {us} us: {query}");
        }
        _ => {}
    }
}

/// Statement counters, one per database URL this process opened a pool on.
static SENT: std::sync::Mutex<Vec<(DbUrl, Arc<AtomicU64>)>> = std::sync::Mutex::new(Vec::new());

fn counter_for(url: &DbUrl) -> Arc<AtomicU64> {
    let mut all = SENT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, c)) = all.iter().find(|(u, _)| u == url) {
        return c.clone();
    }
    let c = Arc::new(AtomicU64::new(0));
    all.push((url.clone(), c.clone()));
    c
}

/// How many statements (round trips) this process's connections to `url`
/// have sent so far, transaction control and the pool's check-out test
/// included; `None` for a URL it never opened a pool on. What
/// `tests/api/round_trips.rs` counts per request, so that a read or an
/// action that grows by a query fails a test.
pub fn statements(url: &str) -> Option<u64> {
    let url = DbUrl::parse(url).ok()?;
    let all = SENT.lock().unwrap_or_else(|p| p.into_inner());
    all.iter()
        .find(|(u, _)| *u == url)
        .map(|(_, c)| c.load(Ordering::Relaxed))
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match &self.url {
            DbUrl::Postgres(u) => {
                let mut c = PgConnection::establish(u).map_err(r2d2::Error::ConnectionError)?;
                c.set_instrumentation(counting(&self.sent));
                Ok(DbConn::Pg(c))
            }
            DbUrl::Sqlite(p) => {
                let path = p.to_string_lossy();
                let mut c =
                    SqliteConnection::establish(&path).map_err(r2d2::Error::ConnectionError)?;
                c.set_instrumentation(counting(&self.sent));
                c.batch_execute(&sqlite_pragmas(sqlite_synchronous()))
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(c))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// A connection that died (e.g. PostgreSQL restarted under it) or whose
    /// transaction could not be ended is dropped, not handed out again.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Url(String),
    #[error("cannot create {0}: {1}")]
    Dir(String, std::io::Error),
    #[error("cannot connect to {0}: {1}")]
    Connect(String, String),
    #[error("migrations failed: {0}")]
    Migrate(String),
}

/// How long a request waits for a connection by default (`DB_POOL_WAIT`):
/// short, so that a database that is down is answered 503 quickly.
pub const DEFAULT_POOL_WAIT: Duration = Duration::from_secs(3);

/// Open a pool on `url` with the default wait ([`DEFAULT_POOL_WAIT`]).
pub fn pool(url: &str, max_size: u32) -> Result<Pool, SetupError> {
    pool_with(url, max_size, DEFAULT_POOL_WAIT)
}

/// Open a pool on `url`, creating the SQLite file's folder and WAL mode if
/// needed; a caller waits at most `wait` for a connection, then gets
/// [`StoreError::Unavailable`].
pub fn pool_with(url: &str, max_size: u32, wait: Duration) -> Result<Pool, SetupError> {
    let parsed = DbUrl::parse(url).map_err(SetupError::Url)?;
    if let DbUrl::Sqlite(path) = &parsed {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| SetupError::Dir(dir.display().to_string(), e))?;
        }
    }
    let manager = Manager {
        sent: counter_for(&parsed),
        url: parsed.clone(),
    };
    // Connect once up front so a bad URL reports the database's own words.
    let mut first = manager
        .connect()
        .map_err(|e| SetupError::Connect(redact_url(url), e.to_string()))?;
    if parsed.is_sqlite() {
        first
            .batch_execute("PRAGMA journal_mode = WAL;")
            .map_err(|e| SetupError::Connect(redact_url(url), e.to_string()))?;
    }
    drop(first);
    r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(wait.max(Duration::from_millis(1)))
        .build(manager)
        .map_err(|e| SetupError::Connect(redact_url(url), e.to_string()))
}

/// Apply pending migrations; returns how many ran.
///
/// When every embedded migration is already recorded nothing is run at all, so
/// an application role without DDL rights can start (see `deploy/postgres.md`).
pub fn migrate(conn: &mut DbConn) -> Result<usize, SetupError> {
    let err = |e: Box<dyn std::error::Error + Send + Sync>| SetupError::Migrate(e.to_string());
    let wanted: Vec<String> = match conn {
        DbConn::Pg(_) => MigrationSource::<diesel::pg::Pg>::migrations(&PG_MIGRATIONS)
            .map_err(err)?
            .iter()
            .map(|m| m.name().version().to_string())
            .collect(),
        DbConn::Sqlite(_) => {
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                .map_err(err)?
                .iter()
                .map(|m| m.name().version().to_string())
                .collect()
        }
    };
    let applied: Vec<String> = diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
        .load::<Version>(conn)
        .map(|v| v.into_iter().map(|v| v.version).collect())
        .unwrap_or_default();
    if wanted.iter().all(|w| applied.contains(w)) {
        return Ok(0);
    }
    let done = match conn {
        DbConn::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len()),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    done.map_err(err)
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

/// Run `f` in a write transaction that owns the ledger's tail until it ends.
///
/// SQLite: `BEGIN IMMEDIATE`, so the write lock is taken (waiting up to
/// `busy_timeout`) before anything is read. PostgreSQL: a transaction-scoped
/// advisory lock, so appends from every process serialise and the chain never forks.
pub fn write_tx<T, E>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    in_tx(conn, "BEGIN IMMEDIATE", "BEGIN", true, f)
}

/// Run `f` on one consistent snapshot: what `verify` and multi-query reads use.
pub fn read_tx<T, E>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    in_tx(
        conn,
        "BEGIN DEFERRED",
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        false,
        f,
    )
}

fn in_tx<T, E>(
    conn: &mut DbConn,
    sqlite_begin: &str,
    pg_begin: &str,
    lock: bool,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    if on_async_worker() {
        return Err(diesel::result::Error::QueryBuilderError(ON_ASYNC_WORKER.into()).into());
    }
    let _open = OpenTx::new();
    // The first write_tx of a sequencer command: the command's savepoint is
    // fresh, so it serves this transaction too (one savepoint per command,
    // not two). On failure it is rolled back and taken afresh, which leaves
    // exactly what rolling back a savepoint of its own would.
    let d = depth(conn);
    if d > 0 && FRESH_SAVEPOINT.with(|f| f.get()) == Some(d) {
        FRESH_SAVEPOINT.with(|f| f.set(None));
        return match f(conn) {
            Ok(v) => Ok(v),
            Err(e) => {
                if end_savepoint(conn, false).is_ok() && begin_savepoint(conn).is_ok() {
                    FRESH_SAVEPOINT.with(|f| f.set(Some(depth(conn))));
                }
                Err(e)
            }
        };
    }
    // Inside a transaction already (a command in a sequencer batch): a
    // savepoint, under the lock the outer transaction holds.
    if d > 0 {
        begin_savepoint(conn)?;
        return match f(conn) {
            Ok(v) => match end_savepoint(conn, true) {
                Ok(()) => Ok(v),
                Err(e) => {
                    let _ = end_savepoint(conn, false);
                    Err(e.into())
                }
            },
            Err(e) => {
                let _ = end_savepoint(conn, false);
                Err(e)
            }
        };
    }
    // SQLite admits one writer at a time. Queue this process's writers on a
    // mutex rather than in SQLite's busy handler, whose sleeps (1, 2, 5 ... 100 ms)
    // make the latency tail; other processes still wait in `busy_timeout`.
    let _writer = match (&*conn, lock) {
        (DbConn::Sqlite(_), true) => Some(SQLITE_WRITER.lock().unwrap_or_else(|p| p.into_inner())),
        _ => None,
    };
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, sqlite_begin)?,
        DbConn::Pg(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, pg_begin)?;
            if lock {
                // Keyed by schema too: ledgers in different schemas of one
                // database (tests, benchmarks) do not wait on each other.
                let sql = format!(
                    "SELECT pg_advisory_xact_lock({LEDGER_LOCK}, hashtext(current_schema()))"
                );
                if let Err(e) = c.batch_execute(&sql) {
                    let _ = AnsiTransactionManager::rollback_transaction(c);
                    return Err(e.into());
                }
            }
        }
    }
    // The ledger lock is held from here: what this transaction learns of the
    // ledger's tail stays true until it ends.
    if lock {
        crate::store::tail::open(conn);
    }
    let result = f(conn);
    let end = |conn: &mut DbConn, commit: bool| -> QueryResult<()> {
        crate::store::tail::close(conn);
        match (conn, commit) {
            (DbConn::Sqlite(c), true) => AnsiTransactionManager::commit_transaction(c),
            (DbConn::Sqlite(c), false) => AnsiTransactionManager::rollback_transaction(c),
            (DbConn::Pg(c), true) => AnsiTransactionManager::commit_transaction(c),
            (DbConn::Pg(c), false) => AnsiTransactionManager::rollback_transaction(c),
        }
    };
    match result {
        Ok(v) => {
            if let Err(e) = end(conn, true) {
                let _ = end(conn, false);
                return Err(e.into());
            }
            Ok(v)
        }
        Err(e) => {
            let _ = end(conn, false);
            Err(e)
        }
    }
}

thread_local! {
    static ASYNC_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The depth of a [`savepoint`] just taken on this thread and not yet
    /// written in: the first [`write_tx`] inside it uses it as its own.
    static FRESH_SAVEPOINT: std::cell::Cell<Option<u32>> = const { std::cell::Cell::new(None) };
}

const ON_ASYNC_WORKER: &str =
    "database work on an async worker thread (use store::db::run, which runs it on the blocking pool)";

/// Mark the calling thread as one that runs async tasks (an HTTP worker:
/// `app::start` calls it in each worker's app factory). From then on this
/// thread gets no connection ([`checkout`]) and opens no transaction
/// ([`write_tx`], [`read_tx`]): diesel blocks, and on an async worker it would
/// stall every other request the worker holds. [`run`] moves the work to the
/// blocking pool, whose threads are never marked.
pub fn mark_async_worker() {
    ASYNC_WORKER.with(|w| w.set(true));
}

fn on_async_worker() -> bool {
    ASYNC_WORKER.with(|w| w.get())
}

/// A connection from `pool`, refused on a thread marked by
/// [`mark_async_worker`]: the one way to take a connection from the pool
/// outside this module.
pub fn checkout(pool: &Pool) -> Result<PooledConn, StoreError> {
    if on_async_worker() {
        return Err(StoreError::Internal(ON_ASYNC_WORKER.into()));
    }
    Ok(pool.get()?)
}

/// How many transactions (the outermost and its savepoints) are open on `conn`.
fn depth(conn: &mut DbConn) -> u32 {
    let status = match conn {
        DbConn::Sqlite(c) => {
            <AnsiTransactionManager as TransactionManager<SqliteConnection>>::transaction_manager_status_mut(c)
        }
        DbConn::Pg(c) => {
            <AnsiTransactionManager as TransactionManager<PgConnection>>::transaction_manager_status_mut(c)
        }
    };
    status
        .transaction_depth()
        .ok()
        .flatten()
        .map_or(0, |d| d.get())
}

fn begin_savepoint(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction(c)?,
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    crate::store::tail::mark(conn);
    Ok(())
}

/// Release (`keep`) or roll back to the innermost savepoint.
fn end_savepoint(conn: &mut DbConn, keep: bool) -> QueryResult<()> {
    // A release that fails leaves the transaction to be rolled back: forget
    // the savepoint's part either way, unless it is kept.
    crate::store::tail::unmark(conn, keep);
    match (conn, keep) {
        (DbConn::Sqlite(c), true) => AnsiTransactionManager::commit_transaction(c),
        (DbConn::Sqlite(c), false) => AnsiTransactionManager::rollback_transaction(c),
        (DbConn::Pg(c), true) => AnsiTransactionManager::commit_transaction(c),
        (DbConn::Pg(c), false) => AnsiTransactionManager::rollback_transaction(c),
    }
}

/// Run `f` in a savepoint of the transaction open on `conn` (the sequencer's
/// batch): its writes are kept if it returns `true` and rolled back if it
/// returns `false`. The first [`write_tx`] `f` opens takes this savepoint as
/// its own rather than a second one inside it (a failed one rolls back
/// everything `f` wrote before it too: `f` should write only in `write_tx`). `Err` only when the savepoint could not be taken, released
/// or rolled back: the transaction is then unusable and must be rolled back.
pub fn savepoint(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> bool) -> QueryResult<()> {
    if depth(conn) == 0 {
        return Err(diesel::result::Error::NotInTransaction);
    }
    begin_savepoint(conn)?;
    FRESH_SAVEPOINT.with(|f| f.set(Some(depth(conn))));
    let keep = f(conn);
    FRESH_SAVEPOINT.with(|f| f.set(None));
    end_savepoint(conn, keep)
}

/// Run blocking database work on the blocking thread pool, keeping the caller's
/// tracing span and clock: the one way async code reaches a connection.
pub async fn run<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
{
    let pool = pool.clone();
    let span = tracing::Span::current();
    // The caller's clock too (an in-process test app's, `core::clock`).
    let clock = crate::core::clock::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        crate::core::clock::scoped(clock, || {
            let mut conn = checkout(&pool)?;
            f(&mut conn)
        })
    })
    .await
    .map_err(|e| StoreError::Internal(format!("blocking task: {e}")))?
}

/// [`run`], waiting at most `wait` for a connection rather than the pool's
/// own wait: for `/readyz`, which must answer quickly while the database is down.
pub async fn run_within<T, E, F>(pool: &Pool, wait: Duration, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
{
    let pool = pool.clone();
    let span = tracing::Span::current();
    let clock = crate::core::clock::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        if on_async_worker() {
            return Err(StoreError::Internal(ON_ASYNC_WORKER.into()).into());
        }
        crate::core::clock::scoped(clock, || {
            let mut conn = pool.get_timeout(wait).map_err(StoreError::from)?;
            f(&mut conn)
        })
    })
    .await
    .map_err(|e| StoreError::Internal(format!("blocking task: {e}")))?
}

static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

static OPEN_TX: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Transactions ([`write_tx`], [`read_tx`]) open in this process right now:
/// graceful shutdown waits for them to end.
pub fn open_transactions() -> usize {
    OPEN_TX.load(std::sync::atomic::Ordering::SeqCst)
}

/// Counts one open transaction while it lives.
struct OpenTx;

impl OpenTx {
    fn new() -> Self {
        OPEN_TX.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        OpenTx
    }
}

impl Drop for OpenTx {
    fn drop(&mut self) {
        OPEN_TX.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The advisory lock class for appends ("ledg" in ASCII); the second key is the schema.
const LEDGER_LOCK: i32 = 0x6c65_6467;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_scheme_decides_the_backend() {
        assert!(matches!(
            DbUrl::parse("postgres://u@h/db"),
            Ok(DbUrl::Postgres(_))
        ));
        assert_eq!(
            DbUrl::parse("sqlite://./data/x.db"),
            Ok(DbUrl::Sqlite(PathBuf::from("./data/x.db")))
        );
        assert_eq!(
            DbUrl::parse("sqlite:///tmp/x.db"),
            Ok(DbUrl::Sqlite(PathBuf::from("/tmp/x.db")))
        );
        for bad in [
            "sqlit://x.db",
            "x.db",
            "sqlite://",
            "sqlite://:memory:",
            "mysql://h/db",
        ] {
            assert!(DbUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(redact_url("postgres://u:pw@h/db"), "postgres://***@h/db");
    }

    /// Inside a transaction, `write_tx` and `savepoint` roll back only their
    /// own writes; the outer transaction goes on and commits the rest.
    #[test]
    fn a_write_tx_inside_a_transaction_is_a_savepoint() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("n.db").display());
        let pool = pool(&url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        conn.batch_execute("CREATE TABLE t (n INTEGER)").unwrap();
        let ins = |c: &mut DbConn, n: i32| c.batch_execute(&format!("INSERT INTO t VALUES ({n})"));
        write_tx(&mut conn, |c| -> QueryResult<()> {
            ins(c, 1)?;
            let refused: QueryResult<()> = write_tx(c, |c| {
                ins(c, 2)?;
                Err(diesel::result::Error::RollbackTransaction)
            });
            assert!(refused.is_err());
            write_tx(c, |c| ins(c, 3))?;
            savepoint(c, |c| {
                ins(c, 4).unwrap();
                false
            })?;
            savepoint(c, |c| ins(c, 5).is_ok())?;
            Ok(())
        })
        .unwrap();
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            n: i32,
        }
        let got: Vec<i32> = diesel::sql_query("SELECT n FROM t ORDER BY n")
            .load::<N>(&mut *conn)
            .unwrap()
            .into_iter()
            .map(|r| r.n)
            .collect();
        assert_eq!(got, [1, 3, 5]);
        assert!(
            savepoint(&mut conn, |_| true).is_err(),
            "no savepoint outside a transaction"
        );
    }

    /// The sequencer's savepoint serves a command's first `write_tx` (one
    /// SAVEPOINT statement, not two), and isolates exactly as a savepoint of
    /// its own: a failed first `write_tx` leaves nothing, a later one still
    /// commits, and a command that fails after it keeps nothing.
    #[test]
    fn a_commands_first_write_tx_takes_its_savepoint() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("f.db").display());
        let pool = pool(&url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        conn.batch_execute("CREATE TABLE t (n INTEGER)").unwrap();
        let ins = |c: &mut DbConn, n: i32| c.batch_execute(&format!("INSERT INTO t VALUES ({n})"));
        let sent = || statements(&url).unwrap();
        write_tx(&mut conn, |c| -> QueryResult<()> {
            let before = sent();
            // SAVEPOINT, the insert, RELEASE: no second savepoint.
            savepoint(c, |c| write_tx(c, |c| ins(c, 1)).is_ok())?;
            assert_eq!(sent() - before, 3, "one savepoint per command");
            savepoint(c, |c| {
                let refused: QueryResult<()> = write_tx(c, |c| {
                    ins(c, 2)?;
                    Err(diesel::result::Error::RollbackTransaction)
                });
                assert!(refused.is_err());
                write_tx(c, |c| ins(c, 3)).is_ok()
            })?;
            savepoint(c, |c| {
                write_tx(c, |c| ins(c, 4)).unwrap();
                false
            })?;
            savepoint(c, |c| {
                write_tx(c, |c| ins(c, 5)).unwrap();
                // The second write_tx of a command is a savepoint of its own.
                let refused: QueryResult<()> = write_tx(c, |c| {
                    ins(c, 6)?;
                    Err(diesel::result::Error::RollbackTransaction)
                });
                refused.is_err()
            })?;
            Ok(())
        })
        .unwrap();
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            n: i32,
        }
        let got: Vec<i32> = diesel::sql_query("SELECT n FROM t ORDER BY n")
            .load::<N>(&mut *conn)
            .unwrap()
            .into_iter()
            .map(|r| r.n)
            .collect();
        assert_eq!(got, [1, 3, 5]);
    }

    /// An acknowledgement means the WAL is synced: FULL unless set otherwise.
    #[test]
    fn sqlite_syncs_at_commit_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let pool = pool(&url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        #[derive(QueryableByName)]
        struct Sync {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            synchronous: i32,
        }
        let got: Vec<Sync> = diesel::sql_query("PRAGMA synchronous")
            .load(&mut *conn)
            .unwrap();
        assert_eq!(got[0].synchronous, 2, "PRAGMA synchronous is not FULL");
        assert!(sqlite_pragmas(SqliteSync::Normal).contains("synchronous = NORMAL;"));
        assert!(sqlite_pragmas(SqliteSync::Extra).contains("synchronous = EXTRA;"));
    }

    /// Invariant 10 broken on purpose: on a thread marked as an async worker
    /// (as `app::start` marks every HTTP worker), taking a connection and
    /// opening a transaction are refused; the same work handed to `run` from
    /// that thread goes to the blocking pool and succeeds.
    #[test]
    fn diesel_is_refused_on_an_async_worker() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let pool = pool(&url, 2).unwrap();
        let select = |c: &mut DbConn| c.batch_execute("SELECT 1").map_err(StoreError::from);
        // Its own thread, so that the mark cannot reach another test.
        std::thread::spawn(move || {
            let mut conn = checkout(&pool).expect("an unmarked thread gets a connection");
            write_tx(&mut conn, select).expect("and writes");
            read_tx(&mut conn, select).expect("and reads");

            mark_async_worker();
            for refused in [
                checkout(&pool).map(|_| ()),
                write_tx(&mut conn, select),
                read_tx(&mut conn, select),
            ] {
                let e = refused.expect_err("refused on the async worker");
                assert!(e.to_string().contains("async worker thread"), "{e}");
            }

            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(async {
                run(&pool, move |c| write_tx(c, select))
                    .await
                    .expect("run moves it to the blocking pool");
                run_within(&pool, Duration::from_secs(5), move |c| read_tx(c, select))
                    .await
                    .expect("so does run_within");
            });
        })
        .join()
        .unwrap();
    }
}
