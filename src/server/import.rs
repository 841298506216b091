//! Moving ledgers from a directory of files (`vouch serve --data DIR`) into a PostgreSQL
//! database (`vouch serve --database URL --import DIR`).
//!
//! Each `DIR/<ledger id>.db` is first verified as `vouch verify --artifacts` does (every
//! signature, rule, derived row and stored artefact); a ledger with a finding is refused and
//! nothing of it is written. Its entries then go into the database the way an upload does
//! (`ledger::extend::create`: judged again by the verifier as they stream in, the ledger
//! row, the adopted matrices and every entry in one transaction), then its stored
//! artefacts, each re-hashed on the way. A ledger the database has already is skipped, and
//! the files are never changed.

use std::collections::BTreeSet;
use std::path::Path;

use super::{Hosting, is_ledger_id};
use crate::bundle::BundleEntry;
use crate::error::{Error, Result};
use crate::format::entry::Kind;
use crate::format::payload::{self, EvidencePayload};
use crate::ledger::extend::{self, ExtendOptions, Refusal};
use crate::ledger::verify::{self, Options};
use crate::ledger::{Access, Ledger, NoProgress};

/// Entries read from the file per step.
const PAGE: usize = 4096;

/// What became of one ledger file.
#[derive(Debug)]
pub enum Imported {
    /// Moved in: entries and stored artefacts.
    Moved {
        /// The ledger id.
        id: String,
        /// Entries.
        entries: u64,
        /// Stored artefacts (adopted matrices included).
        artifacts: usize,
    },
    /// The database has a ledger of that id already: left as it is.
    Exists {
        /// The ledger id.
        id: String,
    },
    /// Not moved: the file does not verify, or could not be read or written.
    Refused {
        /// The ledger id.
        id: String,
        /// Why.
        error: Error,
    },
}

/// Move every ledger file of `dir` into the database at `url`, telling `each` what became
/// of each, in ledger id order. Returns (moved, skipped, refused).
///
/// # Errors
///
/// An unreadable directory, a database that cannot be reached; a ledger that cannot be
/// moved is [`Imported::Refused`], and the others are still moved.
pub fn import(
    url: &str,
    dir: &Path,
    each: &mut dyn FnMut(&Imported),
) -> Result<(usize, usize, usize)> {
    let hosting = Hosting::Database(url.to_string());
    // Reach (and migrate) the database once, before any file is read.
    extend::database_ledgers(url)?;
    let rd = std::fs::read_dir(dir).map_err(|e| {
        Error::io(dir, &e).hint("--import names the data directory of vouch serve --data")
    })?;
    let mut ids: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".db")
                .filter(|id| is_ledger_id(id))
                .map(str::to_string)
        })
        .collect();
    ids.sort();
    let mut counts = (0, 0, 0);
    for id in ids {
        let file = dir.join(format!("{id}.db"));
        let at = hosting.location(&id);
        let outcome = match move_one(&id, &file, &at) {
            Ok(Some((entries, artifacts))) => Imported::Moved {
                id,
                entries,
                artifacts,
            },
            Ok(None) => Imported::Exists { id },
            Err(error) => Imported::Refused { id, error },
        };
        match outcome {
            Imported::Moved { .. } => counts.0 += 1,
            Imported::Exists { .. } => counts.1 += 1,
            Imported::Refused { .. } => counts.2 += 1,
        }
        each(&outcome);
    }
    Ok(counts)
}

/// Move one file: `None` if the database has the ledger already.
fn move_one(id: &str, file: &Path, at: &Path) -> Result<Option<(u64, usize)>> {
    if extend::exists(at)? {
        return Ok(None);
    }
    let opts = Options {
        trust: None,
        artifacts: true,
        all: false,
        now: Some(crate::clock::now()),
        since: None,
    };
    let report = verify::verify(file, &opts, &NoProgress)?;
    if let Some(f) = report.findings.first() {
        return Err(Error::new(format!(
            "{}: does not verify: entry {}: {}",
            file.display(),
            f.seq,
            f.what
        ))
        .hint(format!(
            "run vouch verify --ledger {} --all, and restore the file from a backup",
            file.display()
        )));
    }
    if report.ledger_id.as_deref() != Some(id) {
        return Err(Error::new(format!(
            "{}: holds ledger {}, not the ledger its name says",
            file.display(),
            report.ledger_id.as_deref().unwrap_or("(none)")
        ))
        .hint("a file of the data directory is named <ledger id>.db"));
    }
    let ledger = Ledger::open(file, Access::ReadOnly)?;
    let documents: Vec<Vec<u8>> = ledger
        .adoptions()?
        .into_iter()
        .map(|(_, _, bytes)| bytes)
        .collect();
    let documents_n = documents.iter().collect::<BTreeSet<_>>().len();
    let xopts = ExtendOptions {
        now: crate::clock::now(),
        require_artifacts: false,
        documents,
        // Moved history keeps its times.
        max_past: None,
    };
    let created = extend::create(at, entries_of(&ledger), &xopts, &mut None).map_err(|r| {
        match r {
            Refusal::Rejected { error, .. }
            | Refusal::Malformed(error)
            | Refusal::Failed(error) => error,
            Refusal::HeadMoved(_) => Error::new(format!("ledger {id}: created meanwhile")),
        }
        .context(file.display())
    })?;
    let mut stored = BTreeSet::new();
    for e in ledger.entries_of_kind(Kind::Evidence, None)? {
        let p: EvidencePayload = payload::decode(&e.payload)
            .map_err(|w| Error::new(format!("{}: entry {}: {w}", file.display(), e.seq())))?;
        stored.extend(
            p.artifacts
                .into_iter()
                .filter(|a| a.stored)
                .map(|a| a.sha256),
        );
    }
    for sha in &stored {
        let bytes = ledger.artifact_bytes(sha)?.ok_or_else(|| {
            Error::new(format!(
                "{}: stored artefact {sha} is missing",
                file.display()
            ))
        })?;
        if hex::encode(crate::crypto::sha256(&bytes)) != *sha {
            return Err(Error::new(format!(
                "{}: stored artefact {sha} changed while it was read",
                file.display()
            )));
        }
        extend::store_artifact(at, sha, bytes.len() as u64, &mut bytes.as_slice())?;
    }
    Ok(Some((created.last, stored.len() + documents_n)))
}

/// The entries of `ledger`, read a page at a time, as the lines of an upload.
fn entries_of(ledger: &Ledger) -> impl Iterator<Item = std::result::Result<BundleEntry, Refusal>> {
    let mut after = 0u64;
    let mut page = Vec::new().into_iter();
    let mut done = false;
    std::iter::from_fn(move || {
        loop {
            if let Some(e) = page.next() {
                return Some(Ok(e));
            }
            if done {
                return None;
            }
            match ledger.entries_after(after, PAGE) {
                Ok(rows) => {
                    done = rows.len() < PAGE;
                    after = rows.last().map_or(after, |e| e.seq());
                    page = rows
                        .into_iter()
                        .map(|e| BundleEntry {
                            seq: e.seq(),
                            body: e.body,
                            signature: e.signature,
                            payload: e.payload,
                            proof: None,
                        })
                        .collect::<Vec<_>>()
                        .into_iter();
                }
                Err(e) => {
                    done = true;
                    return Some(Err(Refusal::Failed(e)));
                }
            }
        }
    })
}
