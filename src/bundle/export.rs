//! Writing a bundle (`schema/FORMAT.md` §16.8): the target is checked, the ledger verified
//! while its entries are written, then the keys, matrices, artefacts, `bundle.json`, the
//! signed checkpoint, `README.txt` and, last, the signed `MANIFEST`.
//!
//! What is read from the ledger's storage is read in [`super::from_ledger`].

use std::collections::HashMap;
use std::path::Path;

use super::format::{
    CHECKPOINT, Exporter, FORMAT, INFO, Info, MANIFEST, MANIFEST_SIG, README, Scope, SelectionInfo,
    key_file, manifest_text, matrix_names,
};
use super::from_ledger::{self, Sampled, Written};
use super::partial::{Partial, check_target};
use super::readme::readme;
use super::{BundleParty, Export, ExportOptions, Exported, Selection};
use crate::crypto::{Fingerprint, SecretKey};
use crate::error::{Error, Result};
use crate::format::entry::format_time;
use crate::format::merkle::Hash;
use crate::format::payload::PeriodRef;
use crate::ledger::Access;
use crate::ledger::verify::{self, Options};
use crate::ledger::{Ledger, Progress};

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
    check_selection(sel)?;
    let ledger = Ledger::open(ledger_path, Access::ReadOnly)?;
    let id = ledger.id()?;
    let fpr = key.public().fingerprint();
    let (party, size) = from_ledger::begin(&ledger, ledger_path, &fpr)?;
    let mut out = Partial::start(dir, exists)?;
    // The ledger is verified (FORMAT.md §7) while its entries are written: verification is
    // bound by the CPU, writing by the disk. A ledger that does not verify leaves nothing
    // behind (`out` removes what was written when it is dropped).
    let (report, written) =
        verify_while_writing(&mut out, &ledger, ledger_path, size, opts, progress);
    let report = report?;
    if !report.ok() {
        return Ok(Export::Refused(Box::new(report)));
    }
    let (written, sample) = written?;
    from_ledger::check_root(&ledger, ledger_path, &report, size, written.root)?;
    let root = written.root;
    let scope = if sample.is_some() {
        Scope::Sample
    } else {
        Scope::Full
    };

    // Keys, as the entries register them (the derived tables agree: the ledger verified).
    let registered = from_ledger::ledger_keys(&ledger)?;
    for k in &registered {
        out.small(&k.file(), k.key.to_pem().as_bytes())?;
    }
    // Matrices, byte for byte; artefacts, streamed.
    let matrices = matrix_names(&written.adoptions);
    from_ledger::write_stored(&mut out, &ledger, ledger_path, &matrices, &written.stored)?;
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
        selection: sample.as_ref().map(|_| selection_info(sel)),
    };
    out.small(INFO, &info.encode()?)?;
    let note = crate::format::checkpoint::sign_vouch(&id, size, root, key)?;
    out.small(CHECKPOINT, note.to_string().as_bytes())?;
    let text = readme_text(&info, size, &root, &registered, written.last, &fpr, &party);
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

/// The selection's own checks, before anything is opened.
fn check_selection(sel: &Selection) -> Result<()> {
    if sel.seqs.contains(&0) {
        return Err(Error::new("--seq 0: entries are numbered from 1"));
    }
    if let Some(i) = sel.items.iter().find(|i| i.trim().is_empty()) {
        return Err(Error::new(format!("--items: empty item name {i:?}")));
    }
    Ok(())
}

/// Verify the ledger (`FORMAT.md` §7) on one thread while its entries are written on this
/// one: verification is bound by the CPU, writing by the disk.
fn verify_while_writing(
    out: &mut Partial,
    ledger: &Ledger,
    ledger_path: &Path,
    size: u64,
    opts: &ExportOptions,
    progress: &dyn Progress,
) -> (Result<verify::Report>, Result<(Written, Option<Sampled>)>) {
    let sel = &opts.selection;
    let verify_opts = Options {
        trust: None,
        artifacts: opts.artifacts,
        all: false,
        now: None,
        since: None,
    };
    std::thread::scope(|s| {
        let verifier = s.spawn(|| verify::verify(ledger_path, &verify_opts, progress));
        let written = from_ledger::write_selected(out, ledger, size, sel, opts);
        let report = verifier
            .join()
            .unwrap_or_else(|_| Err(Error::new("internal error: the verify thread failed")));
        (report, written)
    })
}

/// `bundle.json`'s `selection`: the selection as asked.
fn selection_info(sel: &Selection) -> SelectionInfo {
    SelectionInfo {
        items: sel.items.clone(),
        period: sel.period.as_ref().map(|p| PeriodRef {
            from: p.from.to_string(),
            to: p.to.to_string(),
        }),
        seq: sel.seqs.clone(),
    }
}

/// `README.txt`, with the exporter's key file and the last entry written as the example.
fn readme_text(
    info: &Info,
    size: u64,
    root: &Hash,
    registered: &[BundleParty],
    last: Option<(u64, Fingerprint)>,
    fpr: &Fingerprint,
    party: &str,
) -> String {
    let by_fpr: HashMap<Fingerprint, &BundleParty> = registered
        .iter()
        .map(|k| (k.key.fingerprint(), k))
        .collect();
    let example =
        last.and_then(|(seq, signer)| by_fpr.get(&signer).map(|k| (seq, k.id.clone(), k.file())));
    let exporter_file = by_fpr
        .get(fpr)
        .map_or_else(|| key_file(party, None), |k| k.file());
    readme(info, size, root, registered, &exporter_file, example)
}
