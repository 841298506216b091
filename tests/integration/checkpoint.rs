//! Signed checkpoints held outside the ledger: written, co-signed, recorded, and used to
//! catch truncation, rollback and forks (schema/FORMAT.md §13).

use crate::util::Env;
use serde_json::Value;
use vouch::format::checkpoint::{Checkpoint, vouch_origin};
use vouch::format::entry::{Kind, LedgerId};
use vouch::format::payload::{CheckpointPayload, encode};

fn rec(env: &Env, db: &str, hosts: &str) {
    env.ok(&[
        "--ledger",
        db,
        "record",
        "--item",
        "guest-os.patching",
        "--kind",
        "patch-run",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-01",
        "--field",
        &format!("hosts={hosts}"),
        "--field",
        "patches_applied=1",
        "--field",
        "failed=0",
        "--key",
        "keys/customer.key",
    ]);
}

fn verify_json(env: &Env, args: &[&str]) -> (i32, Value) {
    let mut a = vec!["verify", "--format", "json"];
    a.extend_from_slice(args);
    let r = env.run(&a);
    (r.code, serde_json::from_str(&r.stdout).unwrap())
}

#[test]
fn checkpoint_is_written_recorded_cosigned_and_extended() {
    let env = Env::two_parties();
    rec(&env, "ledger.db", "3");
    let r = env.ok(&["checkpoint", "--key", "keys/provider.key"]);
    assert!(
        r.stdout
            .starts_with("checkpoint of entries 1–3 recorded as entry 4; wrote checkpoint-3.txt"),
        "{}",
        r.stdout
    );
    let text = std::fs::read_to_string(env.p("checkpoint-3.txt")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("vouch.ledger/") && lines[0].len() == 13 + 32);
    assert_eq!(lines[1], "3");
    assert_eq!(lines[3], "");
    assert!(lines[4].starts_with(&format!("— {} ", lines[0])));
    // The recorded entry carries the same note, and verify checks it.
    let show: Value =
        serde_json::from_str(&env.ok(&["show", "4", "--format", "json"]).stdout).unwrap();
    assert_eq!(show["kind"], "checkpoint");
    assert_eq!(show["payload"]["note"], text.as_str(), "{show}");
    assert_eq!(show["payload"]["size"], 3);
    let (code, v) = verify_json(&env, &[]);
    assert_eq!(code, 0, "{v}");
    // The customer co-signs after verifying; verify then names both signers.
    let r = env.ok(&[
        "checkpoint",
        "cosign",
        "checkpoint-3.txt",
        "--key",
        "keys/customer.key",
    ]);
    assert!(r.stdout.contains("acme co-signed"), "{}", r.stdout);
    assert_eq!(
        std::fs::read_to_string(env.p("checkpoint-3.txt"))
            .unwrap()
            .lines()
            .count(),
        6
    );
    rec(&env, "ledger.db", "4");
    let (code, v) = verify_json(&env, &["--checkpoint", "checkpoint-3.txt"]);
    assert_eq!(code, 0, "{v}");
    let c = &v["checkpoints"][0];
    assert_eq!(c["ok"], true);
    assert_eq!(c["size"], 3);
    let who: Vec<&str> = c["signed_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["party"].as_str().unwrap())
        .collect();
    assert_eq!(who, ["cloudtemple", "acme"]);
    assert!(c["relation"].as_str().unwrap().contains("extends it by 2"));
    // A taken --out is refused before anything is recorded.
    std::fs::write(env.p("taken.txt"), "x").unwrap();
    let before = env.snapshot();
    env.fails(&[
        "checkpoint",
        "--key",
        "keys/provider.key",
        "--out",
        "taken.txt",
    ]);
    assert_eq!(before, env.snapshot());
}

#[test]
fn truncation_and_rollback_are_caught() {
    let env = Env::two_parties();
    rec(&env, "ledger.db", "1");
    std::fs::copy(env.p("ledger.db"), env.p("old.db")).unwrap();
    rec(&env, "ledger.db", "2");
    rec(&env, "ledger.db", "3");
    env.ok(&[
        "checkpoint",
        "--key",
        "keys/customer.key",
        "--out",
        "cp.txt",
    ]);
    // Rollback: an older copy of the file put back.
    let r = env.run(&["--ledger", "old.db", "verify", "--checkpoint", "cp.txt"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "FAILED: checkpoint cp.txt: it commits to 5 entries but the ledger has 3: entries 4–5 were cut off"
        ),
        "{}",
        r.stdout
    );
    // Truncation: the newest entries deleted from the file, the chain still intact.
    crate::util::attacker(&env.p("ledger.db"))
        .execute_batch("DELETE FROM entries WHERE seq >= 5")
        .unwrap();
    let r = env.run(&["verify", "--checkpoint", "cp.txt"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("ledger has 4: entry 5 was cut off"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_fork_is_caught() {
    let env = Env::two_parties();
    rec(&env, "ledger.db", "1");
    std::fs::copy(env.p("ledger.db"), env.p("fork.db")).unwrap();
    rec(&env, "ledger.db", "2");
    rec(&env, "fork.db", "20");
    env.ok(&[
        "checkpoint",
        "--key",
        "keys/provider.key",
        "--out",
        "cp.txt",
    ]);
    // Same length, same parties, valid signatures: only the checkpoint tells them apart.
    let (code, v) = verify_json(&env, &["--ledger", "fork.db", "--checkpoint", "cp.txt"]);
    assert_eq!(code, 1);
    assert_eq!(v["ok"], true, "the fork is consistent with itself");
    let c = &v["checkpoints"][0];
    assert_eq!(c["ok"], false);
    assert!(
        c["relation"]
            .as_str()
            .unwrap()
            .contains("entries 1–4 no longer hash to its root"),
        "{c}"
    );
}

#[test]
fn bad_and_untrusted_checkpoints() {
    let env = Env::two_parties();
    rec(&env, "ledger.db", "1");
    env.ok(&[
        "checkpoint",
        "--key",
        "keys/provider.key",
        "--out",
        "cp.txt",
    ]);
    let good = std::fs::read_to_string(env.p("cp.txt")).unwrap();
    // An edited size line: the signature no longer verifies (exit 1).
    std::fs::write(env.p("edited.txt"), good.replacen("\n3\n", "\n2\n", 1)).unwrap();
    let r = env.run(&["verify", "--checkpoint", "edited.txt"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("does not verify"), "{}", r.stdout);
    // Signed by a key the auditor did not pin (exit 1).
    let pin = std::fs::read_to_string(env.p("keys/customer.pub")).unwrap();
    assert!(pin.contains("PUBLIC KEY"));
    let r = env.run(&[
        "verify",
        "--trust",
        "keys/customer.pub",
        "--trust",
        "keys/provider.pub",
        "--checkpoint",
        "cp.txt",
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let other = Env::two_parties();
    let r = env.run(&[
        "verify",
        "--trust",
        "keys/customer.pub",
        "--trust",
        other.p("keys/provider.pub").to_str().unwrap(),
        "--checkpoint",
        "cp.txt",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("not a checkpoint signed by a pinned key"),
        "{}",
        r.stdout
    );
    // Another ledger's checkpoint (exit 2), and a malformed file (exit 2, names the line).
    let r = other.run(&["verify", "--checkpoint", env.p("cp.txt").to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not of this ledger"), "{}", r.stderr);
    std::fs::write(env.p("bad.txt"), good.replace('\u{2014}', "-")).unwrap();
    let r = env.run(&["verify", "--checkpoint", "bad.txt"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("bad.txt") && r.stderr.contains("line 5"),
        "{}",
        r.stderr
    );
    let r = env.run(&["verify", "--checkpoint", "missing.txt"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("missing.txt"), "{}", r.stderr);
}

/// Append a `checkpoint` entry of entries 1–3 signed by `signer`, whose note `note_key`
/// signs over `root` (the ledger's own root when None).
fn forge_checkpoint(env: &Env, signer: &str, note_key: &str, root: Option<[u8; 32]>) {
    let v: Value = serde_json::from_str(&env.ok(&["verify", "--format", "json"]).stdout).unwrap();
    let id = LedgerId::parse(v["ledger_id"].as_str().unwrap()).unwrap();
    let root = root.unwrap_or_else(|| {
        let r = hex::decode(v["merkle_root"].as_str().unwrap()).unwrap();
        r.try_into().unwrap()
    });
    let origin = vouch_origin(&id);
    let key = |name: &str| vouch::crypto::keyfile::load_secret(&env.p(name)).unwrap();
    let note = Checkpoint {
        origin: origin.clone(),
        size: 3,
        root,
        extensions: vec![],
    }
    .sign(&origin, &key(note_key))
    .unwrap();
    let payload = encode(&CheckpointPayload {
        note: note.to_string(),
        root: hex::encode(root),
        size: 3,
    })
    .unwrap();
    let mut l =
        vouch::ledger::Ledger::open(&env.p("ledger.db"), vouch::ledger::Access::ReadWrite).unwrap();
    l.append(
        &key(signer),
        vec![vouch::ledger::Draft {
            kind: Kind::Checkpoint,
            payload,
            party: None,
            store_artifacts: vec![],
        }],
        vouch::clock::now(),
        &vouch::ledger::NoProgress,
    )
    .unwrap();
}

/// A checkpoint entry whose root is not the ledger's, or whose note another key signed,
/// is a verify finding even though its entry signature is valid.
#[test]
fn forged_checkpoint_entries_are_findings() {
    let env = Env::two_parties();
    rec(&env, "ledger.db", "1");
    forge_checkpoint(
        &env,
        "keys/provider.key",
        "keys/provider.key",
        Some([7u8; 32]),
    );
    let r = env.run(&["verify"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains(&format!(
            "entry 4: checkpoint root {} is not the Merkle root of entries 1–3",
            "07".repeat(32)
        )),
        "{}",
        r.stdout
    );
    let env = Env::two_parties();
    rec(&env, "ledger.db", "1");
    forge_checkpoint(&env, "keys/provider.key", "keys/customer.key", None);
    let r = env.run(&["verify"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("entry 4: checkpoint note is not signed by the entry's key"),
        "{}",
        r.stdout
    );
    // The honest entry verifies.
    let env = Env::two_parties();
    rec(&env, "ledger.db", "1");
    forge_checkpoint(&env, "keys/provider.key", "keys/provider.key", None);
    env.ok(&["verify"]);
}
