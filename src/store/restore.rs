//! The few writes only `restore` makes: whether a database is empty, and the
//! `webhooks` rows rebuilt from their ledger entries (a bundle holds only an
//! endpoint's origin, never its path or secret).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::schema::{
    agencies, checkpoints, disputes, ledger_entries, outbox, policies, webhooks,
    whistleblower_identities,
};

/// The tables that already hold rows, with their counts: a database is
/// empty for `restore` only if this is empty.
pub fn occupied(conn: &mut DbConn) -> StoreResult<Vec<(&'static str, i64)>> {
    let counts = [
        (
            "ledger_entries",
            ledger_entries::table.count().get_result::<i64>(conn)?,
        ),
        (
            "checkpoints",
            checkpoints::table.count().get_result::<i64>(conn)?,
        ),
        ("agencies", agencies::table.count().get_result::<i64>(conn)?),
        ("policies", policies::table.count().get_result::<i64>(conn)?),
        ("disputes", disputes::table.count().get_result::<i64>(conn)?),
        ("webhooks", webhooks::table.count().get_result::<i64>(conn)?),
        ("outbox", outbox::table.count().get_result::<i64>(conn)?),
        (
            "whistleblower_identities",
            whistleblower_identities::table
                .count()
                .get_result::<i64>(conn)?,
        ),
    ];
    Ok(counts.into_iter().filter(|(_, n)| *n > 0).collect())
}

/// A restored endpoint: `url` is only the origin its entry recorded, and
/// `secret` a fresh one, so the operator must re-register it to reach the
/// receiver again.
pub struct RestoredWebhook<'a> {
    pub id: &'a str,
    pub target_kind: &'a str,
    pub target: &'a str,
    pub url: &'a str,
    pub secret: &'a str,
    pub registered_seq: i64,
    pub created_at: NaiveDateTime,
}

pub fn insert_webhook(conn: &mut DbConn, w: &RestoredWebhook) -> StoreResult<()> {
    crate::store::tail::forget_settings(conn);
    diesel::insert_into(webhooks::table)
        .values((
            webhooks::id.eq(w.id),
            webhooks::target_kind.eq(w.target_kind),
            webhooks::target.eq(w.target),
            webhooks::url.eq(w.url),
            webhooks::secret.eq(w.secret),
            webhooks::active.eq(true),
            webhooks::registered_seq.eq(w.registered_seq),
            webhooks::created_at.eq(w.created_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Mark endpoint `id` deactivated by entry `seq`; how many rows changed.
pub fn deactivate_webhook(conn: &mut DbConn, id: &str, seq: i64) -> StoreResult<usize> {
    crate::store::tail::forget_settings(conn);
    Ok(diesel::update(webhooks::table.find(id))
        .set((
            webhooks::active.eq(false),
            webhooks::deactivated_seq.eq(Some(seq)),
        ))
        .execute(conn)?)
}
