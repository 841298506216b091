//! The ecosystem's formats: OSCAL assessment results out ([`oscal_out`]), OSCAL system
//! security plans in ([`oscal_in`]), DSSE envelopes signed the way compliance-trestle
//! signs ([`dsse`]) and in-toto attestations of evidence entries ([`intoto`]).
//! The mappings are specified in `schema/FORMAT.md` §18 and `schema/MATRIX.md`
//! ("Importing OSCAL security plans").

pub mod dsse;
pub mod intoto;
pub mod oscal_in;
pub mod oscal_out;

use serde_json::{Value, json};

/// The namespace of vouch's own OSCAL property names (`ns` of every `prop` vouch writes).
pub const OSCAL_NS: &str = "urn:vouch:oscal";

/// The OSCAL version vouch writes.
pub const OSCAL_VERSION: &str = "1.1.2";

/// The namespace of every UUID vouch derives: the RFC 9562 version 5 UUID of the URL
/// namespace and the name `urn:vouch:oscal`.
pub fn uuid_namespace() -> uuid::Uuid {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, OSCAL_NS.as_bytes())
}

/// A UUID derived from `parts` (RFC 9562 version 5, name-based, in [`uuid_namespace`]; the
/// name is the parts each followed by a NUL byte). OSCAL accepts version 4 (random) and 5
/// UUIDs only; the same parts always give the same UUID.
pub fn derived_uuid(parts: &[&str]) -> String {
    let mut name = Vec::new();
    for p in parts {
        name.extend_from_slice(p.as_bytes());
        name.push(0);
    }
    uuid::Uuid::new_v5(&uuid_namespace(), &name).to_string()
}

/// An OSCAL `prop` in vouch's namespace, or `None` when the value is empty (OSCAL
/// property values are non-empty and trimmed; inner line breaks become spaces).
pub fn prop(name: &str, value: &str) -> Option<Value> {
    let v = value.split_whitespace().collect::<Vec<_>>().join(" ");
    (!v.is_empty()).then(|| json!({"name": name, "ns": OSCAL_NS, "value": v}))
}

/// The props that have a value.
pub fn props<const N: usize>(list: [Option<Value>; N]) -> Vec<Value> {
    list.into_iter().flatten().collect()
}

/// A one-line OSCAL `markup-line` (titles): line breaks become spaces; `-` when empty.
pub fn line(s: &str) -> String {
    let v = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if v.is_empty() { "-".to_string() } else { v }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_uuids_are_version_5_and_stable() {
        let a = derived_uuid(&["ledger", "observation", "7"]);
        assert_eq!(a, derived_uuid(&["ledger", "observation", "7"]));
        assert_ne!(a, derived_uuid(&["ledger", "observation", "8"]));
        // Parts are separated: ("ab","c") is not ("a","bc").
        assert_ne!(derived_uuid(&["ab", "c"]), derived_uuid(&["a", "bc"]));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "5");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn props_are_trimmed_and_never_empty() {
        assert_eq!(prop("x", "  "), None);
        assert_eq!(prop("x", " a\nb ").unwrap()["value"], "a b");
        assert_eq!(line("\n"), "-");
    }
}
