//! Unit tests of the matrix module.

use super::*;

const SEEDS: [(&str, &str, usize); 4] = [
    (
        "cloudtemple-vm-instances.toml",
        include_str!("../../schema/matrices/cloudtemple-vm-instances.toml"),
        79,
    ),
    (
        "danubedata.toml",
        include_str!("../../schema/matrices/danubedata.toml"),
        58,
    ),
    (
        "nexgen.toml",
        include_str!("../../schema/matrices/nexgen.toml"),
        28,
    ),
    (
        "service-models.toml",
        include_str!("../../schema/matrices/service-models.toml"),
        33,
    ),
];

#[test]
fn seeds_parse() {
    for (name, text, n) in SEEDS {
        let m = match Matrix::parse(text, name) {
            Ok(m) => m,
            Err(e) => panic!("{}\nhint: {:?}", e.message(), e.hint_text()),
        };
        assert_eq!(m.items.len(), n, "{name}");
    }
}

/// A small valid matrix; tests replace its lines to make it wrong.
const BASE: &str = r#"[matrix]
id = "m"
title = "T"
version = "1"
source = "S"
effective = "2026-01-01"

[roles.provider]
name = "P"
[roles.customer]
name = "C"

[[variants]]
id = "ext"
title = "Ext"

[[sections]]
id = "backup"
title = "Backup"

[[items]]
id = "backup.restore"
section = "backup"
activity = "Restore"
raci = { customer = "RA", provider = "I" }
cadence = "quarterly"
evidence_kinds = ["restore-test"]
"#;

/// BASE with line `n` (1-based) replaced by `with` (which may hold several lines).
fn edit(n: usize, with: &str) -> String {
    let mut lines: Vec<&str> = BASE.lines().collect();
    lines[n - 1] = with;
    lines.join("\n") + "\n"
}

/// The error (message, hint) of parsing `text` as `m.toml`.
fn err(text: &str) -> (String, String) {
    let e = Matrix::parse(text, "m.toml").expect_err("should be refused");
    (
        e.message().to_string(),
        e.hint_text().unwrap_or_default().to_string(),
    )
}

#[test]
fn base_is_valid() {
    let m = Matrix::parse(BASE, "m.toml").unwrap();
    assert_eq!(m.items.len(), 1);
    assert_eq!(m.items[0].ownership, Ownership::Customer);
}

