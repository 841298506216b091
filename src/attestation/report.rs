//! The attestation report of a period: everything a contract reviewer or auditor reads,
//! computed only from a verified ledger, as one data model rendered as JSON (its serde
//! form), Markdown or CSV ([`crate::attestation::report_text`]) and PDF
//! ([`crate::attestation::pdf`]).

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

use crate::attestation::attest::{self, Signoff};
use crate::attestation::status::{Duty, Status};
use crate::error::{Error, Result};
use crate::format::entry::{Kind, format_time};
use crate::format::payload::{self, CosignPayload, EvidencePayload};
pub use crate::format::stamp::{ReportOptions, STAMP_FORMAT, Stamp};
use crate::ledger::Ledger;
use crate::ledger::verify::Report as Verification;
use crate::period::Period;

/// The report's title.
pub const TITLE: &str = "Shared responsibility attestation";
/// What the report is, and is not.
pub const STATEMENT: &str = "This is an evidence attestation, not an audit opinion: it states what the signed ledger shows for the period, and how to verify it.";
/// Evidence rows listed at most in the appendix.
pub const APPENDIX_LIMIT: usize = 2000;

/// The outcome of [`generate`].
#[derive(Debug)]
pub enum Generated {
    /// The report (of a verified ledger, or stamped unverified when that was allowed).
    Report(Box<Report>),
    /// The ledger does not verify and an unverified report was not allowed.
    Refused(Verification),
}

/// Verify the ledger at `path` (every hash, signature and stored artefact, against the
/// pinned keys if any) and build the report of `period` from it. A ledger that does not
/// verify gives [`Generated::Refused`] unless `allow_unverified`, in which case the report
/// says so (and every rendering of it marks it).
pub fn generate(
    path: &std::path::Path,
    period: &Period,
    trust: Option<Vec<crate::crypto::Fingerprint>>,
    appendix: Appendix,
    allow_unverified: bool,
) -> Result<Generated> {
    use crate::ledger::verify::{self, Options};
    let trust_pins = trust.clone().unwrap_or_default();
    let verification = verify::verify(
        path,
        &Options {
            trust,
            artifacts: true,
            all: true,
        },
        &crate::ledger::NoProgress,
    )?;
    if !verification.ok() && !allow_unverified {
        return Ok(Generated::Refused(verification));
    }
    let ledger = Ledger::open(path, crate::ledger::Access::ReadOnly)?;
    let mut r = build(&ledger, period, &verification, appendix)?;
    let mut pins: Vec<String> = trust_pins.iter().map(ToString::to_string).collect();
    pins.sort();
    r.options.trust = pins;
    Ok(Generated::Report(Box::new(r)))
}

/// Which evidence the appendix lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appendix {
    /// Every evidence entry counted for a duty.
    All,
    /// Evidence of the exceptions only.
    Exceptions,
    /// None.
    None,
}

impl Appendix {
    /// Read `all`, `exceptions` or `none` (anything else is `exceptions`, the default).
    pub fn parse(s: &str) -> Appendix {
        match s {
            "all" => Appendix::All,
            "none" => Appendix::None,
            _ => Appendix::Exceptions,
        }
    }

    /// The spelling [`Appendix::parse`] reads.
    pub fn as_str(self) -> &'static str {
        match self {
            Appendix::All => "all",
            Appendix::Exceptions => "exceptions",
            Appendix::None => "none",
        }
    }
}

/// A party as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PartyRow {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Registered role.
    pub role: String,
    /// Role in the matrix (`provider`, `customer`, …), if bound.
    pub bound_as: Option<String>,
    /// Key fingerprints.
    pub fingerprints: Vec<String>,
}

/// One item row.
#[derive(Debug, Clone, Serialize)]
pub struct ItemRow {
    /// Item id.
    pub id: String,
    /// Activity.
    pub activity: String,
    /// RACI letters per role id.
    pub raci: BTreeMap<String, String>,
    /// Duty statuses.
    pub duties: Vec<Duty>,
}

/// A section of the matrix with its items.
#[derive(Debug, Clone, Serialize)]
pub struct SectionRows {
    /// Section id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Items.
    pub items: Vec<ItemRow>,
}

/// A duty that is not fulfilled (failed, overdue, missing or disputed).
#[derive(Debug, Clone, Serialize)]
pub struct Exception {
    /// Item id.
    pub item: String,
    /// Activity.
    pub activity: String,
    /// Party.
    pub party: String,
    /// Role.
    pub role: String,
    /// Status.
    pub status: Status,
    /// Evidence numbers and flags, in words.
    pub detail: String,
}

/// A customer duty, listed as a complementary user entity control (SOC 2 terms).
#[derive(Debug, Clone, Serialize)]
pub struct Cuec {
    /// Item id.
    pub item: String,
    /// The duty, in the matrix's words.
    pub duty: String,
    /// Its status.
    pub status: Status,
}

/// One evidence entry in the appendix.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceRow {
    /// Sequence number.
    pub seq: u64,
    /// Item.
    pub item: String,
    /// When performed.
    pub performed_at: String,
    /// When recorded (ledger time).
    pub recorded_at: String,
    /// Signing party.
    pub party: String,
    /// Evidence kind.
    pub kind: String,
    /// Outcome.
    pub outcome: String,
    /// Fields.
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Artefacts: name and SHA-256.
    pub artifacts: Vec<(String, String)>,
    /// Signer key fingerprint.
    pub signer: String,
    /// Co-signatures: entry, party, verdict.
    pub cosignatures: Vec<(u64, String, String)>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Title.
    pub title: &'static str,
    /// What it is.
    pub statement: &'static str,
    /// The matrix: id, title, version, SHA-256, adopting entry.
    pub matrix: BTreeMap<&'static str, String>,
    /// The period.
    pub period: Period,
    /// Parties.
    pub parties: Vec<PartyRow>,
    /// Ledger head: seq and hash; and the time statuses are judged at.
    pub head: (u64, String),
    /// The as-of time.
    pub as_of: String,
    /// Verification: ok, entries, signatures, first findings.
    pub verified: bool,
    /// Entries verified.
    pub entries: u64,
    /// Problems verify found (empty when verified).
    pub findings: Vec<String>,
    /// Whether keys were pinned during verification.
    pub keys_pinned: bool,
    /// Party → status → count.
    pub summary: BTreeMap<String, BTreeMap<&'static str, u64>>,
    /// The matrix, section by section.
    pub sections: Vec<SectionRows>,
    /// Exceptions.
    pub exceptions: Vec<Exception>,
    /// Customer duties as CUECs.
    pub cuecs: Vec<Cuec>,
    /// Evidence appendix.
    pub appendix: Vec<EvidenceRow>,
    /// Why the appendix is limited, if it is.
    pub appendix_note: Option<String>,
    /// The attestation digest.
    pub digest: String,
    /// Sign-offs.
    pub signoffs: Vec<Signoff>,
    /// How to verify.
    pub how_to_verify: Vec<String>,
    /// The checkpoint text (FORMAT.md §13.1) of the ledger as it was read for this report:
    /// origin, number of entries, Merkle root. Absent when the tree could not be computed
    /// (an unverified ledger with missing entries).
    pub checkpoint: Option<String>,
    /// The newest signed checkpoint recorded in the ledger: its entry and note.
    pub signed_checkpoint: Option<(u64, String)>,
    /// The options the report was made with (to make it again: `vouch verify --report`).
    pub options: ReportOptions,
}

impl Report {
    /// The verification result in words: `intact (104 entries, keys pinned)`.
    pub fn verification_summary(&self) -> String {
        format!(
            "{} ({} entries{})",
            if self.verified { "intact" } else { "FAILED" },
            self.entries,
            if self.keys_pinned {
                ", keys pinned"
            } else {
                ", self-consistency only: no keys pinned"
            }
        )
    }

    /// The report's [`Stamp`].
    pub fn stamp(&self) -> Stamp {
        Stamp {
            format: STAMP_FORMAT.to_string(),
            period: self.period.name(),
            digest: self.digest.clone(),
            head: self.head.clone(),
            checkpoint: self.checkpoint.clone(),
            options: self.options.clone(),
        }
    }
}

/// A co-signature as the report shows it: (cosign entry, party, verdict).
type CosignRow = (u64, String, String);
/// Co-signature rows by the entry they refer to.
type CosignsByEntry = HashMap<u64, Vec<CosignRow>>;

/// The exception detail of a duty, in words: its evidence, the windows that are not in
/// order and why, who disputed what, and its flags.
fn detail(d: &Duty, cosigns: &CosignsByEntry, reasons: &HashMap<u64, String>) -> String {
    let mut parts = Vec::new();
    if !d.evidence.is_empty() {
        let ev: Vec<String> = d.evidence.iter().map(|s| format!("#{s}")).collect();
        parts.push(format!("evidence {}", ev.join(", ")));
    }
    for w in d
        .windows
        .iter()
        .filter(|w| w.state != "ok" && w.state != "pending")
    {
        let why = match w.state {
            "empty" => "no evidence",
            "failed" => "the latest evidence failed",
            "disputed" => "the passing evidence is disputed",
            other => other,
        };
        parts.push(format!("{} to {}: {why}", w.from, w.to));
    }
    for seq in &d.evidence {
        for (c, who, verdict) in cosigns.get(seq).into_iter().flatten() {
            if verdict == "dispute" {
                let reason = reasons
                    .get(c)
                    .map(|r| format!(": \u{201c}{r}\u{201d}"))
                    .unwrap_or_default();
                parts.push(format!("#{seq} disputed by {who} in #{c}{reason}"));
            }
        }
    }
    for f in &d.flags {
        let (name, arg) = f.split_once(':').unwrap_or((f.as_str(), ""));
        parts.push(match name {
            "late-recorded" => {
                format!("#{arg} late-recorded (more than 7 days after it was performed)")
            }
            "before-adoption" => format!("#{arg} performed before the adoption"),
            "retracted" => format!("#{arg} retracted"),
            "dispute-resolved" => format!("dispute resolved in #{arg}"),
            "delegated-to" => format!("delegated to {arg}"),
            "waived" => format!("waived in #{arg}"),
            "supporting-only" => "supporting evidence only".to_string(),
            "signed-by-revoked-key" => {
                format!("#{arg} signed by a key after its revocation time: not counted")
            }
            _ => f.clone(),
        });
    }
    parts.join("; ")
}

/// Build the report of a period from a ledger and its verification result.
pub fn build(
    ledger: &Ledger,
    period: &Period,
    verification: &Verification,
    appendix: Appendix,
) -> Result<Report> {
    let att = attest::build(ledger, period)?;
    let ledger_id = ledger.id()?;
    let keys = ledger.keys()?;
    let parties = party_rows(ledger, &keys, &att)?;
    let matrix = matrix_facts(ledger, &att)?;
    // Co-signatures, by the entry they refer to.
    let party_of: HashMap<String, String> = keys
        .iter()
        .map(|k| (k.fingerprint.clone(), k.party.clone()))
        .collect();
    let (cosigns, reasons) = cosign_rows(ledger, &party_of, att.head.0)?;
    let MatrixRows {
        sections,
        exceptions,
        cuecs,
        wanted,
    } = matrix_rows(&att, appendix, &cosigns, &reasons);
    let (rows, appendix_note) = evidence_rows(ledger, wanted, &party_of, &cosigns)?;
    let digest = hex::encode(att.digest);
    let head = (att.head.0, hex::encode(att.head.1));
    let how_to_verify = how_to_verify(&parties, period);
    let checkpoint = verification.merkle_root.map(|root| {
        crate::format::checkpoint::vouch_checkpoint(&ledger_id, verification.entries, root)
            .to_string()
    });
    let signed_checkpoint = signed_checkpoint(ledger, verification)?;
    Ok(Report {
        checkpoint,
        signed_checkpoint,
        options: ReportOptions {
            appendix: appendix.as_str().to_string(),
            trust: Vec::new(),
        },
        title: TITLE,
        statement: STATEMENT,
        matrix,
        period: *period,
        parties,
        head,
        as_of: att.report.as_of.clone(),
        verified: verification.ok(),
        entries: verification.entries,
        findings: verification
            .findings
            .iter()
            .map(|f| format!("entry {}: {}", f.seq, f.what))
            .collect(),
        keys_pinned: verification.pinned,
        summary: att.report.summary.clone(),
        sections,
        exceptions,
        cuecs,
        appendix: rows,
        appendix_note,
        digest,
        signoffs: att.signoffs.clone(),
        how_to_verify,
    })
}

/// The ledger's parties, with their keys and the matrix role each is bound to.
fn party_rows(
    ledger: &Ledger,
    keys: &[crate::ledger::Key],
    att: &attest::Attestation,
) -> Result<Vec<PartyRow>> {
    let bound: HashMap<&str, &str> = att
        .adoption
        .bindings
        .iter()
        .map(|(r, p)| (p.as_str(), r.as_str()))
        .collect();
    let parties: Vec<PartyRow> = ledger
        .parties()?
        .into_iter()
        .map(|p| PartyRow {
            fingerprints: keys
                .iter()
                .filter(|k| k.party == p.id)
                .map(|k| k.fingerprint.clone())
                .collect(),
            bound_as: bound.get(p.id.as_str()).map(|r| (*r).to_string()),
            id: p.id,
            name: p.name,
            role: p.role,
        })
        .collect();
    Ok(parties)
}

/// The matrix the report is on: id, title, version, SHA-256 and adopting entry.
fn matrix_facts(
    ledger: &Ledger,
    att: &attest::Attestation,
) -> Result<BTreeMap<&'static str, String>> {
    let m = &att.matrix;
    let sha = ledger
        .adoptions()?
        .into_iter()
        .find(|(s, _, _)| *s == att.adoption.seq)
        .map(|(_, a, _)| a.matrix.sha256)
        .unwrap_or_default();
    let mut matrix = BTreeMap::new();
    matrix.insert("id", m.header.id.clone());
    matrix.insert("title", m.header.title.clone());
    matrix.insert("version", m.header.version.clone());
    matrix.insert("sha256", sha);
    matrix.insert("adopted_in", att.adoption.seq.to_string());
    Ok(matrix)
}

/// Co-signature rows by the entry they refer to, up to entry `upto`, and the reason each
/// co-signature gives.
fn cosign_rows(
    ledger: &Ledger,
    party_of: &HashMap<String, String>,
    upto: u64,
) -> Result<(CosignsByEntry, HashMap<u64, String>)> {
    let mut cosigns: CosignsByEntry = HashMap::new();
    let mut reasons: HashMap<u64, String> = HashMap::new();
    for e in ledger.entries_of_kind(Kind::Cosign, Some(upto))? {
        let (seq, h) = (e.seq(), &e.header);
        let c: CosignPayload =
            payload::decode(&e.payload).map_err(|m| Error::new(format!("entry {seq}: {m}")))?;
        let who = party_of
            .get(&h.signer.to_string())
            .cloned()
            .unwrap_or_default();
        if let Some(r) = c.reason {
            reasons.insert(seq, r);
        }
        cosigns
            .entry(c.entry)
            .or_default()
            .push((seq, who, c.verdict.as_str().to_string()));
    }
    Ok((cosigns, reasons))
}

/// The matrix as the report shows it, and what follows from each duty.
struct MatrixRows {
    sections: Vec<SectionRows>,
    exceptions: Vec<Exception>,
    cuecs: Vec<Cuec>,
    /// The evidence the appendix lists (unsorted, with repeats).
    wanted: Vec<u64>,
}

/// The matrix section by section, its exceptions and CUECs, and the evidence the appendix
/// lists.
fn matrix_rows(
    att: &attest::Attestation,
    appendix: Appendix,
    cosigns: &CosignsByEntry,
    reasons: &HashMap<u64, String>,
) -> MatrixRows {
    let m = &att.matrix;
    let mut sections: Vec<SectionRows> = Vec::new();
    let mut exceptions = Vec::new();
    let mut cuecs = Vec::new();
    let mut wanted: Vec<u64> = Vec::new();
    for it in &att.report.items {
        let Some(item) = m.item(&it.id) else { continue };
        let title = m
            .section(&it.section)
            .map_or(it.section.clone(), |s| s.title.clone());
        if sections.last().is_none_or(|s| s.id != it.section) {
            sections.push(SectionRows {
                id: it.section.clone(),
                title,
                items: Vec::new(),
            });
        }
        let raci = item
            .raci
            .iter()
            .filter(|(_, l)| !l.is_empty())
            .map(|(r, l)| (r.as_str().to_string(), l.to_string()))
            .collect();
        for d in &it.duties {
            let is_exception = matches!(
                d.status,
                Status::Failed | Status::Overdue | Status::Missing | Status::Disputed
            );
            if is_exception {
                exceptions.push(Exception {
                    item: it.id.clone(),
                    activity: it.activity.clone(),
                    party: d.party.clone(),
                    role: d.role.to_string(),
                    status: d.status,
                    detail: detail(d, cosigns, reasons),
                });
            }
            if appendix == Appendix::All || (appendix == Appendix::Exceptions && is_exception) {
                wanted.extend(&d.evidence);
            }
            if d.role == "customer" {
                let duty = item
                    .statements
                    .get(&crate::matrix::RoleId::Customer)
                    .cloned()
                    .unwrap_or_else(|| it.activity.clone());
                cuecs.push(Cuec {
                    item: it.id.clone(),
                    duty,
                    status: d.status,
                });
            }
        }
        if let Some(s) = sections.last_mut() {
            s.items.push(ItemRow {
                id: it.id.clone(),
                activity: it.activity.clone(),
                raci,
                duties: it.duties.clone(),
            });
        }
    }
    MatrixRows {
        sections,
        exceptions,
        cuecs,
        wanted,
    }
}

/// The evidence appendix: the wanted entries, in ledger order, at most
/// [`APPENDIX_LIMIT`]; and why it is limited, if it is.
fn evidence_rows(
    ledger: &Ledger,
    mut wanted: Vec<u64>,
    party_of: &HashMap<String, String>,
    cosigns: &CosignsByEntry,
) -> Result<(Vec<EvidenceRow>, Option<String>)> {
    wanted.sort_unstable();
    wanted.dedup();
    let mut appendix_note = None;
    if wanted.len() > APPENDIX_LIMIT {
        appendix_note = Some(format!(
            "the appendix lists the first {APPENDIX_LIMIT} of {} evidence entries; `vouch show SEQ` prints any entry",
            wanted.len()
        ));
        wanted.truncate(APPENDIX_LIMIT);
    }
    let mut rows = Vec::new();
    for seq in wanted {
        let Some(e) = ledger.entry(seq)? else {
            continue;
        };
        let p: EvidencePayload =
            payload::decode(&e.payload).map_err(|x| Error::new(format!("entry {seq}: {x}")))?;
        let signer = e.header.signer.to_string();
        rows.push(EvidenceRow {
            seq,
            item: p.item,
            performed_at: p.performed_at,
            recorded_at: format_time(&e.header.time),
            party: party_of.get(&signer).cloned().unwrap_or_default(),
            kind: p.kind,
            outcome: p.outcome.as_str().to_string(),
            fields: p.fields,
            artifacts: p
                .artifacts
                .into_iter()
                .map(|a| (a.name, a.sha256))
                .collect(),
            signer,
            cosignatures: cosigns.get(&seq).cloned().unwrap_or_default(),
        });
    }
    Ok((rows, appendix_note))
}

/// How to verify the report: the commands, with every party's key pinned.
fn how_to_verify(parties: &[PartyRow], period: &Period) -> Vec<String> {
    let p = period.name();
    let trust: Vec<String> = parties
        .iter()
        .flat_map(|x| x.fingerprints.iter().map(|f| format!("--trust {f}")))
        .collect();
    vec![
        format!(
            "vouch --ledger LEDGER verify --artifacts {}    (every hash, signature and chain link, against every party's pinned key)",
            trust.join(" ")
        ),
        format!(
            "vouch --ledger LEDGER attest --period {p}    (recomputes the attestation digest and checks each sign-off)"
        ),
        format!(
            "vouch --ledger LEDGER report --period {p} --out check.pdf    (with the same options, the same ledger gives a byte-identical PDF)"
        ),
        "Without vouch: schema/FORMAT.md section 10 checks any entry with sqlite3, sha256sum and openssl; section 11 defines the attestation encoding.".to_string(),
    ]
}

/// The newest signed checkpoint among the verified entries: its entry and note.
fn signed_checkpoint(
    ledger: &Ledger,
    verification: &Verification,
) -> Result<Option<(u64, String)>> {
    let mut signed_checkpoint = None;
    for e in ledger.entries_of_kind(Kind::Checkpoint, Some(verification.entries))? {
        if let Ok(c) = payload::decode::<payload::CheckpointPayload>(&e.payload) {
            signed_checkpoint = Some((e.seq(), c.note));
        }
    }
    Ok(signed_checkpoint)
}
