//! The RFC 9162 section 2.1 Merkle tree over the ledger's entry hashes: tree
//! heads, inclusion and consistency proofs, and their verifiers. Pure: no
//! actix, no diesel, no I/O.
//!
//! The leaves are the ledger's `entry_hash` values, which already are RFC 9162
//! leaf hashes (`SHA-256(0x00 || entry bytes)`, see [`crate::core::ledger::leaf_hash`]).
//!
//! # Why storage keeps only perfect subtrees
//!
//! A *perfect* subtree covers `2^level` leaves starting at a multiple of
//! `2^level` ([`NodeId`]). Once its last leaf is appended its hash never changes,
//! so a store can write it once and never update it, which suits an
//! append-only ledger. Appending leaf `n` completes exactly the nodes
//! [`nodes_completed_by_append`] lists: the leaf and one parent per trailing
//! one bit of `n`, so two rows per append on average.
//!
//! Every subtree that an RFC 9162 tree of *any* size uses, `MTH(D[start:end])`,
//! is the right fold of the perfect subtrees given by the binary digits of
//! `end - start`, so it costs `popcount(end - start)` reads ([`subtree_root`]).
//! Roots and proofs for every past tree size are therefore answered from the
//! same rows, with `O(log n)` primary-key reads each:
//!
//! * [`root`] reads `popcount(size)` nodes.
//! * An inclusion proof (section 2.1.3.1) has at most `h = ceil(log2(size))`
//!   hashes. Each is a perfect subtree (one read) except at most one: the right
//!   sibling met where the path first turns left, below which every subtree is
//!   perfect. That sibling has fewer than `2^(h-1)` leaves, so at most `h - 1`
//!   reads. In all, at most `2h - 2` reads (or `h` when `h <= 1`).
//! * A consistency proof (section 2.1.4.1) has at most `h + 1` hashes, with the
//!   same single exception (after the first left turn every hash, the final
//!   `MTH(D[start:end])` included, is a perfect subtree), so at most
//!   `h + (h - 1) = 2h - 1` reads.
//!
//! The tests check these bounds for every proof in trees of up to 128 leaves,
//! on a built tree of 2^17 - 1 leaves, and, with a store that holds no hashes,
//! on trees of one million, 2^40 + 12345 and 2^64 - 2 leaves.

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::core::ledger::{sha256, Hash};

/// Interior node hash, RFC 9162 section 2.1.1: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree, RFC 9162 section 2.1.1: `SHA-256("")`.
pub fn empty_root() -> Hash {
    sha256(b"")
}

/// A perfect subtree: the one covering leaves `[index << level, (index + 1) << level)`.
/// Level 0 holds the leaf hashes themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u32,
    pub index: u64,
}

impl NodeId {
    /// The two perfect subtrees this node is the hash of, or `None` for a leaf.
    pub fn children(self) -> Option<(NodeId, NodeId)> {
        let level = self.level.checked_sub(1)?;
        let left = self.index.checked_mul(2)?;
        Some((
            NodeId { level, index: left },
            NodeId {
                level,
                index: left + 1,
            },
        ))
    }
}

/// The perfect nodes that become complete when leaf number `n` (0-based) is
/// appended, bottom-up, starting with the leaf `(0, n)`. A node is completed by
/// its last leaf, so leaf `n` completes one node per trailing one bit of `n`,
/// plus the leaf itself. A store inserts them in this order, each parent being
/// `node_hash(left child, right child)` (see [`NodeId::children`]).
pub fn nodes_completed_by_append(n: u64) -> Vec<NodeId> {
    (0..=n.trailing_ones())
        .map(|level| NodeId {
            level,
            index: n.checked_shr(level).unwrap_or(0),
        })
        .collect()
}

/// Where perfect-subtree hashes are stored. A database implements it with one
/// primary-key read per call; [`MemTree`] keeps them in memory. The functions
/// here only ask for nodes inside the tree size they are given, so a node that
/// is not stored means the store holds fewer leaves than that size.
pub trait NodeSource {
    type Error;
    /// The hash of a complete perfect subtree; an error if it is not stored.
    fn node(&mut self, id: NodeId) -> Result<Hash, Self::Error>;
}

/// Why a root or a proof could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError<E> {
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {from} cannot be a prefix of the smaller tree size {to}")]
    SizesOutOfOrder { from: u64, to: u64 },
    #[error("leaves [{start}, {end}) are not a subtree of any RFC 9162 tree")]
    NotASubtree { start: u64, end: u64 },
    #[error("reading a tree node: {0}")]
    Store(E),
}

/// RFC 9162 section 2.1.1's `k`: the largest power of two smaller than `n`, for `n >= 2`.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// `MTH(D[start:end])` for a non-empty range that some RFC 9162 tree uses as a
/// subtree (checked by [`subtree_root`]). Each left part is one stored node.
fn mth_stored<S: NodeSource>(src: &mut S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let n = end - start;
    if n.is_power_of_two() {
        let level = n.trailing_zeros();
        return src.node(NodeId {
            level,
            index: start >> level,
        });
    }
    let k = split(n);
    let left = mth_stored(src, start, start + k)?;
    let right = mth_stored(src, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// `MTH(D[start:end])`, RFC 9162 section 2.1.1, read from stored perfect subtrees
/// with `popcount(end - start)` reads.
///
/// The range must be one that RFC 9162 trees use as a subtree: non-empty, and
/// `start` a multiple of the smallest power of two `>= end - start` (every node of
/// every tree, and every proof hash, is such a range). Other ranges would cost
/// up to `end - start` reads, and are refused with [`ProofError::NotASubtree`].
pub fn subtree_root<S: NodeSource>(
    src: &mut S,
    start: u64,
    end: u64,
) -> Result<Hash, ProofError<S::Error>> {
    let aligned = match end.checked_sub(start) {
        None | Some(0) => false,
        Some(n) => match n.checked_next_power_of_two() {
            Some(p) => start.is_multiple_of(p),
            None => start == 0,
        },
    };
    if !aligned {
        return Err(ProofError::NotASubtree { start, end });
    }
    mth_stored(src, start, end).map_err(ProofError::Store)
}

/// The tree head `MTH(D[0:size])`; [`empty_root`] for size 0.
pub fn root<S: NodeSource>(src: &mut S, size: u64) -> Result<Hash, ProofError<S::Error>> {
    if size == 0 {
        return Ok(empty_root());
    }
    subtree_root(src, 0, size)
}

/// The inclusion proof `PATH(index, D[0:size])` of RFC 9162 section 2.1.3.1,
/// innermost sibling first.
pub fn inclusion_proof<S: NodeSource>(
    src: &mut S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // Walk down from the root; each step adds the sibling of the half holding
    // the leaf: PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) if m < k,
    // otherwise PATH(m - k, D[k:n]) : MTH(D[0:k]).
    let (mut start, mut end) = (0, size);
    let mut path = Vec::new();
    while end - start > 1 {
        let mid = start + split(end - start);
        if index < mid {
            path.push(mth_stored(src, mid, end).map_err(ProofError::Store)?);
            end = mid;
        } else {
            path.push(mth_stored(src, start, mid).map_err(ProofError::Store)?);
            start = mid;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof `PROOF(from, D[0:to])` of RFC 9162 section 2.1.4.1.
///
/// RFC 9162 defines it for `0 < from < to`. For `from == to` the proof is empty
/// (the roots must simply be equal), and for `from == 0` it is empty too: the
/// empty tree is a prefix of every tree. [`verify_consistency`] accepts exactly
/// these empty proofs.
pub fn consistency_proof<S: NodeSource>(
    src: &mut S,
    from: u64,
    to: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if from > to {
        return Err(ProofError::SizesOutOfOrder { from, to });
    }
    if from == 0 || from == to {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[start:end], b), walking down from SUBPROOF(from, D[0:to], true),
    // with m = from - start:
    //   m == n:  {} if b, else {MTH(D[start:end])}
    //   m <= k:  SUBPROOF(m, D[start:start+k], b) : MTH(D[start+k:end])
    //   m > k:   SUBPROOF(m - k, D[start+k:end], false) : MTH(D[start:start+k])
    // The walk keeps start < from <= end, so it reaches from == end.
    let (mut start, mut end, mut b) = (0, to, true);
    let mut path = Vec::new();
    while from != end {
        let mid = start + split(end - start);
        if from <= mid {
            path.push(mth_stored(src, mid, end).map_err(ProofError::Store)?);
            end = mid;
        } else {
            path.push(mth_stored(src, start, mid).map_err(ProofError::Store)?);
            start = mid;
            b = false;
        }
    }
    if !b {
        path.push(mth_stored(src, start, end).map_err(ProofError::Store)?);
    }
    path.reverse();
    Ok(path)
}

/// Why a proof does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum VerifyError {
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("old tree size {from} is larger than new tree size {to}")]
    SizesOutOfOrder { from: u64, to: u64 },
    #[error("the proof has more hashes than a proof for these tree sizes can have")]
    ProofTooLong,
    #[error("the proof has fewer hashes than a proof for these tree sizes needs")]
    ProofTooShort,
    #[error("the proof must be empty for these tree sizes, but has {len} hashes")]
    ProofNotEmpty { len: usize },
    #[error("the inclusion proof does not lead to the expected root hash")]
    RootMismatch,
    #[error("the consistency proof does not reproduce the old root hash")]
    OldRootMismatch,
    #[error("the consistency proof does not reproduce the new root hash")]
    NewRootMismatch,
}

/// Right-shift `fn` and `sn` until `LSB(fn)` is set or `fn` is 0 (RFC 9162 2.1.3.2 and 2.1.4.2).
fn shift_to_set_bit_or_zero(fn_: &mut u64, sn: &mut u64) {
    while *fn_ & 1 == 0 && *fn_ != 0 {
        *fn_ >>= 1;
        *sn >>= 1;
    }
}

/// The root that `proof` leads to from `leaf` at `index` in a tree of `size`:
/// steps 1 to 4 of RFC 9162 section 2.1.3.2, and step 5's check that `sn` is 0.
pub fn root_from_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    // 1. The leaf must be in the tree.
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    // 2. and 3.
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    // 4.
    for p in proof {
        if sn == 0 {
            return Err(VerifyError::ProofTooLong);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            shift_to_set_bit_or_zero(&mut fn_, &mut sn);
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5. (first half)
    if sn != 0 {
        return Err(VerifyError::ProofTooShort);
    }
    Ok(r)
}

/// Verify that `leaf` is at `index` in the tree of `size` whose head is `root`,
/// RFC 9162 section 2.1.3.2.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if root_from_inclusion(leaf, index, size, proof)? != *root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// Verify that the tree of size `from` with head `from_root` is a prefix of the
/// tree of size `to` with head `to_root`, RFC 9162 section 2.1.4.2.
///
/// RFC 9162 covers `0 < from < to`. Outside it: `from > to` is an error; for
/// `from == to` the proof must be empty and the roots equal; for `from == 0` the
/// proof must be empty and `from_root` must be [`empty_root`], the only head a
/// tree of size 0 has (as in C2SP CCTV's Merkle test vectors).
pub fn verify_consistency(
    from: u64,
    to: u64,
    proof: &[Hash],
    from_root: &Hash,
    to_root: &Hash,
) -> Result<(), VerifyError> {
    if from > to {
        return Err(VerifyError::SizesOutOfOrder { from, to });
    }
    if from == 0 || from == to {
        if !proof.is_empty() {
            return Err(VerifyError::ProofNotEmpty { len: proof.len() });
        }
        if from == 0 && *from_root != empty_root() {
            return Err(VerifyError::OldRootMismatch);
        }
        if from == to && from_root != to_root {
            return Err(VerifyError::NewRootMismatch);
        }
        return Ok(());
    }
    // 1. An empty proof fails.
    let Some((first, rest)) = proof.split_first() else {
        return Err(VerifyError::ProofTooShort);
    };
    // 2. If `from` is an exact power of two, prepend `from_root` to the path.
    let (seed, rest) = if from.is_power_of_two() {
        (from_root, proof)
    } else {
        (first, rest)
    };
    // 3. and 4.
    let (mut fn_, mut sn) = (from - 1, to - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5.
    let (mut fr, mut sr) = (*seed, *seed);
    // 6.
    for c in rest {
        if sn == 0 {
            return Err(VerifyError::ProofTooLong);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            shift_to_set_bit_or_zero(&mut fn_, &mut sn);
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // 7.
    if sn != 0 {
        return Err(VerifyError::ProofTooShort);
    }
    if fr != *from_root {
        return Err(VerifyError::OldRootMismatch);
    }
    if sr != *to_root {
        return Err(VerifyError::NewRootMismatch);
    }
    Ok(())
}

/// A node that [`MemTree`] does not hold (yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("node (level {}, index {}) is not stored in a tree of {size} leaves", .id.level, .id.index)]
pub struct MissingNode {
    pub id: NodeId,
    pub size: u64,
}

/// An in-memory store of perfect subtrees, for tests, offline audits and
/// benchmarks. It counts [`NodeSource::node`] calls, so callers can report
/// reads per root or proof.
#[derive(Debug, Clone, Default)]
pub struct MemTree {
    /// `levels[l][i]` is the hash of `NodeId { level: l, index: i }`.
    levels: Vec<Vec<Hash>>,
    reads: u64,
}

impl MemTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// A stored node, without counting a read.
    pub fn get(&self, id: NodeId) -> Option<Hash> {
        let level = self.levels.get(usize::try_from(id.level).ok()?)?;
        level.get(usize::try_from(id.index).ok()?).copied()
    }

    /// Append a leaf hash and store the nodes it completes; returns its index.
    pub fn push(&mut self, leaf: Hash) -> u64 {
        let n = self.size();
        for id in nodes_completed_by_append(n) {
            let hash = match id.children() {
                None => leaf,
                Some((left, right)) => match (self.get(left), self.get(right)) {
                    (Some(l), Some(r)) => node_hash(&l, &r),
                    // nodes_completed_by_append is bottom-up and the left child
                    // completed earlier, so both are stored.
                    _ => unreachable!("children of {id:?} are stored before it"),
                },
            };
            let level = id.level as usize;
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(hash);
        }
        n
    }

    /// Node reads since the last call (or since the tree was made).
    pub fn take_reads(&mut self) -> u64 {
        std::mem::take(&mut self.reads)
    }
}

impl NodeSource for MemTree {
    type Error = MissingNode;

    fn node(&mut self, id: NodeId) -> Result<Hash, MissingNode> {
        self.reads += 1;
        self.get(id).ok_or(MissingNode {
            id,
            size: self.size(),
        })
    }
}

impl Extend<Hash> for MemTree {
    fn extend<I: IntoIterator<Item = Hash>>(&mut self, leaves: I) {
        for leaf in leaves {
            self.push(leaf);
        }
    }
}

impl FromIterator<Hash> for MemTree {
    fn from_iter<I: IntoIterator<Item = Hash>>(leaves: I) -> Self {
        let mut t = MemTree::new();
        t.extend(leaves);
        t
    }
}

/// The right edge of a growing tree: one hash per set bit of its size. Enough to
/// give the root after every append in O(log n) memory, so a verifier can stream
/// a ledger of any length.
#[derive(Debug, Clone, Default)]
pub struct Frontier {
    size: u64,
    /// Perfect subtree roots, largest (leftmost) first.
    peaks: Vec<Hash>,
}

impl Frontier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        // Each trailing one bit of the old size is a peak the new leaf completes.
        let mut n = self.size;
        while n & 1 == 1 {
            if let Some(left) = self.peaks.pop() {
                hash = node_hash(&left, &hash);
            }
            n >>= 1;
        }
        self.peaks.push(hash);
        self.size += 1;
    }

    /// `MTH` of the leaves pushed so far (RFC 9162 section 2.1.1).
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        match peaks.next() {
            None => empty_root(),
            Some(last) => peaks.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn frontier_roots_match_the_stored_tree() {
        let mut tree = MemTree::new();
        let mut frontier = Frontier::new();
        assert_eq!(frontier.root(), empty_root());
        for i in 0u32..300 {
            let leaf = crate::core::ledger::leaf_hash(&i.to_be_bytes());
            tree.push(leaf);
            frontier.push(leaf);
            assert_eq!(
                Ok(frontier.root()),
                root(&mut tree, u64::from(i) + 1),
                "size {}",
                i + 1
            );
        }
        assert_eq!(frontier.size(), 300);
    }

    use super::*;
    use crate::core::ledger::leaf_hash;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn h(s: &str) -> Hash {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).unwrap();
        out
    }
    fn hs(v: &[&str]) -> Vec<Hash> {
        v.iter().map(|s| h(s)).collect()
    }
    fn id(level: u32, index: u64) -> NodeId {
        NodeId { level, index }
    }

    // ---- The naive reference, straight from RFC 9162 section 2.1 ----------

    fn k_of(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// MTH(D[n]) of section 2.1.1, over leaf hashes.
    fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => empty_root(),
            1 => d[0],
            n => {
                let k = k_of(n);
                node_hash(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    /// PATH(m, D[n]) of section 2.1.3.1.
    fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
        if d.len() <= 1 {
            return vec![];
        }
        let k = k_of(d.len());
        let (mut p, sibling) = if m < k {
            (path(m, &d[..k]), mth(&d[k..]))
        } else {
            (path(m - k, &d[k..]), mth(&d[..k]))
        };
        p.push(sibling);
        p
    }

    /// SUBPROOF(m, D[n], b) of section 2.1.4.1.
    fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![mth(d)] };
        }
        let k = k_of(n);
        let (mut p, sibling) = if m <= k {
            (subproof(m, &d[..k], b), mth(&d[k..]))
        } else {
            (subproof(m - k, &d[k..], false), mth(&d[..k]))
        };
        p.push(sibling);
        p
    }

    /// Distinct, deterministic leaves for property tests.
    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// A read-only view of a shared tree, for tests that don't count reads.
    struct View<'a>(&'a MemTree);
    impl NodeSource for View<'_> {
        type Error = MissingNode;
        fn node(&mut self, id: NodeId) -> Result<Hash, MissingNode> {
            self.0.get(id).ok_or(MissingNode {
                id,
                size: self.0.size(),
            })
        }
    }

    /// Records which nodes are read.
    struct Recorder<'a>(&'a MemTree, Vec<NodeId>);
    impl NodeSource for Recorder<'_> {
        type Error = MissingNode;
        fn node(&mut self, id: NodeId) -> Result<Hash, MissingNode> {
            self.1.push(id);
            View(self.0).node(id)
        }
    }

    fn flip(x: &Hash, bit: usize) -> Hash {
        let mut y = *x;
        y[bit / 8 % 32] ^= 1 << (bit % 8);
        y
    }

    // ---- 1. Published test vectors -----------------------------------------

    // From transparency-dev/merkle, proof/verify_test.go (stored version at
    // commit 02194e9afb6c1d95b5381350007963aa70fff472): the RFC 6962 reference
    // leaves, the roots of sizes 1..=8, and known inclusion and consistency proofs.
    // The Go file numbers leaves from 1; the indices below are 0-based.
    const TD_LEAF_DATA: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const TD_EMPTY_ROOT: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const TD_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    type Vector = (u64, u64, &'static [&'static str]);
    const TD_INCLUSION: [Vector; 5] = [
        (0, 1, &[]),
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    const TD_CONSISTENCY: [Vector; 5] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
        (
            6,
            7,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    /// An arbitrary hash that is no root, from the same file.
    const TD_SOME_HASH: &str = "abacaba000000000000000000000000000000000000000000060061e00123456";

    fn td_tree() -> MemTree {
        TD_LEAF_DATA
            .iter()
            .map(|d| leaf_hash(&hex::decode(d).unwrap()))
            .collect()
    }
    fn td_root(size: u64) -> Hash {
        h(TD_ROOTS[size as usize - 1])
    }

    #[test]
    fn rfc6962_reference_roots() {
        let mut t = td_tree();
        assert_eq!(empty_root(), h(TD_EMPTY_ROOT));
        assert_eq!(root(&mut t, 0), Ok(h(TD_EMPTY_ROOT)));
        for size in 1..=8 {
            assert_eq!(root(&mut t, size), Ok(td_root(size)), "size {size}");
        }
    }

    #[test]
    fn rfc6962_reference_inclusion_proofs() {
        let mut t = td_tree();
        for (index, size, want) in TD_INCLUSION {
            let want = hs(want);
            let proof = inclusion_proof(&mut t, index, size).unwrap();
            assert_eq!(proof, want, "proof for {index} in {size}");
            let leaf = t.get(id(0, index)).unwrap();
            let root = td_root(size);
            assert_eq!(root_from_inclusion(&leaf, index, size, &proof), Ok(root));
            assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));

            // The corruptions transparency-dev/merkle probes its verifier with.
            let some = h(TD_SOME_HASH);
            let mut bad: Vec<(u64, u64, Hash, Vec<Hash>, Hash)> = vec![
                (index.wrapping_sub(1), size, leaf, proof.clone(), root),
                (index + 1, size, leaf, proof.clone(), root),
                (index ^ 2, size, leaf, proof.clone(), root),
                (index, size * 2, leaf, proof.clone(), root),
                (index, size / 2, leaf, proof.clone(), root),
                (index, size, leaf_hash(b"WrongLeaf"), proof.clone(), root),
                (index, size, leaf, proof.clone(), empty_root()),
                (index, size, leaf, proof.clone(), some),
                (index, size, leaf, [&proof[..], &[root]].concat(), root),
                (index, size, leaf, [&[root], &proof[..]].concat(), root),
            ];
            for i in 0..proof.len() {
                let mut p = proof.clone();
                p[i][0] ^= 8;
                bad.push((index, size, leaf, p, root));
            }
            if let Some((_, shorter)) = proof.split_last() {
                bad.push((index, size, leaf, shorter.to_vec(), root));
            }
            if proof.len() > 1 {
                let inserted = [&proof[..1], &[some], &proof[1..]].concat();
                bad.push((index, size, leaf, inserted, root));
            }
            for (i, s, l, p, r) in bad {
                assert!(
                    verify_inclusion(&l, i, s, &p, &r).is_err(),
                    "accepted corrupted proof: index {i}, size {s}, proof {p:02x?}"
                );
            }
        }
    }

    #[test]
    fn rfc6962_reference_consistency_proofs() {
        let mut t = td_tree();
        for (from, to, want) in TD_CONSISTENCY {
            let want = hs(want);
            let proof = consistency_proof(&mut t, from, to).unwrap();
            assert_eq!(proof, want, "proof from {from} to {to}");
            let (r1, r2) = (td_root(from), td_root(to));
            assert_eq!(verify_consistency(from, to, &proof, &r1, &r2), Ok(()));
            if proof.is_empty() {
                continue;
            }
            let bogus = h(TD_SOME_HASH);
            let mut bad: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
                (from - 1, to, r1, r2, proof.clone()),
                (from + 1, to, r1, r2, proof.clone()),
                (from ^ 2, to, r1, r2, proof.clone()),
                (from, to * 2, r1, r2, proof.clone()),
                (from, to / 2, r1, r2, proof.clone()),
                (from, to, bogus, r2, proof.clone()),
                (from, to, r1, bogus, proof.clone()),
                (from, to, r2, r1, proof.clone()),
                (from, to, r1, r2, vec![]),
                (from, to, r1, r2, [&proof[..], &[r1]].concat()),
                (from, to, r1, r2, [&proof[..], &[r2]].concat()),
                (from, to, r1, r2, [&[r1], &proof[..]].concat()),
                (from, to, r1, r2, [&[r2], &proof[..]].concat()),
                (from, to, r1, r2, [&proof[..1], &proof[..]].concat()),
                (from, to, r1, r2, proof[..proof.len() - 1].to_vec()),
            ];
            for i in 0..proof.len() {
                let mut p = proof.clone();
                p[i][0] ^= 16;
                bad.push((from, to, r1, r2, p));
            }
            for (f, s, a, b, p) in bad {
                assert!(
                    verify_consistency(f, s, &p, &a, &b).is_err(),
                    "accepted corrupted proof from {f} to {s}: {p:02x?}"
                );
            }
        }
    }

    /// The edge cases of transparency-dev/merkle's TestVerifyConsistency, with
    /// arbitrary distinct hashes for its "don't care" roots. Where that test
    /// accepts any old root for size 0, this verifier requires the empty root,
    /// as C2SP CCTV's vectors do (see below).
    #[test]
    fn consistency_edge_cases() {
        let (r1, r2, e) = (leaf_hash(b"1"), leaf_hash(b"2"), empty_root());
        let ok = |from, to, p: &[Hash], a: &Hash, b: &Hash| verify_consistency(from, to, p, a, b);
        assert_eq!(ok(0, 0, &[], &r1, &r2), Err(VerifyError::OldRootMismatch));
        assert_eq!(ok(1, 1, &[], &r1, &r2), Err(VerifyError::NewRootMismatch));
        assert_eq!(ok(0, 0, &[], &e, &e), Ok(()));
        assert_eq!(ok(0, 1, &[], &e, &r2), Ok(()));
        assert_eq!(ok(1, 1, &[], &r2, &r2), Ok(()));
        let out_of_order = |from, to| -> Result<(), VerifyError> {
            Err(VerifyError::SizesOutOfOrder { from, to })
        };
        assert_eq!(ok(1, 0, &[], &r1, &r2), out_of_order(1, 0));
        assert_eq!(ok(2, 1, &[], &r1, &r2), out_of_order(2, 1));
        assert_eq!(ok(1, 2, &[], &r1, &r2), Err(VerifyError::ProofTooShort));
        let not_empty = Err(VerifyError::ProofNotEmpty { len: 1 });
        assert_eq!(ok(0, 0, &[e], &e, &e), not_empty);
        assert_eq!(ok(0, 1, &[e], &e, &e), not_empty);
        assert_eq!(ok(1, 1, &[e], &e, &e), not_empty);
    }

    /// Which stored nodes a proof reads, from transparency-dev/merkle,
    /// proof/proof_test.go (stored version at commit
    /// 02a3e2029520f515596d5238c54fb0ac9e19bff4), TestInclusion and
    /// TestConsistency: its "rehash" entries are the perfect subtrees that a
    /// non-perfect proof hash is built from, as in [`subtree_root`].
    #[test]
    fn reads_the_nodes_transparency_dev_reads() {
        let t: MemTree = leaves(95).into_iter().collect();
        let sorted = |mut v: Vec<NodeId>| {
            v.sort();
            v
        };
        /// (size or from, index or to, the (level, index) of every node read)
        type Reads = (u64, u64, &'static [(u32, u64)]);
        let inclusion: &[Reads] = &[
            (1, 0, &[]),
            (2, 0, &[(0, 1)]),
            (2, 1, &[(0, 0)]),
            (3, 1, &[(0, 0), (0, 2)]),
            (7, 0, &[(0, 1), (1, 1), (0, 6), (1, 2)]),
            (7, 1, &[(0, 0), (1, 1), (0, 6), (1, 2)]),
            (7, 2, &[(0, 3), (1, 0), (0, 6), (1, 2)]),
            (7, 3, &[(0, 2), (1, 0), (0, 6), (1, 2)]),
            (7, 4, &[(0, 5), (0, 6), (2, 0)]),
            (7, 5, &[(0, 4), (0, 6), (2, 0)]),
            (7, 6, &[(1, 2), (2, 0)]),
            (4, 2, &[(0, 3), (1, 0)]),
            (5, 3, &[(0, 2), (1, 0), (0, 4)]),
            (6, 3, &[(0, 2), (1, 0), (1, 2)]),
            (6, 4, &[(0, 5), (2, 0)]),
            (15, 10, &[(0, 11), (1, 4), (0, 14), (1, 6), (3, 0)]),
            (
                31,
                24,
                &[(0, 25), (1, 13), (0, 30), (1, 14), (3, 2), (4, 0)],
            ),
            (
                95,
                81,
                &[
                    (0, 80),
                    (1, 41),
                    (2, 21),
                    (0, 94),
                    (1, 46),
                    (2, 22),
                    (4, 4),
                    (6, 0),
                ],
            ),
        ];
        for &(size, index, want) in inclusion {
            let mut r = Recorder(&t, vec![]);
            inclusion_proof(&mut r, index, size).unwrap();
            let want = want.iter().map(|&(l, i)| id(l, i)).collect();
            assert_eq!(sorted(r.1), sorted(want), "inclusion {index} in {size}");
        }
        let consistency: &[Reads] = &[
            (1, 2, &[(0, 1)]),
            (1, 4, &[(0, 1), (1, 1)]),
            (1, 6, &[(0, 1), (1, 1), (1, 2)]),
            (2, 3, &[(0, 2)]),
            (2, 8, &[(1, 1), (2, 1)]),
            (3, 7, &[(0, 2), (0, 3), (1, 0), (0, 6), (1, 2)]),
            (4, 7, &[(0, 6), (1, 2)]),
            (5, 7, &[(0, 4), (0, 5), (0, 6), (2, 0)]),
            (6, 7, &[(1, 2), (0, 6), (2, 0)]),
            (7, 8, &[(0, 6), (0, 7), (1, 2), (2, 0)]),
            (1, 1, &[]),
            (8, 8, &[]),
            (2, 4, &[(1, 1)]),
            (3, 5, &[(0, 2), (0, 3), (1, 0), (0, 4)]),
            (3, 6, &[(0, 2), (0, 3), (1, 0), (1, 2)]),
            (4, 6, &[(1, 2)]),
            (1, 7, &[(0, 1), (1, 1), (0, 6), (1, 2)]),
            (10, 15, &[(1, 4), (1, 5), (0, 14), (1, 6), (3, 0)]),
            (24, 31, &[(3, 2), (0, 30), (1, 14), (2, 6), (4, 0)]),
            (
                81,
                95,
                &[
                    (0, 80),
                    (0, 81),
                    (1, 41),
                    (2, 21),
                    (0, 94),
                    (1, 46),
                    (2, 22),
                    (4, 4),
                    (6, 0),
                ],
            ),
        ];
        for &(from, to, want) in consistency {
            let mut r = Recorder(&t, vec![]);
            consistency_proof(&mut r, from, to).unwrap();
            let want = want.iter().map(|&(l, i)| id(l, i)).collect();
            assert_eq!(sorted(r.1), sorted(want), "consistency {from} to {to}");
        }
    }

    // C2SP CCTV Merkle tree test vectors ("Test vectors for working with Merkle
    // trees as defined in RFC 6962", Go module c2sp.org/CCTV/merkle), read from
    // the stored copy in rgdd/CCTV, merkle/testdata/ (merkle_tree.json at
    // commit a048c05dedbd46169f497e0c3676a28e0ba63c56, inclusion-*.json at
    // 825c87df3b6c183c790846f2ba8b3dafbe05cbaf, consistency-*.json at
    // a9d9a096fad9c966d72a5b032f3b081678262cee). Their base64 is converted to
    // hex here.

    /// merkle_tree.json: leaf data "a".."p", each leaf hash, and the root after
    /// appending it.
    const CCTV_TREE: [(&str, &str, &str); 16] = [
        (
            "a",
            "022a6979e6dab7aa5ae4c3e5e45f7e977112a7e63593820dbec1ec738a24f93c",
            "022a6979e6dab7aa5ae4c3e5e45f7e977112a7e63593820dbec1ec738a24f93c",
        ),
        (
            "b",
            "57eb35615d47f34ec714cacdf5fd74608a5e8e102724e80b24b287c0c27b6a31",
            "b137985ff484fb600db93107c77b0365c80d78f5b429ded0fd97361d077999eb",
        ),
        (
            "c",
            "597fcb31282d34654c200d3418fca5705c648ebf326ec73d8ddef11841f876d8",
            "36642e73c2540ab121e3a6bf9545b0a24982cd830eb13d3cd19de3ce6c021ec1",
        ),
        (
            "d",
            "d070dc5b8da9aea7dc0f5ad4c29d89965200059c9a0ceca3abd5da2492dcb71d",
            "33376a3bd63e9993708a84ddfe6c28ae58b83505dd1fed711bd924ec5a6239f0",
        ),
        (
            "e",
            "2824a7ccda2caa720c85c9fba1e8b5b735eecfdb03878e4f8dfe6c3625030bc4",
            "fe14a5426fbd70c0fa73f52342afed0da0bd23c4838662ccf6b88a3070ead97b",
        ),
        (
            "f",
            "f5a06d3c52937089c51b7c6c1cc1948ccdc5581328b2ebb578e8cca66a7b5221",
            "e069fc12e231ccfd4516bf1617945fb3ccd5cc8910d92d6265289f088f777fdd",
        ),
        (
            "g",
            "5aeb196e83598231b45c61f3e0c5a0fda49b0d4f86a6db5f893aacccf514fa99",
            "4ae191939f548d9934740b88dea2c5cb89bb8870fc4505cd79dec6bbfaaee9cb",
        ),
        (
            "h",
            "e593490a360ac8104e842141c4059603e0d90b79de99e5b6b6f05afe14945659",
            "a5dac6b1ff1dca13dcf9423dcbf1bbb4dbce7e8cbf7f4c014cf40c6c8171a2bd",
        ),
        (
            "i",
            "0f2c7f7e50abf7ce2200ae61f3ae429ca9f31d1c7cd57e94248f0b9b5d4fac03",
            "fd4aed6078aa764f14dbd30999ded8582b0271fe27c0f53eec11b27738e07be9",
        ),
        (
            "j",
            "4daeb7b535a01efb089d2750ed30174df27667c2f3b38dbcd01d91b273f977c4",
            "5fad5aa198c2f6c30fd2265a89e125168b0e1f60826413b45b810a220950bd25",
        ),
        (
            "k",
            "f6dc1034b093dd79d1b96f328cb1e489ff00868c9a1fdb2f1f929e5bf31f9e51",
            "33a2c461343aaf565361ed17f698da1f6cc6b8ea4f1f1e7f16ae5b0abb91c327",
        ),
        (
            "l",
            "58fe086fe8376a7f83e2774a29fb609cde97ea058d84c931194e2b967b79bef3",
            "08212952976996fee2a01eee397303379e7eb99deec9da3b28c660372662243c",
        ),
        (
            "m",
            "8c941a526a0adc76166600d48309556769aac616405011874d3ca7c2048064e7",
            "d223463a887e1d1de184512cea2eaeac7a840ecd666e66a0869440b965bd3e58",
        ),
        (
            "n",
            "0d84902cc0f636b02b84346ed79c43d5626284d5baabf7e997a936270680cd2b",
            "b86dfe40b214ef5486b1e3592445d51677c8dd934b1820d4f06d1d311392c7ad",
        ),
        (
            "o",
            "f3a5441d11e0c900d8957d0e72f4a82f1490c4a0a4d9e1c0f3b29328e3898ed0",
            "8e7a74fe3bd52c61138c3654ddc913859d7308dbd16e43cbe790070fa5e38070",
        ),
        (
            "p",
            "4cf5af027d9a949a881e505bd7c7b14c5eb61ff47d159b585a331d690501d13d",
            "09719c6d8c99470f2a2bd1cff94cfbd7f53ff138e8c161669c85f9a6c6140313",
        ),
    ];
    /// The path shared by inclusion-valid.json (leaf 0 of 10) and
    /// consistency-valid.json (size 1 to 10).
    const CCTV_PATH_0_10: [&str; 4] = [
        "57eb35615d47f34ec714cacdf5fd74608a5e8e102724e80b24b287c0c27b6a31",
        "dbbd68c325614a73dacb4e7a87a2b7b4ae9724b489e5629ee83151fe8f0eafd7",
        "942c3c763f29608957d92d095589e6e5fb65414c3ef9ae26fc1f49f07f5e0dc7",
        "93a8c10565e6793991df80b2aaedd1c504b3a72be5d71821b420dc483bcb5e4d",
    ];
    /// Mutated leaf hashes from inclusion-invalid.json (first byte changed).
    const CCTV_BAD_A: &str = "032a6979e6dab7aa5ae4c3e5e45f7e977112a7e63593820dbec1ec738a24f93c";
    const CCTV_BAD_B: &str = "58eb35615d47f34ec714cacdf5fd74608a5e8e102724e80b24b287c0c27b6a31";

    fn cctv_tree() -> MemTree {
        CCTV_TREE.iter().map(|(_, leaf, _)| h(leaf)).collect()
    }
    fn cctv_root(size: u64) -> Hash {
        match size {
            0 => h(TD_EMPTY_ROOT),
            n => h(CCTV_TREE[n as usize - 1].2),
        }
    }

    #[test]
    fn cctv_tree_heads() {
        let mut t = cctv_tree();
        for (i, (data, leaf, _)) in CCTV_TREE.iter().enumerate() {
            assert_eq!(leaf_hash(data.as_bytes()), h(leaf), "leaf {data}");
            let size = i as u64 + 1;
            assert_eq!(root(&mut t, size), Ok(cctv_root(size)), "size {size}");
        }
    }

    #[test]
    fn cctv_inclusion() {
        let mut t = cctv_tree();
        let (a, b) = (h(CCTV_TREE[0].1), h(CCTV_TREE[1].1));
        let valid: [(Hash, u64, u64, Vec<Hash>); 4] = [
            (a, 0, 1, vec![]),
            (a, 0, 2, vec![b]),
            (b, 1, 2, vec![a]),
            (a, 0, 10, hs(&CCTV_PATH_0_10)),
        ];
        for (leaf, index, size, want) in valid {
            assert_eq!(inclusion_proof(&mut t, index, size), Ok(want.clone()));
            let root = cctv_root(size);
            assert_eq!(verify_inclusion(&leaf, index, size, &want, &root), Ok(()));
        }
        let (bad_a, bad_b) = (h(CCTV_BAD_A), h(CCTV_BAD_B));
        let invalid: [(Hash, u64, u64, Vec<Hash>); 4] = [
            (bad_a, 0, 1, vec![]),
            (bad_a, 0, 2, vec![b]),
            (bad_b, 1, 2, vec![a]),
            (bad_a, 0, 10, hs(&CCTV_PATH_0_10)),
        ];
        for (leaf, index, size, proof) in invalid {
            let root = cctv_root(size);
            assert_eq!(
                verify_inclusion(&leaf, index, size, &proof, &root),
                Err(VerifyError::RootMismatch)
            );
        }
    }

    #[test]
    fn cctv_consistency() {
        let mut t = cctv_tree();
        let valid: [(u64, u64, Vec<Hash>); 4] = [
            (0, 0, vec![]),
            (0, 1, vec![]),
            (1, 1, vec![]),
            (1, 10, hs(&CCTV_PATH_0_10)),
        ];
        for (from, to, want) in valid {
            assert_eq!(consistency_proof(&mut t, from, to), Ok(want.clone()));
            let (r1, r2) = (cctv_root(from), cctv_root(to));
            assert_eq!(verify_consistency(from, to, &want, &r1, &r2), Ok(()));
        }
        // consistency-invalid.json, in its order.
        let (e, a, r10) = (h(TD_EMPTY_ROOT), h(CCTV_TREE[0].1), cctv_root(10));
        let p = hs(&CCTV_PATH_0_10);
        let mut invalid: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (1, 0, e, e, vec![]),
            (1, 1, e, a, vec![]),
            (2, 1, e, a, vec![]),
            (0, 1, a, a, vec![]),
            (2, 1, a, a, vec![]),
        ];
        for from in [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] {
            invalid.push((from, 10, a, r10, p.clone()));
        }
        for (from, to, r1, r2, proof) in invalid {
            assert!(
                verify_consistency(from, to, &proof, &r1, &r2).is_err(),
                "accepted invalid vector from {from} to {to}"
            );
        }
    }

    // ---- 2. Every proof of every small tree, and what breaks it ------------
    //
    // SHA-256 is slow in debug builds (several microseconds a hash), so each
    // proof gets one flipped bit per hash (the position varies across the loop,
    // so all 256 positions are hit) and two of the other changes, in rotation;
    // over the 2080 proofs every change is tried hundreds of times. The
    // proptests below add random bit flips in random trees.

    /// `keep` of `items`, starting at `*turn`, which then moves on.
    fn in_turn<T>(items: Vec<T>, turn: &mut usize, keep: usize) -> Vec<T> {
        let n = items.len();
        let start = *turn % n;
        *turn += keep;
        let mut items: Vec<Option<T>> = items.into_iter().map(Some).collect();
        (0..keep.min(n))
            .filter_map(|i| items[(start + i) % n].take())
            .collect()
    }

    #[test]
    fn every_inclusion_proof_up_to_64_verifies_and_any_change_breaks_it() {
        let d = leaves(65);
        let mut t: MemTree = d.iter().copied().collect();
        let roots: Vec<Hash> = (0..=65).map(|n| mth(&d[..n])).collect();
        let mut turn = 0;
        for size in 1..=64u64 {
            assert_eq!(root(&mut t, size), Ok(roots[size as usize]));
            for index in 0..size {
                let (leaf, root) = (d[index as usize], roots[size as usize]);
                let proof = inclusion_proof(&mut t, index, size).unwrap();
                assert_eq!(proof, path(index as usize, &d[..size as usize]));
                assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));

                let bit = (turn * 37) % 256;
                let mut changed: Vec<(Hash, u64, u64, Vec<Hash>, Hash)> = (0..proof.len())
                    .map(|j| {
                        let mut p = proof.clone();
                        p[j] = flip(&p[j], bit + j);
                        (leaf, index, size, p, root)
                    })
                    .collect();
                // Another size is given with that size's own root.
                let resized = |s: u64| (leaf, index, s, proof.clone(), roots[s as usize]);
                let others = vec![
                    (flip(&leaf, bit), index, size, proof.clone(), root),
                    (leaf, index, size, proof.clone(), flip(&root, bit)),
                    (leaf, index.wrapping_sub(1), size, proof.clone(), root),
                    (leaf, (index + 1) % size, size, proof.clone(), root),
                    (leaf, index ^ 1, size, proof.clone(), root),
                    resized(size - 1),
                    resized(size + 1),
                    (leaf, index, size, [&proof[..], &[root]].concat(), root),
                    (leaf, index, size, [&[leaf], &proof[..]].concat(), root),
                    (
                        leaf,
                        index,
                        size,
                        proof[..proof.len().saturating_sub(1)].to_vec(),
                        root,
                    ),
                ];
                changed.extend(in_turn(others, &mut turn, 2));
                for (l, i, s, p, r) in changed {
                    // Some rotations leave the arguments as they were (index ^ 1
                    // past the end, size - 1 below the index, an empty proof
                    // cut short): those are no change.
                    if (l, i, s, &p, r) == (leaf, index, size, &proof, root) || i >= s {
                        continue;
                    }
                    assert!(
                        verify_inclusion(&l, i, s, &p, &r).is_err(),
                        "{index} in {size} accepted as {i} in {s} with {p:02x?}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_consistency_proof_up_to_64_verifies_and_any_change_breaks_it() {
        let d = leaves(65);
        let mut t: MemTree = d.iter().copied().collect();
        let roots: Vec<Hash> = (0..=65).map(|n| mth(&d[..n])).collect();
        let mut turn = 0;
        for to in 1..=64u64 {
            for from in 1..=to {
                let (r1, r2) = (roots[from as usize], roots[to as usize]);
                let proof = consistency_proof(&mut t, from, to).unwrap();
                let want = if from == to {
                    vec![]
                } else {
                    subproof(from as usize, &d[..to as usize], true)
                };
                assert_eq!(proof, want, "{from} to {to}");
                assert_eq!(verify_consistency(from, to, &proof, &r1, &r2), Ok(()));

                let bit = (turn * 37) % 256;
                let mut changed: Vec<(u64, u64, Vec<Hash>, Hash, Hash)> = (0..proof.len())
                    .map(|j| {
                        let mut p = proof.clone();
                        p[j] = flip(&p[j], bit + j);
                        (from, to, p, r1, r2)
                    })
                    .collect();
                // Other sizes are given with their own true roots.
                let resized =
                    |f: u64, s: u64| (f, s, proof.clone(), roots[f as usize], roots[s as usize]);
                let others = vec![
                    (from, to, proof.clone(), flip(&r1, bit), r2),
                    (from, to, proof.clone(), r1, flip(&r2, bit)),
                    (from, to, proof.clone(), r2, r1),
                    resized(from - 1, to),
                    resized(from + 1, to),
                    resized(from, to - 1),
                    resized(from, to + 1),
                    (from, to, [&proof[..], &[r2]].concat(), r1, r2),
                    (from, to, [&[r1], &proof[..]].concat(), r1, r2),
                    (
                        from,
                        to,
                        proof[..proof.len().saturating_sub(1)].to_vec(),
                        r1,
                        r2,
                    ),
                ];
                changed.extend(in_turn(others, &mut turn, 2));
                for (f, s, p, a, b) in changed {
                    // Rotations that change nothing (swapped roots of equal
                    // sizes, an empty proof cut short) are skipped.
                    if (f, s, &p, a, b) == (from, to, &proof, r1, r2) {
                        continue;
                    }
                    assert!(
                        verify_consistency(f, s, &p, &a, &b).is_err(),
                        "{from} to {to} accepted as {f} to {s} with {p:02x?}"
                    );
                }
            }
        }
    }

    /// Random trees up to 5000 leaves, shared across cases.
    fn big() -> &'static MemTree {
        static BIG: OnceLock<MemTree> = OnceLock::new();
        BIG.get_or_init(|| leaves(5000).into_iter().collect())
    }

    proptest! {
        #[test]
        fn random_bit_flips_break_inclusion_proofs(
            size in 1..=5000u64, index_seed in any::<u64>(), which in any::<usize>(), bit in 0..256usize,
        ) {
            let index = index_seed % size;
            let mut v = View(big());
            let root = root(&mut v, size).unwrap();
            let leaf = big().get(id(0, index)).unwrap();
            let proof = inclusion_proof(&mut v, index, size).unwrap();
            prop_assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));
            // Flip one bit of the leaf, the root or one proof hash.
            let (mut l, mut p, mut r) = (leaf, proof.clone(), root);
            match which % (proof.len() + 2) {
                0 => l = flip(&l, bit),
                1 => r = flip(&r, bit),
                j => p[j - 2] = flip(&p[j - 2], bit),
            }
            prop_assert!(verify_inclusion(&l, index, size, &p, &r).is_err());
        }

        #[test]
        fn random_bit_flips_break_consistency_proofs(
            to in 1..=5000u64, from_seed in any::<u64>(), which in any::<usize>(), bit in 0..256usize,
        ) {
            let from = 1 + from_seed % to;
            let mut v = View(big());
            let (r1, r2) = (root(&mut v, from).unwrap(), root(&mut v, to).unwrap());
            let proof = consistency_proof(&mut v, from, to).unwrap();
            prop_assert_eq!(verify_consistency(from, to, &proof, &r1, &r2), Ok(()));
            let (mut p, mut a, mut b) = (proof.clone(), r1, r2);
            match which % (proof.len() + 2) {
                0 => a = flip(&a, bit),
                1 => b = flip(&b, bit),
                j => p[j - 2] = flip(&p[j - 2], bit),
            }
            prop_assert!(verify_consistency(from, to, &p, &a, &b).is_err());
        }
    }

    // ---- 3. Appends build the RFC's tree -----------------------------------

    #[test]
    fn nodes_completed_by_append_examples() {
        let ids = nodes_completed_by_append;
        assert_eq!(ids(0), [id(0, 0)]);
        assert_eq!(ids(1), [id(0, 1), id(1, 0)]);
        assert_eq!(ids(2), [id(0, 2)]);
        assert_eq!(ids(3), [id(0, 3), id(1, 1), id(2, 0)]);
        assert_eq!(ids(5), [id(0, 5), id(1, 2)]);
        assert_eq!(ids(11), [id(0, 11), id(1, 5), id(2, 2)]);
        // The last representable leaf completes the tree of 2^64 leaves.
        let last = ids(u64::MAX);
        assert_eq!(last.len(), 65);
        assert_eq!(last[64], id(64, 0));
        assert_eq!(id(64, 0).children(), Some((id(63, 0), id(63, 1))));
        assert_eq!(id(0, 7).children(), None);
        assert_eq!(id(1, u64::MAX).children(), None);
    }

    #[test]
    fn appends_build_the_same_tree_as_the_rfc_definition() {
        let d = leaves(130);
        let mut t = MemTree::new();
        for (n, leaf) in d.iter().enumerate() {
            assert_eq!(t.push(*leaf), n as u64);
            let size = n + 1;
            assert_eq!(
                root(&mut t, size as u64),
                Ok(mth(&d[..size])),
                "size {size}"
            );
        }
        // Every stored node is MTH of the leaves it covers, and nothing else is stored.
        let mut stored = 0;
        for level in 0..8u32 {
            for index in 0.. {
                let Some(hash) = t.get(id(level, index)) else {
                    break;
                };
                let (lo, hi) = ((index << level) as usize, ((index + 1) << level) as usize);
                assert_eq!(hash, mth(&d[lo..hi]), "node ({level}, {index})");
                stored += 1;
            }
        }
        // A perfect tree of n leaves has n + n/2 + n/4 + ... nodes.
        let want: u64 = (0..8).map(|l| 130u64 >> l).sum();
        assert_eq!(stored, want);
        assert_eq!(t.get(id(8, 0)), None);
    }

    // ---- 4. Reads per proof --------------------------------------------------

    /// ceil(log2(n)), the height of a tree of n leaves.
    fn height(n: u64) -> u64 {
        u64::from(u64::BITS - (n - 1).leading_zeros())
    }
    /// The bounds derived in the module documentation.
    fn max_inclusion_reads(n: u64) -> u64 {
        let h = height(n);
        if h <= 1 {
            h
        } else {
            2 * h - 2
        }
    }
    fn max_consistency_reads(n: u64) -> u64 {
        (2 * height(n)).saturating_sub(1)
    }

    #[test]
    fn reads_stay_within_the_bound_for_every_small_proof() {
        let mut t: MemTree = leaves(128).into_iter().collect();
        t.take_reads();
        for size in 1..=128u64 {
            root(&mut t, size).unwrap();
            assert_eq!(t.take_reads(), u64::from(size.count_ones()));
            for index in 0..size {
                let proof = inclusion_proof(&mut t, index, size).unwrap();
                let reads = t.take_reads();
                assert!(proof.len() as u64 <= height(size));
                assert!(
                    reads <= max_inclusion_reads(size),
                    "{index}/{size}: {reads}"
                );
            }
            for from in 1..=size {
                let proof = consistency_proof(&mut t, from, size).unwrap();
                let reads = t.take_reads();
                assert!(proof.len() as u64 <= height(size) + 1);
                assert!(
                    reads <= max_consistency_reads(size),
                    "{from}->{size}: {reads}"
                );
            }
        }
    }

    /// A tree of 2^17 - 1 leaves (every level ragged: the most reads per root),
    /// built and proved for real. Building a million-leaf MemTree takes several
    /// seconds of SHA-256 in a debug build; `reads_in_huge_trees` covers that.
    #[test]
    fn proofs_in_a_large_tree_verify_within_the_read_bound() {
        const N: u64 = (1 << 17) - 1;
        // Cheap distinct leaves: no hashing needed for the leaf level.
        let mut t: MemTree = (0..N)
            .map(|i| {
                let mut leaf = [0u8; 32];
                leaf[..8].copy_from_slice(&i.to_le_bytes());
                leaf
            })
            .collect();
        t.take_reads();
        let head = root(&mut t, N).unwrap();
        assert_eq!(t.take_reads(), 17);
        let (inc_max, con_max) = (max_inclusion_reads(N), max_consistency_reads(N)); // 32, 33
        for index in [0, 1, 12_345, 65_535, 65_536, N - 2, N - 1] {
            let proof = inclusion_proof(&mut t, index, N).unwrap();
            let reads = t.take_reads();
            let leaf = t.get(id(0, index)).unwrap();
            assert_eq!(verify_inclusion(&leaf, index, N, &proof, &head), Ok(()));
            assert!(reads <= inc_max, "inclusion of {index}: {reads} reads");
        }
        for from in [1, 2, 3, 65_535, 65_536, 65_537, 100_000, N - 1] {
            let old = root(&mut t, from).unwrap();
            t.take_reads();
            let proof = consistency_proof(&mut t, from, N).unwrap();
            let reads = t.take_reads();
            assert_eq!(verify_consistency(from, N, &proof, &old, &head), Ok(()));
            assert!(reads <= con_max, "consistency from {from}: {reads} reads");
        }
    }

    /// A store that holds nothing: it answers every complete node of a tree of
    /// `size` leaves with a made-up hash, refuses any other, and counts reads.
    /// Which nodes a proof reads depends only on the sizes, never on the hashes.
    struct Shape {
        size: u64,
        reads: u64,
    }
    impl NodeSource for Shape {
        type Error = NodeId;
        fn node(&mut self, id: NodeId) -> Result<Hash, NodeId> {
            self.reads += 1;
            if id.level >= 64 || id.index >= self.size >> id.level {
                return Err(id);
            }
            let mut hash = [0u8; 32];
            hash[..8].copy_from_slice(&id.index.to_le_bytes());
            hash[8..12].copy_from_slice(&id.level.to_le_bytes());
            Ok(hash)
        }
    }

    #[test]
    fn reads_in_huge_trees() {
        for n in [1_000_000, (1 << 40) + 12_345, u64::MAX - 1] {
            let mut s = Shape { size: n, reads: 0 };
            root(&mut s, n).unwrap();
            assert_eq!(s.reads, u64::from(n.count_ones()));
            // The edges, the middle, and 300 pseudo-random positions.
            let mut x = 0x9e37_79b9_7f4a_7c15u64;
            let mut picks = vec![1, 2, 3, n / 2 - 1, n / 2, n / 2 + 1, n - 2, n - 1];
            picks.extend((0..300).map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                1 + x % (n - 1)
            }));
            let (mut inc_most, mut con_most) = (0, 0);
            for &m in &picks {
                s.reads = 0;
                inclusion_proof(&mut s, m, n).unwrap();
                inc_most = inc_most.max(s.reads);
                s.reads = 0;
                consistency_proof(&mut s, m, n).unwrap();
                con_most = con_most.max(s.reads);
            }
            let (inc_max, con_max) = (max_inclusion_reads(n), max_consistency_reads(n));
            println!("n = {n}: most reads {inc_most} (bound {inc_max}) per inclusion proof, {con_most} (bound {con_max}) per consistency proof");
            assert!(inc_most <= inc_max);
            assert!(con_most <= con_max);
        }
    }

    // ---- Bad arguments are errors, never panics -----------------------------

    #[test]
    fn bad_arguments_are_errors() {
        let mut t: MemTree = leaves(10).into_iter().collect();
        let missing = |level, index| {
            ProofError::Store(MissingNode {
                id: id(level, index),
                size: 10,
            })
        };
        assert_eq!(
            inclusion_proof(&mut t, 10, 10),
            Err(ProofError::IndexOutOfRange {
                index: 10,
                size: 10
            })
        );
        assert_eq!(
            inclusion_proof(&mut t, 0, 0),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            consistency_proof(&mut t, 5, 4),
            Err(ProofError::SizesOutOfOrder { from: 5, to: 4 })
        );
        assert_eq!(consistency_proof(&mut t, 0, 7), Ok(vec![]));
        assert_eq!(consistency_proof(&mut t, 7, 7), Ok(vec![]));
        for (start, end) in [(3, 3), (4, 3), (1, 3), (2, 5), (4, 9), (u64::MAX, 0)] {
            assert_eq!(
                subtree_root(&mut t, start, end),
                Err(ProofError::NotASubtree { start, end })
            );
        }
        assert_eq!(subtree_root(&mut t, 8, 10), Ok(mth(&leaves(10)[8..])));
        // Sizes beyond what is stored are the store's error.
        assert_eq!(root(&mut t, 11), Err(missing(0, 10)));
        assert!(matches!(
            inclusion_proof(&mut t, u64::MAX - 1, u64::MAX),
            Err(ProofError::Store(_))
        ));
        assert!(matches!(
            consistency_proof(&mut t, u64::MAX - 1, u64::MAX),
            Err(ProofError::Store(_))
        ));
        assert!(matches!(root(&mut t, u64::MAX), Err(ProofError::Store(_))));

        let x = leaf_hash(b"x");
        assert_eq!(
            verify_inclusion(&x, 0, 0, &[], &x),
            Err(VerifyError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            verify_inclusion(&x, u64::MAX - 1, u64::MAX, &[x; 3], &x),
            Err(VerifyError::ProofTooShort)
        );
        assert_eq!(
            verify_inclusion(&x, 0, 1, &[x], &x),
            Err(VerifyError::ProofTooLong)
        );
        assert_eq!(
            verify_consistency(u64::MAX - 1, u64::MAX, &[x; 3], &x, &x),
            Err(VerifyError::ProofTooShort)
        );
        assert_eq!(
            verify_consistency(1, 2, &[x, x], &x, &x),
            Err(VerifyError::ProofTooLong)
        );
        assert_eq!(
            MissingNode {
                id: id(2, 3),
                size: 10
            }
            .to_string(),
            "node (level 2, index 3) is not stored in a tree of 10 leaves"
        );
        assert_eq!(
            ProofError::<MissingNode>::IndexOutOfRange {
                index: 10,
                size: 10
            }
            .to_string(),
            "leaf index 10 is not in a tree of size 10"
        );
    }
}
