//! `vouch status`, `vouch attest` and `vouch report`: the status of every matrix item
//! for a period, its signed attestation (`schema/FORMAT.md` §11) and the attestation report.

use serde_json::{Value, json};
use std::io::{self, Write as _};
use std::path::Path;

use super::args::{Format, ReportArgs};
use super::confirm;
use super::input::{load_key, parse_period, parse_trust};
use super::output::{Outcome, print_findings, print_json, write_output};
use vouch::attestation::attest;
use vouch::attestation::report::{flag_words, status_words};
use vouch::attestation::status::Status;
use vouch::attestation::status_ledger;
use vouch::ledger::Access;
use vouch::ledger::evidence;
use vouch::ledger::{Ledger, NoProgress};
use vouch::period::Period;
use vouch::{Error, Result, clock};

pub(super) fn status(
    path: &Path,
    period: Period,
    as_of: Option<String>,
    at: Option<u64>,
    fmt: Format,
) -> Result<Outcome> {
    let now = clock::now();
    let ledger = Ledger::open(path, Access::ReadOnly)?;
    // With --at, the ledger as it stood at that entry, judged as of its time.
    let at_time = match at {
        None => None,
        Some(seq) => {
            let size = ledger.size()?;
            let e = ledger.entry(seq)?.filter(|_| seq > 0).ok_or_else(|| {
                Error::new(format!("--at {seq}: the ledger has entries 1 to {size}"))
                    .hint("name an entry of the ledger: vouch log lists them")
            })?;
            Some(e.header.time)
        }
    };
    let as_of = match as_of {
        Some(t) => evidence::parse_performed_at(&t, now + chrono::Duration::days(36_500))
            .map_err(|e| e.context("--as-of"))?,
        None => at_time.unwrap_or(now),
    };
    let (report, matrix, adoption) = status_ledger::from_ledger(&ledger, &period, as_of, at)?;
    if fmt == Format::Json {
        let mut v = serde_json::to_value(&report).map_err(|e| Error::new(e.to_string()))?;
        v["matrix"] = json!({"id": matrix.header.id, "version": matrix.header.version, "adoption": adoption.seq});
        print_json(&v);
        return Ok(Outcome::Ok);
    }
    out!(
        "{} (version {}, adopted in entry {}) · period {} to {} · as of {}",
        matrix.header.title,
        matrix.header.version,
        adoption.seq,
        period.from,
        period.to,
        report.as_of
    );
    if let Some(seq) = at {
        out!("the ledger up to entry {seq}: later entries are left out");
    }
    // One table: a header row, then each section's title and its duties.
    let row = |item: &str, who: &str, status: &str, ev: &str, flags: &str| {
        format!("  {item:<40} {who:<18} {status:<18} {ev:<12} {flags}")
            .trim_end()
            .to_string()
    };
    out!(
        "\n{}",
        row("item", "party RACI", "status", "evidence", "flags")
    );
    let mut section = String::new();
    for it in &report.items {
        if it.section != section {
            section.clone_from(&it.section);
            let title = matrix
                .sections
                .iter()
                .find(|s| s.id == section)
                .map_or(section.as_str(), |s| s.title.as_str());
            out!("\n{title}");
        }
        for d in &it.duties {
            let who = match (d.party.is_empty(), d.role.is_empty()) {
                (false, _) => format!("{} {}", d.party, d.raci),
                (true, false) => format!("{} (not bound)", d.role),
                (true, true) => "-".to_string(),
            };
            let ev: Vec<String> = d.evidence.iter().map(|s| format!("#{s}")).collect();
            out!(
                "{}",
                row(
                    &it.id,
                    &who,
                    &status_words(d),
                    &ev.join(" "),
                    &flag_words(&d.flags).join("; ")
                )
            );
        }
    }
    out!("");
    for (party, counts) in &report.summary {
        let parts: Vec<String> = Status::ALL
            .iter()
            .filter_map(|s| {
                counts
                    .get(s.as_str())
                    .map(|n| format!("{} {n}", s.as_str()))
            })
            .collect();
        out!("{party}: {}", parts.join(", "));
    }
    out!("signatures not checked here: run `vouch verify`");
    Ok(Outcome::Ok)
}

/// `vouch attest --period P [--key K [--yes]]`: show the attestation and its sign-offs, or
/// sign it. Signing first shows the exceptions and the digest on standard error (and asks
/// on a terminal); the sign-off then signs exactly that digest.
pub(super) fn attest(
    path: &Path,
    period: Period,
    key: Option<(String, Option<String>)>,
    yes: bool,
    at: Option<u64>,
    fmt: Format,
) -> Result<Outcome> {
    let (att, signed) = match key {
        Some((k, signatory)) => {
            let k = load_key(&k)?;
            let mut ledger = Ledger::open(path, Access::ReadWrite)?;
            ledger.check_signing_key(&k)?;
            let (draft, shown) = attest::prepare(&ledger, &k, &period, at)?;
            let draft = vouch::attestation::attest::with_signatory(draft, signatory.as_deref())?;
            if clock::now() < period.end() {
                eprintln!(
                    "vouch: warning: the period {} has not ended (its last day is {}): the statuses may still change, and the report of this attestation says the period was still open",
                    period.name(),
                    period.to
                );
            }
            let (party, _) = ledger.signer_party(&k)?;
            confirm::confirm(
                &confirm::attestation_summary(&shown),
                &format!(
                    "sign the attestation of {} to {} as {party}?",
                    period.from, period.to
                ),
                yes,
            )?;
            let mut a = ledger.append(&k, vec![draft], clock::now(), &NoProgress)?;
            let a = a.pop().ok_or_else(|| Error::new("nothing was appended"))?;
            // Re-read, so the new sign-off is listed with the others.
            (attest::build_at(&ledger, &period, at)?, Some(a))
        }
        None => {
            let ledger = Ledger::open(path, Access::ReadOnly)?;
            (attest::build_at(&ledger, &period, at)?, None)
        }
    };
    let later = later_changes(path, &period, &att, at.is_none())?;
    let digest = hex::encode(att.digest);
    if fmt == Format::Json {
        let doc: Value = serde_json::from_slice(&att.canonical).unwrap_or(Value::Null);
        print_json(
            &json!({"digest": digest, "head": {"seq": att.head.0, "sha256": hex::encode(att.head.1)},
            "signed": signed.map(|a| a.seq), "signoffs": att.signoffs, "attestation": doc,
            "later": later.iter().map(|(h, now, c)| json!({"head": h, "current_head": now, "changes": c})).collect::<Vec<_>>()}),
        );
        return Ok(Outcome::Ok);
    }
    if let Some(a) = signed {
        let by = att
            .signoffs
            .iter()
            .find(|s| s.seq == a.seq)
            .and_then(|s| s.signatory.as_deref())
            .map(|s| format!(", signed by {s}"))
            .unwrap_or_default();
        out!(
            "entry {}: sign-off of {} to {}{by}",
            a.seq,
            period.from,
            period.to
        );
    }
    out!(
        "attestation {} to {} at head entry {} ({})",
        period.from,
        period.to,
        att.head.0,
        hex::encode(att.head.1)
    );
    out!("digest {digest}");
    if att.signoffs.is_empty() {
        out!("not signed by anyone yet");
    }
    for s in &att.signoffs {
        let state = if s.matches {
            "matches".to_string()
        } else if s.valid {
            format!(
                "valid at head {} (a statement about the ledger up to that entry)",
                s.head
            )
        } else {
            format!("does NOT match the attestation at its head {}", s.head)
        };
        let who = match &s.signatory {
            Some(n) => format!("{n} for {}", s.party),
            None => s.party.clone(),
        };
        out!("  signed by {who} in entry {}: {state}", s.seq);
    }
    print_later(&period, &att, &later);
    Ok(Outcome::Ok)
}

/// An earlier head, the current head, and the duties whose status differs between them.
type Later = (u64, u64, Vec<attest::Change>);

/// What the entries recorded after each earlier head change in the period: for this
/// attestation's head (with --at) and every head a valid sign-off was made at, compared with
/// the attestation at the current head.
fn later_changes(
    path: &Path,
    period: &Period,
    att: &attest::Attestation,
    is_current: bool,
) -> Result<Vec<Later>> {
    let ledger = Ledger::open(path, Access::ReadOnly)?;
    let current = if is_current {
        att.clone()
    } else {
        attest::compute(&ledger, period, None)?
    };
    let mut heads: Vec<u64> = att
        .signoffs
        .iter()
        .filter(|s| s.valid)
        .map(|s| s.head)
        .chain(std::iter::once(att.head.0))
        .filter(|h| *h < current.head.0)
        .collect();
    heads.sort_unstable();
    heads.dedup();
    heads
        .into_iter()
        .map(|h| {
            let then = attest::compute(&ledger, period, Some(h))?;
            let mut changes = attest::changes(&then, &current);
            attest::responsible(&ledger, &then, &current, &mut changes)?;
            Ok((h, current.head.0, changes))
        })
        .collect()
}

fn print_later(period: &Period, att: &attest::Attestation, later: &[Later]) {
    use vouch::attestation::attest::Change;
    let words = |c: &Change| {
        let who = if c.party.is_empty() {
            String::new()
        } else {
            format!(" ({} {})", c.party, c.role)
        };
        let entries: Vec<String> = c.entries.iter().map(|e| format!("#{e}")).collect();
        format!(
            "    {}{who}: {} -> {}{}",
            c.item,
            c.before.unwrap_or("-"),
            c.after.unwrap_or("-"),
            if entries.is_empty() {
                String::new()
            } else {
                format!(" (entries {})", entries.join(" "))
            }
        )
    };
    for (head, now, changes) in later {
        if changes.is_empty() {
            out!(
                "entries after head {head}: no status of {} changes up to the current head {now}",
                period.name()
            );
            continue;
        }
        out!(
            "entries after head {head} change {} duty status(es) of {} (current head {now}):",
            changes.len(),
            period.name()
        );
        for c in changes {
            out!("{}", words(c));
        }
        if *head == att.head.0 || att.head.0 == *now {
            out!(
                "  to sign the newer statement: vouch attest --period {} --key KEY",
                period.name()
            );
        }
    }
}

pub(super) fn report(path: &Path, args: ReportArgs, fmt: Format) -> Result<Outcome> {
    if fmt == Format::Toml {
        return Err(Error::new("--format toml is not a report format")
            .hint("use --format pdf (the default), md, json or csv"));
    }
    let period = parse_period(args.period)?;
    let (out_path, force, trust, allow_unverified) = (
        args.out.as_deref(),
        args.force,
        &args.trust,
        args.allow_unverified,
    );
    let which = vouch::attestation::report::Appendix::parse(&args.appendix);
    let trust = if trust.is_empty() {
        None
    } else {
        Some(parse_trust(trust)?)
    };
    let since = super::input::read_since(path, &args.since, &args.trust)?;
    let making = vouch::attestation::report::Making {
        trust,
        allow_unverified,
        at: args.at,
        since,
    };
    let r = match vouch::attestation::report::generate(path, &period, which, making)? {
        vouch::attestation::report::Generated::Report(r) => r,
        vouch::attestation::report::Generated::Refused(v) => {
            print_findings(&v.findings, 5);
            out!(
                "FAILED: the ledger does not verify; no report (use --allow-unverified to mark every page)"
            );
            return Ok(Outcome::Problem);
        }
    };
    let pdf = matches!(fmt, Format::Text | Format::Pdf);
    let bytes = match fmt {
        Format::Json => {
            (serde_json::to_string_pretty(&r).map_err(|e| Error::new(e.to_string()))? + "\n")
                .into_bytes()
        }
        Format::Csv => vouch::attestation::report_text::to_csv(&r)?.into_bytes(),
        Format::Md => vouch::attestation::report_text::to_markdown(&r).into_bytes(),
        _ => vouch::attestation::pdf::render(&r)?,
    };
    let default_pdf;
    let target = match out_path {
        Some(p) if p.as_os_str() == "-" => None,
        Some(p) => Some(p),
        None if pdf => {
            default_pdf = Path::new("reports").join(format!(
                "{}-{}.pdf",
                r.matrix.get("id").map_or("report", String::as_str),
                period.label()
            ));
            Some(default_pdf.as_path())
        }
        None => None,
    };
    match target {
        None => {
            if io::stdout().lock().write_all(&bytes).is_err() {
                std::process::exit(0);
            }
        }
        Some(p) => {
            let how = write_output(p, &bytes, force, true)?;
            out!(
                "{} {} ({} bytes; attestation digest {})",
                how.as_str(),
                p.display(),
                bytes.len(),
                r.digest
            );
            if !r.verified {
                out!("UNVERIFIED: the ledger does not verify; every page says so");
            }
        }
    }
    Ok(if r.verified {
        Outcome::Ok
    } else {
        Outcome::Problem
    })
}
