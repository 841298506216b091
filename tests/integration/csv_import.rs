//! `vouch matrix import` of a real customer-responsibility spreadsheet through the binary:
//! column maps (`--map`, `--map-file`), Yes/No/Partially columns, frequency words, `;`
//! and tab delimiters, a UTF-8 BOM, every error of a file at once, the ownership warning,
//! `matrix export` keeping ownership, and `matrix adopt` refusing the import's skeleton.

use crate::util::Env;
use serde_json::Value;
use std::path::PathBuf;

/// The sheet: `;`-delimited, UTF-8 BOM, CRLF, N/A cells, Shared?/Inherited? columns,
/// frequency words (tests/data/crm-customer-responsibility.csv).
const SHEET: &str = "crm-customer-responsibility.csv";
/// Its column map (tests/data/crm-map.toml).
const MAP_FILE: &str = "crm-map.toml";

/// The same map as `--map` arguments.
const MAPS: [&str; 8] = [
    "Control ID=id",
    "Control Name=activity",
    "CSP Responsibility=statement:provider",
    "Customer Responsibility=statement:customer",
    "Shared?=shared",
    "Inherited?=inherited",
    "Frequency=cadence",
    "Evidence=evidence_kinds",
];

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The sheet and its map in the scratch directory.
fn env_with_sheet() -> Env {
    let env = Env::new();
    for name in [SHEET, MAP_FILE] {
        std::fs::copy(data(name), env.p(name)).unwrap();
    }
    env
}

fn read(env: &Env, name: &str) -> String {
    std::fs::read_to_string(env.p(name)).unwrap()
}

fn write(env: &Env, name: &str, text: &str) {
    std::fs::write(env.p(name), text).unwrap();
}

/// `vouch matrix import SHEET --map … [extra]`.
fn import_args<'a>(sheet: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["matrix", "import", sheet];
    for m in MAPS {
        args.extend(["--map", m]);
    }
    args.extend(extra);
    args
}

/// item id → (duty holders, ownership, cadence) from `vouch matrix show --format json`.
fn duties(env: &Env, file: &str) -> Vec<(String, Vec<String>, String, Value)> {
    let r = env.ok(&["--format", "json", "matrix", "show", file]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let holders = i["duty_holders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h.as_str().unwrap().to_string())
                .collect();
            (
                i["id"].as_str().unwrap().to_string(),
                holders,
                i["ownership"].as_str().unwrap().to_string(),
                i["cadence"].clone(),
            )
        })
        .collect()
}

#[test]
fn sheet_imports_with_map_arguments() {
    let env = env_with_sheet();
    let r = env.ok(&import_args(SHEET, &["--out", "crm.toml"]));
    assert_eq!(
        r.stdout, "wrote crm.toml (toml): 9 sections, 12 items\n",
        "{}",
        r.stdout
    );
    assert_eq!(r.stderr, "", "no warning for a consistent sheet");
    let r = env.ok(&["matrix", "validate", "crm.toml"]);
    assert!(
        r.stdout
            .starts_with("ok: crm.toml: 9 sections, 12 items (crm-customer-responsibility"),
        "{}",
        r.stdout
    );
    let got = duties(&env, "crm.toml");
    let expect: [(&str, &[&str], &str, Value); 12] = [
        (
            "ac-2",
            &["provider", "customer"],
            "shared",
            "quarterly".into(),
        ),
        ("ac-2-1", &["provider"], "provider", "yearly".into()),
        ("au-6", &["customer"], "customer", "monthly".into()),
        ("cp-9", &["provider", "customer"], "shared", "P1W".into()),
        ("cp-10", &["provider", "customer"], "shared", "P6M".into()),
        ("pe-3", &["provider"], "provider", "yearly".into()),
        ("pe-14", &["provider"], "provider", Value::Null),
        ("ra-5", &["provider", "customer"], "shared", "P6M".into()),
        (
            "si-2",
            &["provider", "customer"],
            "shared",
            "monthly".into(),
        ),
        (
            "ir-4",
            &["provider", "customer"],
            "shared",
            "on-event".into(),
        ),
        ("sc-7", &["provider", "customer"], "shared", "P1D".into()),
        ("cm-6", &["customer"], "customer", "quarterly".into()),
    ];
    assert_eq!(got.len(), expect.len());
    for ((id, holders, ownership, cadence), (eid, eholders, eownership, ecadence)) in
        got.iter().zip(&expect)
    {
        assert_eq!(id, eid);
        assert_eq!(holders, eholders, "{id}");
        assert_eq!(ownership, eownership, "{id}");
        assert_eq!(cadence, ecadence, "{id}");
    }
    // The control id as written is kept as a ref; N/A cells give no statement; a quoted
    // `;` stays in its cell; ` | ` separates evidence kinds.
    let r = env.ok(&["--format", "json", "matrix", "show", "crm.toml"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let item = |id: &str| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(item("ac-2-1")["refs"], serde_json::json!(["AC-2(1)"]));
    assert_eq!(
        item("ac-2-1")["statements"],
        serde_json::json!({"provider": "Automates account management in the identity service"})
    );
    assert_eq!(
        item("au-6")["statements"]["customer"],
        "Reviews application and OS audit logs; escalates findings"
    );
    assert_eq!(
        item("cp-9")["evidence_kinds"],
        serde_json::json!(["backup-verification", "restore-test"])
    );
    assert_eq!(item("pe-3")["section"], "pe");
    assert_eq!(
        v["sections"][0],
        serde_json::json!({"id": "ac", "title": "AC", "service": null})
    );
}

#[test]
fn sheet_imports_with_a_map_file_as_with_arguments() {
    let env = env_with_sheet();
    let by_args = env.ok(&import_args(SHEET, &[])).stdout;
    let r = env.ok(&["matrix", "import", SHEET, "--map-file", MAP_FILE]);
    assert_eq!(r.stdout, by_args);
    assert!(r.stdout.contains("\nid = \"cp-9\"\n"), "{}", r.stdout);
    // --map overrides the file's entry for the same column (case and spaces ignored).
    let r = env.ok(&[
        "matrix",
        "import",
        SHEET,
        "--map-file",
        MAP_FILE,
        "--map",
        " evidence =ignore",
        "--out",
        "m.toml",
    ]);
    assert_eq!(r.stderr, "");
    let text = read(&env, "m.toml");
    assert!(!text.contains("evidence_kinds"), "{text}");
    env.ok(&["matrix", "validate", "m.toml"]);
    // A map file's errors name its lines, all at once.
    write(
        &env,
        "bad-map.toml",
        "[columns]\n\"Control ID\" = \"identifier\"\n\"Frequency\" = 7\n",
    );
    let r = env.fails(&["matrix", "import", SHEET, "--map-file", "bad-map.toml"]);
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("vouch: error: "))
        .collect();
    assert_eq!(
        errors,
        [
            "vouch: error: bad-map.toml:2:16: unknown target \"identifier\" for column \"Control ID\"",
            "vouch: error: bad-map.toml:3:15: the target of column \"Frequency\" must be a string, not integer",
        ],
        "{}",
        r.stderr
    );
}

#[test]
fn tab_delimited_sheet_without_bom() {
    let env = Env::new();
    write(
        &env,
        "t.tsv",
        "Control ID\tControl Name\tCustomer Responsibility\tFrequency\tOwner\n\
         IAM-01\tIdentity, access\tReview accounts\tsemiannually\tCustomer\n",
    );
    let r = env.ok(&[
        "matrix",
        "import",
        "t.tsv",
        "--map",
        "Control ID=id",
        "--map",
        "Control Name=activity",
        "--map",
        "Customer Responsibility=statement:customer",
        "--map",
        "Frequency=cadence",
        "--map",
        "Owner=ownership",
    ]);
    assert!(
        r.stdout.contains(
            "id = \"iam-01\"\nsection = \"iam\"\nactivity = \"Identity, access\"\nstatements = { customer = \"Review accounts\" }\ncadence = \"P6M\"\n"
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn unknown_columns_name_the_column_and_the_map_syntax() {
    let env = env_with_sheet();
    let r = env.fails(&["matrix", "import", SHEET, "--out", "m.toml"]);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        lines[0],
        "vouch: error: crm-customer-responsibility.csv:1: unknown column \"Control ID\""
    );
    assert!(lines[1].starts_with("vouch: hint: map each column of the sheet to one of the import's with --map 'COLUMN=TARGET'"), "{}", lines[1]);
    assert!(lines[1].contains("statement_customer"), "{}", lines[1]);
    assert!(lines[1].contains("inherited"), "{}", lines[1]);
    // Every unknown column is reported, the hint once.
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("unknown column"))
            .count(),
        8,
        "{}",
        r.stderr
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("vouch: hint: map each"))
            .count(),
        1
    );
    assert!(!env.p("m.toml").exists());
    // A mapped column the sheet lacks, and one column left unmapped.
    let mut args = vec!["matrix", "import", SHEET, "--map", "Control Idd=refs"];
    for m in MAPS.iter().filter(|m| !m.starts_with("Evidence")) {
        args.extend(["--map", m]);
    }
    let r = env.fails(&args);
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("vouch: error: "))
        .collect();
    assert_eq!(
        errors,
        [
            "vouch: error: crm-customer-responsibility.csv:1: unknown column \"Evidence\"",
            "vouch: error: crm-customer-responsibility.csv:1: no column \"Control Idd\" (mapped by --map \"Control Idd=refs\")",
        ],
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("vouch: hint: the header row's columns are \"Control ID\", \"Control Name\""),
        "{}",
        r.stderr
    );
}

#[test]
fn unknown_frequency_word_names_file_line_column() {
    let env = env_with_sheet();
    let sheet = read(&env, SHEET).replace(";Daily;", ";Fortnightly;");
    write(&env, SHEET, &sheet);
    let r = env.fails(&import_args(SHEET, &["--out", "m.toml"]));
    assert_eq!(
        r.stderr,
        "vouch: error: crm-customer-responsibility.csv:12: column \"Frequency\": unknown frequency \"Fortnightly\"\n\
         vouch: hint: frequencies are annually, annual, yearly, semi-annually, semiannually, semi-annual, semiannual, twice a year, quarterly, monthly, weekly, daily, on-event, as needed, ad hoc (any case), or a cadence such as P2W; N/A or empty for none\n"
    );
    assert!(!env.p("m.toml").exists());
}

#[test]
fn every_error_of_the_sheet_is_reported_at_once() {
    let env = env_with_sheet();
    let sheet = read(&env, SHEET)
        .replace(";Daily;", ";Fortnightly;")
        .replace(
            "Yes;No;Monthly;patch-run",
            "Maybe;No;Monthly;patch-run, config-review",
        )
        .replace(
            "CM-6;Configuration Settings;-;Hardens guest operating systems;No;No;QUARTERLY;config-review",
            "CM-6;Configuration Settings;-;Hardens guest operating systems;No;No;QUARTERLY",
        )
        .replace(
            "PE-3;Physical Access Control;Controls access to the data centres;\u{2014};No;Yes;",
            "PE-3;Physical Access Control;Controls access to the data centres;\u{2014};Yes;Yes;",
        )
        .replace("AU-6;Audit Record Review", "AC-2;Audit Record Review");
    write(&env, SHEET, &sheet);
    let r = env.fails(&import_args(SHEET, &["--out", "m.toml"]));
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("vouch: error: "))
        .collect();
    assert_eq!(
        errors,
        [
            "vouch: error: crm-customer-responsibility.csv:4: column \"Control ID\": duplicate item id \"ac-2\" (first at line 2)",
            "vouch: error: crm-customer-responsibility.csv:7: column \"Shared?\": Shared? \"Yes\" (shared) contradicts Inherited? \"Yes\" (the provider's duty)",
            "vouch: error: crm-customer-responsibility.csv:10: column \"Shared?\": \"Maybe\" is not Yes, No or Partially",
            "vouch: error: crm-customer-responsibility.csv:10: column \"Evidence\": evidence_kinds \"patch-run, config-review\" holds several kinds separated by ','",
            "vouch: error: crm-customer-responsibility.csv:12: column \"Frequency\": unknown frequency \"Fortnightly\"",
            "vouch: error: crm-customer-responsibility.csv:13: row has 7 cells, the header row has 8",
        ],
        "{}",
        r.stderr
    );
    // Each error is followed by its hint (a hint already shown is not repeated).
    assert!(
        r.stderr.contains(
            "vouch: hint: in a CSV cell, several values are separated by \" | \" (space, bar, space), whatever the file's delimiter: write \"patch-run | config-review\"\n"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("vouch: hint: write Yes (y, true, x), No"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.ends_with("vouch: hint: the file must be RFC 4180 CSV in UTF-8, with the same number of cells on every row (quote cells that hold commas, quotes or line breaks)\n"), "{}", r.stderr);
    assert!(!env.p("m.toml").exists());
}

#[test]
fn ownership_that_contradicts_the_statements_is_warned_about() {
    let env = env_with_sheet();
    // The customer inherits PE-3 (provider's duty), yet the sheet gives the customer a duty.
    let sheet = read(&env, SHEET).replace(
        "Controls access to the data centres;\u{2014};",
        "Controls access to the data centres;Badges visitors;",
    );
    write(&env, SHEET, &sheet);
    let r = env.ok(&import_args(SHEET, &["--out", "m.toml"]));
    assert_eq!(
        r.stderr,
        "vouch: warning: crm-customer-responsibility.csv:7: column \"Shared?\": item \"pe-3\": \
         Shared? \"No\" (not shared) and Inherited? \"Yes\" (the provider's duty) contradict its statements, \
         which give duties to provider and customer (shared); the matrix keeps ownership \"provider\": check the row\n"
    );
    let got = duties(&env, "m.toml");
    let pe3 = got.iter().find(|d| d.0 == "pe-3").unwrap();
    assert_eq!(pe3.1, ["provider", "customer"]);
    assert_eq!(pe3.2, "provider");

    // The CSV form's own ownership column against its letters.
    write(
        &env,
        "own.csv",
        "id,section,activity,raci_provider,raci_customer,ownership\n\
         b.x,b,Back up,RA,I,customer\n\
         b.y,b,Restore,R,RA,shared\n",
    );
    let r = env.ok(&["matrix", "import", "own.csv", "--out", "own.toml"]);
    assert_eq!(
        r.stderr,
        "vouch: warning: own.csv:2: column ownership: item \"b.x\": ownership \"customer\" contradicts its raci letters, \
         which give duties to provider (provider); the matrix keeps ownership \"customer\": check the row\n"
    );
    let got = duties(&env, "own.toml");
    assert_eq!(got[0].2, "customer");
    assert_eq!(got[1].2, "shared");
}

#[test]
fn export_keeps_ownership_through_csv_and_toml() {
    let env = env_with_sheet();
    // An override (customer, where the letters give the provider) and an explicit shared.
    write(
        &env,
        "own.csv",
        "id,section,activity,raci_provider,raci_customer,ownership\n\
         b.x,b,Back up,RA,I,customer\n\
         b.y,b,Restore,R,R,shared\n\
         b.z,b,Verify,RA,,\n",
    );
    env.ok(&["matrix", "import", "own.csv", "--out", "own.toml"]);
    let toml = read(&env, "own.toml");
    assert_eq!(
        toml.matches("ownership = \"customer\"").count(),
        1,
        "{toml}"
    );
    assert_eq!(toml.matches("ownership = \"shared\"").count(), 1, "{toml}");
    env.ok(&[
        "matrix", "export", "own.toml", "--to", "csv", "--out", "back.csv",
    ]);
    let csv = read(&env, "back.csv");
    let ownership: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(11).unwrap())
        .collect();
    assert_eq!(ownership, ["customer", "shared", ""], "{csv}");
    let r = env.ok(&[
        "matrix",
        "import",
        "back.csv",
        "--header",
        "own.toml",
        "--out",
        "again.toml",
    ]);
    assert!(
        r.stderr.contains("item \"b.x\""),
        "the override is still flagged: {}",
        r.stderr
    );
    env.ok(&[
        "matrix", "export", "own.toml", "--to", "toml", "--out", "t.toml",
    ]);
    let exported = read(&env, "t.toml");
    assert!(toml.ends_with(&exported), "{toml}\n{exported}");
    assert_eq!(read(&env, "again.toml"), exported);
    let r = env.ok(&["matrix", "diff", "own.toml", "again.toml"]);
    assert_eq!(r.stdout, "no differences\n");
    // A seed matrix that spells ownership "shared": through CSV and back, unchanged.
    let seed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/matrices/danubedata.toml");
    let seed = seed.to_str().unwrap();
    let shared = std::fs::read_to_string(seed)
        .unwrap()
        .matches("ownership = \"shared\"")
        .count();
    assert!(shared > 20, "{shared}");
    env.ok(&["matrix", "export", seed, "--to", "csv", "--out", "d.csv"]);
    assert_eq!(read(&env, "d.csv").matches(",shared,").count(), shared);
    let r = env.ok(&[
        "matrix", "import", "d.csv", "--header", seed, "--out", "d.toml",
    ]);
    assert_eq!(r.stderr, "");
    let r = env.ok(&["matrix", "diff", seed, "d.toml"]);
    assert_eq!(r.stdout, "no differences\n");
    assert_eq!(
        read(&env, "d.toml")
            .matches("ownership = \"shared\"")
            .count(),
        shared
    );
}

#[test]
fn adopt_refuses_the_import_skeleton() {
    let env = Env::two_parties();
    std::fs::copy(data(SHEET), env.p(SHEET)).unwrap();
    std::fs::copy(data(MAP_FILE), env.p(MAP_FILE)).unwrap();
    env.ok(&[
        "matrix",
        "import",
        SHEET,
        "--map-file",
        MAP_FILE,
        "--out",
        "crm.toml",
    ]);
    let before = env.snapshot();
    let adopt = [
        "matrix",
        "adopt",
        "crm.toml",
        "--bind",
        "provider=cloudtemple",
        "--bind",
        "customer=acme",
        "--key",
        "keys/provider.key",
    ];
    let r = env.fails(&adopt);
    assert_eq!(
        r.stderr,
        "vouch: error: crm.toml: the [matrix] header still holds the import skeleton's placeholders: \
         title \"TODO: title\", source \"TODO: the document this matrix transcribes (title, publisher, URL)\", effective 1970-01-01\n\
         vouch: hint: edit [matrix] in crm.toml: the title, source and effective date of the document it transcribes (and the role names), then adopt it\n"
    );
    assert_eq!(env.snapshot(), before, "nothing recorded");
    // Only the date left to fill in: still refused, naming it.
    let text = read(&env, "crm.toml")
        .replace(
            "TODO: title",
            "Example Cloud customer responsibility matrix",
        )
        .replace(
            "TODO: the document this matrix transcribes (title, publisher, URL)",
            "Example Cloud CRM, 2026 edition",
        );
    write(&env, "crm.toml", &text);
    let r = env.fails(&adopt);
    assert!(
        r.stderr
            .starts_with("vouch: error: crm.toml: the [matrix] header still holds the import skeleton's placeholders: effective 1970-01-01\n"),
        "{}",
        r.stderr
    );
    write(&env, "crm.toml", &text.replace("1970-01-01", "2026-01-01"));
    let r = env.ok(&adopt);
    assert!(
        r.stdout
            .contains("adoption of matrix crm-customer-responsibility"),
        "{}",
        r.stdout
    );
}
