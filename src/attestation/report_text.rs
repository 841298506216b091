//! The attestation report as text: Markdown for people and CSV (one row per duty) for
//! spreadsheets. Both render the one model [`crate::attestation::report::Report`] (JSON
//! is its serde form; [`crate::attestation::pdf`] lays out the same model on pages).

use std::fmt::Write as _;

use crate::attestation::report::Report;
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
    let _ = writeln!(o, "{}\n", r.statement);
    let _ = writeln!(
        o,
        "- Matrix: {} (`{}`), version {}, SHA-256 `{}`, adopted in entry {}",
        r.matrix["title"],
        r.matrix["id"],
        r.matrix["version"],
        r.matrix["sha256"],
        r.matrix["adopted_in"]
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
    for (party, counts) in &r.summary {
        let cells: Vec<String> = Status::ALL
            .iter()
            .map(|s| counts.get(s.as_str()).copied().unwrap_or(0).to_string())
            .collect();
        let _ = writeln!(o, "| {party} | {} |", cells.join(" | "));
    }
}

/// The matrix, section by section, one row per duty.
fn md_matrix(o: &mut String, r: &Report) {
    let _ = writeln!(o, "\n## The matrix");
    for s in &r.sections {
        let _ = writeln!(
            o,
            "\n### {}\n\n| item | activity | RACI | party | status | evidence | last performed |\n|---|---|---|---|---|---|---|",
            md_escape(&s.title)
        );
        for it in &s.items {
            let raci: Vec<String> = it.raci.iter().map(|(r, l)| format!("{r} {l}")).collect();
            for d in &it.duties {
                let ev: Vec<String> = d.evidence.iter().map(|s| format!("#{s}")).collect();
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    it.id,
                    md_escape(&it.activity),
                    raci.join(", "),
                    if d.party.is_empty() { "-" } else { &d.party },
                    d.status.as_str(),
                    ev.join(" "),
                    d.last_performed.as_deref().unwrap_or("-")
                );
            }
        }
    }
}

/// The exceptions and the complementary user entity controls.
fn md_exceptions(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "\n## Exceptions\n\n| item | party | status | detail |\n|---|---|---|---|"
    );
    for e in &r.exceptions {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            e.item,
            e.party,
            e.status.as_str(),
            md_escape(&e.detail)
        );
    }
    let _ = writeln!(
        o,
        "\n### Complementary user entity controls (customer duties)\n\n| item | duty | status |\n|---|---|---|"
    );
    for c in &r.cuecs {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            c.item,
            md_escape(&c.duty),
            c.status.as_str()
        );
    }
}

/// The evidence appendix.
fn md_appendix(o: &mut String, r: &Report) {
    let _ = writeln!(o, "\n## Evidence appendix\n");
    if let Some(n) = &r.appendix_note {
        let _ = writeln!(o, "{n}\n");
    }
    let _ = writeln!(
        o,
        "| seq | item | performed | recorded | party | kind | outcome | fields | artefacts | co-signatures |\n|---|---|---|---|---|---|---|---|---|---|"
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
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            e.seq,
            e.item,
            e.performed_at,
            e.recorded_at,
            e.party,
            e.kind,
            e.outcome,
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
        let _ = writeln!(
            o,
            "| {} | {role} | {} | {} | {} | {} | {} | {} |",
            s.party,
            s.seq,
            s.time,
            s.fingerprint,
            s.digest,
            s.head,
            if s.matches {
                "matches this attestation".to_string()
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

/// CSV rendering: one row per duty.
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
    ])
    .map_err(err)?;
    for s in &r.sections {
        for it in &s.items {
            for d in &it.duties {
                let ev: Vec<String> = d.evidence.iter().map(ToString::to_string).collect();
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
