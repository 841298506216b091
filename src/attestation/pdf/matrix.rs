//! The matrix section: every item of every section with its duties, one table per section,
//! the columns lined up throughout.

use super::labels::dash;
use super::layout::Layout;
use super::style::{NOTE, WIDTH};
use super::table::{Cell, Table, status_cell};
use crate::attestation::report::{Report, SectionRows};

fn matrix_rows(s: &SectionRows) -> Vec<Vec<Cell>> {
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for it in &s.items {
        let raci: Vec<String> = it.raci.iter().map(|(r, l)| format!("{r} {l}")).collect();
        for (k, d) in it.duties.iter().enumerate() {
            let ev: Vec<String> = d.evidence.iter().map(|s| format!("#{s}")).collect();
            rows.push(vec![
                it.id.as_str().into(),
                if k == 0 { it.activity.as_str() } else { "" }.into(),
                if k == 0 {
                    raci.join(", ")
                } else {
                    String::new()
                }
                .into(),
                Cell::from(if d.party.is_empty() {
                    "unbound"
                } else {
                    d.party.as_str()
                })
                .line(format!("({})", d.role), NOTE),
                status_cell(d.status),
                dash(&ev.join(" ")).into(),
                d.last_performed.as_deref().unwrap_or("-").into(),
            ]);
        }
    }
    rows
}

pub(super) fn matrix(l: &mut Layout, r: &Report) {
    l.heading("The matrix", 16.0);
    let header = [
        "item",
        "activity",
        "RACI",
        "party (role)",
        "status",
        "evidence",
        "last performed",
    ];
    let all: Vec<Vec<Vec<Cell>>> = r.sections.iter().map(matrix_rows).collect();
    // One set of column widths for every section, so that the columns line up throughout.
    let widths: Vec<f32> = l
        .fit(
            &Table {
                header: Some(&header),
                widths: &[0.16, 0.27, 0.12, 0.13, 0.13, 0.08, 0.11],
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
