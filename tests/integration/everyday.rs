//! Everyday use (issue 12): `matrix show --adopted`, `vouch kinds`, item suggestions, and
//! `waive`/`delegate` of several items checked against the adopted matrix.

use crate::util::{CT, Env};

const DANUBE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/schema/matrices/danubedata.toml"
);

#[test]
fn matrix_show_adopted_reads_the_ledger() {
    let env = Env::two_parties();
    let r = env.fails(&["matrix", "show", "--adopted"]);
    assert!(r.stderr.contains("no matrix is adopted"), "{}", r.stderr);
    assert!(r.stderr.contains("vouch matrix adopt"), "{}", r.stderr);
    env.ok(&[
        "matrix",
        "adopt",
        CT,
        "--bind",
        "provider=cloudtemple",
        "--bind",
        "customer=acme",
        "--key",
        "provider",
    ]);
    let r = env.ok(&["matrix", "show", "--adopted"]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "cloudtemple-vm-instances version 1 (effective 2026-01-01)"
    );
    assert_eq!(
        lines[1],
        "adopted in entry 3: customer=acme, provider=cloudtemple"
    );
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("physical.datacenters "))
        .unwrap();
    assert_eq!(lines[at + 1], "      evidence: attestation");
    // The same as the file, apart from the adoption line.
    let file = env.ok(&["matrix", "show", CT]);
    let mut without: Vec<&str> = lines.clone();
    without.remove(1);
    assert_eq!(without, file.stdout.lines().collect::<Vec<_>>());
    let j: serde_json::Value = serde_json::from_str(
        &env.ok(&["matrix", "show", "--adopted", "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(j["id"], "cloudtemple-vm-instances");
    assert_eq!(j["adopted"]["entry"], 3);
    assert_eq!(j["adopted"]["bindings"]["customer"], "acme");
    // FILE and --adopted exclude each other; one is needed.
    env.fails(&["matrix", "show", CT, "--adopted"]);
    env.fails(&["matrix", "show"]);
}

#[test]
fn matrix_show_gives_statements_by_role_name() {
    let env = Env::new();
    let r = env.ok(&["matrix", "show", DANUBE]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("vps.hypervisor-host-os "))
        .unwrap();
    assert_eq!(lines[at + 1], "      evidence: patch-run");
    assert!(
        lines[at + 2].starts_with("      provider (DanubeData): KubeVirt hypervisor security"),
        "{}",
        lines[at + 2]
    );
}

#[test]
fn unknown_item_hint_names_show_adopted() {
    let env = Env::adopted();
    let before = env.snapshot();
    let r = env.fails(&[
        "record",
        "--item",
        "zzzzzzzz",
        "--kind",
        "patch-run",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-01",
        "--key",
        "provider",
    ]);
    assert!(
        r.stderr
            .contains("vouch: hint: list the items with: vouch matrix show --adopted"),
        "{}",
        r.stderr
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn kinds_lists_and_describes_evidence_kinds() {
    let env = Env::new();
    let r = env.ok(&["kinds"]);
    let names: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for k in ["restore-test", "patch-run", "access-review", "attestation"] {
        assert!(names.contains(&k), "{k}: {}", r.stdout);
    }
    let r = env.ok(&["kinds", "patch-run"]);
    assert!(r.stdout.starts_with("patch-run: "), "{}", r.stdout);
    let hosts = r
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("hosts "))
        .unwrap();
    assert!(hosts.contains("number (integer, minimum 0)"), "{hosts}");
    assert!(hosts.contains("required"), "{hosts}");
    assert!(hosts.contains("Number of hosts"), "{hosts}");
    let window = r
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("window "))
        .unwrap();
    assert!(
        window.contains("string") && window.contains("optional"),
        "{window}"
    );
    let j: serde_json::Value =
        serde_json::from_str(&env.ok(&["kinds", "patch-run", "--format", "json"]).stdout).unwrap();
    assert_eq!(j["name"], "patch-run");
    assert_eq!(j["fields"][0]["name"], "hosts");
    assert_eq!(j["fields"][0]["minimum"], 0);
    assert_eq!(j["fields"][0]["integer"], true);
    let r = env.fails(&["kinds", "patchrun"]);
    assert!(
        r.stderr.contains("unknown evidence kind \"patchrun\""),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("did you mean patch-run?"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

/// Two parties, and the DanubeData matrix adopted by the provider (entry 3).
fn danube() -> Env {
    let env = Env::two_parties();
    env.ok(&[
        "matrix",
        "adopt",
        DANUBE,
        "--bind",
        "provider=cloudtemple",
        "--bind",
        "customer=acme",
        "--key",
        "provider",
    ]);
    env
}

#[test]
fn item_typos_get_suggestions_beyond_small_edits() {
    let env = danube();
    let before = env.snapshot();
    let r = env.fails(&[
        "record",
        "--item",
        "vps.access-mgmt",
        "--kind",
        "access-review",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-01",
        "--key",
        "customer",
    ]);
    assert!(
        r.stderr
            .contains("vouch: hint: did you mean vps.access-management"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("vouch matrix show --adopted"),
        "{}",
        r.stderr
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn waive_refuses_ids_not_in_the_adopted_matrix() {
    let env = danube();
    let before = env.snapshot();
    for (id, hint) in [
        ("no.such-item", None),
        (
            "managed-databases.*",
            Some("did you mean managed-databases."),
        ),
        (
            "vps.access-mgmt",
            Some("did you mean vps.access-management"),
        ),
    ] {
        let r = env.fails(&["waive", id, "--reason", "not used", "--key", "customer"]);
        assert!(
            r.stderr
                .contains(&format!("{id:?} is not an item of matrix danubedata")),
            "{}",
            r.stderr
        );
        if let Some(h) = hint {
            assert!(r.stderr.contains(h), "{}", r.stderr);
        }
        assert!(
            r.stderr.contains("vouch matrix show --adopted"),
            "{}",
            r.stderr
        );
        assert_eq!(env.snapshot(), before, "{id}");
    }
    // One unknown id among known ones: nothing is written.
    let r = env.fails(&[
        "waive",
        "vps.backups-snapshots",
        "vps.nope",
        "--reason",
        "x",
        "--key",
        "customer",
    ]);
    assert!(r.stderr.contains("\"vps.nope\""), "{}", r.stderr);
    env.fails(&[
        "delegate",
        "vps.nope",
        "--to",
        "cloudtemple",
        "--key",
        "customer",
    ]);
    env.fails(&[
        "waive",
        "--section",
        "nope",
        "--reason",
        "x",
        "--key",
        "customer",
    ]);
    let r = env.fails(&[
        "waive",
        "--service",
        "nope",
        "--reason",
        "x",
        "--key",
        "customer",
    ]);
    assert!(
        r.stderr.contains("services: vps, managed-databases"),
        "{}",
        r.stderr
    );
    env.fails(&["waive", "--reason", "x", "--key", "customer"]);
    assert_eq!(env.snapshot(), before);
}

#[test]
fn waive_and_delegate_several_items_sections_and_services() {
    let env = danube();
    let r = env.ok(&[
        "waive",
        "vps.backups-snapshots",
        "vps.access-management",
        "--reason",
        "no VPS under contract",
        "--key",
        "customer",
    ]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert!(
        lines[0].starts_with("entry 4: waiver of vps.backups-snapshots ("),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("entry 5: waiver of vps.access-management ("),
        "{}",
        lines[1]
    );
    // A whole service: every managed-databases item, one entry each.
    let m: serde_json::Value = serde_json::from_str(
        &env.ok(&["matrix", "show", "--adopted", "--format", "json"])
            .stdout,
    )
    .unwrap();
    let db: Vec<&str> = m["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["service"] == "managed-databases")
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert!(db.len() > 1);
    let r = env.ok(&[
        "waive",
        "--service",
        "managed-databases",
        "--reason",
        "none",
        "--key",
        "customer",
        "--format",
        "json",
    ]);
    let j: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j.as_array().unwrap().len(), db.len());
    assert_eq!(j[0]["seq"], 6);
    assert_eq!(j[0]["kind"], "waiver");
    let log = env.ok(&["log"]).stdout;
    for id in &db {
        assert!(log.contains(id), "{id}: {log}");
    }
    // A section, delegated.
    let r = env.ok(&[
        "delegate",
        "--section",
        "vps",
        "--to",
        "cloudtemple",
        "--note",
        "managed VPS",
        "--key",
        "customer",
    ]);
    let n = m["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["section"] == "vps")
        .count();
    assert_eq!(r.stdout.lines().count(), n, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("delegation of vps.access-management to cloudtemple")
    );
    env.ok(&["verify"]);
}

#[test]
fn before_adoption_items_are_free_text_but_sections_need_a_matrix() {
    let env = Env::two_parties();
    let before = env.snapshot();
    let r = env.fails(&[
        "waive",
        "--section",
        "vps",
        "--reason",
        "x",
        "--key",
        "customer",
    ]);
    assert!(r.stderr.contains("no matrix is adopted"), "{}", r.stderr);
    assert_eq!(env.snapshot(), before);
    let r = env.ok(&[
        "waive", "a.one", "b.two", "--reason", "x", "--key", "customer",
    ]);
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
}

/// Issue 12 item 7: `--performed-at` defaults to now, and `prove N` writes `entry-N.proof`.
#[test]
fn performed_at_defaults_to_now_and_prove_names_its_file() {
    let env = crate::util::Env::two_parties();
    let r = env.ok(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        "pass",
        "--field",
        "backup_id=bk-1",
        "--field",
        "rto_minutes=5",
        "--field",
        "data_verified=true",
        "--key",
        "customer",
    ]);
    assert!(r.stdout.starts_with("entry 3: evidence"), "{}", r.stdout);
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["show", "3", "--format", "json"]).stdout).unwrap();
    let performed = v["payload"]["performed_at"].as_str().unwrap().to_string();
    let recorded = v["time"].as_str().unwrap().to_string();
    let p = vouch::format::entry::parse_time(&performed).unwrap();
    let t = vouch::format::entry::parse_time(&recorded).unwrap();
    assert!(
        (t - p).num_seconds().abs() <= 60,
        "{performed} vs {recorded}"
    );
    env.ok(&["checkpoint", "--key", "provider", "--out", "cp.txt"]);
    let r = env.ok(&["prove", "3"]);
    assert!(r.stdout.contains("entry-3.proof"), "{}", r.stdout);
    assert!(env.p("entry-3.proof").is_file());
    env.ok(&[
        "verify",
        "--proof",
        "entry-3.proof",
        "--trust",
        "keys/provider.pub",
        "--trust",
        "keys/customer.pub",
    ]);
}

/// Issue 12 item 2: signing a period that has not ended warns; the report says the period
/// was still open, and every report starts with a one-line headline and its issue date.
#[test]
fn an_open_period_is_said_to_be_open() {
    use chrono::Datelike as _;
    let env = crate::util::Env::adopted();
    let year = vouch::clock::now().year().to_string();
    let r = env.ok(&["attest", "--period", &year, "--key", "provider", "--yes"]);
    assert!(
        r.stderr.contains(&format!(
            "vouch: warning: the period {year} has not ended (its last day is {year}-12-31)"
        )),
        "{}",
        r.stderr
    );
    let r = env.ok(&["report", "--period", &year, "--format", "md", "--out", "-"]);
    assert!(r.stdout.contains("**PERIOD STILL OPEN**"), "{}", r.stdout);
    assert!(r.stdout.contains(" duties fulfilled"), "{}", r.stdout);
    // A closed period is not marked (last year, judged as of now).
    let last = (vouch::clock::now().year() - 1).to_string();
    let r = env.ok(&["report", "--period", &last, "--format", "md", "--out", "-"]);
    assert!(!r.stdout.contains("PERIOD STILL OPEN"), "{}", r.stdout);
    // The PDF cover carries the headline, the issue date and the mark.
    env.ok(&["report", "--period", &year, "--out", "open.pdf"]);
    let text = crate::pdf::flat(&crate::pdf::pdf_text(
        &std::fs::read(env.p("open.pdf")).unwrap(),
    ));
    assert!(text.contains("PERIOD STILL OPEN"), "{text}");
    assert!(text.contains("issued"), "{text}");
}

/// The demo's `next:` lines run as written from where the user stands, with `vouch` not
/// on PATH (so they name the binary), and the printed report command gives the demo's PDF
/// byte for byte (issue 12 item 3).
#[test]
fn demo_next_lines_run_as_written() {
    let env = Env::new();
    let out = env.ok(&["demo", "--dir", "d", "--pdf", "demo.pdf"]).stdout;
    assert!(out.contains("vouch is not on your PATH"), "{out}");
    let at = out
        .lines()
        .position(|l| l.starts_with("next: "))
        .expect("a next: line");
    let commands: Vec<String> = out
        .lines()
        .skip(at)
        .map(|l| l.trim_start_matches("next: ").trim().to_string())
        .collect();
    assert_eq!(commands.len(), 4, "{out}");
    for c in &commands {
        assert!(!c.starts_with("vouch "), "{c}");
        let r = std::process::Command::new("sh")
            .arg("-c")
            .arg(c)
            .current_dir(env.path())
            .env_remove("VOUCH_LEDGER")
            .env_remove("VOUCH_KEY")
            .output()
            .unwrap();
        assert!(
            r.status.success(),
            "{c}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
    }
    assert_eq!(
        std::fs::read(env.p("my-copy.pdf")).unwrap(),
        std::fs::read(env.p("demo.pdf")).unwrap()
    );
}

/// Each subcommand's help shows its own options first and the global ones once, under
/// their own heading; `keygen` and `demo`, which open no ledger, do not offer `--ledger`
/// (issue 12 item 7).
#[test]
fn help_shows_own_options_first() {
    let env = Env::new();
    let h = env.ok(&["record", "--help"]).stdout;
    let own = h.find("--item").unwrap();
    let global = h.find("Global options:").expect("a global heading");
    assert!(own < global, "{h}");
    assert!(h.find("--ledger").unwrap() > global, "{h}");
    assert_eq!(h.matches("--ledger <PATH>").count(), 1, "{h}");
    assert!(!h.lines().next().unwrap_or("").contains("--field"));
    for cmd in ["keygen", "demo"] {
        let h = env.ok(&[cmd, "--help"]).stdout;
        assert!(!h.contains("--ledger"), "{cmd}: {h}");
    }
    // Still accepted where given (a script may set it everywhere).
    env.ok(&["keygen", "k", "--ledger", "x.db"]);
}

/// A bad --outcome is reported before whether the signer may record the item: input is
/// checked in the order it is read (issue 12 item 7).
#[test]
fn record_checks_outcome_before_authority() {
    let env = Env::adopted();
    let r = env.fails(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        "bogus",
        "--key",
        "provider",
    ]);
    assert!(
        r.stderr.contains("unknown outcome \"bogus\""),
        "{}",
        r.stderr
    );
    // With a good outcome the authority check speaks.
    let r = env.fails(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        "pass",
        "--field",
        "backup_id=b",
        "--field",
        "rto_minutes=3",
        "--field",
        "data_verified=true",
        "--key",
        "provider",
    ]);
    assert!(r.stderr.contains("holds neither R nor A"), "{}", r.stderr);
}
