//! Verifying a bundle (`schema/FORMAT.md` §16.9), step by step: the files against the
//! MANIFEST, `bundle.json`, the entries (a full bundle in a temporary ledger, a sampled one
//! line by line), the keys, the MANIFEST and checkpoint signatures, the matrices and the
//! artefacts. Also a full bundle against a checkpoint held outside it (§13.7).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{BufRead as _, BufReader};
use std::path::Path;

use super::files::{Files, Listed, check_files, compare};
use super::findings::{Findings, order};
use super::format::{
    CHECKPOINT, ENTRIES, FORMAT, INFO, Info, MANIFEST, MANIFEST_SIG, Scope, decode_line, valid_path,
};
use super::full::{full_pass, ledger_findings};
use super::sample::sample_pass;
use super::seen::Seen;
use super::{BundleParty, BundleReport, VerifyOptions};
use crate::crypto::Fingerprint;
use crate::error::{Error, Result};
use crate::format::checkpoint::{Checkpoint, Note, vouch_verifier};
use crate::format::entry::{LedgerId, parse_time};
use crate::format::merkle::{self, Hash};
use crate::ledger::{Progress, check_party_id};

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

/// A bundle being verified: what was read of it, the report as it fills, and the findings.
struct Verification<'a> {
    dir: &'a Path,
    manifest: Vec<u8>,
    listed: BTreeMap<String, Listed>,
    files: Files,
    trust: Option<HashSet<Fingerprint>>,
    report: BundleReport,
    out: Findings,
}

/// Verify the bundle in `dir`.
///
/// `Err` only when the directory cannot be examined: it does not exist, is not a
/// directory, has no MANIFEST (it is not a bundle), its `bundle.json` names a newer format,
/// or a file cannot be read. Everything else is a finding in the report.
pub fn verify(dir: &Path, opts: &VerifyOptions, progress: &dyn Progress) -> Result<BundleReport> {
    let manifest = read_manifest(dir)?;
    let mut out = Findings::default();
    let mut report = BundleReport {
        pinned: opts.trust.is_some(),
        ..BundleReport::default()
    };
    let (listed, files) = check_files(dir, &manifest, &mut out)?;
    report.manifest_files = listed.len();
    let mut v = Verification {
        dir,
        manifest,
        listed,
        files,
        trust: opts.trust.as_ref().map(|t| t.iter().copied().collect()),
        report,
        out,
    };

    // bundle.json: without it nothing else can be interpreted.
    let Some(info) = v.read_info() else {
        return Ok(v.unordered());
    };
    let Some(ledger) = v.check_info(&info)? else {
        v.report.info = Some(info);
        return Ok(v.unordered());
    };
    // The checkpoint's text (its signature is checked once the keys are known).
    let note = v.read_checkpoint(&ledger);
    // The matrix files, by the SHA-256 bundle.json gives them.
    let matrix_sha = v.matrix_files(&info);

    let entries_present = v.files.present.contains(ENTRIES);
    let mut seen = if !entries_present {
        Seen::default()
    } else if info.scope == Scope::Full {
        v.full_entries(&info, &matrix_sha, opts, progress)?
    } else {
        let cp = note.as_ref().map(|(_, c)| (c.size, c.root));
        v.sampled_entries(&info, ledger, cp, progress)?
    };
    v.entries_read(&info, &mut seen, entries_present);

    // The keys: registered, pinned, and the files the bundle carries.
    check_key_files(&v.report.parties, &v.files, &mut v.out);
    // MANIFEST.sig, by the exporter.
    v.check_manifest_signature(&info);
    // The checkpoint's signature, by a trusted key.
    if let Some((n, _)) = &note {
        v.check_checkpoint_signature(n, &ledger);
    }
    // Matrices against the adoptions.
    v.check_matrices(&info, &seen, &matrix_sha);
    // Artefacts against the evidence.
    check_artifacts(&info, &seen, &v.files, &mut v.report, &mut v.out);
    v.check_selection(&info, &seen, entries_present);
    v.report.info = Some(info);
    v.report.findings = order(v.out.0, opts.all, &mut v.report.stopped_early);
    Ok(v.report)
}

/// The largest MANIFEST read: a line per file (about 90 bytes), a million files.
const MAX_MANIFEST: u64 = 96 << 20;

/// The directory must be a directory, and hold a MANIFEST: returns its bytes.
fn read_manifest(dir: &Path) -> Result<Vec<u8>> {
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
    // A bundle is untrusted input: the MANIFEST's type and size are checked before a byte
    // of it is read (a symbolic link to /dev/zero or a sparse 2 GiB file is refused at once).
    let meta = match fs::symlink_metadata(&manifest_path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::new(format!(
                "{}: no MANIFEST: not a vouch bundle (or one whose MANIFEST was removed)",
                dir.display()
            ))
            .hint("a bundle is the directory `vouch export --bundle DIR` wrote; MANIFEST is written last"));
        }
        Err(e) => return Err(Error::io(&manifest_path, &e)),
    };
    if !meta.file_type().is_file() {
        return Err(
            Error::new(format!("{} is not a regular file", manifest_path.display()))
                .hint("a bundle's MANIFEST is a plain text file; this bundle was altered"),
        );
    }
    if meta.len() > MAX_MANIFEST {
        return Err(Error::new(format!(
            "{} is {} bytes, more than a MANIFEST can be ({MAX_MANIFEST})",
            manifest_path.display(),
            meta.len()
        ))
        .hint("this bundle was altered; ask its exporter for a fresh copy"));
    }
    let mut manifest = Vec::new();
    fs::File::open(&manifest_path)
        .and_then(|f| {
            use std::io::Read as _;
            f.take(MAX_MANIFEST + 1).read_to_end(&mut manifest)
        })
        .map_err(|e| Error::io(&manifest_path, &e))?;
    if manifest.len() as u64 > MAX_MANIFEST {
        return Err(Error::new(format!(
            "{} grew while it was read",
            manifest_path.display()
        )));
    }
    Ok(manifest)
}

impl Verification<'_> {
    /// The report when verification stops early: findings as they were found.
    fn unordered(self) -> BundleReport {
        let mut report = self.report;
        report.findings = self.out.0;
        report
    }

    /// `bundle.json`, if it is there and reads.
    fn read_info(&mut self) -> Option<Info> {
        let info = self.files.small.get(INFO).map(|b| Info::decode(b))?;
        match info {
            Ok(i) => Some(i),
            Err(e) => {
                self.out.file(INFO, None, "format", e);
                None
            }
        }
    }

    /// The members of `bundle.json` other steps do not check; its ledger id, if it reads.
    fn check_info(&mut self, info: &Info) -> Result<Option<LedgerId>> {
        if info.format != FORMAT {
            if info.format.starts_with("vouch/") && info.format.ends_with(" bundle") {
                return Err(Error::new(format!(
                    "{}: bundle format {:?} is not one this vouch reads ({FORMAT:?})",
                    self.dir.join(INFO).display(),
                    info.format
                ))
                .hint("use a vouch version that reads it"));
            }
            self.out.file(
                INFO,
                None,
                "format",
                format!("format {:?} is not {FORMAT:?}", info.format),
            );
        }

        let Some(ledger) = LedgerId::parse(&info.ledger) else {
            self.out.file(
                INFO,
                None,
                "format",
                format!("ledger id {:?} is not 32 lowercase hex digits", info.ledger),
            );
            return Ok(None);
        };
        if parse_time(&info.created).is_none() {
            self.out.file(
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
            self.out.file(
                INFO,
                None,
                "format",
                "a sampled bundle, and only one, names its selection",
            );
        }

        Ok(Some(ledger))
    }

    /// `checkpoint.txt`, parsed (its signature is checked once the keys are known).
    fn read_checkpoint(&mut self, ledger: &LedgerId) -> Option<(Note, Checkpoint)> {
        let note = self.files.small.get(CHECKPOINT).and_then(|b| {
            let parsed = std::str::from_utf8(b)
                .map_err(|_| Error::new("is not UTF-8 text"))
                .and_then(Note::parse)
                .and_then(|n| Checkpoint::parse_vouch(&n.text, ledger).map(|c| (n, c)));
            match parsed {
                Ok(x) => Some(x),
                Err(e) => {
                    self.out.file(CHECKPOINT, None, "checkpoint", e.message());
                    None
                }
            }
        });
        self.report.checkpoint = note.as_ref().map(|(_, c)| (c.size, c.root));

        note
    }

    /// The matrix files `bundle.json` lists, by the SHA-256 it gives them.
    fn matrix_files<'i>(&mut self, info: &'i Info) -> HashMap<String, (&'i str, Hash)> {
        let mut matrix_sha: HashMap<String, (&str, Hash)> = HashMap::new();
        for m in &info.matrices {
            if !(m.file.starts_with("matrices/")
                && m.file.ends_with(".toml")
                && valid_path(&m.file))
            {
                self.out.file(
                    INFO,
                    None,
                    "format",
                    format!("matrix file {:?} is not matrices/NAME.toml", m.file),
                );
                continue;
            }
            if let Some(h) = self.files.hashes.get(&m.file) {
                matrix_sha.insert(m.sha256.clone(), (&m.file, *h));
            } else if !self.files.missing.contains(&m.file) {
                self.out
                    .file(&m.file, None, "file", "missing (bundle.json lists it)");
            }
        }
        for p in self
            .files
            .present
            .iter()
            .filter(|p| p.starts_with("matrices/"))
        {
            if !info.matrices.iter().any(|m| &m.file == p) {
                self.out.file(
                    p,
                    None,
                    "matrix",
                    "bundle.json does not list this matrix file",
                );
            }
        }

        matrix_sha
    }

    /// A full bundle's entries: loaded into a temporary ledger and verified.
    fn full_entries(
        &mut self,
        info: &Info,
        matrix_sha: &HashMap<String, (&str, Hash)>,
        opts: &VerifyOptions,
        progress: &dyn Progress,
    ) -> Result<Seen> {
        let path = self.dir.join(ENTRIES);
        let (mut seen, v) = full_pass(&path, info, &self.files, opts, progress, &mut self.out)?;
        self.report.signatures = v.signatures;
        self.report.head = v.head;
        self.report.root = v.merkle_root;
        self.report.unused_pins = v.unused_pins.clone();
        self.report.parties = std::mem::take(&mut seen.book.keys);

        ledger_findings(v.findings, &seen, matrix_sha, &mut self.out);
        if let (Some((size, root)), Some(head)) = (self.report.checkpoint, self.report.head) {
            if size != head.0 {
                self.out.file(
                    CHECKPOINT,
                    Some(2),
                    "checkpoint",
                    format!("size {size}, but the bundle holds entries 1–{}", head.0),
                );
            } else if let Some(r) = self.report.root
                && r != root
            {
                self.out.file(
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

        Ok(seen)
    }

    /// A sampled bundle's entries: each line on its own.
    fn sampled_entries(
        &mut self,
        info: &Info,
        ledger: LedgerId,
        cp: Option<(u64, Hash)>,
        progress: &dyn Progress,
    ) -> Result<Seen> {
        let path = self.dir.join(ENTRIES);
        let (seen, s) = sample_pass(
            &path,
            ledger,
            cp,
            self.trust.as_ref(),
            info.entries,
            progress,
            &mut self.out,
        )?;
        self.report.signatures = s.signatures;
        self.report.proofs = s.proofs;
        if let Some(t) = &self.trust {
            let mut unused: Vec<Fingerprint> = t.difference(&s.used_pins).copied().collect();
            unused.sort();
            self.report.unused_pins = unused;
        }

        Ok(seen)
    }

    /// What the pass over the entries found, against the MANIFEST and `bundle.json`.
    fn entries_read(&mut self, info: &Info, seen: &mut Seen, entries_present: bool) {
        if self.report.parties.is_empty() {
            self.report.parties = std::mem::take(&mut seen.book.keys);
        }
        self.report.entries = seen.lines;
        if let Some(h) = seen.hash {
            compare(&self.listed, ENTRIES, &h, &mut self.out);
        }
        if entries_present && seen.lines != info.entries {
            self.out.file(
                INFO,
                None,
                "format",
                format!(
                    "says {} entries; entries.jsonl has {} lines",
                    info.entries, seen.lines
                ),
            );
        }
    }

    /// `MANIFEST.sig`, by the exporter's key.
    fn check_manifest_signature(&mut self, info: &Info) {
        let by_fpr: HashMap<Fingerprint, &BundleParty> = self
            .report
            .parties
            .iter()
            .map(|p| (p.key.fingerprint(), p))
            .collect();

        let exporter = Fingerprint::parse(&info.exporter.fingerprint);
        match exporter.and_then(|f| by_fpr.get(&f).copied()) {
            None => self.out.file(
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
                    self.out.file(
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
                    self.out.file(
                        MANIFEST_SIG,
                        None,
                        "registry",
                        format!(
                            "signed by key {fpr} (party {:?}), which entry {r} retired",
                            p.id
                        ),
                    );
                } else if self.trust.as_ref().is_some_and(|t| !t.contains(&fpr)) {
                    self.out.file(
                        MANIFEST_SIG,
                        None,
                        "trust",
                        format!(
                            "signed by key {fpr} (party {:?}), which is not among the trusted keys",
                            p.id
                        ),
                    );
                } else if let Some(sig) = self.files.small.get(MANIFEST_SIG) {
                    if p.key.verify(&self.manifest, sig) {
                        self.report.manifest_signer = Some((p.id.clone(), fpr));
                    } else {
                        self.out.file(
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
    }

    /// The checkpoint's signature, by a trusted key.
    fn check_checkpoint_signature(&mut self, n: &Note, ledger: &LedgerId) {
        let trusted: Vec<&BundleParty> = self
            .report
            .parties
            .iter()
            .filter(|p| {
                p.retired_by.is_none()
                    && self
                        .trust
                        .as_ref()
                        .is_none_or(|t| t.contains(&p.key.fingerprint()))
            })
            .collect();

        let verifiers: Vec<_> = trusted
            .iter()
            .map(|p| vouch_verifier(ledger, &p.key))
            .collect();
        match n.verify(&verifiers) {
            Ok(sigs) => {
                for s in sigs {
                    if let Some(p) = trusted
                        .iter()
                        .find(|p| vouch_verifier(ledger, &p.key).key_id() == s.key_id)
                    {
                        self.report
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
                self.out.file(CHECKPOINT, None, "signature", what);
            }
        }
    }

    /// The matrix files against the adoptions.
    fn check_matrices(
        &mut self,
        info: &Info,
        seen: &Seen,
        matrix_sha: &HashMap<String, (&str, Hash)>,
    ) {
        let mut used_files: HashSet<&str> = HashSet::new();
        for (seq, a) in &seen.adoptions {
            let line = seen.line(*seq);
            match matrix_sha.get(&a.matrix.sha256) {
                None => {
                    if !info.matrices.iter().any(|m| m.sha256 == a.matrix.sha256) {
                        self.out.entry(
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
                    let size = self.files.sizes.get(*file).copied().unwrap_or(0);
                    if hex::encode(h) != a.matrix.sha256 || size != a.matrix.size {
                        self.out.file(
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
            if self.files.hashes.contains_key(&m.file) {
                self.report.matrices += 1;
                if !used_files.contains(m.file.as_str()) {
                    self.out.file(
                        &m.file,
                        None,
                        "matrix",
                        "no adoption entry in the bundle adopts it",
                    );
                }
            }
        }
    }

    /// The entries the selection names are there.
    fn check_selection(&mut self, info: &Info, seen: &Seen, entries_present: bool) {
        if let Some(sel) = &info.selection {
            for s in &sel.seq {
                if seen.line(*s).is_none() && entries_present {
                    self.out.file(
                        INFO,
                        None,
                        "selection",
                        format!("the selection names entry {s}, which entries.jsonl does not hold"),
                    );
                }
            }
        }
    }
}

/// Each key file is the key an entry registers under that name, and every key has its file.
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

/// The artefact files against the evidence that names them as stored.
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
