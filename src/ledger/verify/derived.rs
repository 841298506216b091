//! Derived data checked against the signed entries (`schema/FORMAT.md` §7, §12, §14): the
//! Merkle tree rebuilt from the entry texts and compared with the stored `merkle_nodes`
//! rows (and with checkpoint roots), the `parties`, `keys` and `key_events` tables
//! compared with what the walk derived, and the lookups (the indexes `entries_kind` and
//! `entries_item`) read back and compared with the rows, chunk by chunk.

use std::collections::{BTreeMap, HashMap};

use super::precheck::{Parsed, Pre};
use super::walk::Walk;
use super::{Check, Finding, VerifiedParty};
use crate::error::Result;
use crate::format::merkle;
use crate::ledger::store::{Engine, EntryRow, KeyEventRow, KeyRow, Lookup, NodeRow, PartyRow};

/// Index entries no stored entry matches, reported at most per lookup.
const STRAYS: usize = 20;

/// What the reader thread read of the lookups (`FORMAT.md` §7): for each lookup that the
/// layout check found intact, how many of its entries it read for the chunks.
#[derive(Debug, Default)]
pub(super) struct LookupTally {
    pub(super) seen: Vec<(Lookup, u64)>,
    /// Every chunk was read, to the end of the entries.
    pub(super) complete: bool,
}

impl LookupTally {
    pub(super) fn new(lookups: &[Lookup]) -> Self {
        Self {
            seen: lookups.iter().map(|&l| (l, 0)).collect(),
            complete: false,
        }
    }

    /// Read back what each lookup lists under each key the chunk's rows have, for seqs
    /// `after+1..=last` (the chunk's range), and compare: every row is listed under its
    /// key (its `kind`, its `item`), once, and nothing else is. The columns themselves are
    /// compared with the signed bytes by the pre-check; searches through an index see what
    /// it lists, not the rows, so an entry it leaves out is invisible to them.
    pub(super) fn chunk(
        &mut self,
        store: &dyn Engine,
        rows: &[EntryRow],
        after: i64,
        last: i64,
        out: &mut Vec<Finding>,
    ) -> Result<()> {
        for (lookup, seen) in &mut self.seen {
            let mut want: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
            for r in rows {
                if let Some(k) = lookup.key(r) {
                    want.entry(k).or_default().push(r.seq);
                }
            }
            for (key, want) in want {
                let got = store.lookup_range(*lookup, key, after, last)?;
                *seen += got.len() as u64;
                compare_listed(*lookup, key, &want, &got, out);
            }
        }
        Ok(())
    }

    /// After the last chunk: a lookup holding more entries than were read for the chunks
    /// lists something no stored entry has (under a key no row of its range has, or
    /// outside the entries' range); name what (`FORMAT.md` §7).
    pub(super) fn finish(&self, store: &dyn Engine, out: &mut Vec<Finding>) -> Result<()> {
        if !self.complete {
            return Ok(());
        }
        for &(lookup, seen) in &self.seen {
            let len = store.lookup_len(lookup)?;
            if u64::try_from(len).ok() == Some(seen) {
                continue;
            }
            let strays = store.lookup_strays(lookup, STRAYS)?;
            if strays.is_empty() {
                out.push(Finding {
                    seq: 0,
                    check: Check::Derived,
                    what: format!(
                        "the {} index holds {len} entries, but the stored entries give {seen}",
                        lookup.index()
                    ),
                });
            }
            for (seq, key) in strays {
                out.push(stray(lookup, seq, &key));
            }
        }
        Ok(())
    }
}

/// An index entry (`seq`, `key`) that no stored entry matches.
fn stray(lookup: Lookup, seq: i64, key: &str) -> Finding {
    Finding {
        seq: u64::try_from(seq).unwrap_or(0),
        check: Check::Derived,
        what: format!(
            "the {} index lists seq {seq} under {} {key:?}: no stored entry matches",
            lookup.index(),
            lookup.column()
        ),
    }
}

/// Compare the seqs of the rows with `key` (`want`) with those the lookup lists under it
/// (`got`), both in seq order.
fn compare_listed(lookup: Lookup, key: &str, want: &[i64], got: &[i64], out: &mut Vec<Finding>) {
    let (index, column) = (lookup.index(), lookup.column());
    let missing = |w: i64| Finding {
        seq: u64::try_from(w).unwrap_or(0),
        check: Check::Derived,
        what: format!(
            "the {index} index does not list this entry under its {column} {key:?}: searches by {column} miss it"
        ),
    };
    let (mut i, mut j) = (0, 0);
    loop {
        match (want.get(i).copied(), got.get(j).copied()) {
            (None, None) => break,
            (Some(w), Some(g)) if w == g => {
                i += 1;
                j += 1;
            }
            (Some(w), None) => {
                out.push(missing(w));
                i += 1;
            }
            (Some(w), Some(g)) if w < g => {
                out.push(missing(w));
                i += 1;
            }
            (_, Some(g)) => {
                out.push(if j > 0 && got[j - 1] == g {
                    Finding {
                        seq: u64::try_from(g).unwrap_or(0),
                        check: Check::Derived,
                        what: format!(
                            "the {index} index lists this entry twice under {column} {key:?}"
                        ),
                    }
                } else {
                    stray(lookup, g, key)
                });
                j += 1;
            }
        }
    }
}

/// Rebuilds the Merkle tree from the entry texts as the walk goes, and compares the
/// `merkle_nodes` rows each chunk completes (`FORMAT.md` §12): one node hash per entry on
/// the walking thread; the leaf hashes are made with the chunk's parallel pre-check and the
/// rows are read by the reader thread.
pub(super) struct MerkleCheck {
    pub(super) tree: merkle::Builder,
    /// Entries so far are exactly 1..=size. After a gap, leaf positions are unknown (the
    /// gap itself is reported as missing entries), so the tree is not followed further.
    pub(super) intact: bool,
    /// The `merkle_nodes` table is there to compare with.
    pub(super) compare: bool,
    /// The size of a trusted checkpoint (`Options::since`; 0: none), and the root the
    /// entries have at that size once the walk gets there.
    pub(super) since: (u64, Option<[u8; 32]>),
}

impl MerkleCheck {
    pub(super) fn chunk(&mut self, pre: &[Pre], stored: Vec<NodeRow>, out: &mut Vec<Finding>) {
        if !self.intact {
            return;
        }
        for p in pre {
            if u64::try_from(p.row.seq).ok() != Some(self.tree.size() + 1) {
                self.intact = false;
                break;
            }
            if let Some(Parsed::Checkpoint(c)) = &p.parsed
                && c.size == self.tree.size()
                && hex::encode(self.tree.root()) != c.root
            {
                out.push(Finding {
                    seq: self.tree.size() + 1,
                    check: Check::Reference,
                    what: format!(
                        "checkpoint root {} is not the Merkle root of entries 1–{} ({})",
                        c.root,
                        c.size,
                        hex::encode(self.tree.root())
                    ),
                });
            }
            self.tree.push(p.leaf);
            if self.tree.size() == self.since.0 {
                self.since.1 = Some(self.tree.root());
            }
        }
        let completed = self.tree.take_completed();
        if !self.compare {
            return;
        }
        let stored: HashMap<(i64, i64), Vec<u8>> = stored
            .into_iter()
            .map(|r| ((r.level, r.idx), r.hash))
            .collect();
        for n in completed {
            let (first, last) =
                merkle::node_span(n.level, n.idx).map_or((0, 0), |(a, b)| (a + 1, b));
            let at = format!(
                "level {}, index {} (entries {first}–{last})",
                n.level, n.idx
            );
            let row = i64::try_from(n.idx)
                .ok()
                .and_then(|i| stored.get(&(i64::from(n.level), i)));
            let what = match row {
                Some(h) if h.as_slice() == n.hash => continue,
                Some(_) => format!("merkle_nodes row at {at} does not match the entry texts"),
                None => format!("merkle_nodes lacks the row at {at}"),
            };
            out.push(Finding {
                seq: last,
                check: Check::Derived,
                what,
            });
        }
    }
}

/// Compare the `parties`, `keys` and `key_events` tables with what the walk derived from
/// the signed entries (`FORMAT.md` §14).
pub(super) fn check_derived_tables(
    walk: &Walk,
    parties: &[PartyRow],
    keys: &[KeyRow],
    key_events: &[KeyEventRow],
    out: &mut Vec<Finding>,
) {
    let mut expect_p: BTreeMap<&str, &VerifiedParty> = BTreeMap::new();
    for p in &walk.parties {
        expect_p.insert(&p.party.id, p);
    }
    for row in parties {
        let seq = u64::try_from(row.seq).unwrap_or(0);
        match expect_p.remove(row.id.as_str()) {
            Some(v)
                if v.party.name == row.name
                    && v.party.role.as_str() == row.role
                    && v.seq == seq => {}
            Some(v) => out.push(Finding {
                seq: v.seq,
                check: Check::Derived,
                what: format!(
                    "parties table row {:?} differs from the signed entry",
                    row.id
                ),
            }),
            None => out.push(Finding {
                seq,
                check: Check::Derived,
                what: format!(
                    "parties table has party {:?}, which no entry registers",
                    row.id
                ),
            }),
        }
    }
    for v in expect_p.values() {
        out.push(Finding {
            seq: v.seq,
            check: Check::Derived,
            what: format!("parties table lacks party {:?}", v.party.id),
        });
    }
    // Every key: registered with its party, or by a key rotation (FORMAT.md §14).
    let mut expect_k: BTreeMap<String, (&str, &str, u64)> = BTreeMap::new();
    for p in &walk.parties {
        expect_k.insert(
            p.fingerprint.to_string(),
            (&p.party.id, &p.party.public_key, p.seq),
        );
    }
    for (fpr, party, key, seq) in &walk.history.rotated {
        expect_k.insert(fpr.to_string(), (party, key, *seq));
    }
    for row in keys {
        let seq = u64::try_from(row.seq).unwrap_or(0);
        match expect_k.remove(&row.fingerprint) {
            Some((party, key, at)) if party == row.party && key == row.public_key && at == seq => {}
            Some((_, _, at)) => out.push(Finding {
                seq: at,
                check: Check::Derived,
                what: format!(
                    "keys table row {} differs from the signed entry",
                    row.fingerprint
                ),
            }),
            None => out.push(Finding {
                seq,
                check: Check::Derived,
                what: format!(
                    "keys table has key {} for party {:?}, which no entry registers",
                    row.fingerprint, row.party
                ),
            }),
        }
    }
    for (fpr, (_, _, seq)) in &expect_k {
        out.push(Finding {
            seq: *seq,
            check: Check::Derived,
            what: format!("keys table lacks key {fpr}"),
        });
    }
    let mut expect_e: BTreeMap<i64, &KeyEventRow> =
        walk.history.events.iter().map(|e| (e.seq, e)).collect();
    for row in key_events {
        let seq = u64::try_from(row.seq).unwrap_or(0);
        match expect_e.remove(&row.seq) {
            Some(e) if e == row => {}
            Some(_) => out.push(Finding {
                seq,
                check: Check::Derived,
                what: "key_events table row differs from the signed entry".into(),
            }),
            None => out.push(Finding {
                seq,
                check: Check::Derived,
                what: format!(
                    "key_events table says key {} was {}, which no entry says",
                    row.fingerprint, row.event
                ),
            }),
        }
    }
    for e in expect_e.values() {
        out.push(Finding {
            seq: u64::try_from(e.seq).unwrap_or(0),
            check: Check::Derived,
            what: format!(
                "key_events table lacks the {} key {}",
                e.event, e.fingerprint
            ),
        });
    }
}
