//! C2SP tlog-tiles (`schema/FORMAT.md` §19): the ledger's tiles, read by an implementation
//! nobody here wrote — Cloudflare's `tlog_tiles` crate, a port of Go's `sumdb/tlog` — which
//! authenticates every tile against a checkpoint's root and proves inclusion of entries and
//! consistency between tree sizes from the tiles alone.

use std::cell::Cell;

use tlog_tiles::{
    Hash, TileHashReader, TileReader, check_record, check_tree, prove_record, prove_tree,
    record_hash,
};
use vouch::format::tiles::Tile;
use vouch::ledger::{Access, Ledger};

use crate::util::Env;

/// Evidence lines for the adopted Cloud Temple matrix.
fn batch(n: usize) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "{{\"item\":\"backup.restore-tests\",\"kind\":\"restore-test\",\"outcome\":\"pass\",\"performed_at\":\"2026-07-01\",\"fields\":{{\"backup_id\":\"bk-{i}\",\"rto_minutes\":45,\"data_verified\":true}}}}\n"
            )
        })
        .collect()
}

/// The crate's tiles, fetched from the ledger by their C2SP paths; `forge` flips a byte of
/// the n-th tile read (counting from 1).
struct Tiles<'a> {
    ledger: &'a Ledger,
    size: u64,
    reads: Cell<usize>,
    forge: Option<usize>,
}

/// The C2SP path of the crate's tile: its Go-style path without the tile height element
/// (`tile/8/1/000` → `tile/1/000`).
fn c2sp_path(t: &tlog_tiles::Tile) -> String {
    let path = t.path();
    let rest = path.strip_prefix("tile/8/").expect("height 8 tiles");
    format!("tile/{rest}")
}

impl TileReader for Tiles<'_> {
    fn height(&self) -> u8 {
        8
    }

    fn read_tiles(&self, tiles: &[tlog_tiles::Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        Ok(tiles
            .iter()
            .map(|t| {
                let ours = Tile::parse(&c2sp_path(t)).unwrap();
                assert_eq!(ours.path(), c2sp_path(t), "one spelling of each path");
                let mut bytes = self.ledger.tile(&ours, self.size).unwrap().unwrap();
                self.reads.set(self.reads.get() + 1);
                if self.forge == Some(self.reads.get()) {
                    bytes[7] ^= 1;
                }
                bytes
            })
            .collect())
    }

    fn save_tiles(&self, _tiles: &[tlog_tiles::Tile], _data: &[Vec<u8>]) {}
}

/// A ledger past one full level-1 tile (65,536 entries): inclusion of entries at tile
/// edges and consistency from older sizes, proved from tiles and checked by `tlog_tiles`
/// against the roots vouch computes; a forged tile is refused; entry bundles hash to the
/// level-0 tiles; tiles beyond the tree are not served.
#[test]
fn a_standard_client_proves_inclusion_and_consistency_from_the_tiles() {
    let env = Env::adopted();
    std::fs::write(env.p("b.jsonl"), batch(65_700)).unwrap();
    env.ok(&["record", "--batch", "b.jsonl", "--key", "customer"]);
    let ledger = Ledger::open(&env.p("ledger.db"), Access::ReadOnly).unwrap();
    let size = ledger.size().unwrap();
    assert_eq!(size, 65_704);
    let root = Hash(ledger.merkle_root(size).unwrap());
    let tiles = Tiles {
        ledger: &ledger,
        size,
        reads: Cell::new(0),
        forge: None,
    };
    let reader = TileHashReader::new(size, root, &tiles);
    for n in [0, 1, 255, 256, 4095, 65_535, 65_536, 65_600, size - 1] {
        let proof = prove_record(size, n, &reader).unwrap();
        let text = ledger.entry(n + 1).unwrap().unwrap().body;
        check_record(&proof, size, root, n, record_hash(&text))
            .unwrap_or_else(|e| panic!("entry {}: {e:?}", n + 1));
        // The same proof does not prove another entry.
        let other = ledger
            .entry(if n == 0 { 2 } else { n })
            .unwrap()
            .unwrap()
            .body;
        assert!(check_record(&proof, size, root, n, record_hash(&other)).is_err());
        // And it is the proof vouch itself gives (RFC 9162 path, same hashes).
        let ours = ledger.inclusion_proof(n + 1, size).unwrap();
        assert_eq!(proof.iter().map(|h| h.0).collect::<Vec<_>>(), ours);
    }
    for m in [1, 300, 65_536, size - 5, size] {
        let old = Hash(ledger.merkle_root(m).unwrap());
        let proof = prove_tree(size, m, &reader).unwrap();
        check_tree(&proof, size, root, m, old).unwrap_or_else(|e| panic!("size {m}: {e:?}"));
        if m > 1 {
            let wrong = Hash(ledger.merkle_root(m - 1).unwrap());
            assert!(check_tree(&proof, size, root, m, wrong).is_err());
        }
    }
    assert!(tiles.reads.get() > 0);

    // A forged tile never yields a proof that checks: either the client refuses the tile
    // (it does not hash to the root or to its parent tile), or the forged hash is not one
    // the proof uses and the proof is the genuine one.
    let n = 1000;
    let genuine = prove_record(size, n, &reader).unwrap();
    let text = ledger.entry(n + 1).unwrap().unwrap().body;
    let mut refused = 0;
    for forge in 1..=8 {
        let forged = Tiles {
            ledger: &ledger,
            size,
            reads: Cell::new(0),
            forge: Some(forge),
        };
        let reader = TileHashReader::new(size, root, &forged);
        match prove_record(size, n, &reader) {
            Err(_) => refused += 1,
            Ok(proof) => {
                let checks = check_record(&proof, size, root, n, record_hash(&text)).is_ok();
                assert!(
                    !checks || proof == genuine,
                    "forged tile {forge} gave a false proof"
                );
                refused += usize::from(!checks);
            }
        }
    }
    assert!(refused > 0, "no forged tile was noticed");

    // Entry bundles: each entry hashes to its leaf in the level-0 tile.
    for (bundle, hashes) in [
        ("tile/entries/000", "tile/0/000"),
        ("tile/entries/256.p/168", "tile/0/256.p/168"),
    ] {
        let b = ledger
            .tile(&Tile::parse(bundle).unwrap(), size)
            .unwrap()
            .unwrap();
        let h = ledger
            .tile(&Tile::parse(hashes).unwrap(), size)
            .unwrap()
            .unwrap();
        let mut rest = b.as_slice();
        let mut i = 0;
        while !rest.is_empty() {
            let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            let text = &rest[2..2 + len];
            assert_eq!(record_hash(text).0.as_slice(), &h[32 * i..32 * (i + 1)]);
            rest = &rest[2 + len..];
            i += 1;
        }
        assert_eq!(i * 32, h.len(), "{bundle}");
    }
    // Beyond the tree: not tiles of it.
    for beyond in [
        "tile/0/256",
        "tile/0/256.p/169",
        "tile/entries/257.p/1",
        "tile/1/001.p/1",
        "tile/2/000.p/2",
    ] {
        assert_eq!(
            ledger.tile(&Tile::parse(beyond).unwrap(), size).unwrap(),
            None,
            "{beyond}"
        );
    }
    // But a partial tile of an older size still is (a checkpoint may have been made there).
    assert!(
        ledger
            .tile(&Tile::parse("tile/0/256.p/5").unwrap(), size)
            .unwrap()
            .is_some()
    );
    assert!(
        ledger
            .tile(&Tile::parse("tile/0/000").unwrap(), size + 1)
            .is_err()
    );
}
