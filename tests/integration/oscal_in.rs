//! `vouch matrix import --from oscal-ssp` on the NIST leveraged/leveraging example SSPs and
//! the FedRAMP rev5 SSP template (tests/data/oscal/, public domain). The items and splits
//! asserted here were read off the files by hand.

use crate::util::Env;
use serde_json::Value;

fn data(name: &str) -> String {
    format!("{}/tests/data/oscal/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Import `file` to `out.toml`; the matrix as `matrix show --format json`, and stderr.
fn import(env: &Env, file: &str, out: &str) -> (Value, String) {
    let r = env.ok(&[
        "matrix",
        "import",
        &data(file),
        "--from",
        "oscal-ssp",
        "--out",
        out,
    ]);
    env.ok(&["matrix", "validate", out]);
    let shown = env.ok(&["--format", "json", "matrix", "show", out]).stdout;
    (serde_json::from_str(&shown).unwrap(), r.stderr)
}

fn item<'a>(m: &'a Value, id: &str) -> &'a Value {
    m["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no item {id} in {m}"))
}

fn refs(i: &Value) -> Vec<&str> {
    i["refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect()
}

#[test]
fn the_nist_leveraged_plan_gives_provided_to_the_provider_and_responsibilities_to_the_customer() {
    let env = Env::two_parties();
    let (m, stderr) = import(&env, "oscal_leveraged-example_ssp.json", "iaas.toml");
    // One implemented requirement (ac-2) with one statement (ac-2_stmt.a).
    assert_eq!(m["items"].as_array().unwrap().len(), 1);
    let i = item(&m, "ac-2.a");
    assert_eq!(i["raci"]["provider"], "RA");
    assert_eq!(i["raci"]["customer"], "R");
    let st = &i["statements"];
    assert!(
        st["provider"]
            .as_str()
            .unwrap()
            .contains("Consumer-appropriate description of what a leveraging system may inherite from THIS SYSTEM"),
        "{st}"
    );
    assert!(
        st["customer"].as_str().unwrap().contains(
            "Leveraging system's responsibilities with respect to inheriting this capability"
        ),
        "{st}"
    );
    // The responsibility keeps its provided-uuid link; the control id is kept.
    let r = refs(i);
    assert!(r.contains(&"OSCAL control ac-2"));
    assert!(r.contains(&"OSCAL responsibility 11111111-0000-4000-9009-002001001002 (provided 11111111-0000-4000-9009-002001001001)"), "{r:?}");
    assert_eq!(m["title"], "CSP IaaS System Security Plan");
    // The parameter is kept as a note; the OSCAL roles are reported, not dropped.
    assert!(
        i["notes"]
            .to_string()
            .contains("ac-2_prm_1 = privileged and non-privileged")
    );
    assert!(stderr.contains("poc-for-customers"), "{stderr}");
    assert!(
        stderr.contains("not mapped: system-characteristics"),
        "{stderr}"
    );
    // The result is adoptable as it is (no TODO placeholders).
    env.ok(&[
        "matrix",
        "adopt",
        "iaas.toml",
        "--bind",
        "provider=cloudtemple",
        "--bind",
        "customer=acme",
        "--key",
        "provider",
    ]);
}

#[test]
fn the_nist_leveraging_plan_reads_inherited_as_the_provider_and_satisfied_as_the_customer() {
    let env = Env::new();
    let (m, _) = import(&env, "oscal_leveraging-example_ssp.json", "saas.toml");
    let i = item(&m, "ac-2.a");
    // The customer's own plan: it is accountable; the leveraged system performs its part.
    assert_eq!(i["raci"]["provider"], "R");
    assert_eq!(i["raci"]["customer"], "RA");
    assert!(
        i["statements"]["provider"]
            .as_str()
            .unwrap()
            .starts_with("[Access Control Appliance] inherited:")
    );
    assert!(i["statements"]["customer"].as_str().unwrap().contains(
        "satisfied: Description that directly addresses how the consumer responsibility was satisfied"
    ));
    let r = refs(i);
    assert!(r.contains(&"OSCAL inherited 22222222-0000-4000-9009-002001002002 (provided 11111111-0000-4000-9009-002001002001)"), "{r:?}");
    assert!(r.contains(&"OSCAL satisfied 22222222-0000-4000-9009-002001002001 (responsibility 11111111-0000-4000-9009-002001001001)"), "{r:?}");
}

#[test]
fn the_fedramp_template_maps_control_origination_and_reports_what_it_cannot_map() {
    let env = Env::new();
    let (m, stderr) = import(&env, "FedRAMP-SSP-OSCAL-Template-rev5.json", "fedramp.toml");
    // 20 implemented requirements, 74 statements (ac-1 has 5, ac-2 2, si-8 1, sr-1 2,
    // the 16 other -1 controls 4 each).
    assert_eq!(m["items"].as_array().unwrap().len(), 74);
    assert_eq!(m["sections"].as_array().unwrap().len(), 18);
    // ac-2: control-origination sp-system and customer-configured: shared, the provider
    // accountable (its plan).
    let ac2 = item(&m, "ac-2");
    assert_eq!(ac2["raci"]["provider"], "RA");
    assert_eq!(ac2["raci"]["customer"], "R");
    assert_eq!(ac2["ownership"], "shared");
    // ac-2.a: export.provided to the provider, export.responsibilities to the customer.
    let ac2a = item(&m, "ac-2.a");
    assert!(ac2a["statements"]["provider"].as_str().unwrap().contains(
        "Leveraged system's statement of capabilities which may be inherited by a leveraging systems to satisfy AC-2, part a"
    ));
    assert!(ac2a["statements"]["customer"].is_string());
    // at-1: sp-system only: the provider's alone.
    let at1 = item(&m, "at-1.a");
    assert_eq!(at1["raci"]["provider"], "RA");
    assert!(at1["raci"]["customer"].is_null());
    assert!(
        item(&m, "ac-1")["notes"]
            .to_string()
            .contains("implementation-status: planned")
    );
    // mp-1's and pe-1's first statements are spelled "_smt" in the template: reported.
    assert!(stderr.contains("mp-1: statement-id \"_smt\""), "{stderr}");
    assert!(stderr.contains("pe-1: statement-id \"_smt\""), "{stderr}");
    assert!(
        stderr.contains("information-system-security-officer"),
        "{stderr}"
    );
    assert_eq!(item(&m, "mp-1")["section"], "mp");
}

#[test]
fn what_is_not_an_ssp_is_refused_and_nothing_is_written() {
    let env = Env::new();
    std::fs::write(env.p("x.json"), r#"{"catalog": {}}"#).unwrap();
    let r = env.fails(&[
        "matrix",
        "import",
        "x.json",
        "--from",
        "oscal-ssp",
        "--out",
        "m.toml",
    ]);
    assert!(
        r.stderr.contains("not an OSCAL system security plan"),
        "{}",
        r.stderr
    );
    assert!(!env.p("m.toml").exists());
    let r = env.fails(&[
        "matrix",
        "import",
        "x.json",
        "--from",
        "oscal-ssp",
        "--map",
        "a=id",
    ]);
    assert!(r.stderr.contains("--map"), "{}", r.stderr);
}
