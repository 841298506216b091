//! What changed between two versions of a matrix, item by item (item ids are stable, so
//! an id present in both is the same duty).

use std::fmt::Display;

use super::{Item, Matrix, RoleId};

/// How an item changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// Only in the new matrix.
    Added,
    /// Only in the old matrix.
    Removed,
    /// In both, with different content.
    Changed,
}

impl ChangeKind {
    /// `added`, `removed`, `changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        }
    }
}

/// One difference. `item` is empty for a change of the header (`[matrix]`, role names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Item id, or `""` for the header.
    pub item: String,
    /// Added, removed or changed.
    pub what: ChangeKind,
    /// For a change, what changed: `raci customer: RA -> R`, `cadence: quarterly -> monthly`.
    pub details: Vec<String>,
}

/// The differences from `old` to `new`: header changes first (one [`Change`] with item
/// `""`), then removed and changed items in the old order, then added items in the new
/// order.
pub fn diff(old: &Matrix, new: &Matrix) -> Vec<Change> {
    let mut out = Vec::new();
    let header = header_details(old, new);
    if !header.is_empty() {
        out.push(Change {
            item: String::new(),
            what: ChangeKind::Changed,
            details: header,
        });
    }
    for o in &old.items {
        match new.item(&o.id) {
            None => out.push(Change {
                item: o.id.clone(),
                what: ChangeKind::Removed,
                details: Vec::new(),
            }),
            Some(n) => {
                let details = item_details(o, n);
                if !details.is_empty() {
                    out.push(Change {
                        item: o.id.clone(),
                        what: ChangeKind::Changed,
                        details,
                    });
                }
            }
        }
    }
    for n in &new.items {
        if old.item(&n.id).is_none() {
            out.push(Change {
                item: n.id.clone(),
                what: ChangeKind::Added,
                details: Vec::new(),
            });
        }
    }
    out
}

fn scalar<T: PartialEq + Display>(out: &mut Vec<String>, what: &str, old: T, new: T) {
    if old != new {
        out.push(format!("{what}: {old} -> {new}"));
    }
}

fn text(out: &mut Vec<String>, what: &str, old: Option<&str>, new: Option<&str>) {
    if old != new {
        let show = |s: Option<&str>| s.map_or_else(|| "none".to_string(), |s| format!("{s:?}"));
        out.push(format!("{what}: {} -> {}", show(old), show(new)));
    }
}

fn or_none(s: Option<&str>) -> &str {
    s.unwrap_or("none")
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

fn header_details(old: &Matrix, new: &Matrix) -> Vec<String> {
    let (o, n) = (&old.header, &new.header);
    let mut out = Vec::new();
    scalar(&mut out, "id", &o.id, &n.id);
    scalar(&mut out, "version", &o.version, &n.version);
    scalar(&mut out, "effective", o.effective, n.effective);
    text(&mut out, "title", Some(&o.title), Some(&n.title));
    text(&mut out, "source", Some(&o.source), Some(&n.source));
    if o.description != n.description {
        out.push("description: changed".to_string());
    }
    for role in RoleId::ALL {
        text(
            &mut out,
            &format!("role {role}"),
            old.role_name(role),
            new.role_name(role),
        );
    }
    out
}

fn item_details(o: &Item, n: &Item) -> Vec<String> {
    let mut out = Vec::new();
    scalar(&mut out, "section", &o.section, &n.section);
    scalar(
        &mut out,
        "service",
        or_none(o.service.as_deref()),
        or_none(n.service.as_deref()),
    );
    text(&mut out, "activity", Some(&o.activity), Some(&n.activity));
    for role in RoleId::ALL {
        let letters = |i: &Item| {
            i.raci
                .get(&role)
                .filter(|l| !l.is_empty())
                .map_or_else(|| "none".to_string(), ToString::to_string)
        };
        scalar(&mut out, &format!("raci {role}"), letters(o), letters(n));
    }
    for role in RoleId::ALL {
        text(
            &mut out,
            &format!("statement {role}"),
            o.statements.get(&role).map(String::as_str),
            n.statements.get(&role).map(String::as_str),
        );
    }
    scalar(&mut out, "ownership", o.ownership, n.ownership);
    let cadence = |i: &Item| {
        i.cadence
            .map_or_else(|| "none".to_string(), |c| c.as_str().into_owned())
    };
    scalar(&mut out, "cadence", cadence(o), cadence(n));
    scalar(&mut out, "grace_days", o.grace_days, n.grace_days);
    scalar(
        &mut out,
        "evidence_kinds",
        list(&o.evidence_kinds),
        list(&n.evidence_kinds),
    );
    scalar(&mut out, "refs", list(&o.refs), list(&n.refs));
    if o.notes != n.notes {
        out.push(format!(
            "notes: changed ({} -> {} notes)",
            o.notes.len(),
            n.notes.len()
        ));
    }
    scalar(
        &mut out,
        "variant",
        or_none(o.variant.as_deref()),
        or_none(n.variant.as_deref()),
    );
    scalar(
        &mut out,
        "unless_variant",
        or_none(o.unless_variant.as_deref()),
        or_none(n.unless_variant.as_deref()),
    );
    out
}
