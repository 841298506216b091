//! The attestation report of a period: everything a contract reviewer or auditor reads,
//! computed only from a verified ledger, as one data model rendered as JSON (its serde
//! form), Markdown or CSV ([`crate::attestation::report_text`]) and PDF
//! ([`crate::attestation::pdf`]).

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::attestation::attest::{self, Signoff};
use crate::attestation::responses::Responses;
use crate::attestation::status::{Duty, Status, WaiverState, Window};
use crate::error::{Error, Result};
use crate::format::entry::{Kind, format_time};
use crate::format::payload::{self, CosignPayload, EvidencePayload};
pub use crate::format::stamp::{ReportOptions, STAMP_FORMAT, Stamp, StampSince};
use crate::ledger::Ledger;
use crate::ledger::verify::Report as Verification;
use crate::matrix::RoleId;
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
    Refused(Box<Verification>),
}

/// How a report is made ([`generate`]): beside the period and the appendix.
#[derive(Debug, Clone, Default)]
pub struct Making {
    /// Pinned key fingerprints.
    pub trust: Option<Vec<crate::crypto::Fingerprint>>,
    /// Report even if the ledger does not verify.
    pub allow_unverified: bool,
    /// The report at the head at or before this entry (default: the newest head).
    pub at: Option<u64>,
    /// Verify from this trusted checkpoint (`FORMAT.md` §7.1).
    pub since: Option<crate::ledger::verify::Since>,
}

/// Verify the ledger at `path` (every hash, signature and stored artefact, against the
/// pinned keys if any; from a trusted checkpoint with `making.since`) and build the report
/// of `period` at the head at or before `making.at` from it. A ledger that does not verify
/// gives [`Generated::Refused`] unless `allow_unverified`, in which case the report says so
/// (and every rendering of it marks it).
pub fn generate(
    path: &std::path::Path,
    period: &Period,
    appendix: Appendix,
    making: Making,
) -> Result<Generated> {
    use crate::ledger::verify::{self, Options};
    let Making {
        trust,
        allow_unverified,
        at,
        since,
    } = making;
    let trust_pins = trust.clone().unwrap_or_default();
    let verification = verify::verify(
        path,
        &Options {
            trust,
            artifacts: true,
            all: true,
            now: None,
            since,
        },
        &crate::ledger::NoProgress,
    )?;
    if !verification.ok() && !allow_unverified {
        return Ok(Generated::Refused(Box::new(verification)));
    }
    let ledger = Ledger::open(path, crate::ledger::Access::ReadOnly)?;
    let r = build(&ledger, period, &verification, appendix, at, &trust_pins)?;
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

/// The note (`vouch record --note`) of one evidence entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceNote {
    /// The evidence entry.
    pub seq: u64,
    /// Its note.
    pub note: String,
}

/// A duty as the report shows it: its status (the JSON keys of [`Duty`]) and what the
/// matrix and the evidence add to it.
#[derive(Debug, Clone, Serialize)]
pub struct DutyRow {
    /// The status engine's result.
    #[serde(flatten)]
    pub duty: Duty,
    /// The role's duty statement in the matrix, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// The delegates (`delegated-to`) that signed evidence counted for the duty: they
    /// performed it, the duty holder stays accountable.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub performed_by: Vec<String>,
    /// The notes of the evidence counted for the duty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<EvidenceNote>,
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
    pub duties: Vec<DutyRow>,
    /// The matrix's control references (`NIST 800-53 SC-7`, `CCM IVS-03`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refs: Vec<String>,
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
    /// The delegates that performed it (signed its counted evidence).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub performed_by: Vec<String>,
    /// The notes of its evidence (counted, or flagged as not counted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<EvidenceNote>,
    /// Management responses: each party's latest on its evidence or its item.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<crate::attestation::responses::ResponseRow>,
}

/// A duty the customer is accountable for, listed as a complementary user entity control
/// (SOC 2 terms): the customer's own duties (performed by a delegate or not), and the duties
/// a third party performs for items the customer is accountable for.
#[derive(Debug, Clone, Serialize)]
pub struct Cuec {
    /// Item id.
    pub item: String,
    /// The duty, in the matrix's words (the customer's statement, else the performing
    /// role's, else the activity).
    pub duty: String,
    /// Its status.
    pub status: Status,
    /// For `due`: the last day evidence counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_by: Option<String>,
    /// The role that holds the duty (`customer`, or `third-party`).
    pub role: String,
    /// Who performs it when that is not the customer: its delegates that signed its
    /// evidence, or the third party bound to the role.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub performed_by: Vec<String>,
}

/// A party's latest verdict on the adoption, and the co-signature that gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdoptionVerdict {
    /// The party.
    pub party: String,
    /// Its co-signature entry.
    pub entry: u64,
}

/// The adoption the report rests on: who adopted the matrix and who acknowledged it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AdoptionRow {
    /// The adoption entry.
    pub seq: u64,
    /// The party that signed it.
    pub by: String,
    /// The parties whose latest verdict on it is an acknowledgement.
    pub acknowledged_by: Vec<AdoptionVerdict>,
    /// The parties whose latest verdict on it is a dispute.
    pub disputed_by: Vec<AdoptionVerdict>,
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
    /// The note recorded with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
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
    /// Who adopted the matrix and who acknowledged the adoption.
    pub adoption: AdoptionRow,
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
    /// Every waiver of the matrix's items, in ledger order, and what became of it.
    pub waivers: Vec<WaiverState>,
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
    /// The trusted checkpoint the ledger was verified from (`--since`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<StampSince>,
    /// The options the report was made with (to make it again: `vouch verify --report`).
    pub options: ReportOptions,
}

impl Report {
    /// The result in one line, over every party's duties: `74 of 80 duties fulfilled;
    /// 5 exceptions (1 failed, 2 overdue, 1 disputed, 1 missing); 1 due`.
    pub fn headline(&self) -> String {
        let count = |status: &str| -> u64 {
            self.summary
                .values()
                .map(|m| m.get(status).copied().unwrap_or(0))
                .sum()
        };
        let total: u64 = self.summary.values().flat_map(|m| m.values()).sum();
        let mut s = format!("{} of {total} duties fulfilled", count("fulfilled"));
        let exceptions: Vec<String> = ["failed", "overdue", "disputed", "missing"]
            .iter()
            .filter(|k| count(k) > 0)
            .map(|k| format!("{} {k}", count(k)))
            .collect();
        let n: u64 = ["failed", "overdue", "disputed", "missing"]
            .iter()
            .map(|k| count(k))
            .sum();
        if n == 0 {
            s.push_str("; no exceptions");
        } else {
            s.push_str(&format!(
                "; {n} exception{} ({})",
                if n == 1 { "" } else { "s" },
                exceptions.join(", ")
            ));
        }
        for k in ["due", "waiver-pending", "not-applicable"] {
            if count(k) > 0 {
                s.push_str(&format!("; {} {k}", count(k)));
            }
        }
        s
    }

    /// Whether the period had not ended at the time the statuses are judged as of: duties
    /// may still be done, and the report says so.
    pub fn period_open(&self) -> bool {
        crate::format::entry::parse_time(&self.as_of).is_some_and(|t| t < self.period.end())
    }

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
            since: self.since.clone(),
            options: self.options.clone(),
        }
    }
}

/// A co-signature as the report shows it: (cosign entry, party, verdict).
type CosignRow = (u64, String, String);
/// Co-signature rows by the entry they refer to.
type CosignsByEntry = HashMap<u64, Vec<CosignRow>>;

impl Report {
    /// How the report names a party in its tables: "Display Name (id)", or the id alone
    /// when the party has no other name or is not registered.
    pub fn party_name(&self, id: &str) -> String {
        match self.parties.iter().find(|p| p.id == id) {
            Some(p) if !p.name.is_empty() && p.name != p.id => format!("{} ({id})", p.name),
            _ => id.to_string(),
        }
    }

    /// The parties of the summary, in the order the report lists parties (as the grid's
    /// columns), then any other.
    pub fn summary_order(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .parties
            .iter()
            .map(|p| p.id.as_str())
            .filter(|id| self.summary.contains_key(*id))
            .collect();
        for k in self.summary.keys() {
            if !out.contains(&k.as_str()) {
                out.push(k);
            }
        }
        out
    }

    /// A party's role as the report shows it: the role the adoption binds it to, else its
    /// registered role.
    pub fn party_role(&self, id: &str) -> Option<&str> {
        self.parties
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.bound_as.as_deref().unwrap_or(p.role.as_str()))
    }

    /// `performed by orbit (third-party)`, or `None` when nobody else performed the duty.
    pub fn performed_by_words(&self, ids: &[String]) -> Option<String> {
        if ids.is_empty() {
            return None;
        }
        let who: Vec<String> = ids
            .iter()
            .map(|id| match self.party_role(id) {
                Some(role) => format!("{id} ({role})"),
                None => id.clone(),
            })
            .collect();
        Some(format!("performed by {}", who.join(", ")))
    }

    /// What the evidence appendix lists, in one sentence.
    pub fn appendix_scope(&self) -> &'static str {
        match Appendix::parse(&self.options.appendix) {
            Appendix::All => {
                "The evidence each duty of the period rests on, fulfilled duties and exceptions alike: every evidence entry counted for a duty."
            }
            Appendix::Exceptions => {
                "The evidence counted for the exceptions only (failed, overdue, missing and disputed duties), as asked with --appendix exceptions; vouch report --appendix all (the default) lists every evidence entry counted for a duty."
            }
            Appendix::None => {
                "Not included in this report (--appendix none); vouch report --appendix all lists every evidence entry counted for a duty."
            }
        }
    }
}

/// A duty's status in words: `due by 2026-12-31` for a duty that is due, else its status.
pub fn status_words(d: &Duty) -> String {
    match (&d.status, &d.due_by) {
        (Status::Due, Some(by)) => format!("due by {by}"),
        (s, _) => s.as_str().to_string(),
    }
}

/// The short words of a flag's name: `late-recorded`, `waiver pending`, `delegated to`.
fn flag_name_words(name: &str) -> &str {
    match name {
        "before-adoption" => "before adoption",
        "dispute-resolved" => "dispute resolved in",
        "delegated-to" => "delegated to",
        "waived" => "waived in",
        "waiver-pending" => "waiver pending",
        "waiver-disputed" => "waiver disputed",
        "signed-by-revoked-key" => "signed by revoked key",
        "other-kind" => "other kind",
        "supporting-only" => "supporting evidence only",
        other => other,
    }
}

/// A duty's flags in short words, one line per kind of flag, in the order they come:
/// `late-recorded #42 #43`, `delegated to orbit`, `waiver pending #20`.
pub fn flag_words(flags: &[String]) -> Vec<String> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for f in flags {
        let (name, arg) = f.split_once(':').unwrap_or((f.as_str(), ""));
        let arg = if arg.is_empty() {
            None
        } else if arg.bytes().all(|b| b.is_ascii_digit()) {
            Some(format!("#{arg}"))
        } else {
            Some(arg.to_string())
        };
        match out.last_mut() {
            Some((n, args)) if n == name => args.extend(arg),
            _ => out.push((name.to_string(), arg.into_iter().collect())),
        }
    }
    out.into_iter()
        .map(|(name, args)| {
            let words = flag_name_words(&name);
            if args.is_empty() {
                words.to_string()
            } else if args.iter().all(|a| a.starts_with('#')) {
                format!("{words} {}", args.join(" "))
            } else {
                format!("{words} {}", args.join(", "))
            }
        })
        .collect()
}

/// A waiver's state in words: `effective`, `pending (no counterparty has agreed yet)`,
/// `disputed by cloudtemple`, `retracted`, `no effect (its author is not bound by the
/// adoption)`.
pub fn waiver_state_words(w: &WaiverState) -> String {
    match w.state {
        "pending" => "pending (no counterparty has agreed yet)".to_string(),
        "disputed" => format!("disputed by {}", w.disputed_by.join(", ")),
        "unbound" => "no effect (its author is not bound by the adoption)".to_string(),
        other => other.to_string(),
    }
}

/// The exception detail of a duty, in words: its evidence, the windows that are not in
/// order and why, who disputed what, and its flags.
fn detail(d: &Duty, cosigns: &CosignsByEntry, reasons: &HashMap<u64, String>) -> String {
    let mut parts = Vec::new();
    if !d.evidence.is_empty() {
        let ev: Vec<String> = d.evidence.iter().map(|s| format!("#{s}")).collect();
        parts.push(format!("evidence {}", ev.join(", ")));
    }
    // Windows that are not in order; a run of consecutive windows in the same state is
    // one range ("2026-01-01 to 2026-10-31: no evidence (10 windows)").
    let mut runs: Vec<(&Window, &Window, usize)> = Vec::new();
    for w in d
        .windows
        .iter()
        .filter(|w| w.state != "ok" && w.state != "open")
    {
        match runs.last_mut() {
            Some((_, last, n)) if last.state == w.state && last.to.succ_opt() == Some(w.from) => {
                *last = w;
                *n += 1;
            }
            _ => runs.push((w, w, 1)),
        }
    }
    for (first, last, n) in runs {
        let why = match first.state {
            "empty" => "no evidence",
            "failed" => "the latest evidence failed",
            "disputed" => "the passing evidence is disputed",
            other => other,
        };
        let count = if n > 1 {
            format!(" ({n} windows)")
        } else {
            String::new()
        };
        parts.push(format!("{} to {}: {why}{count}", first.from, last.to));
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
            "waiver-pending" => format!("waiver #{arg} not yet agreed by a counterparty"),
            "waiver-disputed" => format!("waiver #{arg} disputed"),
            "supporting-only" => "supporting evidence only".to_string(),
            "signed-by-revoked-key" => {
                format!("#{arg} signed by a key after its revocation time: not counted")
            }
            "other-kind" => {
                format!("#{arg} is of a kind the item does not list: not counted")
            }
            _ => f.clone(),
        });
    }
    parts.join("; ")
}

/// The flags that name an evidence entry of the duty (counted or not).
const EVIDENCE_FLAGS: [&str; 5] = [
    "late-recorded",
    "before-adoption",
    "retracted",
    "other-kind",
    "signed-by-revoked-key",
];

/// The evidence entries a duty's flags name.
fn flagged_evidence(d: &Duty) -> impl Iterator<Item = u64> + '_ {
    d.flags.iter().filter_map(|f| {
        let (name, arg) = f.split_once(':')?;
        EVIDENCE_FLAGS
            .contains(&name)
            .then(|| arg.parse().ok())
            .flatten()
    })
}

/// An evidence entry as read for the report.
struct EvidenceRead {
    payload: EvidencePayload,
    /// Signer key fingerprint.
    signer: String,
    /// Signing party.
    party: String,
    /// Ledger time.
    recorded_at: String,
}

/// Read the evidence entries the report shows — each duty's counted evidence and the
/// evidence its flags name — once each, through the ledger reader.
fn read_evidence(
    ledger: &Ledger,
    report: &crate::attestation::status::StatusReport,
    party_of: &HashMap<String, String>,
) -> Result<HashMap<u64, EvidenceRead>> {
    let seqs: BTreeSet<u64> = report
        .items
        .iter()
        .flat_map(|it| &it.duties)
        .flat_map(|d| d.evidence.iter().copied().chain(flagged_evidence(d)))
        .collect();
    let mut out = HashMap::with_capacity(seqs.len());
    for seq in seqs {
        let Some(e) = ledger.entry(seq)? else {
            continue;
        };
        if e.header.kind != Kind::Evidence {
            continue;
        }
        let payload: EvidencePayload =
            payload::decode(&e.payload).map_err(|x| Error::new(format!("entry {seq}: {x}")))?;
        let signer = e.header.signer.to_string();
        out.insert(
            seq,
            EvidenceRead {
                payload,
                party: party_of.get(&signer).cloned().unwrap_or_default(),
                signer,
                recorded_at: format_time(&e.header.time),
            },
        );
    }
    Ok(out)
}

/// The notes of these evidence entries, in ledger order.
fn notes_of(
    seqs: impl Iterator<Item = u64>,
    evidence: &HashMap<u64, EvidenceRead>,
) -> Vec<EvidenceNote> {
    let seqs: BTreeSet<u64> = seqs.collect();
    seqs.into_iter()
        .filter_map(|seq| {
            let note = evidence.get(&seq)?.payload.note.as_ref()?;
            Some(EvidenceNote {
                seq,
                note: note.clone(),
            })
        })
        .collect()
}

/// The delegates of a duty (its `delegated-to` flags) that signed evidence counted for it.
fn performed_by(d: &Duty, evidence: &HashMap<u64, EvidenceRead>) -> Vec<String> {
    let signers: BTreeSet<&str> = d
        .evidence
        .iter()
        .filter_map(|s| evidence.get(s).map(|e| e.party.as_str()))
        .collect();
    let mut out: Vec<String> = Vec::new();
    for f in &d.flags {
        if let Some(to) = f.strip_prefix("delegated-to:")
            && signers.contains(to)
            && !out.iter().any(|o| o == to)
        {
            out.push(to.to_string());
        }
    }
    out
}

/// Build the report of a period from a ledger and its verification result, at the head at
/// or before entry `at` (the newest head with `None`). The report is the statement at that
/// head: it reads entries 1 … the head and the sign-offs recorded right after it (the
/// attestation's `extent`), and nothing later, so the same prefix always gives the same
/// report (`FORMAT.md` §11). `trust`: the keys verification pinned, recorded in the
/// report's options and named by its reproduction command.
pub fn build(
    ledger: &Ledger,
    period: &Period,
    verification: &Verification,
    appendix: Appendix,
    at: Option<u64>,
    trust: &[crate::crypto::Fingerprint],
) -> Result<Report> {
    let mut att = attest::build_at(ledger, period, at)?;
    let extent = att.extent;
    att.signoffs.retain(|s| s.seq <= extent);
    let ledger_id = ledger.id()?;
    let mut keys = ledger.keys()?;
    keys.retain(|k| k.seq <= extent);
    let parties = party_rows(ledger, &keys, &att)?;
    let matrix = matrix_facts(ledger, &att)?;
    // Co-signatures, by the entry they refer to.
    let party_of: HashMap<String, String> = keys
        .iter()
        .map(|k| (k.fingerprint.clone(), k.party.clone()))
        .collect();
    let (cosigns, reasons) = cosign_rows(ledger, &party_of, att.head.0)?;
    let adoption = adoption_row(ledger, &att, &party_of, &cosigns)?;
    let evidence = read_evidence(ledger, &att.report, &party_of)?;
    let responses = Responses::read(ledger, &party_of, period, att.head.0)?;
    let MatrixRows {
        sections,
        exceptions,
        cuecs,
        wanted,
    } = matrix_rows(&att, appendix, &cosigns, &reasons, &evidence, &responses);
    let (rows, appendix_note) = evidence_rows(wanted, &evidence, &cosigns);
    let digest = hex::encode(att.digest);
    let head = (att.head.0, hex::encode(att.head.1));
    let mut pins: Vec<String> = trust.iter().map(ToString::to_string).collect();
    pins.sort();
    let how_to_verify = how_to_verify(&parties, period, att.head.0, appendix, &pins);
    // The prefix the report reads, as a checkpoint (its root: the verified one when it is
    // the whole ledger, else from the verified tree's stored nodes).
    let checkpoint = match verification.merkle_root {
        Some(root) if extent == verification.entries => Some(root),
        Some(_) => Some(ledger.merkle_root(extent)?),
        None => None,
    }
    .map(|root| crate::format::checkpoint::vouch_checkpoint(&ledger_id, extent, root).to_string());
    let signed_checkpoint = signed_checkpoint(ledger, extent.min(verification.entries))?;
    Ok(Report {
        checkpoint,
        signed_checkpoint,
        since: verification.since.as_ref().map(|c| StampSince {
            size: c.size,
            root: hex::encode(c.root),
            key: c.key.to_string(),
        }),
        options: ReportOptions {
            appendix: appendix.as_str().to_string(),
            trust: pins,
        },
        title: TITLE,
        statement: STATEMENT,
        matrix,
        adoption,
        period: *period,
        parties,
        head,
        as_of: att.report.as_of.clone(),
        verified: verification.ok(),
        entries: extent.min(verification.entries),
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
        waivers: att.report.waivers.clone(),
        appendix: rows,
        appendix_note,
        digest,
        signoffs: att.signoffs.clone(),
        how_to_verify,
    })
}

/// Who signed the adoption, and each party's latest verdict on it.
fn adoption_row(
    ledger: &Ledger,
    att: &attest::Attestation,
    party_of: &HashMap<String, String>,
    cosigns: &CosignsByEntry,
) -> Result<AdoptionRow> {
    let seq = att.adoption.seq;
    let by = ledger
        .entry(seq)?
        .and_then(|e| party_of.get(&e.header.signer.to_string()).cloned())
        .unwrap_or_default();
    // Co-signatures come in ledger order: the last one of each party is its verdict.
    let mut latest: BTreeMap<&str, (u64, &str)> = BTreeMap::new();
    for (c, who, verdict) in cosigns.get(&seq).into_iter().flatten() {
        latest.insert(who.as_str(), (*c, verdict.as_str()));
    }
    let with = |v: &str| -> Vec<AdoptionVerdict> {
        latest
            .iter()
            .filter(|(_, (_, verdict))| *verdict == v)
            .map(|(party, (entry, _))| AdoptionVerdict {
                party: (*party).to_string(),
                entry: *entry,
            })
            .collect()
    };
    Ok(AdoptionRow {
        seq,
        by,
        acknowledged_by: with("ack"),
        disputed_by: with("dispute"),
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
        .filter(|p| p.seq <= att.extent)
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
    evidence: &HashMap<u64, EvidenceRead>,
    responses: &Responses,
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
        let customer_accountable = item.raci.get(&RoleId::Customer).is_some_and(|l| l.a);
        let mut duties = Vec::new();
        for d in &it.duties {
            let role = RoleId::parse(d.role);
            let row = DutyRow {
                duty: d.clone(),
                statement: role.and_then(|r| item.statements.get(&r)).cloned(),
                performed_by: performed_by(d, evidence),
                notes: notes_of(d.evidence.iter().copied(), evidence),
            };
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
                    performed_by: row.performed_by.clone(),
                    notes: notes_of(
                        d.evidence.iter().copied().chain(flagged_evidence(d)),
                        evidence,
                    ),
                    responses: responses.for_exception(
                        &it.id,
                        d.evidence.iter().copied().chain(flagged_evidence(d)),
                    ),
                });
            }
            if appendix == Appendix::All || (appendix == Appendix::Exceptions && is_exception) {
                wanted.extend(&d.evidence);
            }
            // The customer's duties, and what a third party does for an item the customer
            // is accountable for.
            let third_party = role == Some(RoleId::ThirdParty) && customer_accountable;
            if role == Some(RoleId::Customer) || third_party {
                let duty = item
                    .statements
                    .get(&RoleId::Customer)
                    .or(row.statement.as_ref())
                    .cloned()
                    .unwrap_or_else(|| it.activity.clone());
                let performed_by = if third_party && !d.party.is_empty() {
                    vec![d.party.clone()]
                } else {
                    row.performed_by.clone()
                };
                cuecs.push(Cuec {
                    item: it.id.clone(),
                    duty,
                    status: d.status,
                    due_by: d.due_by.clone(),
                    role: d.role.to_string(),
                    performed_by,
                });
            }
            duties.push(row);
        }
        if let Some(s) = sections.last_mut() {
            s.items.push(ItemRow {
                id: it.id.clone(),
                activity: it.activity.clone(),
                raci,
                duties,
                refs: item.refs.clone(),
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
    mut wanted: Vec<u64>,
    evidence: &HashMap<u64, EvidenceRead>,
    cosigns: &CosignsByEntry,
) -> (Vec<EvidenceRow>, Option<String>) {
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
    let rows = wanted
        .into_iter()
        .filter_map(|seq| {
            let e = evidence.get(&seq)?;
            let p = &e.payload;
            Some(EvidenceRow {
                seq,
                item: p.item.clone(),
                performed_at: p.performed_at.clone(),
                recorded_at: e.recorded_at.clone(),
                party: e.party.clone(),
                kind: p.kind.clone(),
                outcome: p.outcome.as_str().to_string(),
                fields: p.fields.clone(),
                artifacts: p
                    .artifacts
                    .iter()
                    .map(|a| (a.name.clone(), a.sha256.clone()))
                    .collect(),
                signer: e.signer.clone(),
                cosignatures: cosigns.get(&seq).cloned().unwrap_or_default(),
                note: p.note.clone(),
            })
        })
        .collect();
    (rows, appendix_note)
}

/// How to verify the report: the commands, with every party's key pinned, and the command
/// that makes the report again with its own options (`pins`: the keys it was made with).
fn how_to_verify(
    parties: &[PartyRow],
    period: &Period,
    head: u64,
    appendix: Appendix,
    pins: &[String],
) -> Vec<String> {
    let p = period.name();
    let trust: Vec<String> = parties
        .iter()
        .flat_map(|x| x.fingerprints.iter().map(|f| format!("--trust {f}")))
        .collect();
    let options: String = std::iter::once(format!(" --appendix {}", appendix.as_str()))
        .chain(pins.iter().map(|f| format!(" --trust {f}")))
        .collect();
    vec![
        format!(
            "vouch --ledger LEDGER verify --artifacts {}    (every hash, signature and chain link, against every party's pinned key)",
            trust.join(" ")
        ),
        format!(
            "vouch --ledger LEDGER attest --period {p} --at {head}    (recomputes the attestation digest at this head and checks each sign-off)"
        ),
        format!(
            "vouch --ledger LEDGER report --period {p} --at {head}{options} --out check.pdf    (the ledger gives this PDF again, byte for byte, for as long as it holds these entries)"
        ),
        "Without vouch: schema/FORMAT.md section 10 checks any entry with sqlite3, sha256sum and openssl; section 11 defines the attestation encoding.".to_string(),
    ]
}

/// The newest signed checkpoint among entries 1 … `upto`: its entry and note.
fn signed_checkpoint(ledger: &Ledger, upto: u64) -> Result<Option<(u64, String)>> {
    let mut signed_checkpoint = None;
    for e in ledger.entries_of_kind(Kind::Checkpoint, Some(upto))? {
        if let Ok(c) = payload::decode::<payload::CheckpointPayload>(&e.payload) {
            signed_checkpoint = Some((e.seq(), c.note));
        }
    }
    Ok(signed_checkpoint)
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
