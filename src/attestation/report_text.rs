//! The attestation report as text: Markdown for people and CSV (one row per duty) for
//! spreadsheets. Both render the one model [`crate::attestation::report::Report`] (JSON
//! is its serde form; [`crate::attestation::pdf`] lays out the same model on pages).

use std::fmt::Write as _;

use crate::attestation::report::{DutyRow, Report, flag_words, status_words, waiver_state_words};
use crate::attestation::status::Status;
use crate::error::{Error, Result};

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Markdown rendering.
pub fn to_markdown(r: &Report) -> String {
    let mut o = String::new();
    md_head(&mut o, r);
    md_parties(&mut o, r);
    md_summary(&mut o, r);
    md_matrix(&mut o, r);
    md_exceptions(&mut o, r);
    md_waivers(&mut o, r);
    md_appendix(&mut o, r);
    md_signoffs(&mut o, r);
    md_how_to_verify(&mut o, r);
    o
}

/// The title, the unverified warning if any, the statement and the report's facts.
fn md_head(o: &mut String, r: &Report) {
    let _ = writeln!(o, "# {}\n", r.title);
    if !r.verified {
        let _ = writeln!(
            o,
            "> **UNVERIFIED LEDGER** — verification found problems: {}\n",
            r.findings.join("; ")
        );
    }
    let _ = writeln!(o, "**{}**\n", r.headline());
    if r.period_open() {
        let _ = writeln!(
            o,
            "> **PERIOD STILL OPEN** — the statuses are as of {}, before the period ends: duties may still be done\n",
            r.as_of
        );
    }
    let _ = writeln!(o, "{}\n", r.statement);
    let _ = writeln!(
        o,
        "- Matrix: {} (`{}`), version {}, SHA-256 `{}`, adopted in entry {}{}",
        r.matrix["title"],
        r.matrix["id"],
        r.matrix["version"],
        r.matrix["sha256"],
        r.matrix["adopted_in"],
        if r.adoption.by.is_empty() {
            String::new()
        } else {
            format!(" by {}", r.party_name(&r.adoption.by))
        }
    );
    let verdicts = |v: &[crate::attestation::report::AdoptionVerdict]| -> String {
        v.iter()
            .map(|a| format!("{} in entry {}", r.party_name(&a.party), a.entry))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let _ = writeln!(
        o,
        "- Adoption acknowledged by: {}{}",
        if r.adoption.acknowledged_by.is_empty() {
            "no other party yet".to_string()
        } else {
            verdicts(&r.adoption.acknowledged_by)
        },
        if r.adoption.disputed_by.is_empty() {
            String::new()
        } else {
            format!("; disputed by {}", verdicts(&r.adoption.disputed_by))
        }
    );
    let _ = writeln!(
        o,
        "- Period: {} to {}; statuses as of {}",
        r.period.from, r.period.to, r.as_of
    );
    let _ = writeln!(o, "- Ledger head: entry {} `{}`", r.head.0, r.head.1);
    let _ = writeln!(o, "- Verification: {}", r.verification_summary());
    let _ = writeln!(o, "- Attestation digest: `{}`\n", r.digest);
}

/// The parties table.
fn md_parties(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "## Parties\n\n| party | name | role | bound as | key fingerprint |\n|---|---|---|---|---|"
    );
    for p in &r.parties {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | `{}` |",
            p.id,
            md_escape(&p.name),
            p.role,
            p.bound_as.as_deref().unwrap_or("-"),
            p.fingerprints.join(" ")
        );
    }
}

/// The status counts per party.
fn md_summary(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "\n## Summary\n\n| party | {} |\n|---|{}",
        Status::ALL.map(Status::as_str).join(" | "),
        "---|".repeat(Status::ALL.len())
    );
    for (party, counts) in r
        .summary_order()
        .into_iter()
        .filter_map(|p| r.summary.get(p).map(|c| (p, c)))
    {
        let cells: Vec<String> = Status::ALL
            .iter()
            .map(|s| counts.get(s.as_str()).copied().unwrap_or(0).to_string())
            .collect();
        let _ = writeln!(
            o,
            "| {} | {} |",
            md_escape(&r.party_name(party)),
            cells.join(" | ")
        );
    }
}

/// A duty's party in words: the party, and its role and who performed it when a delegate
/// did (`acme (customer), performed by orbit (third-party)`); the role and "not bound"; or a
/// dash for an item that applies to nobody.
fn duty_party(r: &Report, d: &DutyRow) -> String {
    let duty = &d.duty;
    match (duty.party.is_empty(), duty.role.is_empty()) {
        (false, _) => match r.performed_by_words(&d.performed_by) {
            Some(by) => format!("{} ({}), {by}", duty.party, duty.role),
            None => duty.party.clone(),
        },
        (true, false) => format!("{} (not bound)", duty.role),
        (true, true) => "-".to_string(),
    }
}

/// The matrix, section by section, one row per duty.
fn md_matrix(o: &mut String, r: &Report) {
    let _ = writeln!(o, "\n## The matrix");
    for s in &r.sections {
        let _ = writeln!(
            o,
            "\n### {}\n\n| item | activity | RACI | party | status | evidence | last performed | flags | duty statement |\n|---|---|---|---|---|---|---|---|---|",
            md_escape(&s.title)
        );
        for it in &s.items {
            let raci: Vec<String> = it.raci.iter().map(|(r, l)| format!("{r} {l}")).collect();
            for d in &it.duties {
                let ev: Vec<String> = d.duty.evidence.iter().map(|s| format!("#{s}")).collect();
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    it.id,
                    md_escape(&it.activity),
                    raci.join(", "),
                    md_escape(&duty_party(r, d)),
                    status_words(&d.duty),
                    ev.join(" "),
                    d.duty.last_performed.as_deref().unwrap_or("-"),
                    flag_words(&d.duty.flags).join("; "),
                    d.statement
                        .as_deref()
                        .map(|st| md_escape(&format!("{}: {st}", d.duty.role)))
                        .unwrap_or_default()
                );
            }
        }
    }
}

/// The exceptions (with the notes of their evidence) and the complementary user entity
/// controls.
fn md_exceptions(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "\n## Exceptions\n\n| item | party | status | detail | evidence notes | responses |\n|---|---|---|---|---|---|"
    );
    for e in &r.exceptions {
        let party = match r.performed_by_words(&e.performed_by) {
            Some(by) => format!("{} ({}), {by}", e.party, e.role),
            None if e.party.is_empty() => format!("{} (not bound)", e.role),
            None => e.party.clone(),
        };
        let notes: Vec<String> = e
            .notes
            .iter()
            .map(|n| format!("#{}: \u{201c}{}\u{201d}", n.seq, n.note))
            .collect();
        let responses: Vec<String> = e
            .responses
            .iter()
            .map(|m| format!("#{} by {}: \u{201c}{}\u{201d}", m.seq, m.party, m.text))
            .collect();
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            e.item,
            md_escape(&party),
            e.status.as_str(),
            md_escape(&e.detail),
            md_escape(&notes.join("; ")),
            md_escape(&responses.join("; "))
        );
    }
    let _ = writeln!(
        o,
        "\n### Complementary user entity controls (customer duties)\n\nThe duties the customer is accountable for: its own, including those a delegate performs, and those a third party performs for it.\n\n| item | duty | performed by | status |\n|---|---|---|---|"
    );
    for c in &r.cuecs {
        let by = r
            .performed_by_words(&c.performed_by)
            .unwrap_or_else(|| "the customer".to_string());
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            c.item,
            md_escape(&c.duty),
            md_escape(&by),
            c.due_by.as_ref().map_or_else(
                || c.status.as_str().to_string(),
                |by| format!("due by {by}")
            )
        );
    }
}

/// Every waiver: who asked, why, who agreed, and what became of it.
fn md_waivers(o: &mut String, r: &Report) {
    let _ = writeln!(o, "\n## Waivers\n");
    if r.waivers.is_empty() {
        let _ = writeln!(o, "No waivers.");
        return;
    }
    let _ = writeln!(
        o,
        "| waiver | item | asked by | reason | agreed by | state |\n|---|---|---|---|---|---|"
    );
    for w in &r.waivers {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            w.seq,
            w.item,
            md_escape(&r.party_name(&w.by)),
            md_escape(&w.reason),
            if w.agreed_by.is_empty() {
                "-".to_string()
            } else {
                w.agreed_by.join(", ")
            },
            md_escape(&waiver_state_words(w))
        );
    }
}

/// The evidence appendix.
fn md_appendix(o: &mut String, r: &Report) {
    let _ = writeln!(o, "\n## Evidence appendix\n\n{}\n", r.appendix_scope());
    if let Some(n) = &r.appendix_note {
        let _ = writeln!(o, "{n}\n");
    }
    let _ = writeln!(
        o,
        "| seq | item | performed | recorded | party | kind | outcome | note | fields | artefacts | co-signatures |\n|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for e in &r.appendix {
        let fields: Vec<String> = e
            .fields
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().map_or(v.to_string(), str::to_string)))
            .collect();
        let arts: Vec<String> = e
            .artifacts
            .iter()
            .map(|(n, s)| format!("{n} `{}`", &s[..16.min(s.len())]))
            .collect();
        let cos: Vec<String> = e
            .cosignatures
            .iter()
            .map(|(s, p, v)| format!("#{s} {p} {v}"))
            .collect();
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            e.seq,
            e.item,
            e.performed_at,
            e.recorded_at,
            e.party,
            e.kind,
            e.outcome,
            md_escape(e.note.as_deref().unwrap_or("")),
            md_escape(&fields.join(", ")),
            arts.join(", "),
            cos.join(", ")
        );
    }
}

/// The sign-off table and each sign-off's signature.
fn md_signoffs(o: &mut String, r: &Report) {
    let _ = writeln!(o, "\n## Sign-off\n");
    let _ = writeln!(
        o,
        "| party | role | sign-off entry | time | key | digest signed | computed at head | state |\n|---|---|---|---|---|---|---|---|"
    );
    for p in r.parties.iter().filter(|p| p.bound_as.is_some()) {
        if !r.signoffs.iter().any(|s| s.party == p.id) {
            let _ = writeln!(
                o,
                "| {} | {} | | | | | | not signed |",
                p.id,
                p.bound_as.as_deref().unwrap_or_default()
            );
        }
    }
    for s in &r.signoffs {
        let role = r
            .parties
            .iter()
            .find(|p| p.id == s.party)
            .map_or("", |p| p.bound_as.as_deref().unwrap_or(p.role.as_str()));
        let party = match &s.signatory {
            Some(n) => format!("{} (signed by {})", s.party, md_escape(n)),
            None => s.party.clone(),
        };
        let _ = writeln!(
            o,
            "| {party} | {role} | {} | {} | {} | {} | {} | {} |",
            s.seq,
            s.time,
            s.fingerprint,
            s.digest,
            s.head,
            if s.matches {
                "matches this attestation".to_string()
            } else if s.valid {
                format!("valid at its head {} (an earlier statement)", s.head)
            } else {
                format!("does NOT match (signed at head {})", s.head)
            }
        );
    }
    for s in &r.signoffs {
        let _ = writeln!(
            o,
            "\nSignature of entry {} by {} (Ed25519, hex): `{}`",
            s.seq, s.party, s.signature
        );
    }
}

/// How to verify, and the digest and head once more.
fn md_how_to_verify(o: &mut String, r: &Report) {
    let _ = writeln!(o, "\n## How to verify\n\n```");
    for l in &r.how_to_verify {
        let _ = writeln!(o, "{l}");
    }
    let _ = writeln!(o, "```");
    let _ = writeln!(
        o,
        "\nAttestation digest: `{}`  \nLedger head: entry {}, hash `{}`",
        r.digest, r.head.0, r.head.1
    );
}

/// The waiver a duty's flags name, in words: `#20 pending (no counterparty has agreed
/// yet): no manual snapshots in this contract`.
fn csv_waiver(r: &Report, d: &crate::attestation::status::Duty) -> String {
    d.flags
        .iter()
        .filter_map(|f| {
            let (name, seq) = f.split_once(':')?;
            if !matches!(name, "waived" | "waiver-pending" | "waiver-disputed") {
                return None;
            }
            let w = r.waivers.iter().find(|w| w.seq.to_string() == seq)?;
            Some(format!(
                "#{} {}: {}",
                w.seq,
                waiver_state_words(w),
                w.reason
            ))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// CSV rendering: one row per duty (the columns after `head` were added later: a reader
/// that takes columns by name is not affected).
pub fn to_csv(r: &Report) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::new(format!("cannot write CSV: {e}"));
    w.write_record([
        "period_from",
        "period_to",
        "section",
        "item",
        "activity",
        "role",
        "party",
        "raci",
        "status",
        "evidence",
        "last_performed",
        "flags",
        "digest",
        "head",
        "due_by",
        "performed_by",
        "statement",
        "notes",
        "waiver",
    ])
    .map_err(err)?;
    for s in &r.sections {
        for it in &s.items {
            for row in &it.duties {
                let d = &row.duty;
                let ev: Vec<String> = d.evidence.iter().map(ToString::to_string).collect();
                let notes: Vec<String> = row
                    .notes
                    .iter()
                    .map(|n| format!("#{}: {}", n.seq, n.note))
                    .collect();
                w.write_record([
                    r.period.from.to_string(),
                    r.period.to.to_string(),
                    s.title.clone(),
                    it.id.clone(),
                    it.activity.clone(),
                    d.role.to_string(),
                    d.party.clone(),
                    d.raci.clone(),
                    d.status.as_str().to_string(),
                    ev.join(" "),
                    d.last_performed.clone().unwrap_or_default(),
                    d.flags.join(" "),
                    r.digest.clone(),
                    r.head.0.to_string(),
                    d.due_by.clone().unwrap_or_default(),
                    row.performed_by.join(" "),
                    row.statement.clone().unwrap_or_default(),
                    notes.join("; "),
                    csv_waiver(r, d),
                ])
                .map_err(err)?;
            }
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::new(format!("cannot write CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|_| Error::new("CSV is not UTF-8"))
}
