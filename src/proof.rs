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

use base64::Engine as _;
use std::fmt;

use crate::crypto::{Fingerprint, PublicKey};
use crate::error::{Error, Result};
use crate::format::checkpoint::{
    Checkpoint, MAX_NOTE_BYTES, Note, Verifier, vouch_origin, vouch_verifier,
};
use crate::format::entry::{EntryHeader, LedgerId, MAX_ENTRY_LEN};
use crate::format::merkle::{self, Hash};
use crate::ledger::Ledger;

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

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Standard padded base64, accepted only in its one canonical spelling.
fn decode_b64(s: &str) -> Option<Vec<u8>> {
    let bytes = B64.decode(s).ok()?;
    (B64.encode(&bytes) == s).then_some(bytes)
}

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
            let hash = match decode_b64(line).map(<[u8; 32]>::try_from) {
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
        let Some(extra) = decode_b64(b64) else {
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
        writeln!(f, "extra {}", B64.encode(extra))?;
        writeln!(f, "index {}", self.index)?;
        for h in &self.hashes {
            writeln!(f, "{}", B64.encode(h))?;
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
            writeln!(f, "{}", B64.encode(h))?;
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

/// What building a proof gave: the proof, or why this ledger cannot give one (a
/// verification finding — the ledger does not match the checkpoint —, not an error).
#[derive(Debug, Clone)]
pub enum Built<T> {
    /// The proof, already verified with the ledger's registered keys.
    Proof(T),
    /// Why not.
    Refused(String),
}

/// The public keys registered in the ledger (every party key, ever).
pub fn registered_keys(ledger: &Ledger) -> Result<Vec<PublicKey>> {
    ledger
        .store()
        .keys()?
        .iter()
        .map(|k| {
            PublicKey::from_spki_base64(&k.public_key).map_err(|e| {
                e.context(format!("registered key {}", k.fingerprint))
                    .hint("run `vouch verify`: the ledger looks damaged")
            })
        })
        .collect()
}

/// The newest checkpoint recorded in the ledger (the note of the newest `checkpoint` entry,
/// §13), with that entry's seq; `None` if there is none.
pub fn newest_recorded_checkpoint(ledger: &Ledger) -> Result<Option<(u64, SignedCheckpoint)>> {
    let rows = ledger.store().entries_of_kind("checkpoint")?;
    let Some(row) = rows.last() else {
        return Ok(None);
    };
    let seq = u64::try_from(row.seq).unwrap_or(0);
    let damaged = |what: String| {
        Error::new(format!("the checkpoint recorded as entry {seq}: {what}"))
            .hint("run `vouch verify`: the ledger looks damaged")
    };
    let payload: serde_json::Value =
        serde_json::from_slice(&row.payload).map_err(|e| damaged(format!("payload: {e}")))?;
    let Some(note) = payload.get("note").and_then(serde_json::Value::as_str) else {
        return Err(damaged("payload has no \"note\" string".into()));
    };
    let cp = SignedCheckpoint::parse(note).map_err(|e| damaged(e.message().to_string()))?;
    Ok(Some((seq, cp)))
}

/// Check a checkpoint against the ledger before proving with it: it must be of this ledger
/// (else an error), cover entries the ledger has, have this ledger's root at its size, and
/// carry a valid signature by a registered key (else a refusal).
fn check_against(
    ledger: &Ledger,
    id: &LedgerId,
    keys: &[PublicKey],
    cp: &SignedCheckpoint,
    part: &str,
) -> Result<Option<String>> {
    if cp.ledger != *id {
        return Err(Error::new(format!(
            "the {part} is of another ledger: its origin is {:?}, this ledger's is {:?}",
            cp.checkpoint.origin,
            vouch_origin(id)
        ))
        .hint(
            "pass a checkpoint of this ledger, or point --ledger at the ledger it was made from",
        ));
    }
    let size = cp.checkpoint.size;
    if size > 0 {
        let last = i64::try_from(size).ok();
        let present = match last {
            Some(s) => ledger.store().entry(s)?.is_some(),
            None => false,
        };
        if !present {
            return Ok(Some(format!(
                "ledger does not match the {part}: the checkpoint covers {size} entries, and this ledger has no entry {size} (it was truncated, or is an older copy)"
            )));
        }
    }
    let root = ledger.store().merkle_root(size)?;
    if root != cp.checkpoint.root {
        return Ok(Some(format!(
            "ledger does not match the {part}: the Merkle root of entries 1–{size} is {}, the checkpoint says {} (the ledger was rewritten after the checkpoint was signed, or the checkpoint was not made from it)",
            hex::encode(root),
            hex::encode(cp.checkpoint.root)
        )));
    }
    if let Err(e) = cp.signers(keys) {
        return Ok(Some(format!(
            "the {part} is not validly signed by a key registered in this ledger: {}",
            e.message()
        )));
    }
    Ok(None)
}

/// Hand out a proof only if its own file reads back as itself and verifies with the
/// ledger's registered keys (a damaged ledger row gives a refusal, not a bad proof).
fn self_check<T: fmt::Display + PartialEq>(
    proof: T,
    parse: fn(&[u8]) -> Result<T>,
    problems: Vec<String>,
) -> Built<T> {
    if !problems.is_empty() {
        return Built::Refused(format!(
            "the ledger's stored data does not make a valid proof: {}; run `vouch verify`",
            problems.join("; ")
        ));
    }
    match parse(proof.to_string().as_bytes()) {
        Ok(back) if back == proof => Built::Proof(proof),
        Ok(_) => Built::Refused(
            "the proof does not read back as written; run `vouch verify`".to_string(),
        ),
        Err(e) => Built::Refused(format!(
            "the proof does not read back: {}; run `vouch verify`",
            e.message()
        )),
    }
}

/// Build the inclusion proof of entry `seq` against a checkpoint of this ledger (§15.1).
///
/// Errors: seq 0, seq beyond the checkpoint's size, a checkpoint of another ledger, I/O.
/// Refusals (findings): the ledger lacks entries the checkpoint covers, its root at the
/// checkpoint's size differs, or no registered key validly signed the checkpoint.
pub fn prove_inclusion(
    ledger: &Ledger,
    seq: u64,
    checkpoint: &SignedCheckpoint,
) -> Result<Built<InclusionProof>> {
    let id = ledger.id()?;
    let size = checkpoint.checkpoint.size;
    if seq == 0 {
        return Err(Error::new(
            "there is no entry 0: entries are numbered from 1",
        ));
    }
    if seq > size {
        return Err(Error::new(format!(
            "entry {seq} is not covered by the checkpoint of {size} entries (entries 1–{size})"
        ))
        .hint("prove it against a later checkpoint: make one with `vouch checkpoint --key K`, or pass --checkpoint FILE"));
    }
    let keys = registered_keys(ledger)?;
    if let Some(why) = check_against(ledger, &id, &keys, checkpoint, "checkpoint")? {
        return Ok(Built::Refused(why));
    }
    let row = i64::try_from(seq)
        .ok()
        .map(|s| ledger.store().entry(s))
        .transpose()?
        .flatten()
        .ok_or_else(|| {
            Error::new(format!("entry {seq} is missing from the ledger"))
                .hint("run `vouch verify`: the ledger looks damaged")
        })?;
    let Ok(signature) = <[u8; SIGNATURE_LEN]>::try_from(row.signature.as_slice()) else {
        return Ok(Built::Refused(format!(
            "entry {seq}'s stored signature has {} bytes, not {SIGNATURE_LEN}; run `vouch verify`",
            row.signature.len()
        )));
    };
    let hashes = ledger.store().inclusion_proof(seq, size)?;
    let proof = InclusionProof {
        entry: row.body,
        signature,
        index: seq - 1,
        hashes,
        checkpoint: checkpoint.clone(),
    };
    let problems = proof.verify(&keys).problems;
    Ok(self_check(proof, InclusionProof::parse, problems))
}

/// Build the consistency proof from an older to a newer checkpoint of this ledger (§15.2).
///
/// Errors: a checkpoint of another ledger, the older one larger than the newer, I/O.
/// Refusals (findings): either checkpoint does not match the ledger (see
/// [`prove_inclusion`]).
pub fn prove_consistency(
    ledger: &Ledger,
    old: &SignedCheckpoint,
    new: &SignedCheckpoint,
) -> Result<Built<ConsistencyProof>> {
    let id = ledger.id()?;
    let (m, n) = (old.checkpoint.size, new.checkpoint.size);
    if m > n {
        return Err(Error::new(format!(
            "the older checkpoint covers {m} entries, more than the newer one's {n}"
        ))
        .hint("the older checkpoint comes first: swap --from and --to"));
    }
    let keys = registered_keys(ledger)?;
    for (cp, part) in [(old, "older checkpoint"), (new, "newer checkpoint")] {
        if let Some(why) = check_against(ledger, &id, &keys, cp, part)? {
            return Ok(Built::Refused(why));
        }
    }
    let hashes = ledger.store().consistency_proof(m, n)?;
    let proof = ConsistencyProof {
        old: old.clone(),
        hashes,
        new: new.clone(),
    };
    let problems = proof.verify(&keys).problems;
    Ok(self_check(proof, ConsistencyProof::parse, problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::format::checkpoint::Checkpoint;
    use crate::format::entry::parse_time;
    use crate::format::merkle::MemoryTree;
    use crate::format::payload::Role;
    use crate::ledger::Access;
    use crate::ledger::{NewParty, NoProgress};
    use std::path::Path;

    fn provider() -> SecretKey {
        SecretKey::from_seed(&[9u8; 32])
    }

    fn customer() -> SecretKey {
        SecretKey::from_seed(&[10u8; 32])
    }

    fn append(l: &mut Ledger, key: &SecretKey, n: usize) {
        let t = parse_time("2026-07-01T00:00:00Z").unwrap();
        l.append(key, crate::ledger::restore_drafts(n, t), t, &NoProgress)
            .unwrap();
    }

    /// Genesis (provider), the customer registered, then `n` customer evidence entries.
    fn ledger(path: &Path, n: usize) -> Ledger {
        let t = parse_time("2026-07-01T00:00:00Z").unwrap();
        let p = NewParty {
            id: "provider".into(),
            name: "P".into(),
            role: Role::Provider,
        };
        let (mut l, _) = Ledger::init(path, LedgerId([5u8; 16]), &p, &provider(), t).unwrap();
        let c = NewParty {
            id: "customer".into(),
            name: "C".into(),
            role: Role::Customer,
        };
        l.add_party(&c, &customer().public(), &provider(), t)
            .unwrap();
        append(&mut l, &customer(), n);
        l
    }

    fn sign(l: &Ledger, size: u64, key: &SecretKey) -> SignedCheckpoint {
        let origin = vouch_origin(&l.id().unwrap());
        let note = Checkpoint {
            origin: origin.clone(),
            size,
            root: l.store().merkle_root(size).unwrap(),
            extensions: vec![],
        }
        .sign(&origin, key)
        .unwrap();
        SignedCheckpoint::from_note(note).unwrap()
    }

    fn keys() -> Vec<PublicKey> {
        vec![provider().public(), customer().public()]
    }

    fn proof<T>(b: Built<T>) -> T {
        match b {
            Built::Proof(p) => p,
            Built::Refused(why) => panic!("refused: {why}"),
        }
    }

    fn refused<T>(b: Built<T>) -> String {
        match b {
            Built::Proof(_) => panic!("expected a refusal"),
            Built::Refused(why) => why,
        }
    }

    /// Parse and verify; `Err` for a parse error, `Ok(problems)` otherwise.
    fn check(bytes: &[u8], trusted: &[PublicKey]) -> std::result::Result<Vec<String>, String> {
        match Proof::parse(bytes) {
            Err(e) => Err(e.message().to_string()),
            Ok(Proof::Inclusion(p)) => Ok(p.verify(trusted).problems),
            Ok(Proof::Consistency(p)) => Ok(p.verify(trusted).problems),
        }
    }

    /// Every single-byte change (several substitutions per byte), deletion and insertion
    /// makes the proof fail to parse or to verify.
    fn every_change_fails(good: &[u8]) {
        assert_eq!(check(good, &keys()), Ok(vec![]));
        for i in 0..good.len() {
            for x in [0x01u8, 0x02, 0x04, 0x20, 0x40, 0x80] {
                let mut b = good.to_vec();
                b[i] ^= x;
                let r = check(&b, &keys());
                assert!(
                    !matches!(&r, Ok(p) if p.is_empty()),
                    "byte {i} ^ {x:#x} still verifies"
                );
            }
            let mut b = good.to_vec();
            b.remove(i);
            assert!(
                !matches!(check(&b, &keys()), Ok(p) if p.is_empty()),
                "byte {i} removed"
            );
            let mut b = good.to_vec();
            b.insert(i, b'A');
            assert!(
                !matches!(check(&b, &keys()), Ok(p) if p.is_empty()),
                "A inserted at {i}"
            );
        }
    }

    #[test]
    fn proof_inclusion_round_trips_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir.path().join("l.db"), 20);
        let cp = sign(&l, 22, &provider());
        for seq in [1u64, 2, 3, 16, 17, 21, 22] {
            let p = proof(prove_inclusion(&l, seq, &cp).unwrap());
            let text = p.to_string();
            assert!(text.starts_with(&format!("{INCLUSION_HEADER}\nextra ")));
            assert!(text.contains(&format!("\nindex {}\n", seq - 1)));
            assert!(text.ends_with(&cp.note.to_string()));
            let back = InclusionProof::parse(text.as_bytes()).unwrap();
            assert_eq!(back, p);
            assert_eq!(back.to_string(), text);
            let r = back.verify(&keys());
            assert!(r.ok(), "{:?}", r.problems);
            assert_eq!(r.seq, seq);
            let h = r.entry.unwrap();
            assert_eq!(h.seq, seq);
            let row = l.store().entry(seq as i64).unwrap().unwrap();
            assert_eq!(p.entry, row.body);
            assert_eq!(p.signature.as_slice(), row.signature.as_slice());
            assert_eq!(r.checkpoint.size, 22);
            assert_eq!(
                r.checkpoint.signed_by,
                vec![provider().public().fingerprint()]
            );
            let want = if seq <= 2 { provider() } else { customer() };
            assert_eq!(h.signer, want.public().fingerprint());
        }
    }

    #[test]
    fn proof_inclusion_every_single_byte_change_fails() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir.path().join("l.db"), 9);
        let cp = sign(&l, 11, &provider());
        let p = proof(prove_inclusion(&l, 6, &cp).unwrap());
        every_change_fails(p.to_string().as_bytes());
    }

    #[test]
    fn proof_cosigned_checkpoint_counts_only_valid_trusted_signatures() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir.path().join("l.db"), 3);
        let mut cp = sign(&l, 5, &provider());
        let origin = cp.checkpoint.origin.clone();
        cp.note.cosign(&origin, &customer()).unwrap();
        let p = proof(prove_inclusion(&l, 4, &cp).unwrap());
        let both = vec![
            provider().public().fingerprint(),
            customer().public().fingerprint(),
        ];
        assert_eq!(p.verify(&keys()).checkpoint.signed_by, both);
        // The customer's signature altered: a trusted key's signature fails, so the proof does.
        let mut bad = p.clone();
        bad.checkpoint.note.signatures[1].signature[0] ^= 1;
        let r = bad.verify(&keys());
        assert_eq!(r.problems.len(), 1);
        assert!(
            r.problems[0].starts_with("line 13: checkpoint: signature by key"),
            "{:?}",
            r.problems
        );
        // Its key ID altered: now a line by some other key, which signed-note ignores; the
        // proof holds on the provider's signature alone, and the report says only it counted.
        let mut other = p.clone();
        other.checkpoint.note.signatures[1].key_id[0] ^= 1;
        let r = other.verify(&keys());
        assert!(r.ok(), "{:?}", r.problems);
        assert_eq!(r.checkpoint.signed_by, both[..1]);
    }

    #[test]
    fn proof_consistency_round_trips_verifies_and_every_change_fails() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir.path().join("l.db"), 40);
        let cp = |s| sign(&l, s, &provider());
        for (m, n) in [(0, 5), (1, 42), (3, 3), (16, 17), (5, 42), (42, 42)] {
            let p = proof(prove_consistency(&l, &cp(m), &cp(n)).unwrap());
            let text = p.to_string();
            assert!(text.starts_with(&format!("{CONSISTENCY_HEADER}\n{}\nold {m}\n", cp(m).note)));
            assert!(text.ends_with(&cp(n).note.to_string()));
            let back = ConsistencyProof::parse(text.as_bytes()).unwrap();
            assert_eq!(back, p);
            assert_eq!(back.to_string(), text);
            let r = back.verify(&keys());
            assert!(r.ok(), "{m} to {n}: {:?}", r.problems);
            assert_eq!((r.old.size, r.new.size), (m, n));
        }
        let p = proof(prove_consistency(&l, &cp(7), &cp(30)).unwrap());
        every_change_fails(p.to_string().as_bytes());
    }

    #[test]
    fn proof_a_forked_ledger_fails_consistency() {
        // Two ledgers with the same id and genesis that part after entry 3.
        let dir = tempfile::tempdir().unwrap();
        let a = ledger(&dir.path().join("a.db"), 1);
        let mut b = ledger(&dir.path().join("b.db"), 1);
        let mut a = a;
        append(&mut a, &customer(), 6);
        append(&mut b, &provider(), 4);
        assert_eq!(sign(&a, 3, &provider()), sign(&b, 3, &provider()));
        let a9 = sign(&a, 9, &provider());
        let b5 = sign(&b, 5, &provider());
        // Each ledger proves its own history ...
        let good = proof(prove_consistency(&a, &sign(&a, 5, &provider()), &a9).unwrap());
        assert!(good.verify(&keys()).ok());
        proof(prove_consistency(&b, &sign(&b, 3, &provider()), &b5).unwrap());
        // ... but not the other's.
        let why = refused(prove_consistency(&a, &b5, &a9).unwrap());
        assert!(
            why.starts_with(
                "ledger does not match the older checkpoint: the Merkle root of entries 1–5 is"
            ),
            "{why}"
        );
        // A proof with the fork's checkpoint in place of the genuine one fails.
        let forged = ConsistencyProof {
            old: b5.clone(),
            ..good.clone()
        };
        let r = forged.verify(&keys());
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        assert!(
            r.problems[0].contains("forked or rewritten"),
            "{:?}",
            r.problems
        );
        // Same size, different roots.
        let same = ConsistencyProof {
            old: b5,
            hashes: vec![],
            new: sign(&a, 5, &provider()),
        };
        let r = same.verify(&keys());
        assert!(
            r.problems[0].starts_with("both checkpoints cover 5 entries but their roots differ"),
            "{:?}",
            r.problems
        );
        // Inclusion of a's entry 5 in b's checkpoint of 5 fails.
        let mut p = proof(prove_inclusion(&a, 5, &sign(&a, 5, &provider())).unwrap());
        p.checkpoint = sign(&b, 5, &provider());
        let r = p.verify(&keys());
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        assert!(
            r.problems[0].starts_with("the inclusion proof (line 4) does not lead"),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn proof_findings_name_the_failed_check() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir.path().join("l.db"), 3);
        let cp = sign(&l, 5, &provider());
        let good = proof(prove_inclusion(&l, 4, &cp).unwrap());
        let problems = |p: &InclusionProof, keys: &[PublicKey]| p.verify(keys).problems;
        // Only the provider trusted: the entry's signer (the customer) is not.
        let only = [provider().public()];
        assert_eq!(
            problems(&good, &only),
            [format!(
                "line 2: entry 4 is signed by key {}, which is not one of the trusted keys",
                customer().public().fingerprint()
            )]
        );
        // Only the customer trusted: nobody trusted signed the checkpoint.
        let p = problems(&good, &[customer().public()]);
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("line 8: checkpoint: not signed by any trusted key"),
            "{p:?}"
        );
        // The signature altered.
        let mut bad = good.clone();
        bad.signature[10] ^= 1;
        assert_eq!(
            problems(&bad, &keys()),
            [format!(
                "line 2: the signature of entry 4 does not verify with key {}: the entry text or its signature was altered",
                customer().public().fingerprint()
            )]
        );
        // The entry text altered: signature and inclusion fail.
        let mut bad = good.clone();
        let pos = bad.entry.iter().position(|&b| b == b'T').unwrap();
        bad.entry[pos - 1] = b'2';
        let p = problems(&bad, &keys());
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("does not verify with key"));
        assert!(p[1].starts_with("the inclusion proof (lines 4–6) does not lead"));
        // The index changed.
        let mut bad = good.clone();
        bad.index = 2;
        let p = problems(&bad, &keys());
        assert_eq!(
            p[0],
            "line 3: index 2 is entry 3, but the entry text says seq 4"
        );
        bad.index = 5;
        let p = problems(&bad, &keys());
        assert_eq!(
            p[1],
            "line 3: index 5 (entry 6) is not in the checkpoint of 5 entries"
        );
        // The checkpoint's signature altered: the note's signature line is line 8.
        let mut bad = good.clone();
        bad.checkpoint.note.signatures[0].signature[3] ^= 4;
        let p = problems(&bad, &keys());
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("line 12: checkpoint: signature by key vouch.ledger/"),
            "{p:?}"
        );
        // The entry from another ledger.
        let mut bad = good.clone();
        let other = "ledger: 06060606060606060606060606060606";
        let text = String::from_utf8(bad.entry.clone()).unwrap();
        let line = text.lines().nth(1).unwrap().to_string();
        bad.entry = text.replace(&line, other).into_bytes();
        bad.signature = customer().sign(&bad.entry);
        let p = problems(&bad, &keys());
        assert_eq!(
            p[0],
            "line 2: the entry is of ledger 06060606060606060606060606060606, the checkpoint of ledger 05050505050505050505050505050505"
        );
        // Not parseable entry text.
        let mut bad = good;
        bad.entry = b"hello\n".to_vec();
        let p = problems(&bad, &keys());
        assert!(
            p[0].starts_with(
                "line 2: the entry text in the extra data does not parse: entry text line"
            ),
            "{p:?}"
        );
    }

    #[test]
    fn proof_malformed_files_are_errors_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir.path().join("l.db"), 3);
        let cp = sign(&l, 5, &provider());
        let good = proof(prove_inclusion(&l, 4, &cp).unwrap()).to_string();
        let cons =
            proof(prove_consistency(&l, &sign(&l, 2, &provider()), &cp).unwrap()).to_string();
        let lines: Vec<&str> = good.lines().collect();
        let clines: Vec<&str> = cons.lines().collect();
        let with = |ls: &[&str], i: usize, s: &str| {
            let mut v: Vec<String> = ls.iter().map(|x| x.to_string()).collect();
            v[i] = s.to_string();
            v.join("\n") + "\n"
        };
        let err = |s: &str| {
            Proof::parse(s.as_bytes())
                .unwrap_err()
                .message()
                .to_string()
        };
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "the proof file is empty"),
            (
                good.replace('\n', "\r\n"),
                "line 1: carriage return (U+000D): lines end in LF only",
            ),
            (
                good.trim_end().to_string(),
                "line 12: the proof does not end in a newline",
            ),
            (
                with(&lines, 0, "c2sp.org/tlog-proof@v2"),
                "line 1: not a vouch proof: the first line is \"c2sp.org/tlog-proof@v2\", not \"c2sp.org/tlog-proof@v1\" or \"vouch/v1 consistency-proof\"",
            ),
            (
                format!("{INCLUSION_HEADER}\n"),
                "line 1: the proof ends here; expected \"extra <base64>\" on line 2",
            ),
            (
                with(&lines, 1, "index 3"),
                "line 2: no extra line: a vouch inclusion proof carries the entry text and its signature as extra data, before the index line",
            ),
            (
                with(&lines, 1, "extra AAAA"),
                "line 2: extra data has 3 bytes; a vouch proof's is an entry text of 1 to 512 bytes followed by its 64-byte signature",
            ),
            (
                with(&lines, 1, "extra AAA"),
                "line 2: extra data is not canonical standard base64 (RFC 4648 §4, padded)",
            ),
            (
                with(&lines, 1, "extra  AAAA"),
                "line 2: extra data is not canonical standard base64 (RFC 4648 §4, padded)",
            ),
            (
                with(&lines, 2, "index 03"),
                "line 3: index \"03\" has a leading zero",
            ),
            (
                with(&lines, 2, "index -3"),
                "line 3: index \"-3\" is not a decimal number",
            ),
            (
                with(&lines, 2, "index 18446744073709551616"),
                "line 3: index 18446744073709551616 does not fit in 64 bits",
            ),
            (
                with(&lines, 2, "Index 3"),
                "line 3: expected \"index N\", found \"Index 3\"",
            ),
            (
                with(&lines, 3, "AAAA"),
                "line 4: hash has 3 bytes; expected 32",
            ),
            (
                with(&lines, 3, "not base64!"),
                "line 4: not a hash: expected standard padded base64 of 32 bytes (RFC 4648 §4), or the empty line before the checkpoint",
            ),
            (
                with(&lines, 6, "x"),
                "line 7: not a hash: expected standard padded base64 of 32 bytes (RFC 4648 §4), or the empty line before the checkpoint",
            ),
            (
                lines[..7].join("\n") + "\n",
                "line 7: the proof ends here; expected the checkpoint on line 8",
            ),
            (
                with(&lines, 9, "VpugHr+0ACX3X0TsJQTicaxR1ZAkzdOA4uUbxWH6sfA"),
                "line 10: checkpoint: root hash is not canonical standard base64 (RFC 4648 §4, padded)",
            ),
            (
                with(&lines, 8, "01"),
                "line 9: checkpoint: tree size \"01\" has a leading zero",
            ),
            (
                with(&lines, 7, "example.com/log"),
                "line 8: checkpoint: origin \"example.com/log\" is not a vouch ledger's (vouch.ledger/ and 32 lowercase hex digits)",
            ),
            (
                with(&lines, 11, "- x y"),
                "line 12: checkpoint: signature line starts with '-', not an em dash (U+2014)",
            ),
            (
                format!("{good}x\n"),
                "line 13: checkpoint: not a signature line (em dash U+2014, space, key name, space, base64)",
            ),
            (
                with(&lines, 9, &format!("{}\nextension", lines[9])),
                "line 11: checkpoint: vouch checkpoints have no extension lines",
            ),
            // Consistency proofs.
            (
                with(&clines, 1, ""),
                "line 2: empty line where the older checkpoint's origin line should be",
            ),
            (
                with(&clines, 7, "old 3"),
                "line 8: old size 3 is not the older checkpoint's size 2 (line 3)",
            ),
            (
                with(&clines, 7, "new 2"),
                "line 8: expected \"old N\", found \"new 2\"",
            ),
            (
                with(&clines, 5, "x"),
                "line 6: older checkpoint: not a signature line (em dash U+2014, space, key name, space, base64)",
            ),
            (
                with(&clines, 2, "2x"),
                "line 3: older checkpoint: tree size \"2x\" is not a decimal number",
            ),
            (
                clines[..6].join("\n") + "\n",
                "line 6: the proof ends here; expected the empty line after the older checkpoint's signature lines",
            ),
            (
                with(&clines, clines.len() - 4, "5 "),
                format!(
                    "line {}: newer checkpoint: tree size \"5 \" is not a decimal number",
                    clines.len() - 3
                )
                .leak(),
            ),
        ];
        for (text, want) in &cases {
            assert_eq!(&err(text), want, "{text:?}");
        }
        let mut bytes = good.clone().into_bytes();
        bytes[30] = 0xff;
        assert_eq!(
            Proof::parse(&bytes).unwrap_err().message(),
            "line 2: not UTF-8 text"
        );
        bytes[30] = 0x07;
        assert_eq!(
            Proof::parse(&bytes).unwrap_err().message(),
            "line 2: control character U+0007 is not allowed"
        );
        // Too many hash lines.
        let many = format!(
            "{INCLUSION_HEADER}\n{}\n{}\n{}",
            lines[1],
            lines[2],
            format!("{}\n", lines[3]).repeat(65)
        );
        assert_eq!(err(&many), "line 68: more than 64 hash lines");
        // One kind where the other is expected.
        assert_eq!(
            InclusionProof::parse(cons.as_bytes())
                .unwrap_err()
                .message(),
            "line 1: a consistency proof, not an inclusion proof"
        );
        assert_eq!(
            ConsistencyProof::parse(good.as_bytes())
                .unwrap_err()
                .message(),
            "line 1: an inclusion proof, not a consistency proof"
        );
    }

    #[test]
    fn proof_refusals_and_errors_of_prove() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir.path().join("l.db"), 3);
        let cp = sign(&l, 4, &provider());
        let msg = |r: Result<Built<InclusionProof>>| r.unwrap_err().message().to_string();
        assert_eq!(
            msg(prove_inclusion(&l, 0, &cp)),
            "there is no entry 0: entries are numbered from 1"
        );
        assert_eq!(
            msg(prove_inclusion(&l, 5, &cp)),
            "entry 5 is not covered by the checkpoint of 4 entries (entries 1–4)"
        );
        // Another ledger's checkpoint.
        let mut foreign = Checkpoint {
            origin: vouch_origin(&LedgerId([6u8; 16])),
            ..cp.checkpoint.clone()
        };
        let note = foreign.sign(&foreign.origin.clone(), &provider()).unwrap();
        let fcp = SignedCheckpoint::from_note(note).unwrap();
        assert!(
            msg(prove_inclusion(&l, 2, &fcp)).starts_with(
                "the checkpoint is of another ledger: its origin is \"vouch.ledger/0606"
            )
        );
        // Larger than the ledger.
        foreign.origin = cp.checkpoint.origin.clone();
        foreign.size = 9;
        let big = SignedCheckpoint::from_note(
            foreign.sign(&foreign.origin.clone(), &provider()).unwrap(),
        )
        .unwrap();
        assert_eq!(
            refused(prove_inclusion(&l, 2, &big).unwrap()),
            "ledger does not match the checkpoint: the checkpoint covers 9 entries, and this ledger has no entry 9 (it was truncated, or is an older copy)"
        );
        // Another root.
        foreign.size = 4;
        foreign.root = [1u8; 32];
        let wrong = SignedCheckpoint::from_note(
            foreign.sign(&foreign.origin.clone(), &provider()).unwrap(),
        )
        .unwrap();
        let why = refused(prove_inclusion(&l, 2, &wrong).unwrap());
        assert!(
            why.starts_with(
                "ledger does not match the checkpoint: the Merkle root of entries 1–4 is "
            ),
            "{why}"
        );
        assert!(why.contains(&format!("the checkpoint says {}", "01".repeat(32))));
        // Signed by a key that is not registered.
        let stranger = sign(&l, 4, &SecretKey::from_seed(&[77u8; 32]));
        let why = refused(prove_inclusion(&l, 2, &stranger).unwrap());
        assert!(why.starts_with("the checkpoint is not validly signed by a key registered in this ledger: not signed by any trusted key"), "{why}");
        // A consistency proof the wrong way round.
        let e = prove_consistency(&l, &cp, &sign(&l, 2, &provider())).unwrap_err();
        assert_eq!(
            e.message(),
            "the older checkpoint covers 4 entries, more than the newer one's 2"
        );
        assert_eq!(
            e.hint_text(),
            Some("the older checkpoint comes first: swap --from and --to")
        );
    }

    #[test]
    fn proof_against_the_newest_recorded_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let mut l = ledger(&path, 3);
        assert!(newest_recorded_checkpoint(&l).unwrap().is_none());
        let t = parse_time("2026-07-02T00:00:00Z").unwrap();
        let (_, first) = l.checkpoint(&customer(), t).unwrap();
        append(&mut l, &customer(), 2);
        let (a, note) = l.checkpoint(&provider(), t).unwrap();
        assert_ne!(first, note);
        drop(l);
        let l = Ledger::open(&path, Access::ReadOnly).unwrap();
        let (seq, cp) = newest_recorded_checkpoint(&l).unwrap().unwrap();
        assert_eq!((seq, cp.checkpoint.size), (a.seq, a.seq - 1));
        assert_eq!(cp.note, note);
        let p = proof(prove_inclusion(&l, 7, &cp).unwrap());
        assert!(p.verify(&keys()).ok());
        // The checkpoint entry itself is in a later checkpoint only.
        assert!(prove_inclusion(&l, a.seq, &cp).is_err());
    }

    const WORKED_INCLUSION: &str = r#"c2sp.org/tlog-proof@v1
extra dm91Y2gvdjEgZW50cnkKbGVkZ2VyOiAwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZgpzZXE6IDMKcHJldjogZGUyMTU0YmY2MmM2YTg4NTNkYTNlMWM4ZThhMzNiNGU5OTIyMjE2Y2QzZWQ2OTg2MGE3ZWYyZmQ5NzAwNGQ4MAp0aW1lOiAyMDI2LTA3LTE1VDA5OjMwOjAwWgpraW5kOiBldmlkZW5jZQpzaWduZXI6IDFhYmNmNWJlZTkwYmE0M2EzY2M2NjJlMTg2ODMxZDhmYzBjYzlhMDQzMzc2YjkyMGFmNmJkMDc2NjUzNDc2NDkKcGF5bG9hZDogMDFiY2U3ZWZjZGU0ZjVjNDgxYTMyYTg5M2RiYjEzZDY4YTczOWU5NDY1NzMwOWY3NDMzNjA3NTI2NWE3N2E4Nwp+WkeaYRRCw4zv6Bsd5O/ZxY/UoGAj7hJPL/NksiMI83W5ksfG3HhyJ9sDXKQ40ONEcVTB0I1PcyeWMlrJvoUG
index 2
pfJEaTD6vzGxQyhRN7RYIdmjps3ONzxW9tfrNOTZDSw=
xoDbTXpOB9sqT/hbsUR/NsqpaKneveNEqJcrDOfngJs=
Fy6rG/WeHqPnCrNEgxjcKvzlYHfgP3ut3371OTvW/7E=
SJkFOy+Z3bCh0DtviGAAYsM7LBauIgWsb0as+Om/W/A=

vouch.ledger/0123456789abcdef0123456789abcdef
10
VpugHr+0ACX3X0TsJQTicaxR1ZAkzdOA4uUbxWH6sfA=

— vouch.ledger/0123456789abcdef0123456789abcdef L3U4WkLfNPN5Q+kjmslFSdthmR7/8w65nBqKB/l1frKGvPtsRNaoLL7AmsZ7OTNSpkSbH5zHUfQQqBOneDAj0yDmuwM=
"#;

    const WORKED_CONSISTENCY: &str = r#"vouch/v1 consistency-proof
vouch.ledger/0123456789abcdef0123456789abcdef
4
+J6Dq4aubPCCn7BooUsUvx2MvDsY+sEsGgLSU2xx59E=

— vouch.ledger/0123456789abcdef0123456789abcdef L3U4WqUQspOMsNJ9L0zy6QZXsa5br41bSsEQdx+doyAvo5DraaZLChj1QETMWE3f4X8mSjW3JvcwkWd7CTt2vi6xLQQ=

old 4
Fy6rG/WeHqPnCrNEgxjcKvzlYHfgP3ut3371OTvW/7E=
SJkFOy+Z3bCh0DtviGAAYsM7LBauIgWsb0as+Om/W/A=

vouch.ledger/0123456789abcdef0123456789abcdef
10
VpugHr+0ACX3X0TsJQTicaxR1ZAkzdOA4uUbxWH6sfA=

— vouch.ledger/0123456789abcdef0123456789abcdef L3U4WkLfNPN5Q+kjmslFSdthmR7/8w65nBqKB/l1frKGvPtsRNaoLL7AmsZ7OTNSpkSbH5zHUfQQqBOneDAj0yDmuwM=
"#;

    /// The worked example of FORMAT.md §15: the ten test-vector entries and the §13.5
    /// checkpoint (seed 07…07). `cargo test --lib proof_worked -- --nocapture` prints it.
    #[test]
    fn proof_worked_example() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
        let read = |name: String| std::fs::read(dir.join(name)).unwrap();
        let mut tree = MemoryTree::new();
        for n in 1..=10 {
            tree.push(&read(format!("entry-{n}.txt")));
        }
        let k = SecretKey::from_seed(&[7u8; 32]);
        let ledger = LedgerId::parse("0123456789abcdef0123456789abcdef").unwrap();
        let origin = vouch_origin(&ledger);
        let cp = |size| {
            let note = Checkpoint {
                origin: origin.clone(),
                size,
                root: merkle::root(&tree, size).unwrap(),
                extensions: vec![],
            }
            .sign(&origin, &k)
            .unwrap();
            SignedCheckpoint::from_note(note).unwrap()
        };
        let inclusion = InclusionProof {
            entry: read("entry-3.txt".into()),
            signature: read("entry-3.sig".into()).try_into().unwrap(),
            index: 2,
            hashes: merkle::inclusion_proof(&tree, 2, 10).unwrap(),
            checkpoint: cp(10),
        };
        let consistency = ConsistencyProof {
            old: cp(4),
            hashes: merkle::consistency_proof(&tree, 4, 10).unwrap(),
            new: cp(10),
        };
        println!("{inclusion}<end>\n{consistency}<end>");
        let customer = crate::crypto::keyfile::load_public(&dir.join("customer.pub")).unwrap();
        let trusted = [k.public(), customer];
        assert!(
            inclusion.verify(&trusted).ok(),
            "{:?}",
            inclusion.verify(&trusted).problems
        );
        assert!(consistency.verify(&trusted).ok());
        // Golden bytes; the inclusion proof is rechecked by hand in FORMAT.md §15.4.
        assert_eq!(inclusion.to_string(), WORKED_INCLUSION);
        assert_eq!(consistency.to_string(), WORKED_CONSISTENCY);
        assert_eq!(
            InclusionProof::parse(inclusion.to_string().as_bytes()).unwrap(),
            inclusion
        );
        assert_eq!(
            ConsistencyProof::parse(consistency.to_string().as_bytes()).unwrap(),
            consistency
        );
    }
}
