//! The matrix section: every item of every section with its duties, one table per section,
//! the columns lined up throughout. An item's id, activity (with its control references)
//! and RACI span the rows of its duties; each duty row shows the party, the role's duty
//! statement, who performed a delegated duty, and the duty's flags in short words under its
//! status.

use super::labels::dash;
use super::layout::Layout;
use super::style::{GREY_TEXT, NOTE, PLAIN, WIDTH};
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

/// One row per duty; an item's second and further duties go on under its first, the id,
/// activity and RACI cells spanning them (`cont` says which rows go on so).
fn matrix_rows(r: &Report, s: &SectionRows) -> (Vec<Vec<Cell>>, Vec<bool>) {
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut cont = Vec::new();
    for it in &s.items {
        // One role a line: "customer RA" never breaks between role and letters.
        let raci = it.raci.iter().fold(Cell::default(), |c, (r, l)| {
            c.line(format!("{r} {l}"), PLAIN)
        });
        let activity = it
            .refs
            .iter()
            .fold(Cell::from(it.activity.as_str()), |c, r| {
                c.line(r.as_str(), NOTE)
            });
        for (k, d) in it.duties.iter().enumerate() {
            let ev: Vec<String> = d.duty.evidence.iter().map(|s| format!("#{s}")).collect();
            let mut party = duty_party_cell(r, d);
            if let Some(st) = &d.statement {
                party = party.line(st.as_str(), NOTE);
            }
            // Drawn only when this duty starts a page: what it goes on with.
            let (id, activity, raci) = if k == 0 {
                (Cell::from(it.id.as_str()), activity.clone(), raci.clone())
            } else {
                (
                    Cell::from(it.id.as_str()).line("(continued)", NOTE),
                    Cell::from(it.activity.as_str()),
                    Cell::default(),
                )
            };
            rows.push(vec![
                id,
                activity,
                raci,
                party,
                duty_status_cell(d),
                dash(&ev.join(" ")).into(),
                d.duty.last_performed.as_deref().unwrap_or("-").into(),
            ]);
            cont.push(k > 0);
        }
    }
    (rows, cont)
}

pub(super) fn matrix(l: &mut Layout, r: &Report) {
    l.heading("The matrix", 16.0);
    l.para(
        "One row per duty: an item with more than one duty holder shows each duty under the item. Under the activity, the matrix's control references; under each party, its duty statement.",
        8.5,
        false,
        GREY_TEXT,
    );
    let header = [
        "item",
        "activity / control references",
        "RACI",
        "party (role) / duty statement",
        "status / flags",
        "evidence",
        "last performed",
    ];
    let all: Vec<(Vec<Vec<Cell>>, Vec<bool>)> =
        r.sections.iter().map(|s| matrix_rows(r, s)).collect();
    let every: Vec<Vec<Cell>> = all.iter().flat_map(|(rows, _)| rows.clone()).collect();
    // One set of column widths for every section, so that the columns line up throughout.
    let widths: Vec<f32> = l
        .fit(
            &Table {
                header: Some(&header),
                widths: &[0.16, 0.18, 0.13, 0.22, 0.12, 0.09, 0.10],
                size: 8.0,
                grow: 1.35,
                ..Table::default()
            },
            &every,
        )
        .iter()
        .map(|w| w / WIDTH)
        .collect();
    for (s, (rows, cont)) in r.sections.iter().zip(&all) {
        l.heading_id(&s.title, &s.id, 11.5);
        let caption = format!("{} ({})", s.title, s.id);
        l.table(
            &Table {
                header: Some(&header),
                widths: &widths,
                size: 8.0,
                caption: Some(&caption),
                cont,
                span: 3,
                ..Table::default()
            },
            rows,
        );
    }
}
