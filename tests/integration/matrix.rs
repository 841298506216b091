//! `vouch matrix …` through the binary: validate, show, diff, import and export, with the
//! exit codes and the exact `file:line:column` messages users see.

use crate::util::Env;
use std::path::PathBuf;

/// The seed matrices, with their section and item counts.
const SEEDS: [(&str, usize, usize); 4] = [
    ("cloudtemple-vm-instances", 14, 79),
    ("danubedata", 9, 58),
    ("nexgen", 3, 28),
    ("service-models", 3, 33),
];

fn seed(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("schema/matrices")
        .join(format!("{name}.toml"))
        .display()
        .to_string()
}

/// A small valid matrix; `bad()` breaks one of its lines.
const SMALL: &str = r#"[matrix]
id = "small"
title = "Small"
version = "1"
source = "Test"
effective = "2026-01-01"

[roles.provider]
name = "P"
[roles.customer]
name = "C"

[[sections]]
id = "backup"
title = "Backup"

[[items]]
id = "backup.restore-tests"
section = "backup"
activity = "Test restores"
raci = { customer = "RA", provider = "I" }
cadence = "quarterly"
evidence_kinds = ["restore-test"]
"#;

fn write(env: &Env, name: &str, text: &str) {
    std::fs::write(env.p(name), text).unwrap();
}

#[test]
fn validate_ok() {
    let env = Env::new();
    let paths: Vec<String> = SEEDS.iter().map(|(n, _, _)| seed(n)).collect();
    let mut args = vec!["matrix", "validate"];
    args.extend(paths.iter().map(String::as_str));
    let r = env.ok(&args);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", r.stdout);
    for ((name, sections, items), line) in SEEDS.iter().zip(&lines) {
        assert_eq!(
            *line,
            format!(
                "ok: {}: {sections} sections, {items} items ({name} version 1)",
                seed(name)
            )
        );
    }
    assert_eq!(r.stderr, "");
}

#[test]
fn validate_json() {
    let env = Env::new();
    let r = env.ok(&["--format", "json", "matrix", "validate", &seed("nexgen")]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v[0]["ok"], true);
    assert_eq!(v[0]["id"], "nexgen");
    assert_eq!(v[0]["items"], 28);
}

#[test]
fn validate_bad_names_file_line_column() {
    let env = Env::new();
    write(&env, "good.toml", SMALL);
    write(
        &env,
        "bad.toml",
        &SMALL.replace("{ customer = \"RA\"", "{ custmer = \"RA\""),
    );
    let r = env.fails(&["matrix", "validate", "good.toml", "bad.toml", "good.toml"]);
    // The good file before it is reported; checking stops at the bad one.
    assert_eq!(
        r.stdout,
        "ok: good.toml: 1 sections, 1 items (small version 1)\n"
    );
    assert_eq!(
        r.stderr,
        "vouch: error: bad.toml:21:10: unknown role \"custmer\"\n\
         vouch: hint: roles are provider, customer, third-party\n"
    );
}

#[test]
fn validate_refuses_each_kind_of_mistake() {
    let env = Env::new();
    for (from, to, message) in [
        (
            "cadence = \"quarterly\"",
            "cadence = \"weekly\"",
            "m.toml:22:11: bad cadence \"weekly\"",
        ),
        (
            "[\"restore-test\"]",
            "[\"restore-tset\"]",
            "m.toml:23:19: unknown evidence kind \"restore-tset\"",
        ),
        (
            "section = \"backup\"",
            "section = \"bakup\"",
            "m.toml:19:11: unknown section \"bakup\"",
        ),
        (
            "\"RA\", provider = \"I\"",
            "\"RA\", provider = \"A\"",
            "m.toml:21:38: item \"backup.restore-tests\" has two accountable roles: customer and provider",
        ),
        (
            "cadence = ",
            "cadense = ",
            "m.toml:22:1: unknown key \"cadense\" in [[items]]",
        ),
        (
            "title = \"Small\"\n",
            "",
            "m.toml:1:1: missing key \"title\" in [matrix]",
        ),
    ] {
        write(&env, "m.toml", &SMALL.replace(from, to));
        let r = env.fails(&["matrix", "validate", "m.toml"]);
        let first = r.stderr.lines().next().unwrap();
        assert_eq!(first, format!("vouch: error: {message}"), "{from} -> {to}");
        assert!(
            r.stderr
                .lines()
                .nth(1)
                .unwrap()
                .starts_with("vouch: hint: "),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn malformed_toml_is_refused() {
    let env = Env::new();
    write(
        &env,
        "m.toml",
        &SMALL.replace("title = \"Small\"", "title = \"Small"),
    );
    let r = env.fails(&["matrix", "validate", "m.toml"]);
    assert!(
        r.stderr.starts_with("vouch: error: m.toml:3:"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("malformed TOML"), "{}", r.stderr);
    assert!(r.stderr.contains("vouch: hint: "), "{}", r.stderr);
    let r = env.fails(&["matrix", "show", "missing.toml"]);
    assert_eq!(
        r.stderr,
        "vouch: error: missing.toml: no such file or directory\n"
    );
}

#[test]
fn show_text() {
    let env = Env::new();
    let r = env.ok(&["matrix", "show", &seed("cloudtemple-vm-instances")]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "cloudtemple-vm-instances version 1 (effective 2026-01-01)"
    );
    assert!(lines.contains(&"Backup & Snapshots (backup)"));
    let row = lines
        .iter()
        .find(|l| l.trim_start().starts_with("backup.restore-tests "))
        .unwrap();
    assert!(row.contains("[customer RA]"), "{row}");
    assert!(row.contains("quarterly"), "{row}");
    assert!(row.ends_with("Perform periodic restoration tests"), "{row}");
}

#[test]
fn show_json_has_the_documented_keys() {
    let env = Env::new();
    let r = env.ok(&["--format", "json", "matrix", "show", &seed("danubedata")]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
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
    assert_eq!(v["id"], "danubedata");
    assert_eq!(v["version"], "1");
    assert_eq!(
        v["roles"],
        serde_json::json!([{"id": "provider", "name": "DanubeData"}, {"id": "customer", "name": "Customer"}])
    );
    assert_eq!(v["items"].as_array().unwrap().len(), 58);
    assert_eq!(keys(&v["sections"][0]), ["id", "service", "title"]);
    let item = &v["items"][0];
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
    assert_eq!(item["id"], "vps.physical-infrastructure");
    assert_eq!(item["raci"], serde_json::json!({"provider": "RA"}));
    assert_eq!(item["cadence"], "yearly");
    assert_eq!(item["evidence_kinds"], serde_json::json!(["attestation"]));
}

#[test]
fn export_csv_then_import_validates_and_diffs_empty() {
    let env = Env::new();
    for (name, sections, items) in SEEDS {
        let original = seed(name);
        let csv = format!("{name}.csv");
        let toml = format!("{name}.toml");
        let r = env.ok(&["matrix", "export", &original, "--to", "csv", "--out", &csv]);
        assert_eq!(
            r.stdout,
            format!("wrote {csv} (csv): {sections} sections, {items} items\n")
        );
        env.ok(&[
            "matrix", "import", &csv, "--header", &original, "--out", &toml,
        ]);
        let r = env.ok(&["matrix", "validate", &toml]);
        assert!(
            r.stdout.starts_with(&format!("ok: {toml}: ")),
            "{}",
            r.stdout
        );
        let r = env.ok(&["matrix", "diff", &original, &toml]);
        assert_eq!(r.stdout, "no differences\n", "{name}");
        let r = env.ok(&["--format", "json", "matrix", "diff", &original, &toml]);
        assert_eq!(r.stdout.trim(), "[]", "{name}");
        // CSV to stdout is the same as to the file.
        let r = env.ok(&["matrix", "export", &original, "--to", "csv"]);
        assert_eq!(r.stdout, std::fs::read_to_string(env.p(&csv)).unwrap());
    }
}

#[test]
fn import_without_header_writes_a_skeleton() {
    let env = Env::new();
    write(
        &env,
        "items.csv",
        "id,section,activity,raci_customer,cadence,evidence_kinds\n\
         backup.restore-tests,backup,Test restores,RA,quarterly,restore-test\n",
    );
    let r = env.ok(&["matrix", "import", "items.csv"]);
    assert!(r.stdout.starts_with("# Written by `vouch matrix import`"));
    assert!(r.stdout.contains("title = \"TODO: title\""));
    write(&env, "out.toml", &r.stdout);
    env.ok(&["matrix", "validate", "out.toml"]);
}

#[test]
fn import_refuses_to_overwrite() {
    let env = Env::new();
    let original = seed("nexgen");
    env.ok(&[
        "matrix", "export", &original, "--to", "csv", "--out", "n.csv",
    ]);
    write(&env, "taken.toml", "precious");
    let r = env.fails(&[
        "matrix",
        "import",
        "n.csv",
        "--header",
        &original,
        "--out",
        "taken.toml",
    ]);
    assert_eq!(
        r.stderr.lines().next().unwrap(),
        "vouch: error: taken.toml: already exists with other contents"
    );
    assert_eq!(
        std::fs::read_to_string(env.p("taken.toml")).unwrap(),
        "precious"
    );
    // The same bytes again: nothing to overwrite. Other bytes: refused.
    let r = env.ok(&[
        "matrix", "export", &original, "--to", "csv", "--out", "n.csv",
    ]);
    assert!(r.stdout.starts_with("unchanged n.csv"), "{}", r.stdout);
    let r = env.fails(&[
        "matrix", "export", &original, "--to", "json", "--out", "n.csv",
    ]);
    assert!(
        r.stderr
            .starts_with("vouch: error: n.csv: already exists with other contents")
    );
}

#[test]
fn csv_missing_required_column_is_refused() {
    let env = Env::new();
    write(
        &env,
        "items.csv",
        "id,section,raci_customer\nbackup.restore-tests,backup,RA\n",
    );
    let r = env.fails(&["matrix", "import", "items.csv", "--out", "m.toml"]);
    assert_eq!(
        r.stderr,
        "vouch: error: items.csv:1: missing required column \"activity\"\n\
         vouch: hint: required columns are id, section, activity\n"
    );
    assert!(!env.p("m.toml").exists());
    write(
        &env,
        "items.csv",
        "id,section,activity,raci_customer\nbackup.x,backup,Do,RA\nbackup.y,backup,Do,RQ\n",
    );
    let r = env.fails(&["matrix", "import", "items.csv"]);
    assert!(
        r.stderr.starts_with(
            "vouch: error: items.csv:3: column raci_customer: raci customer: unknown letter 'Q' in \"RQ\"\n"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn diff_lists_changes() {
    let env = Env::new();
    write(&env, "old.toml", SMALL);
    let new = SMALL
        .replace("version = \"1\"", "version = \"2\"")
        .replace("cadence = \"quarterly\"", "cadence = \"monthly\"")
        + "\n[[items]]\nid = \"backup.verify\"\nsection = \"backup\"\nactivity = \"Verify\"\nraci = { customer = \"RA\" }\n";
    write(&env, "new.toml", &new);
    let r = env.ok(&["matrix", "diff", "old.toml", "new.toml"]);
    assert_eq!(
        r.stdout,
        "~ matrix: version: 1 -> 2\n\
         ~ backup.restore-tests: cadence: quarterly -> monthly\n\
         + backup.verify\n"
    );
    let r = env.ok(&["matrix", "diff", "new.toml", "old.toml"]);
    assert!(r.stdout.contains("- backup.verify\n"), "{}", r.stdout);
    let r = env.ok(&["--format", "json", "matrix", "diff", "old.toml", "new.toml"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v[2],
        serde_json::json!({"item": "backup.verify", "change": "added", "details": []})
    );
}

#[test]
fn export_json_and_toml() {
    let env = Env::new();
    let r = env.ok(&["matrix", "export", &seed("nexgen"), "--to", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 28);
    let r = env.ok(&["matrix", "export", &seed("nexgen"), "--to", "toml"]);
    write(&env, "n.toml", &r.stdout);
    let r = env.ok(&["matrix", "diff", &seed("nexgen"), "n.toml"]);
    assert_eq!(r.stdout, "no differences\n");
}
