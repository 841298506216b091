//! The matrix section: every item of every section with its duties, one table per section,
//! the columns lined up throughout. Each duty row shows the role's duty statement, who
//! performed a delegated duty, and the duty's flags in short words under its status.

use super::labels::dash;
use super::layout::Layout;
use super::style::{NOTE, PLAIN, WIDTH};
use super::table::{Cell, Table, status_text_cell};
use crate::attestation::report::{DutyRow, Report, SectionRows, flag_words, status_words};

/// The party cell of a duty: the party and its role, or "not bound"; and who performed it
/// when a delegate did.
pub(super) fn duty_party_cell(r: &Report, d: &DutyRow) -> Cell {
    let duty = &d.duty;
    let cell = match (duty.party.is_empty(), duty.role.is_empty()) {
        (false, _) => Cell::from(duty.party.as_str()).after(format!("({})", duty.role), NOTE),
        (true, false) => Cell::from("not bound").after(format!("({})", duty.role), NOTE),
        (true, true) => Cell::from("-"),
    };
    match r.performed_by_words(&d.performed_by) {
        Some(words) => cell.line(words, PLAIN),
        None => cell,
    }
}

/// The status cell of a duty: its status in words (`due by 2026-12-31`), and its flags in
/// short words below.
pub(super) fn duty_status_cell(d: &DutyRow) -> Cell {
    let mut cell = status_text_cell(d.duty.status, status_words(&d.duty));
    for f in flag_words(&d.duty.flags) {
        cell = cell.line(f, NOTE);
    }
    cell
}

fn matrix_rows(r: &Report, s: &SectionRows) -> Vec<Vec<Cell>> {
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for it in &s.items {
        // One role a line: "customer RA" never breaks between role and letters.
        let raci = it.raci.iter().fold(Cell::default(), |c, (r, l)| {
            c.line(format!("{r} {l}"), PLAIN)
        });
        for (k, d) in it.duties.iter().enumerate() {
            let ev: Vec<String> = d.duty.evidence.iter().map(|s| format!("#{s}")).collect();
            let mut activity = Cell::from(if k == 0 { it.activity.as_str() } else { "" });
            if let Some(st) = &d.statement {
                activity = activity.line(format!("{}: {st}", d.duty.role), NOTE);
            }
            rows.push(vec![
                it.id.as_str().into(),
                activity,
                if k == 0 {
                    raci.clone()
                } else {
                    Cell::default()
                },
                duty_party_cell(r, d),
                duty_status_cell(d),
                dash(&ev.join(" ")).into(),
                d.duty.last_performed.as_deref().unwrap_or("-").into(),
            ]);
        }
    }
    rows
}

pub(super) fn matrix(l: &mut Layout, r: &Report) {
    l.heading("The matrix", 16.0);
    let header = [
        "item",
        "activity / duty statement",
        "RACI",
        "party (role)",
        "status / flags",
        "evidence",
        "last performed",
    ];
    let all: Vec<Vec<Vec<Cell>>> = r.sections.iter().map(|s| matrix_rows(r, s)).collect();
    // One set of column widths for every section, so that the columns line up throughout.
    let widths: Vec<f32> = l
        .fit(
            &Table {
                header: Some(&header),
                widths: &[0.17, 0.24, 0.12, 0.14, 0.14, 0.08, 0.11],
                size: 7.5,
                grow: 1.35,
                ..Table::default()
            },
            &all.concat(),
        )
        .iter()
        .map(|w| w / WIDTH)
        .collect();
    for (s, rows) in r.sections.iter().zip(&all) {
        l.heading_id(&s.title, &s.id, 11.5);
        let caption = format!("{} ({})", s.title, s.id);
        l.table(
            &Table {
                header: Some(&header),
                widths: &widths,
                size: 7.5,
                caption: Some(&caption),
                ..Table::default()
            },
            rows,
        );
    }
}
