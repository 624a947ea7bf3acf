//! What an open write transaction has learnt about the ledger's tail: the head
//! entry and the Merkle nodes it read or wrote. A sequencer batch appends many
//! entries in one transaction; with this, only its first append reads the head
//! and the left siblings from the database, and the rest take them from here.
//!
//! It is sound because a write transaction holds the ledger lock (SQLite's
//! `BEGIN IMMEDIATE`, PostgreSQL's advisory lock) from its start: no other
//! process or thread appends while it is open, and Merkle nodes are never
//! changed once stored. It lives on the thread that opened the transaction,
//! tagged with that connection, and is dropped when the transaction ends
//! ([`close`], by `store::db`, on commit and on rollback). A savepoint rolled
//! back takes back what was learnt inside it ([`unmark`]), so a refused
//! command in a batch leaves no head or node of its own behind.
//!
//! It also keeps the partnership's settings once read, for the transaction's
//! later commands: who is notified (the active webhooks and the address
//! lists), the registry's agencies and the active policy's version. Every
//! write to their tables drops them ([`forget_settings`], called by the few
//! functions that write those tables), as does any savepoint rolled back.
//! Another process cannot change them while the transaction holds the ledger
//! lock (every change to them is an entry, invariant 1), so the cache is
//! sound across processes too.

use std::cell::RefCell;

use crate::core::ledger::Hash;
use crate::core::merkle::NodeId;
use crate::core::registry::Agency;

#[derive(Default)]
struct Tail {
    /// The connection whose write transaction this belongs to (its address).
    owner: Option<usize>,
    /// Heads, oldest first: the last is the current one.
    heads: Vec<(i64, Hash)>,
    /// Nodes read or written, in that order.
    nodes: Vec<(NodeId, Hash)>,
    /// `(heads, nodes)` lengths at each open savepoint, innermost last.
    marks: Vec<(usize, usize)>,
    /// The active webhooks, once read.
    hooks: Option<Vec<Hook>>,
    /// Every address list, once read.
    lists: Option<Vec<RecipientRow>>,
    /// Every agency in the registry, retired ones included, once read.
    agencies: Option<Vec<Agency>>,
    /// The version activated last (`None`: none yet), once read.
    policy: Option<Option<String>>,
}

impl Tail {
    /// Drop the settings: they may have changed.
    fn forget_settings(&mut self) {
        self.hooks = None;
        self.lists = None;
        self.agencies = None;
        self.policy = None;
    }
}

/// An active webhook: its id, target kind and target.
pub type Hook = (String, String, String);

/// One target's address list as stored: kind, target, addresses (JSON), the
/// `seq` of the entry that set it (`store::email`).
pub type RecipientRow = (String, String, String, i64);

thread_local! {
    static TAIL: RefCell<Tail> = RefCell::new(Tail::default());
}

/// A connection by its address (generic, so that this module needs no
/// import from `store::db`, which calls it).
fn id<C>(conn: &C) -> usize {
    conn as *const C as usize
}

/// Run `f` on the tail if `conn`'s write transaction owns it.
fn with<C, T>(conn: &C, f: impl FnOnce(&mut Tail) -> T) -> Option<T> {
    TAIL.with(|t| {
        let mut t = t.borrow_mut();
        (t.owner == Some(id(conn))).then(|| f(&mut t))
    })
}

/// A write transaction (holding the ledger lock) has begun on `conn`.
pub(crate) fn open<C>(conn: &C) {
    TAIL.with(|t| {
        *t.borrow_mut() = Tail {
            owner: Some(id(conn)),
            ..Tail::default()
        }
    });
}

/// The transaction on `conn` has ended (committed or rolled back).
pub(crate) fn close<C>(conn: &C) {
    TAIL.with(|t| {
        let mut t = t.borrow_mut();
        if t.owner == Some(id(conn)) {
            *t = Tail::default();
        }
    });
}

/// A savepoint was taken on `conn`.
pub(crate) fn mark<C>(conn: &C) {
    with(conn, |t| {
        let m = (t.heads.len(), t.nodes.len());
        t.marks.push(m);
    });
}

/// The innermost savepoint on `conn` was released (`keep`) or rolled back.
pub(crate) fn unmark<C>(conn: &C, keep: bool) {
    with(conn, |t| {
        if let Some((heads, nodes)) = t.marks.pop() {
            if !keep {
                t.heads.truncate(heads);
                t.nodes.truncate(nodes);
                t.forget_settings();
            }
        }
    });
}

/// The head this transaction has seen or written, if it has.
pub fn head<C>(conn: &C) -> Option<(i64, Hash)> {
    with(conn, |t| t.heads.last().copied()).flatten()
}

/// The head is now `seq` with `hash`.
pub fn set_head<C>(conn: &C, seq: i64, hash: Hash) {
    with(conn, |t| t.heads.push((seq, hash)));
}

/// A stored node this transaction has read or written, if it has.
pub fn node<C>(conn: &C, node: NodeId) -> Option<Hash> {
    with(conn, |t| {
        t.nodes
            .iter()
            .rev()
            .find(|(id, _)| *id == node)
            .map(|(_, h)| *h)
    })
    .flatten()
}

/// These nodes are stored (read, or written in this transaction).
pub fn note_nodes<C>(conn: &C, nodes: impl IntoIterator<Item = (NodeId, Hash)>) {
    with(conn, |t| t.nodes.extend(nodes));
}

/// The settings (who is notified, the registry, the active policy) may have
/// changed in this transaction: read them again.
pub fn forget_settings<C>(conn: &C) {
    with(conn, Tail::forget_settings);
}

/// The active webhooks: `load`ed once per transaction (every time outside one).
pub fn hooks<C, E>(
    conn: &mut C,
    load: impl FnOnce(&mut C) -> Result<Vec<Hook>, E>,
) -> Result<Vec<Hook>, E> {
    cached(conn, |t| &mut t.hooks, load)
}

/// Every address list: `load`ed once per transaction (every time outside one).
pub fn lists<C, E>(
    conn: &mut C,
    load: impl FnOnce(&mut C) -> Result<Vec<RecipientRow>, E>,
) -> Result<Vec<RecipientRow>, E> {
    cached(conn, |t| &mut t.lists, load)
}

/// Every agency: `load`ed once per transaction (every time outside one).
pub fn agencies<C, E>(
    conn: &mut C,
    load: impl FnOnce(&mut C) -> Result<Vec<Agency>, E>,
) -> Result<Vec<Agency>, E> {
    cached(conn, |t| &mut t.agencies, load)
}

/// The version activated last: `load`ed once per transaction (every time
/// outside one).
pub fn policy<C, E>(
    conn: &mut C,
    load: impl FnOnce(&mut C) -> Result<Option<String>, E>,
) -> Result<Option<String>, E> {
    cached(conn, |t| &mut t.policy, load)
}

/// The tail's `slot` if filled, else `load` it and fill it (inside a write
/// transaction on `conn`).
fn cached<C, T: Clone, E>(
    conn: &mut C,
    slot: fn(&mut Tail) -> &mut Option<T>,
    load: impl FnOnce(&mut C) -> Result<T, E>,
) -> Result<T, E> {
    if let Some(Some(v)) = with(conn, |t| slot(t).clone()) {
        return Ok(v);
    }
    let v = load(conn)?;
    with(conn, |t| *slot(t) = Some(v.clone()));
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stands in for a connection: the tail knows one only by its address.
    fn conn() -> Box<u64> {
        Box::new(0)
    }

    const A: Hash = [1; 32];
    const B: Hash = [2; 32];

    #[test]
    fn nothing_is_known_outside_a_write_transaction() {
        let c = &*conn();
        set_head(c, 7, A);
        note_nodes(c, [(NodeId { level: 0, index: 7 }, A)]);
        assert_eq!(head(c), None);
        assert_eq!(node(c, NodeId { level: 0, index: 7 }), None);
    }

    #[test]
    fn a_rolled_back_savepoint_takes_back_what_it_learnt() {
        let c = &*conn();
        open(c);
        set_head(c, 1, A);
        mark(c);
        set_head(c, 2, B);
        note_nodes(c, [(NodeId { level: 0, index: 2 }, B)]);
        assert_eq!(head(c), Some((2, B)));
        unmark(c, false);
        assert_eq!(head(c), Some((1, A)));
        assert_eq!(node(c, NodeId { level: 0, index: 2 }), None);
        mark(c);
        set_head(c, 2, B);
        unmark(c, true);
        assert_eq!(head(c), Some((2, B)));
        close(c);
        assert_eq!(head(c), None);
    }

    #[test]
    fn another_connection_sees_nothing() {
        let (c, d) = (conn(), conn());
        let (c, d) = (&*c, &*d);
        open(c);
        set_head(c, 1, A);
        assert_eq!(head(d), None);
        close(d);
        assert_eq!(head(c), Some((1, A)));
        close(c);
    }

    #[test]
    fn who_is_notified_is_read_once_until_it_may_have_changed() {
        let c = &mut *conn();
        let mut loads = 0;
        let mut load = |_: &mut u64| -> Result<Vec<Hook>, ()> {
            loads += 1;
            Ok(vec![("h".into(), "agency".into(), "cafcass".into())])
        };
        // Outside a transaction: read every time.
        hooks(c, &mut load).expect("hooks");
        hooks(c, &mut load).expect("hooks");
        open(c);
        hooks(c, &mut load).expect("hooks");
        hooks(c, &mut load).expect("hooks");
        forget_settings(c);
        hooks(c, &mut load).expect("hooks");
        mark(c);
        unmark(c, false);
        hooks(c, &mut load).expect("hooks");
        close(c);
        assert_eq!(loads, 5);
    }

    #[test]
    fn the_registry_and_the_policy_are_read_once_until_they_may_have_changed() {
        let c = &mut *conn();
        let mut loads = 0;
        let mut load = |_: &mut u64| -> Result<Option<String>, ()> {
            loads += 1;
            Ok(Some("krscp-2024".into()))
        };
        open(c);
        assert_eq!(policy(c, &mut load), Ok(Some("krscp-2024".into())));
        policy(c, &mut load).expect("policy");
        let mut agency_loads = 0;
        let mut registry = |_: &mut u64| -> Result<Vec<Agency>, ()> {
            agency_loads += 1;
            Ok(vec![])
        };
        agencies(c, &mut registry).expect("agencies");
        agencies(c, &mut registry).expect("agencies");
        forget_settings(c);
        policy(c, &mut load).expect("policy");
        agencies(c, &mut registry).expect("agencies");
        close(c);
        assert_eq!((loads, agency_loads), (2, 2));
    }
}
