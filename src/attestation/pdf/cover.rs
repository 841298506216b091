//! The cover page: title, period, the verification result, the facts of the matrix and the
//! ledger, the statement, and the parties with their key fingerprints.

use super::labels::period_label;
use super::layout::Layout;
use super::style::{BLACK, GREY_TEXT, MARGIN_X, NOTE, NOTE_FILL, STAMP, Style, WIDTH};
use super::table::{Cell, PAD, Table};
use super::text::hex_lines;
use crate::attestation::report::Report;

/// The adoption entry and who signed it.
fn adopted(r: &Report) -> String {
    let seq = r.matrix.get("adopted_in").map_or("-", String::as_str);
    if r.adoption.by.is_empty() {
        seq.to_string()
    } else {
        format!("{seq}, by {}", r.party_name(&r.adoption.by))
    }
}

/// The parties whose latest verdict on the adoption is an acknowledgement, with their
/// co-signature entries; and any dispute.
fn acknowledged(r: &Report) -> String {
    let list = |v: &[crate::attestation::report::AdoptionVerdict]| -> String {
        v.iter()
            .map(|a| format!("{} in entry {}", r.party_name(&a.party), a.entry))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut s = if r.adoption.acknowledged_by.is_empty() {
        "no other party yet".to_string()
    } else {
        list(&r.adoption.acknowledged_by)
    };
    if !r.adoption.disputed_by.is_empty() {
        s.push_str(&format!("; disputed by {}", list(&r.adoption.disputed_by)));
    }
    s
}

pub(super) fn cover(l: &mut Layout, r: &Report) {
    l.gap(10.0);
    l.para(r.title, 22.0, true, BLACK);
    l.gap(4.0);
    let get = |k: &str| r.matrix.get(k).map_or("-", String::as_str);
    l.para(get("title"), 14.0, false, GREY_TEXT);
    l.gap(2.0);
    l.para(
        &format!(
            "Period {} · issued {}",
            period_label(r),
            r.as_of.get(..10).unwrap_or(&r.as_of)
        ),
        11.0,
        false,
        GREY_TEXT,
    );
    l.gap(6.0);
    l.para(&r.headline(), 11.0, true, BLACK);
    if r.period_open() {
        l.gap(2.0);
        l.para(
            &format!(
                "PERIOD STILL OPEN — the statuses are as of {}, before the period ends: duties may still be done",
                r.as_of
            ),
            10.0,
            true,
            STAMP,
        );
    }
    l.gap(10.0);
    if !r.verified {
        l.para(
            &format!(
                "UNVERIFIED LEDGER — verification found problems: {}",
                if r.findings.is_empty() {
                    "not listed".to_string()
                } else {
                    r.findings.join("; ")
                }
            ),
            10.0,
            true,
            STAMP,
        );
        l.gap(6.0);
    }
    let verification = r.verification_summary();
    let facts: Vec<Vec<Cell>> = vec![
        vec![
            "Matrix".into(),
            Cell::from(get("title")).after(format!("({})", get("id")), NOTE),
        ],
        vec!["Version".into(), get("version").into()],
        vec!["Matrix SHA-256".into(), get("sha256").into()],
        vec!["Adopted in entry".into(), adopted(r).into()],
        vec!["Adoption acknowledged by".into(), acknowledged(r).into()],
        vec!["Period".into(), period_label(r).into()],
        vec!["Statuses as of".into(), r.as_of.as_str().into()],
        vec![
            "Ledger head".into(),
            format!("entry {}, hash {}", r.head.0, r.head.1).into(),
        ],
        vec![
            "Verification".into(),
            Cell::styled(
                verification,
                Style::coloured(if r.verified { BLACK } else { STAMP }),
            ),
        ],
        vec!["Attestation digest".into(), r.digest.as_str().into()],
    ];
    l.table(
        &Table {
            widths: &[0.22, 0.78],
            size: 9.0,
            ..Table::default()
        },
        &facts,
    );
    l.gap(4.0);
    // The statement, boxed.
    let lines = l.m.wrap(r.statement, 10.0, WIDTH - 16.0);
    let h = lines.len() as f32 * 13.0 + 12.0;
    l.ensure(h);
    l.rect(MARGIN_X, l.y - h, WIDTH, h, Some(NOTE_FILL), true);
    l.gap(6.0);
    for line in lines {
        l.y -= 13.0;
        l.text_at(MARGIN_X + 8.0, l.y + 2.5, 10.0, false, BLACK, &line);
    }
    l.gap(12.0);

    l.heading("Parties", 13.0);
    let rows: Vec<Vec<Cell>> = r
        .parties
        .iter()
        .map(|p| {
            vec![
                p.id.as_str().into(),
                p.name.as_str().into(),
                p.role.as_str().into(),
                p.bound_as.as_deref().unwrap_or("-").into(),
                if p.fingerprints.is_empty() {
                    "-".into()
                } else {
                    let fp_w = 0.40 * WIDTH - 2.0 * PAD;
                    let lines: Vec<String> = p
                        .fingerprints
                        .iter()
                        .flat_map(|f| hex_lines(&l.m, f, 8.5, fp_w))
                        .collect();
                    lines.join("\n").into()
                },
            ]
        })
        .collect();
    l.table(
        &Table {
            header: Some(&[
                "party",
                "display name",
                "role",
                "bound as",
                "key fingerprints",
            ]),
            widths: &[0.14, 0.22, 0.12, 0.12, 0.40],
            size: 8.5,
            caption: Some("Parties"),
            grow: 1.4,
            ..Table::default()
        },
        &rows,
    );
}
