//! The ledger's Merkle tree in the database: the stored perfect subtrees
//! (`merkle_nodes`) as a [`merkle::NodeSource`], kept up to date by every append.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::ledger::Hash;
use crate::merkle::{self, NodeId, NodeSource};
use crate::schema::{ledger_entries, merkle_nodes};

/// Stored nodes, read one primary-key lookup at a time; counts its reads.
pub struct DbNodes<'a> {
    conn: &'a mut DbConn,
    pub reads: u64,
}

impl<'a> DbNodes<'a> {
    pub fn new(conn: &'a mut DbConn) -> Self {
        DbNodes { conn, reads: 0 }
    }
}

fn to_hash(v: Vec<u8>) -> QueryResult<Hash> {
    v.try_into().map_err(|_| {
        diesel::result::Error::DeserializationError("a stored Merkle node is not 32 bytes".into())
    })
}

impl NodeSource for DbNodes<'_> {
    type Error = diesel::result::Error;

    fn node(&mut self, id: NodeId) -> QueryResult<Hash> {
        self.reads += 1;
        let level = i32::try_from(id.level).map_err(|_| diesel::result::Error::NotFound)?;
        let idx = i64::try_from(id.index).map_err(|_| diesel::result::Error::NotFound)?;
        let h: Vec<u8> = merkle_nodes::table
            .find((level, idx))
            .select(merkle_nodes::hash)
            .first(self.conn)?;
        to_hash(h)
    }
}

/// Record leaf `seq` and every perfect subtree it completes. Call in the
/// append's transaction, right after the entry is inserted.
pub fn add_leaf(conn: &mut DbConn, seq: i64, leaf: &Hash) -> QueryResult<()> {
    let mut last = *leaf;
    for id in merkle::nodes_completed_by_append(seq as u64) {
        if id.level > 0 {
            // The right child is the node completed just before, one level down.
            let left = DbNodes::new(conn).node(NodeId {
                level: id.level - 1,
                index: 2 * id.index,
            })?;
            last = merkle::node_hash(&left, &last);
        }
        diesel::insert_into(merkle_nodes::table)
            .values((
                merkle_nodes::level.eq(id.level as i32),
                merkle_nodes::idx.eq(id.index as i64),
                merkle_nodes::hash.eq(last.to_vec()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The stored leaves with index in `from..to`, by index.
pub fn leaves_in(
    conn: &mut DbConn,
    from: i64,
    to: i64,
) -> QueryResult<std::collections::HashMap<i64, Vec<u8>>> {
    let rows: Vec<(i64, Vec<u8>)> = merkle_nodes::table
        .filter(merkle_nodes::level.eq(0))
        .filter(merkle_nodes::idx.ge(from))
        .filter(merkle_nodes::idx.lt(to))
        .select((merkle_nodes::idx, merkle_nodes::hash))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// How many leaves the stored tree holds.
pub fn leaves(conn: &mut DbConn) -> QueryResult<i64> {
    let top: Option<i64> = merkle_nodes::table
        .filter(merkle_nodes::level.eq(0))
        .select(diesel::dsl::max(merkle_nodes::idx))
        .first(conn)?;
    Ok(top.map_or(0, |t| t + 1))
}

/// Bring the tree up to the ledger's size (a ledger made before the tree
/// existed). Call inside a write transaction.
pub fn catch_up(conn: &mut DbConn) -> QueryResult<i64> {
    let mut have = leaves(conn)?;
    let mut added = 0;
    loop {
        let batch: Vec<(i64, Vec<u8>)> = ledger_entries::table
            .filter(ledger_entries::seq.ge(have))
            .order(ledger_entries::seq.asc())
            .select((ledger_entries::seq, ledger_entries::entry_hash))
            .limit(5000)
            .load(conn)?;
        if batch.is_empty() {
            return Ok(added);
        }
        for (seq, h) in batch {
            add_leaf(conn, seq, &to_hash(h)?)?;
            have = seq + 1;
            added += 1;
        }
    }
}
