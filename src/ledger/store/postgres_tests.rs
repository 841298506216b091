//! Tests of the PostgreSQL engine beyond the conformance suite, against the private test
//! server ([`super::postgres_test_cluster`]): a ledger written through the Ledger API
//! verifies, the database refuses UPDATE and DELETE, ledgers of one database are
//! independent, and concurrent writers on one ledger, on separate connections, make one
//! linear chain.

use std::path::PathBuf;

use super::postgres_test_cluster::{connect, database};
use super::{Access, Engine, Lookup};
use crate::crypto::SecretKey;
use crate::format::entry::{LedgerId, parse_time};
use crate::format::payload::Role;
use crate::ledger::verify::{self, Options};
use crate::ledger::{Ledger, NewParty, NoProgress};

fn key() -> SecretKey {
    SecretKey::from_seed(&[9u8; 32])
}

/// The location of ledger `name` in database `db`.
fn location(db: &str, name: &str) -> PathBuf {
    let url = super::postgres_test_cluster::url(db);
    PathBuf::from(format!("{url}?ledger={name}"))
}

/// A ledger of genesis plus `n` evidence entries, in batches of `batch`.
fn ledger(path: &std::path::Path, id: u8, n: usize, batch: usize) -> Ledger {
    let party = NewParty {
        id: "provider".into(),
        name: "P".into(),
        role: Role::Provider,
    };
    let t = parse_time("2026-07-01T00:00:00Z").unwrap();
    let (mut l, _) = Ledger::init(path, LedgerId([id; 16]), &party, &key(), t).unwrap();
    let mut left = n;
    while left > 0 {
        let k = left.min(batch);
        l.append(&key(), crate::ledger::restore_drafts(k, t), t, &NoProgress)
            .unwrap();
        left -= k;
    }
    l
}

fn verified(path: &std::path::Path) -> verify::Report {
    let all = Options {
        all: true,
        ..Options::default()
    };
    verify::verify(path, &all, &NoProgress).unwrap()
}

#[test]
fn postgres_ledger_written_through_the_ledger_api_verifies() {
    database("api");
    let path = location("api", "acme");
    drop(ledger(&path, 1, 700, 300));
    let report = verified(&path);
    assert!(report.ok(), "{:?}", report.findings);
    assert_eq!(report.entries, 701);
    // The same entries in SQLite give the same Merkle root.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("l.db");
    drop(ledger(&file, 1, 700, 300));
    assert_eq!(verified(&file).merkle_root, report.merkle_root);
    let (pg, lite) = (
        super::open(&path, Access::ReadOnly).unwrap(),
        super::open(&file, Access::ReadOnly).unwrap(),
    );
    let bodies = |e: &dyn Engine| -> Vec<Vec<u8>> {
        e.entries_after(0, 1 << 20)
            .unwrap()
            .into_iter()
            .map(|r| r.body)
            .collect()
    };
    assert_eq!(bodies(&*pg), bodies(&*lite), "same entry texts");
    // A second init of the same ledger is refused, and the first is untouched.
    let party = NewParty {
        id: "other".into(),
        name: "O".into(),
        role: Role::Provider,
    };
    let t = parse_time("2026-07-02T00:00:00Z").unwrap();
    let again = Ledger::init(&path, LedgerId([2; 16]), &party, &key(), t);
    let msg = again.err().unwrap().message().to_string();
    assert!(msg.contains("already exists"), "{msg}");
    assert!(verified(&path).ok());
    // A ledger nobody created is named, with the way to create it.
    let e = Ledger::open(&location("api", "nobody"), Access::ReadOnly)
        .err()
        .unwrap();
    assert!(
        e.message().starts_with("no ledger at postgres://"),
        "{}",
        e.message()
    );
}

#[test]
fn postgres_refuses_update_and_delete_of_committed_rows() {
    database("refuse");
    let path = location("refuse", "acme");
    drop(ledger(&path, 1, 20, 20));
    let mut c = connect("refuse");
    for sql in [
        "UPDATE vouch.entries SET kind = 'waiver' WHERE seq = 3",
        "DELETE FROM vouch.entries WHERE seq = 21",
        "TRUNCATE vouch.entries",
        "UPDATE vouch.merkle_nodes SET hash = hash",
        "DELETE FROM vouch.ledgers",
        "UPDATE vouch.ledgers SET head_seq = 1",
        "UPDATE vouch.ledgers SET ledger_id = 'other'",
    ] {
        let e = c
            .batch_execute(sql)
            .err()
            .unwrap_or_else(|| panic!("{sql}: accepted"));
        let msg = e.as_db_error().map(|d| d.message().to_string()).unwrap();
        assert!(msg.contains("append-only"), "{sql}: {msg}");
    }
    assert!(verified(&path).ok());
    // An attacker who drops the trigger first is caught by verify.
    c.batch_execute(
        "DROP TRIGGER entries_append_only ON vouch.entries;
         UPDATE vouch.entries SET kind = 'waiver' WHERE seq = 3;",
    )
    .unwrap();
    let report = verified(&path);
    assert!(!report.ok());
    assert!(
        report.findings.iter().any(|f| f.seq == 3),
        "{:?}",
        report.findings
    );
}

#[test]
fn postgres_ledgers_in_one_database_are_independent() {
    database("two");
    let (a, b) = (location("two", "alpha"), location("two", "beta"));
    drop(ledger(&a, 1, 40, 40));
    drop(ledger(&b, 2, 7, 7));
    let (ra, rb) = (verified(&a), verified(&b));
    assert!(ra.ok() && rb.ok(), "{:?} {:?}", ra.findings, rb.findings);
    assert_eq!((ra.entries, rb.entries), (41, 8));
    assert_ne!(ra.merkle_root, rb.merkle_root);
    let (ea, eb) = (
        super::open(&a, Access::ReadOnly).unwrap(),
        super::open(&b, Access::ReadOnly).unwrap(),
    );
    assert_eq!(ea.count().unwrap(), (41, 41));
    assert_eq!(eb.count().unwrap(), (8, 8));
    assert_eq!(
        ea.meta("ledger_id").unwrap(),
        Some(LedgerId([1; 16]).to_string())
    );
    assert_eq!(
        eb.meta("ledger_id").unwrap(),
        Some(LedgerId([2; 16]).to_string())
    );
    assert_eq!(eb.lookup_len(Lookup::Kind).unwrap(), 8);
    assert_eq!(eb.layout().unwrap().problems, Vec::<String>::new());
    // A writer holding alpha's head row does not hold up beta.
    let mut wa = super::open(&a, Access::ReadWrite).unwrap();
    let held = wa.begin_write().unwrap();
    let mut wb = super::open(&b, Access::ReadWrite).unwrap();
    let start = std::time::Instant::now();
    wb.write(|t| {
        assert_eq!(t.tip()?.map(|r| r.seq), Some(8));
        Ok(())
    })
    .unwrap();
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    drop(held);
}

#[test]
fn postgres_concurrent_writers_on_one_ledger_make_one_chain() {
    database("busy");
    let path = location("busy", "acme");
    drop(ledger(&path, 1, 0, 1));
    let t = parse_time("2026-07-01T00:00:00Z").unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            let path = path.clone();
            s.spawn(move || {
                let mut l = Ledger::open(&path, Access::ReadWrite).unwrap();
                for _ in 0..10 {
                    let drafts = crate::ledger::restore_drafts(3, t);
                    l.append(&key(), drafts, t, &NoProgress).unwrap();
                }
            });
        }
    });
    let report = verified(&path);
    assert!(report.ok(), "{:?}", report.findings);
    assert_eq!(report.entries, 121);
    let e = super::open(&path, Access::ReadOnly).unwrap();
    let seqs: Vec<i64> = e
        .entries_after(0, 1000)
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, (1..=121).collect::<Vec<_>>());
}
