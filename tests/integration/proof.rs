//! `vouch prove` and `vouch verify --proof` (FORMAT.md §15) through the real binary: proofs
//! verify without the ledger, and every single-byte change, a wrong key or a fork fails.

use crate::util::{Env, Run};
use base64::Engine as _;
use vouch::crypto::keyfile::load_secret;
use vouch::format::checkpoint::{Checkpoint, vouch_origin};
use vouch::ledger::Access;
use vouch::ledger::Ledger;

const TRUST: [&str; 4] = [
    "--trust",
    "keys/provider.pub",
    "--trust",
    "keys/customer.pub",
];

/// Provider and customer, then `n` evidence entries by the customer (seq 3 …).
fn ledger(n: usize) -> Env {
    let env = Env::two_parties();
    for _ in 0..n {
        env.record("keys/customer.key", "guest-os.patching");
    }
    env
}

/// Sign a checkpoint of the first `size` entries of `db` with `key`, written to `file`,
/// through the library (the root from the ledger's Merkle tree, FORMAT.md §12–13).
fn checkpoint_of(env: &Env, db: &str, size: u64, key: &str, file: &str) -> String {
    let l = Ledger::open(&env.p(db), Access::ReadOnly).unwrap();
    let origin = vouch_origin(&l.id().unwrap());
    let note = Checkpoint {
        origin: origin.clone(),
        size,
        root: l.merkle_root(size).unwrap(),
        extensions: vec![],
    }
    .sign(&origin, &load_secret(&env.p(key)).unwrap())
    .unwrap()
    .to_string();
    std::fs::write(env.p(file), &note).unwrap();
    note
}

fn checkpoint(env: &Env, size: u64, file: &str) -> String {
    checkpoint_of(env, "ledger.db", size, "keys/provider.key", file)
}

fn verify(env: &Env, file: &str, extra: &[&str]) -> Run {
    let mut args = vec!["verify", "--proof", file];
    args.extend_from_slice(&TRUST);
    args.extend_from_slice(extra);
    env.run(&args)
}

fn fingerprint(env: &Env, name: &str) -> String {
    let pem = std::fs::read_to_string(env.p(&format!("keys/{name}.pub"))).unwrap();
    vouch::crypto::PublicKey::from_pem(&pem)
        .unwrap()
        .fingerprint()
        .to_string()
}

/// Every byte of `good` flipped in its lowest bit, one at a time: verify must fail (exit 1
/// or 2), never pass and never crash.
fn every_byte_flip_fails(env: &Env, good: &[u8]) {
    for i in 0..good.len() {
        let mut b = good.to_vec();
        b[i] ^= 0x01;
        std::fs::write(env.p("tampered"), &b).unwrap();
        let r = verify(env, "tampered", &[]);
        assert!(
            r.code == 1 || r.code == 2,
            "byte {i} ({:?} -> {:?}): exit {}\nstdout: {}\nstderr: {}",
            good[i] as char,
            b[i] as char,
            r.code,
            r.stdout,
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
}

#[test]
fn proof_of_an_entry_verifies_without_the_ledger() {
    let env = ledger(3);
    checkpoint(&env, 5, "cp5");
    let r = env.ok(&[
        "prove",
        "4",
        "--checkpoint",
        "cp5",
        "--out",
        "e4.tlog-proof",
    ]);
    assert_eq!(
        r.stdout,
        "wrote e4.tlog-proof: inclusion proof of entry 4 (evidence) in the checkpoint of 5 entries (cp5; 3 hashes)\n"
    );
    // The file is a C2SP tlog-proof: header, extra (entry text || signature), index, hashes,
    // empty line, the checkpoint verbatim.
    let text = std::fs::read_to_string(env.p("e4.tlog-proof")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "c2sp.org/tlog-proof@v1");
    assert_eq!(lines[2], "index 3");
    assert_eq!(lines[6], "");
    assert!(text.ends_with(&std::fs::read_to_string(env.p("cp5")).unwrap()));
    let extra = base64::engine::general_purpose::STANDARD
        .decode(lines[1].strip_prefix("extra ").unwrap())
        .unwrap();
    let show = env.ok(&["show", "4", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    let entry = v["entry"].as_str().unwrap().as_bytes();
    let sig = hex::decode(v["signature"].as_str().unwrap()).unwrap();
    assert_eq!(&extra[..extra.len() - 64], entry);
    assert_eq!(&extra[extra.len() - 64..], sig.as_slice());

    // Checked with no ledger anywhere near.
    std::fs::remove_file(env.p("ledger.db")).unwrap();
    let r = verify(&env, "e4.tlog-proof", &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let (p, c) = (fingerprint(&env, "provider"), fingerprint(&env, "customer"));
    let out: Vec<&str> = r.stdout.lines().collect();
    assert!(out[0].starts_with("ok: entry 4 is in the checkpoint of 5 entries of ledger "));
    assert!(out[1].starts_with("entry 4: evidence, ledger time "));
    assert_eq!(out[2], format!("entry signed by: {c} (keys/customer.pub)"));
    assert!(out[3].starts_with("checkpoint: 5 entries, root "));
    assert_eq!(
        out[4],
        format!("checkpoint signed by: {p} (keys/provider.pub)")
    );
    let r = verify(&env, "e4.tlog-proof", &["--format", "json"]);
    assert_eq!(r.code, 0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["proof"], "inclusion");
    assert_eq!(v["seq"], 4);
    assert_eq!(v["entry"]["kind"], "evidence");
    assert_eq!(v["entry"]["signer"], c.as_str());
    assert_eq!(v["checkpoint"]["size"], 5);
    assert_eq!(v["checkpoint"]["signed_by"], serde_json::json!([p]));
    assert_eq!(v["problems"], serde_json::json!([]));
}

#[test]
fn proof_every_single_byte_change_of_an_inclusion_proof_fails() {
    let env = ledger(3);
    checkpoint(&env, 5, "cp5");
    env.ok(&["prove", "3", "--checkpoint", "cp5", "--out", "p"]);
    let good = std::fs::read(env.p("p")).unwrap();
    assert_eq!(verify(&env, "p", &[]).code, 0);
    every_byte_flip_fails(&env, &good);
}

/// Change one part of a good proof, keeping the file well-formed, and require exit 1 with
/// the finding.
#[test]
fn proof_each_tampered_part_is_the_named_finding() {
    let env = ledger(3);
    checkpoint(&env, 5, "cp5");
    env.ok(&["prove", "4", "--checkpoint", "cp5", "--out", "p"]);
    let good = std::fs::read_to_string(env.p("p")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let lines: Vec<String> = good.lines().map(String::from).collect();
    let with = |i: usize, s: String| {
        let mut v = lines.clone();
        v[i] = s;
        v.join("\n") + "\n"
    };
    let extra = b64
        .decode(lines[1].strip_prefix("extra ").unwrap())
        .unwrap();
    let finding = |text: String, want: &str| {
        std::fs::write(env.p("t"), text).unwrap();
        let r = verify(&env, "t", &[]);
        assert_eq!(
            r.code, 1,
            "{want}\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        assert!(
            r.stdout.contains(want),
            "expected {want:?} in:\n{}",
            r.stdout
        );
        assert!(r.stdout.ends_with(")\n") && r.stdout.contains("FAILED: the proof does not hold"));
    };
    // The entry text: "seq: 4" becomes "seq: 5".
    let mut e = extra.clone();
    let at = e.windows(6).position(|w| w == b"seq: 4").unwrap();
    e[at + 5] = b'5';
    finding(
        with(1, format!("extra {}", b64.encode(&e))),
        "problem: line 2: the signature of entry 5 does not verify with key",
    );
    // The signature.
    let mut e = extra.clone();
    let n = e.len();
    e[n - 1] ^= 0x10;
    finding(
        with(1, format!("extra {}", b64.encode(&e))),
        "problem: line 2: the signature of entry 4 does not verify with key",
    );
    // A hash line.
    let mut h = b64.decode(&lines[4]).unwrap();
    h[0] ^= 1;
    finding(
        with(4, b64.encode(&h)),
        "problem: the inclusion proof (lines 4–6) does not lead from the entry to the checkpoint's root",
    );
    // The index.
    finding(
        with(2, "index 2".into()),
        "problem: line 3: index 2 is entry 3, but the entry text says seq 4",
    );
    // The checkpoint text: its size.
    finding(
        with(8, "4".into()),
        "problem: line 12: checkpoint: signature by key vouch.ledger/",
    );
    // The checkpoint's signature.
    let (head, sig) = lines[11].rsplit_once(' ').unwrap();
    let mut s = b64.decode(sig).unwrap();
    s[20] ^= 1;
    finding(
        with(11, format!("{head} {}", b64.encode(&s))),
        "problem: line 12: checkpoint: signature by key vouch.ledger/",
    );
}

#[test]
fn proof_with_the_wrong_keys_fails() {
    let env = ledger(2);
    env.ok(&["keygen", "stranger"]);
    checkpoint(&env, 4, "cp");
    env.ok(&["prove", "3", "--checkpoint", "cp", "--out", "p"]);
    let run = |trust: &[&str]| {
        let mut args = vec!["verify", "--proof", "p"];
        args.extend_from_slice(trust);
        env.run(&args)
    };
    let r = run(&["--trust", "keys/stranger.pub"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("which is not one of the trusted keys")
            && r.stdout
                .contains("line 7: checkpoint: not signed by any trusted key"),
        "{}",
        r.stdout
    );
    // The checkpoint's signer alone: the entry's signer is not trusted.
    let r = run(&["--trust", "keys/provider.pub"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stdout,
        format!(
            "problem: line 2: entry 3 is signed by key {}, which is not one of the trusted keys\nFAILED: the proof does not hold (1 problem)\n",
            fingerprint(&env, "customer")
        )
    );
    // The entry's signer alone: nobody trusted signed the checkpoint.
    let r = run(&["--trust", "keys/customer.pub"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .starts_with("problem: line 7: checkpoint: not signed by any trusted key")
    );
    // A fingerprint cannot check a signature: refused, with the reason.
    let f = fingerprint(&env, "provider");
    let r = env.fails(&["verify", "--proof", "p", "--trust", &f]);
    assert!(
        r.stderr.contains("a fingerprint cannot check a signature")
            && r.stderr
                .contains("vouch: hint: pass the party's public key file"),
        "{}",
        r.stderr
    );
    let r = env.fails(&["verify", "--proof", "p"]);
    assert!(
        r.stderr
            .starts_with("vouch: error: verify --proof needs the keys to trust")
    );
    let r = env.fails(&["verify", "--proof", "p", "--trust", "nope.pub"]);
    assert!(r.stderr.contains("no such public key file"), "{}", r.stderr);
}

#[test]
fn proof_consistency_between_two_checkpoints_verifies_and_tampering_fails() {
    let env = ledger(2);
    checkpoint(&env, 3, "cp3");
    for _ in 0..5 {
        env.record("keys/customer.key", "guest-os.patching");
    }
    checkpoint_of(&env, "ledger.db", 9, "keys/customer.key", "cp9");
    let r = env.ok(&["prove", "--from", "cp3", "--to", "cp9", "--out", "c.proof"]);
    assert_eq!(
        r.stdout,
        "wrote c.proof: consistency proof that the checkpoint of 9 entries extends the checkpoint of 3 (5 hashes)\n"
    );
    let text = std::fs::read_to_string(env.p("c.proof")).unwrap();
    let cp3 = std::fs::read_to_string(env.p("cp3")).unwrap();
    let cp9 = std::fs::read_to_string(env.p("cp9")).unwrap();
    assert!(text.starts_with(&format!("vouch/v1 consistency-proof\n{cp3}\nold 3\n")));
    assert!(text.ends_with(&format!("\n\n{cp9}")));
    std::fs::remove_file(env.p("ledger.db")).unwrap();
    let r = verify(&env, "c.proof", &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let out: Vec<&str> = r.stdout.lines().collect();
    assert!(
        out[0].starts_with(
            "ok: the checkpoint of 9 entries extends the checkpoint of 3 entries of ledger "
        ) && out[0].ends_with(" (entries 1–3 are unchanged)"),
        "{}",
        r.stdout
    );
    assert!(out[1].ends_with(&format!(
        "signed by {} (keys/provider.pub)",
        fingerprint(&env, "provider")
    )));
    assert!(out[2].ends_with(&format!(
        "signed by {} (keys/customer.pub)",
        fingerprint(&env, "customer")
    )));
    let r = verify(&env, "c.proof", &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (
            v["ok"].clone(),
            v["proof"].clone(),
            v["old"]["size"].clone(),
            v["new"]["size"].clone()
        ),
        (true.into(), "consistency".into(), 3.into(), 9.into())
    );
    every_byte_flip_fails(&env, text.as_bytes());
}

#[test]
fn proof_consistency_fails_across_a_fork() {
    // The ledger is copied after entry 3; both copies go on, differently.
    let env = ledger(1);
    std::fs::copy(env.p("ledger.db"), env.p("fork.db")).unwrap();
    assert!(!env.p("ledger.db-wal").exists());
    env.record("keys/customer.key", "guest-os.patching");
    env.record("keys/customer.key", "guest-os.patching");
    env.ok(&[
        "--ledger",
        "fork.db",
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        "fail",
        "--performed-at",
        "2026-07-01",
        "--field",
        "backup_id=x",
        "--field",
        "rto_minutes=1",
        "--field",
        "data_verified=false",
        "--key",
        "keys/customer.key",
    ]);
    let a3 = checkpoint(&env, 3, "a3");
    let b3 = checkpoint_of(&env, "fork.db", 3, "keys/provider.key", "b3");
    assert_eq!(a3, b3, "the shared history gives the same checkpoint");
    checkpoint(&env, 4, "a4");
    checkpoint(&env, 5, "a5");
    checkpoint_of(&env, "fork.db", 4, "keys/provider.key", "b4");
    // Each ledger proves its own history ...
    env.ok(&["prove", "--from", "a3", "--to", "a5", "--out", "a3-a5"]);
    env.ok(&[
        "--ledger", "fork.db", "prove", "--from", "b3", "--to", "b4", "--out", "b3-b4",
    ]);
    env.ok(&["prove", "--from", "a4", "--to", "a5", "--out", "a4-a5"]);
    assert_eq!(verify(&env, "a3-a5", &[]).code, 0);
    assert_eq!(verify(&env, "b3-b4", &[]).code, 0);
    // ... and refuses the other's.
    let r = env.run(&["prove", "--from", "b4", "--to", "a5", "--out", "x"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(
            "FAILED: ledger does not match the older checkpoint: the Merkle root of entries 1–4 is "
        ),
        "{}",
        r.stdout
    );
    assert!(!env.p("x").exists());
    // The fork's checkpoint put in place of the genuine older one: both are validly signed,
    // but the newer one does not extend it.
    let good = std::fs::read_to_string(env.p("a4-a5")).unwrap();
    let a4 = std::fs::read_to_string(env.p("a4")).unwrap();
    let b4 = std::fs::read_to_string(env.p("b4")).unwrap();
    std::fs::write(env.p("forked"), good.replace(&a4, &b4)).unwrap();
    let r = verify(&env, "forked", &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.starts_with("problem: the consistency proof (line")
            && r.stdout.contains("does not show that the checkpoint of 5 entries extends the checkpoint of 4: the ledger was forked or rewritten between them"),
        "{}",
        r.stdout
    );
    // A checkpoint whose root was changed (and re-signed): the ledger does not match it.
    let mut note: Vec<String> = a4.lines().map(String::from).collect();
    note[2] = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let cp = Checkpoint::parse(&(note[..3].join("\n") + "\n")).unwrap();
    let origin = cp.origin.clone();
    let signed = cp
        .sign(&origin, &load_secret(&env.p("keys/provider.key")).unwrap())
        .unwrap();
    std::fs::write(env.p("bad4"), signed.to_string()).unwrap();
    let r = env.run(&["prove", "--from", "bad4", "--to", "a5", "--out", "x"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains(&format!("the checkpoint says {}", "07".repeat(32))),
        "{}",
        r.stdout
    );
    let r = env.run(&["prove", "4", "--checkpoint", "bad4", "--out", "x"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .starts_with("FAILED: ledger does not match the checkpoint: ")
    );
    assert!(!env.p("x").exists());
}

#[test]
fn proof_malformed_files_are_exit_2_naming_the_line() {
    let env = ledger(3);
    checkpoint(&env, 5, "cp5");
    env.ok(&["prove", "4", "--checkpoint", "cp5", "--out", "p"]);
    let good = std::fs::read_to_string(env.p("p")).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let with = |i: usize, s: &str| {
        let mut v = lines.clone();
        v[i] = s;
        v.join("\n") + "\n"
    };
    let cases: Vec<(String, &str)> = vec![
        (
            with(0, "c2sp.org/tlog-proof@v2"),
            "line 1: not a vouch proof: the first line is \"c2sp.org/tlog-proof@v2\"",
        ),
        (
            with(2, "index 03"),
            "line 3: index \"03\" has a leading zero",
        ),
        (
            with(1, "index 3"),
            "line 2: no extra line: a vouch inclusion proof carries the entry text and its signature",
        ),
        (with(4, "AAAA"), "line 5: hash has 3 bytes; expected 32"),
        (
            with(9, "not base64"),
            "line 10: checkpoint: root hash is not canonical standard base64",
        ),
        (
            good.replace('\n', "\r\n"),
            "line 1: carriage return (U+000D): lines end in LF only",
        ),
        (
            lines[..6].join("\n") + "\n",
            "line 6: the proof ends here; expected an empty line and then a checkpoint",
        ),
        (String::new(), "the proof file is empty"),
    ];
    for (text, want) in cases {
        std::fs::write(env.p("bad"), &text).unwrap();
        let mut args = vec!["verify", "--proof", "bad"];
        args.extend_from_slice(&TRUST);
        let r = env.fails(&args);
        assert!(
            r.stderr.starts_with(&format!("vouch: error: bad: {want}")),
            "want {want:?}, got {}",
            r.stderr
        );
        assert!(r.stdout.is_empty());
    }
    // A checkpoint passed where a proof is expected: told what it is.
    let mut args = vec!["verify", "--proof", "cp5"];
    args.extend_from_slice(&TRUST);
    let r = env.fails(&args);
    assert!(
        r.stderr
            .contains("vouch: hint: this looks like a checkpoint"),
        "{}",
        r.stderr
    );
    // A missing file.
    let mut args = vec!["verify", "--proof", "missing.tlog-proof"];
    args.extend_from_slice(&TRUST);
    let r = env.fails(&args);
    assert_eq!(
        r.stderr,
        "vouch: error: missing.tlog-proof: no such file or directory\n"
    );
}

#[test]
fn proof_prove_errors_name_the_numbers() {
    let env = ledger(2);
    checkpoint(&env, 3, "cp3");
    let r = env.fails(&["prove", "0", "--checkpoint", "cp3", "--out", "p"]);
    assert!(
        r.stderr
            .contains("there is no entry 0: entries are numbered from 1"),
        "{}",
        r.stderr
    );
    let r = env.fails(&["prove", "4", "--checkpoint", "cp3", "--out", "p"]);
    assert!(
        r.stderr
            .contains("entry 4 is not covered by the checkpoint of 3 entries (entries 1–3)"),
        "{}",
        r.stderr
    );
    // A checkpoint of another ledger.
    let other = Env::two_parties();
    checkpoint(&other, 2, "other");
    std::fs::copy(other.p("other"), env.p("other")).unwrap();
    let r = env.fails(&["prove", "2", "--checkpoint", "other", "--out", "p"]);
    assert!(
        r.stderr
            .contains("the checkpoint is of another ledger: its origin is \"vouch.ledger/"),
        "{}",
        r.stderr
    );
    // No checkpoint recorded in the ledger, none given.
    let r = env.fails(&["prove", "2", "--out", "p"]);
    assert_eq!(
        r.stderr,
        "vouch: error: ledger.db has no recorded checkpoint to prove entry 2 against\nvouch: hint: record one with `vouch checkpoint --key K` first, or pass --checkpoint FILE\n"
    );
    // A malformed checkpoint file names the file and line.
    std::fs::write(env.p("junk"), "vouch.ledger/x\n1\n").unwrap();
    let r = env.fails(&["prove", "2", "--checkpoint", "junk", "--out", "p"]);
    assert!(r.stderr.starts_with("vouch: error: junk: "), "{}", r.stderr);
    // --out is never overwritten.
    std::fs::write(env.p("taken"), "mine").unwrap();
    let r = env.fails(&["prove", "2", "--checkpoint", "cp3", "--out", "taken"]);
    assert!(r.stderr.contains("taken: already exists"), "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(env.p("taken")).unwrap(), "mine");
    assert!(!env.p("p").exists());
}

#[test]
fn proof_against_the_newest_checkpoint_recorded_in_the_ledger() {
    let env = ledger(2);
    env.ok(&["checkpoint", "--key", "keys/provider.key"]);
    env.record("keys/customer.key", "guest-os.patching");
    env.ok(&["checkpoint", "--key", "keys/customer.key"]);
    // Entries 1–4, checkpoint 5 (of 4), entry 6, checkpoint 7 (of 6).
    let r = env.ok(&["prove", "6", "--out", "p6"]);
    assert_eq!(
        r.stdout,
        "wrote p6: inclusion proof of entry 6 (evidence) in the checkpoint of 6 entries (the checkpoint recorded as entry 7; 2 hashes)\n"
    );
    let r = verify(&env, "p6", &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains(&format!(
        "checkpoint signed by: {} (keys/customer.pub)",
        fingerprint(&env, "customer")
    )));
    let r = env.fails(&["prove", "7", "--out", "p7"]);
    assert!(
        r.stderr
            .contains("entry 7 is not covered by the checkpoint of 6 entries"),
        "{}",
        r.stderr
    );
}
