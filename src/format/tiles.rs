//! C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>) over the ledger's Merkle tree
//! (`schema/FORMAT.md` §12, §19): tile paths, and the bytes of hash tiles and entry bundles.
//!
//! A tiled log serves its tree as fixed resources a client can fetch and check against a
//! checkpoint on its own: a *hash tile* at level L holds up to 256 consecutive hashes of
//! tree level 8·L (level 0: leaf hashes), and an *entry bundle* the entry texts of up to 256
//! consecutive leaves, each as a big-endian `u16` length and the bytes. This module is pure:
//! it parses and spells paths, and builds tiles from a [`merkle::Source`] and entry texts.

use crate::error::{Error, Result};
use crate::format::merkle::{self, Hash};

/// Hashes (or entries) in a full tile.
pub const FULL: u16 = 256;

/// Tile height: a hash tile at level L holds hashes of tree level `HEIGHT·L`.
const HEIGHT: u32 = 8;

/// The largest entry text an entry bundle can carry (its length is a `u16`).
pub const MAX_ENTRY: usize = u16::MAX as usize;

/// What a tile holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Hashes of tree level `8·level` (0 to 63).
    Hashes {
        /// The tile level.
        level: u8,
    },
    /// Entry texts (`tile/entries/…`).
    Entries,
}

/// A tile: what it holds, its index on its level and its width (1 to 256; 256 is full).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    /// Hashes of a level, or entries.
    pub content: Content,
    /// Index of the tile on its level.
    pub index: u64,
    /// How many hashes or entries it holds.
    pub width: u16,
}

fn bad(path: &str, why: &str) -> Error {
    Error::new(format!("tile path {path:?}: {why}"))
        .hint("tile paths are tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>] (C2SP tlog-tiles)")
}

/// A decimal number without sign or leading zeros, at most `max`.
fn decimal(s: &str, max: u64) -> Option<u64> {
    let plain = !s.is_empty()
        && s.len() <= 20
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    plain
        .then(|| s.parse::<u64>().ok())
        .flatten()
        .filter(|n| *n <= max)
}

/// The index elements `x001/x234/067`: three digits each, all but the last with `x`.
fn index_elements(parts: &[&str]) -> Option<u64> {
    let (last, rest) = parts.split_last()?;
    let mut n: u64 = 0;
    for (i, p) in rest.iter().map(|p| p.strip_prefix('x')).enumerate() {
        let p = p?;
        if p.len() != 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // A leading group of zeros would give one index two spellings.
        if i == 0 && p == "000" {
            return None;
        }
        n = n.checked_mul(1000)?.checked_add(p.parse().ok()?)?;
    }
    if last.len() != 3 || !last.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.checked_mul(1000)?.checked_add(last.parse().ok()?)
}

impl Tile {
    /// Parse a tile path (`tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`), in its one
    /// spelling.
    ///
    /// # Errors
    ///
    /// Any other spelling, a level over 63, a width of 0 or over 255.
    pub fn parse(path: &str) -> Result<Self> {
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| bad(path, "does not start with tile/"))?;
        let (rest, width) = match rest.split_once(".p/") {
            Some((r, w)) => {
                let w = decimal(w, u64::from(FULL) - 1)
                    .filter(|w| *w > 0)
                    .ok_or_else(|| bad(path, "the width of a partial tile is 1 to 255"))?;
                (r, w as u16)
            }
            None => (rest, FULL),
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let (first, elements) = parts.split_first().ok_or_else(|| bad(path, "no level"))?;
        let content = if *first == "entries" {
            Content::Entries
        } else {
            let level = decimal(first, 63).ok_or_else(|| bad(path, "the level is 0 to 63"))?;
            Content::Hashes { level: level as u8 }
        };
        let index = index_elements(elements)
            .ok_or_else(|| bad(path, "the index is x-prefixed groups of three digits"))?;
        Ok(Self {
            content,
            index,
            width,
        })
    }

    /// The tile's path, `tile/…`.
    pub fn path(&self) -> String {
        let mut groups = vec![format!("{:03}", self.index % 1000)];
        let mut n = self.index / 1000;
        while n > 0 {
            groups.push(format!("x{:03}", n % 1000));
            n /= 1000;
        }
        groups.reverse();
        let level = match self.content {
            Content::Hashes { level } => level.to_string(),
            Content::Entries => "entries".to_string(),
        };
        let partial = if self.width == FULL {
            String::new()
        } else {
            format!(".p/{}", self.width)
        };
        format!("tile/{level}/{}{partial}", groups.join("/"))
    }

    /// The tree level of the hashes (0: leaves; entries: 0).
    fn tree_level(&self) -> u32 {
        match self.content {
            Content::Hashes { level } => HEIGHT * u32::from(level),
            Content::Entries => 0,
        }
    }

    /// The first and one-past-last node (at [`Self::tree_level`]) the tile holds.
    fn nodes(&self) -> Option<(u64, u64)> {
        let first = self.index.checked_mul(u64::from(FULL))?;
        Some((first, first.checked_add(u64::from(self.width))?))
    }

    /// The leaves `[start, end)` the tile spans; `None` beyond any tree.
    pub fn leaves(&self) -> Option<(u64, u64)> {
        let (first, end) = self.nodes()?;
        let level = self.tree_level();
        let (start, _) = merkle::node_span(level, first)?;
        let (_, stop) = merkle::node_span(level, end.checked_sub(1)?)?;
        Some((start, stop))
    }

    /// Whether the tile exists in the tree of `size` leaves: every hash (or entry) it holds
    /// is of a complete subtree of that tree. Partial tiles of any width that an earlier
    /// size had are served too (a checkpoint may have been made at that size).
    pub fn in_tree(&self, size: u64) -> bool {
        self.leaves().is_some_and(|(_, end)| end <= size)
    }

    /// The hash tile's bytes: its hashes, 32 bytes each, from `src` (the tree of at least
    /// the leaves it spans).
    ///
    /// # Errors
    ///
    /// An entry bundle, a tile beyond the tree, or an error of `src`.
    pub fn hashes(&self, src: &dyn merkle::Source) -> Result<Vec<u8>> {
        let (first, end) = self
            .nodes()
            .ok_or_else(|| Error::new(format!("{} lies beyond any tree", self.path())))?;
        let level = self.tree_level();
        let hashes: Vec<Hash> = match self.content {
            Content::Entries => {
                return Err(Error::new(format!(
                    "internal error: {} is an entry bundle, not a hash tile",
                    self.path()
                )));
            }
            Content::Hashes { level: 0 } => src.leaf_hashes(first, end)?,
            Content::Hashes { .. } => match src.stored_nodes(level, first, end)? {
                Some(stored) => stored,
                None => (first..end)
                    .map(|i| merkle::subtree(src, level, i))
                    .collect::<Result<_>>()?,
            },
        };
        Ok(hashes.concat())
    }
}

/// An entry bundle's bytes: each entry text as a big-endian `u16` length and its bytes.
///
/// # Errors
///
/// An entry text longer than 65,535 bytes (none is: entry texts are a few hundred bytes).
pub fn entry_bundle<'a>(texts: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for t in texts {
        let len = u16::try_from(t.len()).map_err(|_| {
            Error::new(format!(
                "an entry text of {} bytes does not fit an entry bundle (at most {MAX_ENTRY})",
                t.len()
            ))
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(t);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_have_one_spelling() {
        for (path, content, index, width) in [
            ("tile/0/000", Content::Hashes { level: 0 }, 0, 256),
            (
                "tile/1/x001/x234/067",
                Content::Hashes { level: 1 },
                1_234_067,
                256,
            ),
            ("tile/2/001.p/17", Content::Hashes { level: 2 }, 1, 17),
            ("tile/entries/273.p/112", Content::Entries, 273, 112),
            ("tile/63/999", Content::Hashes { level: 63 }, 999, 256),
        ] {
            let t = Tile::parse(path).unwrap();
            assert_eq!(
                t,
                Tile {
                    content,
                    index,
                    width
                },
                "{path}"
            );
            assert_eq!(t.path(), path);
        }
        for bad in [
            "tile/00/000",
            "tile/0/0",
            "tile/0/1234",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/0/x1/002",
            "tile/64/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/017",
            "tile/0/000.p/",
            "tile/0/",
            "tile/data/000",
            "tiles/0/000",
            "tile/-1/000",
            "tile/0/+01",
        ] {
            assert!(Tile::parse(bad).is_err(), "accepted {bad}");
        }
    }

    #[test]
    fn spans_follow_the_spec_example() {
        // A tree of 70,000: 273 full level-0 tiles, a partial of 112, one full level-1
        // tile, a partial level-1 tile of 17, a partial level-2 tile of 1 (tlog-tiles).
        let size = 70_000;
        let t = |path: &str| Tile::parse(path).unwrap();
        assert!(t("tile/0/272").in_tree(size));
        assert!(!t("tile/0/273").in_tree(size));
        assert!(t("tile/0/273.p/112").in_tree(size));
        assert!(!t("tile/0/273.p/113").in_tree(size));
        assert!(t("tile/1/000").in_tree(size));
        assert!(t("tile/1/001.p/17").in_tree(size));
        assert!(!t("tile/1/001.p/18").in_tree(size));
        assert!(t("tile/2/000.p/1").in_tree(size));
        assert!(!t("tile/2/000.p/2").in_tree(size));
        assert!(!t("tile/9/000.p/1").in_tree(size));
        assert_eq!(
            t("tile/1/001.p/17").leaves(),
            Some((65_536, 65_536 + 17 * 256))
        );
        assert_eq!(
            Tile::parse("tile/63/x018/x446/x744/x073/x709/x551/615")
                .unwrap()
                .leaves(),
            None
        );
    }

    #[test]
    fn bundles_are_length_prefixed() {
        let b = entry_bundle([b"ab".as_slice(), b"".as_slice()]).unwrap();
        assert_eq!(b, [0, 2, b'a', b'b', 0, 0]);
        assert!(entry_bundle([vec![0u8; 65_536].as_slice()]).is_err());
    }
}
