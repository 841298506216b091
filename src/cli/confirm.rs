//! Say what is about to be signed, and ask before signing it.
//!
//! `cosign` and `retract` act on an earlier entry named only by its number, and `attest
//! --key` signs a digest; a wrong number or an unread attestation is signed for good (the
//! ledger is append-only). So before writing, these commands print on standard error what
//! they act on: the target entry in one line ([`describe`]), or the attestation's exceptions
//! and digest ([`attestation_summary`]). Then:
//!
//! - on a terminal (standard input and standard error both TTYs) and without `--yes`, they
//!   ask `… [y/N]`; only `y` or `yes` goes ahead, anything else (an empty line, end of
//!   input) refuses with exit 2 and nothing written;
//! - otherwise (scripts, CI, `--yes`) they go ahead without asking, as before this check
//!   existed, and the printed line stays in the job's log.
//!
//! `--item ITEM` ([`check_item`]) is a guard that needs no terminal: the target entry must
//! be about that item.

use std::io::{self, BufRead as _, IsTerminal as _, Write as _};

use vouch::attestation::attest::Attestation;
use vouch::attestation::status::Status;
use vouch::format::entry::{Kind, format_time};
use vouch::format::payload::{
    self, AdoptionPayload, Checked, CheckpointPayload, CosignPayload, DelegationPayload,
    EvidencePayload, KeyRevocationPayload, KeyRotationPayload, PartyPayload, ResponsePayload,
    RetractionPayload, SignoffPayload, WaiverPayload,
};
use vouch::ledger::{Entry, Ledger};
use vouch::{Error, Result};

/// Statuses that make a duty an exception in the sign-off summary.
const EXCEPTIONS: [Status; 4] = [
    Status::Failed,
    Status::Overdue,
    Status::Missing,
    Status::Disputed,
];

/// Entry `seq`, or an error naming the ledger and the entries it has.
pub(super) fn target(ledger: &Ledger, seq: u64) -> Result<Entry> {
    match ledger.entry(seq)? {
        Some(e) => Ok(e),
        None => Err(
            Error::new(format!("no entry {seq} in {}", ledger.path().display())).hint(format!(
                "entries run from 1 to {}; list them with vouch log",
                ledger.size()?
            )),
        ),
    }
}

/// One line saying what entry `e` is: `entry 42: evidence ITEM KIND OUTCOME, by PARTY
/// (NAME), performed DATE, recorded TIME`.
pub(super) fn describe(ledger: &Ledger, e: &Entry) -> Result<String> {
    let h = &e.header;
    let by = match ledger.party_of_key(&h.signer)? {
        Some(p) => format!("{} ({})", p.id, p.name),
        None => format!("an unregistered key {}", h.signer),
    };
    let what = what(e);
    let performed = match decoded::<EvidencePayload>(e) {
        Some(ev) => format!(", performed {}", day_or_time(&ev.performed_at)),
        None => String::new(),
    };
    Ok(format!(
        "entry {}: {}{what}, by {by}{performed}, recorded {}",
        h.seq,
        h.kind.as_str(),
        format_time(&h.time)
    ))
}

/// The kind-specific words after the kind (empty if the payload does not decode: the
/// entry is shown by kind only, and `vouch verify` reports the damage).
fn what(e: &Entry) -> String {
    let w = match e.header.kind {
        Kind::Evidence => decoded::<EvidencePayload>(e).map(|p| {
            let supporting = if p.supporting { " (supporting)" } else { "" };
            format!("{} {} {}{supporting}", p.item, p.kind, p.outcome.as_str())
        }),
        Kind::Genesis | Kind::Party => decoded::<PartyPayload>(e)
            .map(|p| format!("{} ({}, {})", p.id, p.name, p.role.as_str())),
        Kind::Adoption => decoded::<AdoptionPayload>(e)
            .map(|p| format!("of matrix {} version {}", p.matrix.id, p.matrix.version)),
        Kind::Cosign => decoded::<CosignPayload>(e)
            .map(|p| format!("{} of entry {}", p.verdict.as_str(), p.entry)),
        Kind::Retraction => {
            decoded::<RetractionPayload>(e).map(|p| format!("of entry {}", p.entry))
        }
        Kind::Waiver => decoded::<WaiverPayload>(e).map(|p| format!("of {}", p.item)),
        Kind::Delegation => {
            decoded::<DelegationPayload>(e).map(|p| format!("of {} to {}", p.item, p.to))
        }
        Kind::Signoff => decoded::<SignoffPayload>(e).map(|p| {
            let by = p.signatory.map(|s| format!(" by {s}")).unwrap_or_default();
            format!(
                "of {} to {} at head entry {}{by}",
                p.period.from, p.period.to, p.head
            )
        }),
        Kind::Checkpoint => {
            decoded::<CheckpointPayload>(e).map(|p| format!("of entries 1–{}", p.size))
        }
        Kind::KeyRotation => decoded::<KeyRotationPayload>(e).map(|p| format!("of {}", p.party)),
        Kind::KeyRevocation => {
            decoded::<KeyRevocationPayload>(e).map(|p| format!("of key {}", p.key))
        }
        Kind::Response => {
            decoded::<ResponsePayload>(e).map(|p| match (p.entry, p.item, p.period) {
                (Some(seq), ..) => format!("to entry {seq}"),
                (None, Some(item), Some(per)) => {
                    format!("on {item} for {} to {}", per.from, per.to)
                }
                _ => String::new(),
            })
        }
    };
    w.map(|w| format!(" {w}")).unwrap_or_default()
}

fn decoded<T>(e: &Entry) -> Option<T>
where
    T: serde::de::DeserializeOwned + serde::Serialize + Checked,
{
    payload::decode::<T>(&e.payload).ok()
}

/// `2026-09-12` for midnight, the whole time otherwise.
fn day_or_time(t: &str) -> &str {
    t.strip_suffix("T00:00:00Z").unwrap_or(t)
}

/// `--item ITEM`: refuse unless entry `e` is about `item` (`line` describes the entry).
pub(super) fn check_item(e: &Entry, line: &str, item: Option<&str>) -> Result<()> {
    let Some(want) = item else {
        return Ok(());
    };
    let seq = e.seq();
    let err = match e.item() {
        Some(have) if have == want => return Ok(()),
        Some(have) => Error::new(format!(
            "entry {seq} is about item {have}, not --item {want}: nothing written"
        )),
        None => Error::new(format!(
            "entry {seq} ({}) is about no item, not --item {want}: nothing written",
            e.header.kind.as_str()
        )),
    };
    Err(err.hint(format!(
        "{line}; check the entry number with vouch log or vouch show {seq}"
    )))
}

/// The sign-off summary: the head and the count of exceptions, one line per duty that is
/// failed, overdue, missing or disputed (item, party, status), then the digest.
pub(super) fn attestation_summary(att: &Attestation) -> Vec<String> {
    let rows: Vec<(&str, &str, &str)> = att
        .report
        .items
        .iter()
        .flat_map(|it| {
            it.duties
                .iter()
                .filter(|d| EXCEPTIONS.contains(&d.status))
                .map(|d| {
                    let party = if d.party.is_empty() { "-" } else { &d.party };
                    (it.id.as_str(), party, d.status.as_str())
                })
        })
        .collect();
    let period = &att.report.period;
    let mut lines = vec![format!(
        "attestation {} to {} at head entry {}: {}",
        period.from,
        period.to,
        att.head.0,
        match rows.len() {
            0 => "no exceptions (no duty failed, overdue, missing or disputed)".to_string(),
            1 => "1 exception".to_string(),
            n => format!("{n} exceptions"),
        }
    )];
    let wi = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let wp = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    lines.extend(
        rows.iter()
            .map(|(i, p, s)| format!("  {i:<wi$}  {p:<wp$}  {s}")),
    );
    lines.push(format!("digest {}", hex::encode(att.digest)));
    lines
}

/// Print `shown` on standard error; then, on a terminal and without `yes`, ask `question`
/// and go ahead only on `y` or `yes`. Refusals are errors (exit 2): nothing was written.
pub(super) fn confirm(shown: &[String], question: &str, yes: bool) -> Result<()> {
    let mut err = io::stderr().lock();
    for line in shown {
        // Standard error closed: nothing to show, and nobody to ask either.
        let _ = writeln!(err, "{line}");
    }
    if yes || !(io::stdin().is_terminal() && io::stderr().is_terminal()) {
        return Ok(());
    }
    let _ = write!(err, "{question} [y/N] ");
    let _ = err.flush();
    drop(err);
    let mut answer = String::new();
    let n = io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::new(format!("cannot read the answer from standard input: {e}")))?;
    if n == 0 {
        // End of input (Ctrl-D): end the prompt line before the error message.
        let _ = writeln!(io::stderr());
        return Err(Error::new("no answer (end of input): nothing written")
            .hint("answer y to go ahead; scripts pass --yes"));
    }
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(Error::new("not confirmed: nothing written")
            .hint("answer y to go ahead; scripts pass --yes")),
    }
}
