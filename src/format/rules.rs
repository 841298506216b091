//! The rules of payload members (`schema/FORMAT.md` §1, §4): one owner for every rule, so
//! that the writers (which refuse bad input with a hint) and `verify` (which reports a
//! signed payload that breaks a rule as a finding) cannot drift apart.
//!
//! Each function returns `Err(why)`, a sentence fragment that names the member and the
//! rule (`party name contains a control character (§4: …)`); writers wrap it in an
//! [`Error`](crate::error::Error) with a hint, `verify` reports it at the entry.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::format::entry::parse_time;

/// How far after the ledger time a claimed `performed_at` may lie (clock skew allowance,
/// §4 `evidence`).
pub const MAX_FUTURE: Duration = Duration::minutes(5);
/// Longest party id, in bytes.
pub const MAX_PARTY_ID: usize = 64;
/// Longest party name, in bytes.
pub const MAX_PARTY_NAME: usize = 200;
/// Longest item id, in bytes.
pub const MAX_ITEM: usize = 200;
/// Longest evidence kind and field name, in bytes.
pub const MAX_NAME: usize = 64;
/// Longest evidence note, in bytes.
pub const MAX_NOTE: usize = 8192;
/// Longest reason (co-signature, retraction, waiver, revocation) and delegation note.
pub const MAX_REASON: usize = 4096;
/// Most fields one piece of evidence may carry.
pub const MAX_FIELDS: usize = 64;
/// Longest string field value, and longest list item, in bytes.
pub const MAX_FIELD_TEXT: usize = 4096;
/// Most bytes a list field may hold: its items together, each counting one byte more.
pub const MAX_FIELD_LIST: usize = 16 * 1024;
/// Longest artefact name, in bytes.
pub const MAX_ARTIFACT_NAME: usize = 255;
/// Longest sign-off signatory (name and title), in bytes.
pub const MAX_SIGNATORY: usize = 200;
/// Longest management response, in bytes (as an evidence note).
pub const MAX_RESPONSE: usize = MAX_NOTE;

type Rule = std::result::Result<(), String>;

/// A party id: `[a-z0-9][a-z0-9-]*`, at most 64 bytes.
pub fn party_id(id: &str) -> Rule {
    let ok = !id.is_empty()
        && id.len() <= MAX_PARTY_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid party id {id:?} (§4: [a-z0-9][a-z0-9-]*, at most {MAX_PARTY_ID} bytes)"
        ))
    }
}

/// A single-line name: not blank, at most `max` bytes, no control character at all.
fn line(what: &str, s: &str, max: usize) -> Rule {
    let rule = format!("§4: not empty, at most {max} bytes, no control characters");
    if s.trim().is_empty() {
        Err(format!("{what} is empty ({rule})"))
    } else if s.len() > max {
        Err(format!("{what} is longer than {max} bytes ({rule})"))
    } else if s.chars().any(char::is_control) {
        Err(format!("{what} contains a control character ({rule})"))
    } else {
        Ok(())
    }
}

/// A party's display name.
pub fn party_name(name: &str) -> Rule {
    line("party name", name, MAX_PARTY_NAME)
}

/// A matrix item id (evidence, waiver, delegation).
pub fn item(item: &str) -> Rule {
    line("item", item, MAX_ITEM)
}

/// A sign-off's signatory: the person who signs and their title (`Jane Roe, CISO`).
pub fn signatory(s: &str) -> Rule {
    line("signatory", s, MAX_SIGNATORY)
}

/// A list of ids that must be sorted and each given once (an adoption's `services`).
pub fn sorted_unique(what: &str, ids: &[String]) -> Rule {
    match ids.windows(2).find(|w| w[0] >= w[1]) {
        Some(w) if w[0] == w[1] => Err(format!("{what} names {:?} twice (§4: each once)", w[0])),
        Some(w) => Err(format!(
            "{what} are not sorted: {:?} before {:?} (§4: sorted, each once)",
            w[0], w[1]
        )),
        None => Ok(()),
    }
}

/// Free text (a note or a reason): not blank, at most `max` bytes, no control characters
/// but line feed and tab.
pub fn text(what: &str, s: &str, max: usize) -> Rule {
    let rule =
        format!("§4: not empty, at most {max} bytes, no control characters but line feed and tab");
    if s.trim().is_empty() {
        Err(format!("{what} is empty ({rule})"))
    } else if s.len() > max {
        Err(format!(
            "{what} is {} bytes, longer than {max} ({rule})",
            s.len()
        ))
    } else if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        Err(format!("{what} contains control characters ({rule})"))
    } else {
        Ok(())
    }
}

/// `[a-z]` followed by `allowed` bytes, at most [`MAX_NAME`] bytes.
fn word(s: &str, allowed: impl Fn(u8) -> bool) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && s.as_bytes()[0].is_ascii_lowercase()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || allowed(b))
}

/// An evidence kind: `[a-z][a-z0-9-]*`, at most 64 bytes.
pub fn evidence_kind(kind: &str) -> Rule {
    if word(kind, |b| b == b'-') {
        Ok(())
    } else {
        Err(format!(
            "invalid evidence kind {kind:?} (§4: [a-z][a-z0-9-]*, at most {MAX_NAME} bytes)"
        ))
    }
}

/// An evidence field name: `[a-z][a-z0-9_]*`, at most 64 bytes.
pub fn field_name(k: &str) -> Rule {
    if word(k, |b| b == b'_') {
        Ok(())
    } else {
        Err(format!(
            "invalid field name {k:?} (§4: [a-z][a-z0-9_]*, at most {MAX_NAME} bytes)"
        ))
    }
}

/// An evidence field value: a string, number, boolean or array of strings, within the size
/// limits; strings without control characters but line feed.
pub fn field_value(k: &str, v: &Value) -> Rule {
    let rule = "§4: a string, number, boolean or array of strings";
    let text_ok = |s: &str| !s.chars().any(|c| c.is_control() && c != '\n');
    let (size, max) = match v {
        Value::String(s) if text_ok(s) => (s.len(), MAX_FIELD_TEXT),
        Value::Number(_) | Value::Bool(_) => (0, 0),
        Value::Array(a) => {
            let mut size = 0;
            for x in a {
                match x {
                    Value::String(s) if s.len() > MAX_FIELD_TEXT => {
                        return Err(format!(
                            "field {k}: a list item is {} bytes; at most {MAX_FIELD_TEXT} are allowed",
                            s.len()
                        ));
                    }
                    Value::String(s) if text_ok(s) => size += s.len() + 1,
                    Value::String(_) => {
                        return Err(format!(
                            "field {k}: a list item contains control characters"
                        ));
                    }
                    _ => {
                        return Err(format!(
                            "field {k}: value is a list of non-strings ({rule})"
                        ));
                    }
                }
            }
            (size, MAX_FIELD_LIST)
        }
        Value::String(_) => return Err(format!("field {k}: value contains control characters")),
        _ => return Err(format!("field {k}: value is not allowed ({rule})")),
    };
    if size > max {
        return Err(format!(
            "field {k}: value is {size} bytes; at most {max} are allowed"
        ));
    }
    crate::format::payload::check_numbers(v).map_err(|e| format!("field {k}: {}", e.message()))
}

/// The fields of one piece of evidence: their number, then each name and value.
pub fn fields(fields: &BTreeMap<String, Value>) -> Rule {
    if fields.len() > MAX_FIELDS {
        return Err(format!(
            "{} fields; evidence carries at most {MAX_FIELDS}",
            fields.len()
        ));
    }
    for (k, v) in fields {
        field_name(k)?;
        field_value(k, v)?;
    }
    Ok(())
}

/// Why `name` may not be recorded as an artefact name (§4: a plain file name, not empty,
/// at most 255 bytes, without `/`, `..` or control characters), or `None`.
pub fn artifact_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.len() > MAX_ARTIFACT_NAME {
        Some("is longer than 255 bytes")
    } else if name.contains('/') {
        Some("contains '/'")
    } else if name.contains("..") {
        Some("contains '..'")
    } else if name.chars().any(char::is_control) {
        Some("contains a control character")
    } else {
        None
    }
}

/// 64 lowercase hex digits (§1: uppercase hex is malformed).
pub fn hex64(what: &str, s: &str) -> Rule {
    if crate::crypto::parse_hex32(s).is_some() {
        Ok(())
    } else {
        Err(format!(
            "{what} {s:?} is not 64 lowercase hex digits (§1: hex is lowercase)"
        ))
    }
}

/// A time spelt `YYYY-MM-DDTHH:MM:SSZ` (§1).
pub fn time(what: &str, s: &str) -> std::result::Result<DateTime<Utc>, String> {
    parse_time(s).ok_or_else(|| {
        format!("{what} {s:?} is not a time spelt YYYY-MM-DDTHH:MM:SSZ (§1: exactly 20 bytes)")
    })
}

/// A date spelt `YYYY-MM-DD`, exactly.
pub fn date(what: &str, s: &str) -> std::result::Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|d| d.format("%Y-%m-%d").to_string() == s)
        .ok_or_else(|| format!("{what} {s:?} is not a date spelt YYYY-MM-DD"))
}

/// The earliest `performed_at`: 1970-01-01T00:00:00Z.
pub const EARLIEST_PERFORMED_AT: DateTime<Utc> = DateTime::UNIX_EPOCH;

/// A claimed `performed_at` against the time it is recorded at (the entry's ledger time):
/// not before 1970, at most [`MAX_FUTURE`] after.
pub fn performed_at(t: DateTime<Utc>, recorded: DateTime<Utc>) -> Rule {
    use crate::format::entry::format_time;
    if t > recorded + MAX_FUTURE {
        return Err(format!(
            "performed_at {} is after the ledger time {} (§4: at most {} minutes after it)",
            format_time(&t),
            format_time(&recorded),
            MAX_FUTURE.num_minutes()
        ));
    }
    if t < EARLIEST_PERFORMED_AT {
        return Err(format!(
            "performed_at {} is before {} (§4)",
            format_time(&t),
            format_time(&EARLIEST_PERFORMED_AT)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_texts() {
        assert!(party_name("Acme Retail SA").is_ok());
        for bad in ["Acme\tRetail", "Acme\nRetail", "", " "] {
            assert!(party_name(bad).is_err(), "{bad:?}");
        }
        assert!(party_name(&"a".repeat(201)).is_err());
        assert!(item("backup.restore-tests").is_ok());
        assert!(item("a\tb").is_err());
        assert!(text("note", "two\nlines\tok", 100).is_ok());
        assert!(text("note", "bell\u{7}", 10).is_err());
        assert!(evidence_kind("patch-run").is_ok());
        assert!(evidence_kind("Patch_Run").is_err());
        assert!(field_name("rto_minutes").is_ok());
        assert!(field_name("Hosts").is_err());
        assert!(field_value("x", &serde_json::json!({"a": 1})).is_err());
        assert!(field_value("x", &serde_json::json!([1, 2])).is_err());
        assert!(field_value("x", &serde_json::json!(["a", "b"])).is_ok());
        assert!(hex64("sha256", &"AB".repeat(32)).is_err());
        assert!(date("effective", "2026-01-01").is_ok());
        assert!(date("effective", "2026-1-01").is_err());
        assert!(time("performed_at", "2026-07-01").is_err());
        assert!(signatory("Jane Roe, CISO").is_ok());
        assert!(signatory("Jane\nRoe").is_err());
        assert!(signatory(&"a".repeat(201)).is_err());
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(sorted_unique("services", &ids(&["a", "b"])).is_ok());
        assert!(sorted_unique("services", &ids(&["b", "a"])).is_err());
        assert!(sorted_unique("services", &ids(&["a", "a"])).is_err());
    }
}
