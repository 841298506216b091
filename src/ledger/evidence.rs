//! Turning what an operator typed (flags or a JSONL batch) into evidence drafts.
//!
//! Checks every input before anything is committed, hashes artefacts while streaming them,
//! and names the line of a batch file that is wrong.
//!
//! What `vouch record` reads is bounded and safe to keep for ever: artefacts are regular
//! files only (never a device or a pipe that would not end), never a private key nor a file
//! in a key directory (the ledger is append-only: a secret stored in it could never be
//! removed), recorded under a plain file name; a batch is read a line at a time, each line
//! at most [`MAX_BATCH_LINE`] bytes.

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};

use super::store::Txn;
use super::{Draft, DraftSource, check_text};
use crate::crypto::{self, Hasher};
use crate::error::{Error, Result};
use crate::format::entry::{Kind, format_time};
use crate::format::payload::{self, ArtifactRef, EvidencePayload, Outcome};
use crate::format::rules;

pub use crate::format::rules::{
    EARLIEST_PERFORMED_AT, MAX_ARTIFACT_NAME, MAX_FIELD_LIST, MAX_FIELD_TEXT, MAX_FIELDS,
    MAX_FUTURE, artifact_name_problem,
};

/// One piece of evidence as the operator gave it.
#[derive(Debug, Clone, Default)]
pub struct EvidenceInput {
    /// Matrix item id.
    pub item: String,
    /// Evidence kind.
    pub kind: String,
    /// Outcome (`pass`, `fail`, `partial`).
    pub outcome: String,
    /// When it was performed (RFC 3339 or a plain UTC date).
    pub performed_at: String,
    /// Structured fields.
    pub fields: BTreeMap<String, Value>,
    /// Artefact files.
    pub artifacts: Vec<PathBuf>,
    /// Note.
    pub note: Option<String>,
    /// Supporting evidence (the signer holds neither R nor A for the item).
    pub supporting: bool,
}

/// An artefact file, hashed.
#[derive(Debug, Clone)]
pub struct ArtifactSource {
    /// Where it is read from.
    pub path: PathBuf,
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// The content itself, when it is not read from `path` (built-in matrices).
    pub bytes: Option<Vec<u8>>,
}

impl ArtifactSource {
    /// Content held in memory (small documents such as matrix files).
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Self {
        Self {
            path: PathBuf::from(name),
            sha256: hex::encode(crypto::sha256(&bytes)),
            size: bytes.len() as u64,
            bytes: Some(bytes),
        }
    }
}

/// Hint for a field over a limit.
const BULKY_HINT: &str =
    "record bulky data as an artefact (--artifact FILE): its name, size and SHA-256 are signed";

/// Parse `performed_at`: RFC 3339 with any offset, or `YYYY-MM-DD` (midnight UTC).
/// Fractions of a second are dropped. Before [`EARLIEST_PERFORMED_AT`], or more than
/// [`MAX_FUTURE`] ahead of `now`, is refused.
pub fn parse_performed_at(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let Some(t) = crate::format::entry::parse_input_time(s) else {
        return Err(Error::new(format!("cannot read performed_at {s:?}")).hint(
            "use RFC 3339 (2026-10-05T10:00:00Z, 2026-10-05T12:00:00+02:00) or a date (2026-10-05)",
        ));
    };
    // The rule is `rules::performed_at` (verify applies it against the entry's time);
    // here it is said in the operator's terms.
    if rules::performed_at(t, now).is_err() {
        return Err(if t > now {
            Error::new(format!(
                "performed_at {s} is in the future (now is {})",
                format_time(&now)
            ))
            .hint("evidence records work already done; check the date and the machine's clock")
        } else {
            Error::new(format!(
                "performed_at {s} is before {}",
                format_time(&EARLIEST_PERFORMED_AT)
            ))
            .hint("check the year: evidence records work done since 1970")
        });
    }
    Ok(t)
}

/// Check the fields' number, then each name and value ([`rules::fields`]).
fn check_fields(fields: &BTreeMap<String, Value>) -> Result<()> {
    rules::fields(fields).map_err(|e| {
        let e = Error::new(e);
        if e.message().contains("bytes") || e.message().contains("at most") {
            e.hint(BULKY_HINT)
        } else {
            e.hint("field names use lowercase letters, digits and '_' (e.g. rto_minutes); values are strings, numbers, booleans or lists of strings")
        }
    })
}

fn check_kind(kind: &str) -> Result<()> {
    rules::evidence_kind(kind).map_err(|e| {
        Error::new(e).hint("kinds are lowercase words joined by '-', e.g. restore-test, patch-run")
    })
}

/// Bytes read from the start of an artefact to tell whether it is a private key; a DER key
/// is recognised only in a file no longer than this (key files are small).
const SNIFF: usize = 8 * 1024;

/// The name an artefact is recorded under: its file name, checked.
fn artifact_name(path: &Path) -> Result<String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    match artifact_name_problem(&name) {
        None => Ok(name),
        Some(why) => Err(Error::new(format!(
            "artefact {}: its name {name:?} {why}",
            path.display()
        ))
        .hint(
            "an artefact is recorded under its file name, which must be a plain name: \
             not empty, at most 255 bytes, without '/', '..' or control characters; \
             copy the file to such a name",
        )),
    }
}

/// A directory whose files are never recorded.
#[derive(Debug, Clone)]
struct KeyDir {
    /// Canonical path.
    dir: PathBuf,
    /// Files anywhere below it (not only directly in it) are refused.
    tree: bool,
    /// How it is named in messages.
    what: String,
}

/// What an artefact may not be, beyond a regular file that is not a private key: a file in
/// a key directory. Also names the flag artefacts came from, for messages.
#[derive(Debug, Clone, Default)]
pub struct ArtifactPolicy {
    origin: Option<String>,
    key_dirs: Vec<KeyDir>,
}

impl ArtifactPolicy {
    /// Name artefact errors after the flag they were given with (`--artifact`).
    #[must_use]
    pub fn origin(mut self, flag: &str) -> Self {
        self.origin = Some(flag.to_string());
        self
    }

    /// Refuse every file under `keys/` beside `ledger` (where `vouch keygen` puts keys).
    #[must_use]
    pub fn ledger_keys(mut self, ledger: &Path) -> Self {
        let dir = match ledger.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.join("keys"),
            _ => PathBuf::from("keys"),
        };
        self.add(&dir, true, format!("the key directory {}", dir.display()));
        self
    }

    /// Refuse every file in the directory that holds the signing key `key` — unless that
    /// is the current directory, where operators keep the artefacts they record (there the
    /// content check still refuses the key itself).
    #[must_use]
    pub fn signing_key(mut self, key: &Path) -> Self {
        let dir = parent_dir(key);
        let here = std::env::current_dir().and_then(std::fs::canonicalize).ok();
        if here.is_some() && std::fs::canonicalize(dir).ok() == here {
            return self;
        }
        self.add(
            dir,
            false,
            format!(
                "{}, the directory of the signing key {}",
                dir.display(),
                key.display()
            ),
        );
        self
    }

    fn add(&mut self, dir: &Path, tree: bool, what: String) {
        // A directory that does not exist holds nothing to protect.
        if let Ok(dir) = std::fs::canonicalize(dir) {
            self.key_dirs.push(KeyDir { dir, tree, what });
        }
    }

    /// Hash an artefact: a regular file, not a private key and not in a key directory.
    pub fn hash(&self, path: &Path) -> Result<ArtifactSource> {
        self.read(path).map_err(|e| match &self.origin {
            Some(flag) => e.context(flag),
            None => e,
        })
    }

    fn check_key_dirs(&self, path: &Path) -> Result<()> {
        if self.key_dirs.is_empty() {
            return Ok(());
        }
        // Where the content really lies: symbolic links followed.
        let real = std::fs::canonicalize(path).map_err(|e| artefact_io(path, &e))?;
        let Some(parent) = real.parent() else {
            return Ok(());
        };
        for k in &self.key_dirs {
            if parent == k.dir || (k.tree && parent.starts_with(&k.dir)) {
                return Err(
                    Error::new(format!("artefact {} is in {}", path.display(), k.what)).hint(
                        "files in a key directory are never recorded: the ledger is append-only \
                     and shared, so a secret stored in it could never be removed; copy what \
                     you mean to record out of the key directory",
                    ),
                );
            }
        }
        Ok(())
    }

    fn read(&self, path: &Path) -> Result<ArtifactSource> {
        let meta = std::fs::metadata(path).map_err(|e| artefact_io(path, &e))?;
        if meta.is_dir() {
            return Err(
                Error::new(format!("artefact {} is a directory", path.display())).hint(
                    "--artifact takes a file; archive a directory first (tar czf out.tgz DIR)",
                ),
            );
        }
        if !meta.is_file() {
            return Err(not_regular(path, &meta));
        }
        self.check_key_dirs(path)?;
        let mut f = File::open(path).map_err(|e| artefact_io(path, &e))?;
        let mut buf = vec![0u8; 64 * 1024];
        let head = read_head(&mut f, &mut buf[..SNIFF]).map_err(|e| artefact_io(path, &e))?;
        if let Some(what) = private_key(&buf[..head], meta.len()) {
            return Err(Error::new(format!(
                "artefact {} is a private key ({what})",
                path.display()
            ))
            .hint(
                "secrets never go into the ledger: it is append-only and shared, so a key \
                 stored in it could never be removed; record the key's fingerprint in a \
                 field instead",
            ));
        }
        let mut h = Hasher::default();
        h.update(&buf[..head]);
        let mut size = head as u64;
        loop {
            let n = f.read(&mut buf).map_err(|e| artefact_io(path, &e))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            h.update(&buf[..n]);
        }
        Ok(ArtifactSource {
            path: path.to_path_buf(),
            sha256: hex::encode(h.finish()),
            size,
            bytes: None,
        })
    }
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn artefact_io(path: &Path, e: &std::io::Error) -> Error {
    Error::io(path, e).context("artefact")
}

/// "X is not a regular file", saying what it is.
fn not_regular(path: &Path, meta: &std::fs::Metadata) -> Error {
    #[cfg(unix)]
    let what = {
        use std::os::unix::fs::FileTypeExt as _;
        let t = meta.file_type();
        if t.is_fifo() {
            " (a named pipe)"
        } else if t.is_char_device() || t.is_block_device() {
            " (a device)"
        } else if t.is_socket() {
            " (a socket)"
        } else {
            ""
        }
    };
    #[cfg(not(unix))]
    let what = {
        let _ = meta;
        ""
    };
    Error::new(format!(
        "artefact {} is not a regular file{what}",
        path.display()
    ))
    .hint("artefacts are read from regular files only; copy the data into a file first")
}

/// Fill `buf` from `r` as far as it goes; the number of bytes read.
fn read_head(r: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// What kind of private key a file is, judged from its first bytes `head` and its `size`.
fn private_key(head: &[u8], size: u64) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    for line in text.lines().map(str::trim) {
        if line.starts_with("-----BEGIN ") && line.ends_with("PRIVATE KEY-----") {
            return Some(format!("PEM {line}"));
        }
        if line.starts_with("PuTTY-User-Key-File-") {
            return Some("PuTTY key file".to_string());
        }
    }
    // A DER key is the whole file: only when all of it was read.
    if size == head.len() as u64 {
        return der_private_key(head).map(str::to_string);
    }
    None
}

/// One DER header at `at`: (tag, header length, content length). Definite lengths only.
fn der_header(b: &[u8], at: usize) -> Option<(u8, usize, usize)> {
    let tag = *b.get(at)?;
    let first = *b.get(at + 1)?;
    if first < 0x80 {
        return Some((tag, 2, usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | usize::from(*b.get(at + 2 + i)?);
    }
    Some((tag, 2 + n, len))
}

/// The elements (tag, content) of the DER SEQUENCE that is the whole of `b` (trailing
/// whitespace allowed), or `None`.
fn der_sequence(b: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let (tag, h, len) = der_header(b, 0)?;
    let end = h.checked_add(len)?;
    if tag != 0x30 || end > b.len() || !b[end..].iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let mut items = Vec::new();
    let mut at = h;
    while at < end {
        let (t, hh, l) = der_header(b, at)?;
        let (s, e) = (at + hh, (at + hh).checked_add(l)?);
        if e > end {
            return None;
        }
        items.push((t, &b[s..e]));
        at = e;
    }
    Some(items)
}

/// Is `b` a DER private key: PKCS#8 (what `ed25519-dalek` reads: SEQUENCE { INTEGER 0|1,
/// AlgorithmIdentifier, OCTET STRING, … }), encrypted PKCS#8, SEC1 EC or PKCS#1 RSA?
fn der_private_key(b: &[u8]) -> Option<&'static str> {
    const INTEGER: u8 = 0x02;
    const OCTETS: u8 = 0x04;
    const OID: u8 = 0x06;
    const SEQUENCE: u8 = 0x30;
    let items = der_sequence(b)?;
    let algorithm = |c: &[u8]| c.first() == Some(&OID);
    match items.as_slice() {
        [(INTEGER, [0 | 1]), (SEQUENCE, alg), (OCTETS, _), ..] if algorithm(alg) => {
            Some("PKCS#8 DER")
        }
        [(SEQUENCE, alg), (OCTETS, _)] if algorithm(alg) => Some("encrypted PKCS#8 DER"),
        [(INTEGER, [1]), (OCTETS, _), ..] => Some("EC DER"),
        [(INTEGER, [0]), (INTEGER, _), (INTEGER, _), ..] => Some("RSA DER"),
        _ => None,
    }
}

/// Hash a regular file while streaming it (never read whole into memory), refusing a
/// private key ([`ArtifactPolicy`] with no key directories).
pub fn hash_artifact(path: &Path) -> Result<ArtifactSource> {
    ArtifactPolicy::default().hash(path)
}

/// Store an artefact's content in the ledger (once per hash), re-hashing what is written
/// so a file changed since it was hashed is refused rather than stored under a wrong hash.
pub(crate) fn store_artifact(w: &dyn Txn, a: &ArtifactSource) -> Result<()> {
    if w.has_artifact(&a.sha256)? {
        return Ok(());
    }
    let mut source: Box<dyn std::io::Read> = match &a.bytes {
        Some(b) => Box::new(std::io::Cursor::new(b.as_slice())),
        None => {
            // Still a regular file (opening a pipe put there meanwhile would wait for ever).
            let meta = std::fs::metadata(&a.path).map_err(|e| artefact_io(&a.path, &e))?;
            if !meta.is_file() {
                return Err(not_regular(&a.path, &meta));
            }
            Box::new(File::open(&a.path).map_err(|e| artefact_io(&a.path, &e))?)
        }
    };
    let mut h = Hasher::default();
    w.insert_artifact(&a.sha256, a.size, &mut source, &mut |chunk| h.update(chunk))
        .map_err(|e| e.context(format!("artefact {}", a.path.display())))?;
    if hex::encode(h.finish()) != a.sha256 {
        return Err(Error::new(format!(
            "artefact {} changed while it was being recorded",
            a.path.display()
        )));
    }
    Ok(())
}

/// Build an evidence draft: validate, hash artefacts, encode the payload. Artefacts are
/// checked by [`ArtifactPolicy::default`] (regular files, not private keys, plain names).
pub fn draft(input: &EvidenceInput, now: DateTime<Utc>, store_artifacts: bool) -> Result<Draft> {
    draft_with(input, now, store_artifacts, &ArtifactPolicy::default())
}

/// [`draft`], with artefacts checked by `policy` (key directories, the flag to name).
pub fn draft_with(
    input: &EvidenceInput,
    now: DateTime<Utc>,
    store_artifacts: bool,
    policy: &ArtifactPolicy,
) -> Result<Draft> {
    super::rule(rules::item(&input.item))?;
    check_kind(&input.kind)?;
    let outcome = Outcome::parse(&input.outcome)?;
    let performed = parse_performed_at(&input.performed_at, now)?;
    let mut fields = input.fields.clone();
    check_fields(&fields)?;
    // Typed fields of the evidence kind (schema/evidence-kinds.toml).
    crate::matrix::kinds::Registry::builtin()?
        .kind(&input.kind)?
        .check_fields(&mut fields)?;
    if let Some(n) = &input.note {
        check_text("note", n, rules::MAX_NOTE)?;
    }
    let mut refs = Vec::with_capacity(input.artifacts.len());
    let mut sources = Vec::new();
    for p in &input.artifacts {
        let name = artifact_name(p).map_err(|e| match &policy.origin {
            Some(flag) => e.context(flag),
            None => e,
        })?;
        let a = policy.hash(p)?;
        refs.push(ArtifactRef {
            name,
            size: a.size,
            sha256: a.sha256.clone(),
            stored: store_artifacts,
        });
        if store_artifacts {
            sources.push(a);
        }
    }
    let body = EvidencePayload {
        item: input.item.clone(),
        kind: input.kind.clone(),
        outcome,
        performed_at: format_time(&performed),
        fields,
        artifacts: refs,
        note: input.note.clone(),
        supporting: input.supporting,
    };
    Ok(Draft {
        kind: Kind::Evidence,
        payload: payload::encode(&body)?,
        party: None,
        store_artifacts: sources,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchLine {
    item: String,
    kind: String,
    outcome: String,
    performed_at: String,
    #[serde(default)]
    fields: BTreeMap<String, Value>,
    #[serde(default)]
    artifacts: Vec<PathBuf>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    supporting: bool,
}

/// Longest line of a batch file, in bytes (without its line break).
pub const MAX_BATCH_LINE: usize = 1024 * 1024;

/// Lines drafted together on every core; a chunk also stops once it holds this many bytes.
const CHUNK_LINES: usize = 4096;
const CHUNK_BYTES: usize = 16 * 1024 * 1024;

/// The non-blank lines of a batch, read one at a time with at most [`MAX_BATCH_LINE`]
/// bytes held for any line.
struct BatchLines<'a> {
    reader: Box<dyn std::io::BufRead + 'a>,
    /// How the batch is named in messages (its path, or `standard input`).
    label: String,
    /// Number of the last line read.
    line: usize,
}

impl BatchLines<'_> {
    /// The next non-blank line and its number, or `None` at the end.
    fn next_line(&mut self) -> Result<Option<(usize, String)>> {
        loop {
            let mut buf = Vec::new();
            // One byte past the cap: enough to know the line is too long, never more.
            let n = (&mut self.reader)
                .take(MAX_BATCH_LINE as u64 + 1)
                .read_until(b'\n', &mut buf)
                .map_err(|e| Error::io(Path::new(&self.label), &e).context("batch"))?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            if buf.last() == Some(&b'\n') {
                buf.pop();
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
            } else if buf.len() > MAX_BATCH_LINE {
                return Err(Error::new(format!(
                    "{} line {} is longer than {MAX_BATCH_LINE} bytes (1 MiB)",
                    self.label, self.line
                ))
                .hint(
                    "each line is one JSON object describing one piece of evidence; put \
                     large content in a file and name it in \"artifacts\"",
                ));
            }
            let text = String::from_utf8(buf).map_err(|_| {
                Error::new(format!("{} line {}: not UTF-8 text", self.label, self.line))
            })?;
            if !text.trim().is_empty() {
                return Ok(Some((self.line, text)));
            }
        }
    }

    /// The next chunk of lines, and whether reading stopped: `Some(Ok)` at the end,
    /// `Some(Err)` at a line that could not be read (after the lines before it).
    fn next_chunk(&mut self) -> (Vec<(usize, String)>, Option<Result<()>>) {
        let mut chunk = Vec::new();
        let mut bytes = 0;
        while chunk.len() < CHUNK_LINES && bytes < CHUNK_BYTES {
            match self.next_line() {
                Ok(Some(l)) => {
                    bytes += l.1.len();
                    chunk.push(l);
                }
                Ok(None) => return (chunk, Some(Ok(()))),
                Err(e) => return (chunk, Some(Err(e))),
            }
        }
        (chunk, None)
    }
}

/// Draft one batch line (`at` names it in messages).
fn draft_line(
    line: &str,
    at: &str,
    now: DateTime<Utc>,
    store_artifacts: bool,
    policy: &ArtifactPolicy,
) -> Result<Draft> {
    let l: BatchLine = serde_json::from_str(line).map_err(|e| {
        // serde_json counts lines within this one line: keep only its column.
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        Error::new(format!("{at}, column {}: {msg}", e.column())).hint(
            "each line is one JSON object with item, kind, outcome, performed_at \
             and optional fields, artifacts, note",
        )
    })?;
    let input = EvidenceInput {
        item: l.item,
        kind: l.kind,
        outcome: l.outcome,
        performed_at: l.performed_at,
        fields: l.fields,
        artifacts: l.artifacts,
        note: l.note,
        supporting: l.supporting,
    };
    draft_with(&input, now, store_artifacts, policy).map_err(|e| e.context(at))
}

/// How a batch source is named in messages: its path, or `standard input` for `-`.
pub fn batch_label(source: &Path) -> String {
    if source == Path::new("-") {
        "standard input".to_string()
    } else {
        source.display().to_string()
    }
}

/// A JSONL batch (`-`: standard input) read as a [`DraftSource`]: a chunk of lines at a
/// time, drafted on every core; the first bad line is named. Blank lines are skipped; a
/// batch with no entries is refused.
///
/// Lines are read one at a time, each at most [`MAX_BATCH_LINE`] bytes (a longer one is
/// refused by number without being read whole): neither the text nor the drafts of the
/// whole batch are ever held, only a chunk's.
pub struct BatchDrafts<'a> {
    lines: BatchLines<'static>,
    now: DateTime<Utc>,
    store_artifacts: bool,
    policy: &'a ArtifactPolicy,
    /// Drafts handed out so far.
    drafted: u64,
    /// The end was reached, or a line could not be read (the error is handed out next).
    stop: Option<Result<()>>,
}

impl<'a> BatchDrafts<'a> {
    /// Open the batch at `source` (`-`: standard input).
    ///
    /// # Errors
    ///
    /// No such file, a directory, I/O.
    pub fn open(
        source: &Path,
        now: DateTime<Utc>,
        store_artifacts: bool,
        policy: &'a ArtifactPolicy,
    ) -> Result<Self> {
        let reader: Box<dyn std::io::BufRead> = if source == Path::new("-") {
            Box::new(std::io::stdin().lock())
        } else {
            let meta =
                std::fs::metadata(source).map_err(|e| Error::io(source, &e).context("batch"))?;
            if meta.is_dir() {
                return Err(Error::new(format!(
                    "batch {} is a directory",
                    source.display()
                )));
            }
            // A pipe is fine (`--batch <(…)`): it ends when its writer does.
            let f = File::open(source).map_err(|e| Error::io(source, &e).context("batch"))?;
            Box::new(BufReader::with_capacity(256 * 1024, f))
        };
        Ok(Self {
            lines: BatchLines {
                reader,
                label: batch_label(source),
                line: 0,
            },
            now,
            store_artifacts,
            policy,
            drafted: 0,
            stop: None,
        })
    }
}

impl DraftSource for BatchDrafts<'_> {
    fn next_chunk(&mut self) -> Result<Option<Vec<(usize, Draft)>>> {
        match self.stop.take() {
            Some(Ok(())) => {
                self.stop = Some(Ok(()));
                return Ok(None);
            }
            Some(Err(e)) => return Err(e),
            None => {}
        }
        let (chunk, stop) = self.lines.next_chunk();
        self.stop = stop;
        // Lines are independent: draft them on every core, then report the first bad line
        // in file order (a line that could not be read comes after those before it).
        let (now, store, policy, label) = (
            self.now,
            self.store_artifacts,
            self.policy,
            &self.lines.label,
        );
        let results: Vec<Result<(usize, Draft)>> = chunk
            .par_iter()
            .map(|(n, line)| {
                let at = format!("{label} line {n}");
                draft_line(line, &at, now, store, policy).map(|d| (*n, d))
            })
            .collect();
        let drafts = results.into_iter().collect::<Result<Vec<_>>>()?;
        self.drafted += drafts.len() as u64;
        if !drafts.is_empty() {
            return Ok(Some(drafts));
        }
        match self.stop.take() {
            Some(Err(e)) => Err(e),
            _ if self.drafted == 0 => Err(Error::new(format!(
                "batch {} holds no entries",
                self.lines.label
            ))
            .hint("write one JSON object per line")),
            _ => {
                self.stop = Some(Ok(()));
                Ok(None)
            }
        }
    }

    fn name(&self, number: usize) -> Option<String> {
        Some(format!("{} line {number}", self.lines.label))
    }
}

/// SHA-256 hex of bytes (for callers that must not import the crypto module's internals).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(crypto::sha256(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        crate::format::entry::parse_time("2026-10-05T10:00:00Z").unwrap()
    }

    #[test]
    fn artefact_names() {
        assert_eq!(artifact_name_problem("restore.log"), None);
        assert_eq!(artifact_name_problem(&"a".repeat(255)), None);
        assert!(artifact_name_problem(&"a".repeat(256)).is_some());
        for bad in [
            "",
            "..",
            "a..b",
            "a/b",
            "tab\there",
            "del\u{7f}",
            "c1\u{85}",
        ] {
            assert!(artifact_name_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn private_keys_are_told_from_other_files() {
        let pem = b"-----BEGIN EC PRIVATE KEY-----\nMHc=\n-----END EC PRIVATE KEY-----\n";
        assert!(private_key(pem, pem.len() as u64).is_some());
        let public = b"-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----\n";
        assert!(private_key(public, public.len() as u64).is_none());
        // PKCS#8 v1 Ed25519: SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING }.
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
        ];
        der.extend([0x70, 0x04, 0x22, 0x04, 0x20]);
        der.extend([7u8; 32]);
        assert_eq!(der_private_key(&der), Some("PKCS#8 DER"));
        // Only the whole file: not when more follows, nor when it was not all read.
        assert!(private_key(&der, der.len() as u64 + 1).is_none());
        let mut longer = der.clone();
        longer.push(0);
        assert!(der_private_key(&longer).is_none());
        assert!(der_private_key(&der[..20]).is_none());
        // A SEQUENCE of something else, and garbage lengths, are not keys.
        assert!(der_private_key(&[0x30, 0x03, 0x02, 0x01, 0x05]).is_none());
        assert!(der_private_key(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
    }

    #[test]
    fn performed_at_forms() {
        let n = now();
        assert_eq!(
            format_time(&parse_performed_at("2026-10-01", n).unwrap()),
            "2026-10-01T00:00:00Z"
        );
        assert_eq!(
            format_time(&parse_performed_at("2026-10-01T12:30:15.9+02:00", n).unwrap()),
            "2026-10-01T10:30:15Z"
        );
        assert!(parse_performed_at("2026-10-05T10:04:59Z", n).is_ok());
        assert!(parse_performed_at("2026-10-05T10:06:00Z", n).is_err());
        assert!(parse_performed_at("yesterday", n).is_err());
    }
}
