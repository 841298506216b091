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

/// BASE with several lines replaced (line numbers refer to BASE).
fn edits(changes: &[(usize, &str)]) -> String {
    let mut lines: Vec<&str> = BASE.lines().collect();
    for (n, with) in changes {
        lines[n - 1] = with;
    }
    lines.join("\n") + "\n"
}

fn assert_err(text: &str, message: &str, hint_part: &str) {
    let (m, h) = err(text);
    assert_eq!(m, message, "hint: {h}");
    assert!(h.contains(hint_part), "hint {h:?} lacks {hint_part:?}");
}

// ----- every seed matrix -------------------------------------------------------------

#[test]
fn seeds_roundtrip_through_toml() {
    for (name, text, _) in SEEDS {
        let m = Matrix::parse(text, name).unwrap();
        let back = Matrix::parse(&m.to_toml(), "out.toml")
            .unwrap_or_else(|e| panic!("{name}: {}", e.message()));
        assert_eq!(back, m, "{name}");
    }
}

#[test]
fn seeds_roundtrip_through_csv() {
    for (name, text, _) in SEEDS {
        let m = Matrix::parse(text, name).unwrap();
        let csv = m.to_csv().unwrap();
        let back = Matrix::from_csv_with_header(&csv, "x.csv", Some((text, name)))
            .unwrap_or_else(|e| panic!("{name}: {}", e.message()));
        assert_eq!(back, m, "{name}");
        assert!(diff(&m, &back).is_empty());
        // The brief's signature names the header `header` in errors; same result.
        assert_eq!(Matrix::from_csv(&csv, "x.csv", Some(text)).unwrap(), m);
    }
}

#[test]
fn seeds_import_without_header_keeps_items() {
    for (name, text, _) in SEEDS {
        let m = Matrix::parse(text, name).unwrap();
        let back = Matrix::from_csv(&m.to_csv().unwrap(), "Seed Export.csv", None).unwrap();
        assert_eq!(back.items, m.items, "{name}");
        assert_eq!(back.header.id, "seed-export");
        assert!(back.header.title.starts_with("TODO"));
        assert_eq!(
            back.roles.iter().map(|r| r.id).collect::<Vec<_>>(),
            [RoleId::Provider, RoleId::Customer]
        );
        let ids = |v: &[Variant]| v.iter().map(|v| v.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&back.variants), ids(&m.variants), "{name}");
        // The skeleton is a valid matrix file.
        assert_eq!(Matrix::parse(&back.to_toml(), "s.toml").unwrap(), back);
    }
}

#[test]
fn seed_details() {
    let m = Matrix::parse(SEEDS[2].1, "nexgen.toml").unwrap();
    assert_eq!(m.sections.len(), 3);
    assert_eq!(m.variants[0].id, "extended-support");
    let os = m.item("virtual-machines.customer-os").unwrap();
    assert_eq!(os.unless_variant.as_deref(), Some("extended-support"));
    assert!(os.applies(&[]));
    assert!(!os.applies(&["extended-support".to_string()]));
    let p = m.item("virtual-machines.provider-guest-os").unwrap();
    assert!(!p.applies(&[]));
    assert!(p.applies(&["extended-support".to_string()]));
    let d = Matrix::parse(SEEDS[1].1, "danubedata.toml").unwrap();
    let i = d.item("vps.backups-snapshots").unwrap();
    assert_eq!(i.ownership, Ownership::Shared);
    assert_eq!(i.duty_holders(), [RoleId::Provider, RoleId::Customer]);
    assert_eq!(i.service.as_deref(), Some("vps"));
    let c = Matrix::parse(SEEDS[0].1, "ct.toml").unwrap();
    assert_eq!(c.header.effective.to_string(), "2026-01-01");
    assert_eq!(c.role_name(RoleId::Provider), Some("Cloud Temple"));
    let cap = c.item("backup.capacity").unwrap();
    assert_eq!(cap.duty_holders(), [RoleId::Customer]);
    assert_eq!(cap.raci[&RoleId::Provider].to_string(), "C");
}

// ----- errors, each with its line:column ---------------------------------------------

#[test]
fn malformed_toml() {
    let (m, h) = err(&edit(3, "title = \"T"));
    assert!(m.starts_with("m.toml:3:"), "{m}");
    assert!(m.contains("malformed TOML"), "{m}");
    assert!(h.contains("MATRIX.md"));
    let (m, _) = err(&edit(4, "title = \"again\""));
    assert_eq!(m, "m.toml:4:1: malformed TOML: duplicate key");
}

#[test]
fn unknown_keys() {
    assert_err(
        &edit(26, "cadense = \"quarterly\""),
        "m.toml:26:1: unknown key \"cadense\" in [[items]]",
        "cadence",
    );
    assert_err(
        &edit(5, "sourc = \"S\""),
        "m.toml:5:1: unknown key \"sourc\" in [matrix]",
        "id, title, version, source, effective, description",
    );
    assert_err(
        &format!("{BASE}[extra]\nx = 1\n"),
        "m.toml:28:2: unknown key \"extra\" in the matrix file",
        "matrix, roles, services, variants, sections, items",
    );
    assert_err(
        &edit(9, "name = \"P\"\nlogo = \"x\""),
        "m.toml:10:1: unknown key \"logo\" in [roles.provider]",
        "name",
    );
}

#[test]
fn unknown_role() {
    assert_err(
        &edit(25, "raci = { custmer = \"RA\" }"),
        "m.toml:25:10: unknown role \"custmer\"",
        "roles are provider, customer, third-party",
    );
    assert_err(
        &edit(10, "[roles.custmer]"),
        "m.toml:10:8: unknown role \"custmer\"",
        "roles are provider, customer, third-party",
    );
    assert_err(
        &edit(25, "statements = { auditor = \"x\" }"),
        "m.toml:25:16: unknown role \"auditor\"",
        "third-party",
    );
}

#[test]
fn undeclared_role() {
    assert_err(
        &edit(25, "raci = { customer = \"RA\", third-party = \"I\" }"),
        "m.toml:25:27: role \"third-party\" is not declared",
        "[roles.third-party]",
    );
    let ok = edits(&[
        (11, "name = \"C\"\n[roles.third-party]\nname = \"MSP\""),
        (25, "raci = { customer = \"RA\", third-party = \"I\" }"),
    ]);
    let m = Matrix::parse(&ok, "m.toml").unwrap();
    assert_eq!(m.roles.len(), 3);
    assert_eq!(m.roles[2].name, "MSP");
}

#[test]
fn missing_role() {
    assert_err(
        &edits(&[(10, ""), (11, "")]),
        "m.toml:8:2: missing role \"customer\"",
        "[roles.customer]",
    );
}

#[test]
fn bad_letters() {
    assert_err(
        &edit(25, "raci = { customer = \"RX\" }"),
        "m.toml:25:21: raci customer: unknown letter 'X' in \"RX\"",
        "letters are R, A, C and I",
    );
    assert_err(
        &edit(25, "raci = { customer = \"ra\" }"),
        "m.toml:25:21: raci customer: unknown letter 'r' in \"ra\"",
        "R, A, C and I",
    );
    assert_err(
        &edit(25, "raci = { customer = \"RAR\" }"),
        "m.toml:25:21: raci customer: letter R is repeated in \"RAR\"",
        "at most once",
    );
}

#[test]
fn two_accountable_roles() {
    assert_err(
        &edit(25, "raci = { provider = \"A\", customer = \"RA\" }"),
        "m.toml:25:37: item \"backup.restore\" has two accountable roles: provider and customer",
        "at most one role holds A",
    );
}

#[test]
fn duplicate_ids() {
    let twice = format!(
        "{BASE}\n[[items]]\nid = \"backup.restore\"\nsection = \"backup\"\nactivity = \"x\"\nraci = {{ provider = \"R\" }}\n"
    );
    assert_err(
        &twice,
        "m.toml:30:6: duplicate item id \"backup.restore\" (first at line 22)",
        "unique",
    );
    assert_err(
        &edit(20, "[[sections]]\nid = \"backup\"\ntitle = \"Again\"\n"),
        "m.toml:21:6: duplicate section id \"backup\" (first at line 18)",
        "unique",
    );
    assert_err(
        &edit(16, "[[variants]]\nid = \"ext\"\ntitle = \"Again\"\n"),
        "m.toml:17:6: duplicate variant id \"ext\" (first at line 14)",
        "unique",
    );
}

#[test]
fn unknown_references() {
    assert_err(
        &edit(23, "section = \"bakup\""),
        "m.toml:23:11: unknown section \"bakup\"",
        "sections are backup",
    );
    assert_err(
        &edit(23, "section = \"backup\"\nservice = \"vps\""),
        "m.toml:24:11: unknown service \"vps\"",
        "declares no services",
    );
    assert_err(
        &edit(19, "title = \"Backup\"\nservice = \"vps\""),
        "m.toml:20:11: unknown service \"vps\"",
        "declares no services",
    );
    assert_err(
        &edit(26, "cadence = \"quarterly\"\nvariant = \"extended\""),
        "m.toml:27:11: unknown variant \"extended\"",
        "variants are ext",
    );
    assert_err(
        &edit(26, "cadence = \"quarterly\"\nunless_variant = \"extended\""),
        "m.toml:27:18: unknown variant \"extended\"",
        "variants are ext",
    );
}

#[test]
fn bad_cadence() {
    for (bad, col) in [("weekly", 11), ("P0M", 11), ("PT1H", 11)] {
        assert_err(
            &edit(26, &format!("cadence = \"{bad}\"")),
            &format!("m.toml:26:{col}: bad cadence \"{bad}\""),
            "monthly, quarterly, yearly, on-event, or an ISO 8601 duration of years, months, weeks or days such as P6M, P1Y, P2W, P14D",
        );
    }
}

#[test]
fn unknown_evidence_kind() {
    let (m, h) = err(&edit(
        27,
        "evidence_kinds = [\"restore-test\", \"restore-tset\"]",
    ));
    assert_eq!(m, "m.toml:27:35: unknown evidence kind \"restore-tset\"");
    assert!(
        h.starts_with("known kinds are restore-test, backup-verification, patch-run"),
        "{h}"
    );
    for k in [
        "access-review",
        "vulnerability-scan",
        "log-review",
        "config-review",
        "incident-drill",
        "attestation",
    ] {
        assert!(h.contains(k), "{h}");
    }
}

#[test]
fn item_without_duty() {
    // An item whose roles are all absent or N/A applies to nobody: kept, no duty holder,
    // ownership not-applicable (issue 10: N/A never makes a phantom duty).
    for line in [
        "",
        "raci = { customer = \"\" }",
        "raci = { customer = \"N/A\" }",
        "statements = { customer = \"N/A\", provider = \"—\" }",
        "statements = { customer = \" - \" }\nraci = { provider = \"n/a\" }",
    ] {
        let m =
            Matrix::parse(&edit(25, line), "m.toml").unwrap_or_else(|e| panic!("{line}: {e:?}"));
        let item = &m.items[0];
        assert!(item.applies_to_nobody(), "{line}");
        assert!(item.duty_holders().is_empty(), "{line}");
        assert_eq!(item.derived_ownership(), Ownership::NotApplicable, "{line}");
    }
    // N/A beside a real duty drops only that role.
    let m = Matrix::parse(
        &edit(
            25,
            "statements = { customer = \"Restore.\", provider = \"N/A\" }",
        ),
        "m.toml",
    )
    .unwrap();
    assert_eq!(m.items[0].duty_holders(), [RoleId::Customer]);
    assert!(!m.items[0].statements.contains_key(&RoleId::Provider));
    // Statements alone are enough.
    let m = Matrix::parse(
        &edit(25, "statements = { customer = \"Restore.\" }"),
        "m.toml",
    )
    .unwrap();
    assert_eq!(m.items[0].duty_holders(), [RoleId::Customer]);
}

#[test]
fn missing_keys() {
    assert_err(
        &edit(24, ""),
        "m.toml:21:1: missing key \"activity\" in [[items]]",
        "activity",
    );
    assert_err(
        &edit(3, ""),
        "m.toml:1:1: missing key \"title\" in [matrix]",
        "title",
    );
    assert_err(
        &edit(19, ""),
        "m.toml:17:1: missing key \"title\" in [[sections]]",
        "title",
    );
    assert_err(
        &edit(1, "[matrx]"),
        "m.toml:1:2: unknown key \"matrx\" in the matrix file",
        "matrix",
    );
    let (m, _) = err("[roles.provider]\nname = \"P\"\n[roles.customer]\nname = \"C\"\n");
    assert_eq!(m, "m.toml:1:1: missing [matrix] table");
}

#[test]
fn wrong_types_and_values() {
    assert_err(
        &edit(4, "version = 1"),
        "m.toml:4:11: version must be a string, not integer",
        "version = \"…\"",
    );
    assert_err(
        &edit(4, "version = \"\""),
        "m.toml:4:11: version of [matrix] is empty",
        "version",
    );
    assert_err(
        &edit(6, "effective = \"2026-13-01\""),
        "m.toml:6:13: effective must be a date (YYYY-MM-DD)",
        "2026-01-01",
    );
    assert_err(
        &edit(6, "effective = 2026-01-01T10:00:00Z"),
        "m.toml:6:13: effective must be a date (YYYY-MM-DD)",
        "2026-01-01",
    );
    assert_err(
        &edit(2, "id = \"My Matrix\""),
        "m.toml:2:6: invalid matrix id \"My Matrix\"",
        "lowercase",
    );
    assert_err(
        &edit(22, "id = \"Backup.restore\""),
        "m.toml:22:6: invalid item id \"Backup.restore\"",
        "lowercase",
    );
    assert_err(
        &edit(26, "cadence = \"quarterly\"\ngrace_days = 400"),
        "m.toml:27:14: grace_days 400 is out of range",
        "0 to 366",
    );
    assert_err(
        &edit(26, "cadence = \"quarterly\"\ngrace_days = -1"),
        "m.toml:27:14: grace_days -1 is out of range",
        "0 to 366",
    );
    assert_err(
        &edit(26, "cadence = \"quarterly\"\ngrace_days = \"14\""),
        "m.toml:27:14: grace_days must be an integer, not string",
        "grace_days = 14",
    );
    assert_err(
        &edit(27, "evidence_kinds = \"restore-test\""),
        "m.toml:27:18: evidence_kinds must be an array of strings, not string",
        "[",
    );
    assert_err(
        &edit(26, "cadence = \"quarterly\"\nownership = \"both\""),
        "m.toml:27:13: unknown ownership \"both\"",
        "provider, customer, shared, third-party or not-applicable",
    );
    // A blank statement means no duty for that role (the item then applies to nobody).
    let m = Matrix::parse(&edit(25, "statements = { customer = \" \" }"), "m.toml").unwrap();
    assert!(m.items[0].applies_to_nobody());
    assert_err(
        &edit(26, "cadence = \"P1M2D\""),
        "m.toml:26:11: cadence \"P1M2D\" mixes months and days",
        "not both",
    );
    assert_err(
        &edit(26, "cadence = \"quarterly\"\nnotes = [\"\"]"),
        "m.toml:27:10: empty entry in notes",
        "remove",
    );
    assert_err(
        &edit(17, "[sections]"),
        "m.toml:17:1: sections must be an array of tables, not table",
        "[[sections]]",
    );
    assert_err(
        &edit(
            26,
            "cadence = \"quarterly\"\nvariant = \"ext\"\nunless_variant = \"ext\"",
        ),
        "m.toml:28:18: item \"backup.restore\" has variant and unless_variant both \"ext\"",
        "never applies",
    );
    // A TOML date is as good as a string.
    let m = Matrix::parse(&edit(6, "effective = 2026-01-01"), "m.toml").unwrap();
    assert_eq!(m.header.effective.to_string(), "2026-01-01");
}

#[test]
fn first_error_in_file_order_wins() {
    // The item's unknown section (line 23) comes after the bad version (line 4).
    let text = edits(&[(4, "version = 1"), (23, "section = \"nope\"")]);
    assert!(err(&text).0.starts_with("m.toml:4:11:"));
    // Keys of an inline table are checked in file order, not alphabetical order.
    let text = edit(25, "raci = { provider = \"X\", customer = \"Q\" }");
    assert!(
        err(&text).0.starts_with("m.toml:25:21: raci provider"),
        "{}",
        err(&text).0
    );
}

#[test]
fn columns_count_characters() {
    let text = edit(24, "activity = \"Récupérer\" ; x");
    let (m, _) = err(&text);
    assert!(m.starts_with("m.toml:24:"), "{m}");
    let text = edit(25, "raci = { customer = \"RA\", é = \"x\" }");
    let (m, _) = err(&text);
    assert!(m.starts_with("m.toml:25:27: "), "{m}");
}

#[test]
fn not_utf8_and_missing_file() {
    let dir = tempfile_dir();
    let p = dir.join("bad.toml");
    std::fs::write(&p, b"[matrix]\nid = \"\xff\"\n").unwrap();
    let e = Matrix::load(&p).unwrap_err();
    assert!(e.message().contains("not UTF-8"), "{}", e.message());
    let e = Matrix::load(&dir.join("nope.toml")).unwrap_err();
    assert!(
        e.message()
            .ends_with("nope.toml: no such file or directory")
    );
    let p = dir.join("ok.toml");
    std::fs::write(&p, BASE).unwrap();
    let (m, bytes) = Matrix::load(&p).unwrap();
    assert_eq!(bytes, BASE.as_bytes());
    assert_eq!(m.header.id, "m");
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "vouch-matrix-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

// ----- cadence -----------------------------------------------------------------------

#[test]
fn cadence_parsing() {
    assert_eq!(Cadence::parse("monthly"), Some(Cadence::Monthly));
    assert_eq!(Cadence::parse("quarterly"), Some(Cadence::Quarterly));
    assert_eq!(Cadence::parse("yearly"), Some(Cadence::Yearly));
    assert_eq!(Cadence::parse("on-event"), Some(Cadence::OnEvent));
    let every = |years, months, weeks, days| Cadence::Every {
        years,
        months,
        weeks,
        days,
    };
    for (s, c, step) in [
        ("P6M", every(0, 6, 0, 0), (6, 0)),
        ("P1Y", every(1, 0, 0, 0), (12, 0)),
        ("P2W", every(0, 0, 2, 0), (0, 14)),
        ("P14D", every(0, 0, 0, 14), (0, 14)),
        ("P1Y6M", every(1, 6, 0, 0), (18, 0)),
        ("P1M2W3D", every(0, 1, 2, 3), (1, 17)),
    ] {
        assert_eq!(Cadence::parse(s), Some(c), "{s}");
        assert_eq!(c.as_str(), s);
        assert_eq!(c.to_string(), s);
        assert_eq!(c.step(), Some(step), "{s}");
    }
    assert_eq!(Cadence::Monthly.step(), Some((1, 0)));
    assert_eq!(Cadence::Quarterly.step(), Some((3, 0)));
    assert_eq!(Cadence::Yearly.step(), Some((12, 0)));
    assert_eq!(Cadence::OnEvent.step(), None);
    assert_eq!(Cadence::OnEvent.as_str(), "on-event");
    for bad in [
        "",
        "P",
        "P0M",
        "P0D",
        "PT1H",
        "P1DT1H",
        "weekly",
        "Monthly",
        "p6m",
        "P6m",
        "P06M",
        "P1Y0M",
        "P6M1Y",
        "P1M1M",
        "P-1M",
        "P1.5M",
        "P1",
        "6M",
        " P6M",
        "P6M ",
        "P99999999999M",
        "P400000000Y",
    ] {
        assert_eq!(Cadence::parse(bad), None, "{bad:?}");
    }
}

// ----- letters, ownership, duty holders ----------------------------------------------

#[test]
fn letters() {
    let l = Letters::parse("AR").unwrap();
    assert_eq!(l.to_string(), "RA");
    assert_eq!(Letters::parse("ICAR").unwrap().to_string(), "RACI");
    assert!(Letters::parse("").unwrap().is_empty());
    assert_eq!(Letters::parse("RR"), None);
    assert_eq!(Letters::parse("X"), None);
    assert_eq!(Letters::parse("R A"), None);
}

fn item_with(raci: &[(RoleId, &str)], statements: &[RoleId]) -> Item {
    Item {
        id: "s.x".into(),
        section: "s".into(),
        service: None,
        activity: "x".into(),
        raci: raci
            .iter()
            .map(|(r, l)| (*r, Letters::parse(l).unwrap()))
            .collect(),
        statements: statements
            .iter()
            .map(|r| (*r, "duty".to_string()))
            .collect(),
        ownership: Ownership::NotApplicable,
        cadence: None,
        grace_days: 0,
        evidence_kinds: vec![],
        refs: vec![],
        notes: vec![],
        variant: None,
        unless_variant: None,
    }
}

#[test]
fn duty_holders_and_ownership() {
    use RoleId::{Customer, Provider, ThirdParty};
    type Case<'a> = (
        &'a [(RoleId, &'a str)],
        &'a [RoleId],
        &'a [RoleId],
        Ownership,
    );
    let cases: &[Case<'_>] = &[
        (
            &[(Customer, "RA"), (Provider, "I")],
            &[],
            &[Customer],
            Ownership::Customer,
        ),
        (&[(Provider, "RA")], &[], &[Provider], Ownership::Provider),
        (
            &[(Provider, "R"), (Customer, "R")],
            &[],
            &[Provider, Customer],
            Ownership::Shared,
        ),
        (
            &[(Provider, "R"), (Customer, "RA")],
            &[],
            &[Provider, Customer],
            Ownership::Shared,
        ),
        // No R: the A holds the duty.
        (
            &[(Provider, "A"), (Customer, "C")],
            &[],
            &[Provider],
            Ownership::Provider,
        ),
        (
            &[(ThirdParty, "RA"), (Customer, "I")],
            &[],
            &[ThirdParty],
            Ownership::ThirdParty,
        ),
        // Only C/I: informational.
        (
            &[(Provider, "C"), (Customer, "I")],
            &[],
            &[],
            Ownership::NotApplicable,
        ),
        // A statement without letters counts as R.
        (&[], &[Customer], &[Customer], Ownership::Customer),
        (
            &[(Customer, "RA")],
            &[Provider, Customer],
            &[Provider, Customer],
            Ownership::Shared,
        ),
        // A statement with letters but no R does not.
        (
            &[(Customer, "I"), (Provider, "RA")],
            &[Customer],
            &[Provider],
            Ownership::Provider,
        ),
    ];
    for (raci, statements, holders, ownership) in cases {
        let i = item_with(raci, statements);
        assert_eq!(i.duty_holders(), *holders, "{raci:?} {statements:?}");
        assert_eq!(i.derived_ownership(), *ownership, "{raci:?} {statements:?}");
    }
    // Derived when absent; kept when given.
    let m = Matrix::parse(BASE, "m.toml").unwrap();
    assert_eq!(m.items[0].ownership, Ownership::Customer);
    let m = Matrix::parse(&edit(26, "ownership = \"shared\""), "m.toml").unwrap();
    assert_eq!(m.items[0].ownership, Ownership::Shared);
    assert_eq!(m.items[0].derived_ownership(), Ownership::Customer);
}

#[test]
fn variants_apply() {
    let mut i = item_with(&[(RoleId::Customer, "RA")], &[]);
    assert!(i.applies(&[]));
    i.variant = Some("ext".into());
    assert!(!i.applies(&[]));
    assert!(i.applies(&["ext".into()]));
    i.variant = None;
    i.unless_variant = Some("ext".into());
    assert!(i.applies(&["other".into()]));
    assert!(!i.applies(&["other".into(), "ext".into()]));
}

#[test]
fn role_ids() {
    assert_eq!(RoleId::parse("third-party"), Some(RoleId::ThirdParty));
    assert_eq!(RoleId::parse("third_party"), None);
    assert!(RoleId::Provider < RoleId::Customer && RoleId::Customer < RoleId::ThirdParty);
    assert_eq!(
        Ownership::parse("not-applicable"),
        Some(Ownership::NotApplicable)
    );
}

// ----- JSON, TOML and CSV forms ------------------------------------------------------

#[test]
fn json_has_the_documented_keys() {
    let m = Matrix::parse(SEEDS[1].1, "danubedata.toml").unwrap();
    let v = m.to_json();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&v),
        [
            "effective",
            "id",
            "items",
            "roles",
            "sections",
            "source",
            "title",
            "version"
        ]
    );
    assert_eq!(
        v["roles"][0],
        serde_json::json!({"id": "provider", "name": "DanubeData"})
    );
    assert_eq!(keys(&v["sections"][0]), ["id", "service", "title"]);
    let item = &v["items"][2];
    assert_eq!(
        keys(item),
        [
            "activity",
            "cadence",
            "duty_holders",
            "evidence_kinds",
            "grace_days",
            "id",
            "notes",
            "ownership",
            "raci",
            "refs",
            "section",
            "service",
            "statements",
            "unless_variant",
            "variant"
        ]
    );
    assert_eq!(item["id"], "vps.network-infrastructure");
    assert_eq!(
        item["raci"],
        serde_json::json!({"provider": "R", "customer": "R"})
    );
    assert_eq!(
        item["duty_holders"],
        serde_json::json!(["provider", "customer"])
    );
    assert_eq!(item["ownership"], "shared");
    assert_eq!(item["cadence"], "quarterly");
    assert_eq!(item["grace_days"], 14);
    assert_eq!(item["variant"], serde_json::Value::Null);
    // Roles with no letters are left out.
    let m = Matrix::parse(
        &edit(25, "raci = { customer = \"RA\", provider = \"\" }"),
        "m.toml",
    )
    .unwrap();
    assert_eq!(
        m.to_json()["items"][0]["raci"],
        serde_json::json!({"customer": "RA"})
    );
    assert_eq!(m.items[0].raci.len(), 1);
}

#[test]
fn toml_output_escapes_and_keeps_order() {
    let mut m = Matrix::parse(BASE, "m.toml").unwrap();
    m.header.description = Some("quote \" backslash \\ newline \n tab \t bell \u{7} é".into());
    let mut second = m.items[0].clone();
    second.id = "backup.second".into();
    m.sections.push(Section {
        id: "later".into(),
        title: "Later".into(),
        service: None,
        description: None,
    });
    let mut third = m.items[0].clone();
    third.id = "later.third".into();
    third.section = "later".into();
    // Items out of section order: later.third comes before backup.second.
    m.items.push(third);
    m.items.push(second);
    m.items[0].cadence = Some(Cadence::Every {
        years: 0,
        months: 6,
        weeks: 0,
        days: 0,
    });
    m.items[0].notes = vec!["one".into(), "two".into()];
    let text = m.to_toml();
    assert!(text.contains("cadence = \"P6M\""));
    assert!(text.contains("notes = [\n  \"one\",\n  \"two\",\n]\n"));
    assert_eq!(Matrix::parse(&text, "out.toml").unwrap(), m);
}

const CSV_HEAD: &str = "id,section,activity,raci_customer,cadence\r\n";

fn csv_err(text: &str) -> (String, String) {
    let e = Matrix::from_csv(text, "x.csv", None).expect_err("should be refused");
    (
        e.message().to_string(),
        e.hint_text().unwrap_or_default().to_string(),
    )
}

#[test]
fn csv_import_minimal() {
    let m = Matrix::from_csv(
        &format!("\u{feff}{CSV_HEAD}b.one,backup,Do it,RA,quarterly\r\nb.two,backup,\"Do, \"\"it\"\"\",R,\r\n"),
        "x.csv",
        None,
    )
    .unwrap();
    assert_eq!(m.sections.len(), 1);
    assert_eq!(m.sections[0].title, "backup");
    assert_eq!(m.items[1].activity, "Do, \"it\"");
    assert_eq!(m.items[1].cadence, None);
    assert_eq!(m.header.id, "x");
}

#[test]
fn csv_missing_required_column() {
    let (m, h) = csv_err("id,section,raci_customer\nb.one,backup,RA\n");
    assert_eq!(m, "x.csv:1: missing required column \"activity\"");
    assert!(h.contains("id, section, activity"));
    let (m, h) = csv_err("id,section,activity,colour\n");
    assert_eq!(m, "x.csv:1: unknown column \"colour\"");
    assert!(h.contains("raci_third_party"));
    let (m, _) = csv_err("");
    assert_eq!(m, "x.csv: no header row");
}

#[test]
fn csv_errors_name_line_and_column() {
    let (m, h) = csv_err(&format!(
        "{CSV_HEAD}b.one,backup,Do it,RA,quarterly\r\nb.two,backup,Do it,RX,\r\n"
    ));
    assert_eq!(
        m,
        "x.csv:3: column raci_customer: raci customer: unknown letter 'X' in \"RX\""
    );
    assert!(h.contains("R, A, C and I"));
    let (m, _) = csv_err(&format!("{CSV_HEAD}b.one,backup,Do it,RA,weekly\r\n"));
    assert_eq!(m, "x.csv:2: column cadence: bad cadence \"weekly\"");
    let (m, _) = csv_err(&format!("{CSV_HEAD}b.one,backup,,RA,\r\n"));
    assert_eq!(m, "x.csv:2: column activity: empty activity");
    let (m, _) = csv_err(&format!(
        "{CSV_HEAD}b.one,backup,x,RA,\r\nb.one,backup,y,RA,\r\n"
    ));
    assert_eq!(
        m,
        "x.csv:3: column id: duplicate item id \"b.one\" (first at line 2)"
    );
    let (m, _) = csv_err(&format!("{CSV_HEAD}b.one,backup,x,RA\r\n"));
    assert_eq!(m, "x.csv:2: row has 4 cells, the header row has 5");
    // A row with no duty for anyone is an item that applies to nobody, not an error.
    assert!(Matrix::from_csv(&format!("{CSV_HEAD}b.one,backup,x,,\r\n"), "x.csv", None).is_ok());
    let (m, _) = csv_err("id,section,activity,grace_days,raci_customer\nb.one,backup,x,two,R\n");
    assert_eq!(
        m,
        "x.csv:2: column grace_days: grace_days \"two\" is not a whole number"
    );
    let (m, _) = csv_err(
        "id,section,section_title,activity,raci_customer\nb.one,backup,Backup,x,R\nb.two,backup,Backups,y,R\n",
    );
    assert_eq!(
        m,
        "x.csv:3: column section_title: section \"backup\" is titled \"Backups\" here but \"Backup\" at line 2"
    );
    let (m, h) = csv_err(
        "id,section,activity,evidence_kinds,raci_customer\nb.one,backup,x,patch-run | patchrun,R\n",
    );
    assert_eq!(
        m,
        "x.csv:2: column evidence_kinds: unknown evidence kind \"patchrun\""
    );
    assert!(h.contains("patch-run"));
    // A quoted cell spanning lines: the next row's line number follows the file's lines.
    let (m, _) = csv_err(&format!(
        "{CSV_HEAD}b.one,backup,\"two\nlines\",RA,\r\nb.two,backup,x,RA,weekly\r\n"
    ));
    assert_eq!(m, "x.csv:4: column cadence: bad cadence \"weekly\"");
}

#[test]
fn csv_with_header_checks_references() {
    let header = BASE;
    let csv = "id,section,activity,raci_third_party,variant\nb.one,backup,x,R,\n";
    let e = Matrix::from_csv_with_header(csv, "x.csv", Some((header, "h.toml"))).unwrap_err();
    assert_eq!(
        e.message(),
        "x.csv:2: column raci_third_party: role \"third-party\" is not declared"
    );
    let csv = "id,section,activity,raci_customer,variant\nb.one,backup,x,R,nope\n";
    let e = Matrix::from_csv_with_header(csv, "x.csv", Some((header, "h.toml"))).unwrap_err();
    assert_eq!(
        e.message(),
        "x.csv:2: column variant: unknown variant \"nope\""
    );
    // Errors in the header file come first and name it.
    let e = Matrix::from_csv_with_header(csv, "x.csv", Some((&edit(4, "version = 1"), "h.toml")))
        .unwrap_err();
    assert_eq!(
        e.message(),
        "h.toml:4:11: version must be a string, not integer"
    );
    // Without a header, the third party is declared in the skeleton.
    let csv = "id,section,activity,raci_third_party\nb.one,backup,x,RA\n";
    let m = Matrix::from_csv(csv, "x.csv", None).unwrap();
    assert_eq!(m.roles[2].id, RoleId::ThirdParty);
    assert_eq!(m.items[0].ownership, Ownership::ThirdParty);
}

#[test]
fn csv_refuses_ambiguous_lists() {
    let mut m = Matrix::parse(BASE, "m.toml").unwrap();
    m.items[0].notes = vec!["a | b".into()];
    let e = m.to_csv().unwrap_err();
    assert!(
        e.message()
            .contains("notes value \"a | b\" cannot be written to CSV"),
        "{}",
        e.message()
    );
    m.items[0].notes = vec!["a |".into(), "b".into()];
    assert!(m.to_csv().is_err());
    m.items[0].notes = vec!["a".into(), "b".into()];
    let csv = m.to_csv().unwrap();
    assert!(csv.contains(",a | b,"), "{csv}");
    assert!(csv.ends_with("\r\n"));
}

// ----- diff and suggestions ----------------------------------------------------------

#[test]
fn diff_finds_added_removed_changed() {
    let old = Matrix::parse(SEEDS[0].1, "ct.toml").unwrap();
    let mut new = old.clone();
    new.header.version = "2".into();
    new.header.effective = chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
    new.items.retain(|i| i.id != "physical.compute");
    let restore = new
        .items
        .iter_mut()
        .find(|i| i.id == "backup.restore-tests")
        .unwrap();
    restore
        .raci
        .insert(RoleId::Customer, Letters::parse("R").unwrap());
    restore.cadence = Some(Cadence::Monthly);
    let mut added = restore.clone();
    added.id = "backup.new-duty".into();
    new.items.push(added);
    let changes = diff(&old, &new);
    assert_eq!(
        changes,
        [
            Change {
                item: String::new(),
                what: ChangeKind::Changed,
                details: vec![
                    "version: 1 -> 2".into(),
                    "effective: 2026-01-01 -> 2026-07-01".into()
                ],
            },
            Change {
                item: "physical.compute".into(),
                what: ChangeKind::Removed,
                details: vec![],
            },
            Change {
                item: "backup.restore-tests".into(),
                what: ChangeKind::Changed,
                details: vec![
                    "raci customer: RA -> R".into(),
                    "cadence: quarterly -> monthly".into()
                ],
            },
            Change {
                item: "backup.new-duty".into(),
                what: ChangeKind::Added,
                details: vec![],
            },
        ]
    );
    assert!(diff(&old, &old).is_empty());
}

#[test]
fn closest_items_suggest() {
    let m = Matrix::parse(SEEDS[0].1, "ct.toml").unwrap();
    assert_eq!(
        m.closest_items("backup.restore-test", 1),
        ["backup.restore-tests"]
    );
    assert_eq!(
        m.closest_items("bakup.restore-tests", 1),
        ["backup.restore-tests"]
    );
    assert_eq!(
        m.closest_items("restore-tests", 1),
        ["backup.restore-tests"]
    );
    // Same section first on a tie.
    let near = m.closest_items("guest-os.patchin", 2);
    assert_eq!(near[0], "guest-os.patching");
    assert!(m.closest_items("zzzzzzzzzz", 3).is_empty());
    // Far in edits, but sharing a word of the same section, containing the text, or in
    // the same section.
    let danube = Matrix::parse(SEEDS[1].1, "d.toml").unwrap();
    assert_eq!(
        danube.closest_items("vps.access-mgmt", 3)[0],
        "vps.access-management"
    );
    assert_eq!(
        danube.closest_items("access-mgmt", 1),
        ["vps.access-management"]
    );
    let all = danube.closest_items("managed-databases.*", 3);
    assert_eq!(all.len(), 3);
    assert!(
        all.iter().all(|i| i.starts_with("managed-databases.")),
        "{all:?}"
    );
}

#[test]
fn csv_line_numbers_follow_the_file() {
    for (text, line) in [
        (
            "id,section,activity,raci_customer\r\na.b,a,x,R\r\n\r\na.c,a,x,Q\r\n",
            4,
        ),
        (
            "id,section,activity,raci_customer\na.b,a,x,R\n\na.c,a,x,Q\n",
            4,
        ),
        ("\n\nid,section,activity,raci_customer\na.c,a,x,Q\n", 4),
        (
            "id,section,activity,raci_customer\r\na.b,a,\"x\r\ny\",R\r\na.c,a,x,Q\r\n",
            4,
        ),
    ] {
        let (m, _) = csv_err(text);
        assert!(
            m.starts_with(&format!("x.csv:{line}: column raci_customer")),
            "{text:?}: {m}"
        );
    }
}
