//! Signed checkpoints (`schema/FORMAT.md` §13) in the C2SP formats, so that tooling nobody
//! here wrote (Go's `golang.org/x/mod/sumdb/note`, transparency-dev witnesses, litewitness)
//! reads them.
//!
//! Two layers, each written from its spec and strict about spelling:
//!
//! - [`Note`]: a [signed note](https://c2sp.org/signed-note) — a text ending in a newline, a
//!   blank line, then one or more lines `— <key name> <base64(key ID || signature)>`. Only
//!   Ed25519 (signature type `0x01`) is signed and verified here; signatures of other types
//!   or by unknown keys are kept byte for byte and ignored, as the spec requires.
//! - [`Checkpoint`]: a [tlog checkpoint](https://c2sp.org/tlog-checkpoint) — the note text
//!   `<origin>\n<tree size>\n<base64 root hash>\n[extension lines]`.
//!
//! # How vouch names its checkpoints and keys
//!
//! - **Origin**: `vouch.ledger/<ledger id>` ([`vouch_origin`]), the ledger id in its 32
//!   lowercase hex digits. tlog-checkpoint asks for a unique, schema-less URL-like string
//!   without spaces or `+`; the ledger id (16 random bytes fixed at `init`) makes it unique,
//!   and the endpoint need not exist.
//! - **Key name**: every party key signs under the origin itself, not under a per-party
//!   name ([`vouch_verifier`]). tlog-checkpoint says the log's key name SHOULD match the
//!   origin, and witnesses look a log's keys up by origin (litewitness has refused verifier
//!   keys whose name differs from the origin: FiloSottile/torchwood issue 28). A vouch
//!   ledger has no single operator: each party key is one of the ledger's keys, told apart
//!   by its key ID, which signed-note makes the identifier together with the name. The
//!   party is deliberately *not* in the name: a name on a signature line is an
//!   unauthenticated label that anyone can write. Who signed is the key that verified,
//!   mapped to its party by the ledger's registry and the auditor's pins. (Names may
//!   contain `/`, so `<origin>/<party id>` would also have been valid; it was rejected for
//!   the witness lookup above.)
//! - **Key ID**: `SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4]`
//!   (signed-note, Ed25519); the verifier key ("vkey") is
//!   `<name>+<8 hex digits of key ID>+<base64(0x01 || public key)>` ([`Verifier`]).
//! - **Co-signing**: a party co-signs by adding its own plain Ed25519 note signature (type
//!   `0x01`) over the same checkpoint text ([`Note::cosign`]). Witness cosignatures
//!   (tlog-cosignature, type `0x04`) may be added by real witnesses; vouch keeps and
//!   ignores them.
//!
//! - **Text**: vouch writes exactly the three lines origin, size (the number of entries) and
//!   root (the Merkle root of `merkle`, over the entry texts), with no extension lines;
//!   [`Checkpoint::parse_vouch`] reads only that.
//!
//! The module is pure: no I/O, no printing, no panics. Errors name the 1-based line of the
//! note (or checkpoint text) where the problem is.

use std::fmt;

use crate::crypto::{PublicKey, SPKI_PREFIX, SecretKey, sha256};
use crate::error::{Error, Result};
use crate::format::entry::LedgerId;

/// Signature type byte of plain Ed25519 note signatures (signed-note, "Signature types").
pub const SIG_TYPE_ED25519: u8 = 0x01;

/// At most this many signature lines in a note (the spec requires at least 16 to be
/// accepted; Go's `sumdb/note` stops at 100, and so do we).
pub const MAX_SIGNATURES: usize = 100;

/// At most this many bytes in a whole note (text and signatures): room for 100
/// post-quantum signatures of ~5 kB, and a bound on the work an untrusted note can cause.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// Prefix of a signature line: em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// A signed note: its text (ending in a newline, without the separating blank line) and its
/// signature lines in order.
///
/// [`fmt::Display`] writes the note byte for byte as [`Note::parse`] read it. A note needs at
/// least one signature: one without any displays as text that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, including its final newline.
    pub text: String,
    /// The signatures, in the order of their lines.
    pub signatures: Vec<NoteSignature>,
}

/// One signature line of a note: `— <name> <base64(key_id || signature)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name (non-empty, no Unicode spaces, no `+`).
    pub name: String,
    /// The 4-byte key ID (a big-endian uint32 in the spec).
    pub key_id: [u8; 4],
    /// The signature bytes after the key ID (64 bytes for Ed25519; any length for types
    /// vouch does not verify).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// `name+keyid` as in Go's error messages, to name a key in an error.
    fn key_label(&self) -> String {
        format!("{}+{}", self.name, hex::encode(self.key_id))
    }
}

impl fmt::Display for NoteSignature {
    /// The signature line without its final newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id);
        raw.extend_from_slice(&self.signature);
        write!(
            f,
            "{SIG_PREFIX}{} {}",
            self.name,
            crate::crypto::base64_encode(&raw)
        )
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for sig in &self.signatures {
            writeln!(f, "{sig}")?;
        }
        Ok(())
    }
}

/// An error at a 1-based line of a note or checkpoint text.
fn at_line(line: usize, message: impl fmt::Display) -> Error {
    Error::new(format!("line {line}: {message}"))
}

/// Refuse ASCII control characters other than newline (signed-note, "Format"), naming the
/// line; CR gets its own message because CRLF line endings are the usual cause.
fn check_controls(s: &str) -> Result<()> {
    let mut line = 1;
    for c in s.chars() {
        match c {
            '\n' => line += 1,
            '\r' => {
                return Err(
                    at_line(line, "carriage return (U+000D): lines end in LF only")
                        .hint("convert CRLF line endings to LF"),
                );
            }
            c if c < ' ' => {
                return Err(at_line(
                    line,
                    format!("control character U+{:04X} is not allowed", u32::from(c)),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Check a key name: non-empty, no Unicode spaces, no `+` (signed-note, "Format").
pub fn check_key_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::new("empty key name"));
    }
    if name.chars().any(char::is_whitespace) {
        return Err(Error::new(format!("key name {name:?} contains a space")));
    }
    if name.contains('+') {
        return Err(Error::new(format!("key name {name:?} contains '+'")));
    }
    if let Some(c) = name.chars().find(|&c| c < ' ') {
        return Err(Error::new(format!(
            "key name {name:?} contains control character U+{:04X}",
            u32::from(c)
        )));
    }
    Ok(())
}

/// Check a note text: at most [`MAX_NOTE_BYTES`], ends in a newline, no control characters
/// but newline.
fn check_text(text: &str) -> Result<()> {
    if text.len() > MAX_NOTE_BYTES {
        return Err(Error::new(format!(
            "note text has {} bytes; at most {MAX_NOTE_BYTES} are accepted",
            text.len()
        )));
    }
    check_controls(text)?;
    if !text.ends_with('\n') {
        return Err(at_line(
            text.split('\n').count(),
            "note text does not end in a newline",
        ));
    }
    Ok(())
}

/// The 32 raw bytes of an Ed25519 public key (RFC 8032 encoding).
pub(crate) fn raw_public_key(key: &PublicKey) -> [u8; 32] {
    let der = key.spki_der();
    let mut raw = [0u8; 32];
    for (o, b) in raw.iter_mut().zip(der.iter().skip(SPKI_PREFIX.len())) {
        *o = *b;
    }
    raw
}

/// The signed-note key ID of an Ed25519 key under a name:
/// `SHA-256(name || 0x0A || 0x01 || 32-byte public key)[:4]`.
pub fn key_id(name: &str, key: &PublicKey) -> [u8; 4] {
    let mut input = Vec::with_capacity(name.len() + 34);
    input.extend_from_slice(name.as_bytes());
    input.push(b'\n');
    input.push(SIG_TYPE_ED25519);
    input.extend_from_slice(&raw_public_key(key));
    let h = sha256(&input);
    [h[0], h[1], h[2], h[3]]
}

/// Sign a note text with an Ed25519 key under a key name: the signature is Ed25519 over the
/// exact text bytes (including the final newline), the key ID per [`key_id`].
///
/// Fails if the text is not a valid note text or the name is not a valid key name, so that
/// nothing is signed that could not be written and read back.
pub fn sign_note(text: &str, name: &str, key: &SecretKey) -> Result<NoteSignature> {
    check_text(text)?;
    check_key_name(name)?;
    Ok(NoteSignature {
        name: name.to_string(),
        key_id: key_id(name, &key.public()),
        signature: key.sign(text.as_bytes()).to_vec(),
    })
}

impl Note {
    /// Parse a signed note, strictly (signed-note, "Format"):
    ///
    /// - at most [`MAX_NOTE_BYTES`]; no ASCII control characters but newline (so no CR);
    /// - the text is everything up to and including the newline before the **last** blank
    ///   line; after it, one or more lines `— <name> <base64>` each ending in a newline, and
    ///   nothing else;
    /// - names are non-empty, without Unicode spaces or `+`;
    /// - the base64 is standard, padded and canonical, and holds a 4-byte key ID and at least
    ///   one signature byte;
    /// - at most [`MAX_SIGNATURES`] signatures, and no two by the same key (name and key ID):
    ///   Go silently keeps the first of such duplicates, which would leave the second one
    ///   unchecked yet written back.
    pub fn parse(s: &str) -> Result<Note> {
        if s.len() > MAX_NOTE_BYTES {
            return Err(Error::new(format!(
                "note has {} bytes; at most {MAX_NOTE_BYTES} are accepted",
                s.len()
            )));
        }
        check_controls(s)?;
        let Some(split) = s.rfind("\n\n") else {
            return Err(Error::new(
                "no blank line between the note text and its signature lines",
            )
            .hint("a signed note is its text, one empty line, then lines '— <key name> <signature>'"));
        };
        // `split` and `split + 2` border ASCII newlines: in bounds and on char boundaries.
        let (text, sigs) = (&s[..=split], &s[split + 2..]);
        let text_lines = text.matches('\n').count();
        let first = text_lines + 2;
        if sigs.is_empty() {
            return Err(at_line(
                first,
                format!("no signature line after the blank line {}", text_lines + 1),
            ));
        }
        let Some(body) = sigs.strip_suffix('\n') else {
            return Err(at_line(
                first + sigs.matches('\n').count(),
                "last signature line does not end in a newline",
            ));
        };
        let mut signatures: Vec<NoteSignature> = Vec::new();
        for (i, line) in body.split('\n').enumerate() {
            let n = first + i;
            if signatures.len() == MAX_SIGNATURES {
                return Err(at_line(n, format!("more than {MAX_SIGNATURES} signatures")));
            }
            let sig = parse_signature_line(line).map_err(|e| e.context(format!("line {n}")))?;
            if let Some(j) = signatures
                .iter()
                .position(|o| o.name == sig.name && o.key_id == sig.key_id)
            {
                return Err(at_line(
                    n,
                    format!(
                        "second signature by key {} (first on line {})",
                        sig.key_label(),
                        first + j
                    ),
                ));
            }
            signatures.push(sig);
        }
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// Verify the note against trusted keys; returns the signatures that verified, in line
    /// order (signed-note, "Signatures"):
    ///
    /// - a signature is checked only if both its name and its key ID match a trusted key;
    ///   any other is ignored (an unknown key: a witness cosignature, another party's key
    ///   under the same name, ...);
    /// - a signature by a trusted key that does not verify is an error (the whole note is
    ///   rejected, as the spec recommends);
    /// - if no signature by a trusted key verifies, that is an error;
    /// - two trusted keys with the same name and key ID but different keys are an error
    ///   (ambiguous) when a signature matches them.
    pub fn verify(&self, verifiers: &[Verifier]) -> Result<Vec<&NoteSignature>> {
        let first = self.text.matches('\n').count() + 2;
        let mut verified = Vec::new();
        for (i, sig) in self.signatures.iter().enumerate() {
            let mut matching = verifiers
                .iter()
                .filter(|v| v.name == sig.name && v.key_id == sig.key_id);
            let Some(v) = matching.next() else {
                continue;
            };
            if matching.any(|o| o.key != v.key) {
                return Err(at_line(
                    first + i,
                    format!(
                        "ambiguous trusted keys: two keys are named {}",
                        sig.key_label()
                    ),
                ));
            }
            if !v.key.verify(self.text.as_bytes(), &sig.signature) {
                return Err(at_line(
                    first + i,
                    format!("signature by key {} does not verify", sig.key_label()),
                )
                .hint("the note was altered after signing, or signed by another key"));
            }
            verified.push(sig);
        }
        if verified.is_empty() {
            let found: Vec<String> = self
                .signatures
                .iter()
                .map(NoteSignature::key_label)
                .collect();
            let trusted: Vec<String> = verifiers.iter().map(|v| v.key_label()).collect();
            return Err(Error::new(format!(
                "no signature by a trusted key (signed by: {})",
                found.join(", ")
            ))
            .hint(if trusted.is_empty() {
                "no trusted keys were given".to_string()
            } else {
                format!("trusted keys: {}", trusted.join(", "))
            }));
        }
        Ok(verified)
    }

    /// Add a signature line after the existing ones (order is preserved). Refuses an invalid
    /// name, a second signature by the same key (name and key ID), more than
    /// [`MAX_SIGNATURES`], and an empty signature. The signature is not checked here: use
    /// [`Note::verify`].
    pub fn add_signature(&mut self, sig: NoteSignature) -> Result<()> {
        check_key_name(&sig.name)?;
        if sig.signature.is_empty() {
            return Err(Error::new(format!(
                "empty signature by key {}",
                sig.key_label()
            )));
        }
        if self
            .signatures
            .iter()
            .any(|o| o.name == sig.name && o.key_id == sig.key_id)
        {
            return Err(Error::new(format!(
                "the note is already signed by key {}",
                sig.key_label()
            )));
        }
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(Error::new(format!(
                "the note already has {MAX_SIGNATURES} signatures"
            )));
        }
        self.signatures.push(sig);
        Ok(())
    }

    /// Co-sign: sign this note's text with `key` under `name` and add the signature.
    pub fn cosign(&mut self, name: &str, key: &SecretKey) -> Result<()> {
        let sig = sign_note(&self.text, name, key)?;
        self.add_signature(sig)
    }
}

/// Parse one signature line (without its newline).
fn parse_signature_line(line: &str) -> Result<NoteSignature> {
    let Some(rest) = line.strip_prefix(SIG_PREFIX) else {
        let what = if line.starts_with('-') {
            "signature line starts with '-', not an em dash (U+2014)"
        } else if line.is_empty() {
            "empty line among the signature lines"
        } else {
            "not a signature line (em dash U+2014, space, key name, space, base64)"
        };
        return Err(Error::new(what));
    };
    let Some((name, b64)) = rest.split_once(' ') else {
        return Err(Error::new(
            "no space between the key name and the signature",
        ));
    };
    check_key_name(name)?;
    if b64.is_empty() {
        return Err(Error::new("empty signature"));
    }
    if b64.contains(char::is_whitespace) {
        return Err(Error::new("space in or after the signature"));
    }
    let Some(raw) = crate::crypto::base64_decode(b64) else {
        return Err(Error::new(
            "signature is not canonical standard base64 (RFC 4648 §4, padded)",
        ));
    };
    match raw.split_first_chunk::<4>() {
        Some((id, sig)) if !sig.is_empty() => Ok(NoteSignature {
            name: name.to_string(),
            key_id: *id,
            signature: sig.to_vec(),
        }),
        _ => Err(Error::new(format!(
            "signature has {} bytes; it needs a 4-byte key ID and at least one signature byte",
            raw.len()
        ))),
    }
}

/// A trusted Ed25519 note key: its name, key ID and public key. The key ID is always
/// computed from the name and key, never taken on trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key_id: [u8; 4],
    key: PublicKey,
}

impl Verifier {
    /// The verifier of an Ed25519 public key under a key name.
    pub fn from_public(name: &str, key: &PublicKey) -> Result<Verifier> {
        check_key_name(name)?;
        Ok(Verifier {
            name: name.to_string(),
            key_id: key_id(name, key),
            key: *key,
        })
    }

    /// Parse a verifier key ("vkey"): `<name>+<key ID as 8 lowercase hex digits>+<base64(0x01
    /// || 32-byte Ed25519 public key)>`, as Go's `note.NewVerifier` reads it. Uppercase hex
    /// is refused (Go writes lowercase; one spelling), the base64 must be canonical, the type
    /// byte must be `0x01`, weak keys are refused, and the key ID must match the name and key.
    pub fn parse(vkey: &str) -> Result<Verifier> {
        let bad = |what: &str| {
            Error::new(format!("verifier key {vkey:?}: {what}"))
                .hint("a verifier key is <name>+<8 hex digits>+<base64 key>")
        };
        let Some((name, rest)) = vkey.split_once('+') else {
            return Err(bad("no '+' after the key name"));
        };
        let Some((hash, b64)) = rest.split_once('+') else {
            return Err(bad("no '+' after the key ID"));
        };
        check_key_name(name).map_err(|e| bad(e.message()))?;
        let Some(id) = crate::crypto::decode_lower_hex::<4>(hash.as_bytes()) else {
            return Err(bad("key ID is not 8 lowercase hex digits"));
        };
        let Some(raw) = crate::crypto::base64_decode(b64) else {
            return Err(bad("key is not canonical standard base64"));
        };
        let Some((&ty, pk)) = raw.split_first() else {
            return Err(bad("empty key"));
        };
        if ty != SIG_TYPE_ED25519 {
            return Err(bad(&format!(
                "signature type 0x{ty:02x} is not supported (only Ed25519, 0x01)"
            )));
        }
        let Ok(pk) = <[u8; 32]>::try_from(pk) else {
            return Err(bad(&format!(
                "Ed25519 key has {} bytes; expected 32",
                pk.len()
            )));
        };
        let key = PublicKey::from_raw(&pk).map_err(|e| bad(e.message()))?;
        let v = Verifier::from_public(name, &key)?;
        if v.key_id != id {
            return Err(bad(&format!(
                "key ID {hash} does not match the name and key (expected {})",
                hex::encode(v.key_id)
            )));
        }
        Ok(v)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The public key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    fn key_label(&self) -> String {
        format!("{}+{}", self.name, hex::encode(self.key_id))
    }
}

impl fmt::Display for Verifier {
    /// The verifier key ("vkey") text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(SIG_TYPE_ED25519);
        raw.extend_from_slice(&raw_public_key(&self.key));
        write!(
            f,
            "{}+{}",
            self.key_label(),
            crate::crypto::base64_encode(&raw)
        )
    }
}

/// A transparency-log checkpoint (c2sp.org/tlog-checkpoint): the note text
/// `<origin>\n<size>\n<base64 root>\n` followed by optional extension lines.
///
/// [`fmt::Display`] writes the text; [`Checkpoint::parse`] reads only that spelling back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity (first line): non-empty, no leading or trailing space.
    pub origin: String,
    /// The number of leaves (entries) in the tree.
    pub size: u64,
    /// The RFC 6962 Merkle tree hash of the first `size` leaves.
    pub root: [u8; 32],
    /// Extension lines, opaque and non-empty (vouch writes none).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// Parse a checkpoint text (the note text, not the whole signed note), strictly:
    ///
    /// - ends in a newline; no control characters but newline (so no CR);
    /// - line 1, the origin: non-empty, no leading or trailing whitespace (an invisible
    ///   difference would make a second origin that looks like the first);
    /// - line 2, the tree size: ASCII decimal, no sign, no leading zeros (`0` only for an
    ///   empty tree), fits in 64 bits;
    /// - line 3, the root hash: canonical standard padded base64 of exactly 32 bytes;
    /// - any further lines are extension lines and must be non-empty.
    pub fn parse(text: &str) -> Result<Checkpoint> {
        check_controls(text)?;
        let Some(body) = text.strip_suffix('\n') else {
            return Err(at_line(
                text.split('\n').count(),
                "checkpoint text does not end in a newline",
            ));
        };
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(Error::new(format!(
                "checkpoint has {} lines; it needs at least 3 (origin, tree size, root hash)",
                body.split('\n').count()
            )));
        };
        check_origin(origin).map_err(|e| e.context("line 1"))?;
        let size = parse_size(size).map_err(|e| e.context("line 2"))?;
        let root = match crate::crypto::base64_decode(root).map(<[u8; 32]>::try_from) {
            Some(Ok(r)) => r,
            Some(Err(v)) => {
                return Err(at_line(
                    3,
                    format!("root hash has {} bytes; expected 32", v.len()),
                ));
            }
            None => {
                return Err(at_line(
                    3,
                    "root hash is not canonical standard base64 (RFC 4648 §4, padded)",
                ));
            }
        };
        let mut extensions = Vec::new();
        for (i, line) in lines.enumerate() {
            if line.is_empty() {
                return Err(at_line(4 + i, "empty extension line").hint(
                    "a checkpoint's text ends before the blank line that precedes its \
                     signatures: parse the signed note first",
                ));
            }
            extensions.push(line.to_string());
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        })
    }

    /// Sign the checkpoint text with `key` under key `name`, giving a one-signature note.
    /// Refuses a checkpoint whose text would not parse back to itself (an origin or extension
    /// with a newline, an empty extension, ...), so only canonical checkpoints are signed.
    pub fn sign(&self, name: &str, key: &SecretKey) -> Result<Note> {
        let text = self.to_string();
        if Checkpoint::parse(&text).ok().as_ref() != Some(self) {
            return Err(Checkpoint::parse(&text)
                .err()
                .unwrap_or_else(|| Error::new("checkpoint text does not read back the same"))
                .context("refusing to sign a malformed checkpoint"));
        }
        let sig = sign_note(&text, name, key)?;
        Ok(Note {
            text,
            signatures: vec![sig],
        })
    }

    /// The checkpoint in a signed note's text.
    pub fn from_note(note: &Note) -> Result<Checkpoint> {
        Checkpoint::parse(&note.text)
    }

    /// Parse a checkpoint of the vouch ledger `ledger`: [`Checkpoint::parse`], and the origin
    /// must be [`vouch_origin`] of that ledger and there must be no extension lines (vouch
    /// writes none; an extension would be a second spelling of the same checkpoint).
    pub fn parse_vouch(text: &str, ledger: &LedgerId) -> Result<Checkpoint> {
        let cp = Checkpoint::parse(text)?;
        let want = vouch_origin(ledger);
        if cp.origin != want {
            return Err(at_line(
                1,
                format!(
                    "origin {:?} is not this ledger's checkpoint origin {want:?}",
                    cp.origin
                ),
            )
            .hint("the checkpoint belongs to another ledger or another log"));
        }
        if !cp.extensions.is_empty() {
            return Err(at_line(4, "vouch checkpoints have no extension lines"));
        }
        Ok(cp)
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.origin)?;
        writeln!(f, "{}", self.size)?;
        writeln!(f, "{}", crate::crypto::base64_encode(&self.root))?;
        for e in &self.extensions {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

fn check_origin(origin: &str) -> Result<()> {
    if origin.is_empty() {
        return Err(Error::new("empty origin"));
    }
    if origin.starts_with(char::is_whitespace) || origin.ends_with(char::is_whitespace) {
        return Err(Error::new(format!(
            "origin {origin:?} has leading or trailing space"
        )));
    }
    Ok(())
}

fn parse_size(s: &str) -> Result<u64> {
    if s.is_empty() {
        return Err(Error::new("empty tree size"));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::new(format!(
            "tree size {s:?} is not a decimal number"
        )));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(Error::new(format!("tree size {s:?} has a leading zero")));
    }
    s.parse::<u64>()
        .map_err(|_| Error::new(format!("tree size {s} does not fit in 64 bits")))
}

/// The checkpoint origin of a vouch ledger: `vouch.ledger/<32 lowercase hex digits>`.
pub fn vouch_origin(ledger: &LedgerId) -> String {
    format!("vouch.ledger/{ledger}")
}

/// The checkpoint of the first `size` entries of a vouch ledger, whose Merkle root is
/// `root` (no extension lines).
pub fn vouch_checkpoint(ledger: &LedgerId, size: u64, root: [u8; 32]) -> Checkpoint {
    Checkpoint {
        origin: vouch_origin(ledger),
        size,
        root,
        extensions: Vec::new(),
    }
}

/// A vouch checkpoint signed by a party key, under the key name every party uses: the
/// ledger's origin.
pub fn sign_vouch(ledger: &LedgerId, size: u64, root: [u8; 32], key: &SecretKey) -> Result<Note> {
    vouch_checkpoint(ledger, size, root).sign(&vouch_origin(ledger), key)
}

/// The verifier of a party key for a vouch ledger's checkpoints: key name = the ledger's
/// origin (see the module documentation for why the party id is not in the name).
pub fn vouch_verifier(ledger: &LedgerId, key: &PublicKey) -> Verifier {
    let name = vouch_origin(ledger);
    Verifier {
        key_id: key_id(&name, key),
        name,
        key: *key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Go's golang.org/x/mod/sumdb/note test vectors (note_test.go, note.go package doc).
    const PETER_SKEY_B64: &str = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    // The C2SP tlog-checkpoint / tlog-cosignature examples (no public keys are published).
    const SOFA: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    const SOFA_SIGS: &str = "\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
                             \u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

    fn peter_secret() -> SecretKey {
        let raw = crate::crypto::base64_decode(PETER_SKEY_B64).unwrap();
        assert_eq!(raw[0], SIG_TYPE_ED25519);
        SecretKey::from_seed(&raw[1..].try_into().unwrap())
    }

    fn peter() -> Verifier {
        Verifier::parse(PETER_VKEY).unwrap()
    }

    fn enoch() -> Verifier {
        Verifier::parse(ENOCH_VKEY).unwrap()
    }

    fn err_of<T: fmt::Debug>(r: Result<T>) -> String {
        r.unwrap_err().message().to_string()
    }

    #[test]
    fn go_vector_sign_is_byte_exact() {
        let sk = peter_secret();
        let sig = sign_note(TEXT, "PeterNeumann", &sk).unwrap();
        assert_eq!(sig.key_id, [0xc7, 0x4f, 0x20, 0xa3]);
        let note = Note {
            text: TEXT.into(),
            signatures: vec![sig],
        };
        assert_eq!(note.to_string(), format!("{TEXT}\n{PETER_SIG}"));
        // The vkey of the signing key is Go's, and parsing it gives the same verifier.
        let v = Verifier::from_public("PeterNeumann", &sk.public()).unwrap();
        assert_eq!(v.to_string(), PETER_VKEY);
        assert_eq!(v, peter());
        assert_eq!(
            key_id("PeterNeumann", &sk.public()),
            [0xc7, 0x4f, 0x20, 0xa3]
        );
        assert_eq!(hex::encode(enoch().key_id()), "af0cfe78");
        assert_eq!(enoch().to_string(), ENOCH_VKEY);
    }

    #[test]
    fn go_vector_open() {
        let msg = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        let note = Note::parse(&msg).unwrap();
        assert_eq!(note.text, TEXT);
        assert_eq!(note.to_string(), msg);
        let names = |v: Vec<&NoteSignature>| v.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(note.verify(&[peter()]).unwrap()), ["PeterNeumann"]);
        assert_eq!(names(note.verify(&[enoch()]).unwrap()), ["EnochRoot"]);
        assert_eq!(
            names(note.verify(&[enoch(), peter()]).unwrap()),
            ["PeterNeumann", "EnochRoot"]
        );
        // The same key listed twice is not ambiguous.
        assert_eq!(
            names(note.verify(&[peter(), peter()]).unwrap()),
            ["PeterNeumann"]
        );
        let e = note.verify(&[]).unwrap_err();
        assert_eq!(
            e.message(),
            "no signature by a trusted key (signed by: PeterNeumann+c74f20a3, EnochRoot+af0cfe78)"
        );
        assert_eq!(e.hint_text(), Some("no trusted keys were given"));
    }

    #[test]
    fn go_vector_invalid_signature_is_an_error() {
        // Go: peterSig[:60] + "ABCD" + peterSig[60:] is still valid base64 but a bad signature.
        let bad = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        let note = Note::parse(&bad).unwrap();
        assert_eq!(
            err_of(note.verify(&[peter()])),
            "line 4: signature by key PeterNeumann+c74f20a3 does not verify"
        );
        // ... but by an unknown key it is ignored.
        let both = format!(
            "{TEXT}\n{ENOCH_SIG}{}ABCD{}",
            &PETER_SIG[..60],
            &PETER_SIG[60..]
        );
        let note = Note::parse(&both).unwrap();
        assert_eq!(note.verify(&[enoch()]).unwrap().len(), 1);
    }

    #[test]
    fn go_vector_bad_messages() {
        let text_only = TEXT.to_string();
        let cases = [
            (
                text_only.clone(),
                "no blank line between the note text and its signature lines",
            ),
            (
                format!("{TEXT}\n"),
                "line 4: no signature line after the blank line 3",
            ),
            (
                format!("{TEXT}\n{}", PETER_SIG.trim_end_matches('\n')),
                "line 4: last signature line does not end in a newline",
            ),
            (
                format!("\x01{TEXT}\n{PETER_SIG}"),
                "line 1: control character U+0001 is not allowed",
            ),
            (
                format!(
                    "{TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
                ),
                "line 4: space in or after the signature",
            ),
            (
                format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
                "line 5: not a signature line (em dash U+2014, space, key name, space, base64)",
            ),
        ];
        for (msg, want) in cases {
            assert_eq!(err_of(Note::parse(&msg)), want, "{msg:?}");
        }
    }

    #[test]
    fn vkey_manglings_are_refused() {
        // Go's TestNewVerifier: every proper substring and every single-byte increment fails.
        let b = PETER_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i != 0 || j != b.len() {
                    let s = std::str::from_utf8(&b[i..j]).unwrap();
                    assert!(Verifier::parse(s).is_err(), "{s}");
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] += 1;
            let s = String::from_utf8(m).unwrap();
            assert!(Verifier::parse(&s).is_err(), "{s}");
        }
        // Wrong key length and unknown algorithm, each with a key hash adjusted to match.
        let e = err_of(Verifier::parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        ));
        assert!(e.ends_with("key is not canonical standard base64"), "{e}");
        // The same mistake in canonical base64 (a 33-byte type + key, 3 bytes too many).
        let mut long = vec![SIG_TYPE_ED25519];
        long.extend_from_slice(&raw_public_key(peter().key()));
        long.extend_from_slice(b"BAD");
        let name_key = |raw: &[u8]| {
            let h = sha256(&[b"PeterNeumann\n".as_slice(), raw].concat());
            format!(
                "PeterNeumann+{}+{}",
                hex::encode(&h[..4]),
                crate::crypto::base64_encode(raw)
            )
        };
        let e = err_of(Verifier::parse(&name_key(&long)));
        assert!(e.ends_with("Ed25519 key has 35 bytes; expected 32"), "{e}");
        long.truncate(33);
        assert_eq!(Verifier::parse(&name_key(&long)).unwrap(), peter());
        let e = err_of(Verifier::parse(
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ));
        assert!(
            e.ends_with("signature type 0x65 is not supported (only Ed25519, 0x01)"),
            "{e}"
        );
        // Uppercase hex is another spelling: refused.
        let e = err_of(Verifier::parse(&PETER_VKEY.replace("c74f20a3", "C74F20A3")));
        assert!(e.ends_with("key ID is not 8 lowercase hex digits"), "{e}");
        let e = err_of(Verifier::parse(&PETER_VKEY.replace("c74f20a3", "c74f20a4")));
        assert!(
            e.ends_with("key ID c74f20a4 does not match the name and key (expected c74f20a3)"),
            "{e}"
        );
    }

    #[test]
    fn every_single_byte_change_fails_verification() {
        let sk = peter_secret();
        let cp = Checkpoint {
            origin: "vouch.ledger/0123456789abcdef0123456789abcdef".into(),
            size: 10,
            root: sha256(b"root"),
            extensions: vec![],
        };
        let name = cp.origin.clone();
        let note = cp.sign(&name, &sk).unwrap();
        let v = Verifier::from_public(&name, &sk.public()).unwrap();
        let good = note.to_string();
        assert_eq!(
            Note::parse(&good)
                .unwrap()
                .verify(std::slice::from_ref(&v))
                .unwrap()
                .len(),
            1
        );
        for msg in [good, format!("{TEXT}\n{PETER_SIG}")] {
            let trusted = [v.clone(), peter()];
            let mut tried = 0;
            for i in 0..msg.len() {
                for flip in [0x01u8, 0x02, 0x20, 0x40, 0x80] {
                    let mut m = msg.as_bytes().to_vec();
                    m[i] ^= flip;
                    let Ok(s) = String::from_utf8(m) else {
                        continue; // not even UTF-8: cannot be a note
                    };
                    tried += 1;
                    let ok = Note::parse(&s).is_ok_and(|n| n.verify(&trusted).is_ok());
                    assert!(!ok, "byte {i} ^ {flip:#04x} still verifies:\n{s}");
                }
            }
            assert!(tried > 3 * msg.len());
        }
    }

    #[test]
    fn strict_note_parser() {
        let peter_b64 = PETER_SIG.trim_end().rsplit(' ').next().unwrap().to_string();
        let line = |name: &str, b64: &str| format!("{TEXT}\n\u{2014} {name} {b64}\n");
        let cases: Vec<(String, &str)> = vec![
            // missing blank line
            (
                format!("{TEXT}{PETER_SIG}"),
                "no blank line between the note text and its signature lines",
            ),
            // no signatures
            (
                format!("{TEXT}\n"),
                "line 4: no signature line after the blank line 3",
            ),
            (
                format!("{TEXT}\n{PETER_SIG}\n"),
                "line 6: no signature line after the blank line 5",
            ),
            // bad base64
            (
                line("PeterNeumann", "not*base64"),
                "line 4: signature is not canonical standard base64 (RFC 4648 §4, padded)",
            ),
            // non-canonical base64: unused trailing bits set, or padding missing
            (
                line("PeterNeumann", &peter_b64.replace("AM=", "AN=")),
                "line 4: signature is not canonical standard base64 (RFC 4648 §4, padded)",
            ),
            (
                line("PeterNeumann", peter_b64.trim_end_matches('=')),
                "line 4: signature is not canonical standard base64 (RFC 4648 §4, padded)",
            ),
            // key ID too short / no signature after the key ID
            (
                line("PeterNeumann", "AAAA"),
                "line 4: signature has 3 bytes; it needs a 4-byte key ID and at least one signature byte",
            ),
            (
                line("PeterNeumann", "AAAAAA=="),
                "line 4: signature has 4 bytes; it needs a 4-byte key ID and at least one signature byte",
            ),
            // CRLF, in the text and in a signature line
            (
                format!("{}\n{PETER_SIG}", TEXT.replace('\n', "\r\n")),
                "line 1: carriage return (U+000D): lines end in LF only",
            ),
            (
                format!("{TEXT}\n{}", PETER_SIG.replace('\n', "\r\n")),
                "line 4: carriage return (U+000D): lines end in LF only",
            ),
            // trailing space, double space
            (
                format!("{TEXT}\n{} \n", PETER_SIG.trim_end()),
                "line 4: space in or after the signature",
            ),
            (
                line("PeterNeumann", &format!(" {peter_b64}")),
                "line 4: space in or after the signature",
            ),
            // hyphen instead of em dash, em dash without space
            (
                format!("{TEXT}\n{}", PETER_SIG.replace('\u{2014}', "-")),
                "line 4: signature line starts with '-', not an em dash (U+2014)",
            ),
            (
                format!("{TEXT}\n{}", PETER_SIG.replace("\u{2014} ", "\u{2014}")),
                "line 4: not a signature line (em dash U+2014, space, key name, space, base64)",
            ),
            // names
            (
                line("Peter+Neumann", &peter_b64),
                "line 4: key name \"Peter+Neumann\" contains '+'",
            ),
            (
                line("Peter\u{a0}Neumann", &peter_b64),
                "line 4: key name \"Peter\\u{a0}Neumann\" contains a space",
            ),
            (line("", &peter_b64), "line 4: empty key name"),
            (
                format!("{TEXT}\n\u{2014} PeterNeumann\n"),
                "line 4: no space between the key name and the signature",
            ),
            (line("PeterNeumann", ""), "line 4: empty signature"),
            // control characters in the text
            (
                format!("a\tb\n\n{PETER_SIG}"),
                "line 1: control character U+0009 is not allowed",
            ),
            (
                format!("a\nb\0\n\n{PETER_SIG}"),
                "line 2: control character U+0000 is not allowed",
            ),
            // duplicates: the same key twice (even with the same bytes)
            (
                format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}{PETER_SIG}"),
                "line 6: second signature by key PeterNeumann+c74f20a3 (first on line 4)",
            ),
            // too many signatures
            (
                format!("{TEXT}\n{}", ENOCH_SIG.repeat(101)),
                "line 5: second signature by key EnochRoot+af0cfe78 (first on line 4)",
            ),
        ];
        for (msg, want) in &cases {
            assert_eq!(&err_of(Note::parse(msg)), want, "{msg:?}");
        }
        // 101 distinct keys: refused after 100.
        let mut many = format!("{TEXT}\n");
        for i in 0..101u32 {
            let s = NoteSignature {
                name: "k".into(),
                key_id: i.to_be_bytes(),
                signature: vec![1; 64],
            };
            many.push_str(&format!("{s}\n"));
        }
        assert_eq!(
            err_of(Note::parse(&many)),
            "line 104: more than 100 signatures"
        );
        let at_limit: String = many.lines().take(103).map(|l| format!("{l}\n")).collect();
        assert_eq!(Note::parse(&at_limit).unwrap().signatures.len(), 100);
        // Size bound.
        let huge = format!("{}\n\n{PETER_SIG}", "a".repeat(MAX_NOTE_BYTES));
        assert!(err_of(Note::parse(&huge)).starts_with("note has "));
    }

    #[test]
    fn notes_with_empty_lines_and_unknown_signature_types_round_trip() {
        // The spec's own example: the text contains an empty line; split at the last one.
        let quasimodo = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
        let n = Note::parse(quasimodo).unwrap();
        assert_eq!(n.text.lines().count(), 4);
        assert_eq!(n.signatures[0].name, "quasimodo.example/salvatore");
        assert_eq!(n.to_string(), quasimodo);
        // A text ending in an empty line.
        let n = Note::parse(&format!("a\n\n\n{PETER_SIG}")).unwrap();
        assert_eq!(n.text, "a\n\n");
        // A checkpoint with a timestamped witness cosignature (type 0x04, 72 bytes).
        let msg = format!("{SOFA}\n{SOFA_SIGS}");
        let n = Note::parse(&msg).unwrap();
        assert_eq!(n.to_string(), msg);
        assert_eq!(n.signatures[1].signature.len(), 72);
        let cp = Checkpoint::from_note(&n).unwrap();
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20_852_163);
        assert_eq!(cp.to_string(), SOFA);
        assert!(n.verify(&[peter()]).is_err());
    }

    #[test]
    fn strict_checkpoint_parser() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        let cp = |origin: &str, size: &str, root: &str| format!("{origin}\n{size}\n{root}\n");
        assert_eq!(Checkpoint::parse(&cp("o", "0", root)).unwrap().size, 0);
        assert_eq!(
            Checkpoint::parse(&cp("o", "18446744073709551615", root))
                .unwrap()
                .size,
            u64::MAX
        );
        let with_ext = format!("{SOFA}ext one\nsecond\n");
        let c = Checkpoint::parse(&with_ext).unwrap();
        assert_eq!(c.extensions, ["ext one", "second"]);
        assert_eq!(c.to_string(), with_ext);
        // Interior spaces in a foreign origin are allowed (Rekor, "go.sum database tree").
        assert!(Checkpoint::parse(&cp("go.sum database tree", "1", root)).is_ok());
        let cases: Vec<(String, &str)> = vec![
            (
                cp("o", "020852163", root),
                "line 2: tree size \"020852163\" has a leading zero",
            ),
            (
                cp("o", "00", root),
                "line 2: tree size \"00\" has a leading zero",
            ),
            (
                cp("o", "+1", root),
                "line 2: tree size \"+1\" is not a decimal number",
            ),
            (
                cp("o", "-1", root),
                "line 2: tree size \"-1\" is not a decimal number",
            ),
            (
                cp("o", " 1", root),
                "line 2: tree size \" 1\" is not a decimal number",
            ),
            (
                cp("o", "1 ", root),
                "line 2: tree size \"1 \" is not a decimal number",
            ),
            (
                cp("o", "0x10", root),
                "line 2: tree size \"0x10\" is not a decimal number",
            ),
            (cp("o", "", root), "line 2: empty tree size"),
            (
                cp("o", "18446744073709551616", root),
                "line 2: tree size 18446744073709551616 does not fit in 64 bits",
            ),
            (
                cp("o", "1", "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J="),
                "line 3: root hash is not canonical standard base64 (RFC 4648 §4, padded)",
            ),
            (
                cp("o", "1", "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I"),
                "line 3: root hash is not canonical standard base64 (RFC 4648 §4, padded)",
            ),
            (
                cp("o", "1", "CsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I="),
                "line 3: root hash is not canonical standard base64 (RFC 4648 §4, padded)",
            ),
            (
                cp("o", "1", &format!("{root} ")),
                "line 3: root hash is not canonical standard base64 (RFC 4648 §4, padded)",
            ),
            (
                cp("o", "1", &crate::crypto::base64_encode(&[0u8; 31])),
                "line 3: root hash has 31 bytes; expected 32",
            ),
            (
                cp("o", "1", &crate::crypto::base64_encode(&[0u8; 33])),
                "line 3: root hash has 33 bytes; expected 32",
            ),
            (cp("", "1", root), "line 1: empty origin"),
            (
                cp("o ", "1", root),
                "line 1: origin \"o \" has leading or trailing space",
            ),
            (
                cp(" o", "1", root),
                "line 1: origin \" o\" has leading or trailing space",
            ),
            (
                SOFA.trim_end().to_string(),
                "line 3: checkpoint text does not end in a newline",
            ),
            (
                "o\n1\n".to_string(),
                "checkpoint has 2 lines; it needs at least 3 (origin, tree size, root hash)",
            ),
            (format!("{SOFA}\n"), "line 4: empty extension line"),
            (
                SOFA.replace('\n', "\r\n"),
                "line 1: carriage return (U+000D): lines end in LF only",
            ),
        ];
        for (text, want) in &cases {
            assert_eq!(&err_of(Checkpoint::parse(text)), want, "{text:?}");
        }
        // A whole signed note passed by mistake: told what to do.
        let e = Checkpoint::parse(&format!("{SOFA}\n{SOFA_SIGS}")).unwrap_err();
        assert_eq!(e.message(), "line 4: empty extension line");
        assert!(
            e.hint_text()
                .unwrap()
                .contains("parse the signed note first")
        );
    }

    #[test]
    fn checkpoint_signed_by_two_keys_verifies_with_either() {
        let ledger = LedgerId([0xab; 16]);
        let origin = vouch_origin(&ledger);
        assert_eq!(origin, format!("vouch.ledger/{}", "ab".repeat(16)));
        let (k1, k2, k3) = (
            SecretKey::from_seed(&[1; 32]),
            SecretKey::from_seed(&[2; 32]),
            SecretKey::from_seed(&[3; 32]),
        );
        let (v1, v2, v3) = (
            vouch_verifier(&ledger, &k1.public()),
            vouch_verifier(&ledger, &k2.public()),
            vouch_verifier(&ledger, &k3.public()),
        );
        assert_eq!(v1, Verifier::from_public(&origin, &k1.public()).unwrap());
        assert_eq!(Verifier::parse(&v1.to_string()).unwrap(), v1);
        let cp = Checkpoint {
            origin: origin.clone(),
            size: 42,
            root: sha256(b"some root"),
            extensions: vec![],
        };
        let mut note = cp.sign(&origin, &k1).unwrap();
        note.cosign(&origin, &k2).unwrap();
        // Order is preserved: the first signer stays first.
        assert_eq!(note.signatures[0].key_id, v1.key_id());
        assert_eq!(note.signatures[1].key_id, v2.key_id());
        // A second signature by the same key is refused; the note is unchanged.
        let e = note.cosign(&origin, &k1).unwrap_err();
        assert_eq!(
            e.message(),
            format!(
                "the note is already signed by key {origin}+{}",
                hex::encode(v1.key_id())
            )
        );
        assert_eq!(note.signatures.len(), 2);
        let text = note.to_string();
        let back = Note::parse(&text).unwrap();
        assert_eq!(back, note);
        assert_eq!(back.to_string(), text);
        assert_eq!(Checkpoint::from_note(&back).unwrap(), cp);
        assert_eq!(Checkpoint::parse_vouch(&back.text, &ledger).unwrap(), cp);
        assert_eq!(
            err_of(Checkpoint::parse_vouch(&back.text, &LedgerId([0xac; 16]))),
            format!(
                "line 1: origin {origin:?} is not this ledger's checkpoint origin \"vouch.ledger/{}\"",
                "ac".repeat(16)
            )
        );
        assert_eq!(
            err_of(Checkpoint::parse_vouch(
                &format!("{}x\n", back.text),
                &ledger
            )),
            "line 4: vouch checkpoints have no extension lines"
        );
        assert_eq!(
            back.verify(std::slice::from_ref(&v1)).unwrap(),
            [&note.signatures[0]]
        );
        assert_eq!(
            back.verify(std::slice::from_ref(&v2)).unwrap(),
            [&note.signatures[1]]
        );
        assert_eq!(back.verify(&[v2.clone(), v1.clone()]).unwrap().len(), 2);
        // Same name, different key ID: an unknown key, ignored, not a failure.
        assert_eq!(
            err_of(back.verify(std::slice::from_ref(&v3))),
            format!(
                "no signature by a trusted key (signed by: {origin}+{}, {origin}+{})",
                hex::encode(v1.key_id()),
                hex::encode(v2.key_id())
            )
        );
        // A bad co-signature fails only for whoever trusts that key.
        let mut tampered = back.clone();
        tampered.signatures[1].signature[0] ^= 1;
        assert!(tampered.verify(std::slice::from_ref(&v1)).is_ok());
        assert_eq!(
            err_of(tampered.verify(&[v1.clone(), v2.clone()])),
            format!(
                "line 6: signature by key {origin}+{} does not verify",
                hex::encode(v2.key_id())
            )
        );
        // Same name and key ID, different key: ambiguous trust, refused.
        let forged = Verifier {
            key: k3.public(),
            ..v1.clone()
        };
        assert!(
            err_of(back.verify(&[v1.clone(), forged]))
                .starts_with("line 5: ambiguous trusted keys")
        );
        // A known key with a signature of the wrong length fails.
        let mut short = back.clone();
        short.signatures[0].signature.pop();
        assert!(err_of(short.verify(&[v1])).ends_with("does not verify"));
    }

    #[test]
    fn signing_refuses_what_cannot_be_read_back() {
        let k = SecretKey::from_seed(&[1; 32]);
        assert_eq!(
            err_of(sign_note("no newline", "n", &k)),
            "line 1: note text does not end in a newline"
        );
        assert_eq!(
            err_of(sign_note("a\r\n", "n", &k)),
            "line 1: carriage return (U+000D): lines end in LF only"
        );
        assert_eq!(
            err_of(sign_note("a\n", "a b", &k)),
            "key name \"a b\" contains a space"
        );
        assert_eq!(err_of(sign_note("a\n", "", &k)), "empty key name");
        assert!(Verifier::from_public("a+b", &k.public()).is_err());
        let mut cp = Checkpoint {
            origin: "o\nx".into(),
            size: 1,
            root: [0; 32],
            extensions: vec![],
        };
        assert!(cp.sign("o", &k).is_err());
        cp.origin = "o".into();
        cp.extensions = vec![String::new()];
        assert_eq!(
            err_of(cp.sign("o", &k)),
            "refusing to sign a malformed checkpoint: line 4: empty extension line"
        );
        cp.extensions = vec![];
        assert!(cp.sign("o", &k).is_ok());
        let mut note = cp.sign("o", &k).unwrap();
        let empty = NoteSignature {
            name: "w".into(),
            key_id: [0; 4],
            signature: vec![],
        };
        assert!(note.add_signature(empty).is_err());
    }

    /// RFC 6962 §2.1 Merkle tree hash (test-only reference; the ledger's own is `merkle`).
    fn mth(leaves: &[&[u8]]) -> [u8; 32] {
        match leaves.len() {
            0 => sha256(b""),
            1 => sha256(&[&[0u8][..], leaves[0]].concat()),
            n => {
                let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                let (l, r) = (mth(&leaves[..k]), mth(&leaves[k..]));
                sha256(&[&[1u8][..], &l, &r].concat())
            }
        }
    }

    /// The worked example of the FORMAT.md draft: the checkpoint of the ten-entry test-vector
    /// ledger, signed by the key of seed 07…07. `cargo test --lib checkpoint -- --nocapture`
    /// prints it.
    #[test]
    fn worked_example() {
        let entries: [&str; 10] = [
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/vectors/entry-1.txt"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/vectors/entry-2.txt"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/vectors/entry-3.txt"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/vectors/entry-4.txt"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/vectors/entry-5.txt"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/vectors/entry-6.txt"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/vectors/entry-7.txt"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/vectors/entry-8.txt"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/vectors/entry-9.txt"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/vectors/entry-10.txt"
            )),
        ];
        let leaves: Vec<&[u8]> = entries.iter().map(|e| e.as_bytes()).collect();
        let ledger = LedgerId::parse("0123456789abcdef0123456789abcdef").unwrap();
        let k = SecretKey::from_seed(&[7u8; 32]);
        let pk = k.public();
        let origin = vouch_origin(&ledger);
        let cp = Checkpoint {
            origin: origin.clone(),
            size: 10,
            root: mth(&leaves),
            extensions: vec![],
        };
        let note = cp.sign(&origin, &k).unwrap();
        let v = vouch_verifier(&ledger, &pk);
        let mut kid_input = format!("{origin}\n").into_bytes();
        kid_input.push(SIG_TYPE_ED25519);
        kid_input.extend_from_slice(&raw_public_key(&pk));
        println!(
            "public key (raw, hex): {}",
            hex::encode(raw_public_key(&pk))
        );
        println!("public key PEM:\n{}", pk.to_pem());
        println!("root (hex): {}", hex::encode(cp.root));
        println!("key ID input (hex): {}", hex::encode(&kid_input));
        println!("SHA-256 of it: {}", hex::encode(sha256(&kid_input)));
        println!("key ID: {}", hex::encode(v.key_id()));
        println!("vkey: {v}");
        println!(
            "signature (hex): {}",
            hex::encode(&note.signatures[0].signature)
        );
        println!("note:\n{note}<end>");
        // Golden values: rechecked independently with sha256sum, xxd and openssl.
        assert_eq!(
            hex::encode(cp.root),
            "f7a35b4d5dd5bc1108f11dd4436a3adecb7d2af25ec5bb595098b60c4192e285"
        );
        assert_eq!(hex::encode(v.key_id()), "2f75385a");
        assert_eq!(
            v.to_string(),
            "vouch.ledger/0123456789abcdef0123456789abcdef+2f75385a+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs"
        );
        let want = "vouch.ledger/0123456789abcdef0123456789abcdef\n\
                    10\n\
                    96NbTV3VvBEI8R3UQ2o63st9KvJexbtZUJi2DEGS4oU=\n\
                    \n\
                    \u{2014} vouch.ledger/0123456789abcdef0123456789abcdef \
                    L3U4WrTAoe+HxQVmb0e97+8xFIkPj9eWWkvAZNV+3UMLzfNtOizVoqRpSMyjJpSI51zElWHHqnkGctNlfw2cSVJkBAo=\n";
        assert_eq!(note.to_string(), want);
        assert_eq!(Note::parse(want).unwrap().verify(&[v]).unwrap().len(), 1);
    }
}
