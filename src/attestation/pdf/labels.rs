//! How the report's values are spelled in the PDF: shortened hashes and key ids, a dash for
//! nothing, party and period labels.

use super::style::NOTE;
use super::table::Cell;
use crate::attestation::report::Report;

/// The first `n` characters of a hash or fingerprint, with an ellipsis when cut.
pub(super) fn short(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        let head: String = s.chars().take(n).collect();
        format!("{head}…")
    } else {
        s.to_string()
    }
}

pub(super) fn dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

/// The party label of a duty: the bound party; the role and "not bound" when the role is
/// not bound; a dash when the duty has no holder (an item that applies to nobody).
pub(super) fn party_label(party: &str, role: &str) -> String {
    match (party.is_empty(), role.is_empty()) {
        (false, _) => party.to_string(),
        (true, false) => format!("{role} (not bound)"),
        (true, true) => "-".to_string(),
    }
}

/// "2026-Q3 (2026-07-01 to 2026-09-30)".
pub(super) fn period_label(r: &Report) -> String {
    format!("{} ({} to {})", r.period.name(), r.period.from, r.period.to)
}

/// A party as "Display Name (id)", or the id alone when the report does not know it (the
/// one naming of parties in the summary table, the grid and the sign-off table).
pub(super) fn party_cell(r: &Report, id: &str) -> Cell {
    match r.parties.iter().find(|p| p.id == id) {
        Some(p) if !p.name.is_empty() && p.name != p.id => {
            Cell::from(p.name.as_str()).after(format!("({id})"), NOTE)
        }
        _ => Cell::from(dash(id)),
    }
}
