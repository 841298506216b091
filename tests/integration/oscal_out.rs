//! `vouch export --oscal`: OSCAL assessment results of the demo quarter, checked against
//! `vouch report --format json` and validated by compliance-trestle (an OSCAL
//! implementation nobody here wrote); `--sign` checked by `trestle verify --beta`.
//! trestle must be installed (`.ci/run` installs it): a missing trestle fails the test.

use crate::util::{Env, attacker};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The demo ledger (a quarter of evidence, exceptions, sign-offs) in a scratch directory.
pub fn demo() -> Env {
    let env = Env::new();
    env.ok(&["demo", "--dir", "d", "--pdf", "demo.pdf"]);
    env
}

/// Run an independent tool; its absence is a failure, not a skip.
pub fn tool(dir: &Path, prog: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(prog)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("{prog} is needed for this test ({e}): pip install compliance-trestle==5.2.* securesystemslib in-toto")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn props(v: &Value) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in v["props"].as_array().into_iter().flatten() {
        assert_eq!(p["ns"], "urn:vouch:oscal", "{p}");
        m.entry(p["name"].as_str().unwrap().to_string())
            .or_default()
            .push(p["value"].as_str().unwrap().to_string());
    }
    m
}

fn one<'a>(m: &'a BTreeMap<String, Vec<String>>, k: &str) -> &'a str {
    &m[k][0]
}

const L: &str = "d/ledger.db";

#[test]
fn oscal_assessment_results_say_what_the_report_says_and_trestle_validates_them() {
    let env = demo();
    let r = env.ok(&[
        "--ledger", L, "export", "--oscal", "--period", "2026-Q3", "--out", "ar.json",
    ]);
    assert!(r.stdout.contains("wrote ar.json"), "{}", r.stdout);
    let bytes = std::fs::read(env.p("ar.json")).unwrap();
    // Deterministic: the same ledger and period give the same bytes, on stdout too.
    let again = env.ok(&["--ledger", L, "export", "--oscal", "--period", "2026-Q3"]);
    assert_eq!(again.stdout.as_bytes(), bytes.as_slice());

    let (ok, out) = tool(
        env.path(),
        "trestle",
        &[
            "partial-object-validate",
            "-f",
            "ar.json",
            "-e",
            "assessment-results",
        ],
    );
    assert!(ok && out.contains("VALID"), "trestle: {out}");

    let report: Value = serde_json::from_str(
        &env.ok(&[
            "--ledger",
            L,
            "report",
            "--period",
            "2026-Q3",
            "--format",
            "json",
            "--appendix",
            "all",
        ])
        .stdout,
    )
    .unwrap();
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    let ar = &doc["assessment-results"];
    let result = &ar["results"][0];
    let rp = props(result);
    assert_eq!(one(&rp, "attestation-digest"), report["digest"]);
    assert_eq!(one(&rp, "head-seq"), report["head"][0].to_string());
    assert_eq!(one(&rp, "head-hash"), report["head"][1]);
    let checkpoint = report["checkpoint"].as_str().unwrap();
    assert_eq!(
        format!(
            "{}\n{}\n{}\n",
            one(&rp, "checkpoint-origin"),
            one(&rp, "checkpoint-size"),
            one(&rp, "checkpoint-root")
        ),
        checkpoint
    );
    assert!(checkpoint.contains(one(&rp, "ledger-id")));
    assert_eq!(result["start"], "2026-07-01T00:00:00Z");
    assert_eq!(result["end"], "2026-10-01T00:00:00Z");

    // One observation per evidence entry of the report, collected = performed.
    let obs = result["observations"].as_array().unwrap();
    let appendix = report["appendix"].as_array().unwrap();
    assert_eq!(obs.len(), appendix.len());
    let resources: BTreeMap<String, &Value> = ar["back-matter"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["uuid"].as_str().unwrap().to_string(), r))
        .collect();
    let mut obs_uuid = BTreeMap::new();
    let mut artefacts = 0;
    for (o, e) in obs.iter().zip(appendix) {
        let p = props(o);
        assert_eq!(one(&p, "entry-seq"), e["seq"].to_string());
        assert_eq!(o["collected"], e["performed_at"]);
        assert_eq!(one(&p, "recorded-at"), e["recorded_at"]);
        obs_uuid.insert(e["seq"].as_u64().unwrap(), o["uuid"].as_str().unwrap());
        // Each artefact: relevant evidence pointing at a back-matter resource whose link
        // carries the artefact's SHA-256.
        for (a, ev) in e["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .zip(o["relevant-evidence"].as_array().into_iter().flatten())
        {
            let href = ev["href"].as_str().unwrap().trim_start_matches('#');
            let hash = &resources[href]["rlinks"][0]["hashes"][0];
            assert_eq!(hash["algorithm"], "SHA-256");
            assert_eq!(hash["value"], a[1]);
            artefacts += 1;
        }
    }
    assert!(
        artefacts > 5,
        "the demo's artefacts are linked: {artefacts}"
    );

    // One finding per item and duty holder, with exactly the report's status.
    let mut want = Vec::new();
    for s in report["sections"].as_array().unwrap() {
        for it in s["items"].as_array().unwrap() {
            for d in it["duties"].as_array().unwrap() {
                if d["role"] != "" {
                    want.push((it["id"].clone(), d.clone()));
                }
            }
        }
    }
    let findings = result["findings"].as_array().unwrap();
    assert_eq!(findings.len(), want.len());
    let mut statuses = BTreeMap::new();
    for (f, (item, d)) in findings.iter().zip(&want) {
        let p = props(f);
        assert_eq!(f["target"]["target-id"], *item);
        assert_eq!(one(&p, "status"), d["status"]);
        assert_eq!(f["target"]["status"]["reason"], d["status"]);
        let state = if d["status"] == "fulfilled" || d["status"] == "not-applicable" {
            "satisfied"
        } else {
            "not-satisfied"
        };
        assert_eq!(f["target"]["status"]["state"], state);
        let related: Vec<&str> = f["related-observations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| o["observation-uuid"].as_str().unwrap())
            .collect();
        let evidence: Vec<&str> = d["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| obs_uuid.get(&s.as_u64().unwrap()).copied())
            .collect();
        assert_eq!(related, evidence, "{item}");
        *statuses
            .entry(d["status"].as_str().unwrap().to_string())
            .or_insert(0) += 1;
    }
    for s in ["fulfilled", "failed", "overdue", "missing", "disputed"] {
        assert!(
            statuses.contains_key(s),
            "the demo has a {s} duty: {statuses:?}"
        );
    }

    // A risk per exception, open, named by its finding.
    let risks = result["risks"].as_array().unwrap();
    let exceptions = report["exceptions"].as_array().unwrap();
    assert_eq!(risks.len(), exceptions.len());
    for (k, x) in risks.iter().zip(exceptions) {
        assert_eq!(k["status"], "open");
        assert_eq!(one(&props(k), "status"), x["status"]);
        let uuid = k["uuid"].as_str().unwrap();
        assert!(
            findings
                .iter()
                .any(|f| f["related-risks"][0]["risk-uuid"] == uuid
                    && f["target"]["target-id"] == x["item"])
        );
    }
    // The sign-offs, with the digests they signed.
    let atts = result["attestations"].as_array().unwrap();
    let signoffs = report["signoffs"].as_array().unwrap();
    assert_eq!(atts.len(), signoffs.len());
    for (a, s) in atts.iter().zip(signoffs) {
        assert_eq!(one(&props(&a["parts"][0]), "signed-digest"), s["digest"]);
    }
    // Parties, with their roles.
    let parties = ar["metadata"]["parties"].as_array().unwrap();
    assert_eq!(parties.len(), 3);
    assert!(
        parties
            .iter()
            .any(|p| p["short-name"] == "acme" && p["name"] == "Acme Retail SA")
    );
}

#[test]
fn several_parties_sign_the_oscal_export_and_trestle_verifies_each() {
    let env = demo();
    let export = |key: &str| {
        env.ok(&[
            "--ledger", L, "export", "--oscal", "--period", "2026-Q3", "--out", "ar.json",
            "--sign", "--key", key,
        ])
    };
    let first = export("d/keys/acme.key");
    assert!(first.stdout.contains("signed by acme"), "{}", first.stdout);
    let second = export("d/keys/cloudtemple.key");
    assert!(
        second.stdout.contains("(2 signature(s))"),
        "{}",
        second.stdout
    );
    let verify = |file: &str, key: &str| {
        tool(
            env.path(),
            "trestle",
            &[
                "verify",
                "--beta",
                "-f",
                file,
                "--signature",
                "ar.json.dsse.json",
                "--public-key",
                key,
            ],
        )
    };
    for key in ["d/keys/acme.pub", "d/keys/cloudtemple.pub"] {
        let (ok, out) = verify("ar.json", key);
        assert!(ok, "trestle verify with {key}: {out}");
    }
    // A key that did not sign, and one changed byte, fail.
    assert!(!verify("ar.json", "d/keys/auditor.pub").0);
    let text = std::fs::read_to_string(env.p("ar.json")).unwrap();
    let changed = text.replacen("\"fulfilled\"", "\"fulfillez\"", 1);
    assert_ne!(changed, text);
    std::fs::write(env.p("changed.json"), &changed).unwrap();
    let (ok, out) = tool(
        env.path(),
        "trestle",
        &[
            "verify",
            "--beta",
            "-f",
            "changed.json",
            "--signature",
            "ar.json.dsse.json",
            "--public-key",
            "d/keys/acme.pub",
            "--subject-name",
            "ar.json",
        ],
    );
    assert!(!ok && out.contains("digest does not match"), "{out}");
    // A key that is not a party's is refused before anything is written.
    env.ok(&["keygen", "stranger"]);
    let r = env.fails(&[
        "--ledger",
        L,
        "export",
        "--oscal",
        "--period",
        "2026-Q3",
        "--out",
        "other.json",
        "--sign",
        "--key",
        "stranger",
    ]);
    assert!(r.stderr.contains("not registered"), "{}", r.stderr);
    assert!(!env.p("other.json").exists());
}

#[test]
fn a_ledger_that_does_not_verify_gets_no_oscal_document() {
    let env = demo();
    let c = attacker(&env.p(L));
    c.execute(
        "UPDATE entries SET payload = CAST(replace(payload, X'2270617373', X'2266616966') AS BLOB) WHERE seq = 9",
        [],
    )
    .unwrap();
    drop(c);
    let r = env.run(&[
        "--ledger", L, "export", "--oscal", "--period", "2026-Q3", "--out", "ar.json",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("FAILED"), "{}", r.stdout);
    assert!(!env.p("ar.json").exists());
    // --sign needs --out and --key.
    let r = env.fails(&[
        "--ledger", L, "export", "--oscal", "--period", "2026-Q3", "--sign",
    ]);
    assert!(
        r.stderr.contains("--out") || r.stderr.contains("--key"),
        "{}",
        r.stderr
    );
}
