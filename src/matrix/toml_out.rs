//! Writing a matrix file in the style of the seed matrices (`schema/matrices/`): header,
//! roles, services, variants, then each section followed by its items, keys in the seeds'
//! order, optional keys left out when absent. The output parses back to an equal matrix.

use std::fmt::Write as _;

use super::{Item, Matrix, Ownership, RoleId};

/// The separator line the seeds put before each section.
const RULE: &str = "# ---------------------------------------------------------------------------";

/// A TOML basic string.
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An inline array of strings.
fn array(values: &[String]) -> String {
    let parts: Vec<String> = values.iter().map(|v| q(v)).collect();
    format!("[{}]", parts.join(", "))
}

fn line(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(out, "{key} = {value}");
}

fn opt(out: &mut String, key: &str, value: Option<&String>) {
    if let Some(v) = value {
        line(out, key, &q(v));
    }
}

pub(super) fn to_toml(m: &Matrix) -> String {
    let mut out = String::new();
    let h = &m.header;
    out.push_str("[matrix]\n");
    line(&mut out, "id", &q(&h.id));
    line(&mut out, "title", &q(&h.title));
    line(&mut out, "version", &q(&h.version));
    line(&mut out, "source", &q(&h.source));
    line(&mut out, "effective", &q(&h.effective.to_string()));
    opt(&mut out, "description", h.description.as_ref());

    for r in &m.roles {
        let _ = writeln!(out, "\n[roles.{}]", r.id.as_str());
        line(&mut out, "name", &q(&r.name));
    }
    for s in &m.services {
        out.push_str("\n[[services]]\n");
        line(&mut out, "id", &q(&s.id));
        line(&mut out, "name", &q(&s.name));
        opt(&mut out, "description", s.description.as_ref());
    }
    for v in &m.variants {
        out.push_str("\n[[variants]]\n");
        line(&mut out, "id", &q(&v.id));
        line(&mut out, "title", &q(&v.title));
        opt(&mut out, "description", v.description.as_ref());
    }

    // Each section followed by its items, when the items are in section order (as in
    // most seeds); otherwise all sections, then all items, so that item order is kept.
    let section_index = |item: &Item| m.sections.iter().position(|s| s.id == item.section);
    let grouped = m
        .items
        .windows(2)
        .all(|w| section_index(&w[0]) <= section_index(&w[1]))
        && m.items.iter().all(|i| section_index(i).is_some());
    let mut next = 0;
    for (si, s) in m.sections.iter().enumerate() {
        let _ = write!(out, "\n{RULE}\n[[sections]]\n");
        line(&mut out, "id", &q(&s.id));
        line(&mut out, "title", &q(&s.title));
        opt(&mut out, "service", s.service.as_ref());
        opt(&mut out, "description", s.description.as_ref());
        if grouped {
            while next < m.items.len() && section_index(&m.items[next]) == Some(si) {
                write_item(&mut out, &m.items[next]);
                next += 1;
            }
        }
    }
    for item in &m.items[next..] {
        write_item(&mut out, item);
    }
    out
}

fn role_table(entries: &[(RoleId, String)]) -> String {
    let parts: Vec<String> = entries
        .iter()
        .map(|(r, v)| format!("{} = {}", r.as_str(), q(v)))
        .collect();
    format!("{{ {} }}", parts.join(", "))
}

fn write_item(out: &mut String, i: &Item) {
    out.push_str("\n[[items]]\n");
    line(out, "id", &q(&i.id));
    line(out, "section", &q(&i.section));
    opt(out, "service", i.service.as_ref());
    opt(out, "variant", i.variant.as_ref());
    opt(out, "unless_variant", i.unless_variant.as_ref());
    line(out, "activity", &q(&i.activity));
    let raci: Vec<(RoleId, String)> = i
        .raci
        .iter()
        .filter(|(_, l)| !l.is_empty())
        .map(|(r, l)| (*r, l.to_string()))
        .collect();
    if !raci.is_empty() {
        line(out, "raci", &role_table(&raci));
    }
    let statements: Vec<(RoleId, String)> =
        i.statements.iter().map(|(r, s)| (*r, s.clone())).collect();
    if !statements.is_empty() {
        line(out, "statements", &role_table(&statements));
    }
    // Written when it overrides the derivation, and always when shared (as the seeds do).
    if i.ownership != i.derived_ownership() || i.ownership == Ownership::Shared {
        line(out, "ownership", &q(i.ownership.as_str()));
    }
    if let Some(c) = &i.cadence {
        line(out, "cadence", &q(&c.as_str()));
    }
    if i.grace_days != 0 {
        line(out, "grace_days", &i.grace_days.to_string());
    }
    if !i.evidence_kinds.is_empty() {
        line(out, "evidence_kinds", &array(&i.evidence_kinds));
    }
    if !i.refs.is_empty() {
        line(out, "refs", &array(&i.refs));
    }
    match i.notes.as_slice() {
        [] => {}
        [one] => line(out, "notes", &array(std::slice::from_ref(one))),
        many => {
            out.push_str("notes = [\n");
            for n in many {
                let _ = writeln!(out, "  {},", q(n));
            }
            out.push_str("]\n");
        }
    }
}
