//! The ledger's Merkle tree in the database: the stored perfect subtrees
//! (`merkle_nodes`) as a [`merkle::NodeSource`], kept up to date by every append.

use diesel::prelude::*;

use crate::core::ledger::Hash;
use crate::core::merkle::{self, NodeId, NodeSource};
use crate::store::db::DbConn;
use crate::store::schema::{ledger_entries, merkle_nodes};

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
/// append's transaction, right after the entry is inserted. At most two
/// statements whatever the number of subtrees: the left children it needs in
/// one query, the new nodes in one multi-row insert. Inside a batch the query
/// is mostly not needed: the earlier appends wrote those children, and the
/// transaction's tail ([`crate::store::tail`]) still has them.
pub fn add_leaf(conn: &mut DbConn, seq: i64, leaf: &Hash) -> QueryResult<()> {
    let completed = merkle::nodes_completed_by_append(seq as u64);
    // The right child of each is the node completed just before, one level
    // down; the left child is stored already.
    let lefts: Vec<NodeId> = completed
        .iter()
        .filter(|id| id.level > 0)
        .map(|id| NodeId {
            level: id.level - 1,
            index: 2 * id.index,
        })
        .collect();
    // The batch's earlier appends stored most of them (the transaction's tail).
    let mut known = std::collections::HashMap::new();
    let mut missing = Vec::new();
    for id in lefts {
        match crate::store::tail::node(conn, id) {
            Some(h) => {
                known.insert(id, h);
            }
            None => missing.push(id),
        }
    }
    if !missing.is_empty() {
        let Fetched(read) = fetch(conn, &missing)?;
        crate::store::tail::note_nodes(conn, read.iter().map(|(id, h)| (*id, *h)));
        known.extend(read);
    }
    let mut stored = Fetched(known);
    let mut last = *leaf;
    let mut rows = Vec::with_capacity(completed.len());
    let mut written = Vec::with_capacity(completed.len());
    for id in completed {
        if id.level > 0 {
            let left = stored.node(NodeId {
                level: id.level - 1,
                index: 2 * id.index,
            })?;
            last = merkle::node_hash(&left, &last);
        }
        written.push((id, last));
        rows.push((
            merkle_nodes::level.eq(id.level as i32),
            merkle_nodes::idx.eq(id.index as i64),
            merkle_nodes::hash.eq(last.to_vec()),
        ));
    }
    let insert = diesel::insert_into(merkle_nodes::table).values(rows);
    match conn {
        DbConn::Pg(c) => insert.execute(c)?,
        DbConn::Sqlite(c) => insert.execute(c)?,
    };
    crate::store::tail::note_nodes(conn, written);
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

/// Records which nodes a computation asks for, answering with zeros. Which
/// nodes a root or proof reads depends only on the sizes, never on the hashes,
/// so one dry run tells what to fetch.
#[derive(Default)]
struct Recorder(Vec<NodeId>);

impl NodeSource for Recorder {
    type Error = std::convert::Infallible;
    fn node(&mut self, id: NodeId) -> Result<Hash, Self::Error> {
        self.0.push(id);
        Ok([0; 32])
    }
}

/// Nodes fetched up front.
struct Fetched(std::collections::HashMap<NodeId, Hash>);

impl NodeSource for Fetched {
    type Error = diesel::result::Error;
    fn node(&mut self, id: NodeId) -> QueryResult<Hash> {
        self.0
            .get(&id)
            .copied()
            .ok_or(diesel::result::Error::NotFound)
    }
}

/// The PostgreSQL form of [`fetch`]: one statement whose text never changes,
/// the node ids bound as two arrays. Diesel prepares it once per connection
/// (a static query id), so it is parsed once and PostgreSQL may keep one
/// generic plan for it: an index nested loop over the primary key, whatever the
/// number of ids. (The `OR` form has one text per number of ids; see
/// `docs/benchmarks.md`, "PostgreSQL proofs at 1 M entries".)
#[derive(Debug, Clone)]
struct PgNodes {
    levels: Vec<i32>,
    idxs: Vec<i64>,
}

impl diesel::query_builder::QueryId for PgNodes {
    type QueryId = PgNodes;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for PgNodes {
    type SqlType = (
        diesel::sql_types::Integer,
        diesel::sql_types::BigInt,
        diesel::sql_types::Binary,
    );
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for PgNodes {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        use diesel::sql_types::{Array, BigInt, Integer};
        out.push_sql("SELECT n.level, n.idx, n.hash FROM unnest(");
        out.push_bind_param::<Array<Integer>, _>(&self.levels)?;
        out.push_sql("::integer[], ");
        out.push_bind_param::<Array<BigInt>, _>(&self.idxs)?;
        out.push_sql(
            "::bigint[]) AS k(level, idx) \
             JOIN merkle_nodes n ON n.level = k.level AND n.idx = k.idx",
        );
        Ok(())
    }
}

impl RunQueryDsl<PgConnection> for PgNodes {}

/// Fetch these nodes in one query.
fn fetch(conn: &mut DbConn, ids: &[NodeId]) -> QueryResult<Fetched> {
    if ids.is_empty() {
        return Ok(Fetched(std::collections::HashMap::new()));
    }
    let rows: Vec<(i32, i64, Vec<u8>)> = match conn {
        DbConn::Pg(c) => PgNodes {
            levels: ids.iter().map(|id| id.level as i32).collect(),
            idxs: ids.iter().map(|id| id.index as i64).collect(),
        }
        .load(c)?,
        // SQLite met the target with the `OR` form (0.37 ms p99 at 1 M
        // entries, docs/benchmarks.md), so it stays.
        DbConn::Sqlite(c) => {
            let mut q = merkle_nodes::table.into_boxed::<diesel::sqlite::Sqlite>();
            for id in ids {
                q = q.or_filter(
                    merkle_nodes::level
                        .eq(id.level as i32)
                        .and(merkle_nodes::idx.eq(id.index as i64)),
                );
            }
            q.select((merkle_nodes::level, merkle_nodes::idx, merkle_nodes::hash))
                .load(c)?
        }
    };
    let mut out = std::collections::HashMap::with_capacity(rows.len());
    for (level, idx, h) in rows {
        out.insert(
            NodeId {
                level: level as u32,
                index: idx as u64,
            },
            to_hash(h)?,
        );
    }
    Ok(Fetched(out))
}

/// A proof with the roots it is checked against, built from one database query.
pub struct Proof {
    pub path: Vec<Hash>,
    /// For inclusion: the leaf and the root. For consistency: the two roots.
    pub hashes: (Hash, Hash),
    /// Distinct stored nodes read (all in one query).
    pub node_reads: u64,
}

type ProofResult = Result<Proof, merkle::ProofError<diesel::result::Error>>;

fn dry_run<T>(
    f: impl FnOnce(&mut Recorder) -> Result<T, merkle::ProofError<std::convert::Infallible>>,
) -> Result<Vec<NodeId>, merkle::ProofError<diesel::result::Error>> {
    use merkle::ProofError as P;
    let mut rec = Recorder::default();
    f(&mut rec).map_err(|e| match e {
        P::IndexOutOfRange { index, size } => P::IndexOutOfRange { index, size },
        P::SizesOutOfOrder { from, to } => P::SizesOutOfOrder { from, to },
        P::NotASubtree { start, end } => P::NotASubtree { start, end },
        P::Store(never) => match never {},
    })?;
    let mut ids = rec.0;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The RFC 9162 inclusion proof of leaf `index` in the tree of `size`, with the
/// leaf and the root; every node read in one query.
pub fn inclusion(conn: &mut DbConn, index: u64, size: u64) -> ProofResult {
    let leaf = NodeId { level: 0, index };
    let ids = dry_run(|r| {
        merkle::inclusion_proof(r, index, size)?;
        merkle::root(r, size)?;
        let _ = r.node(leaf);
        Ok(())
    })?;
    let mut src = fetch(conn, &ids).map_err(merkle::ProofError::Store)?;
    let path = merkle::inclusion_proof(&mut src, index, size)?;
    let root = merkle::root(&mut src, size)?;
    let leaf = src.node(leaf).map_err(merkle::ProofError::Store)?;
    Ok(Proof {
        path,
        hashes: (leaf, root),
        node_reads: ids.len() as u64,
    })
}

/// The RFC 9162 consistency proof from `from` to `to`, with both roots; every
/// node read in one query.
pub fn consistency(conn: &mut DbConn, from: u64, to: u64) -> ProofResult {
    let ids = dry_run(|r| {
        merkle::consistency_proof(r, from, to)?;
        merkle::root(r, from)?;
        merkle::root(r, to)
    })?;
    let mut src = fetch(conn, &ids).map_err(merkle::ProofError::Store)?;
    let path = merkle::consistency_proof(&mut src, from, to)?;
    let from_root = merkle::root(&mut src, from)?;
    let to_root = merkle::root(&mut src, to)?;
    Ok(Proof {
        path,
        hashes: (from_root, to_root),
        node_reads: ids.len() as u64,
    })
}

/// The stored nodes of Merkle `level` with index in `from..from + count`, in
/// order: one tlog hash tile (`core::tiles`), read in one query. An error if
/// any is missing (the stored tree is shorter than the caller was told).
pub fn tile_hashes(conn: &mut DbConn, level: u32, from: u64, count: u64) -> QueryResult<Vec<Hash>> {
    let bad = |what: &str| diesel::result::Error::DeserializationError(what.to_string().into());
    let level = i32::try_from(level).map_err(|_| bad("tile level out of range"))?;
    let start = i64::try_from(from).map_err(|_| bad("tile index out of range"))?;
    let end = from
        .checked_add(count)
        .and_then(|e| i64::try_from(e).ok())
        .ok_or_else(|| bad("tile index out of range"))?;
    let rows: Vec<(i64, Vec<u8>)> = merkle_nodes::table
        .filter(merkle_nodes::level.eq(level))
        .filter(merkle_nodes::idx.ge(start))
        .filter(merkle_nodes::idx.lt(end))
        .order(merkle_nodes::idx.asc())
        .select((merkle_nodes::idx, merkle_nodes::hash))
        .load(conn)?;
    let dense = rows.len() as u64 == count
        && rows
            .iter()
            .zip(start..)
            .all(|((idx, _), want)| *idx == want);
    if !dense {
        return Err(diesel::result::Error::NotFound);
    }
    rows.into_iter().map(|(_, h)| to_hash(h)).collect()
}
