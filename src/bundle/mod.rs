//! Export bundles: a self-contained directory that an auditor verifies without the SQLite
//! file and, by hand, without this binary.
//!
//! Implements the section "Export bundles" of `schema/FORMAT.md`. A bundle is plain files:
//!
//! ```text
//! MANIFEST        SHA-256 of every other file, sha256sum format, sorted by path
//! MANIFEST.sig    Ed25519 over MANIFEST by the exporter's key (64 raw bytes)
//! bundle.json     what the bundle holds (canonical JSON, one line)
//! checkpoint.txt  signed checkpoint of the whole ledger (§13)
//! entries.jsonl   one entry per line, in seq order (exact signed text, payload, signature)
//! keys/P.pub      each party's key (SPKI PEM), as the ledger registers it
//! matrices/M.toml the adopted matrix files, byte for byte
//! artifacts/SHA   stored artefacts (with --artifacts)
//! README.txt      how to verify, with vouch and by hand
//! ```
//!
//! A **full** bundle holds every entry of the ledger; it is verified by loading its entries
//! into a temporary ledger and running the same [`crate::ledger::verify`] as `vouch verify`,
//! so no check is written twice. A **sampled** bundle holds chosen entries (and the entries
//! needed to read them) each with an RFC 9162 inclusion proof against the checkpoint; its
//! entries are checked here, one by one.
//!
//! Everything in a bundle is either signed (entry texts, payloads by hash, the checkpoint,
//! the MANIFEST) or committed to by the signed MANIFEST, and every file has one spelling,
//! so an edited byte anywhere is a finding. A finding is a [`BundleFinding`] naming the file
//! and line; an [`Error`](crate::Error) means the directory could not be examined at all.
//!
//! This file holds the public types. The work is done in its parts: `format` (the file
//! formats); `export`, with `partial` (the directory being written), `from_ledger` (what
//! it reads from the ledger's storage) and `readme`; `verify`, with `files` (the directory
//! against the MANIFEST), `lines` (reading `entries.jsonl`), `seen` (what a pass over it
//! learns), `full` and `sample` (the two kinds of bundle) and `findings`.

mod export;
mod files;
mod findings;
mod format;
mod from_ledger;
mod full;
mod lines;
mod partial;
mod readme;
mod sample;
mod seen;
mod verify;

pub use export::export;
pub use format::{
    BundleEntry, CHECKPOINT, ENTRIES, Exporter, FORMAT, INFO, Info, MANIFEST, MANIFEST_SIG,
    MatrixFile, README, Scope, SelectionInfo, decode_line, encode_line,
};
pub use readme::{README_SCRIPT_START, describe_selection};
pub use verify::{check_checkpoint, verify};

use chrono::{DateTime, Utc};
use std::fmt;
use std::path::PathBuf;

use crate::crypto::{Fingerprint, PublicKey};
use crate::format::merkle::Hash;
use crate::period::Period;

/// Lines read, checked and written per step (memory stays flat in ledger size).
const CHUNK: usize = 8192;

// ---- findings ------------------------------------------------------------------------------

/// One problem with a bundle: the file, line and entry it concerns, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFinding {
    /// The file, relative to the bundle directory.
    pub file: String,
    /// 1-based line of that file, when the problem is on one line.
    pub line: Option<u64>,
    /// The entry concerned, when there is one.
    pub seq: Option<u64>,
    /// Which check failed (`manifest`, `file`, `signature`, `proof`, …; for entries, the
    /// [`Check`](crate::ledger::verify::Check) of `vouch verify` in lowercase).
    pub check: String,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for BundleFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(l) = self.line {
            write!(f, " line {l}")?;
        }
        if let Some(s) = self.seq {
            write!(f, ": entry {s}")?;
        }
        write!(f, ": {}", self.what)
    }
}

// ---- export --------------------------------------------------------------------------------

/// Which entries a bundle holds: everything (the default), or a sample.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--seq`: these entries.
    pub seqs: Vec<u64>,
    /// `--items`: entries about these items (evidence, waivers, delegations).
    pub items: Vec<String>,
    /// `--period`: evidence performed in this period (waivers and delegations always).
    pub period: Option<Period>,
}

impl Selection {
    /// No selection: the whole ledger.
    pub fn is_full(&self) -> bool {
        self.seqs.is_empty() && self.items.is_empty() && self.period.is_none()
    }
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The entries.
    pub selection: Selection,
    /// Include stored artefacts.
    pub artifacts: bool,
    /// The export time (`bundle.json` `created`).
    pub now: DateTime<Utc>,
}

/// What [`export`] did.
#[derive(Debug)]
pub enum Export {
    /// The bundle was written.
    Written(Exported),
    /// The ledger does not verify; nothing was written.
    Refused(Box<crate::ledger::verify::Report>),
}

/// A written bundle.
#[derive(Debug, Clone)]
pub struct Exported {
    /// Its directory.
    pub dir: PathBuf,
    /// Full or sample.
    pub scope: Scope,
    /// The ledger id.
    pub ledger_id: String,
    /// The checkpoint's size (the ledger's entries when it was verified).
    pub size: u64,
    /// The checkpoint's root.
    pub root: Hash,
    /// Lines of `entries.jsonl`.
    pub entries: u64,
    /// Sampled bundles: entries the selection chose (the others are context).
    pub chosen: u64,
    /// The exporter's party.
    pub party: String,
    /// The exporter's key.
    pub fingerprint: Fingerprint,
    /// Key files.
    pub keys: usize,
    /// Matrix files.
    pub matrices: usize,
    /// Artefact files.
    pub artifacts: usize,
    /// All files, MANIFEST and MANIFEST.sig included.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
}

// ---- verify --------------------------------------------------------------------------------

/// How to verify a bundle.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Pinned key fingerprints: every registered key must be one of them, and only they are
    /// trusted to sign the checkpoint and MANIFEST. Without pins, the keys the bundle's
    /// entries register are used (self-consistency only).
    pub trust: Option<Vec<Fingerprint>>,
    /// Report every problem with the entries, not just the first.
    pub all: bool,
}

/// A party key as the bundle's entries register it: with the party (`genesis`, `party`) or
/// by a `key-rotation` entry.
#[derive(Debug, Clone)]
pub struct BundleParty {
    /// Party id.
    pub id: String,
    /// Role.
    pub role: String,
    /// Key.
    pub key: PublicKey,
    /// Registering entry.
    pub seq: u64,
    /// Registered by a `key-rotation` entry.
    pub rotated: bool,
    /// The `key-rotation` entry that retired it.
    pub retired_by: Option<u64>,
}

impl BundleParty {
    /// Its file: `keys/<party>.pub` for the key registered with the party,
    /// `keys/<party>.<seq>.pub` for one a rotation (entry `seq`) registered.
    pub fn file(&self) -> String {
        format::key_file(&self.id, self.rotated.then_some(self.seq))
    }
}

/// The outcome of verifying a bundle.
#[derive(Debug, Clone, Default)]
pub struct BundleReport {
    /// `bundle.json`, if it could be read.
    pub info: Option<Info>,
    /// Lines of `entries.jsonl` read.
    pub entries: u64,
    /// Signatures checked.
    pub signatures: u64,
    /// Full bundles: the newest entry (seq, hash).
    pub head: Option<(u64, Hash)>,
    /// Full bundles: the Merkle root of the entries (when they form entries 1 … n).
    pub root: Option<Hash>,
    /// The checkpoint's size and root, if it could be read.
    pub checkpoint: Option<(u64, Hash)>,
    /// Trusted keys whose checkpoint signature verified: party and fingerprint.
    pub checkpoint_signers: Vec<(String, Fingerprint)>,
    /// Files MANIFEST lists.
    pub manifest_files: usize,
    /// Who signed MANIFEST, if the signature verified.
    pub manifest_signer: Option<(String, Fingerprint)>,
    /// Matrix files checked.
    pub matrices: usize,
    /// Artefact files checked.
    pub artifacts: usize,
    /// Sampled bundles: inclusion proofs that verified.
    pub proofs: u64,
    /// Whether keys were pinned.
    pub pinned: bool,
    /// Pinned keys no party of the bundle uses.
    pub unused_pins: Vec<Fingerprint>,
    /// Parties registered, in order.
    pub parties: Vec<BundleParty>,
    /// Problems, lowest level first within a file.
    pub findings: Vec<BundleFinding>,
    /// Whether problems with the entries were left out (only the first is kept without
    /// [`VerifyOptions::all`]; every entry is still checked).
    pub stopped_early: bool,
}

impl BundleReport {
    /// No problem found.
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }

    /// Full or sample, if known.
    pub fn scope(&self) -> Option<Scope> {
        self.info.as_ref().map(|i| i.scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example line of FORMAT.md ("Export bundles"): entry 3 of the test vectors.
    #[test]
    fn vector_entry_line() {
        let v = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/");
        let read = |f: &str| std::fs::read(format!("{v}{f}")).unwrap();
        let line = encode_line(
            3,
            &read("entry-3.txt"),
            &read("entry-3.sig"),
            &read("payload-3.json"),
            None,
        )
        .unwrap();
        let want = concat!(
            r#"{"entry":"vouch/v1 entry\nledger: 0123456789abcdef0123456789abcdef\nseq: 3\n"#,
            r#"prev: de2154bf62c6a8853da3e1c8e8a33b4e9922216cd3ed69860a7ef2fd97004d80\n"#,
            r#"time: 2026-07-15T09:30:00Z\nkind: evidence\n"#,
            r#"signer: 1abcf5bee90ba43a3cc662e186831d8fc0cc9a043376b920af6bd07665347649\n"#,
            r#"payload: 01bce7efcde4f5c481a32a893dbb13d68a739e94657309f74336075265a77a87\n","#,
            r#""payload":"{\"artifacts\":[{\"name\":\"restore-2026-07-15.log\","#,
            r#"\"sha256\":\"848e68eb50982e0704e608c0cc6965bfdbde50a0f2c5cfd2268db824593b2356\","#,
            r#"\"size\":72,\"stored\":false}],\"fields\":{\"backup_id\":\"bk-2026-07-14\","#,
            r#"\"data_verified\":true,\"rto_minutes\":41},\"item\":\"backup.restore-tests\","#,
            r#"\"kind\":\"restore-test\",\"note\":\"quarterly restore test, Zürich site\","#,
            r#"\"outcome\":\"pass\",\"performed_at\":\"2026-07-15T08:00:00Z\"}","seq":3,"#,
            r#""signature":"flpHmmEUQsOM7+gbHeTv2cWP1KBgI+4STy/zZLIjCPN1uZLHxtx4cifbA1ykONDjRHFUwdCNT3MnljJayb6FBg=="}"#,
            "\n"
        );
        assert_eq!(String::from_utf8(line.clone()).unwrap(), want);
        let back = decode_line(&line[..line.len() - 1]).unwrap();
        assert_eq!(back.body, read("entry-3.txt"));
        assert_eq!(back.payload, read("payload-3.json"));
        assert_eq!(back.signature, read("entry-3.sig"));
    }
}
