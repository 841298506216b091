//! Export bundles (schema/FORMAT.md, "Export bundles"): written by `vouch export --bundle`, verified by
//! `vouch verify --bundle` without the ledger file, and by hand with the README's steps.

use crate::util::{CT, Env, attacker};
use serde_json::Value;
use std::path::Path;

/// Provider and customer, the Cloud Temple matrix adopted (3) and acknowledged (4), a
/// restore test with a stored artefact (5) and one without (6), a patch run (7).
fn ledger() -> Env {
    let env = Env::adopted();
    std::fs::write(
        env.p("restore.log"),
        "restore of bk-1: 41 minutes, checksums ok\n",
    )
    .unwrap();
    for (date, art) in [("2026-07-15", true), ("2026-08-15", false)] {
        let mut a = vec![
            "record",
            "--item",
            "backup.restore-tests",
            "--kind",
            "restore-test",
            "--outcome",
            "pass",
            "--performed-at",
            date,
            "--field",
            "backup_id=bk-1",
            "--field",
            "rto_minutes=41",
            "--field",
            "data_verified=true",
            "--key",
            "customer",
        ];
        if art {
            a.extend(["--artifact", "restore.log"]);
        }
        env.ok(&a);
    }
    env.record("provider", "images.official-patching");
    env
}

fn export(env: &Env, dir: &str, extra: &[&str]) -> crate::util::Run {
    let mut a = vec!["export", "--bundle", dir, "--key", "provider"];
    a.extend_from_slice(extra);
    env.ok(&a)
}

fn verify(env: &Env, dir: &str, extra: &[&str]) -> crate::util::Run {
    let mut a = vec!["verify", "--bundle", dir];
    a.extend_from_slice(extra);
    env.run(&a)
}

fn verify_json(env: &Env, dir: &str, extra: &[&str]) -> (i32, Value) {
    let mut a = vec!["--format", "json", "verify", "--bundle", dir];
    a.extend_from_slice(extra);
    let r = env.run(&a);
    (r.code, serde_json::from_str(&r.stdout).unwrap())
}

/// Every file of a bundle, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if e.file_type().unwrap().is_dir() {
            for f in files(&e.path()) {
                out.push(format!("{name}/{f}"));
            }
        } else {
            out.push(name);
        }
    }
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in files(from) {
        let t = to.join(&f);
        std::fs::create_dir_all(t.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&f), t).unwrap();
    }
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 0x01;
    std::fs::write(path, b).unwrap();
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(vouch::crypto::sha256(b))
}

/// Rewrite MANIFEST to match the files, as an attacker who edited them would.
fn rebuild_manifest(dir: &Path) {
    let mut m = String::new();
    for f in files(dir) {
        if f != "MANIFEST" && f != "MANIFEST.sig" {
            m.push_str(&format!(
                "{}  {f}\n",
                sha256_hex(&std::fs::read(dir.join(&f)).unwrap())
            ));
        }
    }
    std::fs::write(dir.join("MANIFEST"), m).unwrap();
}

fn fingerprint(env: &Env, name: &str) -> String {
    let k = vouch::crypto::keyfile::load_public(&env.p(&format!("keys/{name}.pub"))).unwrap();
    k.fingerprint().to_string()
}

#[test]
fn full_bundle_round_trip_without_the_ledger_file() {
    let env = ledger();
    let r = export(&env, "b", &["--artifacts"]);
    assert!(
        r.stdout
            .starts_with("wrote bundle b: 7 entries (the whole ledger)"),
        "{}",
        r.stdout
    );
    let dir = env.p("b");
    let artefact = sha256_hex(b"restore of bk-1: 41 minutes, checksums ok\n");
    assert_eq!(
        files(&dir),
        vec![
            "MANIFEST".to_string(),
            "MANIFEST.sig".into(),
            "README.txt".into(),
            format!("artifacts/{artefact}"),
            "bundle.json".into(),
            "checkpoint.txt".into(),
            "entries.jsonl".into(),
            "keys/acme.pub".into(),
            "keys/cloudtemple.pub".into(),
            "matrices/cloudtemple-vm-instances.toml".into(),
        ]
    );
    // The files are the ledger's bytes.
    assert_eq!(
        std::fs::read(dir.join("matrices/cloudtemple-vm-instances.toml")).unwrap(),
        std::fs::read(CT).unwrap()
    );
    assert_eq!(
        std::fs::read(dir.join("keys/acme.pub")).unwrap(),
        std::fs::read(env.p("keys/customer.pub")).unwrap()
    );
    let show: Value =
        serde_json::from_str(&env.ok(&["--format", "json", "show", "5"]).stdout).unwrap();
    let line5: Value = serde_json::from_str(
        std::fs::read_to_string(dir.join("entries.jsonl"))
            .unwrap()
            .lines()
            .nth(4)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(line5["seq"], 5);
    assert_eq!(line5["entry"], show["entry"]);
    assert_eq!(line5["payload"], show["payload_bytes"]);
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bundle.json")).unwrap()).unwrap();
    assert_eq!(info["scope"], "full");
    assert_eq!(info["entries"], 7);
    assert_eq!(info["exporter"]["party"], "cloudtemple");
    assert_eq!(info["format"], "vouch/v1 bundle");
    // MANIFEST covers every other file, in sha256sum format.
    let manifest = std::fs::read_to_string(dir.join("MANIFEST")).unwrap();
    assert_eq!(manifest.lines().count(), 8);
    for l in manifest.lines() {
        let (h, f) = l.split_once("  ").unwrap();
        assert_eq!(h, sha256_hex(&std::fs::read(dir.join(f)).unwrap()), "{f}");
    }
    let cp = std::fs::read_to_string(dir.join("checkpoint.txt")).unwrap();
    assert_eq!(cp.lines().nth(1), Some("7"));

    // The auditor has the bundle, not the ledger.
    std::fs::rename(env.p("ledger.db"), env.p("elsewhere.db")).unwrap();
    let r = verify(&env, "b", &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.starts_with(
            "ok: bundle b: the whole ledger, 7 entries, 7 signatures, chain intact; head entry 7, "
        ),
        "{}",
        r.stdout
    );
    for want in [
        "is the root checkpoint.txt signs (size 7)",
        "checkpoint: signed by cloudtemple (key ",
        "files: 8 files match MANIFEST; MANIFEST.sig signed by cloudtemple",
        "matrices: 1 adopted matrix file(s) match their adoption entries",
        "artefacts: 1 file(s) match the SHA-256 and size their evidence signs",
        "trust: self-consistency only",
    ] {
        assert!(r.stdout.contains(want), "{want}: {}", r.stdout);
    }
    let (p, c) = (fingerprint(&env, "provider"), fingerprint(&env, "customer"));
    let r = verify(&env, "b", &["--trust", &p, "--trust", "keys/customer.pub"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("trust: every party key is one of the 2 pinned key(s)")
    );
    let (code, v) = verify_json(&env, "b", &["--trust", &p, "--trust", &c]);
    assert_eq!(code, 0);
    assert_eq!(v["ok"], true);
    assert_eq!(v["scope"], "full");
    assert_eq!(v["entries"], 7);
    assert_eq!(v["trust"], "pinned");
    assert_eq!(v["checkpoint"]["size"], 7);
    assert_eq!(v["checkpoint"]["root"], v["merkle_root"]);
    assert_eq!(v["checkpoint"]["signed_by"][0]["party"], "cloudtemple");
    assert_eq!(v["manifest"]["signed_by"]["fingerprint"], p.as_str());

    // A pin that is not the customer's key: the bundle is not what the auditor was told.
    env.ok(&["keygen", "stranger"]);
    let r = verify(&env, "b", &["--trust", &p, "--trust", "keys/stranger.pub"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!(
            "entries.jsonl line 2: entry 2: party \"acme\" is registered with key {c}, which is not among the trusted keys"
        )),
        "{}",
        r.stdout
    );
    // Only the exporter's key pinned: its signatures still count, the customer's does not.
    let r = verify(&env, "b", &["--trust", &c]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("MANIFEST.sig: signed by key"),
        "{}",
        r.stdout
    );
}

#[test]
fn an_edited_byte_anywhere_is_reported_naming_its_file() {
    let env = ledger();
    export(&env, "b", &["--artifacts"]);
    let dir = env.p("b");
    let all = files(&dir);
    assert_eq!(all.len(), 10);
    for f in &all {
        let len = std::fs::metadata(dir.join(f)).unwrap().len() as usize;
        for at in [0, len / 3, len / 2, 2 * len / 3, len - 1] {
            let c = env.p("c");
            let _ = std::fs::remove_dir_all(&c);
            copy_dir(&dir, &c);
            flip(&c.join(f), at);
            let r = verify(&env, "c", &[]);
            assert_eq!(r.code, 1, "{f} byte {at}: {}{}", r.stdout, r.stderr);
            assert!(
                r.stdout.lines().any(|l| l.starts_with(f.as_str())),
                "{f} byte {at}: no finding names the file:\n{}",
                r.stdout
            );
            assert!(r.stdout.contains("FAILED: bundle c: "), "{}", r.stdout);
        }
    }
}

#[test]
fn an_edit_hidden_by_a_rebuilt_manifest_is_still_found() {
    let env = ledger();
    export(&env, "b", &["--artifacts"]);
    let dir = env.p("b");
    let artefact = format!(
        "artifacts/{}",
        sha256_hex(b"restore of bk-1: 41 minutes, checksums ok\n")
    );
    // (file, byte to flip, a finding that is not about MANIFEST)
    let entries = std::fs::read_to_string(dir.join("entries.jsonl")).unwrap();
    let line5 = entries.lines().take(4).map(|l| l.len() + 1).sum::<usize>();
    let outcome = line5
        + entries
            .lines()
            .nth(4)
            .unwrap()
            .find("\\\"pass\\\"")
            .unwrap()
        + 3;
    let cases: Vec<(String, usize, String)> = vec![
        (
            "entries.jsonl".into(),
            outcome,
            "entries.jsonl line 5: entry 5: payload bytes do not match the payload hash in the signed entry".into(),
        ),
        (
            "keys/acme.pub".into(),
            40,
            "keys/acme.pub: is not the key entry 2 registers for party \"acme\"".into(),
        ),
        (
            "matrices/cloudtemple-vm-instances.toml".into(),
            500,
            "matrices/cloudtemple-vm-instances.toml: is not the matrix entry 3 adopts (cloudtemple-vm-instances version 1)".into(),
        ),
        (
            artefact.clone(),
            3,
            format!("{artefact}: its content does not hash to its name"),
        ),
        (
            "checkpoint.txt".into(),
            60,
            // A changed root either differs from the entries' root or, when the flip
            // lands on the padding bits, is not canonical base64: both name line 3.
            "line 3: root".into(),
        ),
        ("README.txt".into(), 100, "MANIFEST.sig: is not a signature of MANIFEST".into()),
        ("bundle.json".into(), 30, "MANIFEST.sig: is not a signature of MANIFEST".into()),
    ];
    for (f, at, want) in cases {
        let c = env.p("c");
        let _ = std::fs::remove_dir_all(&c);
        copy_dir(&dir, &c);
        flip(&c.join(&f), at);
        rebuild_manifest(&c);
        let r = verify(&env, "c", &[]);
        assert_eq!(r.code, 1, "{f}: {}", r.stdout);
        assert!(
            r.stdout.contains(&want),
            "{f}: want {want:?} in:\n{}",
            r.stdout
        );
        assert!(
            r.stdout
                .contains("MANIFEST.sig: is not a signature of MANIFEST by key"),
            "{f}: {}",
            r.stdout
        );
        assert!(
            !r.stdout.contains("its SHA-256 is not the one MANIFEST"),
            "{}",
            r.stdout
        );
    }
}

#[test]
fn missing_and_added_files_are_reported() {
    let env = ledger();
    export(&env, "b", &[]);
    let dir = env.p("b");
    let manifest = std::fs::read_to_string(dir.join("MANIFEST")).unwrap();
    let line_of = |f: &str| {
        manifest
            .lines()
            .position(|l| l.ends_with(&format!("  {f}")))
            .unwrap()
            + 1
    };
    let fresh = || {
        let c = env.p("c");
        let _ = std::fs::remove_dir_all(&c);
        copy_dir(&dir, &c);
        c
    };
    for f in [
        "keys/acme.pub",
        "matrices/cloudtemple-vm-instances.toml",
        "README.txt",
        "checkpoint.txt",
        "bundle.json",
        "entries.jsonl",
    ] {
        let c = fresh();
        std::fs::remove_file(c.join(f)).unwrap();
        let r = verify(&env, "c", &[]);
        assert_eq!(r.code, 1, "{f}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stdout.starts_with(&format!(
                "{f}: missing (MANIFEST line {} lists it)\n",
                line_of(f)
            )),
            "{f}: {}",
            r.stdout
        );
    }
    let c = fresh();
    std::fs::remove_file(c.join("MANIFEST.sig")).unwrap();
    let r = verify(&env, "c", &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.starts_with("MANIFEST.sig: missing\n"),
        "{}",
        r.stdout
    );

    // Added files.
    let c = fresh();
    std::fs::write(c.join("notes.txt"), "hello").unwrap();
    std::fs::copy(env.p("keys/provider.pub"), c.join("keys/evil.pub")).unwrap();
    let r = verify(&env, "c", &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.starts_with(
            "keys/evil.pub: is not listed in MANIFEST\nnotes.txt: is not a file a vouch bundle has\n"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("keys/evil.pub: no entry in the bundle registers a key of this name")
    );
    #[cfg(unix)]
    {
        let c = fresh();
        std::os::unix::fs::symlink("/etc/passwd", c.join("link")).unwrap();
        let r = verify(&env, "c", &[]);
        assert_eq!(r.code, 1);
        assert!(
            r.stdout.contains("link: is a symbolic link"),
            "{}",
            r.stdout
        );
    }

    // The newest entry cut off, MANIFEST rebuilt: the checkpoint still counts it.
    let c = fresh();
    let text = std::fs::read_to_string(c.join("entries.jsonl")).unwrap();
    let keep: String = text.lines().take(6).map(|l| format!("{l}\n")).collect();
    std::fs::write(c.join("entries.jsonl"), keep).unwrap();
    rebuild_manifest(&c);
    let r = verify(&env, "c", &[]);
    assert_eq!(r.code, 1);
    for want in [
        "bundle.json: says 7 entries; entries.jsonl has 6 lines",
        "checkpoint.txt line 2: size 7, but the bundle holds entries 1–6",
    ] {
        assert!(r.stdout.contains(want), "{want}: {}", r.stdout);
    }
    // An entry in the middle removed: the chain says so.
    let c = fresh();
    let keep: String = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 4)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    std::fs::write(c.join("entries.jsonl"), keep).unwrap();
    let r = verify(&env, "c", &["--all"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("entries.jsonl: entry 5: entry 5 is missing (deleted?)"),
        "{}",
        r.stdout
    );

    // Without MANIFEST the directory is not a bundle: nothing can be checked.
    let c = fresh();
    std::fs::remove_file(c.join("MANIFEST")).unwrap();
    let r = env.fails(&["verify", "--bundle", "c"]);
    assert!(
        r.stderr.contains("c: no MANIFEST: not a vouch bundle"),
        "{}",
        r.stderr
    );
    let r = env.fails(&["verify", "--bundle", "nowhere"]);
    assert!(r.stderr.contains("no bundle at nowhere"), "{}", r.stderr);
    let r = env.fails(&["verify", "--bundle", "ledger.db"]);
    assert!(
        r.stderr.contains("ledger.db is not a directory"),
        "{}",
        r.stderr
    );
}

#[test]
fn malformed_lines_are_named_by_line() {
    let env = ledger();
    export(&env, "b", &[]);
    let c = env.p("b");
    let text = std::fs::read_to_string(c.join("entries.jsonl")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[2] = lines[2].replacen("{\"entry\"", "{ \"entry\"", 1);
    lines[5] = "not json".into();
    std::fs::write(c.join("entries.jsonl"), lines.join("\n") + "\n").unwrap();
    let r = verify(&env, "b", &["--all"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("entries.jsonl line 3: the line is not in its one spelling"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("entries.jsonl line 6: not an entry line"),
        "{}",
        r.stdout
    );
}

#[test]
fn sampled_bundles_prove_inclusion_and_a_tampered_proof_fails() {
    let env = ledger();
    let r = export(&env, "s", &["--items", "backup.restore-tests"]);
    assert!(
        r.stdout.starts_with(
            "wrote bundle s: 6 entries (2 chosen, 4 to read them) with inclusion proofs, of the ledger's 7"
        ),
        "{}",
        r.stdout
    );
    let dir = env.p("s");
    let text = std::fs::read_to_string(dir.join("entries.jsonl")).unwrap();
    let seqs: Vec<u64> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            assert!(v["proof"].is_array(), "{l}");
            v["seq"].as_u64().unwrap()
        })
        .collect();
    // Parties (1, 2), the adoption (3) and its acknowledgement (4), the restore tests.
    assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6]);
    std::fs::rename(env.p("ledger.db"), env.p("elsewhere.db")).unwrap();
    let r = verify(&env, "s", &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.starts_with(
            "ok: sampled bundle s: proves inclusion of 6 entries in the ledger of 7 entries"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("it does not show the other 1 entries, nor that the selection is complete")
    );
    assert!(r.stdout.contains("selection: items backup.restore-tests"));
    let (code, v) = verify_json(&env, "s", &[]);
    assert_eq!(code, 0);
    assert_eq!(v["scope"], "sample");
    assert_eq!(v["proofs"], 6);
    assert_eq!(v["checkpoint"]["size"], 7);
    std::fs::rename(env.p("elsewhere.db"), env.p("ledger.db")).unwrap();

    // A proof hash changed: that entry is not proven.
    let c = env.p("c");
    copy_dir(&dir, &c);
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut v: Value = serde_json::from_str(&lines[4]).unwrap();
    let h = v["proof"][1].as_str().unwrap().to_string();
    let flipped = if h.starts_with('0') { "1" } else { "0" };
    v["proof"][1] = Value::String(format!("{flipped}{}", &h[1..]));
    lines[4] = serde_json::to_string(&v).unwrap();
    std::fs::write(c.join("entries.jsonl"), lines.join("\n") + "\n").unwrap();
    rebuild_manifest(&c);
    let r = verify(&env, "c", &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.starts_with(
            "entries.jsonl line 5: entry 5: its inclusion proof does not lead to the root of the checkpoint's 7 entries\n"
        ),
        "{}",
        r.stdout
    );
    // An entry the checkpoint does not cover cannot be slipped in: entry 7 of a copy of
    // the ledger made after the checkpoint is beyond its size.
    std::fs::remove_dir_all(&c).unwrap();

    // --seq: the entry and what is needed to read it.
    let r = export(&env, "q", &["--seq", "7"]);
    assert!(
        r.stdout.contains("5 entries (1 chosen, 4 to read them)"),
        "{}",
        r.stdout
    );
    let r = verify(&env, "q", &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("selection: entries 7"));
    // --period: the evidence performed in it.
    let r = env.ok(&[
        "export", "--bundle", "p", "--period", "2026-08", "--key", "customer",
    ]);
    assert!(
        r.stdout.contains("(1 chosen, 4 to read them)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("signed by acme"), "{}", r.stdout);
    let r = verify(
        &env,
        "p",
        &[
            "--trust",
            "keys/provider.pub",
            "--trust",
            "keys/customer.pub",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("selection: evidence performed 2026-08-01 to 2026-08-31")
    );

    // Nothing selected, or an entry that is not there: an error, nothing written.
    let r = env.fails(&[
        "export", "--bundle", "e", "--key", "provider", "--period", "2025",
    ]);
    assert!(
        r.stderr.contains("the selection matches no entry"),
        "{}",
        r.stderr
    );
    let r = env.fails(&["export", "--bundle", "e", "--key", "provider", "--seq", "8"]);
    assert!(
        r.stderr
            .contains("--seq 8: there is no entry 8 (the ledger has entries 1–7)"),
        "{}",
        r.stderr
    );
    assert!(!env.p("e").exists());
}

#[test]
fn export_refuses_a_taken_directory_and_writes_nothing() {
    let env = ledger();
    std::fs::create_dir(env.p("full")).unwrap();
    std::fs::write(env.p("full/keep.txt"), "mine").unwrap();
    let r = env.fails(&["export", "--bundle", "full", "--key", "provider"]);
    assert!(
        r.stderr.contains("full: the directory is not empty"),
        "{}",
        r.stderr
    );
    assert_eq!(files(&env.p("full")), vec!["keep.txt".to_string()]);
    let r = env.fails(&["export", "--bundle", "ledger.db", "--key", "provider"]);
    assert!(
        r.stderr
            .contains("ledger.db: exists and is not a directory"),
        "{}",
        r.stderr
    );
    // An empty directory is fine.
    std::fs::create_dir(env.p("empty")).unwrap();
    export(&env, "empty", &[]);
    assert_eq!(verify(&env, "empty", &[]).code, 0);
    // A key that is not a party's.
    env.ok(&["keygen", "stranger"]);
    let r = env.fails(&["export", "--bundle", "x", "--key", "stranger"]);
    assert!(
        r.stderr.contains("is not registered in ledger.db"),
        "{}",
        r.stderr
    );
    assert!(!env.p("x").exists());
}

#[test]
fn export_refuses_a_ledger_that_does_not_verify() {
    let env = ledger();
    let c = attacker(&env.p("ledger.db"));
    c.execute(
        "UPDATE entries SET payload = CAST(replace(payload, X'2270617373', X'2266616966') AS BLOB) WHERE seq = 5",
        [],
    )
    .unwrap();
    drop(c);
    let r = env.run(&["export", "--bundle", "b", "--key", "provider"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("entry 5: payload bytes do not match the payload hash in the signed entry"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("FAILED: the ledger does not verify; no bundle written")
    );
    assert!(!env.p("b").exists());
}

fn have(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The README's by-hand steps, run as written (needs bash, jq, openssl, python3).
fn run_readme(env: &Env, dir: &str) {
    let readme = std::fs::read_to_string(env.p(dir).join("README.txt")).unwrap();
    let start = readme.find(vouch::bundle::README_SCRIPT_START).unwrap();
    let out = std::process::Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", &readme[start..]])
        .env("B", env.p(dir))
        .output()
        .unwrap();
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "README steps failed:\n{so}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        so.matches("Signature Verified Successfully").count(),
        3,
        "{so}"
    );
}

#[test]
fn the_readme_steps_verify_by_hand() {
    if !["bash", "jq", "openssl", "python3", "sha256sum"]
        .iter()
        .all(|t| have(t))
    {
        eprintln!("skipped: bash, jq, openssl, python3 and sha256sum are needed");
        return;
    }
    let env = ledger();
    export(&env, "b", &["--artifacts"]);
    run_readme(&env, "b");
    let readme = std::fs::read_to_string(env.p("b/README.txt")).unwrap();
    assert!(readme.contains(
        "# 4. one entry as files, then schema/FORMAT.md §10: entry 7, signed by cloudtemple"
    ));
    // The bundle is unchanged by the steps.
    assert_eq!(verify(&env, "b", &[]).code, 0);
    export(&env, "s", &["--items", "backup.restore-tests"]);
    run_readme(&env, "s");
    // The by-hand root check fails on a bundle whose entries were cut short.
    let text = std::fs::read_to_string(env.p("b/entries.jsonl")).unwrap();
    let keep: String = text.lines().take(6).map(|l| format!("{l}\n")).collect();
    std::fs::write(env.p("b/entries.jsonl"), keep).unwrap();
    rebuild_manifest(&env.p("b"));
    let start = readme.find("python3 - \"$B\"").unwrap();
    let out = std::process::Command::new("bash")
        .args(["-c", &readme[start..]])
        .env("B", env.p("b"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("DIFFERS FROM"));
}

#[test]
fn rotated_keys_travel_with_the_bundle() {
    let env = ledger();
    env.ok(&["keygen", "customer2"]);
    env.ok(&[
        "key",
        "rotate",
        "--key",
        "customer",
        "--new",
        "keys/customer2.pub",
    ]);
    env.ok(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-09-15",
        "--field",
        "backup_id=bk-2",
        "--field",
        "rto_minutes=30",
        "--field",
        "data_verified=true",
        "--key",
        "customer2",
    ]);
    // The retired key signs no bundle; the current one does.
    let r = env.fails(&["export", "--bundle", "x", "--key", "customer"]);
    assert!(r.stderr.contains("was retired by entry 8"), "{}", r.stderr);
    assert!(!env.p("x").exists());
    for (dir, extra) in [("b", vec![]), ("s", vec!["--seq", "9"])] {
        let mut a = vec!["export", "--bundle", dir, "--key", "customer2"];
        a.extend(extra);
        env.ok(&a);
        assert_eq!(
            std::fs::read(env.p(dir).join("keys/acme.8.pub")).unwrap(),
            std::fs::read(env.p("keys/customer2.pub")).unwrap()
        );
        let all = [
            "--trust",
            "keys/provider.pub",
            "--trust",
            "keys/customer.pub",
            "--trust",
            "keys/customer2.pub",
        ];
        let r = verify(&env, dir, &all);
        assert_eq!(r.code, 0, "{dir}: {}", r.stdout);
        assert!(
            r.stdout.contains("checkpoint: signed by acme (key "),
            "{}",
            r.stdout
        );
        // Pins without the new key: the rotation, the MANIFEST and the checkpoint say so.
        let r = verify(&env, dir, &all[..4]);
        assert_eq!(r.code, 1);
        assert!(
            r.stdout
                .contains(": entry 8: party \"acme\" rotates to key "),
            "{dir}: {}",
            r.stdout
        );
        assert!(
            r.stdout.contains("MANIFEST.sig: signed by key "),
            "{}",
            r.stdout
        );
        // The key file of the rotated key is checked like the others.
        let c = env.p("c");
        let _ = std::fs::remove_dir_all(&c);
        copy_dir(&env.p(dir), &c);
        std::fs::copy(env.p("keys/customer.pub"), c.join("keys/acme.8.pub")).unwrap();
        rebuild_manifest(&c);
        let r = verify(&env, "c", &all);
        assert_eq!(r.code, 1);
        assert!(
            r.stdout
                .contains("keys/acme.8.pub: is not the key entry 8 registers for party \"acme\""),
            "{}",
            r.stdout
        );
    }
}

#[test]
fn a_bundle_is_checked_against_a_checkpoint_the_auditor_holds() {
    let env = ledger();
    // A copy of the ledger as it is now, with the parties' keys: it will fork.
    let fork = Env::new();
    std::fs::copy(env.p("ledger.db"), fork.p("ledger.db")).unwrap();
    copy_dir(&env.p("keys"), &fork.p("keys"));
    // One more entry, then the auditor gets a checkpoint.
    env.record("provider", "images.official-patching");
    env.ok(&["checkpoint", "--key", "provider", "--out", "early.txt"]);
    let early_size: u64 = std::fs::read_to_string(env.p("early.txt"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    env.record("provider", "images.official-patching");
    export(&env, "b", &[]);
    let r = verify(&env, "b", &["--checkpoint", "early.txt"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "checkpoint early.txt: signed by cloudtemple; the ledger holds its {early_size} entries and extends it by 2"
        )),
        "{}",
        r.stdout
    );
    let (code, v) = verify_json(&env, "b", &["--checkpoint", "early.txt"]);
    assert_eq!(code, 0);
    assert_eq!(v["checkpoints"][0]["ok"], true);
    // A checkpoint of a later state than the bundle: the bundle is cut short.
    env.record("provider", "images.official-patching");
    env.ok(&["checkpoint", "--key", "provider", "--out", "late.txt"]);
    let r = verify(&env, "b", &["--checkpoint", "late.txt"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("FAILED: checkpoint late.txt: it commits to"),
        "{}",
        r.stdout
    );
    // The fork's bundle (another entry where the original has its last one before the
    // checkpoint), consistent with itself, against the original's checkpoint.
    fork.record("customer", "guest-os.patching");
    fork.record("customer", "guest-os.patching");
    fork.record("customer", "guest-os.patching");
    export(&fork, "fb", &[]);
    std::fs::copy(env.p("early.txt"), fork.p("early.txt")).unwrap();
    let r = verify(&fork, "fb", &["--checkpoint", "early.txt"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("no longer hash to its root"),
        "{}",
        r.stdout
    );
    // A sampled bundle cannot be checked against a checkpoint (exit 2, says why).
    export(&env, "s", &["--seq", "5"]);
    let r = verify(&env, "s", &["--checkpoint", "early.txt"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("sampled bundle"), "{}", r.stderr);
}

/// Issue 11 item 8: a bundle is untrusted input; its MANIFEST's type and size are checked
/// before anything is read (no memory blow-up, no hang), exit 2 with the file named.
#[test]
fn a_hostile_manifest_is_refused_before_it_is_read() {
    let env = ledger();
    export(&env, "b", &[]);
    let manifest = env.p("b/MANIFEST");
    // A symbolic link to /dev/zero.
    std::fs::remove_file(&manifest).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &manifest).unwrap();
    let started = std::time::Instant::now();
    let r = verify(&env, "b", &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("MANIFEST is not a regular file"),
        "{}",
        r.stderr
    );
    // A sparse 2 GiB MANIFEST.
    std::fs::remove_file(&manifest).unwrap();
    let f = std::fs::File::create(&manifest).unwrap();
    f.set_len(2 << 30).unwrap();
    let r = verify(&env, "b", &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("more than a MANIFEST can be"),
        "{}",
        r.stderr
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "refusals must be prompt"
    );
}
