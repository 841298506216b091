//! The engine conformance suite: what any [`Engine`] must do, checked through the seam alone.
//!
//! `schema/FORMAT.md` §6 says what is stored and that it is append-only; §12 how the Merkle
//! nodes are stored and what the tree is. Every check here goes through [`Engine`] and
//! [`Txn`] (and the `impl dyn Engine` helpers) with rows built by hand, so it holds for any
//! engine: SQLite ([`sqlite_engine_conforms`]) and PostgreSQL ([`postgres_engine_conforms`]);
//! another engine is one more `#[test]` with its own [`Harness`] and must pass [`run_all`]
//! unchanged. The only engine-specific
//! step is [`Harness::raw_execute`], which reaches the store around the engine, the way an
//! accident would, to show that committed rows refuse UPDATE and DELETE.

use std::cell::Cell;
use std::io::Read;
use std::path::PathBuf;

use super::{Access, Engine, EntryRow, KeyEventRow, KeyRow, Lookup, NodeRow, PartyRow, Txn};
use crate::crypto;
use crate::error::Result;
use crate::format::merkle::{self, MemoryTree};

/// How a test gets engines: a new empty ledger store, and more handles on it.
pub(crate) trait Harness {
    /// Create a new, empty ledger store with these `meta` rows; it becomes the current store.
    fn create(&self, meta: &[(&str, &str)]) -> Box<dyn Engine>;
    /// Try to create a store where the current one is (a conforming engine refuses).
    fn create_existing(&self, meta: &[(&str, &str)]) -> Result<Box<dyn Engine>>;
    /// Another handle on the current store.
    fn open(&self, access: Access) -> Box<dyn Engine>;
    /// Run SQL on the current store around the engine (its own connection, autocommit).
    fn raw_execute(&self, sql: &str) -> std::result::Result<(), String>;
}

/// Every check, in turn, each on a store of its own.
pub(crate) fn run_all(h: &dyn Harness) {
    meta_is_kept_and_create_refuses_an_existing_ledger(h);
    append_and_read_back(h);
    lookups_list_exactly_the_rows(h);
    batch_is_all_or_nothing(h);
    parties_keys_and_key_events(h);
    artifacts_stream_the_exact_bytes(h);
    merkle_nodes_and_proofs_match_the_memory_tree(h);
    read_snapshot_is_isolated(h);
    read_only_handles_never_write(h);
    concurrent_writers_are_serialised(h);
    committed_rows_never_change(h);
    reopening_read_write_keeps_everything(h);
}

// ---- rows ---------------------------------------------------------------------------------

/// The `meta` rows a ledger is created with.
const META: &[(&str, &str)] = &[
    ("ledger_id", "0123456789abcdef0123456789abcdef"),
    ("format", "vouch/v1"),
];

/// A limit larger than any test store.
const ALL: usize = 1 << 40;

/// A time all filler rows carry.
const T0: &str = "2026-07-01T00:00:00Z";

/// A later time.
const AUG: &str = "2026-08-01T00:00:00Z";

/// An entry row of plain bytes (the engine never parses a row).
fn row(seq: i64, kind: &str, time: &str, item: Option<&str>) -> EntryRow {
    let body = format!("test entry {seq}\nkind: {kind}\ntime: {time}\n").into_bytes();
    EntryRow {
        seq,
        hash: crypto::sha256(&body).to_vec(),
        body,
        signature: vec![(seq % 251) as u8; 64],
        payload: format!("{{\"seq\":{seq}}}").into_bytes(),
        time: time.to_string(),
        kind: kind.to_string(),
        signer: "ab".repeat(16),
        item: item.map(str::to_string),
    }
}

/// An evidence row at `T0`.
fn evidence(seq: i64) -> EntryRow {
    row(seq, "evidence", T0, Some("backup.restore-tests"))
}

/// Every column of a row, as text, to compare rows (`EntryRow` has no `PartialEq`).
fn cols(r: &EntryRow) -> String {
    format!("{r:?}")
}

fn all_cols(rows: &[EntryRow]) -> Vec<String> {
    rows.iter().map(cols).collect()
}

fn seqs(rows: &[EntryRow]) -> Vec<i64> {
    rows.iter().map(|r| r.seq).collect()
}

fn party(id: &str, seq: i64) -> PartyRow {
    PartyRow {
        id: id.to_string(),
        name: format!("Party {id}"),
        role: "provider".to_string(),
        seq,
    }
}

fn key(fingerprint: &str, party: &str, seq: i64) -> KeyRow {
    KeyRow {
        fingerprint: fingerprint.to_string(),
        party: party.to_string(),
        public_key: format!("MCowBQYDK2VwAyEA{fingerprint}"),
        seq,
    }
}

fn event(seq: i64, fingerprint: &str, since: Option<&str>) -> KeyEventRow {
    KeyEventRow {
        seq,
        fingerprint: fingerprint.to_string(),
        event: if since.is_some() {
            "revoked"
        } else {
            "retired"
        }
        .to_string(),
        since: since.map(str::to_string),
    }
}

/// The writes of one transaction, as a test passes them around.
type Batch<'a> = &'a dyn Fn(&dyn Txn) -> Result<()>;

/// A Merkle node whose hash is `byte` repeated.
fn node(level: u32, idx: u64, byte: u8) -> merkle::Node {
    let hash = [byte; 32];
    merkle::Node { level, idx, hash }
}

/// `n` bytes that do not repeat in short periods.
fn noise(n: usize, salt: u32) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_add(salt).wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// The artefact hash of some bytes, as the ledger names artefacts.
fn sha_of(bytes: &[u8]) -> String {
    hex::encode(crypto::sha256(bytes))
}

/// The artefact [`fill`] stores.
const FILL_ARTEFACT: &[u8] = b"restore report: 3 of 3 restores verified\n";

/// A reader that hands out at most `step` bytes per call (a file read in pieces).
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.1).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// Store an artefact in a transaction of its own.
fn put_artifact(t: &dyn Txn, bytes: &[u8]) -> Result<()> {
    let size = bytes.len() as u64;
    t.insert_artifact(&sha_of(bytes), size, &mut Trickle(bytes, 7), &mut |_| {})
}

/// Append `n` evidence rows after the tip in one transaction, with the Merkle nodes they
/// complete, as `Ledger::append` does; `mem` gets the same leaves.
fn merkle_append(e: &mut dyn Engine, mem: &mut MemoryTree, n: i64) {
    e.write(|t| {
        let start = t.tip()?.map_or(0, |r| r.seq);
        let mut tree = merkle::Builder::resume(&*t, start as u64)?;
        let rows: Vec<EntryRow> = (start + 1..=start + n).map(evidence).collect();
        for r in &rows {
            tree.push(merkle::leaf_hash(&r.body));
            mem.push(&r.body);
        }
        t.insert_entries(&rows)?;
        t.insert_merkle_nodes(&tree.take_completed())?;
        // The transaction's own rows and nodes make its tree.
        assert_eq!(merkle::root(&*t, tree.size())?, tree.root(), "own writes");
        Ok(())
    })
    .unwrap();
}

/// Fill a store with some of everything: 20 entries with their Merkle node, two parties,
/// three keys, two key events and an artefact. Returns the tree of the entries.
fn fill(e: &mut dyn Engine) -> MemoryTree {
    let mut mem = MemoryTree::new();
    merkle_append(e, &mut mem, 20);
    e.write(|t| {
        t.insert_party(&party("provider", 1), &key("aa01", "provider", 1))?;
        t.insert_party(&party("customer", 2), &key("bb02", "customer", 2))?;
        t.insert_key(&key("aa03", "provider", 3))?;
        t.insert_key_event(&event(3, "aa01", None))?;
        t.insert_key_event(&event(4, "bb02", Some(T0)))?;
        put_artifact(t, FILL_ARTEFACT)
    })
    .unwrap();
    mem
}

/// Everything a reader can see of a store, as text, to compare two states.
fn dump(e: &dyn Engine) -> String {
    let meta = ["ledger_id", "format"].map(|k| e.meta(k).unwrap());
    let (_, max) = e.count().unwrap();
    format!(
        "meta {meta:?}\ncount {:?} max {:?}\nentries {:?}\nparties {:?}\nkeys {:?}\n\
         key events {:?}\nartefact {:?}\nnodes {:?}\nroot {:?}\n",
        e.count().unwrap(),
        e.max_seq().unwrap(),
        e.entries_after(0, ALL).unwrap(),
        e.parties().unwrap(),
        e.keys().unwrap(),
        e.key_events().unwrap(),
        e.artifact_bytes(&sha_of(FILL_ARTEFACT)).unwrap(),
        e.merkle_stray_nodes(0, ALL).unwrap(),
        e.merkle_root(max as u64).map_err(|e| e.to_string()),
    )
}

// ---- the checks ---------------------------------------------------------------------------

/// `meta` rows written at create are read back, by the engine and inside a transaction; a
/// new store is empty; create refuses an existing ledger and leaves it as it was.
fn meta_is_kept_and_create_refuses_an_existing_ledger(h: &dyn Harness) {
    let mut e = h.create(META);
    assert_eq!(e.meta("ledger_id").unwrap().as_deref(), Some(META[0].1));
    assert_eq!(e.meta("format").unwrap().as_deref(), Some("vouch/v1"));
    assert_eq!(e.meta("nothing").unwrap(), None);
    assert_eq!(e.meta_keys().unwrap(), ["format", "ledger_id"]);
    assert_eq!(e.count().unwrap(), (0, 0));
    assert_eq!(e.max_seq().unwrap(), 0);
    assert!(e.entry(1).unwrap().is_none());
    assert!(e.entries_after(0, ALL).unwrap().is_empty());
    assert!(e.entries_of_kind("genesis").unwrap().is_empty());
    assert!(e.evidence_after(0, "", ALL).unwrap().is_empty());
    assert!(e.parties().unwrap().is_empty() && e.keys().unwrap().is_empty());
    assert!(e.key_events().unwrap().is_empty());
    assert_eq!(e.key_events_table().unwrap(), Some(true));
    assert_eq!(e.merkle_table().unwrap(), Some(true));
    assert!(e.merkle_stray_nodes(0, ALL).unwrap().is_empty());
    assert_eq!(e.merkle_root(0).unwrap(), merkle::empty_root());
    assert!(e.merkle_root(1).is_err(), "no tree of size 1");
    e.write(|t| {
        assert!(t.tip()?.is_none(), "an empty ledger has no tip");
        assert_eq!(t.meta("format")?.as_deref(), Some("vouch/v1"));
        assert_eq!(t.meta("nothing")?, None);
        Ok(())
    })
    .unwrap();

    assert!(
        h.create_existing(&[("ledger_id", "ffff")]).is_err(),
        "create must refuse an existing ledger"
    );
    for other in [e, h.open(Access::ReadOnly)] {
        assert_eq!(other.meta("ledger_id").unwrap().as_deref(), Some(META[0].1));
        assert_eq!(other.count().unwrap(), (0, 0));
    }

    let bare = h.create(&[]);
    assert_eq!(bare.meta("ledger_id").unwrap(), None, "a new store");
}

/// The rows [`append_and_read_back`] appends: kinds, times and items vary.
fn reading_rows() -> Vec<EntryRow> {
    [
        (1, "genesis", "2026-01-01T00:00:00Z", None),
        (2, "evidence", "2026-01-02T00:00:00Z", Some("a")),
        (3, "party", "2026-01-03T00:00:00Z", None),
        (4, "evidence", "2026-02-01T00:00:00Z", Some("b")),
        (5, "evidence", "2026-02-01T00:00:00Z", Some("a")),
        (6, "adoption", "2026-02-02T00:00:00Z", Some("a")),
        (7, "evidence", "2026-03-01T00:00:00Z", Some("c")),
        (8, "evidence", "2026-03-02T00:00:00Z", Some("c")),
        (9, "waiver", "2026-03-03T00:00:00Z", Some("c")),
        (10, "evidence", "2026-04-01T00:00:00Z", Some("d")),
    ]
    .into_iter()
    .map(|(s, k, t, i)| row(s, k, t, i))
    .collect()
}

/// Rows appended in batches read back exactly, by seq, in ranges, by kind and as evidence
/// since a time; `count`, `max_seq` and `tip` follow.
fn append_and_read_back(h: &dyn Harness) {
    let mut e = h.create(META);
    let rows = reading_rows();
    e.write(|t| t.insert_entries(&rows[..6])).unwrap();
    e.write(|t| {
        assert_eq!(t.tip()?.as_ref().map(cols), Some(cols(&rows[5])));
        t.insert_entries(&rows[6..])?;
        assert_eq!(t.tip()?.as_ref().map(cols), Some(cols(&rows[9])));
        Ok(())
    })
    .unwrap();

    for r in &rows {
        assert_eq!(e.entry(r.seq).unwrap().as_ref().map(cols), Some(cols(r)));
    }
    for missing in [-1, 0, 11, i64::MAX] {
        assert!(e.entry(missing).unwrap().is_none(), "entry {missing}");
    }
    assert_eq!(all_cols(&e.entries_after(0, ALL).unwrap()), all_cols(&rows));
    for (after, limit, want) in [
        (0, 0, vec![]),
        (3, 4, vec![4, 5, 6, 7]),
        (-5, 3, vec![1, 2, 3]),
        (8, ALL, vec![9, 10]),
        (10, 5, vec![]),
        (0, 1, vec![1]),
    ] {
        let got = e.entries_after(after, limit).unwrap();
        assert_eq!(seqs(&got), want, "entries_after({after}, {limit})");
    }
    assert_eq!(
        all_cols(&e.entries_of_kind("evidence").unwrap()),
        all_cols(&[2, 4, 5, 7, 8, 10].map(|s| rows[s - 1].clone()))
    );
    assert_eq!(seqs(&e.entries_of_kind("waiver").unwrap()), vec![9]);
    assert!(e.entries_of_kind("nothing").unwrap().is_empty());
    evidence_since_checks(&*e, &rows);
    assert_eq!(e.count().unwrap(), (10, 10));
    assert_eq!(e.max_seq().unwrap(), 10);

    // A gap (the engine stores what it is given; verify reports gaps): count counts rows.
    e.write(|t| t.insert_entries(&[evidence(12)])).unwrap();
    assert_eq!(e.count().unwrap(), (11, 12));
    assert_eq!(e.max_seq().unwrap(), 12);
    assert!(e.entry(11).unwrap().is_none());
    assert_eq!(seqs(&e.entries_after(10, ALL).unwrap()), vec![12]);
    e.write(|t| {
        assert_eq!(t.tip()?.map(|r| r.seq), Some(12));
        Ok(())
    })
    .unwrap();
}

/// The layout of a new store is the expected one, with both lookups; each lookup lists every
/// row under its key and nothing else, by seq range; a structure added around the engine is
/// a layout problem that names it (`FORMAT.md` §6, §7).
fn lookups_list_exactly_the_rows(h: &dyn Harness) {
    let mut e = h.create(META);
    let layout = e.layout().unwrap();
    assert_eq!(layout.problems, Vec::<String>::new());
    assert_eq!(layout.lookups, Lookup::ALL.to_vec());
    for l in Lookup::ALL {
        assert_eq!(e.lookup_len(l).unwrap(), 0);
        assert!(
            e.lookup_range(l, "evidence", 0, ALL as i64)
                .unwrap()
                .is_empty()
        );
    }
    let rows = reading_rows();
    e.write(|t| t.insert_entries(&rows)).unwrap();
    for (lookup, key, after, last, want) in [
        (Lookup::Kind, "evidence", 0, 10, vec![2, 4, 5, 7, 8, 10]),
        (Lookup::Kind, "evidence", 4, 8, vec![5, 7, 8]),
        (Lookup::Kind, "evidence", 10, 20, vec![]),
        (Lookup::Kind, "genesis", -5, 1, vec![1]),
        (Lookup::Kind, "waiver", 0, 8, vec![]),
        (Lookup::Kind, "nothing", 0, 10, vec![]),
        (Lookup::Item, "a", 0, 10, vec![2, 5, 6]),
        (Lookup::Item, "a", 2, 5, vec![5]),
        (Lookup::Item, "c", 0, 10, vec![7, 8, 9]),
        (Lookup::Item, "evidence", 0, 10, vec![]),
    ] {
        assert_eq!(
            e.lookup_range(lookup, key, after, last).unwrap(),
            want,
            "lookup_range({lookup:?}, {key:?}, {after}, {last})"
        );
    }
    // Every row has a kind; rows 1 and 3 have no item.
    assert_eq!(e.lookup_len(Lookup::Kind).unwrap(), 10);
    assert_eq!(e.lookup_len(Lookup::Item).unwrap(), 8);
    for l in Lookup::ALL {
        assert!(e.lookup_strays(l, ALL).unwrap().is_empty(), "{l:?}");
    }
    h.raw_execute("CREATE INDEX entries_by_time ON entries (time)")
        .unwrap();
    let layout = h.open(Access::ReadOnly).layout().unwrap();
    assert_eq!(layout.lookups, Lookup::ALL.to_vec());
    assert_eq!(layout.problems.len(), 1, "{:?}", layout.problems);
    assert!(
        layout.problems[0].contains("entries_by_time"),
        "{:?}",
        layout.problems
    );
}

/// `evidence_after`: only evidence, seq after `after`, time at or after `since`, at most
/// `limit`, in seq order, as the signed bytes.
fn evidence_since_checks(e: &dyn Engine, rows: &[EntryRow]) {
    let feb = "2026-02-01T00:00:00Z";
    for (after, since, limit, want) in [
        (0, "", ALL, vec![2, 4, 5, 7, 8, 10]),
        (0, feb, ALL, vec![4, 5, 7, 8, 10]),
        (4, feb, 2, vec![5, 7]),
        (0, "2026-03-01T00:00:01Z", ALL, vec![8, 10]),
        (0, "2027-01-01T00:00:00Z", ALL, vec![]),
        (10, "", ALL, vec![]),
        (0, "", 0, vec![]),
    ] {
        let got = e.evidence_after(after, since, limit).unwrap();
        let want: Vec<_> = want
            .iter()
            .map(|&s| {
                let r = &rows[s as usize - 1];
                (r.seq, r.body.clone(), r.payload.clone())
            })
            .collect();
        assert_eq!(got, want, "evidence_after({after}, {since:?}, {limit})");
    }
}

/// A transaction dropped uncommitted leaves nothing of anything it inserted; an error part-way
/// rolls the whole batch back; the write lock is free again afterwards.
fn batch_is_all_or_nothing(h: &dyn Harness) {
    let mut e = h.create(META);
    fill(&mut *e);
    let before = dump(&*e);
    let extra = noise(1000, 1);
    {
        let t = e.begin_write().unwrap();
        t.insert_entries(&[evidence(21), evidence(22)]).unwrap();
        t.insert_party(&party("auditor", 21), &key("cc21", "auditor", 21))
            .unwrap();
        t.insert_key(&key("cc22", "auditor", 22)).unwrap();
        t.insert_key_event(&event(22, "cc21", None)).unwrap();
        put_artifact(&*t, &extra).unwrap();
        t.insert_merkle_nodes(&[node(4, 1, 7)]).unwrap();
        assert_eq!(t.tip().unwrap().map(|r| r.seq), Some(22));
        assert!(t.party("auditor").unwrap().is_some());
        assert_eq!(t.key_events("cc21").unwrap().len(), 1);
        assert!(t.has_artifact(&sha_of(&extra)).unwrap());
        // Dropped here, uncommitted.
    }
    assert_eq!(dump(&*e), before, "a dropped transaction left something");
    assert_eq!(dump(&*h.open(Access::ReadOnly)), before);
    assert_eq!(e.artifact_bytes(&sha_of(&extra)).unwrap(), None);

    let failures: [Batch<'_>; 3] = [
        // A seq twice in one batch, after rows of every table.
        &|t| {
            t.insert_entries(&[evidence(21)])?;
            t.insert_party(&party("auditor", 21), &key("cc21", "auditor", 21))?;
            t.insert_key_event(&event(21, "cc21", None))?;
            put_artifact(t, &extra)?;
            t.insert_merkle_nodes(&[node(4, 1, 7)])?;
            t.insert_entries(&[evidence(22), evidence(21)])
        },
        // A seq committed before.
        &|t| t.insert_entries(&[evidence(21), evidence(5)]),
        // A party registered before.
        &|t| {
            t.insert_entries(&[evidence(21)])?;
            t.insert_party(&party("provider", 21), &key("cc21", "provider", 21))
        },
    ];
    for (i, f) in failures.iter().enumerate() {
        assert!(e.write(|t| f(t)).is_err(), "failure {i} was accepted");
        assert_eq!(dump(&*e), before, "failure {i} left something");
    }

    // Another handle can take the write lock, and its batch lands whole.
    let mut other = h.open(Access::ReadWrite);
    other
        .write(|t| t.insert_entries(&[evidence(21), evidence(22)]))
        .unwrap();
    assert_eq!(e.count().unwrap(), (22, 22));
}

/// Parties, keys and key events read back in the documented order; lookups inside a
/// transaction see its own writes.
fn parties_keys_and_key_events(h: &dyn Harness) {
    let mut e = h.create(META);
    e.write(|t| {
        t.insert_party(&party("zeta", 2), &key("b2", "zeta", 2))?;
        t.insert_party(&party("alpha", 2), &key("e1", "alpha", 2))?;
        t.insert_party(&party("mid", 1), &key("c0", "mid", 1))?;
        t.insert_key(&key("d9", "alpha", 9))?;
        t.insert_key(&key("a5", "alpha", 5))?;
        t.insert_key_event(&event(9, "a5", Some(AUG)))?;
        t.insert_key_event(&event(5, "e1", None))?;
        assert_eq!(t.party("alpha")?, Some(party("alpha", 2)));
        assert_eq!(t.party("nobody")?, None);
        assert_eq!(t.key("a5")?, Some(key("a5", "alpha", 5)));
        assert_eq!(t.key("ff")?, None);
        let alpha = vec![
            key("e1", "alpha", 2),
            key("a5", "alpha", 5),
            key("d9", "alpha", 9),
        ];
        assert_eq!(t.party_keys("alpha")?, alpha, "by seq, then fingerprint");
        assert_eq!(t.party_keys("mid")?, vec![key("c0", "mid", 1)]);
        assert_eq!(t.party_keys("nobody")?, vec![]);
        assert_eq!(t.key_events("e1")?, vec![event(5, "e1", None)]);
        assert_eq!(t.key_events("a5")?, vec![event(9, "a5", Some(AUG))]);
        assert_eq!(t.key_events("c0")?, vec![]);
        Ok(())
    })
    .unwrap();
    e.write(|t| {
        // A later transaction sees the committed rows, and its own.
        t.insert_key_event(&event(7, "c0", Some(T0)))?;
        assert_eq!(t.key_events("c0")?.len(), 1);
        assert_eq!(t.party_keys("zeta")?, vec![key("b2", "zeta", 2)]);
        Ok(())
    })
    .unwrap();

    let parties = [party("mid", 1), party("alpha", 2), party("zeta", 2)];
    let keys = [
        ("c0", "mid", 1),
        ("b2", "zeta", 2),
        ("e1", "alpha", 2),
        ("a5", "alpha", 5),
    ]
    .map(|(f, p, s)| key(f, p, s));
    let events = [
        event(5, "e1", None),
        event(7, "c0", Some(T0)),
        event(9, "a5", Some(AUG)),
    ];
    for r in [e, h.open(Access::ReadOnly)] {
        assert_eq!(r.parties().unwrap(), parties, "by seq, then id");
        assert_eq!(r.keys().unwrap()[..4], keys, "by seq, then fingerprint");
        assert_eq!(r.keys().unwrap()[4..], [key("d9", "alpha", 9)]);
        assert_eq!(r.key_events().unwrap(), events, "in entry order");
    }
}

/// Artefacts are streamed in and out byte for byte; a source shorter or longer than
/// declared is an error and nothing of it stays; a missing hash is `None`.
fn artifacts_stream_the_exact_bytes(h: &dyn Harness) {
    let mut e = h.create(META);
    // Larger than any one chunk an engine is likely to use, and not a multiple of one.
    let data = noise(200_003, 0);
    let sha = sha_of(&data);
    let empty = sha_of(b"");
    let mut seen = Vec::new();
    e.write(|t| {
        assert!(!t.has_artifact(&sha)?);
        let size = data.len() as u64;
        t.insert_artifact(&sha, size, &mut Trickle(&data, 7_001), &mut |c| {
            seen.extend_from_slice(c);
        })?;
        assert!(t.has_artifact(&sha)?, "own writes");
        t.insert_artifact(&empty, 0, &mut std::io::empty(), &mut |_| {})
    })
    .unwrap();
    assert!(seen == data, "`seen` must see every byte, in order");

    let len = data.len();
    let mut got = Vec::new();
    let stored = e.read_artifact(&sha, &mut |c| got.extend_from_slice(c));
    assert_eq!(stored.unwrap(), Some((len as i64, len as u64)));
    assert!(got == data, "read_artifact streamed other bytes");
    let fresh = h.open(Access::ReadOnly);
    assert!(fresh.artifact_bytes(&sha).unwrap() == Some(data.clone()));
    assert_eq!(fresh.artifact_bytes(&empty).unwrap(), Some(vec![]));
    let stored = fresh.read_artifact(&empty, &mut |_| {});
    assert_eq!(stored.unwrap(), Some((0, 0)));
    let missing = sha_of(b"never stored");
    let mut called = false;
    let stored = fresh.read_artifact(&missing, &mut |_| called = true);
    assert_eq!(stored.unwrap(), None);
    assert!(!called);
    assert_eq!(fresh.artifact_bytes(&missing).unwrap(), None);

    let cases = [
        (100u64, 99usize),
        (100, 101),
        (0, 1),
        (5, 0),
        (70_000, 69_999),
    ];
    for (declared, actual) in cases {
        let what = format!("{declared} bytes declared, {actual} given");
        let name = sha_of(what.as_bytes());
        let source = &data[..actual];
        let r = e.write(|t| {
            t.insert_entries(&[evidence(1)])?;
            t.insert_artifact(&name, declared, &mut Trickle(source, 4_096), &mut |_| {})
        });
        assert!(r.is_err(), "{what}: accepted");
        assert_eq!(e.read_artifact(&name, &mut |_| {}).unwrap(), None, "{what}");
        assert_eq!(e.count().unwrap(), (0, 0), "{what}: the entry stayed");
        e.write(|t| {
            assert!(!t.has_artifact(&name)?, "{what}");
            Ok(())
        })
        .unwrap();
    }
}

/// The stored Merkle nodes are exactly the tree's, and the engine's roots and proofs agree
/// with [`MemoryTree`] over the same leaf texts, across stored levels 4 and 8.
fn merkle_nodes_and_proofs_match_the_memory_tree(h: &dyn Harness) {
    let mut e = h.create(META);
    let mut mem = MemoryTree::new();
    // Batches cross the level-4 and level-8 boundaries at odd places.
    for n in [1, 14, 2, 30, 200, 53] {
        merkle_append(&mut *e, &mut mem, n);
    }
    let n = mem.size();
    assert_eq!(n, 300);
    assert!(mem.nodes().contains_key(&(8, 0)), "must cross level 8");
    let rows = |keep: &dyn Fn(i64, i64) -> bool| -> Vec<NodeRow> {
        mem.nodes()
            .iter()
            .map(|(&(l, i), h)| (i64::from(l), i as i64, h))
            .filter(|&(l, i, _)| keep(l, i))
            .map(|(level, idx, h)| NodeRow {
                level,
                idx,
                hash: h.to_vec(),
            })
            .collect()
    };
    for (after, last) in [(0, 300), (0, 15), (16, 40), (255, 256), (100, 300), (0, 0)] {
        let want = rows(&|l, i| i >= after >> l && i < last >> l);
        let got = e.merkle_nodes_completed(after, last).unwrap();
        assert_eq!(got, want, "merkle_nodes_completed({after}, {last})");
    }
    for (size, limit) in [(300, ALL), (100, ALL), (100, 5), (0, 3), (256, ALL)] {
        let mut want = rows(&|l, i| i >= size >> l);
        want.truncate(limit);
        let got = e.merkle_stray_nodes(size, limit).unwrap();
        assert_eq!(got, want, "merkle_stray_nodes({size}, {limit})");
    }

    merkle_proof_checks(&*e, &mem);

    // Rows no tree has are strays, and are not used for roots.
    let stray = [node(3, 0, 9), node(4, 99, 9)];
    e.write(|t| t.insert_merkle_nodes(&stray)).unwrap();
    let got: Vec<_> = e.merkle_stray_nodes(300, ALL).unwrap();
    let got: Vec<_> = got.iter().map(|r| (r.level, r.idx)).collect();
    assert_eq!(got, [(3, 0), (4, 99)]);
    let root = merkle::root(&mem, 300).unwrap();
    assert_eq!(e.merkle_root(300).unwrap(), root);
    assert_eq!(e.merkle_nodes_completed(0, 300).unwrap().len(), 19);
}

/// Roots of every size, inclusion and consistency proofs, as `MemoryTree` has them.
fn merkle_proof_checks(e: &dyn Engine, mem: &MemoryTree) {
    let n = mem.size();
    for size in 0..=n {
        let want = merkle::root(mem, size).unwrap();
        assert_eq!(e.merkle_root(size).unwrap(), want, "root of {size}");
    }
    assert!(e.merkle_root(n + 1).is_err());
    let root = |s| e.merkle_root(s).unwrap();
    let cases = [
        (1, 1),
        (1, n),
        (16, 16),
        (17, n),
        (150, 299),
        (256, 257),
        (n, n),
    ];
    for (seq, size) in cases {
        let p = e.inclusion_proof(seq, size).unwrap();
        assert_eq!(p, merkle::inclusion_proof(mem, seq - 1, size).unwrap());
        let body = e.entry(seq as i64).unwrap().unwrap().body;
        let leaf = merkle::leaf_hash(&body);
        let ok = merkle::verify_inclusion(&leaf, seq - 1, size, &p, &root(size));
        assert!(ok, "inclusion proof of {seq} in {size}");
    }
    for (seq, size) in [(0, 5), (6, 5), (3, n + 1)] {
        assert!(
            e.inclusion_proof(seq, size).is_err(),
            "inclusion {seq} in {size}"
        );
    }
    let cases = [
        (0, 5),
        (1, n),
        (16, 17),
        (15, 256),
        (17, 256),
        (255, n),
        (n, n),
    ];
    for (m, size) in cases {
        let p = e.consistency_proof(m, size).unwrap();
        assert_eq!(p, merkle::consistency_proof(mem, m, size).unwrap());
        let ok = merkle::verify_consistency(m, size, &root(m), &root(size), &p);
        assert!(ok, "consistency proof from {m} to {size}");
    }
    assert!(e.consistency_proof(6, 5).is_err());
    assert!(e.consistency_proof(5, n + 1).is_err());
}

/// After `begin_read`, a handle sees one state: a later commit on another handle is not
/// seen by it, but is by a handle without a snapshot and by a new one.
fn read_snapshot_is_isolated(h: &dyn Harness) {
    let mut w = h.create(META);
    let mut mem = MemoryTree::new();
    merkle_append(&mut *w, &mut mem, 15);
    let snap = h.open(Access::ReadOnly);
    snap.begin_read().unwrap();
    assert_eq!(snap.count().unwrap(), (15, 15));
    let live = h.open(Access::ReadOnly);
    let reopened = w.reopen().unwrap();
    assert_eq!(reopened.count().unwrap(), (15, 15));
    let root15 = snap.merkle_root(15).unwrap();

    merkle_append(&mut *w, &mut mem, 2);
    w.write(|t| {
        t.insert_party(&party("late", 16), &key("ee16", "late", 16))?;
        put_artifact(t, b"late artefact")
    })
    .unwrap();

    assert_eq!(snap.count().unwrap(), (15, 15), "saw a later commit");
    assert_eq!(snap.max_seq().unwrap(), 15);
    assert!(snap.entry(16).unwrap().is_none());
    assert_eq!(snap.entries_after(0, ALL).unwrap().len(), 15);
    assert_eq!(snap.entries_of_kind("evidence").unwrap().len(), 15);
    assert_eq!(snap.evidence_after(0, "", ALL).unwrap().len(), 15);
    assert!(snap.parties().unwrap().is_empty() && snap.keys().unwrap().is_empty());
    assert_eq!(
        snap.artifact_bytes(&sha_of(b"late artefact")).unwrap(),
        None
    );
    assert!(snap.merkle_nodes_completed(0, 17).unwrap().is_empty());
    assert!(snap.merkle_root(16).is_err());
    assert_eq!(snap.merkle_root(15).unwrap(), root15);

    let root17 = merkle::root(&mem, 17).unwrap();
    for other in [&live, &reopened, &h.open(Access::ReadOnly)] {
        assert_eq!(other.count().unwrap(), (17, 17));
        assert_eq!(other.parties().unwrap(), vec![party("late", 16)]);
        assert_eq!(other.merkle_nodes_completed(0, 17).unwrap().len(), 1);
        assert_eq!(other.merkle_root(17).unwrap(), root17);
    }
}

/// A read-only handle, opened or reopened, cannot append.
fn read_only_handles_never_write(h: &dyn Harness) {
    let mut w = h.create(META);
    w.write(|t| t.insert_entries(&[evidence(1)])).unwrap();
    for (what, mut r) in [
        ("open", h.open(Access::ReadOnly)),
        ("reopen", w.reopen().unwrap()),
    ] {
        let out = r.write(|t| {
            t.insert_entries(&[evidence(2)])?;
            put_artifact(t, b"read-only")
        });
        assert!(out.is_err(), "{what}: a read-only handle wrote");
    }
    assert_eq!(w.count().unwrap(), (1, 1));
    assert_eq!(w.artifact_bytes(&sha_of(b"read-only")).unwrap(), None);
    w.write(|t| t.insert_entries(&[evidence(2)])).unwrap();
    assert_eq!(h.open(Access::ReadOnly).count().unwrap(), (2, 2));
}

/// Four handles in four threads each append 50 one-row batches after the tip they read in
/// the batch: the write lock serialises them into seqs 1..=200, no gap, no duplicate.
fn concurrent_writers_are_serialised(h: &dyn Harness) {
    let first = h.create(META);
    let writers: Vec<Box<dyn Engine>> = (0..4).map(|_| h.open(Access::ReadWrite)).collect();
    std::thread::scope(|s| {
        for (w, mut e) in writers.into_iter().enumerate() {
            s.spawn(move || {
                for i in 0..50 {
                    e.write(|t| {
                        let next = t.tip()?.map_or(1, |r| r.seq + 1);
                        let mut r = evidence(next);
                        r.body = format!("writer {w} batch {i}\n").into_bytes();
                        t.insert_entries(&[r])
                    })
                    .unwrap();
                }
            });
        }
    });
    assert_eq!(first.count().unwrap(), (200, 200));
    let rows = first.entries_after(0, ALL).unwrap();
    assert_eq!(seqs(&rows), (1..=200).collect::<Vec<_>>());
    // Each writer's batches landed once each, in its order.
    for w in 0..4 {
        let mine: Vec<_> = rows
            .iter()
            .filter_map(|r| {
                let text = String::from_utf8(r.body.clone()).unwrap();
                let rest = text.strip_prefix(&format!("writer {w} batch "))?;
                Some(rest.trim_end().parse::<u32>().unwrap())
            })
            .collect();
        assert_eq!(mine, (0..50).collect::<Vec<_>>(), "writer {w}");
    }
}

/// The engine has no way to change a committed row: an insert over one is refused. Around
/// the engine, the store itself refuses UPDATE and DELETE on every table (`FORMAT.md` §6).
fn committed_rows_never_change(h: &dyn Harness) {
    let mut e = h.create(META);
    fill(&mut *e);
    let before = dump(&*e);
    let mut changed = evidence(1);
    changed.body = b"another text\n".to_vec();
    let other = b"other content";
    let (p9, k9, ev3) = (
        party("provider", 9),
        key("ff09", "provider", 9),
        event(3, "bb02", None),
    );
    let overwrites: [(&str, Batch<'_>); 6] = [
        ("entry", &|t| t.insert_entries(&[changed.clone()])),
        ("party", &|t| t.insert_party(&p9, &k9)),
        ("key", &|t| t.insert_key(&key("aa03", "customer", 9))),
        ("key event", &|t| t.insert_key_event(&ev3)),
        ("artefact", &|t| {
            let sha = sha_of(FILL_ARTEFACT);
            t.insert_artifact(&sha, other.len() as u64, &mut &other[..], &mut |_| {})
        }),
        ("merkle node", &|t| t.insert_merkle_nodes(&[node(4, 0, 0)])),
    ];
    for (what, f) in overwrites {
        assert!(e.write(|t| f(t)).is_err(), "{what} overwritten");
    }
    assert_eq!(dump(&*e), before);

    // The raw connection reaches the same store and may insert.
    h.raw_execute("INSERT INTO meta (key, value) VALUES ('raw-probe', 'reached')")
        .unwrap();
    assert_eq!(e.meta("raw-probe").unwrap().as_deref(), Some("reached"));
    for (table, column) in [
        ("meta", "value"),
        ("entries", "kind"),
        ("parties", "name"),
        ("keys", "party"),
        ("key_events", "event"),
        ("artifacts", "size"),
        ("merkle_nodes", "hash"),
    ] {
        for sql in [
            format!("UPDATE {table} SET {column} = {column}"),
            format!("DELETE FROM {table}"),
        ] {
            match h.raw_execute(&sql) {
                Ok(()) => panic!("{sql}: accepted"),
                Err(m) => assert!(m.contains("append-only"), "{sql}: {m}"),
            }
        }
    }
    assert_eq!(dump(&*e), before);
    assert_eq!(e.meta("raw-probe").unwrap().as_deref(), Some("reached"));
}

/// Opening an existing ledger read-write again (migrations already applied) changes
/// nothing, even with two such handles at once; appending continues the tree.
fn reopening_read_write_keeps_everything(h: &dyn Harness) {
    let mut e = h.create(META);
    let mut mem = fill(&mut *e);
    let before = dump(&*e);
    drop(e);
    let a = h.open(Access::ReadWrite);
    assert_eq!(dump(&*a), before);
    let b = h.open(Access::ReadWrite);
    assert_eq!(dump(&*b), before);
    drop((a, b));
    let mut c = h.open(Access::ReadWrite);
    assert_eq!(dump(&*c), before);
    assert_eq!(c.key_events_table().unwrap(), Some(true));
    assert_eq!(c.merkle_table().unwrap(), Some(true));
    merkle_append(&mut *c, &mut mem, 12);
    let r = h.open(Access::ReadOnly);
    assert_eq!(r.count().unwrap(), (32, 32));
    assert_eq!(r.merkle_nodes_completed(0, 32).unwrap().len(), 2);
    assert_eq!(r.merkle_root(32).unwrap(), merkle::root(&mem, 32).unwrap());
    assert_eq!(r.parties().unwrap().len(), 2);
}

// ---- SQLite -------------------------------------------------------------------------------

/// Ledger files in a temporary directory, one per [`Harness::create`].
struct SqliteHarness {
    dir: tempfile::TempDir,
    made: Cell<usize>,
}

impl SqliteHarness {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            made: Cell::new(0),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("ledger-{}.db", self.made.get()))
    }
}

impl Harness for SqliteHarness {
    fn create(&self, meta: &[(&str, &str)]) -> Box<dyn Engine> {
        self.made.set(self.made.get() + 1);
        super::create(&self.path(), meta).unwrap()
    }

    fn create_existing(&self, meta: &[(&str, &str)]) -> Result<Box<dyn Engine>> {
        super::create(&self.path(), meta)
    }

    fn open(&self, access: Access) -> Box<dyn Engine> {
        super::open(&self.path(), access).unwrap()
    }

    /// The file opened with `rusqlite` directly: only the triggers stand in the way.
    fn raw_execute(&self, sql: &str) -> std::result::Result<(), String> {
        let c = rusqlite::Connection::open(self.path()).map_err(|e| e.to_string())?;
        c.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        c.execute_batch(sql).map_err(|e| e.to_string())
    }
}

#[test]
fn sqlite_engine_conforms() {
    run_all(&SqliteHarness::new());
}

// ---- PostgreSQL ---------------------------------------------------------------------------

/// Ledgers `c1`, `c2`, … in one database of the test cluster, one per [`Harness::create`]:
/// the suite's layout check adds an index to the database, so it has a database of its own.
struct PostgresHarness {
    database: String,
    made: Cell<usize>,
}

impl PostgresHarness {
    fn new() -> Self {
        Self {
            database: "conformance".to_string(),
            made: Cell::new(0),
        }
    }

    fn ledger(&self) -> String {
        format!("c{}", self.made.get())
    }

    fn location(&self) -> PathBuf {
        let url = super::postgres_test_cluster::url(&self.database);
        PathBuf::from(format!("{url}?ledger={}", self.ledger()))
    }
}

impl Harness for PostgresHarness {
    fn create(&self, meta: &[(&str, &str)]) -> Box<dyn Engine> {
        if self.made.get() == 0 {
            super::postgres_test_cluster::database(&self.database);
        }
        self.made.set(self.made.get() + 1);
        super::create(&self.location(), meta).unwrap()
    }

    fn create_existing(&self, meta: &[(&str, &str)]) -> Result<Box<dyn Engine>> {
        super::create(&self.location(), meta)
    }

    fn open(&self, access: Access) -> Box<dyn Engine> {
        super::open(&self.location(), access).unwrap()
    }

    /// A connection of its own to the database, with schema `vouch` first on the search
    /// path: only the triggers stand in the way. Rows of a shared database carry their
    /// ledger, so an INSERT into `meta` gets the current ledger's `ledger_id` added.
    fn raw_execute(&self, sql: &str) -> std::result::Result<(), String> {
        let mut c = super::postgres_test_cluster::connect(&self.database);
        let sql = sql.replace(
            "INSERT INTO meta (key, value) VALUES (",
            &format!(
                "INSERT INTO meta (ledger_id, key, value) VALUES ('{}', ",
                self.ledger()
            ),
        );
        c.batch_execute(&format!("SET search_path = vouch; {sql}"))
            .map_err(|e| {
                e.as_db_error()
                    .map_or(e.to_string(), |d| d.message().to_string())
            })
    }
}

#[test]
fn postgres_engine_conforms() {
    run_all(&PostgresHarness::new());
}
