//! The sign-off section: who signed the attestation (`schema/FORMAT.md` §11) and whether
//! the signed digest matches, then each signature in full.

use super::labels::party_cell;
use super::layout::Layout;
use super::style::{
    BLACK, GOOD, GREY_TEXT, MARGIN_X, NOTE, PLAIN, Rgb3, STAMP, Style, WARN, WIDTH,
};
use super::table::{Cell, Table};
use super::text::hex_lines;
use crate::attestation::report::Report;

/// The state of a sign-off: its words and colour.
fn signoff_state(s: &crate::attestation::attest::Signoff) -> (String, Rgb3) {
    if s.matches {
        ("matches this attestation".to_string(), GOOD)
    } else if s.valid {
        (
            format!("valid at its head {} (an earlier statement)", s.head),
            WARN,
        )
    } else {
        (format!("does NOT match (signed at head {})", s.head), STAMP)
    }
}

pub(super) fn signoff(l: &mut Layout, r: &Report) {
    l.heading("Sign-off", 16.0);
    l.para(
        "Each party bound in the adoption, and any other party that signed: the sign-off entry, the fingerprint of the key it was signed with, the attestation digest it signs and the ledger head that digest was computed at.",
        8.5,
        false,
        GREY_TEXT,
    );
    l.gap(3.0);
    let rows = signoff_rows(r);
    if rows.is_empty() {
        l.para("Not signed.", 10.0, false, BLACK);
        return;
    }
    l.table(&signoff_table(), &rows);
    if r.signoffs.is_empty() {
        return;
    }
    signatures(l, r);
}

fn signoff_table() -> Table<'static> {
    Table {
        header: Some(&[
            "party",
            "role",
            "sign-off entry",
            "key fingerprint / digest signed",
            "computed at head",
            "state",
        ]),
        widths: &[0.17, 0.09, 0.13, 0.33, 0.09, 0.19],
        size: 8.0,
        caption: Some("Sign-off"),
        grow: 1.3,
        ..Table::default()
    }
}

/// One row per sign-off of each party bound in the adoption (in report order; "not
/// signed" when it has none) and of any other party that signed.
pub(super) fn signoff_rows(r: &Report) -> Vec<Vec<Cell>> {
    let mut ids: Vec<&str> = r
        .parties
        .iter()
        .filter(|p| p.bound_as.is_some())
        .map(|p| p.id.as_str())
        .collect();
    for s in &r.signoffs {
        if !ids.contains(&s.party.as_str()) {
            ids.push(&s.party);
        }
    }
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for id in &ids {
        let party = r.parties.iter().find(|p| p.id == *id);
        let role = party.map_or("-", |p| p.bound_as.as_deref().unwrap_or(&p.role));
        let role = match party {
            Some(p) if p.bound_as.is_none() => Cell::from(role).line("not bound", NOTE),
            _ => Cell::from(role),
        };
        let mut signed = r.signoffs.iter().filter(|s| s.party == *id).peekable();
        if signed.peek().is_none() {
            rows.push(vec![
                party_cell(r, id),
                role,
                "-".into(),
                "-".into(),
                "-".into(),
                Cell::styled("not signed", Style::coloured(WARN)),
            ]);
            continue;
        }
        for s in signed {
            let (state, colour) = signoff_state(s);
            let who = match &s.signatory {
                Some(name) => party_cell(r, id).line(format!("signed by {name}"), NOTE),
                None => party_cell(r, id),
            };
            rows.push(vec![
                who,
                role.clone(),
                Cell::from(format!("#{}", s.seq)).line(s.time.as_str(), NOTE),
                Cell::default()
                    .hex(s.fingerprint.as_str(), PLAIN)
                    .hex(s.digest.as_str(), NOTE),
                format!("entry {}", s.head).into(),
                Cell::styled(state, Style::coloured(colour)),
            ]);
        }
    }
    rows
}

/// Each sign-off's key, digest and signature in full.
fn signatures(l: &mut Layout, r: &Report) {
    l.heading("Signatures", 11.5);
    l.para(
        "The Ed25519 signature of each sign-off entry, whose payload carries the digest it signs; vouch verify checks each one against the signing key.",
        8.0,
        false,
        GREY_TEXT,
    );
    l.gap(2.0);
    let size = 8.0;
    let lh = size * 1.3;
    let key_x = MARGIN_X + 10.0;
    let value_x = key_x + 42.0;
    let value_w = MARGIN_X + WIDTH - value_x;
    for s in &r.signoffs {
        let who = r
            .parties
            .iter()
            .find(|p| p.id == s.party)
            .map_or(s.party.clone(), |p| format!("{} ({})", p.name, p.id));
        let who = match &s.signatory {
            Some(name) => format!("signed by {name} for {who}"),
            None => who,
        };
        let label = format!("{who} — sign-off entry #{}, {}", s.seq, s.time);
        let label_lines = l.m.wrap(&label, 8.0, WIDTH);
        let body: Vec<(&str, Vec<String>)> = [
            ("key", &s.fingerprint),
            ("digest", &s.digest),
            ("signature", &s.signature),
        ]
        .into_iter()
        .map(|(k, v)| (k, hex_lines(&l.m, v, size, value_w)))
        .collect();
        let n: usize = body.iter().map(|(_, v)| v.len()).sum();
        // A signature block never splits over a page break.
        l.ensure(label_lines.len() as f32 * 8.0 * 1.3 + n as f32 * lh + 6.0);
        for line in label_lines {
            l.y -= 8.0 * 1.3;
            l.text_at(MARGIN_X, l.y + 2.0, 8.0, true, BLACK, &line);
        }
        for (k, lines) in body {
            for (i, line) in lines.iter().enumerate() {
                l.y -= lh;
                if i == 0 {
                    l.text_at(key_x, l.y + 1.8, size, false, GREY_TEXT, k);
                }
                l.text_at(value_x, l.y + 1.8, size, false, BLACK, line);
            }
        }
        l.gap(6.0);
    }
}
