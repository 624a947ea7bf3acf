//! `escalation-ledger backup`: a consistent online copy of a SQLite database,
//! checked with `verify` before it is reported. PostgreSQL has its own tools.

use std::path::Path;

use crate::service::verify::{self, VerifyReport};
use crate::store::db::{self, DbUrl};

/// What a backup wrote.
#[derive(Debug)]
pub struct Backup {
    pub pages: i32,
    /// `verify` run on the copy.
    pub report: VerifyReport,
}

/// Why PostgreSQL is refused.
pub const PG_REFUSAL: &str = "backup copies SQLite databases only; for PostgreSQL use its own tools, e.g. `pg_dump --format=custom --file=ledger.dump \"$DATABASE_URL\"`, restore with `pg_restore --no-owner --dbname=\"$NEW_URL\" ledger.dump`, then run `escalation-ledger verify --database-url \"$NEW_URL\"` (see docs/operations.md)";

/// Copy the database at `url` to `out` and verify the copy.
pub fn backup(url: &str, out: &Path) -> Result<Backup, String> {
    let path = match DbUrl::parse(url)? {
        DbUrl::Postgres(_) => return Err(PG_REFUSAL.into()),
        DbUrl::Sqlite(p) => p,
    };
    let pages = crate::store::backup::sqlite_backup(&path, out)?;
    let copy = format!("sqlite://{}", out.display());
    let pool = db::pool(&copy, 1).map_err(|e| e.to_string())?;
    let mut conn = db::checkout(&pool).map_err(|e| e.to_string())?;
    let report = verify::verify(&mut conn).map_err(|e| e.to_string())?;
    if !report.ok {
        return Err(format!(
            "the copy at {} does not verify: {}",
            out.display(),
            report.problem.clone().unwrap_or_default()
        ));
    }
    Ok(Backup { pages, report })
}
