//! Inclusion and consistency proofs that anyone checks without the ledger.
//!
//! Implements `schema/FORMAT.md` §15 ("Proofs"). A checkpoint (§13) commits to the first
//! `size` entries; a proof lets someone who holds nothing but the parties' public keys check,
//! in a few milliseconds and without the SQLite file, that
//!
//! - one entry, with its exact signed text and signature, is entry `seq` of that checkpoint
//!   (an **inclusion proof**, in the C2SP [tlog-proof](https://c2sp.org/tlog-proof) format,
//!   the entry and its signature carried as the format's extra data), or
//! - a later checkpoint extends an earlier one: the ledger was only appended to between them
//!   (a **consistency proof**; C2SP has no file format for one, so vouch defines one: a
//!   header, the older signed checkpoint, then exactly the body of a C2SP
//!   [tlog-witness](https://c2sp.org/tlog-witness) `add-checkpoint` request).
//!
//! Parsing is strict (one spelling of everything) and its errors name the line of the proof
//! file. Checking a well-formed proof gives a report whose `problems` say which check failed;
//! a failed check is a finding, not an error. Building a proof reads the ledger and checks the
//! checkpoint against it first, and the proof is verified before it is handed out. The module
//! never prints, panics or exits.

use std::fmt;

use crate::crypto::{Fingerprint, PublicKey};
use crate::error::{Error, Result};
use crate::format::checkpoint::{Checkpoint, MAX_NOTE_BYTES, Note, Verifier, vouch_verifier};
use crate::format::entry::{EntryHeader, LedgerId, MAX_ENTRY_LEN};
use crate::format::merkle::{self, Hash};

/// First line of an inclusion proof (C2SP tlog-proof, version 1).
pub const INCLUSION_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// First line of a consistency proof (vouch's own format; no other vouch object starts with
/// it).
pub const CONSISTENCY_HEADER: &str = "vouch/v1 consistency-proof";

/// Bytes of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// At most this many hash lines in a proof: a tree of fewer than 2^64 leaves needs at most
/// 64 (tlog-witness allows 63 for a consistency proof; vouch ledgers need about 20).
pub const MAX_HASHES: usize = 64;

/// At most this many bytes in a proof file: two signed notes of at most
/// [`MAX_NOTE_BYTES`] and room for the rest.
pub const MAX_PROOF_BYTES: usize = 2 * MAX_NOTE_BYTES + 65_536;

/// Origin prefix of vouch checkpoints (§13.1): the ledger id follows.
const ORIGIN_PREFIX: &str = "vouch.ledger/";

fn at(line: usize, message: impl fmt::Display) -> Error {
    Error::new(format!("line {line}: {message}"))
}

/// Move an error of a signed note that starts on line `shift + 1` of the proof to proof
/// line numbers, naming the part (`checkpoint`, `older checkpoint`, ...).
fn shift_error(e: &Error, shift: usize, part: &str) -> Error {
    let out = Error::new(shift_message(e.message(), shift, part));
    match e.hint_text() {
        Some(h) => out.hint(h),
        None => out,
    }
}

fn shift_message(msg: &str, shift: usize, part: &str) -> String {
    let numbered = msg.strip_prefix("line ").and_then(|rest| {
        let (n, tail) = rest.split_once(": ")?;
        let n: usize = n.parse().ok()?;
        Some((n, tail))
    });
    match numbered {
        Some((n, tail)) => format!("line {}: {part}: {tail}", n + shift),
        None => format!("line {}: {part}: {msg}", shift + 1),
    }
}

/// An ASCII decimal without sign or leading zeros (`0` alone) that fits in 64 bits.
fn parse_decimal(s: &str, what: &str) -> std::result::Result<u64, String> {
    if s.is_empty() {
        return Err(format!("empty {what}"));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} {s:?} is not a decimal number"));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(format!("{what} {s:?} has a leading zero"));
    }
    s.parse::<u64>()
        .map_err(|_| format!("{what} {s} does not fit in 64 bits"))
}

/// A signed vouch checkpoint (§13): the signed note and what its text says. Signatures are
/// not checked by parsing; see [`SignedCheckpoint::signers`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The signed note, byte for byte.
    pub note: Note,
    /// Its text: origin, size and root.
    pub checkpoint: Checkpoint,
    /// The ledger named by the origin.
    pub ledger: LedgerId,
}

impl SignedCheckpoint {
    /// Parse a signed checkpoint of a vouch ledger: a signed note (§13.2) whose text is a
    /// vouch checkpoint text (§13.1: origin `vouch.ledger/<ledger id>`, no extension lines).
    /// Errors name the 1-based line of the note.
    pub fn parse(s: &str) -> Result<Self> {
        Self::from_note(Note::parse(s)?)
    }

    /// The checkpoint of a parsed note (see [`SignedCheckpoint::parse`]).
    pub fn from_note(note: Note) -> Result<Self> {
        let cp = Checkpoint::parse(&note.text)?;
        let Some(ledger) = cp
            .origin
            .strip_prefix(ORIGIN_PREFIX)
            .and_then(LedgerId::parse)
        else {
            return Err(at(
                1,
                format!(
                    "origin {:?} is not a vouch ledger's ({ORIGIN_PREFIX} and 32 lowercase hex digits)",
                    cp.origin
                ),
            )
            .hint("vouch proves entries of vouch ledgers against their own checkpoints"));
        };
        let checkpoint = Checkpoint::parse_vouch(&note.text, &ledger)?;
        Ok(Self {
            note,
            checkpoint,
            ledger,
        })
    }

    /// The keys of `keys` whose signatures on this checkpoint verify (§13.4), without
    /// repeats, in signature-line order. An error (a finding for the caller) when none of
    /// the keys signed it, or when a signature by one of them does not verify; its message
    /// names the line of the note.
    pub fn signers(&self, keys: &[PublicKey]) -> Result<Vec<Fingerprint>> {
        let verifiers: Vec<Verifier> = keys
            .iter()
            .map(|k| vouch_verifier(&self.ledger, k))
            .collect();
        let known = |name: &str, id: [u8; 4]| {
            verifiers
                .iter()
                .any(|v| v.name() == name && v.key_id() == id)
        };
        if !self
            .note
            .signatures
            .iter()
            .any(|s| known(&s.name, s.key_id))
        {
            let ids: Vec<String> = self
                .note
                .signatures
                .iter()
                .map(|s| format!("{}+{}", s.name, hex::encode(s.key_id)))
                .collect();
            return Err(Error::new(format!(
                "not signed by any trusted key (its signature lines are by key {})",
                ids.join(", ")
            )));
        }
        let mut out: Vec<Fingerprint> = Vec::new();
        for sig in self.note.verify(&verifiers)? {
            if let Some(v) = verifiers.iter().find(|v| v.key_id() == sig.key_id) {
                let f = v.key().fingerprint();
                if !out.contains(&f) {
                    out.push(f);
                }
            }
        }
        Ok(out)
    }

    /// Lines of the signed note (text lines, the empty line, signature lines).
    fn line_count(&self) -> usize {
        self.note.text.matches('\n').count() + 1 + self.note.signatures.len()
    }
}

/// An inclusion proof (§15.1): entry `index + 1`, its signed text and signature, is leaf
/// `index` of the tree a signed checkpoint commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The exact entry text (§3).
    pub entry: Vec<u8>,
    /// Its Ed25519 signature.
    pub signature: [u8; SIGNATURE_LEN],
    /// Leaf index: the entry's seq − 1.
    pub index: u64,
    /// The audit path, sibling hashes from the leaf up (RFC 9162 §2.1.3.1).
    pub hashes: Vec<Hash>,
    /// The checkpoint it is proven against.
    pub checkpoint: SignedCheckpoint,
}

/// A consistency proof (§15.2): the tree of the newer checkpoint extends the tree of the
/// older one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The older checkpoint (size m).
    pub old: SignedCheckpoint,
    /// `PROOF(m, D[n])` (RFC 9162 §2.1.4.1).
    pub hashes: Vec<Hash>,
    /// The newer checkpoint (size n ≥ m).
    pub new: SignedCheckpoint,
}

/// A parsed proof file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// An inclusion proof.
    Inclusion(InclusionProof),
    /// A consistency proof.
    Consistency(ConsistencyProof),
}

/// The lines of a proof file (the text ends in LF), each with its byte offset.
struct Lines<'a> {
    text: &'a str,
    lines: Vec<(usize, &'a str)>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let body = text.strip_suffix('\n').unwrap_or(text);
        let mut lines = Vec::new();
        let mut offset = 0;
        for l in body.split('\n') {
            lines.push((offset, l));
            offset += l.len() + 1;
        }
        Self { text, lines }
    }

    /// Line `i` (0-based) or an error naming what was expected there.
    fn get(&self, i: usize, expected: &str) -> Result<&'a str> {
        self.lines.get(i).map(|l| l.1).ok_or_else(|| {
            at(
                self.lines.len(),
                format!("the proof ends here; expected {expected} on line {}", i + 1),
            )
        })
    }

    /// The first empty line at or after `i` (0-based).
    fn empty_from(&self, i: usize) -> Option<usize> {
        (i..self.lines.len()).find(|&j| self.lines[j].1.is_empty())
    }

    /// `<key> <decimal>` on line `i`.
    fn number(&self, i: usize, key: &str) -> Result<u64> {
        let line = self.get(i, &format!("\"{key} N\""))?;
        let Some(value) = line.strip_prefix(key).and_then(|r| r.strip_prefix(' ')) else {
            return Err(at(i + 1, format!("expected \"{key} N\", found {line:?}")));
        };
        parse_decimal(value, key).map_err(|m| at(i + 1, m))
    }

    /// Hash lines from line `i` up to an empty line; returns them and the empty line.
    fn hashes(&self, i: usize) -> Result<(Vec<Hash>, usize)> {
        let mut out = Vec::new();
        let mut j = i;
        loop {
            let Some(&(_, line)) = self.lines.get(j) else {
                return Err(at(
                    self.lines.len(),
                    "the proof ends here; expected an empty line and then a checkpoint",
                ));
            };
            if line.is_empty() {
                return Ok((out, j));
            }
            if out.len() == MAX_HASHES {
                return Err(at(j + 1, format!("more than {MAX_HASHES} hash lines")));
            }
            let hash = match crate::crypto::base64_decode(line).map(<[u8; 32]>::try_from) {
                Some(Ok(h)) => h,
                Some(Err(v)) => {
                    return Err(at(
                        j + 1,
                        format!("hash has {} bytes; expected 32", v.len()),
                    ));
                }
                None => {
                    return Err(at(
                        j + 1,
                        "not a hash: expected standard padded base64 of 32 bytes (RFC 4648 §4), or the empty line before the checkpoint",
                    ));
                }
            };
            out.push(hash);
            j += 1;
        }
    }

    /// The signed checkpoint on lines `start..end` (0-based; `end` exclusive, or the end of
    /// the file).
    fn checkpoint(&self, start: usize, end: Option<usize>, part: &str) -> Result<SignedCheckpoint> {
        let Some(&(from, _)) = self.lines.get(start) else {
            return Err(at(
                self.lines.len(),
                format!(
                    "the proof ends here; expected the {part} on line {}",
                    start + 1
                ),
            ));
        };
        let to = end
            .and_then(|e| self.lines.get(e))
            .map_or(self.text.len(), |l| l.0);
        SignedCheckpoint::parse(&self.text[from..to]).map_err(|e| shift_error(&e, start, part))
    }
}

/// Check the bytes of a proof file as text: size, UTF-8, no control characters but LF,
/// ending in LF.
fn proof_text(bytes: &[u8]) -> Result<&str> {
    if bytes.len() > MAX_PROOF_BYTES {
        return Err(Error::new(format!(
            "the proof has {} bytes; at most {MAX_PROOF_BYTES} are accepted",
            bytes.len()
        )));
    }
    if bytes.is_empty() {
        return Err(Error::new("the proof file is empty"));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        at(line, "not UTF-8 text")
    })?;
    let mut line = 1;
    for c in text.chars() {
        match c {
            '\n' => line += 1,
            '\r' => {
                return Err(at(line, "carriage return (U+000D): lines end in LF only")
                    .hint("convert CRLF line endings to LF"));
            }
            c if c < ' ' => {
                return Err(at(
                    line,
                    format!("control character U+{:04X} is not allowed", u32::from(c)),
                ));
            }
            _ => {}
        }
    }
    if !text.ends_with('\n') {
        return Err(at(line, "the proof does not end in a newline"));
    }
    Ok(text)
}

impl Proof {
    /// Parse a proof file strictly (§15): the header on line 1 says which kind it is. Errors
    /// name the 1-based line of the file.
    pub fn parse(bytes: &[u8]) -> Result<Proof> {
        let text = proof_text(bytes)?;
        let lines = Lines::new(text);
        match lines.get(0, "a header")? {
            INCLUSION_HEADER => InclusionProof::parse_lines(&lines).map(Proof::Inclusion),
            CONSISTENCY_HEADER => ConsistencyProof::parse_lines(&lines).map(Proof::Consistency),
            other => {
                let e = at(
                    1,
                    format!(
                        "not a vouch proof: the first line is {other:?}, not {INCLUSION_HEADER:?} or {CONSISTENCY_HEADER:?}"
                    ),
                );
                Err(if other.starts_with(ORIGIN_PREFIX) {
                    e.hint("this looks like a checkpoint; `vouch verify --checkpoint FILE` checks a ledger against one")
                } else {
                    e.hint("`vouch prove` writes proofs")
                })
            }
        }
    }
}

impl fmt::Display for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proof::Inclusion(p) => p.fmt(f),
            Proof::Consistency(p) => p.fmt(f),
        }
    }
}

impl InclusionProof {
    /// Parse an inclusion proof file strictly (§15.1).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        match Proof::parse(bytes)? {
            Proof::Inclusion(p) => Ok(p),
            Proof::Consistency(_) => Err(at(1, "a consistency proof, not an inclusion proof")),
        }
    }

    fn parse_lines(lines: &Lines<'_>) -> Result<Self> {
        let extra_line = lines.get(1, "\"extra <base64>\"")?;
        let Some(b64) = extra_line.strip_prefix("extra ") else {
            return Err(if extra_line.starts_with("index ") {
                at(
                    2,
                    "no extra line: a vouch inclusion proof carries the entry text and its signature as extra data, before the index line",
                )
            } else {
                at(
                    2,
                    format!("expected \"extra <base64>\", found {extra_line:?}"),
                )
            });
        };
        let Some(extra) = crate::crypto::base64_decode(b64) else {
            return Err(at(
                2,
                "extra data is not canonical standard base64 (RFC 4648 §4, padded)",
            ));
        };
        if extra.len() <= SIGNATURE_LEN || extra.len() > MAX_ENTRY_LEN + SIGNATURE_LEN {
            return Err(at(
                2,
                format!(
                    "extra data has {} bytes; a vouch proof's is an entry text of 1 to {MAX_ENTRY_LEN} bytes followed by its {SIGNATURE_LEN}-byte signature",
                    extra.len()
                ),
            ));
        }
        let (entry, sig) = extra.split_at(extra.len() - SIGNATURE_LEN);
        let mut signature = [0u8; SIGNATURE_LEN];
        signature.copy_from_slice(sig);
        let index = lines.number(2, "index")?;
        let (hashes, empty) = lines.hashes(3)?;
        let checkpoint = lines.checkpoint(empty + 1, None, "checkpoint")?;
        Ok(Self {
            entry: entry.to_vec(),
            signature,
            index,
            hashes,
            checkpoint,
        })
    }

    /// The entry's seq (index + 1).
    pub fn seq(&self) -> u64 {
        self.index.saturating_add(1)
    }

    /// Check the proof against trusted keys (§15.1, "Verifying"): every check is made and
    /// every failure reported, the entry's own first.
    pub fn verify(&self, trusted: &[PublicKey]) -> InclusionReport {
        let k = self.hashes.len();
        let cp = &self.checkpoint.checkpoint;
        let seq = self.seq();
        let mut problems = Vec::new();
        let entry = match EntryHeader::parse(&self.entry) {
            Ok(h) => Some(h),
            Err(e) => {
                problems.push(format!(
                    "line 2: the entry text in the extra data does not parse: {e}"
                ));
                None
            }
        };
        if let Some(h) = &entry {
            match trusted.iter().find(|t| t.fingerprint() == h.signer) {
                None => problems.push(format!(
                    "line 2: entry {} is signed by key {}, which is not one of the trusted keys",
                    h.seq, h.signer
                )),
                Some(key) if !key.verify(&self.entry, &self.signature) => {
                    problems.push(format!(
                        "line 2: the signature of entry {} does not verify with key {}: the entry text or its signature was altered",
                        h.seq, h.signer
                    ));
                }
                Some(_) => {}
            }
            if h.ledger != self.checkpoint.ledger {
                problems.push(format!(
                    "line 2: the entry is of ledger {}, the checkpoint of ledger {}",
                    h.ledger, self.checkpoint.ledger
                ));
            }
            if h.seq != seq {
                problems.push(format!(
                    "line 3: index {} is entry {seq}, but the entry text says seq {}",
                    self.index, h.seq
                ));
            }
        }
        if self.index >= cp.size {
            problems.push(format!(
                "line 3: index {} (entry {seq}) is not in the checkpoint of {} entries",
                self.index, cp.size
            ));
        } else if !merkle::verify_inclusion(
            &merkle::leaf_hash(&self.entry),
            self.index,
            cp.size,
            &self.hashes,
            &cp.root,
        ) {
            let lines = match k {
                0 => "no hash lines".to_string(),
                1 => "line 4".to_string(),
                _ => format!("lines 4–{}", 3 + k),
            };
            problems.push(format!(
                "the inclusion proof ({lines}) does not lead from the entry to the checkpoint's root {}: the entry is not entry {seq} of that checkpoint, or the proof was altered",
                hex::encode(cp.root)
            ));
        }
        let signed_by = match self.checkpoint.signers(trusted) {
            Ok(s) => s,
            Err(e) => {
                problems.push(shift_message(e.message(), 4 + k, "checkpoint"));
                Vec::new()
            }
        };
        InclusionReport {
            seq,
            entry,
            entry_hash: crate::crypto::sha256(&self.entry),
            checkpoint: CheckpointFacts::of(&self.checkpoint, signed_by),
            problems,
        }
    }
}

impl fmt::Display for InclusionProof {
    /// The proof file, byte for byte (§15.1).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut extra = Vec::with_capacity(self.entry.len() + SIGNATURE_LEN);
        extra.extend_from_slice(&self.entry);
        extra.extend_from_slice(&self.signature);
        writeln!(f, "{INCLUSION_HEADER}")?;
        writeln!(f, "extra {}", crate::crypto::base64_encode(&extra))?;
        writeln!(f, "index {}", self.index)?;
        for h in &self.hashes {
            writeln!(f, "{}", crate::crypto::base64_encode(h.as_slice()))?;
        }
        writeln!(f)?;
        write!(f, "{}", self.checkpoint.note)
    }
}

impl ConsistencyProof {
    /// Parse a consistency proof file strictly (§15.2).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        match Proof::parse(bytes)? {
            Proof::Consistency(p) => Ok(p),
            Proof::Inclusion(_) => Err(at(1, "an inclusion proof, not a consistency proof")),
        }
    }

    fn parse_lines(lines: &Lines<'_>) -> Result<Self> {
        let first = lines.get(1, "the older checkpoint")?;
        if first.is_empty() {
            return Err(at(
                2,
                "empty line where the older checkpoint's origin line should be",
            ));
        }
        let Some(text_end) = lines.empty_from(1) else {
            return Err(at(
                lines.lines.len(),
                "the proof ends here; expected the empty line after the older checkpoint's text",
            ));
        };
        let Some(sig_end) = lines.empty_from(text_end + 1) else {
            return Err(at(
                lines.lines.len(),
                "the proof ends here; expected the empty line after the older checkpoint's signature lines",
            ));
        };
        let old = lines.checkpoint(1, Some(sig_end), "older checkpoint")?;
        let m = lines.number(sig_end + 1, "old")?;
        if m != old.checkpoint.size {
            return Err(at(
                sig_end + 2,
                format!(
                    "old size {m} is not the older checkpoint's size {} (line 3)",
                    old.checkpoint.size
                ),
            ));
        }
        let (hashes, empty) = lines.hashes(sig_end + 2)?;
        let new = lines.checkpoint(empty + 1, None, "newer checkpoint")?;
        Ok(Self { old, hashes, new })
    }

    /// Line of the `old` line (1-based).
    fn old_line(&self) -> usize {
        self.old.line_count() + 3
    }

    /// Check the proof against trusted keys (§15.2, "Verifying").
    pub fn verify(&self, trusted: &[PublicKey]) -> ConsistencyReport {
        let (a, b) = (&self.old.checkpoint, &self.new.checkpoint);
        let (m, n) = (a.size, b.size);
        let old_line = self.old_line();
        let k = self.hashes.len();
        let mut problems = Vec::new();
        if self.old.ledger != self.new.ledger {
            problems.push(format!(
                "the checkpoints are of different ledgers: {} (line 2) and {} (line {})",
                self.old.ledger,
                self.new.ledger,
                old_line + k + 2
            ));
        } else if m > n {
            problems.push(format!(
                "the older checkpoint has more entries ({m}) than the newer one ({n})"
            ));
        } else if !merkle::verify_consistency(m, n, &a.root, &b.root, &self.hashes) {
            problems.push(if m == n {
                format!(
                    "both checkpoints cover {m} entries but their roots differ ({} and {}): the ledger was forked or rewritten",
                    hex::encode(a.root),
                    hex::encode(b.root)
                )
            } else {
                let lines = match k {
                    0 => "no hash lines".to_string(),
                    1 => format!("line {}", old_line + 1),
                    _ => format!("lines {}–{}", old_line + 1, old_line + k),
                };
                format!(
                    "the consistency proof ({lines}) does not show that the checkpoint of {n} entries extends the checkpoint of {m}: the ledger was forked or rewritten between them, or the proof was altered"
                )
            });
        }
        let mut signers =
            |cp: &SignedCheckpoint, shift: usize, part: &str| match cp.signers(trusted) {
                Ok(s) => s,
                Err(e) => {
                    problems.push(shift_message(e.message(), shift, part));
                    Vec::new()
                }
            };
        let old_by = signers(&self.old, 1, "older checkpoint");
        let new_by = signers(&self.new, old_line + k + 1, "newer checkpoint");
        ConsistencyReport {
            old: CheckpointFacts::of(&self.old, old_by),
            new: CheckpointFacts::of(&self.new, new_by),
            problems,
        }
    }
}

impl fmt::Display for ConsistencyProof {
    /// The proof file, byte for byte (§15.2).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{CONSISTENCY_HEADER}")?;
        writeln!(f, "{}", self.old.note)?;
        writeln!(f, "old {}", self.old.checkpoint.size)?;
        for h in &self.hashes {
            writeln!(f, "{}", crate::crypto::base64_encode(h.as_slice()))?;
        }
        writeln!(f)?;
        write!(f, "{}", self.new.note)
    }
}

/// What a checkpoint in a proof says, and which trusted keys signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointFacts {
    /// The origin line.
    pub origin: String,
    /// The ledger it names.
    pub ledger: LedgerId,
    /// Entries covered.
    pub size: u64,
    /// The Merkle root of entries `1..=size`.
    pub root: Hash,
    /// Fingerprints of the trusted keys whose signatures verified (empty if none).
    pub signed_by: Vec<Fingerprint>,
}

impl CheckpointFacts {
    fn of(cp: &SignedCheckpoint, signed_by: Vec<Fingerprint>) -> Self {
        Self {
            origin: cp.checkpoint.origin.clone(),
            ledger: cp.ledger,
            size: cp.checkpoint.size,
            root: cp.checkpoint.root,
            signed_by,
        }
    }
}

/// The result of checking an inclusion proof.
#[derive(Debug, Clone)]
pub struct InclusionReport {
    /// The entry the proof is about (its index + 1).
    pub seq: u64,
    /// The entry text's fields, if it parses.
    pub entry: Option<EntryHeader>,
    /// SHA-256 of the entry text (its entry hash, §3).
    pub entry_hash: Hash,
    /// The checkpoint.
    pub checkpoint: CheckpointFacts,
    /// Every check that failed, in order, each naming the line of the proof concerned.
    pub problems: Vec<String>,
}

impl InclusionReport {
    /// No check failed.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The result of checking a consistency proof.
#[derive(Debug, Clone)]
pub struct ConsistencyReport {
    /// The older checkpoint.
    pub old: CheckpointFacts,
    /// The newer checkpoint.
    pub new: CheckpointFacts,
    /// Every check that failed, in order.
    pub problems: Vec<String>,
}

impl ConsistencyReport {
    /// No check failed.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}
