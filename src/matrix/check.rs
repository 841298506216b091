//! The rules of MATRIX.md that do not depend on where a matrix came from.
//!
//! A matrix is read from TOML (`toml_in`) or from CSV plus a header (`csv_io`). Both turn
//! their input into [`RawItem`]s whose values carry a [`Loc`] (`file:line:column` for TOML,
//! `file:line: column NAME` for CSV), and [`build_items`] checks them in one place, so the
//! two forms cannot drift apart. Errors are collected in [`Errs`] and the first one in
//! file order is reported.

use std::collections::{BTreeMap, HashMap};

use super::kinds::Registry;
use super::{Cadence, Item, Letters, Ownership, RoleId, Section};
use crate::error::{Error, Result};

/// Where a value is, for messages and for ordering errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Loc {
    /// Sort key: (file index, line or byte offset, column).
    pub order: (usize, usize, usize),
    /// Line number (1-based), for "first at line N".
    pub line: usize,
    /// Rendered prefix of messages (`m.toml:12:9`).
    pub text: String,
}

/// A value and where it is.
#[derive(Debug, Clone)]
pub(super) struct At<T> {
    pub v: T,
    pub at: Loc,
}

impl<T> At<T> {
    pub fn new(v: T, at: Loc) -> Self {
        Self { v, at }
    }
}

/// Errors found so far; the first in file order wins.
#[derive(Default)]
pub(super) struct Errs(Vec<((usize, usize, usize), Error)>);

impl Errs {
    /// Record an error at `at`.
    pub fn push(&mut self, at: &Loc, message: impl Into<String>, hint: impl Into<String>) {
        let e = Error::new(message).hint(hint).context(&at.text);
        self.0.push((at.order, e));
    }

    /// Whether no error was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first error in file order, or `fallback` if none was recorded.
    pub fn fail(self, fallback: impl FnOnce() -> Error) -> Error {
        match self.finish(()) {
            Err(e) => e,
            Ok(()) => fallback(),
        }
    }

    /// Every error, in file order (for reporting them all at once).
    pub fn all(mut self) -> Vec<Error> {
        self.0.sort_by_key(|(order, _)| *order);
        self.0.into_iter().map(|(_, e)| e).collect()
    }

    /// `Ok(value)`, or the first error in file order.
    pub fn finish<T>(self, value: T) -> Result<T> {
        match self.0.into_iter().min_by_key(|(order, _)| *order) {
            Some((_, e)) => Err(e),
            None => Ok(value),
        }
    }
}

/// Hint for an identifier that does not match the pattern.
pub(super) const IDENT_HINT: &str =
    "ids use lowercase letters, digits and '-', starting with a letter or digit (e.g. backup)";
/// Hint for an item id that does not match the pattern.
pub(super) const ITEM_ID_HINT: &str = "item ids use lowercase letters, digits, '.' and '-', starting with a letter or digit (e.g. backup.restore-tests)";
/// Hint for letters.
const LETTERS_HINT: &str =
    "letters are R, A, C and I, each at most once per role (e.g. \"RA\"); \"\" for none";
/// Hint for cadence.
pub(super) const CADENCE_HINT: &str = "cadence is monthly, quarterly, yearly, on-event, or an ISO 8601 duration of years, months, weeks or days such as P6M, P1Y, P2W, P14D";
/// Hint for roles.
pub(super) const ROLES_HINT: &str = "roles are provider, customer, third-party";

/// `[a-z0-9][a-z0-9-]*`: matrix, service, variant and section ids.
pub(super) fn is_ident(s: &str) -> bool {
    s.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `[a-z0-9][a-z0-9.-]*`: item ids.
pub(super) fn is_item_id(s: &str) -> bool {
    s.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

/// A list for hints: `a, b, c`.
pub(super) fn list(items: &[&str]) -> String {
    items.join(", ")
}

/// Parse RACI letters; the error says what is wrong.
pub(super) fn parse_letters(s: &str) -> std::result::Result<Letters, String> {
    let mut l = Letters::default();
    for c in s.chars() {
        let slot = match c {
            'R' => &mut l.r,
            'A' => &mut l.a,
            'C' => &mut l.c,
            'I' => &mut l.i,
            _ => return Err(format!("unknown letter {c:?} in {s:?}")),
        };
        if *slot {
            return Err(format!("letter {c} is repeated in {s:?}"));
        }
        *slot = true;
    }
    Ok(l)
}

/// Parse a canonical ISO 8601 duration of years, months, weeks and days: `P` then
/// `nY`, `nM`, `nW`, `nD` in that order, each at most once, no zero component, no leading
/// zero, and a whole window that fits in u32 months and u32 days.
pub(super) fn parse_duration(s: &str) -> Option<Cadence> {
    let mut rest = s.strip_prefix('P')?;
    let mut parts = [0u32; 4];
    let mut next_unit = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || rest.starts_with('0') {
            return None;
        }
        let n: u32 = rest[..digits].parse().ok()?;
        let unit = rest[digits..].chars().next()?;
        let idx = ['Y', 'M', 'W', 'D'].iter().position(|u| *u == unit)?;
        if idx < next_unit {
            return None;
        }
        parts[idx] = n;
        next_unit = idx + 1;
        rest = &rest[digits + 1..];
    }
    let [years, months, weeks, days] = parts;
    years.checked_mul(12)?.checked_add(months)?;
    weeks.checked_mul(7)?.checked_add(days)?;
    Some(Cadence::Every {
        years,
        months,
        weeks,
        days,
    })
}

/// Whether an evidence kind is declared in the built-in registry.
fn known_kind(registry: &Registry, name: &str) -> bool {
    registry.get(name).is_some()
}

/// One `[[items]]` table or CSV row, not yet checked.
#[derive(Debug, Clone)]
pub(super) struct RawItem {
    /// The table header or the row (no item-wide error uses it since an item may apply to
    /// nobody; kept for the readers that set it).
    #[allow(dead_code)]
    pub at: Loc,
    pub id: Option<At<String>>,
    pub section: Option<At<String>>,
    pub service: Option<At<String>>,
    pub activity: Option<At<String>>,
    /// (role, letters); the role's location is where the role is named.
    pub raci: Vec<(At<RoleId>, At<String>)>,
    pub statements: Vec<(At<RoleId>, At<String>)>,
    pub ownership: Option<At<String>>,
    pub cadence: Option<At<String>>,
    pub grace_days: Option<At<i64>>,
    pub evidence_kinds: Vec<At<String>>,
    pub refs: Vec<At<String>>,
    pub notes: Vec<At<String>>,
    pub variant: Option<At<String>>,
    pub unless_variant: Option<At<String>>,
}

impl RawItem {
    pub fn new(at: Loc) -> Self {
        Self {
            at,
            id: None,
            section: None,
            service: None,
            activity: None,
            raci: Vec::new(),
            statements: Vec::new(),
            ownership: None,
            cadence: None,
            grace_days: None,
            evidence_kinds: Vec::new(),
            refs: Vec::new(),
            notes: Vec::new(),
            variant: None,
            unless_variant: None,
        }
    }
}

/// What items may refer to, and the file that should hold them (named when it has none).
pub(super) struct Decls<'a> {
    pub origin: &'a str,
    pub roles: Vec<RoleId>,
    pub sections: &'a [Section],
    pub services: Vec<&'a str>,
    pub variants: Vec<&'a str>,
}

fn unknown_ref_hint(kind: &str, table: &str, known: &[&str]) -> String {
    if known.is_empty() {
        format!(
            "this matrix declares no {kind}s: add a [[{table}]] table with that id, or remove the reference"
        )
    } else {
        format!("{kind}s are {}", list(known))
    }
}

/// Check that a referenced id is declared.
pub(super) fn check_ref(
    r: &At<String>,
    kind: &str,
    table: &str,
    known: &[&str],
    errs: &mut Errs,
) -> bool {
    if known.contains(&r.v.as_str()) {
        return true;
    }
    errs.push(
        &r.at,
        format!("unknown {kind} {:?}", r.v),
        unknown_ref_hint(kind, table, known),
    );
    false
}

/// Check that a role used by an item is declared.
fn check_role(role: &At<RoleId>, decls: &Decls<'_>, errs: &mut Errs) -> bool {
    if decls.roles.contains(&role.v) {
        return true;
    }
    let declared: Vec<&str> = decls.roles.iter().map(|r| r.as_str()).collect();
    errs.push(
        &role.at,
        format!("role {:?} is not declared", role.v.as_str()),
        format!(
            "declare it with [roles.{}] name = \"…\", or use a declared role: {}",
            role.v.as_str(),
            list(&declared)
        ),
    );
    false
}

/// Check a list of strings for empty entries.
fn non_empty_strings(values: &[At<String>], key: &str, errs: &mut Errs) -> Vec<String> {
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        if v.v.trim().is_empty() {
            errs.push(
                &v.at,
                format!("empty entry in {key}"),
                "remove the empty string",
            );
        }
        out.push(v.v.clone());
    }
    out
}

/// Check raw items against the declarations; returns the items (meaningful only when no
/// error was recorded).
pub(super) fn build_items(raws: Vec<RawItem>, decls: &Decls<'_>, errs: &mut Errs) -> Vec<Item> {
    let registry = match Registry::builtin() {
        Ok(r) => Some(r),
        Err(e) => {
            // Reported once, before anything in the file.
            let at = Loc {
                order: (0, 0, 0),
                line: 0,
                text: String::new(),
            };
            errs.0.push((at.order, e));
            None
        }
    };
    let section_ids: Vec<&str> = decls.sections.iter().map(|s| s.id.as_str()).collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    if raws.is_empty() {
        // After every other error of the file.
        let at = Loc {
            order: (usize::MAX, usize::MAX, usize::MAX),
            line: 0,
            text: decls.origin.to_string(),
        };
        errs.push(
            &at,
            "the matrix has no items",
            "a matrix lists at least one duty: add [[items]] tables (or CSV rows); see schema/MATRIX.md",
        );
    }
    let mut items = Vec::with_capacity(raws.len());
    for raw in raws {
        if let Some(item) = build_item(raw, decls, &section_ids, registry, &mut seen, errs) {
            items.push(item);
        }
    }
    items
}

/// Check one raw item, one rule after the other in MATRIX.md's order.
fn build_item(
    raw: RawItem,
    decls: &Decls<'_>,
    section_ids: &[&str],
    registry: Option<&Registry>,
    seen: &mut HashMap<String, usize>,
    errs: &mut Errs,
) -> Option<Item> {
    // Required keys: their absence was reported by the reader.
    let (id, section, activity) = (raw.id?, raw.section?, raw.activity?);
    check_item_id(&id, seen, errs);
    let service = item_service(&section, raw.service.as_ref(), decls, section_ids, errs);
    if activity.v.trim().is_empty() {
        errs.push(
            &activity.at,
            format!("item {:?} has an empty activity", id.v),
            "give the activity in the source's words",
        );
    }

    let raci = check_raci(&raw.raci, &id.v, decls, errs);
    // An item whose every role is N/A applies to nobody: it is kept, and its status is
    // not-applicable (MATRIX.md, "Not applicable").
    let statements = check_statements(&raw.statements, decls, errs);

    let ownership = check_ownership(raw.ownership.as_ref(), errs);
    let cadence = check_cadence(raw.cadence.as_ref(), errs);
    let grace_days = check_grace_days(raw.grace_days.as_ref(), errs);
    if let Some(registry) = registry {
        check_evidence_kinds(&raw.evidence_kinds, registry, errs);
    }
    let evidence_kinds = raw.evidence_kinds.iter().map(|k| k.v.clone()).collect();
    let refs = non_empty_strings(&raw.refs, "refs", errs);
    let notes = non_empty_strings(&raw.notes, "notes", errs);
    check_variants(
        raw.variant.as_ref(),
        raw.unless_variant.as_ref(),
        &id.v,
        decls,
        errs,
    );

    let mut item = Item {
        id: id.v,
        section: section.v,
        service,
        activity: activity.v,
        raci,
        statements,
        ownership: Ownership::NotApplicable,
        cadence,
        grace_days,
        evidence_kinds,
        refs,
        notes,
        variant: raw.variant.map(|v| v.v),
        unless_variant: raw.unless_variant.map(|v| v.v),
    };
    item.ownership = ownership.unwrap_or_else(|| item.derived_ownership());
    Some(item)
}

/// The item id: its pattern, and unique within the matrix (`seen` maps ids to lines).
fn check_item_id(id: &At<String>, seen: &mut HashMap<String, usize>, errs: &mut Errs) {
    if !is_item_id(&id.v) {
        errs.push(&id.at, format!("invalid item id {:?}", id.v), ITEM_ID_HINT);
    }
    if let Some(first) = seen.get(&id.v) {
        errs.push(
            &id.at,
            format!("duplicate item id {:?} (first at line {first})", id.v),
            "item ids are unique within a matrix; rename one of them",
        );
    } else {
        seen.insert(id.v.clone(), id.at.line);
    }
}

/// Check the item's section is declared; its service is its own or else its section's.
fn item_service(
    section: &At<String>,
    service: Option<&At<String>>,
    decls: &Decls<'_>,
    section_ids: &[&str],
    errs: &mut Errs,
) -> Option<String> {
    let sec = decls.sections.iter().find(|s| s.id == section.v);
    if sec.is_none() {
        check_ref(section, "section", "sections", section_ids, errs);
    }
    match service {
        Some(s) => {
            check_ref(s, "service", "services", &decls.services, errs);
            Some(s.v.clone())
        }
        None => sec.and_then(|s| s.service.clone()),
    }
}

/// The roles' RACI letters: declared roles, valid letters, at most one A.
fn check_raci(
    raw: &[(At<RoleId>, At<String>)],
    id: &str,
    decls: &Decls<'_>,
    errs: &mut Errs,
) -> BTreeMap<RoleId, Letters> {
    let mut raci = BTreeMap::new();
    let mut accountable: Option<RoleId> = None;
    for (role, letters) in raw {
        check_role(role, decls, errs);
        if crate::matrix::is_not_applicable(&letters.v) {
            continue;
        }
        match parse_letters(&letters.v) {
            Err(what) => errs.push(
                &letters.at,
                format!("raci {}: {what}", role.v),
                LETTERS_HINT,
            ),
            Ok(l) if l.is_empty() => {}
            Ok(l) => {
                if l.a {
                    if let Some(first) = accountable {
                        errs.push(
                            &letters.at,
                            format!(
                                "item {id:?} has two accountable roles: {first} and {}",
                                role.v
                            ),
                            "at most one role holds A; keep the A of the role that approves",
                        );
                    } else {
                        accountable = Some(role.v);
                    }
                }
                raci.insert(role.v, l);
            }
        }
    }
    raci
}

/// The roles' statements: declared roles; a statement that says "no duty" (`N/A`, `-`,
/// empty: [`crate::matrix::is_not_applicable`]) omits its role.
fn check_statements(
    raw: &[(At<RoleId>, At<String>)],
    decls: &Decls<'_>,
    errs: &mut Errs,
) -> BTreeMap<RoleId, String> {
    let mut statements = BTreeMap::new();
    for (role, text) in raw {
        check_role(role, decls, errs);
        if crate::matrix::is_not_applicable(&text.v) {
            continue;
        }
        statements.insert(role.v, text.v.clone());
    }
    statements
}

/// The declared ownership, if given (derived later when absent).
fn check_ownership(ownership: Option<&At<String>>, errs: &mut Errs) -> Option<Ownership> {
    match ownership {
        None => None,
        Some(o) => {
            let parsed = Ownership::parse(&o.v);
            if parsed.is_none() {
                errs.push(
                    &o.at,
                    format!("unknown ownership {:?}", o.v),
                    "ownership is provider, customer, shared, third-party or not-applicable (derived when absent)",
                );
            }
            parsed
        }
    }
}

/// The cadence, if given.
fn check_cadence(cadence: Option<&At<String>>, errs: &mut Errs) -> Option<Cadence> {
    match cadence {
        None => None,
        Some(c) => {
            let parsed = Cadence::parse(&c.v);
            match parsed.as_ref().and_then(Cadence::step) {
                None if parsed.is_none() => {
                    errs.push(&c.at, format!("bad cadence {:?}", c.v), CADENCE_HINT);
                }
                Some((months, days)) if months > 0 && days > 0 => errs.push(
                    &c.at,
                    format!("cadence {:?} mixes months and days", c.v),
                    "windows follow the calendar (months, quarters, years; or weeks and days): give months (P6M, P1Y) or weeks and days (P2W, P10D), not both",
                ),
                _ => {}
            }
            parsed
        }
    }
}

/// Grace days, 0 to 366; 0 when absent.
fn check_grace_days(grace_days: Option<&At<i64>>, errs: &mut Errs) -> u32 {
    match grace_days {
        None => 0,
        Some(g) => match u32::try_from(g.v) {
            Ok(d) if d <= 366 => d,
            _ => {
                errs.push(
                    &g.at,
                    format!("grace_days {} is out of range", g.v),
                    "grace_days is a whole number of days from 0 to 366",
                );
                0
            }
        },
    }
}

/// Every evidence kind is declared in the registry.
fn check_evidence_kinds(kinds: &[At<String>], registry: &Registry, errs: &mut Errs) {
    for k in kinds {
        if !known_kind(registry, &k.v) {
            errs.push(
                &k.at,
                format!("unknown evidence kind {:?}", k.v),
                format!("known kinds are {}", list(&registry.names())),
            );
        }
    }
}

/// `variant` and `unless_variant` name declared variants, and not the same one.
fn check_variants(
    variant: Option<&At<String>>,
    unless_variant: Option<&At<String>>,
    id: &str,
    decls: &Decls<'_>,
    errs: &mut Errs,
) {
    for v in [variant, unless_variant].into_iter().flatten() {
        check_ref(v, "variant", "variants", &decls.variants, errs);
    }
    if let (Some(v), Some(u)) = (variant, unless_variant)
        && v.v == u.v
    {
        errs.push(
            &u.at,
            format!("item {id:?} has variant and unless_variant both {:?}", v.v),
            "such an item never applies; keep one of the two keys",
        );
    }
}

/// Check declared ids of one kind (services, variants or sections): pattern and
/// uniqueness.
pub(super) fn check_decl_ids(ids: &[At<String>], kind: &str, errs: &mut Errs) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for id in ids {
        if !is_ident(&id.v) {
            errs.push(&id.at, format!("invalid {kind} id {:?}", id.v), IDENT_HINT);
        }
        if let Some(first) = seen.get(id.v.as_str()) {
            errs.push(
                &id.at,
                format!("duplicate {kind} id {:?} (first at line {first})", id.v),
                format!("{kind} ids are unique within a matrix; rename one of them"),
            );
        } else {
            seen.insert(&id.v, id.at.line);
        }
    }
}
