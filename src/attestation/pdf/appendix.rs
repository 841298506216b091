//! The evidence appendix: the evidence entries counted for the duties it covers (every
//! duty, or the exceptions only: it says which), with outcome, co-signatures, signer,
//! note, fields and artefacts.

use super::labels::dash;
use super::layout::Layout;
use super::style::{BLACK, GREY_TEXT, NOTE, PLAIN, STAMP, Style, WARN};
use super::table::{Cell, Table};
use crate::attestation::report::Report;

/// A JSON field value as the appendix shows it: strings without quotes.
fn field_value(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

pub(super) fn appendix(l: &mut Layout, r: &Report) {
    l.heading("Evidence appendix", 16.0);
    l.para(
        &format!(
            "{} For each entry: its outcome and the entries that co-sign it, the note recorded with it, its fields, who signed it (party and the full fingerprint of the signing key, in grey) and its artefacts (name and full SHA-256, in grey).",
            r.appendix_scope()
        ),
        8.5,
        false,
        GREY_TEXT,
    );
    l.gap(3.0);
    if let Some(n) = &r.appendix_note {
        l.para(n, 8.5, false, GREY_TEXT);
        l.gap(4.0);
    }
    if r.appendix.is_empty() {
        l.para("No evidence entries listed.", 9.0, false, BLACK);
        return;
    }
    l.table(&appendix_table(), &appendix_rows(r));
}

pub(super) fn appendix_table() -> Table<'static> {
    Table {
        header: Some(&[
            "seq",
            "item / kind / outcome / co-signatures",
            "performed / recorded",
            "note / fields",
            "signed by (key fingerprint) / artefacts (SHA-256)",
        ]),
        widths: &[0.05, 0.17, 0.20, 0.25, 0.33],
        size: 8.0,
        caption: Some("Evidence appendix"),
        grow: 1.15,
        ..Table::default()
    }
}

/// One row per evidence entry; one field per line, as `key = value`.
pub(super) fn appendix_rows(r: &Report) -> Vec<Vec<Cell>> {
    r.appendix
        .iter()
        .map(|e| {
            let outcome = match e.outcome.as_str() {
                "fail" => STAMP,
                "partial" => WARN,
                _ => BLACK,
            };
            let mut item = Cell::from(e.item.as_str())
                .line(e.kind.as_str(), PLAIN)
                .line(e.outcome.as_str(), Style::coloured(outcome));
            // Co-signatures go with the outcome they accept or dispute.
            if !e.cosignatures.is_empty() {
                item = item.line("co-signed", NOTE);
            }
            for (seq, party, verdict) in &e.cosignatures {
                let colour = if verdict == "dispute" { STAMP } else { BLACK };
                item = item
                    .line(format!("#{seq} {}", dash(party)), PLAIN)
                    .after(verdict.as_str(), Style::coloured(colour));
            }
            let when = Cell::from(e.performed_at.as_str()).line(e.recorded_at.as_str(), NOTE);
            let mut fields = Cell::default();
            if let Some(note) = &e.note {
                fields = fields.hanging(format!("note: \u{201c}{note}\u{201d}"), PLAIN);
            }
            for (k, v) in &e.fields {
                fields = fields.hanging(format!("{k} = {}", field_value(v)), PLAIN);
            }
            if fields.spans.is_empty() {
                fields = Cell::from("-");
            }
            let mut who = Cell::from(dash(&e.party)).hex(e.signer.as_str(), NOTE);
            for (name, sha) in &e.artifacts {
                who = who.line(name.as_str(), PLAIN).hex(sha.as_str(), NOTE);
            }
            vec![format!("#{}", e.seq).into(), item, when, fields, who]
        })
        .collect()
}
