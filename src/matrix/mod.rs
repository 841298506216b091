//! Shared-responsibility matrices (`schema/MATRIX.md`): the types, their derived values and
//! the conversions (TOML in and out, CSV in and out, JSON out, diff).
//!
//! A matrix is the contract that evidence is measured against, written and reviewed by
//! people, so a typo must never silently drop a duty: every rule of MATRIX.md is checked
//! when a file is read, and every error names `file:line:column` of the offending value
//! with a hint listing what is valid. That is why the TOML is read as a spanned tree
//! ([`toml::de::DeTable`]) and walked by hand rather than through serde: serde's messages
//! cannot say *which* role is unknown or where the first of two duplicate ids is. Only
//! this module knows the matrix file format; the first error in file order is reported.

pub mod csv_map;
pub mod fields;
pub mod kinds;

mod check;
mod csv_io;
mod diff;
mod toml_in;
mod toml_out;

#[cfg(test)]
mod tests;

use chrono::NaiveDate;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use crate::error::{Error, Result};

pub use diff::{Change, ChangeKind, diff};

/// Whether a statement or cell says "no duty" (MATRIX.md, "Not applicable"): empty, or
/// `N/A`, `n/a`, `NA`, `-`, `–` or `—` (surrounding white space ignored). Such a role is
/// omitted, on import and in TOML alike: it never makes its role a duty holder.
pub fn is_not_applicable(text: &str) -> bool {
    matches!(
        text.trim(),
        "" | "N/A" | "n/a" | "N/a" | "NA" | "na" | "-" | "\u{2013}" | "\u{2014}"
    )
}

/// A role of a matrix. Ordered provider, customer, third party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoleId {
    /// The cloud provider.
    Provider,
    /// The customer.
    Customer,
    /// An optional third party (e.g. a managed-service partner).
    ThirdParty,
}

impl RoleId {
    /// Every role, in order.
    pub const ALL: [RoleId; 3] = [RoleId::Provider, RoleId::Customer, RoleId::ThirdParty];

    /// The role id as written in a matrix: `provider`, `customer`, `third-party`.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleId::Provider => "provider",
            RoleId::Customer => "customer",
            RoleId::ThirdParty => "third-party",
        }
    }

    /// The role of that id.
    pub fn parse(s: &str) -> Option<Self> {
        RoleId::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for RoleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The RACI letters one role holds for an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Letters {
    /// Responsible: performs the duty.
    pub r: bool,
    /// Accountable: approves it (at most one role per item).
    pub a: bool,
    /// Consulted.
    pub c: bool,
    /// Informed.
    pub i: bool,
}

impl Letters {
    /// No letter at all.
    pub fn is_empty(&self) -> bool {
        !(self.r || self.a || self.c || self.i)
    }

    /// Parse letters from `R`, `A`, `C`, `I` in any order, each at most once (`""` is
    /// empty). `None` for any other character or a repeated letter.
    pub fn parse(s: &str) -> Option<Self> {
        check::parse_letters(s).ok()
    }
}

impl fmt::Display for Letters {
    /// In R, A, C, I order, e.g. `RA`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (on, c) in [(self.r, "R"), (self.a, "A"), (self.c, "C"), (self.i, "I")] {
            if on {
                f.write_str(c)?;
            }
        }
        Ok(())
    }
}

/// How often a duty must be proven (MATRIX.md "Cadence windows").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cadence {
    /// `monthly` = `P1M`.
    Monthly,
    /// `quarterly` = `P3M`.
    Quarterly,
    /// `yearly` = `P1Y`.
    Yearly,
    /// `on-event`: one window, the whole period, due only when an event happened.
    OnEvent,
    /// An ISO 8601 duration of years, months, weeks and days (`P6M`, `P2W`, `P1Y6M`).
    Every {
        /// Years (12 months each).
        years: u32,
        /// Months.
        months: u32,
        /// Weeks (7 days each).
        weeks: u32,
        /// Days.
        days: u32,
    },
}

impl Cadence {
    /// Parse a cadence as written in a matrix. Durations must be in canonical form
    /// (components in Y, M, W, D order, no zero component, no leading zero, not all zero),
    /// so that [`Cadence::as_str`] gives back exactly the spelling of the file.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "monthly" => Some(Cadence::Monthly),
            "quarterly" => Some(Cadence::Quarterly),
            "yearly" => Some(Cadence::Yearly),
            "on-event" => Some(Cadence::OnEvent),
            _ => check::parse_duration(s),
        }
    }

    /// The spelling in the file (`quarterly`, `P6M`).
    pub fn as_str(&self) -> Cow<'static, str> {
        match self {
            Cadence::Monthly => Cow::Borrowed("monthly"),
            Cadence::Quarterly => Cow::Borrowed("quarterly"),
            Cadence::Yearly => Cow::Borrowed("yearly"),
            Cadence::OnEvent => Cow::Borrowed("on-event"),
            Cadence::Every {
                years,
                months,
                weeks,
                days,
            } => {
                let mut s = String::from("P");
                for (n, unit) in [(years, 'Y'), (months, 'M'), (weeks, 'W'), (days, 'D')] {
                    if *n > 0 {
                        s.push_str(&n.to_string());
                        s.push(unit);
                    }
                }
                Cow::Owned(s)
            }
        }
    }

    /// The length of one window as (months, days), years counting as 12 months and weeks
    /// as 7 days; `None` for `on-event`.
    pub fn step(&self) -> Option<(u32, u32)> {
        match self {
            Cadence::Monthly => Some((1, 0)),
            Cadence::Quarterly => Some((3, 0)),
            Cadence::Yearly => Some((12, 0)),
            Cadence::OnEvent => None,
            Cadence::Every {
                years,
                months,
                weeks,
                days,
            } => Some((
                years.saturating_mul(12).saturating_add(*months),
                weeks.saturating_mul(7).saturating_add(*days),
            )),
        }
    }
}

impl fmt::Display for Cadence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

/// Who owns an item (given in the file, or derived: MATRIX.md "Derived values").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ownership {
    /// The provider alone.
    Provider,
    /// The customer alone.
    Customer,
    /// Several duty holders.
    Shared,
    /// The third party alone.
    ThirdParty,
    /// No duty holder: the item is informational.
    NotApplicable,
}

impl Ownership {
    /// Every value, in the order they are listed to users.
    pub const ALL: [Ownership; 5] = [
        Ownership::Provider,
        Ownership::Customer,
        Ownership::Shared,
        Ownership::ThirdParty,
        Ownership::NotApplicable,
    ];

    /// As written in a matrix (kebab-case).
    pub fn as_str(self) -> &'static str {
        match self {
            Ownership::Provider => "provider",
            Ownership::Customer => "customer",
            Ownership::Shared => "shared",
            Ownership::ThirdParty => "third-party",
            Ownership::NotApplicable => "not-applicable",
        }
    }

    /// The ownership of that spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Ownership::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The ownership of a single duty holder.
    pub fn of_role(role: RoleId) -> Self {
        match role {
            RoleId::Provider => Ownership::Provider,
            RoleId::Customer => Ownership::Customer,
            RoleId::ThirdParty => Ownership::ThirdParty,
        }
    }
}

impl fmt::Display for Ownership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[matrix]`: what the matrix is and which document it transcribes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Identifier; reports are named after it.
    pub id: String,
    /// Title.
    pub title: String,
    /// Version; a later version of the same id supersedes an earlier one.
    pub version: String,
    /// The document the matrix transcribes.
    pub source: String,
    /// From when this version applies.
    pub effective: NaiveDate,
    /// Optional introduction.
    pub description: Option<String>,
}

/// `[roles.<role>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Which role.
    pub id: RoleId,
    /// Display name used in the source document.
    pub name: String,
}

/// `[[services]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Identifier.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Optional description.
    pub description: Option<String>,
}

/// `[[variants]]`: a contract option that switches items on or off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// Identifier.
    pub id: String,
    /// Title.
    pub title: String,
    /// Optional description.
    pub description: Option<String>,
}

/// `[[sections]]`, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Identifier.
    pub id: String,
    /// Title.
    pub title: String,
    /// The service its items belong to by default.
    pub service: Option<String>,
    /// Optional description.
    pub description: Option<String>,
}

/// `[[items]]`: one duty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Stable item id (`<section>.<slug>` by convention).
    pub id: String,
    /// Section id.
    pub section: String,
    /// Service id: the item's own, else its section's.
    pub service: Option<String>,
    /// The activity, in the source's words.
    pub activity: String,
    /// Letters per role; roles without letters are absent.
    pub raci: BTreeMap<RoleId, Letters>,
    /// Duty statements per role.
    pub statements: BTreeMap<RoleId, String>,
    /// Ownership: as given, else derived.
    pub ownership: Ownership,
    /// How often the duty must be proven; `None` = no recurring proof.
    pub cadence: Option<Cadence>,
    /// Days after a window's end during which evidence still counts.
    pub grace_days: u32,
    /// Evidence kinds that prove the duty.
    pub evidence_kinds: Vec<String>,
    /// Control references.
    pub refs: Vec<String>,
    /// Footnotes and transcription notes.
    pub notes: Vec<String>,
    /// Applies only when this variant is selected.
    pub variant: Option<String>,
    /// Applies only when this variant is not selected.
    pub unless_variant: Option<String>,
}

impl Item {
    /// Who must prove the duty (MATRIX.md "Derived values"): the roles with `R` (a role
    /// with a statement but no letters counts as `R`); if none, the role with `A`; empty
    /// for an informational item. In role order.
    pub fn duty_holders(&self) -> Vec<RoleId> {
        let responsible: Vec<RoleId> = RoleId::ALL
            .into_iter()
            .filter(|role| match self.raci.get(role) {
                Some(l) if !l.is_empty() => l.r,
                _ => self.statements.contains_key(role),
            })
            .collect();
        if !responsible.is_empty() {
            return responsible;
        }
        self.raci
            .iter()
            .filter(|(_, l)| l.a)
            .map(|(role, _)| *role)
            .collect()
    }

    /// Whether every role is N/A: no letters and no statements (status `not-applicable`).
    pub fn applies_to_nobody(&self) -> bool {
        self.raci.is_empty() && self.statements.is_empty()
    }

    /// The ownership derived from the duty holders, ignoring any given `ownership`.
    pub fn derived_ownership(&self) -> Ownership {
        match self.duty_holders().as_slice() {
            [] => Ownership::NotApplicable,
            [one] => Ownership::of_role(*one),
            _ => Ownership::Shared,
        }
    }

    /// Whether the item applies when these variants are selected at adoption.
    pub fn applies(&self, selected_variants: &[String]) -> bool {
        let selected = |v: &String| selected_variants.iter().any(|s| s == v);
        self.variant.as_ref().is_none_or(selected)
            && !self.unless_variant.as_ref().is_some_and(selected)
    }
}

/// A whole matrix, as read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    /// `[matrix]`.
    pub header: Header,
    /// Declared roles, in provider, customer, third-party order.
    pub roles: Vec<Role>,
    /// `[[services]]`, in file order.
    pub services: Vec<Service>,
    /// `[[variants]]`, in file order.
    pub variants: Vec<Variant>,
    /// `[[sections]]`, in file order.
    pub sections: Vec<Section>,
    /// `[[items]]`, in file order.
    pub items: Vec<Item>,
}

impl Matrix {
    /// Parse and check a matrix file. `origin` names it in errors (`origin:line:column`).
    pub fn parse(text: &str, origin: &str) -> Result<Matrix> {
        toml_in::parse_matrix(text, origin)
    }

    /// Read and check a matrix file; also returns its exact bytes (what adoption records).
    pub fn load(path: &Path) -> Result<(Matrix, Vec<u8>)> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
        let origin = path.display().to_string();
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            Error::new(format!(
                "{origin}: not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            ))
            .hint("save the matrix as UTF-8")
        })?;
        let m = Matrix::parse(text, &origin)?;
        Ok((m, bytes))
    }

    /// The item of that id.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }

    /// The section of that id.
    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// The display name of a role, if declared.
    pub fn role_name(&self, role: RoleId) -> Option<&str> {
        self.roles
            .iter()
            .find(|r| r.id == role)
            .map(|r| r.name.as_str())
    }

    /// Up to `n` item ids close to `id` (for "did you mean"), closest first: ids within a
    /// small edit distance; then ids that contain the typed text (or its part after the
    /// section), are contained in it or share a word of it (`vps.access-mgmt` →
    /// `vps.access-management`); then ids of the same section (`managed-databases.*`).
    /// Within each group by edit distance, ids in the same section first on a tie; ids
    /// with none of these in common are left out.
    pub fn closest_items(&self, id: &str, n: usize) -> Vec<&str> {
        let (prefix, slug) = id.split_once('.').unwrap_or(("", id));
        let limit = (id.chars().count() / 3).max(2);
        let words: Vec<&str> = slug
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 3)
            .collect();
        let mut scored: Vec<(u8, usize, usize, bool, &str)> = self
            .items
            .iter()
            .filter_map(|item| {
                let (ip, islug) = item.id.split_once('.').unwrap_or(("", &item.id));
                let mut d = edit_distance(id, &item.id);
                if !id.contains('.') {
                    d = d.min(edit_distance(slug, islug));
                }
                let same = !prefix.is_empty() && ip == prefix;
                let contains = slug.chars().count() >= 3
                    && (item.id.contains(slug)
                        || (islug.chars().count() >= 3 && slug.contains(islug)));
                let shares_word = words
                    .iter()
                    .any(|w| islug.split(|c: char| !c.is_alphanumeric()).any(|x| x == *w));
                let tier = if d <= limit {
                    0
                } else if contains || (shares_word && (same || prefix.is_empty())) {
                    1
                } else if same {
                    2
                } else {
                    return None;
                };
                let d = d.min(edit_distance(slug, islug));
                // Abbreviated words (`mgmt` of `management`) count against the others.
                let unmatched = words
                    .iter()
                    .filter(|w| !islug.split('-').any(|x| is_subsequence(w, x)))
                    .count();
                Some((tier, unmatched, d, !same, item.id.as_str()))
            })
            .collect();
        scored.sort_unstable();
        scored.into_iter().take(n).map(|(.., id)| id).collect()
    }

    /// The item ids named by `items` (each must be an item), `sections` (every item of
    /// each) and `services` (every item of each), in that order without repeats. An
    /// unknown id is an error naming it, with the closest ids as a hint.
    pub fn select_items(
        &self,
        items: &[String],
        sections: &[String],
        services: &[String],
    ) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |id: &str| {
            if !out.iter().any(|x| x == id) {
                out.push(id.to_string());
            }
        };
        for id in items {
            if self.item(id).is_none() {
                let close = self.closest_items(id, 3);
                let e = Error::new(format!(
                    "{id:?} is not an item of matrix {}",
                    self.header.id
                ));
                return Err(e.hint(if close.is_empty() {
                    "list the items with: vouch matrix show --adopted".to_string()
                } else {
                    format!(
                        "did you mean {}? (all items: vouch matrix show --adopted)",
                        close.join(", ")
                    )
                }));
            }
            add(id);
        }
        for sid in sections {
            if self.section(sid).is_none() {
                let known: Vec<&str> = self.sections.iter().map(|s| s.id.as_str()).collect();
                return Err(Error::new(format!(
                    "--section {sid}: matrix {} has no such section",
                    self.header.id
                ))
                .hint(format!("sections: {}", known.join(", "))));
            }
            self.items
                .iter()
                .filter(|i| &i.section == sid)
                .for_each(|i| add(&i.id));
        }
        for svc in services {
            if !self.services.iter().any(|s| &s.id == svc) {
                let known: Vec<&str> = self.services.iter().map(|s| s.id.as_str()).collect();
                return Err(Error::new(format!(
                    "--service {svc}: matrix {} has no such service",
                    self.header.id
                ))
                .hint(if known.is_empty() {
                    "this matrix declares no services".to_string()
                } else {
                    format!("services: {}", known.join(", "))
                }));
            }
            self.items
                .iter()
                .filter(|i| i.service.as_ref() == Some(svc))
                .for_each(|i| add(&i.id));
        }
        Ok(out)
    }

    /// The matrix as JSON (what `vouch matrix show --format json` prints).
    pub fn to_json(&self) -> Value {
        let roles: Vec<Value> = self
            .roles
            .iter()
            .map(|r| json!({"id": r.id.as_str(), "name": r.name}))
            .collect();
        let sections: Vec<Value> = self
            .sections
            .iter()
            .map(|s| json!({"id": s.id, "title": s.title, "service": s.service}))
            .collect();
        let items: Vec<Value> = self
            .items
            .iter()
            .map(|i| {
                let raci: serde_json::Map<String, Value> = i
                    .raci
                    .iter()
                    .filter(|(_, l)| !l.is_empty())
                    .map(|(r, l)| (r.as_str().to_string(), Value::from(l.to_string())))
                    .collect();
                let statements: serde_json::Map<String, Value> = i
                    .statements
                    .iter()
                    .map(|(r, s)| (r.as_str().to_string(), Value::from(s.as_str())))
                    .collect();
                let holders: Vec<&str> = i.duty_holders().into_iter().map(RoleId::as_str).collect();
                json!({
                    "id": i.id,
                    "section": i.section,
                    "service": i.service,
                    "activity": i.activity,
                    "raci": raci,
                    "statements": statements,
                    "ownership": i.ownership.as_str(),
                    "duty_holders": holders,
                    "cadence": i.cadence.map(|c| c.as_str().into_owned()),
                    "grace_days": i.grace_days,
                    "evidence_kinds": i.evidence_kinds,
                    "refs": i.refs,
                    "notes": i.notes,
                    "variant": i.variant,
                    "unless_variant": i.unless_variant,
                })
            })
            .collect();
        json!({
            "id": self.header.id,
            "title": self.header.title,
            "version": self.header.version,
            "source": self.header.source,
            "effective": self.header.effective.to_string(),
            "roles": roles,
            "sections": sections,
            "items": items,
        })
    }

    /// The items as CSV (MATRIX.md "CSV form"). Fails when a list value cannot be written
    /// unambiguously with the ` | ` separator.
    pub fn to_csv(&self) -> Result<String> {
        csv_io::to_csv(self)
    }

    /// Items from CSV (MATRIX.md "CSV form"), with the header, roles, services, variants
    /// and section details taken from `header_toml` (a matrix file, whose items are
    /// ignored), or a skeleton header to fill in when `None`. Errors in the header text
    /// name it `header`; use [`Matrix::from_csv_with_header`] to name it properly.
    pub fn from_csv(text: &str, origin: &str, header_toml: Option<&str>) -> Result<Matrix> {
        csv_io::from_csv(text, origin, header_toml.map(|h| (h, "header")))
    }

    /// [`Matrix::from_csv`] with the header file's name for its errors: `(text, origin)`.
    pub fn from_csv_with_header(
        text: &str,
        origin: &str,
        header: Option<(&str, &str)>,
    ) -> Result<Matrix> {
        csv_io::from_csv(text, origin, header)
    }

    /// The matrix as a TOML matrix file in the style of the seed matrices; it parses back
    /// to an equal matrix.
    pub fn to_toml(&self) -> String {
        toml_out::to_toml(self)
    }
}

/// Levenshtein distance over characters.
/// Whether every character of `short` appears in `long`, in order, starting with the
/// same first character (`mgmt` in `management`).
fn is_subsequence(short: &str, long: &str) -> bool {
    if short.chars().next() != long.chars().next() {
        return false;
    }
    let mut rest = long.chars();
    short.chars().all(|c| rest.any(|x| x == c))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}
