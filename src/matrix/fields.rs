//! Evidence field values: reading what the operator typed, and checking and typing it
//! against the fields its evidence kind declares (`schema/evidence-kinds.toml`; the
//! payload's `fields` member, `schema/FORMAT.md` §4 `evidence`).
//!
//! A `--field key=value` flag always gives a string; a JSONL batch gives typed JSON.
//! [`KindDef::check_fields`] converts strings to the declared types and checks typed values
//! *before* anything is signed, so the same kind of proof carries the same facts every
//! time. Every error names the field and the kind, and suggests the closest name on a typo.
//! The kinds themselves are read in [`super::kinds`].

use chrono::NaiveDate;
use serde_json::{Number, Value};
use std::collections::BTreeMap;

use super::kinds::{CUSTOM_PREFIX, FieldDef, FieldType, KindDef, with_suggestion};
use crate::error::{Error, Result};
use crate::format::payload::MAX_SAFE_INT;

// ---------------------------------------------------------------------------------------
// Reading `--field key=value`

/// Parse one `--field key=value` (the value is kept as a string).
pub fn parse_field(s: &str) -> Result<(String, Value)> {
    let Some((k, v)) = s.split_once('=') else {
        return Err(Error::new(format!("--field {s:?} has no '='"))
            .hint("write fields as key=value, e.g. --field backup_id=bk-2026-07-01"));
    };
    check_field_key(k)?;
    Ok((k.to_string(), Value::String(v.to_string())))
}

/// Check the name of a field as the operator gave it (flag or batch).
pub(crate) fn check_field_key(k: &str) -> Result<()> {
    let ok = !k.is_empty()
        && k.len() <= 64
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !k.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(Error::new(format!("invalid field name {k:?}"))
            .hint("field names use lowercase letters, digits and '_' (e.g. rto_minutes)"))
    }
}

// ---------------------------------------------------------------------------------------
// Checking evidence fields

impl KindDef {
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
                    .and_then(|v| within_bounds(def, value, v))
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

/// `v`, the typed value of `given`, if it is whole where the field says `integer` and not
/// below its `minimum`.
fn within_bounds(def: &FieldDef, given: &Value, v: Value) -> Result<Value> {
    if def.integer && v.is_number() && v.as_i64().is_none() {
        return Err(
            Error::new(format!("{} is not a whole number", show(given))).hint(format!(
                "{} is a count: write a whole number, e.g. 12",
                def.name
            )),
        );
    }
    if let (Some(min), Some(x)) = (def.minimum, v.as_f64()) {
        // Both are within ±2^53, where f64 is exact for integers.
        #[allow(clippy::cast_precision_loss)]
        let below = x < min as f64;
        if below {
            return Err(Error::new(format!("{} is less than {min}", show(given)))
                .hint(format!("{} is at least {min}", def.name)));
        }
    }
    Ok(v)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::kinds::Registry;
    use serde_json::json;

    fn reg() -> &'static Registry {
        Registry::builtin().unwrap()
    }

    /// A built-in kind, or `plain`: one optional number field `n` with no bounds.
    fn kind(name: &str) -> &'static KindDef {
        static PLAIN: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
        if name == "plain" {
            let r = PLAIN.get_or_init(|| {
                Registry::parse(
                    "[kinds.plain]\ndescription = \"p\"\nfields.n = { type = \"number\", required = false, description = \"n\" }\n",
                    "plain.toml",
                )
                .unwrap()
            });
            return r.kind(name).unwrap();
        }
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
            let got = check("plain", "n", json!(s)).unwrap();
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
        assert_eq!(check("plain", "n", json!(-2.5)).unwrap(), json!(-2.5));
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
    fn counts_are_whole_and_not_below_their_minimum() {
        assert_eq!(check("patch-run", "hosts", json!("0")).unwrap(), json!(0));
        assert_eq!(check("patch-run", "hosts", json!(12.0)).unwrap(), json!(12));
        let (m, h) = check("patch-run", "hosts", json!("-1.5")).unwrap_err();
        assert_eq!(
            m,
            r#"field hosts of patch-run: "-1.5" is not a whole number"#
        );
        assert!(h.contains("whole number"), "{h}");
        let (m, h) = check("patch-run", "hosts", json!(-1)).unwrap_err();
        assert_eq!(m, "field hosts of patch-run: -1 is less than 0");
        assert_eq!(h, "hosts is at least 0");
        let m = refused("restore-test", "rto_minutes", json!(2.5));
        assert_eq!(
            m,
            "field rto_minutes of restore-test: 2.5 is not a whole number"
        );
        // A decimal where the field allows one, but not below its minimum.
        assert_eq!(
            check("restore-test", "duration_minutes", json!("52.5")).unwrap(),
            json!(52.5)
        );
        let m = refused("restore-test", "duration_minutes", json!("-0.5"));
        assert_eq!(
            m,
            r#"field duration_minutes of restore-test: "-0.5" is less than 0"#
        );
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
    fn fields() {
        assert_eq!(
            parse_field("a_b=c=d").unwrap().1,
            Value::String("c=d".into())
        );
        assert!(parse_field("Bad=1").is_err());
        assert!(parse_field("nokey").is_err());
    }
}
