//! The exceptions section: the duties not fulfilled, waived or informational (with the
//! notes of their evidence and the management responses), the complementary user entity controls (what the customer is
//! accountable for), and every waiver with its reason, author, who agreed and its state.

use super::labels::{dash, party_label};
use super::layout::Layout;
use super::style::{BLACK, GREY_TEXT, NOTE, PLAIN, STAMP, Style, WARN};
use super::table::{Cell, Table, status_cell, status_text_cell};
use crate::attestation::report::{Cuec, Report, waiver_state_words};

/// A party, and who performed its duty when a delegate did.
fn party_with_performer(r: &Report, party: &str, role: &str, performed_by: &[String]) -> Cell {
    let cell = Cell::from(party_label(party, role));
    match r.performed_by_words(performed_by) {
        Some(words) => cell.line(words, PLAIN),
        None => cell,
    }
}

pub(super) fn exceptions(l: &mut Layout, r: &Report) {
    l.heading("Exceptions", 16.0);
    if r.exceptions.is_empty() {
        l.para(
            "None: every duty is fulfilled, due, waived or informational.",
            9.0,
            false,
            BLACK,
        );
    } else {
        let rows: Vec<Vec<Cell>> = r
            .exceptions
            .iter()
            .map(|e| {
                let mut detail = Cell::from(dash(&e.detail));
                for n in &e.notes {
                    detail = detail.line(
                        format!("#{} note: \u{201c}{}\u{201d}", n.seq, n.note),
                        PLAIN,
                    );
                }
                for m in &e.responses {
                    detail = detail.line(response_words(m), PLAIN);
                }
                vec![
                    e.item.as_str().into(),
                    e.activity.as_str().into(),
                    party_with_performer(r, &e.party, &e.role, &e.performed_by),
                    e.role.as_str().into(),
                    status_cell(e.status),
                    detail,
                ]
            })
            .collect();
        l.table(
            &Table {
                header: Some(&[
                    "item",
                    "activity",
                    "party",
                    "role",
                    "status",
                    "detail / evidence notes / responses",
                ]),
                widths: &[0.16, 0.20, 0.12, 0.09, 0.11, 0.32],
                size: 8.0,
                caption: Some("Exceptions"),
                grow: 1.35,
                ..Table::default()
            },
            &rows,
        );
    }
    cuecs(l, r);
    waivers(l, r);
}

/// A management response beside its exception: `#44 response by globex: “…”`.
pub(super) fn response_words(m: &crate::attestation::responses::ResponseRow) -> String {
    format!(
        "#{} response by {}: \u{201c}{}\u{201d}",
        m.seq, m.party, m.text
    )
}

/// A CUEC's status in words: `due by 2026-12-31`, or the status.
pub(super) fn cuec_status(c: &Cuec) -> String {
    match &c.due_by {
        Some(by) => format!("due by {by}"),
        None => c.status.as_str().to_string(),
    }
}

/// What the customer is accountable for: its own duties, and those a third party performs.
fn cuecs(l: &mut Layout, r: &Report) {
    l.heading("Complementary user entity controls (customer duties)", 12.0);
    if r.cuecs.is_empty() {
        l.para(
            "The matrix makes the customer accountable for nothing.",
            9.0,
            false,
            BLACK,
        );
        return;
    }
    l.para(
        "The duties the customer is accountable for: its own, including those a delegate performs, and those a third party performs for it.",
        8.0,
        false,
        GREY_TEXT,
    );
    l.gap(2.0);
    let rows: Vec<Vec<Cell>> = r
        .cuecs
        .iter()
        .map(|c| {
            let by = r
                .performed_by_words(&c.performed_by)
                .unwrap_or_else(|| "the customer".to_string());
            vec![
                c.item.as_str().into(),
                c.duty.as_str().into(),
                by.into(),
                status_text_cell(c.status, cuec_status(c)),
            ]
        })
        .collect();
    l.table(
        &Table {
            header: Some(&["item", "duty", "performed by", "status"]),
            widths: &[0.24, 0.47, 0.15, 0.14],
            size: 8.0,
            caption: Some("Complementary user entity controls"),
            grow: 1.35,
            ..Table::default()
        },
        &rows,
    );
}

/// Every waiver: the item, who asked and why, who agreed, and what became of it.
fn waivers(l: &mut Layout, r: &Report) {
    l.heading("Waivers", 12.0);
    if r.waivers.is_empty() {
        l.para("No waivers.", 9.0, false, BLACK);
        return;
    }
    l.para(
        "A waiver makes an item not applicable once a counterparty bound by the adoption acknowledges it; until then the item shows as waiver-pending.",
        8.0,
        false,
        GREY_TEXT,
    );
    l.gap(2.0);
    let rows: Vec<Vec<Cell>> = r
        .waivers
        .iter()
        .map(|w| {
            let colour = match w.state {
                "effective" => BLACK,
                "pending" => WARN,
                _ => STAMP,
            };
            let agreed = if w.agreed_by.is_empty() {
                "-".to_string()
            } else {
                w.agreed_by.join(", ")
            };
            vec![
                format!("#{}", w.seq).into(),
                w.item.as_str().into(),
                Cell::from(w.by.as_str())
                    .line(r.party_role(&w.by).unwrap_or("not registered"), NOTE),
                w.reason.as_str().into(),
                agreed.into(),
                Cell::styled(waiver_state_words(w), Style::coloured(colour)),
            ]
        })
        .collect();
    l.table(
        &Table {
            header: Some(&["waiver", "item", "asked by", "reason", "agreed by", "state"]),
            widths: &[0.08, 0.20, 0.13, 0.31, 0.12, 0.16],
            size: 8.0,
            caption: Some("Waivers"),
            grow: 1.35,
            ..Table::default()
        },
        &rows,
    );
}
