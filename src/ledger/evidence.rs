//! Turning what an operator typed (flags or a JSONL batch) into evidence drafts.
//!
//! Checks every input before anything is written, hashes artefacts while streaming them,
//! and names the line of a batch file that is wrong.

use chrono::{DateTime, Duration, Utc};
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};

use super::store::Txn;
use super::{Draft, check_text};
use crate::crypto::{self, Hasher};
use crate::error::{Error, Result};
use crate::format::entry::{Kind, format_time};
use crate::format::payload::{self, ArtifactRef, EvidencePayload, Outcome};
use crate::matrix::fields::check_field_key;

/// How far in the future a claimed `performed_at` may lie (clock skew allowance).
pub const MAX_FUTURE: Duration = Duration::minutes(5);

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

/// Parse `performed_at`: RFC 3339 with any offset, or `YYYY-MM-DD` (midnight UTC).
/// Fractions of a second are dropped. More than [`MAX_FUTURE`] ahead of `now` is refused.
pub fn parse_performed_at(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let Some(t) = crate::format::entry::parse_input_time(s) else {
        return Err(Error::new(format!("cannot read performed_at {s:?}")).hint(
            "use RFC 3339 (2026-10-05T10:00:00Z, 2026-10-05T12:00:00+02:00) or a date (2026-10-05)",
        ));
    };
    if t > now + MAX_FUTURE {
        return Err(Error::new(format!(
            "performed_at {s} is in the future (now is {})",
            format_time(&now)
        ))
        .hint("evidence records work already done; check the date and the machine's clock"));
    }
    Ok(t)
}

fn check_field_value(k: &str, v: &Value) -> Result<()> {
    let ok = match v {
        Value::String(s) => s.len() <= 4096 && !s.chars().any(|c| c.is_control() && c != '\n'),
        Value::Number(_) | Value::Bool(_) => true,
        Value::Array(a) => a
            .iter()
            .all(|x| matches!(x, Value::String(s) if s.len() <= 4096)),
        _ => false,
    };
    if ok {
        payload::check_numbers(v).map_err(|e| e.context(format!("field {k}")))
    } else {
        Err(Error::new(format!(
            "field {k}: value must be a string, number, boolean or list of strings"
        )))
    }
}

fn check_kind(kind: &str) -> Result<()> {
    let ok = !kind.is_empty()
        && kind.len() <= 64
        && kind.as_bytes()[0].is_ascii_lowercase()
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::new(format!("invalid evidence kind {kind:?}"))
            .hint("kinds are lowercase words joined by '-', e.g. restore-test, patch-run"))
    }
}

/// Hash a file while streaming it (never read whole into memory).
pub fn hash_artifact(path: &Path) -> Result<ArtifactSource> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, &e).context("artefact"))?;
    if meta.is_dir() {
        return Err(
            Error::new(format!("artefact {} is a directory", path.display()))
                .hint("--artifact takes a file; archive a directory first (tar czf out.tgz DIR)"),
        );
    }
    let mut f = File::open(path).map_err(|e| Error::io(path, &e).context("artefact"))?;
    let mut h = Hasher::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| Error::io(path, &e).context("artefact"))?;
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

/// Store an artefact's content in the ledger (once per hash), re-hashing what is written
/// so a file changed since it was hashed is refused rather than stored under a wrong hash.
pub(crate) fn store_artifact(w: &dyn Txn, a: &ArtifactSource) -> Result<()> {
    if w.has_artifact(&a.sha256)? {
        return Ok(());
    }
    let mut source: Box<dyn std::io::Read> = match &a.bytes {
        Some(b) => Box::new(std::io::Cursor::new(b.as_slice())),
        None => {
            Box::new(File::open(&a.path).map_err(|e| Error::io(&a.path, &e).context("artefact"))?)
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

/// Build an evidence draft: validate, hash artefacts, encode the payload.
pub fn draft(input: &EvidenceInput, now: DateTime<Utc>, store_artifacts: bool) -> Result<Draft> {
    check_text("item", &input.item, 200)?;
    if input.item.contains('\n') {
        return Err(Error::new("item contains a line break"));
    }
    check_kind(&input.kind)?;
    let outcome = Outcome::parse(&input.outcome)?;
    let performed = parse_performed_at(&input.performed_at, now)?;
    let mut fields = input.fields.clone();
    for (k, v) in &fields {
        check_field_key(k)?;
        check_field_value(k, v)?;
    }
    // Typed fields of the evidence kind (schema/evidence-kinds.toml).
    crate::matrix::kinds::Registry::builtin()?
        .kind(&input.kind)?
        .check_fields(&mut fields)?;
    if let Some(n) = &input.note {
        check_text("note", n, 8192)?;
    }
    let mut refs = Vec::with_capacity(input.artifacts.len());
    let mut sources = Vec::new();
    for p in &input.artifacts {
        let a = hash_artifact(p)?;
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string());
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

/// Read a JSONL batch and build every draft with its line number; the first bad line is
/// named and nothing is returned. Blank lines are skipped; a file with no entries is refused.
pub fn draft_batch(
    path: &Path,
    now: DateTime<Utc>,
    store_artifacts: bool,
) -> Result<Vec<(usize, Draft)>> {
    let f = File::open(path).map_err(|e| Error::io(path, &e).context("batch"))?;
    if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::new(format!(
            "batch {} is a directory",
            path.display()
        )));
    }
    let mut lines = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidData => {
                Error::new(format!("{} line {}: not UTF-8 text", path.display(), i + 1))
            }
            _ => Error::io(path, &e),
        })?;
        if !line.trim().is_empty() {
            lines.push((i + 1, line));
        }
    }
    // Lines are independent: parse and encode them on every core, then report the first
    // bad line in file order.
    let results: Vec<Result<(usize, Draft)>> = lines
        .par_iter()
        .map(|(n, line)| {
            let at = format!("{} line {n}", path.display());
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
            draft(&input, now, store_artifacts)
                .map(|d| (*n, d))
                .map_err(|e| e.context(&at))
        })
        .collect();
    let drafts = results
        .into_iter()
        .collect::<Result<Vec<(usize, Draft)>>>()?;
    if drafts.is_empty() {
        return Err(
            Error::new(format!("batch {} holds no entries", path.display()))
                .hint("write one JSON object per line"),
        );
    }
    Ok(drafts)
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
