//! Email: who gets it (`email_recipients`, the projection of the
//! `email_recipients_set` entries). The emails themselves are `outbox` rows
//! of the `email` channel: `store::outbox` queues, claims and settles them.

use diesel::prelude::*;

use crate::store::db::DbConn;
use crate::store::error::StoreResult;
use crate::store::schema::email_recipients;

/// One target's address list as stored: kind, target, addresses (JSON), the
/// `seq` of the entry that set it.
pub use crate::store::tail::RecipientRow;

/// Set (insert or replace) one target's list.
pub fn set_recipients(
    conn: &mut DbConn,
    kind: &str,
    target: &str,
    addresses_json: &str,
    seq: i64,
) -> StoreResult<()> {
    crate::store::tail::forget_settings(conn);
    let n = diesel::update(
        email_recipients::table
            .filter(email_recipients::target_kind.eq(kind))
            .filter(email_recipients::target.eq(target)),
    )
    .set((
        email_recipients::addresses.eq(addresses_json),
        email_recipients::set_seq.eq(seq),
    ))
    .execute(conn)?;
    if n == 0 {
        diesel::insert_into(email_recipients::table)
            .values((
                email_recipients::target_kind.eq(kind),
                email_recipients::target.eq(target),
                email_recipients::addresses.eq(addresses_json),
                email_recipients::set_seq.eq(seq),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Empty the list that entry `seq` set, if it is still the current one (its
/// payload was erased). How many lists were emptied.
pub fn erase_list(conn: &mut DbConn, seq: i64) -> StoreResult<usize> {
    crate::store::tail::forget_settings(conn);
    Ok(
        diesel::update(email_recipients::table.filter(email_recipients::set_seq.eq(seq)))
            .set(email_recipients::addresses.eq("[]"))
            .execute(conn)?,
    )
}

/// Every target's list, by kind and target.
pub fn all_recipients(conn: &mut DbConn) -> StoreResult<Vec<RecipientRow>> {
    Ok(email_recipients::table
        .select((
            email_recipients::target_kind,
            email_recipients::target,
            email_recipients::addresses,
            email_recipients::set_seq,
        ))
        .order((email_recipients::target_kind, email_recipients::target))
        .load(conn)?)
}

/// The lists of these agencies and roles (addresses as JSON, one per target).
/// Every list is read once per write transaction (`store::tail`): a batch's
/// commands share one read.
pub fn recipients_of(
    conn: &mut DbConn,
    agencies: &[String],
    roles: &[String],
) -> StoreResult<Vec<String>> {
    let all = crate::store::tail::lists(conn, all_recipients)?;
    Ok(all
        .into_iter()
        .filter(|(kind, target, _, _)| match kind.as_str() {
            "agency" => agencies.contains(target),
            "role" => roles.contains(target),
            _ => false,
        })
        .map(|(_, _, addresses, _)| addresses)
        .collect())
}
