//! Evidence kinds: which fields each kind of evidence carries, and of what type.
//!
//! Evidence is only useful to an auditor when the same kind of proof carries the same facts
//! every time: a restore test that forgot its RTO, or says `rto_minutes = "about an hour"`,
//! cannot be compared or reported on. `schema/evidence-kinds.toml` declares the kinds and
//! their typed fields (its header documents the format and the accepted spellings); this
//! module reads that file and checks one piece of evidence's fields against its kind
//! *before* anything is signed, converting `--field key=value` strings to the declared JSON
//! types. Every error names the field and the kind, and suggests the closest name on a typo.

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Number, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::format::payload::MAX_SAFE_INT;

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
    fn example(self) -> &'static str {
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
                fields.push(FieldDef {
                    name: field.clone(),
                    ty,
                    required: raw_field.required,
                    description: raw_field.description.into_inner(),
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
// Checking evidence fields

impl KindDef {
    /// The declared field of that name.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The required fields, in file order.
    pub fn required_fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter().filter(|f| f.required)
    }

    /// Check and type the fields of one piece of evidence.
    ///
    /// Input values come either from `--field k=v` (always a JSON string) or from a JSONL
    /// batch (already typed JSON). A string is converted to the declared type; a typed
    /// value must already be of that type. The rules (see the header of
    /// `schema/evidence-kinds.toml`):
    ///
    /// - `number`: plain decimal notation (`45`, `-3`, `2.5`: no exponent, sign `+`, leading
    ///   zero, space or unit). A whole value becomes a JSON integer (`2.0` → `2`, as the
    ///   canonical encoding would write it anyway), any other a finite `f64`. The magnitude
    ///   must not exceed 2^53 − 1, for decimals too: RFC 8785 writes e.g. `1e19` as the
    ///   integer literal `10000000000000000000`, which the payload rules would then refuse.
    /// - `boolean`: exactly `true` or `false`.
    /// - `date`: `YYYY-MM-DD`, a real calendar date; kept as the string.
    /// - `list`: from a string, split on commas and trimmed; from JSON, an array of strings.
    ///   Empty or blank items are refused.
    /// - `string`: must not be empty or blank.
    ///
    /// Fields the kind does not declare are refused unless their name starts with `x_`
    /// (custom fields, kept as given). Missing required fields are refused, all named.
    /// On error `fields` is left unchanged.
    pub fn check_fields(&self, fields: &mut BTreeMap<String, Value>) -> Result<()> {
        if let Some(unknown) = fields
            .keys()
            .find(|k| !k.starts_with(CUSTOM_PREFIX) && self.field(k).is_none())
        {
            return Err(self.unknown_field(unknown));
        }
        let mut typed = Vec::with_capacity(fields.len());
        for (name, value) in fields.iter() {
            if let Some(def) = self.field(name) {
                let v = convert(def.ty, value)
                    .map_err(|e| e.context(format!("field {name} of {}", self.name)))?;
                typed.push((name.clone(), v));
            }
        }
        let missing: Vec<&FieldDef> = self
            .required_fields()
            .filter(|f| !fields.contains_key(&f.name))
            .collect();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|f| f.name.as_str()).collect();
            let s = if missing.len() == 1 { "" } else { "s" };
            let example: Vec<String> = missing
                .iter()
                .map(|f| format!("--field {}={}", f.name, f.ty.example()))
                .collect();
            return Err(Error::new(format!(
                "missing required field{s} {} of {}",
                names.join(", "),
                self.name
            ))
            .hint(format!(
                "{} requires {}; e.g. {}",
                self.name,
                self.required_fields()
                    .map(|f| format!("{} ({})", f.name, f.ty))
                    .collect::<Vec<_>>()
                    .join(", "),
                example.join(" ")
            )));
        }
        fields.extend(typed);
        Ok(())
    }

    fn unknown_field(&self, name: &str) -> Error {
        let names: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
        let known = if names.is_empty() {
            format!("{} declares no fields", self.name)
        } else {
            format!("{} fields are {}", self.name, names.join(", "))
        };
        Error::new(format!("unknown field {name} of {}", self.name)).hint(with_suggestion(
            name,
            &names,
            format!("{known}; custom fields start with {CUSTOM_PREFIX} ({CUSTOM_PREFIX}{name})"),
        ))
    }
}

/// A value as shown in an error: its JSON text, shortened.
fn show(v: &Value) -> String {
    const MAX: usize = 60;
    let s = v.to_string();
    if s.chars().count() <= MAX {
        s
    } else {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    }
}

/// `e` about the value `v`: `"abc" is not a number`, keeping the hint.
fn about(v: &Value, e: &Error) -> Error {
    let out = Error::new(format!("{} {}", show(v), e.message()));
    match e.hint_text() {
        Some(h) => out.hint(h),
        None => out,
    }
}

/// `"yes" is not a boolean`, with a hint on how to write one.
fn not_a(v: &Value, ty: FieldType, hint: &str) -> Error {
    Error::new(format!("{} is not a {ty}", show(v))).hint(hint.to_string())
}

const NUMBER_HINT: &str =
    "write a number such as 45, -3 or 2.5 (no units, exponents, leading zeros or spaces)";
const BOOLEAN_HINT: &str = "write true or false";
const DATE_HINT: &str = "write a date as YYYY-MM-DD, e.g. 2026-10-05";
const LIST_HINT: &str =
    "separate items with commas, e.g. CVE-2026-1234,CVE-2026-5678 (in JSON: an array of strings)";
const STRING_HINT: &str = "write it as text (in JSON: a string, in quotes)";

/// Convert one value to the declared type (errors are not yet prefixed with the field).
fn convert(ty: FieldType, v: &Value) -> Result<Value> {
    match (ty, v) {
        (FieldType::String, Value::String(s)) => {
            if s.trim().is_empty() {
                Err(Error::new("value is empty").hint("give a value, or leave the field out"))
            } else {
                Ok(v.clone())
            }
        }
        (FieldType::Number, Value::String(s)) => number_from_str(s).map_err(|e| about(v, &e)),
        (FieldType::Number, Value::Number(n)) => number_from_json(n).map_err(|e| about(v, &e)),
        (FieldType::Boolean, Value::String(s)) => match s.as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(not_a(v, ty, BOOLEAN_HINT)),
        },
        (FieldType::Boolean, Value::Bool(_)) => Ok(v.clone()),
        (FieldType::Date, Value::String(s)) => {
            if is_date(s) {
                Ok(v.clone())
            } else {
                Err(not_a(v, ty, DATE_HINT))
            }
        }
        (FieldType::List, Value::String(s)) => list_from_str(s).map_err(|e| about(v, &e)),
        (FieldType::List, Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) if !s.trim().is_empty() => {}
                    Value::String(_) => {
                        return Err(Error::new(format!("{}: item {} is blank", show(v), i + 1))
                            .hint(LIST_HINT));
                    }
                    _ => {
                        return Err(Error::new(format!(
                            "{}: item {} is not a string",
                            show(v),
                            i + 1
                        ))
                        .hint(LIST_HINT));
                    }
                }
            }
            Ok(v.clone())
        }
        (FieldType::String, _) => Err(not_a(v, ty, STRING_HINT)),
        (FieldType::Number, _) => Err(not_a(v, ty, NUMBER_HINT)),
        (FieldType::Boolean, _) => Err(not_a(v, ty, BOOLEAN_HINT)),
        (FieldType::Date, _) => Err(not_a(v, ty, DATE_HINT)),
        (FieldType::List, _) => Err(not_a(v, ty, LIST_HINT)),
    }
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`: JSON's number syntax without exponent. Leading zeros are
/// refused because `045` reads as 37 to C and the shell.
fn is_plain_decimal(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    digits(int) && (int == "0" || !int.starts_with('0')) && frac.is_none_or(digits)
}

fn number_from_str(s: &str) -> Result<Value> {
    if !is_plain_decimal(s) {
        return Err(Error::new("is not a number").hint(NUMBER_HINT));
    }
    if !s.contains('.') {
        return match s.parse::<i64>() {
            Ok(i) if (-MAX_SAFE_INT..=MAX_SAFE_INT).contains(&i) => Ok(Value::from(i)),
            _ => Err(too_large()),
        };
    }
    // Always parses: the syntax was checked above. A decimal with hundreds of digits
    // parses as infinity, which is too large rather than "not finite" to the user.
    let f: f64 = s
        .parse()
        .map_err(|_| Error::new("is not a number").hint(NUMBER_HINT))?;
    if f.is_infinite() {
        return Err(too_large());
    }
    number_from_f64(f)
}

fn number_from_json(n: &Number) -> Result<Value> {
    if let Some(i) = n.as_i64() {
        if (-MAX_SAFE_INT..=MAX_SAFE_INT).contains(&i) {
            return Ok(Value::from(i));
        }
        return Err(too_large());
    }
    if n.is_u64() {
        return Err(too_large());
    }
    match n.as_f64() {
        Some(f) => number_from_f64(f),
        None => Err(Error::new("is not a finite number").hint(NUMBER_HINT)),
    }
}

/// A finite decimal within ±(2^53 − 1); whole values become integers.
fn number_from_f64(f: f64) -> Result<Value> {
    if !f.is_finite() {
        return Err(Error::new("is not a finite number").hint(NUMBER_HINT));
    }
    // 2^53 − 1 is exactly representable as f64.
    #[allow(clippy::cast_precision_loss)]
    let limit = MAX_SAFE_INT as f64;
    if f.abs() > limit {
        return Err(too_large());
    }
    if f.fract() == 0.0 {
        // Whole and within ±(2^53 − 1), so the cast is exact (-0.0 becomes 0).
        #[allow(clippy::cast_possible_truncation)]
        let i = f as i64;
        return Ok(Value::from(i));
    }
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| Error::new("is not a finite number").hint(NUMBER_HINT))
}

fn too_large() -> Error {
    Error::new("is too large (limit ±2^53−1 = 9007199254740991)")
        .hint("record it in a larger unit (e.g. GiB rather than bytes)")
}

/// `YYYY-MM-DD`, exactly that shape, and a real calendar date.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn list_from_str(s: &str) -> Result<Value> {
    if s.trim().is_empty() {
        return Err(Error::new("is an empty list").hint(format!(
            "give at least one item, or leave the field out; {LIST_HINT}"
        )));
    }
    let mut items = Vec::new();
    for item in s.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(Error::new("has an empty item").hint(LIST_HINT));
        }
        items.push(Value::String(item.to_string()));
    }
    Ok(Value::Array(items))
}

// ---------------------------------------------------------------------------------------
// "Did you mean"

/// `known`, prefixed with "did you mean X? " when one of `candidates` is close to `given`.
fn with_suggestion(given: &str, candidates: &[&str], known: String) -> String {
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
    use crate::ledger::evidence::parse_field;
    use serde_json::json;

    fn reg() -> &'static Registry {
        Registry::builtin().unwrap()
    }

    fn kind(name: &str) -> &'static KindDef {
        reg().kind(name).unwrap()
    }

    /// A valid restore-test field map plus one extra field.
    fn restore_with(extra: &str, v: Value) -> BTreeMap<String, Value> {
        let mut m = BTreeMap::from([
            ("backup_id".to_string(), json!("bk-0715")),
            ("rto_minutes".to_string(), json!("41")),
            ("data_verified".to_string(), json!("true")),
        ]);
        m.insert(extra.to_string(), v);
        m
    }

    /// Convert one value through a kind's field; Ok(typed) or Err(message, hint).
    fn check(kind_name: &str, field: &str, v: Value) -> Result<Value, (String, String)> {
        let k = kind(kind_name);
        let mut m = if kind_name == "restore-test" {
            restore_with(field, v)
        } else {
            let mut m = BTreeMap::new();
            for f in k.required_fields() {
                let v = match f.ty {
                    FieldType::Number => json!(1),
                    FieldType::Boolean => json!(true),
                    _ => json!("x"),
                };
                m.insert(f.name.clone(), v);
            }
            m.insert(field.to_string(), v);
            m
        };
        let before = m.clone();
        match k.check_fields(&mut m) {
            Ok(()) => Ok(m[field].clone()),
            Err(e) => {
                assert_eq!(m, before, "fields changed by a refused check");
                Err((
                    e.message().to_string(),
                    e.hint_text().unwrap_or_default().to_string(),
                ))
            }
        }
    }

    fn refused(kind_name: &str, field: &str, v: Value) -> String {
        match check(kind_name, field, v.clone()) {
            Ok(t) => panic!("{kind_name}.{field} = {v} accepted as {t}"),
            Err((m, _)) => m,
        }
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
    fn numbers_from_strings() {
        let ok = [
            ("45", json!(45)),
            ("0", json!(0)),
            ("-3", json!(-3)),
            ("-0", json!(0)),
            ("2.5", json!(2.5)),
            ("0.25", json!(0.25)),
            ("-0.5", json!(-0.5)),
            ("2.0", json!(2)),
            ("9007199254740991", json!(9_007_199_254_740_991_i64)),
            ("-9007199254740991", json!(-9_007_199_254_740_991_i64)),
        ];
        for (s, want) in ok {
            let got = check("restore-test", "rto_minutes", json!(s)).unwrap();
            assert_eq!(got, want, "{s}");
            assert_eq!(got.is_i64(), want.is_i64(), "{s}");
        }
        for s in [
            "abc",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "Infinity",
            "1e400",
            "1e3",
            "12 minutes",
            " 45",
            "45 ",
            "+45",
            "045",
            "00",
            "",
            "-",
            ".5",
            "5.",
            "1.2.3",
            "1,5",
            "0x10",
            "1_000",
        ] {
            let m = refused("restore-test", "rto_minutes", json!(s));
            assert!(m.ends_with("is not a number"), "{s}: {m}");
        }
        for s in [
            "9007199254740992",
            "-9007199254740992",
            "99999999999999999999999",
            "9007199254740992.5",
            "12345678901234567890.5",
        ] {
            let m = refused("restore-test", "restored_bytes", json!(s));
            assert!(m.contains("is too large"), "{s}: {m}");
        }
        let long = format!("1{}", "0".repeat(400));
        assert!(refused("restore-test", "restored_bytes", json!(long)).contains("too large"));
        let long = format!("1{}.5", "0".repeat(400));
        assert!(refused("restore-test", "restored_bytes", json!(long)).contains("too large"));
    }

    #[test]
    fn field_flag_abc_is_refused_naming_field_and_kind() {
        let (k, v) = parse_field("rto_minutes=abc").unwrap();
        let mut m = restore_with(&k, v);
        let e = kind("restore-test").check_fields(&mut m).unwrap_err();
        assert_eq!(
            e.message(),
            r#"field rto_minutes of restore-test: "abc" is not a number"#
        );
        assert!(e.hint_text().unwrap().contains("45"));
        assert_eq!(m["rto_minutes"], json!("abc"), "left unchanged");
    }

    #[test]
    fn flags_become_typed_values() {
        let mut m = BTreeMap::new();
        for flag in [
            "backup_id=bk-0715",
            "rto_minutes=41",
            "data_verified=false",
            "restored_bytes=1048576",
            "duration_minutes=52.5",
            "x_site=Zürich",
        ] {
            let (k, v) = parse_field(flag).unwrap();
            m.insert(k, v);
        }
        kind("restore-test").check_fields(&mut m).unwrap();
        assert_eq!(
            Value::Object(m.into_iter().collect()),
            json!({
                "backup_id": "bk-0715",
                "rto_minutes": 41,
                "data_verified": false,
                "restored_bytes": 1_048_576,
                "duration_minutes": 52.5,
                "x_site": "Zürich",
            })
        );
    }

    #[test]
    fn typed_json_numbers() {
        let f = "rto_minutes";
        assert_eq!(check("restore-test", f, json!(41)).unwrap(), json!(41));
        assert_eq!(check("restore-test", f, json!(-2.5)).unwrap(), json!(-2.5));
        let whole = check("restore-test", f, json!(2.0)).unwrap();
        assert!(whole.is_i64() && whole == json!(2));
        assert!(refused("restore-test", f, json!(9_007_199_254_740_993_u64)).contains("too large"));
        assert!(refused("restore-test", f, json!(u64::MAX)).contains("too large"));
        assert!(
            refused("restore-test", f, json!(-9_007_199_254_740_992_i64)).contains("too large")
        );
        assert!(refused("restore-test", f, json!(1e19)).contains("too large"));
        for v in [json!(true), json!(null), json!([1]), json!({"a": 1})] {
            let m = refused("restore-test", f, v.clone());
            assert_eq!(
                m,
                format!("field rto_minutes of restore-test: {v} is not a number")
            );
        }
    }

    #[test]
    fn booleans() {
        let f = "data_verified";
        assert_eq!(
            check("restore-test", f, json!("true")).unwrap(),
            json!(true)
        );
        assert_eq!(
            check("restore-test", f, json!("false")).unwrap(),
            json!(false)
        );
        assert_eq!(check("restore-test", f, json!(true)).unwrap(), json!(true));
        assert_eq!(
            check("restore-test", f, json!(false)).unwrap(),
            json!(false)
        );
        for s in [
            "yes", "no", "1", "0", "True", "FALSE", "y", "n", "on", "", " true",
        ] {
            let m = refused("restore-test", f, json!(s));
            assert_eq!(
                m,
                format!(
                    "field data_verified of restore-test: {} is not a boolean",
                    json!(s)
                )
            );
        }
        for v in [json!(1), json!(0), json!(null), json!(["true"])] {
            assert!(refused("restore-test", f, v).ends_with("is not a boolean"));
        }
        let (_, h) = check("restore-test", f, json!("yes")).unwrap_err();
        assert_eq!(h, "write true or false");
    }

    #[test]
    fn dates() {
        let f = "period_start";
        for s in ["2026-10-05", "2024-02-29", "1999-12-31"] {
            assert_eq!(check("log-review", f, json!(s)).unwrap(), json!(s));
        }
        for s in [
            "2026-02-30",
            "2025-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-5",
            "26-10-05",
            "05/10/2026",
            "2026/10/05",
            "2026-10-05T00:00:00Z",
            " 2026-10-05",
            "20261005",
            "",
            "+2026-10-5",
        ] {
            let m = refused("log-review", f, json!(s));
            assert_eq!(
                m,
                format!(
                    "field period_start of log-review: {} is not a date",
                    json!(s)
                )
            );
        }
        assert!(refused("log-review", f, json!(20_261_005)).ends_with("is not a date"));
    }

    #[test]
    fn lists() {
        let f = "cve_ids";
        let cases = [
            ("CVE-2026-1", json!(["CVE-2026-1"])),
            ("a,b,c", json!(["a", "b", "c"])),
            (" a , b ,c ", json!(["a", "b", "c"])),
        ];
        for (s, want) in cases {
            assert_eq!(check("patch-run", f, json!(s)).unwrap(), want, "{s}");
        }
        for s in ["a,,b", "a,", ",a", "a, ,b"] {
            let m = refused("patch-run", f, json!(s));
            assert!(m.ends_with("has an empty item"), "{s}: {m}");
            assert!(m.starts_with("field cve_ids of patch-run: "), "{m}");
        }
        for s in ["", "  "] {
            assert!(refused("patch-run", f, json!(s)).ends_with("is an empty list"));
        }
        // Typed JSON arrays are kept as given.
        let kept = json!(["x y", " z"]);
        assert_eq!(check("patch-run", f, kept.clone()).unwrap(), kept);
        assert_eq!(check("patch-run", f, json!([])).unwrap(), json!([]));
        assert!(refused("patch-run", f, json!(["a", 1])).ends_with("item 2 is not a string"));
        assert!(refused("patch-run", f, json!(["a", " "])).ends_with("item 2 is blank"));
        assert!(refused("patch-run", f, json!(3)).ends_with("is not a list"));
        assert!(refused("patch-run", f, json!(null)).ends_with("is not a list"));
    }

    #[test]
    fn strings() {
        assert_eq!(
            check("restore-test", "ticket", json!("OPS-4411")).unwrap(),
            json!("OPS-4411")
        );
        for s in ["", "   "] {
            assert_eq!(
                refused("restore-test", "ticket", json!(s)),
                "field ticket of restore-test: value is empty"
            );
        }
        for v in [json!(45), json!(true), json!(["a"]), json!(null)] {
            let m = refused("restore-test", "backup_id", v.clone());
            assert_eq!(
                m,
                format!("field backup_id of restore-test: {v} is not a string")
            );
        }
        // A long value is shortened in the message.
        let m = refused("restore-test", "rto_minutes", json!("x".repeat(500)));
        assert!(m.len() < 150 && m.contains('…'), "{m}");
    }

    #[test]
    fn missing_required_fields_are_all_named() {
        let k = kind("restore-test");
        let mut m = BTreeMap::from([("backup_id".to_string(), json!("bk"))]);
        let e = k.check_fields(&mut m).unwrap_err();
        assert_eq!(
            e.message(),
            "missing required fields rto_minutes, data_verified of restore-test"
        );
        let h = e.hint_text().unwrap();
        assert!(
            h.starts_with(
                "restore-test requires backup_id (string), rto_minutes (number), \
                 data_verified (boolean)"
            ),
            "{h}"
        );
        assert!(h.contains("--field rto_minutes=45"), "{h}");

        let e = kind("access-review")
            .check_fields(&mut BTreeMap::new())
            .unwrap_err();
        assert_eq!(
            e.message(),
            "missing required fields accounts_reviewed, accounts_removed, reviewer of access-review"
        );
        let mut one = BTreeMap::new();
        let e = kind("backup-verification")
            .check_fields(&mut one)
            .unwrap_err();
        assert_eq!(
            e.message(),
            "missing required field backups_checked of backup-verification"
        );
        // Kinds without required fields accept no fields at all.
        let mut none = BTreeMap::new();
        kind("attestation").check_fields(&mut none).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn unknown_field_refused_with_suggestion() {
        let k = kind("restore-test");
        let mut m = restore_with("rto_minuts", json!("41"));
        m.remove("rto_minutes");
        let before = m.clone();
        let e = k.check_fields(&mut m).unwrap_err();
        assert_eq!(e.message(), "unknown field rto_minuts of restore-test");
        let h = e.hint_text().unwrap();
        assert!(h.starts_with("did you mean rto_minutes? "), "{h}");
        assert!(
            h.contains("restore-test fields are backup_id, rto_minutes, data_verified, "),
            "{h}"
        );
        assert!(
            h.contains("custom fields start with x_ (x_rto_minuts)"),
            "{h}"
        );
        assert_eq!(m, before);

        for (typo, want) in [
            ("bakup_id", "backup_id"),
            ("data_verfied", "data_verified"),
            ("rto-minutes", "rto_minutes"),
            ("tikcet", "ticket"),
        ] {
            let e = k
                .check_fields(&mut restore_with(typo, json!("1")))
                .unwrap_err();
            let h = e.hint_text().unwrap();
            assert!(
                h.starts_with(&format!("did you mean {want}? ")),
                "{typo}: {h}"
            );
        }
        let e = k
            .check_fields(&mut restore_with("colour", json!("1")))
            .unwrap_err();
        assert!(!e.hint_text().unwrap().contains("did you mean"));
    }

    #[test]
    fn custom_fields_are_kept_as_given() {
        let k = kind("restore-test");
        for v in [
            json!("45"),
            json!("yes"),
            json!(3.5),
            json!(["a"]),
            json!(""),
        ] {
            let mut m = restore_with("x_rto_minutes", v.clone());
            k.check_fields(&mut m).unwrap();
            assert_eq!(m["x_rto_minutes"], v);
            assert_eq!(m["rto_minutes"], json!(41));
        }
        // Kinds with no required fields accept custom fields alone.
        let mut m = BTreeMap::from([("x_note".to_string(), json!("n"))]);
        kind("attestation").check_fields(&mut m).unwrap();
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
                    description: "b".into()
                },
                FieldDef {
                    name: "a".into(),
                    ty: FieldType::Number,
                    required: false,
                    description: "a".into()
                },
            ]
        );
        assert_eq!(r.kinds()[1].fields[0].ty, FieldType::List);
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
