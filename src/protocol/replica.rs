//! Replicas (`schema/PROTOCOL.md` §7): a local ledger file that follows a ledger on a
//! `vouch serve` server, named by its sidecar ([`super::remote`]).
//!
//! - [`clone`] reads every entry and the documents and stored artefacts they name, and
//!   builds the replica through [`extend::create`] (the verifier of `vouch verify`) in a
//!   temporary file renamed into place only when everything verified.
//! - [`pull`] first checks that the server's history extends the replica's (the server's
//!   entry at the replica's head seq has the replica's head hash, and the server has at
//!   least as many entries), then extends the replica through [`extend::extend`]: all the
//!   new entries land, verified, or none.
//! - [`push`] uploads a local ledger whole (§6.2) with its artefacts.
//! - [`init_remote`] creates a ledger on the server from a genesis entry signed locally.
//! - [`write_through`] runs a writing command on a temporary copy of the replica (signing
//!   exactly as a local write does, through the one writer), sends the new entries to the
//!   server signed on the replica's head, and pulls; a moved head means pull, sign again on
//!   the new head and retry (at most [`MAX_ATTEMPTS`] times, with jittered back-off).
//!
//! Nothing here prints: the command line reports what these return.

use std::collections::BTreeSet;
use std::io::{BufRead, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::client::{Appended, Client, Failure, Line};
use super::remote::Remote;
use crate::bundle::{BundleEntry, decode_line, encode_line};
use crate::crypto;
use crate::error::{Error, Result};
use crate::format::entry::{EntryHeader, Kind};
use crate::format::payload::{self, AdoptionPayload, EvidencePayload};
use crate::ledger::extend::{self, ExtendOptions, Extended, Head, Refusal};
use crate::ledger::{Access, Ledger};

/// Entries read per request.
const PAGE: usize = 10_000;
/// Attempts of a write through the remote when the head keeps moving (§6.5).
pub const MAX_ATTEMPTS: u32 = 16;

/// Why a pull (or a clone) stopped.
#[derive(Debug)]
pub enum PullError {
    /// The server's history does not extend the replica's, or it sent entries that do not
    /// verify: the replica is kept unchanged (exit 1).
    Refused(Error),
    /// Anything else (the transport, the server's refusal, I/O): nothing was stored.
    Failed(Error),
}

impl From<Error> for PullError {
    fn from(e: Error) -> Self {
        PullError::Failed(e)
    }
}

impl From<Failure> for PullError {
    fn from(f: Failure) -> Self {
        PullError::Failed(f.into())
    }
}

/// What a pull did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pulled {
    /// The replica's head before.
    pub from: Head,
    /// Its head after (the server's head when it was read).
    pub to: Head,
}

fn hex8(h: &[u8; 32]) -> String {
    hex::encode(h)
}

/// `entry N (hash)`.
fn named(h: Head) -> String {
    format!("entry {} ({})", h.seq, hex8(&h.hash))
}

/// The head of a local ledger file.
///
/// # Errors
///
/// An unreadable ledger, or one with no entry.
pub fn local_head(path: &Path) -> Result<Head> {
    let l = Ledger::open(path, Access::ReadOnly)?;
    let size = l.size()?;
    let e = l.entry(size)?.ok_or_else(|| {
        Error::new(format!("{}: the ledger has no entry", path.display()))
            .hint("run vouch verify on it")
    })?;
    Ok(Head {
        seq: e.seq(),
        hash: e.hash(),
    })
}

/// Read entries `after+1 …` from the server, page by page, until a page comes back empty
/// or `upto` is reached.
fn read_entries(
    client: &Client,
    id: &str,
    mut after: u64,
    upto: u64,
) -> Result<Vec<BundleEntry>, PullError> {
    let mut out = Vec::new();
    while after < upto {
        let r = client.entries(id, after, PAGE)?;
        let before = out.len();
        for (i, line) in r.split(b'\n').enumerate() {
            let line = line.map_err(|e| {
                Error::new(format!("{}: reading entries: {e}", client.url()))
                    .hint("check the connection and pull again")
            })?;
            let e = decode_line(&line).map_err(|w| {
                PullError::Refused(Error::new(format!(
                    "the server sent a malformed line {} after entry {after}: {w}",
                    i + 1
                )))
            })?;
            if e.seq != after + 1 + (out.len() - before) as u64 {
                return Err(PullError::Refused(Error::new(format!(
                    "the server sent entry {} where entry {} was due",
                    e.seq,
                    after + 1 + (out.len() - before) as u64
                ))));
            }
            out.push(e);
        }
        if out.len() == before {
            break;
        }
        after += (out.len() - before) as u64;
    }
    Ok(out)
}

/// The documents (adopted matrices) and stored artefacts `entries` name, as
/// (SHA-256, entry, name, size).
fn named_blobs(entries: &[BundleEntry]) -> Vec<(String, u64, String, u64)> {
    let mut out = Vec::new();
    for e in entries {
        let Ok(h) = EntryHeader::parse(&e.body) else {
            continue;
        };
        match h.kind {
            Kind::Adoption => {
                if let Ok(p) = payload::decode::<AdoptionPayload>(&e.payload) {
                    out.push((
                        p.matrix.sha256,
                        e.seq,
                        format!("matrix {}", p.matrix.id),
                        p.matrix.size,
                    ));
                }
            }
            Kind::Evidence => {
                if let Ok(p) = payload::decode::<EvidencePayload>(&e.payload) {
                    for a in p.artifacts.into_iter().filter(|a| a.stored) {
                        out.push((a.sha256, e.seq, a.name, a.size));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Fetch the blobs `entries` name that `have` does not hold, each checked against its
/// SHA-256 (the server is not trusted).
fn fetch_blobs(
    client: &Client,
    id: &str,
    entries: &[BundleEntry],
    have: Option<&Ledger>,
) -> Result<Vec<Vec<u8>>, PullError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (sha, seq, name, size) in named_blobs(entries) {
        if !seen.insert(sha.clone()) {
            continue;
        }
        if let Some(l) = have
            && l.read_artifact(&sha, &mut |_: &[u8]| {})?.is_some()
        {
            continue;
        }
        let mut bytes = Vec::new();
        client
            .get_artifact(id, &sha)?
            .read_to_end(&mut bytes)
            .map_err(|e| Error::new(format!("{}: reading artefact {sha}: {e}", client.url())))?;
        if hex::encode(crypto::sha256(&bytes)) != sha || bytes.len() as u64 != size {
            return Err(PullError::Refused(Error::new(format!(
                "entry {seq}: the server sent other bytes for {name} than the SHA-256 {sha} and size {size} the entry signs"
            ))));
        }
        out.push(bytes);
    }
    Ok(out)
}

/// A refusal of entries the server sent, as a [`PullError`].
fn refused(r: Refusal) -> PullError {
    match r {
        Refusal::Rejected { error, .. } | Refusal::Malformed(error) => PullError::Refused(
            Error::new(format!(
                "the server sent entries that do not verify: {}",
                error.message()
            ))
            .hint(
                "the replica was kept unchanged; tell the server's operator and the other parties",
            ),
        ),
        Refusal::HeadMoved(h) => PullError::Failed(
            Error::new(format!(
                "the replica changed while pulling (its head is now {})",
                named(h)
            ))
            .hint("another vouch wrote to it at the same time: pull again"),
        ),
        Refusal::Failed(e) => PullError::Failed(e),
    }
}

/// Options of an extension by entries from the server: the documents and artefacts they
/// name come with them, stored in the same transaction ([`fetch_blobs`] checked each
/// against the SHA-256 and size its entry signs, and that none is missing).
fn options(blobs: Vec<Vec<u8>>) -> ExtendOptions {
    ExtendOptions {
        now: crate::clock::now(),
        require_artifacts: false,
        documents: blobs,
        // History the server accepted: its entries are as old as they are.
        max_past: None,
    }
}

/// A temporary directory beside `path` (same file system, so a rename is atomic).
fn temp_dir_beside(path: &Path) -> Result<tempfile::TempDir> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    tempfile::Builder::new()
        .prefix(".vouch-replica-")
        .tempdir_in(dir)
        .map_err(|e| Error::io(dir, &e))
}

/// Move `from` to `to`, refusing to replace a file.
fn move_new(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        return Err(Error::new(format!("{} exists", to.display()))
            .hint("choose another --ledger file, or remove it"));
    }
    std::fs::rename(from, to).map_err(|e| Error::io(to, &e))
}

/// `vouch clone URL/ID`: a verified replica of ledger `id` of the server `client` talks
/// to, at `path` (which must not exist), and its sidecar `remote`.
///
/// # Errors
///
/// [`PullError::Refused`]: the server sent entries or artefacts that do not verify;
/// [`PullError::Failed`]: anything else. Nothing is written in either case.
pub fn clone(client: &Client, remote: &Remote, path: &Path) -> Result<Head, PullError> {
    if path.exists() || super::remote::sidecar(path).exists() {
        return Err(PullError::Failed(
            Error::new(format!("{} exists", path.display()))
                .hint("clone into a new file: give --ledger FILE"),
        ));
    }
    let id = &remote.ledger;
    let head = client.head(id)?;
    let entries = read_entries(client, id, 0, head.seq)?;
    let blobs = fetch_blobs(client, id, &entries, None)?;
    let tmp = temp_dir_beside(path)?;
    let file = tmp.path().join("ledger.db");
    let done = extend::create(
        &file,
        entries.into_iter().map(Ok),
        &options(blobs),
        &mut None,
    )
    .map_err(refused)?;
    move_new(&file, path)?;
    remote.save(path)?;
    Ok(done.head)
}

/// `vouch pull`: extend the replica at `path` with the server's new entries, after
/// checking that the server's history extends the replica's.
///
/// # Errors
///
/// [`PullError::Refused`] naming both heads when the server's history does not extend the
/// replica's (or its entries do not verify); [`PullError::Failed`] otherwise. The replica
/// is unchanged in both cases.
pub fn pull(client: &Client, id: &str, path: &Path) -> Result<Pulled, PullError> {
    let mine = local_head(path)?;
    let theirs = client.head(id)?;
    let diverged = |what: &str| {
        PullError::Refused(
            Error::new(format!(
                "the server's history does not extend the replica's: {what}; the replica's head is {}, the server's head is {}",
                named(mine),
                named(theirs)
            ))
            .hint("the replica was kept unchanged: the server rewrote or rolled back the ledger's history; tell its operator and the other parties, and keep this replica as evidence"),
        )
    };
    if theirs.seq < mine.seq {
        return Err(diverged("the server has fewer entries"));
    }
    let mut entries = read_entries(client, id, mine.seq - 1, theirs.seq)?;
    let at_head = entries.first().filter(|e| e.seq == mine.seq);
    match at_head {
        None => return Err(diverged(&format!("the server sent no entry {}", mine.seq))),
        Some(e) if crypto::sha256(&e.body) != mine.hash => {
            return Err(diverged(&format!(
                "the server's entry {} has hash {}",
                mine.seq,
                hex8(&crypto::sha256(&e.body))
            )));
        }
        Some(_) => {}
    }
    entries.remove(0);
    if entries.is_empty() {
        return Ok(Pulled {
            from: mine,
            to: mine,
        });
    }
    let blobs = {
        let l = Ledger::open(path, Access::ReadOnly)?;
        fetch_blobs(client, id, &entries, Some(&l))?
    };
    let done: Extended = extend::extend(path, mine, entries.into_iter().map(Ok), &options(blobs))
        .map_err(refused)?;
    Ok(Pulled {
        from: mine,
        to: done.head,
    })
}

/// The entries of the local ledger `l` after `after`, as signed.
fn lines_after(l: &Ledger, after: u64) -> Result<Vec<Line>> {
    let mut out = Vec::new();
    l.scan(after + 1, u64::MAX, |chunk| {
        out.extend(chunk.into_iter().map(|e| Line {
            seq: e.seq(),
            body: e.body,
            signature: e.signature,
            payload: e.payload,
        }));
        Ok(())
    })?;
    Ok(out)
}

/// Upload the documents and stored artefacts `lines` name, from the ledger `l`, that the
/// server does not have.
fn upload_blobs(client: &Client, id: &str, l: &Ledger, lines: &[Line]) -> Result<()> {
    let entries: Vec<BundleEntry> = lines
        .iter()
        .map(|x| BundleEntry {
            seq: x.seq,
            body: x.body.clone(),
            signature: x.signature.clone(),
            payload: x.payload.clone(),
            proof: None,
        })
        .collect();
    let mut seen = BTreeSet::new();
    for (sha, seq, name, _) in named_blobs(&entries) {
        if !seen.insert(sha.clone()) || client.has_artifact(id, &sha)? {
            continue;
        }
        let bytes = l.artifact_bytes(&sha)?.ok_or_else(|| {
            Error::new(format!(
                "entry {seq}: {name} ({sha}) is not stored in {}",
                l.path().display()
            ))
            .hint("run vouch verify --artifacts on the ledger")
        })?;
        client.put_artifact_bytes(id, &bytes)?;
    }
    Ok(())
}

/// `vouch push URL`: upload the local ledger at `path` whole (§6.2, `client`'s key must
/// be an admin key of the server) with its artefacts, then write the sidecar `remote`:
/// the file becomes a replica.
///
/// # Errors
///
/// A ledger that is a replica already, the server's refusal, I/O.
pub fn push(client: &Client, remote: &Remote, path: &Path) -> Result<Appended> {
    if Remote::load(path)?.is_some() {
        return Err(Error::new(format!(
            "{} is a replica already ({})",
            path.display(),
            super::remote::sidecar(path).display()
        ))
        .hint("a replica's entries are on its server: use vouch pull"));
    }
    let l = Ledger::open(path, Access::ReadOnly)?;
    let lines = lines_after(&l, 0)?;
    let tmp = temp_dir_beside(path)?;
    let body = tmp.path().join("upload.jsonl");
    let mut f =
        std::io::BufWriter::new(std::fs::File::create(&body).map_err(|e| Error::io(&body, &e))?);
    let mut docs = BTreeSet::new();
    for e in l.entries_of_kind(Kind::Adoption, None)? {
        let p: AdoptionPayload = payload::decode(&e.payload).map_err(Error::new)?;
        if !docs.insert(p.matrix.sha256.clone()) {
            continue;
        }
        let bytes = l.artifact_bytes(&p.matrix.sha256)?.ok_or_else(|| {
            Error::new(format!(
                "entry {}: matrix {} is not stored in {}",
                e.seq(),
                p.matrix.sha256,
                path.display()
            ))
        })?;
        let doc = serde_json::json!({"document": crypto::base64_encode(&bytes)});
        writeln!(f, "{doc}").map_err(|e| Error::io(&body, &e))?;
    }
    for x in &lines {
        f.write_all(&encode_line(
            x.seq,
            &x.body,
            &x.signature,
            &x.payload,
            None,
        )?)
        .map_err(|e| Error::io(&body, &e))?;
    }
    f.flush().map_err(|e| Error::io(&body, &e))?;
    drop(f);
    let done = client.upload_ledger(&remote.ledger, &body)?;
    upload_blobs(client, &remote.ledger, &l, &lines)?;
    remote.save(path)?;
    Ok(done)
}

/// `vouch init --remote URL`: `make` builds and signs the new ledger in a temporary file
/// exactly as `vouch init` does; its genesis entry creates the ledger on the server
/// (§6.1, `client`'s key must be an admin key), and the file is moved to `path` (which must
/// not exist) with its sidecar. `remote.ledger` is filled in from the genesis entry.
///
/// # Errors
///
/// What `make` returns, the server's refusal, I/O. Nothing is left at `path` on failure.
pub fn init_remote<T>(
    client: &Client,
    mut remote: Remote,
    path: &Path,
    make: impl FnOnce(&Path) -> Result<T>,
) -> Result<(T, Remote)> {
    if path.exists() {
        return Err(
            Error::new(format!("{} exists", path.display())).hint("choose another --ledger file")
        );
    }
    let tmp = temp_dir_beside(path)?;
    let file = tmp.path().join("ledger.db");
    let out = make(&file)?;
    let l = Ledger::open(&file, Access::ReadOnly)?;
    remote.ledger = l.id()?.to_string();
    let genesis = lines_after(&l, 0)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::new("internal error: the new ledger has no genesis entry"))?;
    drop(l);
    client.create_ledger(&genesis)?;
    move_new(&file, path)?;
    remote.save(path)?;
    Ok((out, remote))
}

/// Copy the ledger file `path` (and its write-ahead log, if any) to `to`.
fn copy_ledger(path: &Path, to: &Path) -> Result<()> {
    std::fs::copy(path, to).map_err(|e| Error::io(path, &e))?;
    let mut wal = path.as_os_str().to_os_string();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    if wal.exists() {
        let mut dst = to.as_os_str().to_os_string();
        dst.push("-wal");
        std::fs::copy(&wal, PathBuf::from(dst)).map_err(|e| Error::io(&wal, &e))?;
    }
    Ok(())
}

/// A pause drawn at random from 5 ms to 5 + 25·2^attempt ms (at most 1.6 s): "full
/// jitter", so that writers who collided spread out instead of colliding again.
fn back_off(attempt: u32) {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    let window = 25u64 << attempt.min(6);
    let ms = 5 + u64::from(u32::from_le_bytes(b)) % (window + 1);
    std::thread::sleep(Duration::from_millis(ms));
}

/// What a write through the remote did.
#[derive(Debug)]
pub struct Written<T> {
    /// What the command returned on the attempt that landed.
    pub value: T,
    /// The temporary ledger file that attempt ran on (for messages naming it).
    pub ran_on: PathBuf,
    /// The entries it sent (0: the command wrote nothing).
    pub sent: u64,
    /// Attempts made (1: the head did not move).
    pub attempts: u32,
}

/// The server stored `lines` on `base` and its head is now `head`: when that is the last
/// line's hash, store the same bytes in the replica (with the documents and artefacts they
/// name, from `ran_on`, the copy the command ran on), verified as a pull would, without
/// fetching them back. `false` when the server's answer is not that head (the caller
/// pulls instead).
fn apply_sent(
    path: &Path,
    base: Head,
    ran_on: &Path,
    lines: &[Line],
    head: Head,
) -> Result<bool, PullError> {
    let Some(last) = lines.last() else {
        return Ok(false);
    };
    if head.seq != last.seq || head.hash != crypto::sha256(&last.body) {
        return Ok(false);
    }
    let entries: Vec<BundleEntry> = lines
        .iter()
        .map(|x| BundleEntry {
            seq: x.seq,
            body: x.body.clone(),
            signature: x.signature.clone(),
            payload: x.payload.clone(),
            proof: None,
        })
        .collect();
    let l = Ledger::open(ran_on, Access::ReadOnly)?;
    let mut seen = BTreeSet::new();
    let mut blobs = Vec::new();
    for (sha, ..) in named_blobs(&entries) {
        if seen.insert(sha.clone())
            && let Some(bytes) = l.artifact_bytes(&sha)?
        {
            blobs.push(bytes);
        }
    }
    extend::extend(path, base, entries.into_iter().map(Ok), &options(blobs)).map_err(refused)?;
    Ok(true)
}

/// Run a writing command on the replica at `path` through its remote: pull, run `attempt`
/// on a temporary copy of the replica (it signs on the replica's head through the one
/// writer), send the entries it appended (with their documents and stored artefacts),
/// then store in the replica exactly what the server accepted (verified as a pull
/// verifies, without fetching it back). A moved head (409) starts over on the new head, at most
/// [`MAX_ATTEMPTS`] times. `attempt` may run more than once: only the last run's result is
/// returned (with the file it ran on, which is gone by then).
///
/// # Errors
///
/// [`PullError::Refused`] when a pull is refused (the replica kept), otherwise
/// [`PullError::Failed`]: the command's own error, the server's refusal, a head that kept
/// moving. The replica is unchanged unless entries landed on the server (then it holds
/// them).
pub fn write_through<T>(
    client: &Client,
    id: &str,
    path: &Path,
    attempt: &mut dyn FnMut(&Path) -> Result<T>,
) -> Result<Written<T>, PullError> {
    let mut moved = None;
    for n in 1..=MAX_ATTEMPTS {
        pull(client, id, path)?;
        let base = local_head(path)?;
        let tmp = temp_dir_beside(path)?;
        let file = tmp.path().join(
            path.file_name()
                .map_or_else(|| PathBuf::from("ledger.db"), PathBuf::from),
        );
        copy_ledger(path, &file)?;
        let value = attempt(&file)?;
        let (lines, sent) = {
            let l = Ledger::open(&file, Access::ReadOnly)?;
            let lines = lines_after(&l, base.seq)?;
            if !lines.is_empty() {
                upload_blobs(client, id, &l, &lines)?;
            }
            let sent = lines.len() as u64;
            (lines, sent)
        };
        let written = |value| Written {
            value,
            ran_on: file.clone(),
            sent,
            attempts: n,
        };
        if lines.is_empty() {
            return Ok(written(value));
        }
        match client.append(id, base, &lines) {
            Ok(appended) => {
                if !apply_sent(path, base, &file, &lines, appended.head)? {
                    pull(client, id, path)?;
                }
                return Ok(written(value));
            }
            Err(Failure::HeadMoved { head, .. }) => {
                moved = Some(head);
                back_off(n);
            }
            Err(e) => return Err(e.into()),
        }
    }
    let head = moved.map_or_else(String::new, |h| format!(" (last seen: {})", named(h)));
    Err(PullError::Failed(
        Error::new(format!(
            "the server's head kept moving: {MAX_ATTEMPTS} attempts signed on a head that was no longer the newest{head}"
        ))
        .hint("other parties are writing a lot right now: run the command again (nothing was sent twice)"),
    ))
}
