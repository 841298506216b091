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
//! and line; an [`Error`] means the directory could not be examined at all.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::fs::{self, File};
use std::io::{BufRead as _, BufReader, BufWriter, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use crate::attestation::status::Period;
use crate::crypto::{self, Fingerprint, Hasher, PublicKey, SecretKey};
use crate::error::{Error, Result};
use crate::format::checkpoint::{Checkpoint, Note, vouch_verifier};
use crate::format::entry::{
    EntryHeader, Kind, LedgerId, ZERO_HASH, format_time, parse_time, raw_value,
};
use crate::format::merkle::{self, Hash, MemoryTree};
use crate::format::payload::{
    self, AdoptionPayload, CosignPayload, DelegationPayload, EvidencePayload, MAX_SAFE_INT,
    PartyPayload, PeriodRef, RetractionPayload, Role, SignoffPayload, WaiverPayload,
};
use crate::ledger::Access;
use crate::ledger::store::{self, Engine as Store, EntryRow, KeyRow, PartyRow};
use crate::ledger::verify::{self, Check, Options};
use crate::ledger::{Ledger, NoProgress, Progress, check_party_id};

/// The format line of `bundle.json`.
pub const FORMAT: &str = "vouch/v1 bundle";
/// The file list.
pub const MANIFEST: &str = "MANIFEST";
/// The exporter's signature over [`MANIFEST`].
pub const MANIFEST_SIG: &str = "MANIFEST.sig";
/// What the bundle holds.
pub const INFO: &str = "bundle.json";
/// The signed checkpoint.
pub const CHECKPOINT: &str = "checkpoint.txt";
/// The entries.
pub const ENTRIES: &str = "entries.jsonl";
/// The verify steps.
pub const README: &str = "README.txt";

/// Lines read, checked and written per step (memory stays flat in ledger size).
const CHUNK: usize = 8192;
/// Signatures per batch verification.
const BATCH: usize = 2048;
/// Longest line of `entries.jsonl` read (an entry text is at most 512 bytes; a payload with
/// a long note and many fields a few kB; a proof at most 64 hashes).
const MAX_LINE: usize = 16 << 20;
/// Largest file other than `entries.jsonl` and artefacts read into memory.
const MAX_SMALL_FILE: u64 = 64 << 20;
/// Below this share of the ledger, a sample reads its entries one by one instead of
/// scanning the ledger.
const POINT_READS: u64 = 64;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

// ---- entries.jsonl -------------------------------------------------------------------------

/// One line of `entries.jsonl`, as written: members in RFC 8785 order (entry, payload,
/// proof, seq, signature). serde_json's compact output of these strings and integers is
/// exactly RFC 8785 (minimal escapes, lowercase `\u00xx`), as for payloads (§4).
#[derive(Serialize)]
struct LineOut<'a> {
    entry: &'a str,
    payload: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    proof: Option<&'a [String]>,
    seq: u64,
    signature: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineIn {
    entry: String,
    payload: String,
    #[serde(default)]
    proof: Option<Vec<String>>,
    seq: u64,
    signature: String,
}

/// One entry of a bundle, decoded from its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleEntry {
    /// The `seq` member (checked against the signed `seq:` line).
    pub seq: u64,
    /// The exact entry text.
    pub body: Vec<u8>,
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// The exact payload bytes.
    pub payload: Vec<u8>,
    /// Sampled bundles: the inclusion proof of the entry in the checkpoint's tree.
    pub proof: Option<Vec<Hash>>,
}

/// Encode one line of `entries.jsonl` (with its final LF).
pub fn encode_line(
    seq: u64,
    body: &[u8],
    signature: &[u8],
    payload: &[u8],
    proof: Option<&[Hash]>,
) -> Result<Vec<u8>> {
    let entry = std::str::from_utf8(body)
        .map_err(|_| Error::new(format!("entry {seq}: the entry text is not UTF-8")))?;
    let payload = std::str::from_utf8(payload)
        .map_err(|_| Error::new(format!("entry {seq}: the payload is not UTF-8")))?;
    let signature = B64.encode(signature);
    let proof: Option<Vec<String>> = proof.map(|p| p.iter().map(hex::encode).collect());
    let line = LineOut {
        entry,
        payload,
        proof: proof.as_deref(),
        seq,
        signature: &signature,
    };
    let mut out = serde_json::to_vec(&line).map_err(|e| Error::new(format!("entry {seq}: {e}")))?;
    out.push(b'\n');
    Ok(out)
}

/// Decode one line of `entries.jsonl` (without its LF), accepting only the spelling
/// [`encode_line`] writes.
pub fn decode_line(line: &[u8]) -> Result<BundleEntry, String> {
    let l: LineIn = serde_json::from_slice(line).map_err(|e| format!("not an entry line: {e}"))?;
    let again = serde_json::to_vec(&LineOut {
        entry: &l.entry,
        payload: &l.payload,
        proof: l.proof.as_deref(),
        seq: l.seq,
        signature: &l.signature,
    })
    .map_err(|e| e.to_string())?;
    if again != line {
        return Err(
            "the line is not in its one spelling (RFC 8785: members entry, payload, \
                    proof, seq, signature in that order, no spaces, minimal escapes)"
                .into(),
        );
    }
    if l.seq == 0 || l.seq > MAX_SAFE_INT as u64 {
        return Err(format!("seq {} is out of range", l.seq));
    }
    let signature = B64
        .decode(&l.signature)
        .ok()
        .filter(|s| B64.encode(s) == l.signature)
        .ok_or("signature is not canonical standard base64 (RFC 4648 §4, padded)")?;
    let proof = match l.proof {
        None => None,
        Some(p) if p.len() > 64 => {
            return Err(format!("proof has {} hashes; at most 64", p.len()));
        }
        Some(p) => Some(
            p.iter()
                .enumerate()
                .map(|(i, h)| {
                    crypto::decode_lower_hex::<32>(h.as_bytes()).ok_or_else(|| {
                        format!("proof hash {} is not 64 lowercase hex digits", i + 1)
                    })
                })
                .collect::<Result<Vec<_>, String>>()?,
        ),
    };
    Ok(BundleEntry {
        seq: l.seq,
        body: l.entry.into_bytes(),
        signature,
        payload: l.payload.into_bytes(),
        proof,
    })
}

// ---- bundle.json ---------------------------------------------------------------------------

/// Whether the bundle holds the whole ledger or chosen entries with inclusion proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Every entry, 1 … checkpoint size.
    Full,
    /// Chosen entries (and the entries needed to read them), each with an inclusion proof.
    Sample,
}

impl Scope {
    /// The spelling in `bundle.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Full => "full",
            Scope::Sample => "sample",
        }
    }
}

/// `bundle.json`: what the bundle holds. Canonical JSON (RFC 8785), one line, LF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Info {
    /// Whether stored artefacts are included (`artifacts/`).
    pub artifacts: bool,
    /// When the bundle was written (§1 time spelling).
    pub created: String,
    /// Number of lines of `entries.jsonl`.
    pub entries: u64,
    /// Who signed `checkpoint.txt` and `MANIFEST.sig`.
    pub exporter: Exporter,
    /// [`FORMAT`].
    pub format: String,
    /// The ledger id.
    pub ledger: String,
    /// The matrix files, sorted by file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matrices: Vec<MatrixFile>,
    /// Full or sample.
    pub scope: Scope,
    /// Sampled bundles: what was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<SelectionInfo>,
}

/// The exporter: its party and key fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exporter {
    /// Key fingerprint (64 hex).
    pub fingerprint: String,
    /// Party id.
    pub party: String,
}

/// One matrix file and the SHA-256 the adoption entries sign for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixFile {
    /// Path in the bundle (`matrices/NAME.toml`).
    pub file: String,
    /// SHA-256 of its exact bytes.
    pub sha256: String,
}

/// A sampled bundle's selection, as asked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectionInfo {
    /// `--items`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<String>,
    /// `--period`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<PeriodRef>,
    /// `--seq`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seq: Vec<u64>,
}

impl Info {
    fn encode(&self) -> Result<Vec<u8>> {
        let mut b = payload::encode(self)?;
        b.push(b'\n');
        Ok(b)
    }

    fn decode(bytes: &[u8]) -> Result<Info, String> {
        let body = bytes
            .strip_suffix(b"\n")
            .ok_or("does not end in a newline")?;
        let info: Info =
            serde_json::from_slice(body).map_err(|e| format!("cannot be read: {e}"))?;
        if info.encode().ok().as_deref() != Some(bytes) {
            return Err("is not in its one spelling (canonical JSON, RFC 8785, one line)".into());
        }
        Ok(info)
    }
}

// ---- MANIFEST ------------------------------------------------------------------------------

/// A path a bundle may hold: `/`-separated names of `[A-Za-z0-9._-]`, not starting with a
/// dot, at most two deep.
fn valid_path(p: &str) -> bool {
    let parts: Vec<&str> = p.split('/').collect();
    parts.len() <= 2
        && p.len() <= 255
        && parts.iter().all(|c| {
            !c.is_empty()
                && !c.starts_with('.')
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
}

fn manifest_text(files: &BTreeMap<String, Hash>) -> String {
    files
        .iter()
        .map(|(p, h)| format!("{}  {p}\n", hex::encode(h)))
        .collect()
}

/// One line of the MANIFEST.
struct Listed {
    line: u64,
    hash: Hash,
}

/// Parse the MANIFEST strictly; problems are findings (the file is part of what is
/// verified), and well-formed lines are still used.
fn parse_manifest(bytes: &[u8], out: &mut Findings) -> BTreeMap<String, Listed> {
    let mut listed = BTreeMap::new();
    let Ok(text) = std::str::from_utf8(bytes) else {
        out.file(MANIFEST, None, "manifest", "is not UTF-8 text");
        return listed;
    };
    let body = match text.strip_suffix('\n') {
        Some(b) => b,
        None if text.is_empty() => {
            out.file(MANIFEST, None, "manifest", "is empty");
            return listed;
        }
        None => {
            out.file(
                MANIFEST,
                Some(text.split('\n').count() as u64),
                "manifest",
                "does not end in a newline",
            );
            text
        }
    };
    let mut last: Option<String> = None;
    for (i, line) in body.split('\n').enumerate() {
        let no = i as u64 + 1;
        let Some((h, path)) = line.split_once("  ") else {
            out.file(
                MANIFEST,
                Some(no),
                "manifest",
                "is not '<64 hex SHA-256>  <path>' (sha256sum format)",
            );
            continue;
        };
        let Some(hash) = crypto::decode_lower_hex::<32>(h.as_bytes()) else {
            out.file(
                MANIFEST,
                Some(no),
                "manifest",
                "the SHA-256 is not 64 lowercase hex digits",
            );
            continue;
        };
        if !valid_path(path) {
            out.file(
                MANIFEST,
                Some(no),
                "manifest",
                format!("{path:?} is not a path a bundle holds"),
            );
            continue;
        }
        if path == MANIFEST || path == MANIFEST_SIG {
            out.file(
                MANIFEST,
                Some(no),
                "manifest",
                format!("lists {path}, which it cannot cover"),
            );
            continue;
        }
        if let Some(prev) = &last
            && prev.as_str() >= path
        {
            out.file(
                MANIFEST,
                Some(no),
                "manifest",
                format!("{path} is out of order or listed twice (paths are sorted, each once)"),
            );
            continue;
        }
        last = Some(path.to_string());
        listed.insert(path.to_string(), Listed { line: no, hash });
    }
    listed
}

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
    /// [`Check`] of `vouch verify` in lowercase).
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

#[derive(Default)]
struct Findings(Vec<BundleFinding>);

impl Findings {
    fn file(&mut self, file: &str, line: Option<u64>, check: &str, what: impl Into<String>) {
        self.0.push(BundleFinding {
            file: file.to_string(),
            line,
            seq: None,
            check: check.to_string(),
            what: what.into(),
        });
    }

    fn entry(&mut self, line: Option<u64>, seq: u64, check: &str, what: impl Into<String>) {
        self.0.push(BundleFinding {
            file: ENTRIES.to_string(),
            line,
            seq: Some(seq),
            check: check.to_string(),
            what: what.into(),
        });
    }
}

fn check_name(c: Check) -> String {
    format!("{c:?}").to_lowercase()
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
    Refused(Box<verify::Report>),
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

/// A bundle being written; removed again unless [`Partial::done`] is reached, so a failed
/// export leaves nothing behind. MANIFEST is written last: a directory without it is not
/// a bundle.
struct Partial {
    dir: PathBuf,
    created_dir: bool,
    made: Vec<PathBuf>,
    manifest: BTreeMap<String, Hash>,
    bytes: u64,
    done: bool,
}

impl Drop for Partial {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if self.created_dir {
            let _ = fs::remove_dir_all(&self.dir);
        } else {
            for p in self.made.iter().rev() {
                let _ = if p.is_dir() {
                    fs::remove_dir_all(p)
                } else {
                    fs::remove_file(p)
                };
            }
        }
    }
}

/// The target must not exist, or be an empty directory. Returns whether it exists.
fn check_target(dir: &Path) -> Result<bool> {
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(dir, &e)),
        Ok(m) if m.is_dir() => {
            let mut rd = fs::read_dir(dir).map_err(|e| Error::io(dir, &e))?;
            if rd.next().is_some() {
                Err(Error::new(format!("{}: the directory is not empty", dir.display()))
                    .hint("a bundle is written into a new or empty directory; choose another --bundle"))
            } else {
                Ok(true)
            }
        }
        Ok(_) => Err(
            Error::new(format!("{}: exists and is not a directory", dir.display()))
                .hint("a bundle is written into a new or empty directory; choose another --bundle"),
        ),
    }
}

impl Partial {
    fn start(dir: &Path, exists: bool) -> Result<Partial> {
        if !exists {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).map_err(|e| Error::io(parent, &e))?;
            }
            fs::create_dir(dir).map_err(|e| Error::io(dir, &e))?;
        }
        Ok(Partial {
            dir: dir.to_path_buf(),
            created_dir: !exists,
            made: Vec::new(),
            manifest: BTreeMap::new(),
            bytes: 0,
            done: false,
        })
    }

    /// Create a new file (never over another one), making its subdirectory if needed.
    fn create(&mut self, rel: &str) -> Result<(File, PathBuf)> {
        let path = self.dir.join(rel);
        if let Some((sub, _)) = rel.split_once('/') {
            let d = self.dir.join(sub);
            if !d.exists() {
                fs::create_dir(&d).map_err(|e| Error::io(&d, &e))?;
                self.made.push(d);
            }
        }
        let f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(&path, &e))?;
        if !rel.contains('/') {
            self.made.push(path.clone());
        }
        Ok((f, path))
    }

    fn small(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        let (mut f, path) = self.create(rel)?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&path, &e))?;
        self.bytes += bytes.len() as u64;
        if rel != MANIFEST && rel != MANIFEST_SIG {
            self.manifest.insert(rel.to_string(), crypto::sha256(bytes));
        }
        Ok(())
    }
}

/// What the export pass learns from the entries it writes.
#[derive(Default)]
struct Written {
    lines: u64,
    /// Adoptions: seq and payload.
    adoptions: Vec<(u64, AdoptionPayload)>,
    /// Stored artefacts: SHA-256 → size.
    stored: BTreeMap<String, u64>,
    /// The last entry written: seq and signer fingerprint.
    last: Option<(u64, Fingerprint)>,
    /// The Merkle root of entries 1 … size.
    root: Hash,
}

/// One entry, prepared for writing (in parallel).
struct Out {
    line: Vec<u8>,
    leaf: Hash,
    seq: u64,
    signer: Option<Fingerprint>,
    adoption: Option<AdoptionPayload>,
    stored: Vec<(String, u64)>,
}

fn prepare_out(
    row: &EntryRow,
    tree: Option<&MemoryTree>,
    size: u64,
    artifacts: bool,
) -> Result<Out> {
    let seq = u64::try_from(row.seq).map_err(|_| Error::new("entry with a negative seq"))?;
    let proof = match tree {
        Some(t) => Some(merkle::inclusion_proof(t, seq - 1, size)?),
        None => None,
    };
    let line = encode_line(
        seq,
        &row.body,
        &row.signature,
        &row.payload,
        proof.as_deref(),
    )?;
    let header = EntryHeader::parse(&row.body).ok();
    let kind = header.as_ref().map(|h| h.kind);
    let err = |e: String| Error::new(format!("entry {seq}: {e}"));
    let adoption = match kind {
        Some(Kind::Adoption) => {
            Some(payload::decode::<AdoptionPayload>(&row.payload).map_err(err)?)
        }
        _ => None,
    };
    let mut stored = Vec::new();
    if artifacts && kind == Some(Kind::Evidence) && memfind(&row.payload, b"\"stored\":true") {
        let e: EvidencePayload = payload::decode(&row.payload).map_err(err)?;
        stored.extend(
            e.artifacts
                .into_iter()
                .filter(|a| a.stored)
                .map(|a| (a.sha256, a.size)),
        );
    }
    Ok(Out {
        line,
        leaf: merkle::leaf_hash(&row.body),
        seq,
        signer: header.map(|h| h.signer),
        adoption,
        stored,
    })
}

fn memfind(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The entries a sample holds, and the tree its proofs come from.
struct Sampled {
    tree: MemoryTree,
    include: Vec<bool>,
    count: u64,
    chosen: u64,
}

#[derive(Deserialize)]
struct TargetOnly {
    entry: u64,
}

#[derive(Deserialize)]
struct PerformedOnly {
    performed_at: String,
}

/// Choose the entries of a sample (FORMAT.md, "Export bundles"): the selection, every party
/// registration and key-history entry (the keys signatures are checked with), every
/// adoption, and the co-signatures and retractions of any of those.
fn select(
    store: &dyn Store,
    size: u64,
    sel: &Selection,
    progress: &dyn Progress,
) -> Result<Sampled> {
    for &s in &sel.seqs {
        if s == 0 || s > size {
            return Err(Error::new(format!(
                "--seq {s}: there is no entry {s} (the ledger has entries 1–{size})"
            )));
        }
    }
    let seqs: HashSet<u64> = sel.seqs.iter().copied().collect();
    let items: HashSet<&str> = sel.items.iter().map(String::as_str).collect();
    let filter = !(sel.items.is_empty() && sel.period.is_none());
    let n = usize::try_from(size).map_err(|_| Error::new("ledger too large"))?;
    let mut include = vec![false; n + 1];
    let mut refs: Vec<(u64, u64)> = Vec::new();
    let mut chosen = 0u64;
    let mut tree = MemoryTree::new();
    progress.start(size, "selecting");
    let mut after = 0i64;
    loop {
        let mut rows = store.entries_after(after, CHUNK)?;
        rows.retain(|r| u64::try_from(r.seq).is_ok_and(|s| s <= size));
        let Some(last) = rows.last() else { break };
        after = last.seq;
        // 0: not chosen, 1: chosen, 2: context, 3: a reference to the target.
        let class: Vec<(u8, u64)> = rows
            .par_iter()
            .map(|r| {
                let seq = u64::try_from(r.seq).unwrap_or(0);
                if seqs.contains(&seq) {
                    return (1, 0);
                }
                match r.kind.as_str() {
                    "genesis" | "party" | "adoption" | KEY_ROTATION | KEY_REVOCATION => (2, 0),
                    "cosign" | "retraction" => serde_json::from_slice::<TargetOnly>(&r.payload)
                        .map_or((0, 0), |t| (3, t.entry)),
                    "evidence" | "waiver" | "delegation" if filter => {
                        let item_ok = items.is_empty()
                            || r.item.as_deref().is_some_and(|i| items.contains(i));
                        let period_ok = match (&sel.period, r.kind.as_str()) {
                            (Some(p), "evidence") => {
                                serde_json::from_slice::<PerformedOnly>(&r.payload)
                                    .ok()
                                    .and_then(|x| parse_time(&x.performed_at))
                                    .map(|t| t.date_naive())
                                    .is_some_and(|d| p.from <= d && d <= p.to)
                            }
                            _ => true,
                        };
                        (u8::from(item_ok && period_ok), 0)
                    }
                    _ => (0, 0),
                }
            })
            .collect();
        for (r, (c, target)) in rows.iter().zip(class) {
            tree.push(&r.body);
            let seq = u64::try_from(r.seq).unwrap_or(0);
            let i = usize::try_from(seq).unwrap_or(0);
            match c {
                1 => {
                    include[i] = true;
                    chosen += 1;
                }
                2 => include[i] = true,
                3 => refs.push((seq, target)),
                _ => {}
            }
        }
        progress.advance(rows.len() as u64);
    }
    progress.finish();
    if tree.size() != size {
        return Err(Error::new(format!(
            "{}: entries 1–{size} are not all there",
            store.path().display()
        ))
        .hint("run `vouch verify`"));
    }
    if chosen == 0 {
        return Err(
            Error::new("the selection matches no entry: nothing to sample")
                .hint("check --items against `vouch matrix show`, or the --period"),
        );
    }
    for (seq, target) in refs {
        if usize::try_from(target)
            .ok()
            .and_then(|t| include.get(t))
            .copied()
            .unwrap_or(false)
            && let Ok(i) = usize::try_from(seq)
        {
            include[i] = true;
        }
    }
    let count = include.iter().filter(|b| **b).count() as u64;
    Ok(Sampled {
        tree,
        include,
        count,
        chosen,
    })
}

/// A file name for a matrix: `<id>.toml`, or `<id>-<sha256 prefix>.toml` when several
/// versions of one id are adopted, or `<sha256>.toml` for an id that is not a plain name.
fn matrix_names(adoptions: &[(u64, AdoptionPayload)]) -> Vec<MatrixFile> {
    let mut by_sha: BTreeMap<&str, &str> = BTreeMap::new();
    for (_, a) in adoptions {
        by_sha.entry(&a.matrix.sha256).or_insert(&a.matrix.id);
    }
    let mut per_id: HashMap<&str, usize> = HashMap::new();
    for id in by_sha.values() {
        *per_id.entry(id).or_default() += 1;
    }
    let plain = |id: &str| {
        id.len() <= 100
            && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && valid_path(id)
    };
    let mut out: Vec<MatrixFile> = by_sha
        .iter()
        .map(|(sha, id)| {
            let name = if !plain(id) {
                format!("{sha}.toml")
            } else if per_id.get(id).copied().unwrap_or(0) > 1 {
                format!("{id}-{}.toml", sha.get(..16).unwrap_or(sha))
            } else {
                format!("{id}.toml")
            };
            MatrixFile {
                file: format!("matrices/{name}"),
                sha256: (*sha).to_string(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

/// Every key of a (verified) ledger, from its key table: registered with its party, or by a
/// rotation (then the key it replaced is retired by that entry).
fn ledger_keys(store: &dyn Store) -> Result<Vec<BundleParty>> {
    let parties: HashMap<String, (String, i64)> = store
        .parties()?
        .into_iter()
        .map(|p| (p.id, (p.role, p.seq)))
        .collect();
    let mut out: Vec<BundleParty> = Vec::new();
    for k in store.keys()? {
        let Some((role, first)) = parties.get(&k.party) else {
            return Err(Error::new(format!("key {} has no party", k.fingerprint))
                .hint("run `vouch verify`"));
        };
        let seq = u64::try_from(k.seq).unwrap_or(0);
        let rotated = k.seq != *first;
        if rotated
            && let Some(prev) = out
                .iter_mut()
                .rev()
                .find(|p| p.id == k.party && p.retired_by.is_none())
        {
            prev.retired_by = Some(seq);
        }
        out.push(BundleParty {
            id: k.party.clone(),
            role: role.clone(),
            key: PublicKey::from_spki_base64(&k.public_key)?,
            seq,
            rotated,
            retired_by: None,
        });
    }
    Ok(out)
}

/// Export a bundle of the ledger at `ledger_path` into `dir` (which must not exist, or be
/// empty), signed by `key` (a key registered in the ledger).
///
/// The ledger is verified first (`FORMAT.md` §7): a checkpoint signature says "I verified
/// this ledger up to entry `size`". A ledger that does not verify gives
/// [`Export::Refused`] and nothing is written. On any error nothing is left behind.
pub fn export(
    ledger_path: &Path,
    dir: &Path,
    key: &SecretKey,
    opts: &ExportOptions,
    progress: &dyn Progress,
) -> Result<Export> {
    let exists = check_target(dir)?;
    let sel = &opts.selection;
    if sel.seqs.contains(&0) {
        return Err(Error::new("--seq 0: entries are numbered from 1"));
    }
    if let Some(i) = sel.items.iter().find(|i| i.trim().is_empty()) {
        return Err(Error::new(format!("--items: empty item name {i:?}")));
    }
    let ledger = Ledger::open(ledger_path, Access::ReadOnly)?;
    let id = ledger.id()?;
    let fpr = key.public().fingerprint();
    let party = ledger
        .party_of_key(&fpr)?
        .ok_or_else(|| {
            Error::new(format!(
                "key {fpr} is not registered in {}",
                ledger_path.display()
            ))
            .hint("the bundle's checkpoint is signed by a party of the ledger: --key keys/NAME.key")
        })?
        .id;
    // A retired key signs nothing after its rotation (key history): not a bundle either.
    if let Some(r) = ledger
        .store()
        .entries_of_kind(KEY_ROTATION)?
        .iter()
        .find(|r| r.signer == fpr.to_string())
    {
        return Err(Error::new(format!(
            "key {fpr} of {party} was retired by entry {}",
            r.seq
        ))
        .hint(format!("sign with {party}'s current key")));
    }
    let changed = || {
        Error::new(format!(
            "{}: the ledger's entries changed during the export",
            ledger_path.display()
        ))
        .hint("run `vouch verify`, then export again")
    };
    let store = ledger.store();
    store.begin_read()?;
    let (_, max) = store.count()?;
    let size = u64::try_from(max)
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| Error::new("the ledger has no entries"))?;
    let mut out = Partial::start(dir, exists)?;
    // The ledger is verified (FORMAT.md §7) while its entries are written: verification is
    // bound by the CPU, writing by the disk. A ledger that does not verify leaves nothing
    // behind (`out` removes what was written when it is dropped).
    let verify_opts = Options {
        trust: None,
        artifacts: opts.artifacts,
        all: false,
    };
    let (report, written) = std::thread::scope(|s| {
        let verifier = s.spawn(|| verify::verify(ledger_path, &verify_opts, progress));
        let written = write_selected(&mut out, store, size, sel, opts);
        let report = verifier
            .join()
            .unwrap_or_else(|_| Err(Error::new("internal error: the verify thread failed")));
        (report, written)
    });
    let report = report?;
    if !report.ok() {
        return Ok(Export::Refused(Box::new(report)));
    }
    let (written, sample) = written?;
    // What was written is what was verified: verify's snapshot began after the writer's,
    // so it holds at least `size` entries, and the stored tree nodes it checked give the
    // root of the first `size` of them.
    let verified = report.head.map_or(0, |(s, _)| s);
    let root = match verified.cmp(&size) {
        std::cmp::Ordering::Equal => report.merkle_root,
        std::cmp::Ordering::Greater => Some(store.merkle_root(size)?),
        std::cmp::Ordering::Less => None,
    };
    if root != Some(written.root) {
        return Err(changed());
    }
    let root = written.root;
    let scope = if sample.is_some() {
        Scope::Sample
    } else {
        Scope::Full
    };

    // Keys, as the entries register them (the derived tables agree: the ledger verified).
    let registered = ledger_keys(store)?;
    for k in &registered {
        out.small(&k.file(), k.key.to_pem().as_bytes())?;
    }
    // Matrices, byte for byte.
    let matrices = matrix_names(&written.adoptions);
    for m in &matrices {
        let bytes = store.artifact_bytes(&m.sha256)?.ok_or_else(|| {
            Error::new(format!("matrix {} is not stored in the ledger", m.sha256))
                .hint("run `vouch verify`")
        })?;
        if hex::encode(crypto::sha256(&bytes)) != m.sha256 {
            return Err(changed());
        }
        out.small(&m.file, &bytes)?;
    }
    // Artefacts, streamed.
    for (sha, size) in &written.stored {
        let rel = format!("artifacts/{sha}");
        let (f, path) = out.create(&rel)?;
        let mut w = BufWriter::new(f);
        let mut h = Hasher::default();
        let mut io_err = None;
        let got = store.read_artifact(sha, &mut |c| {
            h.update(c);
            if io_err.is_none()
                && let Err(e) = w.write_all(c)
            {
                io_err = Some(e);
            }
        })?;
        if let Some(e) = io_err {
            return Err(Error::io(&path, &e));
        }
        let f = w.into_inner().map_err(|e| Error::io(&path, e.error()))?;
        f.sync_all().map_err(|e| Error::io(&path, &e))?;
        let hash = h.finish();
        match got {
            Some((_, n)) if n == *size && hex::encode(hash) == *sha => {}
            _ => {
                return Err(Error::new(format!(
                    "stored artefact {sha} is missing or does not match its SHA-256"
                ))
                .hint("run `vouch verify --artifacts`"));
            }
        }
        out.bytes += size;
        out.manifest.insert(rel, hash);
    }
    let info = Info {
        artifacts: opts.artifacts,
        created: format_time(&opts.now),
        entries: written.lines,
        exporter: Exporter {
            fingerprint: fpr.to_string(),
            party: party.clone(),
        },
        format: FORMAT.to_string(),
        ledger: id.to_string(),
        matrices: matrices.clone(),
        scope,
        selection: sample.as_ref().map(|_| SelectionInfo {
            items: sel.items.clone(),
            period: sel.period.as_ref().map(|p| PeriodRef {
                from: p.from.to_string(),
                to: p.to.to_string(),
            }),
            seq: sel.seqs.clone(),
        }),
    };
    out.small(INFO, &info.encode()?)?;
    let note = crate::format::checkpoint::sign_vouch(&id, size, root, key)?;
    out.small(CHECKPOINT, note.to_string().as_bytes())?;
    let by_fpr: HashMap<Fingerprint, &BundleParty> = registered
        .iter()
        .map(|k| (k.key.fingerprint(), k))
        .collect();
    let example = written
        .last
        .and_then(|(seq, signer)| by_fpr.get(&signer).map(|k| (seq, k.id.clone(), k.file())));
    let exporter_file = by_fpr
        .get(&fpr)
        .map_or_else(|| key_file(&party, None), |k| k.file());
    let text = readme(&info, size, &root, &registered, &exporter_file, example);
    out.small(README, text.as_bytes())?;
    let manifest = manifest_text(&out.manifest);
    out.small(MANIFEST_SIG, &key.sign(manifest.as_bytes()))?;
    out.small(MANIFEST, manifest.as_bytes())?;
    out.done = true;
    Ok(Export::Written(Exported {
        dir: dir.to_path_buf(),
        scope,
        ledger_id: id.to_string(),
        size,
        root,
        entries: written.lines,
        chosen: sample.as_ref().map_or(written.lines, |s| s.chosen),
        party,
        fingerprint: fpr,
        keys: registered.len(),
        matrices: matrices.len(),
        artifacts: written.stored.len(),
        files: out.manifest.len() + 2,
        bytes: out.bytes,
    }))
}

/// Choose a sample's entries (if the selection asks for one), then write them.
fn write_selected(
    out: &mut Partial,
    store: &dyn Store,
    size: u64,
    sel: &Selection,
    opts: &ExportOptions,
) -> Result<(Written, Option<Sampled>)> {
    let sample = if sel.is_full() {
        None
    } else {
        Some(select(store, size, sel, &NoProgress)?)
    };
    let written = write_entries(out, store, size, sample.as_ref(), opts, &NoProgress)?;
    Ok((written, sample))
}

/// Write `entries.jsonl`: read in chunks, lines made on every core, written in order.
/// Returns, with what the entries say, the Merkle root of entries 1 … `size`: computed from
/// the texts written (full), or from the sample's tree of every text.
fn write_entries(
    out: &mut Partial,
    store: &dyn Store,
    size: u64,
    sample: Option<&Sampled>,
    opts: &ExportOptions,
    progress: &dyn Progress,
) -> Result<Written> {
    let (f, path) = out.create(ENTRIES)?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    let mut hasher = Hasher::default();
    let mut tree = merkle::Builder::new();
    let mut done = Written::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut bytes = 0u64;
    let tree_src = sample.map(|s| &s.tree);
    // A small sample reads its entries one by one; otherwise the ledger is scanned.
    let pointwise: Option<Vec<u64>> = sample.filter(|s| s.count * POINT_READS < size).map(|s| {
        s.include
            .iter()
            .enumerate()
            .filter(|(_, b)| **b)
            .map(|(i, _)| i as u64)
            .collect()
    });
    progress.start(sample.map_or(size, |s| s.count), "exporting");
    let mut after = 0i64;
    let mut next_point = 0usize;
    loop {
        let rows: Vec<EntryRow> = match &pointwise {
            Some(list) => {
                let mut rows = Vec::new();
                while rows.len() < CHUNK && next_point < list.len() {
                    let s = i64::try_from(list[next_point]).unwrap_or(i64::MAX);
                    next_point += 1;
                    rows.push(store.entry(s)?.ok_or_else(|| {
                        Error::new(format!("entry {s} changed during the export"))
                    })?);
                }
                rows
            }
            None => {
                if u64::try_from(after).is_ok_and(|a| a >= size) {
                    break;
                }
                let mut rows = store.entries_after(after, CHUNK)?;
                let Some(l) = rows.last() else { break };
                after = l.seq;
                rows.retain(|r| {
                    u64::try_from(r.seq).is_ok_and(|s| {
                        s <= size
                            && sample.is_none_or(|x| {
                                usize::try_from(s)
                                    .ok()
                                    .and_then(|i| x.include.get(i))
                                    .copied()
                                    .unwrap_or(false)
                            })
                    })
                });
                if rows.is_empty() {
                    continue;
                }
                rows
            }
        };
        if rows.is_empty() {
            break;
        }
        let prepared: Vec<Result<Out>> = rows
            .par_iter()
            .map(|r| prepare_out(r, tree_src, size, opts.artifacts))
            .collect();
        for p in prepared {
            let o = p?;
            w.write_all(&o.line).map_err(|e| Error::io(&path, &e))?;
            hasher.update(&o.line);
            bytes += o.line.len() as u64;
            if sample.is_none() {
                if o.seq != tree.size() + 1 {
                    return Err(Error::new(format!(
                        "entry {} is missing: the ledger changed during the export",
                        tree.size() + 1
                    )));
                }
                tree.push(o.leaf);
                tree.take_completed();
            }
            if let Some(a) = o.adoption {
                done.adoptions.push((o.seq, a));
            }
            for (sha, n) in o.stored {
                if seen.insert(sha.clone()) {
                    done.stored.insert(sha, n);
                }
            }
            if let Some(s) = o.signer {
                done.last = Some((o.seq, s));
            }
            done.lines += 1;
        }
        progress.advance(rows.len() as u64);
    }
    progress.finish();
    let f = w.into_inner().map_err(|e| Error::io(&path, e.error()))?;
    f.sync_all().map_err(|e| Error::io(&path, &e))?;
    done.root = match sample {
        Some(s) => merkle::root(&s.tree, size)?,
        None if tree.size() == size => tree.root(),
        None => return Err(Error::new("the ledger changed during the export")),
    };
    out.bytes += bytes;
    out.manifest.insert(ENTRIES.to_string(), hasher.finish());
    Ok(done)
}

// ---- README.txt ----------------------------------------------------------------------------

/// The script line that starts the by-hand steps; tests run README.txt from here on.
pub const README_SCRIPT_START: &str = "B=${B:-.}";

const PY_ROOT: &str = r#"python3 - "$B" <<'EOF'
import base64, hashlib, json, sys
H = lambda b: hashlib.sha256(b).digest()
def mth(a):  # RFC 6962 §2.1, over the leaf hashes a
    if len(a) == 1:
        return a[0]
    k = 1
    while 2 * k < len(a):
        k *= 2
    return H(b"\x01" + mth(a[:k]) + mth(a[k:]))
with open(sys.argv[1] + "/entries.jsonl", encoding="utf-8") as f:
    leaves = [H(b"\x00" + json.loads(line)["entry"].encode()) for line in f]
with open(sys.argv[1] + "/checkpoint.txt", encoding="utf-8") as f:
    want = f.read().split("\n")[2]
got = base64.b64encode(mth(leaves)).decode()
print("root of", len(leaves), "entries:", got, "=" if got == want else "DIFFERS FROM", want)
sys.exit(got != want)
EOF
"#;

const PY_PROOFS: &str = r#"python3 - "$B" <<'EOF'
import base64, hashlib, json, sys
H = lambda b: hashlib.sha256(b).digest()
with open(sys.argv[1] + "/checkpoint.txt", encoding="utf-8") as f:
    cp = f.read().split("\n")
size, root = int(cp[1]), base64.b64decode(cp[2])
def included(seq, leaf, proof):  # RFC 9162 §2.1.3.2
    fn, sn, r = seq - 1, size - 1, leaf
    if fn > sn:
        return False
    for p in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = H(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            r = H(b"\x01" + r + p)
        fn, sn = fn // 2, sn // 2
    return sn == 0 and r == root
bad = 0
with open(sys.argv[1] + "/entries.jsonl", encoding="utf-8") as f:
    for line in f:
        e = json.loads(line)
        ok = included(e["seq"], H(b"\x00" + e["entry"].encode()), [bytes.fromhex(p) for p in e["proof"]])
        bad += not ok
        print("entry", e["seq"], "is in the checkpoint's tree" if ok else "IS NOT PROVEN")
sys.exit(bad > 0)
EOF
"#;

fn readme(
    info: &Info,
    size: u64,
    root: &Hash,
    keys: &[BundleParty],
    exporter_file: &str,
    example: Option<(u64, String, String)>,
) -> String {
    let exporter = info.exporter.party.as_str();
    let sample = info.scope == Scope::Sample;
    let mut l: Vec<String> = vec![
        "vouch evidence bundle".into(),
        "=====================".into(),
        String::new(),
        format!("Ledger:     {}", info.ledger),
    ];
    if sample {
        l.push(format!(
            "Scope:      a sample of {} of the ledger's {size} entries, each with an inclusion",
            info.entries
        ));
        l.push(
            "            proof against the checkpoint. It proves that these entries are in the"
                .into(),
        );
        l.push(
            "            ledger; it does not show the other entries, nor that the selection".into(),
        );
        l.push("            is complete.".into());
        if let Some(sel) = &info.selection {
            l.push(format!("Selection:  {}", describe_selection(sel)));
        }
    } else {
        l.push(format!("Scope:      the whole ledger, entries 1-{size}"));
    }
    l.push(format!(
        "Checkpoint: {size} entries, Merkle root {}",
        hex::encode(root)
    ));
    l.push(format!(
        "Exported:   {} by {exporter}, key {}",
        info.created, info.exporter.fingerprint
    ));
    l.push(String::new());
    l.push(
        "The parties and their key fingerprints, as the ledger registers them. Compare them".into(),
    );
    l.push(
        "with the fingerprints the parties gave you, not with the key files in this bundle:".into(),
    );
    l.push(String::new());
    for k in keys {
        let state = match (k.rotated, k.retired_by) {
            (_, Some(r)) => format!("  (retired by entry {r})"),
            (true, None) => format!("  (since entry {})", k.seq),
            (false, None) => String::new(),
        };
        l.push(format!(
            "  {:<16} {:<12} {}{state}",
            k.id,
            k.role,
            k.key.fingerprint()
        ));
    }
    l.extend(
        [
            "",
            "Files",
            "-----",
            "",
            "  MANIFEST         SHA-256 of every other file (sha256sum format), sorted by path",
        ]
        .map(String::from),
    );
    l.push(format!(
        "  MANIFEST.sig     Ed25519 signature over MANIFEST by {exporter}'s key (64 bytes)"
    ));
    l.extend(
        [
            "  bundle.json      what the bundle holds: ledger id, scope, exporter, matrix files",
            "  checkpoint.txt   signed checkpoint (C2SP signed note): origin, size, Merkle root",
            "  entries.jsonl    one entry per line, in seq order: \"entry\" (the exact signed",
            "                   text), \"payload\" (the exact payload bytes),",
        ]
        .map(String::from),
    );
    if sample {
        l.push(
            "                   \"proof\" (the inclusion proof: hex hashes, leaf to root),".into(),
        );
    }
    l.extend(
        [
            "                   \"seq\", \"signature\" (base64 Ed25519 over the entry text)",
            "  keys/*.pub       each party key (SPKI PEM): keys/P.pub registered with party P,",
            "                   keys/P.N.pub registered by P's key rotation in entry N",
            "  matrices/*.toml  the adopted matrix files, byte for byte",
        ]
        .map(String::from),
    );
    if info.artifacts {
        l.push("  artifacts/*      the stored artefacts, each named by its SHA-256".into());
    }
    l.extend(
        [
            "  README.txt       this file",
            "",
            "The byte formats are specified in vouch's schema/FORMAT.md: entry texts §3,",
            "payloads §4, the Merkle tree §12, checkpoints §13, and \"Export bundles\".",
            "",
            "1. With vouch",
            "-------------",
            "",
            "  vouch verify --bundle DIR --trust FINGERPRINT --trust FINGERPRINT ...",
            "",
            "with the fingerprints the parties gave you. It checks every file against MANIFEST",
            "(and reports any file missing or added) and the MANIFEST signature,",
        ]
        .map(String::from),
    );
    if sample {
        l.extend(
            [
                "every entry's text, payload hash and signature against the keys the bundle's",
                "party entries register, each entry's inclusion proof against the checkpoint's",
                "root, the keys and matrix files against the entries, and the checkpoint's",
                "signature.",
            ]
            .map(String::from),
        );
    } else {
        l.extend(
            [
                "every entry's text, payload hash and signature, the hash chain and the registry",
                "rules (schema/FORMAT.md §7), the keys and matrix files against the entries, the",
                "checkpoint's signature, and that its root is the Merkle root of the entries.",
            ]
            .map(String::from),
        );
    }
    l.extend(
        [
            "Exit status 0: verified; 1: a problem was found (each names its file and line);",
            "2: the directory could not be read as a bundle.",
            "",
            "2. By hand (bash, coreutils, jq, OpenSSL 3, python3)",
            "----------------------------------------------------",
            "",
            "Run from this directory, or set B to it. Scratch files go to a temporary",
            "directory, never into the bundle (an added file is reported).",
            "",
            README_SCRIPT_START,
            "W=$(mktemp -d)",
            "# 1. every file has the SHA-256 that MANIFEST lists (files it does not list are not",
            "#    seen by sha256sum; vouch verify --bundle reports them)",
            "(cd \"$B\" && sha256sum --check --strict --quiet MANIFEST)",
        ]
        .map(String::from),
    );
    let key = format!("\"$B/{exporter_file}\"");
    l.push(format!(
        "# 2. {exporter}'s key: compare this fingerprint with the one {exporter} gave you ..."
    ));
    l.push(format!(
        "openssl pkey -pubin -in {key} -outform DER | sha256sum"
    ));
    l.push("# ... MANIFEST is signed by it".into());
    l.push(format!(
        "openssl pkeyutl -verify -pubin -inkey {key} -rawin -in \"$B/MANIFEST\" -sigfile \"$B/MANIFEST.sig\""
    ));
    l.push("# 3. the checkpoint is signed by it (schema/FORMAT.md §13.5)".into());
    l.push("head -n 3 \"$B/checkpoint.txt\" > \"$W/checkpoint-text\"".into());
    l.push(
        "sed -n 5p \"$B/checkpoint.txt\" | cut -d' ' -f3 | base64 -d | tail -c 64 > \"$W/checkpoint-sig\""
            .into(),
    );
    l.push(format!(
        "openssl pkeyutl -verify -pubin -inkey {key} -rawin -in \"$W/checkpoint-text\" -sigfile \"$W/checkpoint-sig\""
    ));
    if let Some((n, signer, file)) = &example {
        let skey = format!("\"$B/{file}\"");
        l.push(format!(
            "# 4. one entry as files, then schema/FORMAT.md §10: entry {n}, signed by {signer}"
        ));
        l.push(format!("n={n}"));
        l.push(
            "jq -j \"select(.seq == $n) | .entry\" \"$B/entries.jsonl\" > \"$W/entry.txt\"".into(),
        );
        l.push(
            "jq -j \"select(.seq == $n) | .payload\" \"$B/entries.jsonl\" > \"$W/payload.json\""
                .into(),
        );
        l.push("jq -r \"select(.seq == $n) | .signature\" \"$B/entries.jsonl\" | base64 -d > \"$W/entry.sig\"".into());
        l.push("grep -x \"payload: $(sha256sum < \"$W/payload.json\" | cut -d' ' -f1)\" \"$W/entry.txt\"".into());
        l.push(format!(
            "grep -x \"signer: $(openssl pkey -pubin -in {skey} -outform DER | sha256sum | cut -d' ' -f1)\" \"$W/entry.txt\""
        ));
        l.push(format!(
            "openssl pkeyutl -verify -pubin -inkey {skey} -rawin -in \"$W/entry.txt\" -sigfile \"$W/entry.sig\""
        ));
        if !sample && *n > 1 {
            l.push(
                "# ... and its prev: line is the SHA-256 of the entry before it (the chain)".into(),
            );
            l.push(
                "grep -x \"prev: $(jq -j \"select(.seq == $((n - 1))) | .entry\" \"$B/entries.jsonl\" | sha256sum | cut -d' ' -f1)\" \"$W/entry.txt\""
                    .into(),
            );
        }
    }
    if sample {
        l.push(
            "# 5. each entry's inclusion proof (RFC 9162 §2.1.3.2) leads to the checkpoint's root"
                .into(),
        );
        l.push(PY_PROOFS.trim_end().into());
    } else {
        l.push(
            "# 5. the Merkle root of all the entries (RFC 6962) is line 3 of checkpoint.txt".into(),
        );
        l.push(PY_ROOT.trim_end().into());
    }
    let mut s = l.join("\n");
    s.push('\n');
    s
}

/// The selection in words.
pub fn describe_selection(sel: &SelectionInfo) -> String {
    let mut parts = Vec::new();
    if !sel.seq.is_empty() {
        let list: Vec<String> = sel.seq.iter().map(ToString::to_string).collect();
        parts.push(format!("entries {}", list.join(", ")));
    }
    if !sel.items.is_empty() {
        parts.push(format!("items {}", sel.items.join(", ")));
    }
    if let Some(p) = &sel.period {
        parts.push(format!("evidence performed {} to {}", p.from, p.to));
    }
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join("; ")
    }
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
        key_file(&self.id, self.rotated.then_some(self.seq))
    }
}

fn key_file(party: &str, rotation: Option<u64>) -> String {
    match rotation {
        None => format!("keys/{party}.pub"),
        Some(seq) => format!("keys/{party}.{seq}.pub"),
    }
}

/// The spelling of the kind of key rotations (`FORMAT.md` key history). Compared as text so
/// that a bundle of a ledger with key history is read even where this module does not
/// decode the rotation member by member.
const KEY_ROTATION: &str = "key-rotation";
const KEY_REVOCATION: &str = "key-revocation";

#[derive(Deserialize)]
struct RotationKey {
    public_key: String,
}

/// The new key a `key-rotation` payload names, if it reads.
fn rotation_key(payload: &[u8]) -> Option<PublicKey> {
    serde_json::from_slice::<RotationKey>(payload)
        .ok()
        .and_then(|r| PublicKey::from_spki_base64(&r.public_key).ok())
}

/// The keys the entries register, in order, as a walk over them finds them.
#[derive(Default)]
struct KeyBook {
    keys: Vec<BundleParty>,
    by_fpr: HashMap<Fingerprint, usize>,
    roles: HashMap<String, Role>,
}

impl KeyBook {
    fn get(&self, f: &Fingerprint) -> Option<&BundleParty> {
        self.by_fpr.get(f).map(|&i| &self.keys[i])
    }

    /// A party and its first key.
    fn register(&mut self, p: &PartyPayload, key: PublicKey, seq: u64) -> Result<(), String> {
        let fpr = key.fingerprint();
        if self.roles.contains_key(&p.id) {
            return Err(format!("party {:?} is registered twice", p.id));
        }
        if self.by_fpr.contains_key(&fpr) {
            return Err(format!("key {fpr} is registered twice"));
        }
        self.roles.insert(p.id.clone(), p.role);
        self.by_fpr.insert(fpr, self.keys.len());
        self.keys.push(BundleParty {
            id: p.id.clone(),
            role: p.role.as_str().to_string(),
            key,
            seq,
            rotated: false,
            retired_by: None,
        });
        Ok(())
    }

    /// A rotation signed by `signer`: `key` becomes its party's key, `signer` is retired.
    fn rotate(&mut self, signer: &Fingerprint, key: PublicKey, seq: u64) -> Result<(), String> {
        let fpr = key.fingerprint();
        let Some(&i) = self.by_fpr.get(signer) else {
            return Err(format!(
                "rotation signed by key {signer}, which is not registered"
            ));
        };
        if self.by_fpr.contains_key(&fpr) {
            return Err(format!("key {fpr} is registered twice"));
        }
        self.keys[i].retired_by.get_or_insert(seq);
        let (id, role) = (self.keys[i].id.clone(), self.keys[i].role.clone());
        self.by_fpr.insert(fpr, self.keys.len());
        self.keys.push(BundleParty {
            id,
            role,
            key,
            seq,
            rotated: true,
            retired_by: None,
        });
        Ok(())
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

/// A verified full bundle against a checkpoint held outside it (`FORMAT.md` §13.7, with
/// the bundle in place of the ledger): signatures are checked against the bundle's party
/// keys (only the pinned ones when `pins` is given), and the Merkle root of the bundle's
/// first `size` entries is recomputed from `entries.jsonl`.
///
/// # Errors
///
/// A malformed note, a checkpoint of another ledger, a sampled bundle (it does not hold
/// every entry), or an unreadable `entries.jsonl`.
pub fn check_checkpoint(
    dir: &Path,
    report: &BundleReport,
    note_text: &str,
    pins: Option<&[Fingerprint]>,
) -> Result<crate::ledger::checkpoints::CheckpointCheck> {
    use crate::ledger::checkpoints::{Subject, check_note};
    let info = report
        .info
        .as_ref()
        .ok_or_else(|| Error::new("the bundle has no readable bundle.json"))?;
    if info.scope != Scope::Full {
        return Err(Error::new(
            "a sampled bundle holds only some entries: it cannot be checked against a checkpoint",
        )
        .hint("export the whole ledger (vouch export --bundle DIR --key K, without --period, --items or --seq)"));
    }
    let id = LedgerId::parse(&info.ledger).ok_or_else(|| {
        Error::new(format!(
            "bundle.json: ledger id {:?} is malformed",
            info.ledger
        ))
    })?;
    let subject = Subject {
        ledger: &id,
        name: "this bundle's ledger",
        keys_name: "a key of this bundle's parties",
        keys: report
            .parties
            .iter()
            .map(|p| (p.id.clone(), p.key))
            .collect(),
        entries: report.entries,
    };
    check_note(&subject, note_text, pins, |size| {
        let path = dir.join(ENTRIES);
        let file = File::open(&path).map_err(|e| Error::io(&path, &e))?;
        let mut tree = merkle::Builder::new();
        for (n, line) in BufReader::new(file)
            .split(b'\n')
            .take(usize::try_from(size).unwrap_or(usize::MAX))
            .enumerate()
        {
            let line = line.map_err(|e| Error::io(&path, &e))?;
            let e = decode_line(&line)
                .map_err(|w| Error::new(format!("{ENTRIES} line {}: {w}", n + 1)))?;
            tree.push(merkle::leaf_hash(&e.body));
        }
        Ok(tree.root())
    })
}

/// What a pass over `entries.jsonl` learns.
#[derive(Default)]
struct Seen {
    hash: Option<Hash>,
    lines: u64,
    /// (seq, line), in order: to name the line of an entry.
    line_of: Vec<(u64, u64)>,
    adoptions: Vec<(u64, AdoptionPayload)>,
    /// Stored artefacts the evidence names: SHA-256 → (seq, line, name, size).
    stored: BTreeMap<String, (u64, u64, String, u64)>,
    /// Sampled bundles: which lines carried a proof, which did not.
    with_proof: u64,
    /// The keys the entries register.
    book: KeyBook,
}

impl Seen {
    fn line(&self, seq: u64) -> Option<u64> {
        self.line_of
            .binary_search_by_key(&seq, |(s, _)| *s)
            .ok()
            .map(|i| self.line_of[i].1)
    }
}

/// Files read from the bundle: small ones whole, artefacts as hash and size.
#[derive(Default)]
struct Files {
    present: BTreeSet<String>,
    small: HashMap<String, Vec<u8>>,
    hashes: HashMap<String, Hash>,
    sizes: HashMap<String, u64>,
    missing: HashSet<String>,
}

fn walk(root: &Path, rel: &str, depth: usize, files: &mut Files, out: &mut Findings) -> Result<()> {
    let at = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let rd = fs::read_dir(&at).map_err(|e| Error::io(&at, &e))?;
    let mut names = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(&at, &e))?;
        names.push((
            ent.file_name(),
            ent.file_type().map_err(|e| Error::io(&at, &e))?,
        ));
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, ft) in names {
        let shown = name.to_string_lossy();
        let relp = if rel.is_empty() {
            shown.to_string()
        } else {
            format!("{rel}/{shown}")
        };
        if name.to_str().is_none() {
            out.file(&relp, None, "file", "the file name is not UTF-8");
        } else if ft.is_symlink() {
            out.file(
                &relp,
                None,
                "file",
                "is a symbolic link: a bundle holds regular files only",
            );
        } else if ft.is_dir() {
            if depth == 0 {
                walk(root, &relp, depth + 1, files, out)?;
            } else {
                out.file(&relp, None, "file", "is a directory a bundle does not have");
            }
        } else if ft.is_file() {
            files.present.insert(relp);
        } else {
            out.file(&relp, None, "file", "is not a regular file");
        }
    }
    Ok(())
}

/// Whether a path is one a bundle holds, by name.
fn known_path(p: &str) -> bool {
    if [MANIFEST, MANIFEST_SIG, INFO, CHECKPOINT, ENTRIES, README].contains(&p) {
        return true;
    }
    match p.split_once('/') {
        Some(("keys", n)) => n.ends_with(".pub") && valid_path(p),
        Some(("matrices", n)) => n.ends_with(".toml") && valid_path(p),
        Some(("artifacts", n)) => crypto::parse_hex32(n).is_some(),
        _ => false,
    }
}

fn read_files(dir: &Path, files: &mut Files, out: &mut Findings) -> Result<()> {
    let list: Vec<String> = files.present.iter().cloned().collect();
    for rel in list {
        if rel == ENTRIES || rel == MANIFEST {
            continue;
        }
        let path = dir.join(&rel);
        let mut f = File::open(&path).map_err(|e| Error::io(&path, &e))?;
        if rel.starts_with("artifacts/") {
            let mut h = Hasher::default();
            let mut buf = vec![0u8; 1 << 16];
            let mut n = 0u64;
            loop {
                let k = f.read(&mut buf).map_err(|e| Error::io(&path, &e))?;
                if k == 0 {
                    break;
                }
                n += k as u64;
                h.update(&buf[..k]);
            }
            files.hashes.insert(rel.clone(), h.finish());
            files.sizes.insert(rel, n);
            continue;
        }
        let len = f.metadata().map_err(|e| Error::io(&path, &e))?.len();
        if len > MAX_SMALL_FILE {
            out.file(
                &rel,
                None,
                "file",
                format!("is {len} bytes; a bundle's {rel} is far smaller"),
            );
            continue;
        }
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)
            .map_err(|e| Error::io(&path, &e))?;
        files.hashes.insert(rel.clone(), crypto::sha256(&bytes));
        files.sizes.insert(rel.clone(), bytes.len() as u64);
        files.small.insert(rel, bytes);
    }
    Ok(())
}

/// Verify the bundle in `dir`.
///
/// `Err` only when the directory cannot be examined: it does not exist, is not a
/// directory, has no MANIFEST (it is not a bundle), its `bundle.json` names a newer format,
/// or a file cannot be read. Everything else is a finding in the report.
pub fn verify(dir: &Path, opts: &VerifyOptions, progress: &dyn Progress) -> Result<BundleReport> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::new(format!("{} is not a directory", dir.display()))
                .hint("a bundle is the directory `vouch export --bundle DIR` wrote"));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::new(format!("no bundle at {}", dir.display())));
        }
        Err(e) => return Err(Error::io(dir, &e)),
    }
    let manifest_path = dir.join(MANIFEST);
    let manifest = match fs::read(&manifest_path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::new(format!(
                "{}: no MANIFEST: not a vouch bundle (or one whose MANIFEST was removed)",
                dir.display()
            ))
            .hint("a bundle is the directory `vouch export --bundle DIR` wrote; MANIFEST is written last"));
        }
        Err(e) => return Err(Error::io(&manifest_path, &e)),
    };
    let mut out = Findings::default();
    let mut report = BundleReport {
        pinned: opts.trust.is_some(),
        ..BundleReport::default()
    };
    let listed = parse_manifest(&manifest, &mut out);
    report.manifest_files = listed.len();
    let mut files = Files::default();
    walk(dir, "", 0, &mut files, &mut out)?;
    for (path, l) in &listed {
        if !files.present.contains(path) {
            out.file(
                path,
                None,
                "file",
                format!("missing (MANIFEST line {} lists it)", l.line),
            );
            files.missing.insert(path.clone());
        }
    }
    for p in &files.present {
        if !known_path(p) {
            out.file(p, None, "file", "is not a file a vouch bundle has");
        } else if p != MANIFEST && p != MANIFEST_SIG && !listed.contains_key(p) {
            out.file(p, None, "file", "is not listed in MANIFEST");
        }
    }
    for req in [MANIFEST_SIG, INFO, CHECKPOINT, ENTRIES, README] {
        if !files.present.contains(req) && !files.missing.contains(req) {
            out.file(req, None, "file", "missing");
            files.missing.insert(req.to_string());
        }
    }
    read_files(dir, &mut files, &mut out)?;
    let compare = |path: &str, got: &Hash, out: &mut Findings| {
        if let Some(l) = listed.get(path)
            && l.hash != *got
        {
            out.file(
                path,
                None,
                "manifest",
                format!(
                    "its SHA-256 is not the one MANIFEST line {} lists (edited?)",
                    l.line
                ),
            );
        }
    };
    for (p, h) in &files.hashes {
        compare(p, h, &mut out);
    }

    // bundle.json: without it nothing else can be interpreted.
    let Some(info) = files.small.get(INFO).map(|b| Info::decode(b)) else {
        report.findings = out.0;
        return Ok(report);
    };
    let info = match info {
        Ok(i) => i,
        Err(e) => {
            out.file(INFO, None, "format", e);
            report.findings = out.0;
            return Ok(report);
        }
    };
    if info.format != FORMAT {
        if info.format.starts_with("vouch/") && info.format.ends_with(" bundle") {
            return Err(Error::new(format!(
                "{}: bundle format {:?} is not one this vouch reads ({FORMAT:?})",
                dir.join(INFO).display(),
                info.format
            ))
            .hint("use a vouch version that reads it"));
        }
        out.file(
            INFO,
            None,
            "format",
            format!("format {:?} is not {FORMAT:?}", info.format),
        );
    }
    let Some(ledger) = LedgerId::parse(&info.ledger) else {
        out.file(
            INFO,
            None,
            "format",
            format!("ledger id {:?} is not 32 lowercase hex digits", info.ledger),
        );
        report.info = Some(info);
        report.findings = out.0;
        return Ok(report);
    };
    if parse_time(&info.created).is_none() {
        out.file(
            INFO,
            None,
            "format",
            format!(
                "created {:?} is not a time (YYYY-MM-DDTHH:MM:SSZ)",
                info.created
            ),
        );
    }
    if (info.scope == Scope::Sample) != info.selection.is_some() {
        out.file(
            INFO,
            None,
            "format",
            "a sampled bundle, and only one, names its selection",
        );
    }

    // The checkpoint's text (its signature is checked once the keys are known).
    let note = files.small.get(CHECKPOINT).and_then(|b| {
        let parsed = std::str::from_utf8(b)
            .map_err(|_| Error::new("is not UTF-8 text"))
            .and_then(Note::parse)
            .and_then(|n| Checkpoint::parse_vouch(&n.text, &ledger).map(|c| (n, c)));
        match parsed {
            Ok(x) => Some(x),
            Err(e) => {
                out.file(CHECKPOINT, None, "checkpoint", e.message());
                None
            }
        }
    });
    report.checkpoint = note.as_ref().map(|(_, c)| (c.size, c.root));

    // The matrix files, by the SHA-256 bundle.json gives them.
    let mut matrix_sha: HashMap<String, (&str, Hash)> = HashMap::new();
    for m in &info.matrices {
        if !(m.file.starts_with("matrices/") && m.file.ends_with(".toml") && valid_path(&m.file)) {
            out.file(
                INFO,
                None,
                "format",
                format!("matrix file {:?} is not matrices/NAME.toml", m.file),
            );
            continue;
        }
        if let Some(h) = files.hashes.get(&m.file) {
            matrix_sha.insert(m.sha256.clone(), (&m.file, *h));
        } else if !files.missing.contains(&m.file) {
            out.file(&m.file, None, "file", "missing (bundle.json lists it)");
        }
    }
    for p in files.present.iter().filter(|p| p.starts_with("matrices/")) {
        if !info.matrices.iter().any(|m| &m.file == p) {
            out.file(
                p,
                None,
                "matrix",
                "bundle.json does not list this matrix file",
            );
        }
    }

    let entries_present = files.present.contains(ENTRIES);
    let trust: Option<HashSet<Fingerprint>> =
        opts.trust.as_ref().map(|t| t.iter().copied().collect());
    let seen = if !entries_present {
        Seen::default()
    } else if info.scope == Scope::Full {
        let path = dir.join(ENTRIES);
        let (mut seen, v) = full_pass(&path, &info, &files, opts, progress, &mut out)?;
        report.signatures = v.signatures;
        report.head = v.head;
        report.root = v.merkle_root;
        report.unused_pins = v.unused_pins.clone();
        report.parties = std::mem::take(&mut seen.book.keys);
        // The temporary ledger's matrices are the bundle's files: a matrix finding of
        // verify is reported here once, against the file (below).
        let matrix_seqs: HashSet<u64> = seen
            .adoptions
            .iter()
            .filter(|(_, a)| {
                matrix_sha
                    .get(&a.matrix.sha256)
                    .is_none_or(|(_, h)| hex::encode(h) != a.matrix.sha256)
            })
            .map(|(s, _)| *s)
            .collect();
        for f in v.findings {
            // A bundle has no derived columns or tables: the temporary ledger's are made
            // here from the signed bytes, and any disagreement is about them, not the
            // bundle (key history, for one, is derived by verify's own rules).
            if f.check == Check::Derived {
                continue;
            }
            if f.check == Check::Reference
                && matrix_seqs.contains(&f.seq)
                && f.what.contains("matrix")
            {
                continue;
            }
            out.0.push(BundleFinding {
                file: ENTRIES.to_string(),
                line: seen.line(f.seq),
                seq: (f.seq != 0).then_some(f.seq),
                check: check_name(f.check),
                what: f.what,
            });
        }
        if let (Some((size, root)), Some(head)) = (report.checkpoint, report.head) {
            if size != head.0 {
                out.file(
                    CHECKPOINT,
                    Some(2),
                    "checkpoint",
                    format!("size {size}, but the bundle holds entries 1–{}", head.0),
                );
            } else if let Some(r) = report.root
                && r != root
            {
                out.file(
                    CHECKPOINT,
                    Some(3),
                    "checkpoint",
                    format!(
                        "root {} is not the Merkle root of the bundle's entries ({})",
                        hex::encode(root),
                        hex::encode(r)
                    ),
                );
            }
        }
        seen
    } else {
        let path = dir.join(ENTRIES);
        let cp = note.as_ref().map(|(_, c)| (c.size, c.root));
        let (seen, s) = sample_pass(
            &path,
            ledger,
            cp,
            trust.as_ref(),
            info.entries,
            progress,
            &mut out,
        )?;
        report.signatures = s.signatures;
        report.proofs = s.proofs;
        if let Some(t) = &trust {
            let mut unused: Vec<Fingerprint> = t.difference(&s.used_pins).copied().collect();
            unused.sort();
            report.unused_pins = unused;
        }
        seen
    };
    let mut seen = seen;
    if report.parties.is_empty() {
        report.parties = std::mem::take(&mut seen.book.keys);
    }
    report.entries = seen.lines;
    if let Some(h) = seen.hash {
        compare(ENTRIES, &h, &mut out);
    }
    if entries_present && seen.lines != info.entries {
        out.file(
            INFO,
            None,
            "format",
            format!(
                "says {} entries; entries.jsonl has {} lines",
                info.entries, seen.lines
            ),
        );
    }

    // The keys: registered, pinned, and the files the bundle carries.
    let by_fpr: HashMap<Fingerprint, &BundleParty> = report
        .parties
        .iter()
        .map(|p| (p.key.fingerprint(), p))
        .collect();
    let trusted: Vec<&BundleParty> = report
        .parties
        .iter()
        .filter(|p| {
            p.retired_by.is_none()
                && trust
                    .as_ref()
                    .is_none_or(|t| t.contains(&p.key.fingerprint()))
        })
        .collect();
    check_key_files(&report.parties, &files, &mut out);

    // MANIFEST.sig, by the exporter.
    let exporter = Fingerprint::parse(&info.exporter.fingerprint);
    match exporter.and_then(|f| by_fpr.get(&f).copied()) {
        None => out.file(
            INFO,
            None,
            "signature",
            format!(
                "the exporter's key {} is not registered by any entry of the bundle",
                info.exporter.fingerprint
            ),
        ),
        Some(p) => {
            if p.id != info.exporter.party {
                out.file(
                    INFO,
                    None,
                    "signature",
                    format!(
                        "the exporter's key belongs to party {:?}, not {:?}",
                        p.id, info.exporter.party
                    ),
                );
            }
            let fpr = p.key.fingerprint();
            if let Some(r) = p.retired_by {
                out.file(
                    MANIFEST_SIG,
                    None,
                    "registry",
                    format!(
                        "signed by key {fpr} (party {:?}), which entry {r} retired",
                        p.id
                    ),
                );
            } else if trust.as_ref().is_some_and(|t| !t.contains(&fpr)) {
                out.file(
                    MANIFEST_SIG,
                    None,
                    "trust",
                    format!(
                        "signed by key {fpr} (party {:?}), which is not among the trusted keys",
                        p.id
                    ),
                );
            } else if let Some(sig) = files.small.get(MANIFEST_SIG) {
                if p.key.verify(&manifest, sig) {
                    report.manifest_signer = Some((p.id.clone(), fpr));
                } else {
                    out.file(
                        MANIFEST_SIG,
                        None,
                        "signature",
                        format!(
                            "is not a signature of MANIFEST by key {fpr} (party {:?})",
                            p.id
                        ),
                    );
                }
            }
        }
    }

    // The checkpoint's signature, by a trusted key.
    if let Some((n, _)) = &note {
        let verifiers: Vec<_> = trusted
            .iter()
            .map(|p| vouch_verifier(&ledger, &p.key))
            .collect();
        match n.verify(&verifiers) {
            Ok(sigs) => {
                for s in sigs {
                    if let Some(p) = trusted
                        .iter()
                        .find(|p| vouch_verifier(&ledger, &p.key).key_id() == s.key_id)
                    {
                        report
                            .checkpoint_signers
                            .push((p.id.clone(), p.key.fingerprint()));
                    }
                }
            }
            Err(e) => {
                let mut what = e.message().to_string();
                if let Some(h) = e.hint_text() {
                    what = format!("{what} ({h})");
                }
                out.file(CHECKPOINT, None, "signature", what);
            }
        }
    }

    // Matrices against the adoptions.
    let mut used_files: HashSet<&str> = HashSet::new();
    for (seq, a) in &seen.adoptions {
        let line = seen.line(*seq);
        match matrix_sha.get(&a.matrix.sha256) {
            None => {
                if !info.matrices.iter().any(|m| m.sha256 == a.matrix.sha256) {
                    out.entry(
                        line,
                        *seq,
                        "matrix",
                        format!(
                            "adopts matrix {} version {} (sha256 {}), for which bundle.json lists no file",
                            a.matrix.id, a.matrix.version, a.matrix.sha256
                        ),
                    );
                }
            }
            Some((file, h)) => {
                used_files.insert(file);
                let size = files.sizes.get(*file).copied().unwrap_or(0);
                if hex::encode(h) != a.matrix.sha256 || size != a.matrix.size {
                    out.file(
                        file,
                        None,
                        "matrix",
                        format!(
                            "is not the matrix entry {seq} adopts ({} version {}): its SHA-256 and size differ from the signed ones",
                            a.matrix.id, a.matrix.version
                        ),
                    );
                }
            }
        }
    }
    for m in &info.matrices {
        if files.hashes.contains_key(&m.file) {
            report.matrices += 1;
            if !used_files.contains(m.file.as_str()) {
                out.file(
                    &m.file,
                    None,
                    "matrix",
                    "no adoption entry in the bundle adopts it",
                );
            }
        }
    }

    // Artefacts against the evidence.
    check_artifacts(&info, &seen, &files, &mut report, &mut out);

    if let Some(sel) = &info.selection {
        for s in &sel.seq {
            if seen.line(*s).is_none() && entries_present {
                out.file(
                    INFO,
                    None,
                    "selection",
                    format!("the selection names entry {s}, which entries.jsonl does not hold"),
                );
            }
        }
    }
    report.info = Some(info);
    report.findings = order(out.0, opts.all, &mut report.stopped_early);
    Ok(report)
}

/// Findings in the order they are reported: missing, added and edited files first (the
/// lowest level: the bytes are not the ones exported), then the rest as found. Without
/// `all`, only the first problem with an entry is kept, as `vouch verify` does.
fn order(findings: Vec<BundleFinding>, all: bool, stopped: &mut bool) -> Vec<BundleFinding> {
    let (mut first, rest): (Vec<_>, Vec<_>) = findings
        .into_iter()
        .partition(|f| f.check == "file" || f.check == "manifest");
    let mut seen_entry = false;
    for f in rest {
        if f.file == ENTRIES && (f.seq.is_some() || f.line.is_some()) {
            if seen_entry && !all {
                *stopped = true;
                continue;
            }
            seen_entry = true;
        }
        first.push(f);
    }
    first
}

fn check_key_files(parties: &[BundleParty], files: &Files, out: &mut Findings) {
    let mut expected: HashSet<String> = HashSet::new();
    for p in parties {
        if check_party_id(&p.id).is_err() {
            continue;
        }
        let rel = p.file();
        match files.small.get(&rel) {
            Some(b) if *b == p.key.to_pem().into_bytes() => {}
            Some(_) => out.file(
                &rel,
                None,
                "key",
                format!(
                    "is not the key entry {} registers for party {:?} ({})",
                    p.seq,
                    p.id,
                    p.key.fingerprint()
                ),
            ),
            None if files.missing.contains(&rel) || files.present.contains(&rel) => {}
            None => out.file(
                &rel,
                None,
                "key",
                format!(
                    "missing: entry {} registers this key of party {:?}",
                    p.seq, p.id
                ),
            ),
        }
        expected.insert(rel);
    }
    for p in files.present.iter().filter(|p| p.starts_with("keys/")) {
        if !expected.contains(p) {
            out.file(
                p,
                None,
                "key",
                "no entry in the bundle registers a key of this name",
            );
        }
    }
}

fn check_artifacts(
    info: &Info,
    seen: &Seen,
    files: &Files,
    report: &mut BundleReport,
    out: &mut Findings,
) {
    for p in files.present.iter().filter(|p| p.starts_with("artifacts/")) {
        let name = &p["artifacts/".len()..];
        let Some(h) = files.hashes.get(p) else {
            continue;
        };
        report.artifacts += 1;
        if !info.artifacts {
            out.file(
                p,
                None,
                "artifact",
                "bundle.json says the bundle holds no artefacts",
            );
        }
        if hex::encode(h) != name {
            out.file(
                p,
                None,
                "artifact",
                "its content does not hash to its name (the SHA-256 the evidence signs)",
            );
        }
        match seen.stored.get(name) {
            None => out.file(
                p,
                None,
                "artifact",
                "no evidence entry in the bundle names this artefact as stored",
            ),
            Some((seq, _, an, size)) => {
                if files.sizes.get(p) != Some(size) {
                    out.file(
                        p,
                        None,
                        "artifact",
                        format!("its size is not the {size} bytes entry {seq} signs for {an:?}"),
                    );
                }
            }
        }
    }
    if info.artifacts {
        for (sha, (seq, line, name, _)) in &seen.stored {
            let rel = format!("artifacts/{sha}");
            if !files.present.contains(&rel) && !files.missing.contains(&rel) {
                out.entry(
                    Some(*line),
                    *seq,
                    "artifact",
                    format!("artefact {name:?} (sha256 {sha}) is stored in the ledger but not in the bundle"),
                );
            }
        }
    }
}

// ---- reading entries.jsonl -----------------------------------------------------------------

type RawChunk = Vec<(u64, Vec<u8>)>;

/// Read `entries.jsonl` line by line, hashing every byte, and send the lines in chunks.
/// Returns the file's SHA-256 and the number of lines.
fn read_lines(
    path: &Path,
    tx: &mpsc::SyncSender<RawChunk>,
    out: &mut Findings,
) -> Result<(Hash, u64)> {
    let f = File::open(path).map_err(|e| Error::io(path, &e))?;
    let mut r = BufReader::with_capacity(1 << 20, f);
    let mut h = Hasher::default();
    let mut no = 0u64;
    let mut chunk: RawChunk = Vec::with_capacity(CHUNK);
    let limit = MAX_LINE as u64 + 1;
    loop {
        let mut buf = Vec::new();
        let n = (&mut r)
            .take(limit)
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io(path, &e))?;
        if n == 0 {
            break;
        }
        h.update(&buf);
        no += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.is_empty() {
                out.file(ENTRIES, Some(no), "format", "empty line");
                continue;
            }
        } else if buf.len() > MAX_LINE {
            out.file(
                ENTRIES,
                Some(no),
                "format",
                format!("line longer than {MAX_LINE} bytes"),
            );
            // Skip the rest of the line.
            loop {
                let mut rest = Vec::new();
                let k = (&mut r)
                    .take(limit)
                    .read_until(b'\n', &mut rest)
                    .map_err(|e| Error::io(path, &e))?;
                h.update(&rest);
                if k == 0 || rest.last() == Some(&b'\n') {
                    break;
                }
            }
            continue;
        } else {
            out.file(
                ENTRIES,
                Some(no),
                "format",
                "the last line does not end in a newline (cut short?)",
            );
        }
        chunk.push((no, buf));
        if chunk.len() == CHUNK {
            if tx.send(std::mem::take(&mut chunk)).is_err() {
                break;
            }
            chunk.reserve(CHUNK);
        }
    }
    if !chunk.is_empty() {
        let _ = tx.send(chunk);
    }
    Ok((h.finish(), no))
}

/// Run `consume` on the chunks of `entries.jsonl` while another thread reads and hashes
/// them.
fn stream_lines<T>(
    path: &Path,
    out: &mut Findings,
    consume: impl FnOnce(mpsc::Receiver<RawChunk>, &mut Findings) -> Result<T>,
) -> Result<(T, Hash, u64)> {
    let (tx, rx) = mpsc::sync_channel::<RawChunk>(2);
    let mut read_findings = Findings::default();
    let (res, read) = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let tx = tx;
            read_lines(path, &tx, &mut read_findings)
        });
        let res = consume(rx, out);
        let read = reader.join().unwrap_or_else(|_| {
            Err(Error::new(
                "internal error: the bundle reader thread failed",
            ))
        });
        (res, read)
    });
    let (hash, lines) = read?;
    let v = res?;
    out.0.extend(read_findings.0);
    Ok((v, hash, lines))
}

// ---- full bundles: a temporary ledger and `verify` -----------------------------------------

/// One line of a full bundle, ready to be stored.
struct Loaded {
    no: u64,
    row: EntryRow,
    seq: u64,
    leaf: Hash,
    has_proof: bool,
    party: Option<(PartyPayload, PublicKey)>,
    /// A key rotation: its signer and the new key.
    rotation: Option<(Fingerprint, PublicKey)>,
    adoption: Option<AdoptionPayload>,
    stored: Vec<(String, String, u64)>,
}

/// A chunk of lines parsed for loading: how many lines, and each line or why it does not
/// read (its line number and the problem).
type ParsedChunk = (u64, Vec<Result<Loaded, (u64, String)>>);

#[derive(Deserialize)]
struct ItemOnly {
    item: Option<String>,
}

/// Decode a line and derive the columns a ledger row has, as a writer would. Derived
/// columns are derived here from the signed bytes only, so `verify`'s comparison of them
/// cannot fail on this bundle's account; the registry mirrors what `verify` registers.
fn load_line(no: u64, bytes: &[u8]) -> Result<Loaded, (u64, String)> {
    let e = decode_line(bytes).map_err(|w| (no, w))?;
    let header = EntryHeader::parse(&e.body).ok();
    let payload_ok = header
        .as_ref()
        .is_some_and(|h| crypto::sha256(&e.payload) == h.payload);
    let kind = header.as_ref().filter(|_| payload_ok).map(|h| h.kind);
    let item = match kind {
        Some(Kind::Evidence | Kind::Waiver | Kind::Delegation) => {
            serde_json::from_slice::<ItemOnly>(&e.payload)
                .ok()
                .and_then(|i| i.item)
        }
        _ => None,
    };
    let party = match kind {
        Some(Kind::Genesis | Kind::Party) => payload::decode::<PartyPayload>(&e.payload)
            .ok()
            .and_then(|p| {
                PublicKey::from_spki_base64(&p.public_key)
                    .ok()
                    .map(|k| (p, k))
            }),
        _ => None,
    };
    let adoption = match kind {
        Some(Kind::Adoption) => payload::decode::<AdoptionPayload>(&e.payload).ok(),
        _ => None,
    };
    let rotation = match (&header, kind) {
        (Some(h), Some(k)) if k.as_str() == KEY_ROTATION => {
            rotation_key(&e.payload).map(|key| (h.signer, key))
        }
        _ => None,
    };
    let stored = match kind {
        Some(Kind::Evidence) if memfind(&e.payload, b"\"stored\":true") => {
            payload::decode::<EvidencePayload>(&e.payload)
                .map(|p| {
                    p.artifacts
                        .into_iter()
                        .filter(|a| a.stored)
                        .map(|a| (a.sha256, a.name, a.size))
                        .collect()
                })
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let lossy = |l: usize| String::from_utf8_lossy(raw_value(&e.body, l)).into_owned();
    let (time, kind, signer) = (lossy(5), lossy(6), lossy(7));
    let leaf = merkle::leaf_hash(&e.body);
    let row = EntryRow {
        seq: i64::try_from(e.seq).map_err(|_| (no, "seq out of range".to_string()))?,
        hash: crypto::sha256(&e.body).to_vec(),
        time,
        kind,
        signer,
        item,
        body: e.body,
        signature: e.signature,
        payload: e.payload,
    };
    Ok(Loaded {
        no,
        seq: e.seq,
        row,
        leaf,
        has_proof: e.proof.is_some(),
        party,
        rotation,
        adoption,
        stored,
    })
}

fn full_pass(
    path: &Path,
    info: &Info,
    files: &Files,
    opts: &VerifyOptions,
    progress: &dyn Progress,
    out: &mut Findings,
) -> Result<(Seen, verify::Report)> {
    let tmp = tempfile::Builder::new()
        .prefix("vouch-bundle-")
        .tempdir()
        .map_err(|e| Error::io(&std::env::temp_dir(), &e).context("temporary ledger"))?;
    let db = tmp.path().join("ledger.db");
    let mut store = store::create(
        &db,
        &[("ledger_id", info.ledger.as_str()), ("format", "vouch/v1")],
    )?;
    let mut seen = Seen::default();
    progress.start(info.entries, "loading");
    let ((), hash, lines) = stream_lines(path, out, |rx, out| {
        // Three stages: the reader hashes and splits lines, a second thread parses them on
        // every core, and this one inserts them (SQLite writes on one connection).
        let (ptx, prx) = mpsc::sync_channel::<ParsedChunk>(2);
        std::thread::scope(|s| {
            s.spawn(move || {
                for chunk in rx {
                    let n = chunk.len() as u64;
                    let loaded = chunk
                        .into_par_iter()
                        .map(|(no, b)| load_line(no, &b))
                        .collect();
                    if ptx.send((n, loaded)).is_err() {
                        break;
                    }
                }
            });
            insert_loaded(&mut *store, prx, info, files, &mut seen, progress, out)
        })
    })?;
    progress.finish();
    drop(store);
    seen.hash = Some(hash);
    seen.lines = lines;
    // Every problem is collected (`all`): some of verify's findings are reported against a
    // bundle file instead, and one of those must not hide the entries after it. The caller
    // keeps only the first entry problem unless asked for all.
    let report = verify::verify(
        &db,
        &Options {
            trust: opts.trust.clone(),
            artifacts: false,
            all: true,
        },
        progress,
    )?;
    Ok((seen, report))
}

/// Insert parsed lines into the temporary ledger, in one transaction, deriving its columns
/// and tables from the signed bytes (as a writer would), and learn what the bundle holds.
fn insert_loaded(
    store: &mut dyn Store,
    prx: mpsc::Receiver<ParsedChunk>,
    info: &Info,
    files: &Files,
    seen: &mut Seen,
    progress: &dyn Progress,
    out: &mut Findings,
) -> Result<()> {
    store.write(|w| {
            let mut tree = merkle::Builder::new();
            let mut last = 0u64;
            for (n, loaded) in prx {
                let mut rows = Vec::with_capacity(loaded.len());
                for l in loaded {
                    let l = match l {
                        Ok(l) => l,
                        Err((no, what)) => {
                            out.file(ENTRIES, Some(no), "format", what);
                            continue;
                        }
                    };
                    if l.has_proof {
                        out.entry(Some(l.no), l.seq, "format", "has an inclusion proof: a full bundle's lines have none");
                    }
                    if l.seq <= last {
                        out.entry(
                            Some(l.no),
                            l.seq,
                            "format",
                            format!("comes after entry {last}: lines are in increasing seq order, each entry once"),
                        );
                        continue;
                    }
                    last = l.seq;
                    seen.line_of.push((l.seq, l.no));
                    if l.seq == tree.size() + 1 {
                        tree.push(l.leaf);
                    }
                    if let Some((signer, k)) = l.rotation {
                        let _ = seen.book.rotate(&signer, k, l.seq);
                    }
                    if let Some((p, k)) = &l.party {
                        let fpr = k.fingerprint();
                        if seen.book.register(p, *k, l.seq).is_ok() {
                            w.insert_party(
                                &PartyRow {
                                    id: p.id.clone(),
                                    name: p.name.clone(),
                                    role: p.role.as_str().to_string(),
                                    seq: l.row.seq,
                                },
                                &KeyRow {
                                    fingerprint: fpr.to_string(),
                                    party: p.id.clone(),
                                    public_key: p.public_key.clone(),
                                    seq: l.row.seq,
                                },
                            )?;
                        }
                    }
                    if let Some(a) = l.adoption {
                        seen.adoptions.push((l.seq, a));
                    }
                    for (sha, name, size) in l.stored {
                        seen.stored.entry(sha).or_insert((l.seq, l.no, name, size));
                    }
                    rows.push(l.row);
                }
                w.insert_entries(&rows)?;
                // Only complete subtrees of entries 1 … k form stored nodes; after a gap
                // verify stops following the tree, as it does for a ledger.
                w.insert_merkle_nodes(&tree.take_completed())?;
                progress.advance(n);
            }
            // The matrices the adoptions need, under the SHA-256 of their actual bytes.
            for m in &info.matrices {
                if let Some(b) = files.small.get(&m.file) {
                    let sha = hex::encode(crypto::sha256(b));
                    if !w.has_artifact(&sha)? {
                        let mut src = std::io::Cursor::new(b.as_slice());
                        w.insert_artifact(&sha, b.len() as u64, &mut src, &mut |_| {})?;
                    }
                }
            }
            Ok(())
        })
}

// ---- sampled bundles: each entry on its own ------------------------------------------------

enum Parsed {
    Party(PartyPayload, Option<PublicKey>),
    Evidence(EvidencePayload),
    Adoption(AdoptionPayload),
    Reference(u64, String),
    /// A key rotation: the new key (`None` if it does not read).
    Rotation(Option<PublicKey>),
    Other,
}

fn decode_payload(kind: Kind, bytes: &[u8]) -> Result<Parsed, String> {
    Ok(match kind {
        Kind::Genesis | Kind::Party => {
            let p: PartyPayload = payload::decode(bytes)?;
            let k = PublicKey::from_spki_base64(&p.public_key).ok();
            Parsed::Party(p, k)
        }
        Kind::Evidence => Parsed::Evidence(payload::decode(bytes)?),
        Kind::Adoption => Parsed::Adoption(payload::decode(bytes)?),
        Kind::Cosign => {
            let c: CosignPayload = payload::decode(bytes)?;
            Parsed::Reference(c.entry, c.entry_sha256)
        }
        Kind::Retraction => {
            let r: RetractionPayload = payload::decode(bytes)?;
            Parsed::Reference(r.entry, r.entry_sha256)
        }
        Kind::Waiver => {
            payload::decode::<WaiverPayload>(bytes)?;
            Parsed::Other
        }
        Kind::Delegation => {
            payload::decode::<DelegationPayload>(bytes)?;
            Parsed::Other
        }
        Kind::Signoff => {
            payload::decode::<SignoffPayload>(bytes)?;
            Parsed::Other
        }
        // Kinds this module does not read member by member: a canonical JSON object.
        #[allow(unreachable_patterns)]
        _ => {
            let v: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| format!("payload is not JSON: {e}"))?;
            if !v.is_object() || payload::encode(&v).ok().as_deref() != Some(bytes) {
                return Err("payload is not a canonical JSON object (RFC 8785)".into());
            }
            if kind.as_str() == KEY_ROTATION {
                Parsed::Rotation(rotation_key(bytes))
            } else {
                Parsed::Other
            }
        }
    })
}

struct Pre {
    no: u64,
    entry: BundleEntry,
    header: Result<EntryHeader, String>,
    hash: Hash,
    parsed: Option<Parsed>,
    /// Findings that need no other entry: (check, what).
    own: Vec<(&'static str, String)>,
    proof_ok: bool,
}

fn pre_sample(no: u64, bytes: &[u8], cp: Option<(u64, Hash)>) -> Result<Pre, (u64, String)> {
    let entry = decode_line(bytes).map_err(|w| (no, w))?;
    let hash = crypto::sha256(&entry.body);
    let header = EntryHeader::parse(&entry.body).map_err(|e| e.to_string());
    let mut own = Vec::new();
    let mut parsed = None;
    if let Ok(h) = &header {
        if crypto::sha256(&entry.payload) == h.payload {
            match decode_payload(h.kind, &entry.payload) {
                Ok(p) => parsed = Some(p),
                Err(e) => own.push(("payload", e)),
            }
        } else {
            own.push((
                "payload",
                "payload bytes do not match the payload hash in the signed entry".to_string(),
            ));
        }
    }
    let mut proof_ok = false;
    match (&entry.proof, cp) {
        (None, _) => own.push((
            "proof",
            "has no inclusion proof: a sampled bundle's lines each carry one".to_string(),
        )),
        (Some(_), None) => {}
        (Some(_), Some((size, _))) if entry.seq > size => own.push((
            "proof",
            format!("is beyond the checkpoint, which covers entries 1–{size}"),
        )),
        (Some(p), Some((size, root))) => {
            if merkle::verify_inclusion(
                &merkle::leaf_hash(&entry.body),
                entry.seq - 1,
                size,
                p,
                &root,
            ) {
                proof_ok = true;
            } else {
                own.push((
                    "proof",
                    format!("its inclusion proof does not lead to the root of the checkpoint's {size} entries"),
                ));
            }
        }
    }
    Ok(Pre {
        no,
        entry,
        header,
        hash,
        parsed,
        own,
        proof_ok,
    })
}

#[derive(Default)]
struct SampleOut {
    signatures: u64,
    proofs: u64,
    used_pins: HashSet<Fingerprint>,
}

fn sample_pass(
    path: &Path,
    ledger: LedgerId,
    cp: Option<(u64, Hash)>,
    trust: Option<&HashSet<Fingerprint>>,
    expected: u64,
    progress: &dyn Progress,
    out: &mut Findings,
) -> Result<(Seen, SampleOut)> {
    let mut seen = Seen::default();
    let mut s = SampleOut::default();
    let mut hashes: HashMap<u64, Hash> = HashMap::new();
    let mut last: Option<(u64, Hash, DateTime<Utc>)> = None;
    progress.start(expected, "checking");
    let ((), hash, lines) = stream_lines(path, out, |rx, out| {
        for chunk in rx {
            let pre: Vec<Result<Pre, (u64, String)>> = chunk
                .into_par_iter()
                .map(|(no, b)| pre_sample(no, &b, cp))
                .collect();
            let mut jobs: Vec<(usize, PublicKey)> = Vec::new();
            let mut ok_pre = Vec::with_capacity(pre.len());
            for p in pre {
                match p {
                    Ok(p) => ok_pre.push(p),
                    Err((no, what)) => out.file(ENTRIES, Some(no), "format", what),
                }
            }
            for (i, p) in ok_pre.iter().enumerate() {
                let seq = p.entry.seq;
                let line = Some(p.no);
                if last.is_some_and(|(l, _, _)| seq <= l) {
                    out.entry(line, seq, "format", "is not after the line before it: lines are in increasing seq order, each entry once");
                    continue;
                }
                seen.line_of.push((seq, p.no));
                seen.with_proof += u64::from(p.entry.proof.is_some());
                s.proofs += u64::from(p.proof_ok);
                let h = match &p.header {
                    Ok(h) => h,
                    Err(e) => {
                        out.entry(line, seq, "format", format!("malformed {e}"));
                        continue;
                    }
                };
                for (c, w) in &p.own {
                    out.entry(line, seq, c, w.clone());
                }
                if h.seq != seq {
                    out.entry(
                        line,
                        seq,
                        "position",
                        format!(
                            "the line says entry {seq} but the text is signed as entry {}",
                            h.seq
                        ),
                    );
                }
                if h.ledger != ledger {
                    out.entry(
                        line,
                        seq,
                        "position",
                        format!("belongs to ledger {}, not {ledger}", h.ledger),
                    );
                }
                if let Some((l, lh, lt)) = last {
                    if l + 1 == seq && h.prev != lh {
                        out.entry(
                            line,
                            seq,
                            "chain",
                            format!("chain broken: prev is not the hash of entry {l}"),
                        );
                    }
                    if h.time < lt {
                        out.entry(
                            line,
                            seq,
                            "time",
                            format!("time {} is earlier than entry {l}'s", format_time(&h.time)),
                        );
                    }
                } else if seq == 1 && h.prev != ZERO_HASH {
                    out.entry(line, seq, "chain", "first entry must have prev of 64 zeros");
                }
                last = Some((seq, p.hash, h.time));
                hashes.insert(seq, p.hash);
                if (h.kind == Kind::Genesis) != (seq == 1) {
                    out.entry(
                        line,
                        seq,
                        "registry",
                        if seq == 1 {
                            "the first entry must be genesis".to_string()
                        } else {
                            "genesis entry after the first entry".to_string()
                        },
                    );
                }
                // The key the signature is checked with: the signer's, as registered by an
                // earlier entry of the bundle (genesis: the key it registers itself).
                let mut key = seen.book.get(&h.signer).map(|k| k.key);
                if let Some(k) = seen.book.get(&h.signer)
                    && let Some(r) = k.retired_by
                {
                    out.entry(
                        line,
                        seq,
                        "registry",
                        format!("signed by key {}, which entry {r} retired", h.signer),
                    );
                }
                let signer = seen.book.get(&h.signer).map(|k| k.id.clone());
                let mut registered = None;
                match &p.parsed {
                    Some(Parsed::Party(pp, Some(pk))) => {
                        if h.kind == Kind::Genesis {
                            if pk.fingerprint() != h.signer {
                                out.entry(
                                    line,
                                    seq,
                                    "registry",
                                    "genesis must be signed by the key it registers",
                                );
                            }
                            key = Some(*pk);
                        }
                        match seen.book.register(pp, *pk, seq) {
                            Ok(()) => registered = Some((pp.id.clone(), *pk, "is registered with")),
                            Err(e) => out.entry(line, seq, "registry", e),
                        }
                    }
                    Some(Parsed::Party(pp, None)) => out.entry(
                        line,
                        seq,
                        "payload",
                        format!(
                            "party {:?}: its public key is not a valid Ed25519 key",
                            pp.id
                        ),
                    ),
                    Some(Parsed::Rotation(new)) if key.is_some() => match new {
                        None => out.entry(
                            line,
                            seq,
                            "payload",
                            "the new key of the rotation is not a valid Ed25519 key",
                        ),
                        Some(nk) => match seen.book.rotate(&h.signer, *nk, seq) {
                            Ok(()) => {
                                registered = signer.clone().map(|p| (p, *nk, "rotates to"));
                            }
                            Err(e) => out.entry(line, seq, "registry", e),
                        },
                    },
                    _ => {}
                }
                if let Some((party, k, verb)) = registered
                    && let Some(t) = trust
                {
                    let fpr = k.fingerprint();
                    if t.contains(&fpr) {
                        s.used_pins.insert(fpr);
                    } else {
                        out.entry(
                            line,
                            seq,
                            "trust",
                            format!(
                                "party {party:?} {verb} key {fpr}, which is not among the trusted keys"
                            ),
                        );
                    }
                }
                match key {
                    None => out.entry(
                        line,
                        seq,
                        "registry",
                        format!(
                            "signed by key {}, which no entry in the bundle registers",
                            h.signer
                        ),
                    ),
                    Some(k) => jobs.push((i, k)),
                }
                match &p.parsed {
                    Some(Parsed::Reference(target, sha)) => {
                        if *target >= seq {
                            out.entry(
                                line,
                                seq,
                                "reference",
                                format!("refers to entry {target}, which is not an earlier entry"),
                            );
                        } else if let Some(th) = hashes.get(target)
                            && hex::encode(th) != *sha
                        {
                            out.entry(
                                line,
                                seq,
                                "reference",
                                format!("refers to entry {target} by a hash that is not its hash"),
                            );
                        }
                    }
                    Some(Parsed::Adoption(a)) => {
                        if let Some(sp) = &signer
                            && !a.bindings.values().any(|b| b == sp)
                        {
                            out.entry(
                                line,
                                seq,
                                "registry",
                                format!(
                                    "adoption signed by {sp:?}, which it does not bind to a role"
                                ),
                            );
                        }
                        for (r, pid) in &a.bindings {
                            match seen.book.roles.get(pid) {
                                None => out.entry(
                                    line,
                                    seq,
                                    "reference",
                                    format!("binds role {r} to unknown party {pid:?}"),
                                ),
                                Some(pr) if pr.as_str() != r => out.entry(
                                    line,
                                    seq,
                                    "reference",
                                    format!("binds role {r} to party {pid:?}, whose role is {pr}"),
                                ),
                                _ => {}
                            }
                        }
                        seen.adoptions.push((seq, a.clone()));
                    }
                    Some(Parsed::Evidence(e)) => {
                        for a in e.artifacts.iter().filter(|a| a.stored) {
                            seen.stored.entry(a.sha256.clone()).or_insert((
                                seq,
                                p.no,
                                a.name.clone(),
                                a.size,
                            ));
                        }
                    }
                    _ => {}
                }
            }
            s.signatures += jobs.len() as u64;
            for (i, k) in bad_signatures(&ok_pre, &jobs) {
                let p = &ok_pre[i];
                let who = seen
                    .book
                    .get(&k.fingerprint())
                    .map(|b| format!(" (party {:?})", b.id))
                    .unwrap_or_default();
                out.entry(
                    Some(p.no),
                    p.entry.seq,
                    "signature",
                    format!(
                        "signature does not verify against key {}{who}",
                        k.fingerprint()
                    ),
                );
            }
            progress.advance(ok_pre.len() as u64);
        }
        Ok(())
    })?;
    progress.finish();
    seen.hash = Some(hash);
    seen.lines = lines;
    // Lowest level first within an entry, entries in file order.
    out.0
        .sort_by_key(|f| (f.file != ENTRIES, f.line.unwrap_or(0), rank(&f.check)));
    Ok((seen, s))
}

/// Order of checks within one entry, as `vouch verify` reports them (lowest level first).
fn rank(check: &str) -> u8 {
    match check {
        "format" => 0,
        "signature" => 1,
        "payload" => 2,
        "position" => 3,
        "proof" => 4,
        "chain" => 5,
        "time" => 6,
        "registry" => 7,
        "trust" => 8,
        _ => 9,
    }
}

/// The signatures that do not verify: batches on every core, a failed batch re-checked one
/// by one to name the entry.
fn bad_signatures(pre: &[Pre], jobs: &[(usize, PublicKey)]) -> Vec<(usize, PublicKey)> {
    jobs.par_chunks(BATCH)
        .flat_map_iter(|part| {
            let ks: Vec<PublicKey> = part.iter().map(|(_, k)| *k).collect();
            let ms: Vec<&[u8]> = part
                .iter()
                .map(|(i, _)| pre[*i].entry.body.as_slice())
                .collect();
            let ss: Vec<&[u8]> = part
                .iter()
                .map(|(i, _)| pre[*i].entry.signature.as_slice())
                .collect();
            let bad: Vec<(usize, PublicKey)> = if crypto::verify_batch(&ks, &ms, &ss) {
                Vec::new()
            } else {
                part.iter()
                    .filter(|(i, k)| !k.verify(&pre[*i].entry.body, &pre[*i].entry.signature))
                    .copied()
                    .collect()
            };
            bad
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_line() -> Vec<u8> {
        encode_line(
            7,
            b"vouch/v1 entry\nledger: 00\n",
            &[1u8; 64],
            br#"{"item":"a\"b","note":"Z\u00fcrich \u0001"}"#,
            Some(&[[0xab; 32], [0x01; 32]]),
        )
        .unwrap()
    }

    #[test]
    fn line_round_trip_and_its_one_spelling() {
        let line = sample_line();
        let body = &line[..line.len() - 1];
        let e = decode_line(body).unwrap();
        assert_eq!(e.seq, 7);
        assert_eq!(e.body, b"vouch/v1 entry\nledger: 00\n");
        assert_eq!(e.signature, vec![1u8; 64]);
        assert_eq!(e.proof.as_deref(), Some(&[[0xab; 32], [0x01; 32]][..]));
        // The writer's spelling is RFC 8785 of the same object.
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(serde_json_canonicalizer::to_vec(&v).unwrap(), body);
        let text = std::str::from_utf8(body).unwrap();
        for other in [
            text.replacen("{\"entry\"", "{ \"entry\"", 1),
            text.replacen("\"seq\":7", "\"seq\":7.0", 1),
            text.replacen("ab", "AB", 1),
            text.replace("\\n", "\\u000a"),
            text.replacen(",\"seq\":7", "", 1)
                .replacen("{", "{\"seq\":7,", 1),
            text.replacen("\"signature\":\"", "\"x\":1,\"signature\":\"", 1),
            text.replacen("AQ==", "AR==", 1),
            format!("{text} "),
        ] {
            assert!(decode_line(other.as_bytes()).is_err(), "accepted {other}");
        }
        let no_proof = encode_line(1, b"x", &[0; 64], b"{}", None).unwrap();
        assert!(
            !String::from_utf8(no_proof.clone())
                .unwrap()
                .contains("proof")
        );
        assert!(
            decode_line(&no_proof[..no_proof.len() - 1])
                .unwrap()
                .proof
                .is_none()
        );
        assert!(
            decode_line(br#"{"entry":"x","payload":"{}","proof":null,"seq":1,"signature":""}"#)
                .is_err()
        );
    }

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

    #[test]
    fn manifest_is_strict_and_names_the_line() {
        let h = "a".repeat(64);
        let good = format!("{h}  README.txt\n{h}  keys/acme.pub\n");
        let mut f = Findings::default();
        assert_eq!(parse_manifest(good.as_bytes(), &mut f).len(), 2);
        assert!(f.0.is_empty());
        for (bad, line) in [
            (format!("{h}  keys/acme.pub\n{h}  README.txt\n"), 2),
            (format!("{h} README.txt\n"), 1),
            (format!("{}  README.txt\n", "A".repeat(64)), 1),
            (format!("{h}  ../x\n"), 1),
            (format!("{h}  README.txt\n{h}  MANIFEST\n"), 2),
            (format!("{h}  README.txt"), 1),
            (format!("{h}  a/b/c\n"), 1),
        ] {
            let mut f = Findings::default();
            parse_manifest(bad.as_bytes(), &mut f);
            assert_eq!(f.0.len(), 1, "{bad:?}");
            assert_eq!(f.0[0].line, Some(line), "{bad:?}");
        }
    }

    #[test]
    fn matrix_file_names() {
        let a = |id: &str, sha: char| {
            let mut p: AdoptionPayload = serde_json::from_value(serde_json::json!({
                "bindings": {}, "matrix": {"effective": "2026-01-01", "id": id,
                "sha256": sha.to_string().repeat(64), "size": 1, "version": "1"}
            }))
            .unwrap();
            p.variants.clear();
            (1u64, p)
        };
        let names: Vec<String> = matrix_names(&[
            a("ct", 'a'),
            a("ct", 'b'),
            a("x/../y", 'c'),
            a("ok", 'd'),
            a("ok", 'd'),
        ])
        .into_iter()
        .map(|m| m.file)
        .collect();
        assert_eq!(
            names,
            vec![
                format!("matrices/{}.toml", "c".repeat(64)),
                "matrices/ct-aaaaaaaaaaaaaaaa.toml".to_string(),
                "matrices/ct-bbbbbbbbbbbbbbbb.toml".to_string(),
                "matrices/ok.toml".to_string(),
            ]
        );
    }
}
