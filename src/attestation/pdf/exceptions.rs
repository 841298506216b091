//! The exceptions section: the duties not fulfilled, waived or informational, and the
//! complementary user entity controls (the customer's duties).

use super::labels::{dash, party_label};
use super::layout::Layout;
use super::style::BLACK;
use super::table::{Cell, Table, status_cell};
use crate::attestation::report::Report;

pub(super) fn exceptions(l: &mut Layout, r: &Report) {
    l.heading("Exceptions", 16.0);
    if r.exceptions.is_empty() {
        l.para(
            "None: every duty is fulfilled, waived or informational.",
            9.0,
            false,
            BLACK,
        );
    } else {
        let rows: Vec<Vec<Cell>> = r
            .exceptions
            .iter()
            .map(|e| {
                vec![
                    e.item.as_str().into(),
                    e.activity.as_str().into(),
                    party_label(&e.party, &e.role).into(),
                    e.role.as_str().into(),
                    status_cell(e.status),
                    dash(&e.detail).into(),
                ]
            })
            .collect();
        l.table(
            &Table {
                header: Some(&["item", "activity", "party", "role", "status", "detail"]),
                widths: &[0.17, 0.23, 0.11, 0.09, 0.12, 0.28],
                size: 7.5,
                caption: Some("Exceptions"),
                grow: 1.35,
                ..Table::default()
            },
            &rows,
        );
    }
    l.heading("Complementary user entity controls (customer duties)", 12.0);
    if r.cuecs.is_empty() {
        l.para(
            "The matrix gives the customer no duties.",
            9.0,
            false,
            BLACK,
        );
        return;
    }
    let rows: Vec<Vec<Cell>> = r
        .cuecs
        .iter()
        .map(|c| {
            vec![
                c.item.as_str().into(),
                c.duty.as_str().into(),
                status_cell(c.status),
            ]
        })
        .collect();
    l.table(
        &Table {
            header: Some(&["item", "customer duty", "status"]),
            widths: &[0.24, 0.60, 0.16],
            size: 8.0,
            caption: Some("Complementary user entity controls"),
            grow: 1.35,
            ..Table::default()
        },
        &rows,
    );
}
