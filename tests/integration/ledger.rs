//! The ledger through the CLI: keys, init, parties, record, batch, log/show, verify,
//! concurrency and crashes.

use crate::util::{Env, snapshot};
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn write_batch(env: &Env, name: &str, n: usize) -> String {
    let mut f = std::fs::File::create(env.p(name)).unwrap();
    for i in 0..n {
        writeln!(
            f,
            r#"{{"item":"backup.restore-tests","kind":"restore-test","outcome":"pass","performed_at":"2026-07-01T10:00:00Z","fields":{{"backup_id":"bk-{i}","rto_minutes":45,"data_verified":true}}}}"#
        )
        .unwrap();
    }
    name.to_string()
}

fn count(env: &Env) -> usize {
    let r = env.ok(&["log", "--format", "json"]);
    serde_json::from_str::<serde_json::Value>(&r.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn keygen_writes_private_0600_and_prints_fingerprint() {
    let env = Env::new();
    let r = env.ok(&["keygen", "ops"]);
    let key = env.p("keys/ops.key");
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    // PKCS#8 v1 for Ed25519 is 48 DER bytes = 64 base64 characters on one line.
    assert_eq!(text.lines().nth(1).unwrap().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let pubtext = std::fs::read_to_string(env.p("keys/ops.pub")).unwrap();
    assert!(pubtext.starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"));
    let fpr = vouch::crypto::PublicKey::from_pem(&pubtext)
        .unwrap()
        .fingerprint()
        .to_string();
    assert!(
        r.stdout.contains(&format!("fingerprint: {fpr}")),
        "{}",
        r.stdout
    );
    env.ok(&["keygen", "other", "--dir", "elsewhere"]);
    assert!(env.p("elsewhere/other.key").exists());
}

#[test]
fn record_show_and_log() {
    let env = Env::two_parties();
    std::fs::write(env.p("restore.log"), b"restored 12 GB in 41 min\n").unwrap();
    let r = env.ok(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-15T10:00:00+02:00",
        "--field",
        "backup_id=bk-0715",
        "--field",
        "rto_minutes=41",
        "--field",
        "data_verified=true",
        "--artifact",
        "restore.log",
        "--note",
        "quarterly restore test",
        "--key",
        "keys/customer.key",
    ]);
    assert!(
        r.stdout.starts_with("entry 3: evidence recorded by acme"),
        "{}",
        r.stdout
    );
    let r = env.ok(&["show", "3", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["party"], "acme");
    assert_eq!(v["payload"]["performed_at"], "2026-07-15T08:00:00Z");
    assert_eq!(v["payload"]["artifacts"][0]["name"], "restore.log");
    assert_eq!(v["payload"]["artifacts"][0]["size"], 25);
    assert_eq!(v["payload"]["artifacts"][0]["stored"], true);
    assert_eq!(v["payload"]["fields"]["rto_minutes"], 41);
    assert_eq!(v["payload"]["fields"]["data_verified"], true);
    assert!(v["entry"].as_str().unwrap().starts_with("vouch/v2 entry\n"));
    // The entry hash printed is SHA-256 of the entry text.
    assert_eq!(
        v["hash"].as_str().unwrap(),
        vouch::ledger::evidence::sha256_hex(v["entry"].as_str().unwrap().as_bytes())
    );
    let r = env.ok(&["log"]);
    assert_eq!(r.stdout.lines().count(), 3);
    assert!(
        r.stdout.lines().nth(2).unwrap().contains("acme"),
        "{}",
        r.stdout
    );
    let r = env.ok(&["log", "--last", "1"]);
    assert_eq!(r.stdout.lines().count(), 1);
    // --no-store keeps the hash but not the content.
    env.ok(&[
        "record",
        "--item",
        "x",
        "--kind",
        "log-review",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-16",
        "--artifact",
        "restore.log",
        "--no-store",
        "--key",
        "keys/customer.key",
    ]);
    let r = env.ok(&["show", "4", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["payload"]["artifacts"][0]["stored"], false);
    env.ok(&["verify", "--artifacts"]);
}

#[test]
fn key_and_ledger_from_environment() {
    let env = Env::two_parties();
    std::fs::rename(env.p("ledger.db"), env.p("other.db")).unwrap();
    let out = env
        .cmd()
        .env("VOUCH_LEDGER", "other.db")
        .env("VOUCH_KEY", "customer")
        .args([
            "record",
            "--item",
            "a",
            "--kind",
            "attestation",
            "--outcome",
            "pass",
            "--performed-at",
            "2026-07-01",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("recorded by acme"));
}

#[test]
fn batch_is_one_transaction_and_verifies() {
    let env = Env::two_parties();
    let b = write_batch(&env, "b.jsonl", 2500);
    let r = env.ok(&["record", "--batch", &b, "--key", "keys/customer.key"]);
    assert!(
        r.stdout
            .starts_with("entries 3–2502: 2500 evidence entries"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.is_empty(),
        "no progress bar when stderr is not a terminal: {}",
        r.stderr
    );
    assert_eq!(count(&env), 2502);
    let r = env.ok(&["verify"]);
    assert!(
        r.stdout.contains("ok: 2502 entries, 2502 signatures"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.is_empty());
    let r = env.ok(&["show", "2502", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["payload"]["fields"]["rto_minutes"], 45);
    assert_eq!(v["payload"]["fields"]["data_verified"], true);
}

#[test]
fn four_concurrent_writers_leave_one_chain() {
    let env = Env::two_parties();
    let bin = assert_cmd::cargo::cargo_bin("vouch");
    let children: Vec<_> = (0..4)
        .map(|w| {
            let dir = env.path().to_path_buf();
            let bin = bin.clone();
            std::thread::spawn(move || {
                for i in 0..15 {
                    let key = if w % 2 == 0 {
                        "keys/customer.key"
                    } else {
                        "keys/provider.key"
                    };
                    let out = Command::new(&bin)
                        .current_dir(&dir)
                        .env_remove("VOUCH_LEDGER")
                        .args([
                            "record",
                            "--item",
                            &format!("w{w}.i{i}"),
                            "--kind",
                            "attestation",
                            "--outcome",
                            "pass",
                            "--performed-at",
                            "2026-07-01",
                            "--key",
                            key,
                        ])
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            })
        })
        .collect();
    for c in children {
        c.join().unwrap();
    }
    assert_eq!(count(&env), 2 + 60);
    let r = env.ok(&["verify"]);
    assert!(r.stdout.contains("ok: 62 entries"), "{}", r.stdout);
    // Every writer's every entry is there exactly once.
    let c = rusqlite::Connection::open(env.p("ledger.db")).unwrap();
    for w in 0..4 {
        for i in 0..15 {
            let item = format!("w{w}.i{i}");
            let n: i64 = c
                .query_row(
                    "SELECT count(*) FROM entries WHERE item = ?1",
                    [&item],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 1, "{item}");
        }
    }
}

#[test]
fn sigkill_during_a_large_batch_leaves_all_or_nothing() {
    let env = Env::two_parties();
    env.record("keys/customer.key", "before");
    let n = 60_000;
    let b = write_batch(&env, "big.jsonl", n);
    let bin = assert_cmd::cargo::cargo_bin("vouch");
    let mut child = Command::new(&bin)
        .current_dir(env.path())
        .env_remove("VOUCH_LEDGER")
        .args(["record", "--batch", &b, "--key", "keys/customer.key"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the transaction has spilled pages into the WAL (mid-write), then kill.
    let wal = env.p("ledger.db-wal");
    let start = Instant::now();
    let mut killed_mid_write = false;
    while start.elapsed() < Duration::from_secs(120) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) > 512 * 1024 {
            child.kill().unwrap(); // SIGKILL
            killed_mid_write = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let status = child.wait().unwrap();
    assert!(
        killed_mid_write && !status.success(),
        "the batch finished before it could be killed"
    );
    let r = env.ok(&["verify"]);
    assert!(r.stdout.starts_with("ok: "), "{}", r.stdout);
    let c = count(&env);
    assert!(c == 3 || c == 3 + n, "partial batch: {c} entries");
    // And the ledger still takes writes.
    env.record("keys/customer.key", "after");
    env.ok(&["verify"]);
}

#[test]
fn verify_works_on_a_read_only_file_in_a_read_only_directory() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = Env::two_parties();
    env.record("keys/customer.key", "x");
    let ro = env.p("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::copy(env.p("ledger.db"), ro.join("ledger.db")).unwrap();
    let before = snapshot(&env.p("ledger.db"));
    std::fs::set_permissions(ro.join("ledger.db"), std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // Root ignores permissions: run as nobody then, so the directory really is read-only.
    let bin = assert_cmd::cargo::cargo_bin("vouch");
    let is_root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    let mut cmd = if is_root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    let out = cmd
        .current_dir(&ro)
        .args(["--ledger", "ledger.db", "verify"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ok: 3 entries"), "{stdout}");
    assert!(!ro.join("ledger.db-wal").exists() && !ro.join("ledger.db-shm").exists());
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(before, snapshot(&ro.join("ledger.db")));
}

#[test]
fn triggers_refuse_update_and_delete() {
    let env = Env::two_parties();
    std::fs::write(env.p("a.txt"), "a").unwrap();
    env.ok(&[
        "record",
        "--item",
        "i",
        "--kind",
        "log-review",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-01",
        "--artifact",
        "a.txt",
        "--key",
        "customer",
    ]);
    let c = rusqlite::Connection::open(env.p("ledger.db")).unwrap();
    for sql in [
        "UPDATE entries SET kind = 'x'",
        "DELETE FROM entries WHERE seq = 2",
        "UPDATE parties SET name = 'x'",
        "DELETE FROM keys",
        "UPDATE meta SET value = 'x'",
        "DELETE FROM artifacts",
    ] {
        let err = c.execute_batch(sql).unwrap_err().to_string();
        assert!(err.contains("the ledger is append-only"), "{sql}: {err}");
    }
}

#[test]
fn cosign_retract_waive_delegate_through_the_cli() {
    let env = Env::two_parties();
    env.ok(&["keygen", "auditor"]);
    env.ok(&["keygen", "msp"]);
    env.ok(&[
        "party",
        "add",
        "audit-co",
        "--name",
        "Audit",
        "--role",
        "auditor",
        "--new-key",
        "keys/auditor.key",
        "--key",
        "provider",
    ]);
    env.ok(&[
        "party",
        "add",
        "msp",
        "--name",
        "MSP",
        "--role",
        "third-party",
        "--new-key",
        "keys/msp.key",
        "--key",
        "provider",
    ]);
    env.record("keys/customer.key", "backup.restore-tests"); // 5
    let r = env.ok(&[
        "cosign",
        "5",
        "--dispute",
        "restore log missing",
        "--key",
        "provider",
    ]);
    assert!(
        r.stdout.starts_with("entry 6: dispute of entry 5"),
        "{}",
        r.stdout
    );
    env.ok(&["cosign", "5", "--ack", "--key", "provider"]); // 7: resolves the dispute
    env.ok(&["cosign", "5", "--approve", "--key", "auditor"]); // 8
    // Refusals, each naming why, ledger unchanged.
    let before = env.snapshot();
    let r = env.fails(&["cosign", "5", "--ack", "--key", "customer"]);
    assert!(r.stderr.contains("own entry"), "{}", r.stderr);
    let r = env.fails(&["cosign", "5", "--approve", "--key", "provider"]);
    assert!(
        r.stderr.contains("only an auditor approves"),
        "{}",
        r.stderr
    );
    let r = env.fails(&["retract", "5", "--reason", "x", "--key", "provider"]);
    assert!(r.stderr.contains("was signed by acme"), "{}", r.stderr);
    let r = env.fails(&["cosign", "99", "--ack", "--key", "provider"]);
    assert!(r.stderr.contains("no entry 99"), "{}", r.stderr);
    let r = env.fails(&[
        "delegate",
        "backup.restore-tests",
        "--to",
        "nobody",
        "--key",
        "customer",
    ]);
    assert!(r.stderr.contains("no party \"nobody\""), "{}", r.stderr);
    let r = env.fails(&["cosign", "5", "--key", "provider"]);
    assert!(r.stderr.contains("--ack"), "{}", r.stderr);
    assert_eq!(before, env.snapshot());
    env.ok(&[
        "retract",
        "5",
        "--reason",
        "recorded against the wrong item",
        "--key",
        "customer",
    ]); // 9
    env.ok(&[
        "waive",
        "backup.restore-tests",
        "--reason",
        "no backups in this contract",
        "--key",
        "customer",
    ]); // 10
    env.ok(&[
        "delegate",
        "guest-os.patching",
        "--to",
        "msp",
        "--note",
        "MSP contract 2026-07",
        "--key",
        "customer",
    ]); // 11
    let r = env.ok(&["log"]);
    assert!(
        r.stdout
            .contains("retracts entry 5: recorded against the wrong item"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("guest-os.patching delegated to msp"),
        "{}",
        r.stdout
    );
    let r = env.ok(&["verify", "--all"]);
    assert!(r.stdout.contains("ok: 11 entries"), "{}", r.stdout);
}

/// RFC 6962 hashing, written out here independently of src/merkle.rs.
fn rfc6962_root(leaves: &[Vec<u8>]) -> [u8; 32] {
    use sha2::{Digest as _, Sha256};
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => {
            let mut h = Sha256::new();
            h.update([0u8]);
            h.update(&leaves[0]);
            h.finalize().into()
        }
        n => {
            let k = n.next_power_of_two() / 2;
            let mut h = Sha256::new();
            h.update([1u8]);
            h.update(rfc6962_root(&leaves[..k]));
            h.update(rfc6962_root(&leaves[k..]));
            h.finalize().into()
        }
    }
}

#[test]
fn verify_reports_the_merkle_root_of_the_entry_texts() {
    let env = Env::two_parties();
    for _ in 0..4 {
        env.record("keys/customer.key", "backup.restore-tests");
    }
    let bodies: Vec<Vec<u8>> = rusqlite::Connection::open(env.p("ledger.db"))
        .unwrap()
        .prepare("SELECT body FROM entries ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(bodies.len(), 6);
    let expected = hex::encode(rfc6962_root(&bodies));
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["verify", "--format", "json"]).stdout).unwrap();
    assert_eq!(v["merkle_root"], expected.as_str());
    let r = env.ok(&["verify"]);
    assert!(
        r.stdout
            .contains(&format!("merkle: root {expected} of the 6 entries")),
        "{}",
        r.stdout
    );
}
