//! The bundle's file formats (`schema/FORMAT.md` §16 "Export bundles"): the lines of
//! `entries.jsonl` (§16.2), `bundle.json` (§16.3), the names of the key, matrix and artefact
//! files (§16.1, §16.4) and the `MANIFEST` text (§16.6; it is read in `files`, where its
//! problems are findings).
//!
//! Each file has exactly one spelling: the readers here accept only what the writers write,
//! so that an edited byte is always a finding.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

use crate::crypto::{self, PublicKey};
use crate::error::{Error, Result};
use crate::format::merkle::Hash;
use crate::format::payload::{self, AdoptionPayload, MAX_SAFE_INT, PeriodRef};

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
    // Compared as it is written, with no buffer: a bundle has a line per entry.
    let again = LineOut {
        entry: &l.entry,
        payload: &l.payload,
        proof: l.proof.as_deref(),
        seq: l.seq,
        signature: &l.signature,
    };
    if !crate::format::payload::spells(&again, line) {
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
    pub(super) fn encode(&self) -> Result<Vec<u8>> {
        let mut b = payload::encode(self)?;
        b.push(b'\n');
        Ok(b)
    }

    pub(super) fn decode(bytes: &[u8]) -> Result<Info, String> {
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
pub(super) fn valid_path(p: &str) -> bool {
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

pub(super) fn manifest_text(files: &BTreeMap<String, Hash>) -> String {
    files
        .iter()
        .map(|(p, h)| format!("{}  {p}\n", hex::encode(h)))
        .collect()
}

/// Whether a path is one a bundle holds, by name.
pub(super) fn known_path(p: &str) -> bool {
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

// ---- keys/, matrices/ ----------------------------------------------------------------------

/// The name of a key file (§16.4): `keys/<party>.pub`, or `keys/<party>.<seq>.pub` for the key
/// the rotation entry `seq` registers.
pub(super) fn key_file(party: &str, rotation: Option<u64>) -> String {
    match rotation {
        None => format!("keys/{party}.pub"),
        Some(seq) => format!("keys/{party}.{seq}.pub"),
    }
}

#[derive(Deserialize)]
struct RotationKey {
    public_key: String,
}

/// The new key a `key-rotation` payload names, if it reads.
pub(super) fn rotation_key(payload: &[u8]) -> Option<PublicKey> {
    serde_json::from_slice::<RotationKey>(payload)
        .ok()
        .and_then(|r| PublicKey::from_spki_base64(&r.public_key).ok())
}

/// A file name for a matrix: `<id>.toml`, or `<id>-<sha256 prefix>.toml` when several
/// versions of one id are adopted, or `<sha256>.toml` for an id that is not a plain name.
pub(super) fn matrix_names(adoptions: &[(u64, AdoptionPayload)]) -> Vec<MatrixFile> {
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

/// Whether `needle` occurs in `hay` (a quick look before decoding a payload).
pub(super) fn memfind(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
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
