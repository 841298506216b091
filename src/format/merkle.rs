//! The Merkle tree over the ledger's entries: hashes, inclusion and consistency proofs.
//!
//! Implements `schema/FORMAT.md` §12 ("Merkle tree"). The hash chain shows that nothing
//! inside a ledger was edited, but proving to someone who holds only a checkpoint (a size
//! and a root) that entry k is in the ledger, or that today's ledger extends that
//! checkpoint, needs a tree: a proof is then O(log n) hashes instead of the whole ledger.
//!
//! The tree is RFC 6962 §2.1 / RFC 9162 §2.1, as C2SP `tlog-checkpoint` uses it:
//!
//! - leaf k (from 0) is the exact entry text of entry `seq = k + 1`;
//! - leaf hash = `SHA-256(0x00 || entry text)`, node hash = `SHA-256(0x01 || left || right)`;
//! - the root of the empty tree is `SHA-256("")`; a tree of n > 1 leaves splits at k, the
//!   largest power of two smaller than n.
//!
//! Storage keeps only the complete subtrees at levels 4, 8, 12, … ([`is_stored_level`]);
//! any other complete subtree is folded from at most 8 hashes of the stored level below it
//! (or from at most 8 leaves), so a root or a proof reads a few dozen rows. This module is
//! pure: it reads through a [`Source`] and never touches SQLite, prints or panics.

use std::collections::BTreeMap;

use crate::crypto::{self, Hasher};
use crate::error::{Error, Result};

/// A SHA-256 hash: a leaf, node or root of the tree.
pub type Hash = [u8; 32];

/// Stored levels are the positive multiples of `STRIDE` (4, 8, 12, …, 60).
pub const STRIDE: u32 = 4;

/// Leaf hashes read at a time when a subtree is computed from the leaves themselves.
const LEAF_BATCH: u64 = 4096;

/// A complete subtree: level `level` (its height: 2^level leaves), index `idx` on that level
/// (it covers leaves `idx·2^level … (idx+1)·2^level − 1`), and its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// Height of the subtree.
    pub level: u32,
    /// Position on its level.
    pub idx: u64,
    /// Its hash.
    pub hash: Hash,
}

/// The leaf hash of an entry text: `SHA-256(0x00 || body)` (RFC 6962 §2.1).
pub fn leaf_hash(body: &[u8]) -> Hash {
    let mut h = Hasher::default();
    h.update(&[0x00]);
    h.update(body);
    h.finish()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)` (RFC 6962 §2.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    crypto::sha256(&buf)
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    crypto::sha256(b"")
}

/// Whether complete subtrees of this level are stored: 4, 8, 12, …, 60.
pub fn is_stored_level(level: u32) -> bool {
    (STRIDE..64).contains(&level) && level.is_multiple_of(STRIDE)
}

/// The leaves `[start, end)` a node covers; `None` if it lies beyond any tree of up to 2^64
/// leaves.
pub fn node_span(level: u32, idx: u64) -> Option<(u64, u64)> {
    if level >= 64 {
        return None;
    }
    let width = 1u64 << level;
    let start = idx.checked_mul(width)?;
    let end = start.checked_add(width)?;
    Some((start, end))
}

/// Where the hashes come from: the ledger file, or memory in tests.
pub trait Source {
    /// The leaf hashes of leaves `start..end`, in order. An error if any leaf is missing.
    fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>>;

    /// The stored hashes of nodes `start..end` of a stored level ([`is_stored_level`]), in
    /// order. `Ok(None)` when this source stores no nodes at all (they are then computed
    /// from the leaves); an error if it stores nodes but some of these are missing.
    fn stored_nodes(&self, level: u32, start: u64, end: u64) -> Result<Option<Vec<Hash>>>;
}

/// Fold `2^k` hashes, left to right, into the root of the complete subtree they form.
fn fold(mut hashes: Vec<Hash>) -> Result<Hash> {
    if !hashes.len().is_power_of_two() {
        return Err(Error::new(format!(
            "internal error: {} hashes do not form a complete Merkle subtree",
            hashes.len()
        )));
    }
    while hashes.len() > 1 {
        hashes = hashes
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    hashes
        .pop()
        .ok_or_else(|| Error::new("internal error: empty Merkle subtree"))
}

fn beyond(level: u32, idx: u64) -> Error {
    Error::new(format!(
        "Merkle node at level {level}, index {idx} lies beyond any tree"
    ))
}

/// The hash of the complete subtree `(level, idx)`: from at most 8 leaves (levels 0–3) or
/// at most 8 stored nodes of the stored level at or below it.
pub fn subtree(src: &dyn Source, level: u32, idx: u64) -> Result<Hash> {
    let (start, end) = node_span(level, idx).ok_or_else(|| beyond(level, idx))?;
    let base = level - level % STRIDE;
    if base == 0 {
        return fold(src.leaf_hashes(start, end)?);
    }
    let shift = level - base;
    let first = idx << shift; // cannot overflow: idx·2^level fits
    match src.stored_nodes(base, first, first + (1u64 << shift))? {
        Some(nodes) => fold(nodes),
        None => from_leaves(src, start, end),
    }
}

/// The hash of a complete subtree computed from its leaves, read in batches (memory stays
/// flat): the path for ledgers that have no stored nodes.
fn from_leaves(src: &dyn Source, start: u64, end: u64) -> Result<Hash> {
    let mut tree = Builder::hashing_only();
    let mut at = start;
    while at < end {
        let to = end.min(at.saturating_add(LEAF_BATCH));
        for h in src.leaf_hashes(at, to)? {
            tree.push(h);
        }
        at = to;
    }
    Ok(tree.root())
}

/// `MTH(D[start:end])` for a range that RFC 6962's split produces: its complete subtrees,
/// largest first, are aligned, and the range hash is their right fold.
fn range_hash(src: &dyn Source, start: u64, end: u64) -> Result<Hash> {
    if start >= end {
        return Err(Error::new(format!(
            "internal error: empty Merkle range {start}..{end}"
        )));
    }
    let len = end - start;
    let mut pos = start;
    let mut parts = Vec::new();
    for level in (0..64u32).rev() {
        if (len >> level) & 1 == 1 {
            if !pos.is_multiple_of(1u64 << level) {
                return Err(Error::new(format!(
                    "internal error: Merkle range {start}..{end} is not aligned"
                )));
            }
            parts.push(subtree(src, level, pos >> level)?);
            pos += 1u64 << level;
        }
    }
    let mut parts = parts.into_iter().rev();
    let mut acc = parts
        .next()
        .ok_or_else(|| Error::new("internal error: empty Merkle range"))?;
    for left in parts {
        acc = node_hash(&left, &acc);
    }
    Ok(acc)
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The root of the tree of the first `size` leaves (`MTH(D[size])`, RFC 6962 §2.1).
pub fn root(src: &dyn Source, size: u64) -> Result<Hash> {
    if size == 0 {
        return Ok(empty_root());
    }
    range_hash(src, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves (`PATH(m, D[n])`,
/// RFC 9162 §2.1.3.1): sibling hashes from the leaf up.
pub fn inclusion_proof(src: &dyn Source, index: u64, size: u64) -> Result<Vec<Hash>> {
    if index >= size {
        return Err(Error::new(format!(
            "leaf {index} is not in a Merkle tree of {size} leaves"
        )));
    }
    let (mut start, mut end) = (0u64, size);
    let mut path = Vec::new();
    while end - start > 1 {
        let k = split(end - start);
        if index < start + k {
            path.push(range_hash(src, start + k, end)?);
            end = start + k;
        } else {
            path.push(range_hash(src, start, start + k)?);
            start += k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof from the tree of `m` leaves to the tree of `n` leaves
/// (`PROOF(m, D[n])`, RFC 9162 §2.1.4.1). Empty when `m` is 0 or `m == n`; an error when
/// `m > n`.
pub fn consistency_proof(src: &dyn Source, m: u64, n: u64) -> Result<Vec<Hash>> {
    if m > n {
        return Err(Error::new(format!(
            "no consistency proof from {m} leaves to fewer ({n})"
        )));
    }
    let mut proof = Vec::new();
    if m == 0 || m == n {
        return Ok(proof);
    }
    // SUBPROOF(m, D[start:end], whole), unrolled: each step keeps one half and records the
    // other half's hash; the records come out root first, so they are reversed at the end.
    let (mut start, mut end, mut whole) = (0u64, n, true);
    loop {
        let (len, rel) = (end - start, m - start);
        if rel == len {
            if !whole {
                proof.push(range_hash(src, start, end)?);
            }
            break;
        }
        let k = split(len);
        if rel <= k {
            proof.push(range_hash(src, start + k, end)?);
            end = start + k;
        } else {
            proof.push(range_hash(src, start, start + k)?);
            start += k;
            whole = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Verify an inclusion proof exactly as RFC 9162 §2.1.3.2 says: `leaf` (a leaf hash) is
/// leaf `index` of the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    // 1. leaf_index must be below tree_size.
    if index >= size {
        return false;
    }
    // 2.–3.
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    // 4.
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // 5.
    snode == 0 && r == *root
}

/// Verify a consistency proof: the tree of `n` leaves with root `root_n` extends the tree of
/// `m` leaves with root `root_m`. For `0 < m < n` exactly RFC 9162 §2.1.4.2; the RFC leaves
/// the other cases open, and here (as in transparency-dev/merkle and sigsum) `m == n` holds
/// iff the proof is empty and the roots are equal, `m == 0` iff the proof is empty and
/// `root_m` is the empty tree's root, and `m > n` never.
pub fn verify_consistency(m: u64, n: u64, root_m: &Hash, root_n: &Hash, proof: &[Hash]) -> bool {
    if m > n {
        return false;
    }
    if m == n {
        return proof.is_empty() && root_m == root_n;
    }
    if m == 0 {
        return proof.is_empty() && *root_m == empty_root();
    }
    // 1. An empty proof fails.
    let Some((head, tail)) = proof.split_first() else {
        return false;
    };
    // 2. If m is a power of two, root_m is the first value of the path.
    let (first, rest): (&Hash, &[Hash]) = if m.is_power_of_two() {
        (root_m, proof)
    } else {
        (head, tail)
    };
    // 3.
    let (mut fnode, mut snode) = (m - 1, n - 1);
    // 4.
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // 5.
    let (mut fr, mut sr) = (*first, *first);
    // 6.
    for c in rest {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // 7.
    fr == *root_m && sr == *root_n && snode == 0
}

/// The stored-level nodes that become complete when a tree grows from `size_before` to
/// `size_after` leaves, by level then index (none if it does not grow).
pub fn completed_nodes(size_before: u64, size_after: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    if size_after <= size_before {
        return out;
    }
    for level in (STRIDE..64).step_by(STRIDE as usize) {
        let (lo, hi) = (size_before >> level, size_after >> level);
        if hi == 0 {
            break;
        }
        out.extend((lo..hi).map(|idx| (level, idx)));
    }
    out
}

/// Builds a tree leaf by leaf with O(log n) memory (the hashes of the complete subtrees of
/// the current size, largest first), and records the stored-level nodes each new leaf
/// completes. Appending, the backfill migration and verification all use it.
#[derive(Debug, Clone)]
pub struct Builder {
    size: u64,
    frontier: Vec<Hash>,
    record: bool,
    completed: Vec<Node>,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// An empty tree that records the stored-level nodes it completes.
    pub fn new() -> Self {
        Self {
            size: 0,
            frontier: Vec::new(),
            record: true,
            completed: Vec::new(),
        }
    }

    /// An empty tree that only computes its root.
    fn hashing_only() -> Self {
        Self {
            record: false,
            ..Self::new()
        }
    }

    /// Continue the tree of the first `size` leaves of `src` (reads one complete subtree per
    /// set bit of `size`: a few dozen rows).
    pub fn resume(src: &dyn Source, size: u64) -> Result<Self> {
        let mut tree = Self::new();
        let mut pos = 0u64;
        for level in (0..64u32).rev() {
            if (size >> level) & 1 == 1 {
                tree.frontier.push(subtree(src, level, pos >> level)?);
                pos += 1u64 << level;
            }
        }
        tree.size = size;
        Ok(tree)
    }

    /// Number of leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append the next leaf (its leaf hash).
    pub fn push(&mut self, leaf: Hash) {
        let index = self.size;
        let mut hash = leaf;
        let mut level = 0u32;
        // Each set low bit of `index` is a complete left sibling waiting on the frontier.
        while (index >> level) & 1 == 1 {
            let Some(left) = self.frontier.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            level += 1;
            if self.record && is_stored_level(level) {
                self.completed.push(Node {
                    level,
                    idx: index >> level,
                    hash,
                });
            }
        }
        self.frontier.push(hash);
        self.size += 1;
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        let mut parts = self.frontier.iter().rev();
        let Some(last) = parts.next() else {
            return empty_root();
        };
        parts.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// The stored-level nodes completed since the last call, in the order they completed.
    pub fn take_completed(&mut self) -> Vec<Node> {
        std::mem::take(&mut self.completed)
    }
}

/// A tree held in memory: every leaf hash, and the stored-level nodes (or none, to exercise
/// the path of ledgers that store no nodes). For tests and small tools.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    leaves: Vec<Hash>,
    nodes: BTreeMap<(u32, u64), Hash>,
    builder: Builder,
    no_nodes: bool,
}

impl MemoryTree {
    /// An empty tree that keeps its stored-level nodes.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty tree that keeps no nodes: every subtree is computed from the leaves.
    pub fn without_nodes() -> Self {
        Self {
            no_nodes: true,
            ..Self::default()
        }
    }

    /// Append a leaf (the entry text).
    pub fn push(&mut self, body: &[u8]) {
        let h = leaf_hash(body);
        self.leaves.push(h);
        self.builder.push(h);
        for n in self.builder.take_completed() {
            if !self.no_nodes {
                self.nodes.insert((n.level, n.idx), n.hash);
            }
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.builder.size()
    }

    /// The stored-level nodes kept, by level then index.
    pub fn nodes(&self) -> &BTreeMap<(u32, u64), Hash> {
        &self.nodes
    }
}

impl Source for MemoryTree {
    fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>> {
        usize::try_from(start)
            .ok()
            .zip(usize::try_from(end).ok())
            .and_then(|(s, e)| self.leaves.get(s..e))
            .map(<[Hash]>::to_vec)
            .ok_or_else(|| {
                Error::new(format!(
                    "leaves {start}..{end} are not in a tree of {} leaves",
                    self.leaves.len()
                ))
            })
    }

    fn stored_nodes(&self, level: u32, start: u64, end: u64) -> Result<Option<Vec<Hash>>> {
        if self.no_nodes {
            return Ok(None);
        }
        (start..end)
            .map(|idx| {
                self.nodes
                    .get(&(level, idx))
                    .copied()
                    .ok_or_else(|| Error::new(format!("no node at level {level}, index {idx}")))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6962 §2.1, written as the RFC writes it (recursion over slices of leaf data).
    mod naive {
        use super::super::{Hash, empty_root, leaf_hash, node_hash};

        fn k(n: usize) -> usize {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            k
        }

        pub fn mth(d: &[Vec<u8>]) -> Hash {
            match d.len() {
                0 => empty_root(),
                1 => leaf_hash(&d[0]),
                n => node_hash(&mth(&d[..k(n)]), &mth(&d[k(n)..])),
            }
        }

        pub fn path(m: usize, d: &[Vec<u8>]) -> Vec<Hash> {
            let n = d.len();
            if n <= 1 {
                return Vec::new();
            }
            let k = k(n);
            if m < k {
                let mut p = path(m, &d[..k]);
                p.push(mth(&d[k..]));
                p
            } else {
                let mut p = path(m - k, &d[k..]);
                p.push(mth(&d[..k]));
                p
            }
        }

        fn subproof(m: usize, d: &[Vec<u8>], b: bool) -> Vec<Hash> {
            let n = d.len();
            if m == n {
                return if b { Vec::new() } else { vec![mth(d)] };
            }
            let k = k(n);
            if m <= k {
                let mut p = subproof(m, &d[..k], b);
                p.push(mth(&d[k..]));
                p
            } else {
                let mut p = subproof(m - k, &d[k..], false);
                p.push(mth(&d[..k]));
                p
            }
        }

        pub fn proof(m: usize, d: &[Vec<u8>]) -> Vec<Hash> {
            subproof(m, d, true)
        }
    }

    fn data(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("vouch merkle test leaf {i}\n").into_bytes())
            .collect()
    }

    fn trees(d: &[Vec<u8>]) -> [MemoryTree; 2] {
        let mut t = [MemoryTree::new(), MemoryTree::without_nodes()];
        for body in d {
            for x in &mut t {
                x.push(body);
            }
        }
        t
    }

    fn unhex(s: &str) -> Hash {
        crypto::parse_hex32(s).unwrap()
    }

    /// Every single-bit change of a proof byte, of the leaf or of the root, and every
    /// added, removed or inserted proof element fails. A changed index or size, checked
    /// against the true root of that size (size and root come together from a checkpoint),
    /// verifies only where the genuine proof for it is this very proof.
    fn inclusion_tampered_fails(
        tree: &MemoryTree,
        leaf: &Hash,
        index: u64,
        size: u64,
        proof: &[Hash],
    ) {
        let root_of = |s: u64| root(tree, s).unwrap();
        let r = root_of(size);
        for i in 0..proof.len() {
            for byte in 0..32 {
                let mut p = proof.to_vec();
                p[i][byte] ^= 1 << (byte % 8);
                assert!(!verify_inclusion(leaf, index, size, &p, &r));
            }
            let mut p = proof.to_vec();
            p.remove(i);
            assert!(!verify_inclusion(leaf, index, size, &p, &r), "removed {i}");
            let mut p = proof.to_vec();
            p.insert(i, r);
            assert!(!verify_inclusion(leaf, index, size, &p, &r), "inserted {i}");
        }
        let mut p = proof.to_vec();
        p.push(*leaf);
        assert!(!verify_inclusion(leaf, index, size, &p, &r));
        for byte in 0..32 {
            let mut l = *leaf;
            l[byte] ^= 0x80;
            assert!(!verify_inclusion(&l, index, size, proof, &r));
            let mut x = r;
            x[byte] ^= 0x80;
            assert!(!verify_inclusion(leaf, index, size, proof, &x));
        }
        for (i, s) in [
            (index.wrapping_sub(1), size),
            (index + 1, size),
            (index ^ 2, size),
            (index, size - 1),
            (index, size + 1),
            (index, size * 2),
            (index, size / 2),
        ] {
            if (i, s) == (index, size) {
                continue;
            }
            let genuine = i < s && i == index && inclusion_proof(tree, i, s).unwrap() == proof;
            let rs = if s <= tree.size() { root_of(s) } else { r };
            assert_eq!(
                verify_inclusion(leaf, i, s, proof, &rs),
                genuine,
                "index {i} size {s} with the proof of index {index} size {size}"
            );
        }
    }

    /// As [`inclusion_tampered_fails`], for a consistency proof with `0 < m < n`.
    fn consistency_tampered_fails(tree: &MemoryTree, m: u64, n: u64, proof: &[Hash]) {
        let root_of = |s: u64| root(tree, s).unwrap();
        let (rm, rn) = (&root_of(m), &root_of(n));
        assert!(verify_consistency(m, n, rm, rn, proof));
        for i in 0..proof.len() {
            for byte in 0..32 {
                let mut p = proof.to_vec();
                p[i][byte] ^= 1 << (byte % 8);
                assert!(
                    !verify_consistency(m, n, rm, rn, &p),
                    "m {m} n {n} [{i}][{byte}]"
                );
            }
            let mut p = proof.to_vec();
            p.remove(i);
            assert!(!verify_consistency(m, n, rm, rn, &p));
            let mut p = proof.to_vec();
            p.insert(i, *rn);
            assert!(!verify_consistency(m, n, rm, rn, &p));
        }
        for extra in [rm, rn] {
            let mut p = proof.to_vec();
            p.push(*extra);
            assert!(!verify_consistency(m, n, rm, rn, &p));
            let mut p = proof.to_vec();
            p.insert(0, *extra);
            assert!(!verify_consistency(m, n, rm, rn, &p));
        }
        assert!(!verify_consistency(m, n, rn, rm, proof), "swapped roots");
        for byte in 0..32 {
            let (mut a, mut b) = (*rm, *rn);
            a[byte] ^= 0x40;
            b[byte] ^= 0x40;
            assert!(!verify_consistency(m, n, &a, rn, proof));
            assert!(!verify_consistency(m, n, rm, &b, proof));
        }
        for (a, b) in [
            (m - 1, n),
            (m + 1, n),
            (m ^ 2, n),
            (m, n - 1),
            (m, n + 1),
            (m, n * 2),
            (m, n / 2),
        ] {
            if (a, b) == (m, n) || b > tree.size() {
                continue;
            }
            let genuine = a <= b && consistency_proof(tree, a, b).unwrap() == proof;
            assert_eq!(
                verify_consistency(a, b, &root_of(a), &root_of(b), proof),
                genuine,
                "sizes {a}->{b} with the proof of {m}->{n}"
            );
        }
    }

    #[test]
    fn merkle_roots_and_proofs_match_rfc6962_for_sizes_1_to_70() {
        let d = data(70);
        let all = trees(&d);
        for tree in &all {
            let mut roots = vec![empty_root()];
            for n in 1..=70u64 {
                let want = naive::mth(&d[..n as usize]);
                assert_eq!(root(tree, n).unwrap(), want, "root of {n}");
                roots.push(want);
            }
            assert_eq!(root(tree, 0).unwrap(), empty_root());
            for n in 1..=70u64 {
                let slice = &d[..n as usize];
                let rn = roots[n as usize];
                for m in 0..n {
                    let p = inclusion_proof(tree, m, n).unwrap();
                    assert_eq!(p, naive::path(m as usize, slice), "path {m} in {n}");
                    let leaf = leaf_hash(&d[m as usize]);
                    assert!(verify_inclusion(&leaf, m, n, &p, &rn), "{m} in {n}");
                }
                for m in 0..=n {
                    let p = consistency_proof(tree, m, n).unwrap();
                    let rm = roots[m as usize];
                    if m > 0 && m < n {
                        assert_eq!(p, naive::proof(m as usize, slice), "proof {m} to {n}");
                    } else {
                        assert!(p.is_empty());
                    }
                    assert!(verify_consistency(m, n, &rm, &rn, &p), "{m} to {n}");
                }
            }
        }
    }

    #[test]
    fn merkle_tampered_proofs_fail_for_sizes_1_to_70() {
        let d = data(140);
        let [tree, _] = trees(&d);
        for n in 1..=70u64 {
            for m in 0..n {
                let p = inclusion_proof(&tree, m, n).unwrap();
                inclusion_tampered_fails(&tree, &leaf_hash(&d[m as usize]), m, n, &p);
            }
            for m in 1..n {
                let p = consistency_proof(&tree, m, n).unwrap();
                consistency_tampered_fails(&tree, m, n, &p);
            }
        }
    }

    #[test]
    fn merkle_higher_stored_levels_match_rfc6962() {
        // Levels 8 and 12 are stored from 256 and 4096 leaves on.
        let d = data(4200);
        let [tree, bare] = trees(&d);
        assert!(tree.nodes().contains_key(&(12, 0)));
        assert!(tree.nodes().contains_key(&(8, 15)));
        for n in [255u64, 256, 257, 511, 1000, 4095, 4096, 4097, 4200] {
            let slice = &d[..n as usize];
            let want = naive::mth(slice);
            assert_eq!(root(&tree, n).unwrap(), want, "root of {n}");
            assert_eq!(root(&bare, n).unwrap(), want, "root of {n} from leaves");
            for m in [0u64, 1, 15, 16, 17, 255, 256, 300, 4095, 4096, n - 1] {
                if m >= n {
                    continue;
                }
                let p = inclusion_proof(&tree, m, n).unwrap();
                assert_eq!(p, naive::path(m as usize, slice), "path {m} in {n}");
                assert!(verify_inclusion(
                    &leaf_hash(&d[m as usize]),
                    m,
                    n,
                    &p,
                    &want
                ));
                if m > 0 {
                    let p = consistency_proof(&tree, m, n).unwrap();
                    assert_eq!(p, naive::proof(m as usize, slice), "proof {m} to {n}");
                    let rm = naive::mth(&d[..m as usize]);
                    assert!(verify_consistency(m, n, &rm, &want, &p));
                }
            }
        }
    }

    #[test]
    fn merkle_builder_records_exactly_the_completed_nodes() {
        let d = data(600);
        let mut b = Builder::new();
        let mut reference = MemoryTree::new();
        let mut size = 0u64;
        // Uneven batches, as appends make them.
        for batch in [1usize, 14, 1, 16, 17, 255, 3, 293] {
            let before = size;
            for body in &d[size as usize..size as usize + batch] {
                b.push(leaf_hash(body));
                reference.push(body);
            }
            size += batch as u64;
            let got: Vec<(u32, u64)> = {
                let mut v: Vec<_> = b
                    .take_completed()
                    .iter()
                    .map(|n| (n.level, n.idx))
                    .collect();
                v.sort_unstable();
                v
            };
            assert_eq!(got, completed_nodes(before, size), "{before}..{size}");
            assert_eq!(b.root(), naive::mth(&d[..size as usize]));
            // A builder resumed from the stored nodes continues identically.
            let resumed = Builder::resume(&reference, size).unwrap();
            assert_eq!(resumed.root(), b.root());
        }
        assert_eq!(completed_nodes(5, 5), vec![]);
        assert_eq!(completed_nodes(9, 3), vec![]);
        assert_eq!(completed_nodes(15, 16), vec![(4, 0)]);
        assert_eq!(
            completed_nodes(255, 257),
            vec![(4, 15), (8, 0)],
            "level 4 node 15 and level 8 node 0 complete at 256"
        );
    }

    #[test]
    fn merkle_known_answers_from_transparency_dev() {
        // transparency-dev/merkle proof/verify_test.go (the RFC 6962 reference vectors).
        let leaves: Vec<Vec<u8>> = [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| hex::decode(h).unwrap())
        .collect();
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ]
        .map(unhex);
        let [tree, _] = trees(&leaves);
        assert_eq!(
            empty_root(),
            unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        for (n, want) in roots.iter().enumerate() {
            assert_eq!(
                root(&tree, n as u64 + 1).unwrap(),
                *want,
                "root of {}",
                n + 1
            );
        }
        let inclusion: [(u64, u64, &[&str]); 4] = [
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
        for (index, size, want) in inclusion {
            let want: Vec<Hash> = want.iter().map(|h| unhex(h)).collect();
            assert_eq!(inclusion_proof(&tree, index, size).unwrap(), want);
            let leaf = leaf_hash(&leaves[index as usize]);
            assert!(verify_inclusion(
                &leaf,
                index,
                size,
                &want,
                &roots[size as usize - 1]
            ));
        }
        let consistency: [(u64, u64, &[&str]); 4] = [
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
        for (m, n, want) in consistency {
            let want: Vec<Hash> = want.iter().map(|h| unhex(h)).collect();
            assert_eq!(consistency_proof(&tree, m, n).unwrap(), want, "{m} to {n}");
            let (rm, rn) = (&roots[m as usize - 1], &roots[n as usize - 1]);
            assert!(verify_consistency(m, n, rm, rn, &want));
            consistency_tampered_fails(&tree, m, n, &want);
        }
    }

    #[test]
    fn merkle_edge_cases_are_refused_not_panics() {
        let [tree, _] = trees(&data(5));
        let some = [7u8; 32];
        assert!(inclusion_proof(&tree, 5, 5).is_err());
        assert!(inclusion_proof(&tree, 0, 0).is_err());
        assert!(consistency_proof(&tree, 6, 5).is_err());
        assert!(root(&tree, 6).is_err(), "more leaves than the source holds");
        assert!(subtree(&tree, 64, 0).is_err());
        assert!(subtree(&tree, 63, 2).is_err());
        assert!(!verify_inclusion(&some, 0, 0, &[], &some));
        assert!(!verify_inclusion(&some, 1, 1, &[], &some));
        assert!(verify_inclusion(&some, 0, 1, &[], &some));
        assert!(!verify_inclusion(&some, 0, 1, &[some], &some));
        assert!(!verify_inclusion(
            &some,
            u64::MAX,
            u64::MAX,
            &[some; 70],
            &some
        ));
        let empty = empty_root();
        assert!(verify_consistency(0, 0, &empty, &empty, &[]));
        assert!(verify_consistency(3, 3, &some, &some, &[]));
        assert!(!verify_consistency(3, 3, &some, &empty, &[]));
        assert!(!verify_consistency(3, 3, &some, &some, &[some]));
        assert!(verify_consistency(0, 9, &empty, &some, &[]));
        assert!(!verify_consistency(0, 9, &some, &some, &[]));
        assert!(!verify_consistency(0, 9, &empty, &some, &[some]));
        assert!(!verify_consistency(4, 3, &some, &some, &[]));
        assert!(!verify_consistency(1, 2, &some, &some, &[]));
        assert!(!verify_consistency(
            u64::MAX - 1,
            u64::MAX,
            &some,
            &some,
            &[some; 130]
        ));
    }

    #[test]
    fn merkle_root_of_the_test_vector_entries() {
        // schema/FORMAT.md §12 quotes these values.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
        let mut tree = MemoryTree::new();
        for n in 1..=10 {
            tree.push(&std::fs::read(dir.join(format!("entry-{n}.txt"))).unwrap());
        }
        let hex = |h: Hash| hex::encode(h);
        assert_eq!(
            hex(leaf_hash(&std::fs::read(dir.join("entry-1.txt")).unwrap())),
            "3e2afa3f20ec64d4be5a7090c96d38c049d4d747e6a11370bbeb4ce42166f45e"
        );
        assert_eq!(
            hex(root(&tree, 10).unwrap()),
            "f7a35b4d5dd5bc1108f11dd4436a3adecb7d2af25ec5bb595098b60c4192e285"
        );
    }
}
