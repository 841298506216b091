//! Evidence kinds: which fields each kind of evidence carries, and of what type.
//!
//! Evidence is only useful to an auditor when the same kind of proof carries the same facts
//! every time: a restore test that forgot its RTO, or says `rto_minutes = "about an hour"`,
//! cannot be compared or reported on. `schema/evidence-kinds.toml` declares the kinds and
//! their typed fields (its header documents the format and the accepted spellings); this
//! module reads that file into a [`Registry`] of [`KindDef`]s. Checking one piece of
//! evidence's fields against its kind is in [`super::fields`]. Every error names where it
//! is, and suggests the closest name on a typo.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;
use toml::Spanned;

use crate::error::{Error, Result};

/// Where the built-in registry comes from, as named in its error messages.
pub const BUILTIN_ORIGIN: &str = "schema/evidence-kinds.toml";

/// The text of the built-in registry, compiled into the binary.
pub const BUILTIN_TEXT: &str = include_str!("../../schema/evidence-kinds.toml");

/// Custom fields (not declared by any kind, kept as given) start with this.
pub const CUSTOM_PREFIX: &str = "x_";

/// Longest kind or field name.
const MAX_NAME: usize = 64;

/// The type of an evidence field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Non-blank text.
    String,
    /// An integer or a decimal, magnitude at most 2^53 − 1.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A calendar date, `YYYY-MM-DD`, kept as a string.
    Date,
    /// A list of non-blank strings.
    List,
}

impl FieldType {
    /// All types, in the order they are listed to users.
    pub const ALL: [FieldType; 5] = [
        FieldType::String,
        FieldType::Number,
        FieldType::Boolean,
        FieldType::Date,
        FieldType::List,
    ];

    /// The spelling in `schema/evidence-kinds.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::List => "list",
        }
    }

    /// Parse a type name (exact spelling only).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// A value of this type, as it would be written with `--field`.
    pub(super) fn example(self) -> &'static str {
        match self {
            FieldType::String => "text",
            FieldType::Number => "45",
            FieldType::Boolean => "true",
            FieldType::Date => "2026-10-05",
            FieldType::List => "a,b",
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field of an evidence kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// Field name, `[a-z][a-z0-9_]*`.
    pub name: String,
    /// Declared type.
    pub ty: FieldType,
    /// Whether evidence of the kind must give it.
    pub required: bool,
    /// What it means, for people.
    pub description: String,
    /// A `number` that must be whole (a count): `integer = true`.
    pub integer: bool,
    /// The smallest value a `number` may take (`minimum = 0` for a count).
    pub minimum: Option<i64>,
}

/// One evidence kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindDef {
    /// Kind name, `[a-z][a-z0-9-]*` (e.g. `restore-test`).
    pub name: String,
    /// What the evidence shows, for people.
    pub description: String,
    /// Its fields, in file order.
    pub fields: Vec<FieldDef>,
}

/// The evidence kinds of one registry file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    kinds: Vec<KindDef>,
}

// ---------------------------------------------------------------------------------------
// Reading the registry file

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    kinds: BTreeMap<Spanned<String>, RawKind>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKind {
    description: Spanned<String>,
    #[serde(default)]
    fields: BTreeMap<Spanned<String>, RawField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    #[serde(rename = "type")]
    ty: Spanned<String>,
    required: bool,
    description: Spanned<String>,
    #[serde(default)]
    integer: Option<Spanned<bool>>,
    #[serde(default)]
    minimum: Option<Spanned<i64>>,
}

/// `origin:line:column` of a byte offset (both 1-based; the column counts characters).
fn location(text: &str, origin: &str, offset: usize) -> String {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    format!("{origin}:{line}:{column}")
}

const FORMAT_HINT: &str = "see the header of schema/evidence-kinds.toml for the format";

fn is_kind_name(s: &str) -> bool {
    s.len() <= MAX_NAME
        && s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_field_name(s: &str) -> bool {
    s.len() <= MAX_NAME
        && s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Registry {
    /// The built-in registry (`schema/evidence-kinds.toml`, compiled in), parsed once.
    ///
    /// A malformed built-in file is reported as an error on every call, never a panic.
    pub fn builtin() -> Result<&'static Registry> {
        static BUILTIN: OnceLock<std::result::Result<Registry, (String, Option<String>)>> =
            OnceLock::new();
        let parsed = BUILTIN.get_or_init(|| {
            Registry::parse(BUILTIN_TEXT, BUILTIN_ORIGIN)
                .map_err(|e| (e.message().to_string(), e.hint_text().map(str::to_string)))
        });
        match parsed {
            Ok(r) => Ok(r),
            Err((message, hint)) => {
                let e = Error::new(format!("built-in evidence kinds: {message}"));
                Err(match hint {
                    Some(h) => e.hint(h.clone()),
                    None => e,
                })
            }
        }
    }

    /// Parse a registry file. `origin` names it in errors (`origin:line:column: …`).
    pub fn parse(text: &str, origin: &str) -> Result<Registry> {
        let at = |offset: usize| location(text, origin, offset);
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let message = e.message().trim_end();
            match e.span() {
                Some(span) => Error::new(format!("{}: {message}", at(span.start))),
                None => Error::new(format!("{origin}: {message}")),
            }
            .hint(FORMAT_HINT)
        })?;
        if raw.kinds.is_empty() {
            return Err(Error::new(format!("{origin}: no evidence kinds"))
                .hint("declare kinds as [kinds.<name>] tables, e.g. [kinds.restore-test]"));
        }
        // The TOML map is sorted by name; the file order is the order of the keys' spans.
        let mut raw_kinds: Vec<(Spanned<String>, RawKind)> = raw.kinds.into_iter().collect();
        raw_kinds.sort_by_key(|(name, _)| name.span().start);
        let mut kinds = Vec::with_capacity(raw_kinds.len());
        for (name, raw_kind) in raw_kinds {
            let kind = name.get_ref();
            if !is_kind_name(kind) {
                return Err(Error::new(format!(
                    "{}: invalid evidence kind name {kind:?}",
                    at(name.span().start)
                ))
                .hint("kind names are lowercase words joined by '-', e.g. restore-test"));
            }
            if raw_kind.description.get_ref().trim().is_empty() {
                return Err(Error::new(format!(
                    "{}: kind {kind} has an empty description",
                    at(raw_kind.description.span().start)
                ))
                .hint("say what the evidence shows"));
            }
            let mut raw_fields: Vec<(Spanned<String>, RawField)> =
                raw_kind.fields.into_iter().collect();
            raw_fields.sort_by_key(|(name, _)| name.span().start);
            let mut fields = Vec::with_capacity(raw_fields.len());
            for (field_name, raw_field) in raw_fields {
                let field = field_name.get_ref();
                let field_at = at(field_name.span().start);
                if !is_field_name(field) {
                    return Err(Error::new(format!(
                        "{field_at}: invalid field name {field:?} of kind {kind}"
                    ))
                    .hint("field names match [a-z][a-z0-9_]* (e.g. rto_minutes)"));
                }
                if field.starts_with(CUSTOM_PREFIX) {
                    return Err(Error::new(format!(
                        "{field_at}: field name {field:?} of kind {kind} starts with \
                         {CUSTOM_PREFIX}, which is reserved for custom fields"
                    ))
                    .hint("declare it without the x_ prefix"));
                }
                let ty_name = raw_field.ty.get_ref();
                let Some(ty) = FieldType::parse(ty_name) else {
                    let names: Vec<&str> = FieldType::ALL.iter().map(|t| t.as_str()).collect();
                    return Err(Error::new(format!(
                        "{}: unknown field type {ty_name:?} for field {field} of kind {kind}",
                        at(raw_field.ty.span().start)
                    ))
                    .hint(with_suggestion(
                        ty_name,
                        &names,
                        format!("types are {}", names.join(", ")),
                    )));
                };
                if raw_field.description.get_ref().trim().is_empty() {
                    return Err(Error::new(format!(
                        "{}: field {field} of kind {kind} has an empty description",
                        at(raw_field.description.span().start)
                    ))
                    .hint("say what the field means, with its unit"));
                }
                if ty != FieldType::Number {
                    let bound = [
                        raw_field
                            .integer
                            .as_ref()
                            .map(|s| ("integer", s.span().start)),
                        raw_field
                            .minimum
                            .as_ref()
                            .map(|s| ("minimum", s.span().start)),
                    ];
                    if let Some((key, start)) = bound.into_iter().flatten().next() {
                        return Err(Error::new(format!(
                            "{}: {key} applies to number fields only, not to field {field} of kind {kind} ({ty})",
                            at(start)
                        ))
                        .hint(FORMAT_HINT));
                    }
                }
                fields.push(FieldDef {
                    name: field.clone(),
                    ty,
                    required: raw_field.required,
                    description: raw_field.description.into_inner(),
                    integer: raw_field.integer.is_some_and(Spanned::into_inner),
                    minimum: raw_field.minimum.map(Spanned::into_inner),
                });
            }
            kinds.push(KindDef {
                name: name.into_inner(),
                description: raw_kind.description.into_inner(),
                fields,
            });
        }
        Ok(Registry { kinds })
    }

    /// All kinds, in file order.
    pub fn kinds(&self) -> &[KindDef] {
        &self.kinds
    }

    /// The kind of that name, if declared.
    pub fn get(&self, name: &str) -> Option<&KindDef> {
        self.kinds.iter().find(|k| k.name == name)
    }

    /// Kind names, in file order.
    pub fn names(&self) -> Vec<&str> {
        self.kinds.iter().map(|k| k.name.as_str()).collect()
    }

    /// The kind of that name, or an error listing the known kinds.
    pub fn kind(&self, name: &str) -> Result<&KindDef> {
        self.get(name).ok_or_else(|| {
            let names = self.names();
            Error::new(format!("unknown evidence kind {name:?}")).hint(with_suggestion(
                name,
                &names,
                format!("known kinds are {}", names.join(", ")),
            ))
        })
    }
}

// ---------------------------------------------------------------------------------------
// Looking up fields

impl KindDef {
    /// The declared field of that name.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The required fields, in file order.
    pub fn required_fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter().filter(|f| f.required)
    }
}

// ---------------------------------------------------------------------------------------
// "Did you mean"

/// `known`, prefixed with "did you mean X? " when one of `candidates` is close to `given`.
pub(super) fn with_suggestion(given: &str, candidates: &[&str], known: String) -> String {
    match closest(given, candidates) {
        Some(c) => format!("did you mean {c}? {known}"),
        None => known,
    }
}

/// The candidate nearest to `given` (first in order on a tie), if near enough to be a typo:
/// at most a third of its length in edits, and at most 3.
fn closest<'a>(given: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (given.chars().count() / 3).clamp(1, 3);
    candidates
        .iter()
        .map(|c| (edit_distance(given, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// adjacent characters each count as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg() -> &'static Registry {
        Registry::builtin().unwrap()
    }

    #[test]
    fn builtin_has_the_nine_kinds_with_their_required_fields() {
        let expected: [(&str, &[&str]); 9] = [
            (
                "restore-test",
                &["backup_id", "rto_minutes", "data_verified"],
            ),
            ("backup-verification", &["backups_checked"]),
            ("patch-run", &["hosts", "patches_applied", "failed"]),
            (
                "access-review",
                &["accounts_reviewed", "accounts_removed", "reviewer"],
            ),
            ("vulnerability-scan", &[]),
            ("log-review", &[]),
            ("config-review", &[]),
            ("incident-drill", &[]),
            ("attestation", &[]),
        ];
        let r = reg();
        assert_eq!(
            r.names(),
            expected.iter().map(|(n, _)| *n).collect::<Vec<_>>()
        );
        for (name, required) in expected {
            let k = r.get(name).unwrap();
            let got: Vec<&str> = k.required_fields().map(|f| f.name.as_str()).collect();
            assert_eq!(got, required, "{name}");
            assert!(!k.description.is_empty());
            assert!(!k.fields.is_empty(), "{name} has optional fields");
            for f in &k.fields {
                assert!(is_field_name(&f.name) && !f.name.starts_with("x_"));
                assert!(!f.description.is_empty());
            }
        }
        let rt = r.get("restore-test").unwrap();
        let types: Vec<FieldType> = rt.fields.iter().take(3).map(|f| f.ty).collect();
        assert_eq!(
            types,
            [FieldType::String, FieldType::Number, FieldType::Boolean]
        );
        assert_eq!(
            r.get("patch-run").unwrap().field("cve_ids").unwrap().ty,
            FieldType::List
        );
        assert_eq!(
            r.get("log-review")
                .unwrap()
                .field("period_start")
                .unwrap()
                .ty,
            FieldType::Date
        );
        // Counts are whole and not negative.
        for (kind, field) in [
            ("patch-run", "hosts"),
            ("patch-run", "failed"),
            ("restore-test", "rto_minutes"),
        ] {
            let f = r.get(kind).unwrap().field(field).unwrap();
            assert_eq!((f.integer, f.minimum), (true, Some(0)), "{kind}.{field}");
        }
        // Parsed once.
        assert!(std::ptr::eq(reg(), Registry::builtin().unwrap()));
    }

    #[test]
    fn field_type_names() {
        for t in FieldType::ALL {
            assert_eq!(FieldType::parse(t.as_str()), Some(t));
            assert_eq!(t.to_string(), t.as_str());
        }
        assert_eq!(FieldType::parse("String"), None);
    }

    #[test]
    fn unknown_kind_lists_known_ones() {
        let e = reg().kind("restore-tests").unwrap_err();
        assert_eq!(e.message(), r#"unknown evidence kind "restore-tests""#);
        let h = e.hint_text().unwrap();
        assert!(
            h.starts_with("did you mean restore-test? known kinds are "),
            "{h}"
        );
        assert!(
            h.ends_with(
                "restore-test, backup-verification, patch-run, access-review, \
                 vulnerability-scan, log-review, config-review, incident-drill, attestation"
            ),
            "{h}"
        );
        let e = reg().kind("pentest-report").unwrap_err();
        assert!(e.hint_text().unwrap().starts_with("known kinds are "));
        assert!(reg().get("restore-test").is_some() && reg().get("Restore-test").is_none());
    }

    fn parse_err(text: &str) -> (String, String) {
        let e = Registry::parse(text, "test.toml").unwrap_err();
        (
            e.message().to_string(),
            e.hint_text().unwrap_or_default().to_string(),
        )
    }

    const GOOD: &str = r#"# comment
[kinds.zeta]
description = "last alphabetically, first in the file"

[kinds.zeta.fields]
b = { type = "string", required = true, description = "b" }
a = { type = "number", required = false, description = "a" }

[kinds.alpha]
description = "a"
fields.q = { type = "list", required = false, description = "q" }
fields.n = { type = "number", required = false, description = "n", integer = true, minimum = -3 }
"#;

    #[test]
    fn parse_keeps_file_order() {
        let r = Registry::parse(GOOD, "test.toml").unwrap();
        assert_eq!(r.names(), ["zeta", "alpha"]);
        let z = r.get("zeta").unwrap();
        assert_eq!(
            z.fields,
            [
                FieldDef {
                    name: "b".into(),
                    ty: FieldType::String,
                    required: true,
                    description: "b".into(),
                    integer: false,
                    minimum: None,
                },
                FieldDef {
                    name: "a".into(),
                    ty: FieldType::Number,
                    required: false,
                    description: "a".into(),
                    integer: false,
                    minimum: None,
                },
            ]
        );
        assert_eq!(r.kinds()[1].fields[0].ty, FieldType::List);
        let n = &r.kinds()[1].fields[1];
        assert_eq!(
            (n.ty, n.integer, n.minimum),
            (FieldType::Number, true, Some(-3))
        );
    }

    #[test]
    fn malformed_registry_names_line_and_column() {
        let (m, h) = parse_err(&GOOD.replace(r#"type = "number""#, r#"type = "numbr""#));
        assert_eq!(
            m,
            r#"test.toml:7:14: unknown field type "numbr" for field a of kind zeta"#
        );
        assert_eq!(
            h,
            "did you mean number? types are string, number, boolean, date, list"
        );

        let (m, _) = parse_err(&GOOD.replace("\nb = {", "\nBad-Name = {"));
        assert_eq!(
            m,
            r#"test.toml:6:1: invalid field name "Bad-Name" of kind zeta"#
        );

        let (m, _) = parse_err(&GOOD.replace("\na = {", "\nx_a = {"));
        assert!(
            m.starts_with("test.toml:7:1: field name \"x_a\" of kind zeta"),
            "{m}"
        );

        let (m, _) = parse_err(&GOOD.replace("[kinds.alpha]", "[kinds.Alpha]"));
        assert_eq!(m, r#"test.toml:9:8: invalid evidence kind name "Alpha""#);

        // Unknown keys, from the TOML reader, with the span of the key.
        let (m, h) = parse_err(&GOOD.replace(
            r#"description = "a"
fields"#,
            r#"description = "a"
colour = "red"
fields"#,
        ));
        assert!(
            m.starts_with("test.toml:11:1: unknown field `colour`"),
            "{m}"
        );
        assert_eq!(h, FORMAT_HINT);
        let (m, _) = parse_err(&GOOD.replace("required = true,", "required = true, unit = \"s\","));
        assert!(m.starts_with("test.toml:6:41: unknown field `unit`"), "{m}");
        let (m, _) = parse_err(&format!("version = 1\n{GOOD}"));
        assert!(
            m.starts_with("test.toml:1:1: unknown field `version`"),
            "{m}"
        );

        let (m, _) = parse_err(&GOOD.replace("required = true", r#"required = "yes""#));
        assert!(m.starts_with("test.toml:6:35: invalid type"), "{m}");
        let (m, _) = parse_err(&GOOD.replace(r#", description = "a" }"#, " }"));
        assert!(
            m.starts_with("test.toml:7:5: missing field `description`"),
            "{m}"
        );
        let (m, _) = parse_err(&GOOD.replace(
            r#"description = "a"
fields"#,
            r#"description = " "
fields"#,
        ));
        assert_eq!(m, "test.toml:10:15: kind alpha has an empty description");

        // Syntax errors.
        let (m, _) = parse_err("[kinds.a\ndescription = \"a\"\n");
        assert!(m.starts_with("test.toml:1:9: "), "{m}");
        let (m, _) = parse_err("[kinds.é]\ndescription = \"a\"\n");
        assert!(m.starts_with("test.toml:1:8: "), "{m}");

        let (m, h) = parse_err(&GOOD.replace(
            r#"description = "q" }"#,
            r#"description = "q", minimum = 0 }"#,
        ));
        assert_eq!(
            m,
            "test.toml:11:76: minimum applies to number fields only, not to field q of kind alpha (list)"
        );
        assert_eq!(h, FORMAT_HINT);
        let (m, _) = parse_err(&GOOD.replace("required = true,", "required = true, integer = 1,"));
        assert!(m.starts_with("test.toml:6:51: invalid type"), "{m}");

        let (m, _) = parse_err("kinds = {}\n");
        assert_eq!(m, "test.toml: no evidence kinds");
        let (m, _) = parse_err("");
        assert!(m.starts_with("test.toml"), "{m}");
    }

    #[test]
    fn location_counts_characters() {
        assert_eq!(location("ab\ncé d", "f", 0), "f:1:1");
        assert_eq!(location("ab\ncé d", "f", 3), "f:2:1");
        assert_eq!(location("ab\ncé d", "f", 7), "f:2:4");
        assert_eq!(location("ab\ncé d", "f", 99), "f:2:5");
        assert_eq!(location("é", "f", 1), "f:1:1");
    }

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("rto_minuts", "rto_minutes"), 1);
        assert_eq!(edit_distance("tikcet", "ticket"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(closest("hsts", &["hosts", "high"]), Some("hosts"));
        assert_eq!(closest("lo", &["low"]), Some("low"));
        assert_eq!(closest("zzzz", &["low"]), None);
        assert_eq!(closest("crit", &["critical"]), None);
    }
}
