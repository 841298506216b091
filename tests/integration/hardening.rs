//! What `vouch record` reads (issue 11): no secret ever goes into the append-only ledger,
//! artefact names are plain file names, batches are read a bounded line at a time, and
//! devices or named pipes are refused at once instead of read for ever. Every refusal exits
//! 2, names the file and where it was given, and leaves the ledger unchanged.

use crate::util::{Env, Run};
use ed25519_dalek::pkcs8::{EncodePrivateKey as _, KeypairBytes, PublicKeyBytes};
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CUSTOMER: &str = "keys/customer.key";

const GOOD_LINE: &str = r#"{"item":"backup.restore-tests","kind":"restore-test","outcome":"pass","performed_at":"2026-07-01T10:00:00Z","fields":{"backup_id":"bk-1","rto_minutes":45,"data_verified":true}}"#;

/// Two parties and one evidence entry.
fn ledger() -> Env {
    let env = Env::two_parties();
    env.record(CUSTOMER, "backup.restore-tests");
    env
}

/// A valid `record` by `key` with one artefact.
fn record_artifact<'a>(key: &'a str, artifact: &'a str) -> Vec<&'a str> {
    vec![
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-01",
        "--field",
        "backup_id=bk-2026-07-01",
        "--field",
        "rto_minutes=45",
        "--field",
        "data_verified=true",
        "--artifact",
        artifact,
        "--key",
        key,
    ]
}

/// A batch line naming `artifact`.
fn line_with_artifact(artifact: &str) -> String {
    let a = serde_json::to_string(artifact).unwrap();
    GOOD_LINE.replacen('{', &format!("{{\"artifacts\":[{a}],"), 1)
}

fn write_lines(env: &Env, name: &str, lines: &[&str]) {
    let mut f = std::fs::File::create(env.p(name)).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

fn error_line(r: &Run) -> &str {
    r.stderr
        .lines()
        .find(|l| l.starts_with("vouch: error: "))
        .unwrap_or_else(|| panic!("no error line in stderr: {}", r.stderr))
}

fn hint_line(r: &Run) -> &str {
    r.stderr
        .lines()
        .find(|l| l.starts_with("vouch: hint: "))
        .unwrap_or_else(|| panic!("no hint line in stderr: {}", r.stderr))
}

fn says(line: &str, parts: &[&str]) {
    for p in parts {
        assert!(line.contains(p), "expected {p:?} in: {line}");
    }
}

/// Refused (exit 2) with the ledger unchanged.
fn refused(env: &Env, args: &[&str]) -> Run {
    let before = env.snapshot();
    let r = env.fails(args);
    assert_eq!(before, env.snapshot(), "{args:?} changed the ledger");
    r
}

/// Run vouch with a deadline: killed (and the test failed) if still running after 10 s.
/// Must exit 2 with the ledger unchanged.
fn refused_promptly(env: &Env, args: &[&str]) -> Run {
    let before = env.snapshot();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("vouch"))
        .current_dir(env.path())
        .env_remove("VOUCH_LEDGER")
        .env_remove("VOUCH_KEY")
        .env("NO_COLOR", "1")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).map(|_| s).unwrap_or_default()
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).map(|_| s).unwrap_or_default()
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("vouch {args:?} was still running after 10 s and had to be killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let r = Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    assert_eq!(r.code, 2, "vouch {args:?}: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert_eq!(before, env.snapshot(), "{args:?} changed the ledger");
    r
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo")
        .args(["-m", "600"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

/// The DER bytes of a vouch key file (its PEM body, base64-decoded).
fn der_of_pem(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

// Item 2: secrets never go into the ledger.

#[test]
fn a_pem_private_key_is_refused_as_an_artefact_wherever_it_lies() {
    let env = ledger();
    // A copy of the signing key, outside any key directory: its content gives it away.
    std::fs::create_dir(env.p("backup")).unwrap();
    std::fs::copy(env.p(CUSTOMER), env.p("backup/acme.key")).unwrap();
    let r = refused(&env, &record_artifact(CUSTOMER, "backup/acme.key"));
    says(
        error_line(&r),
        &[
            "--artifact",
            "backup/acme.key is a private key",
            "BEGIN PRIVATE KEY",
        ],
    );
    says(hint_line(&r), &["append-only", "fingerprint"]);
    for (file, header) in [
        ("rsa.pem", "RSA PRIVATE KEY"),
        ("ec.pem", "EC PRIVATE KEY"),
        ("id_ed25519", "OPENSSH PRIVATE KEY"),
        ("enc.p8", "ENCRYPTED PRIVATE KEY"),
    ] {
        std::fs::write(
            env.p(file),
            format!(
                "Bag Attributes\n-----BEGIN {header}-----\nMIIBOgIBAAJBAK\n-----END {header}-----\n"
            ),
        )
        .unwrap();
        let r = refused(&env, &record_artifact(CUSTOMER, file));
        says(
            error_line(&r),
            &[&format!("{file} is a private key"), header],
        );
    }
}

#[test]
fn a_pkcs8_der_private_key_is_refused_in_a_batch_line_and_as_a_flag() {
    let env = ledger();
    // v1 (no public key), v2 (with it), and the DER form of a `vouch keygen` key.
    let v1 = KeypairBytes {
        secret_key: [7u8; 32],
        public_key: None,
    };
    let v2 = KeypairBytes {
        secret_key: [7u8; 32],
        public_key: Some(PublicKeyBytes([9u8; 32])),
    };
    std::fs::write(env.p("v1.der"), v1.to_pkcs8_der().unwrap().as_bytes()).unwrap();
    std::fs::write(env.p("v2.der"), v2.to_pkcs8_der().unwrap().as_bytes()).unwrap();
    let pem = std::fs::read_to_string(env.p(CUSTOMER)).unwrap();
    std::fs::write(env.p("customer.der"), der_of_pem(&pem)).unwrap();
    for file in ["v1.der", "v2.der", "customer.der"] {
        let r = refused(&env, &record_artifact(CUSTOMER, file));
        says(
            error_line(&r),
            &[
                "--artifact",
                &format!("{file} is a private key"),
                "PKCS#8 DER",
            ],
        );
        write_lines(
            &env,
            "b.jsonl",
            &[GOOD_LINE, GOOD_LINE, &line_with_artifact(file)],
        );
        let r = refused(&env, &["record", "--batch", "b.jsonl", "--key", CUSTOMER]);
        says(
            error_line(&r),
            &["b.jsonl line 3", &format!("{file} is a private key")],
        );
    }
}

#[test]
fn public_keys_and_prose_about_keys_are_still_recorded() {
    let env = ledger();
    // A public key outside the key directory is no secret; neither is prose about keys.
    std::fs::copy(env.p("keys/customer.pub"), env.p("customer.pub")).unwrap();
    std::fs::write(
        env.p("runbook.txt"),
        "Rotate the PRIVATE KEY yearly; never paste -----BEGIN lines into tickets.\n",
    )
    .unwrap();
    // A DER SEQUENCE that is not a key: SEQUENCE { INTEGER 5 }.
    std::fs::write(env.p("seq.der"), [0x30, 0x03, 0x02, 0x01, 0x05]).unwrap();
    for f in ["customer.pub", "runbook.txt", "seq.der"] {
        let r = env.ok(&record_artifact(CUSTOMER, f));
        assert!(r.stdout.contains("evidence recorded"), "{f}: {}", r.stdout);
    }
}

#[test]
fn files_in_a_key_directory_are_refused_even_through_a_link() {
    let env = ledger();
    std::fs::write(env.p("keys/notes.txt"), "passphrase hints\n").unwrap();
    std::fs::create_dir(env.p("keys/old")).unwrap();
    std::fs::write(env.p("keys/old/readme.txt"), "retired keys\n").unwrap();
    std::os::unix::fs::symlink("keys/notes.txt", env.p("innocent.txt")).unwrap();
    for f in [
        "keys/customer.pub",
        "keys/notes.txt",
        "keys/old/readme.txt",
        "innocent.txt",
    ] {
        let r = refused(&env, &record_artifact(CUSTOMER, f));
        says(
            error_line(&r),
            &[
                "--artifact",
                &format!("artefact {f} is in the key directory"),
            ],
        );
        says(hint_line(&r), &["never recorded", "append-only"]);
    }
    write_lines(
        &env,
        "b.jsonl",
        &[GOOD_LINE, &line_with_artifact("keys/provider.pub")],
    );
    let r = refused(&env, &["record", "--batch", "b.jsonl", "--key", CUSTOMER]);
    says(
        error_line(&r),
        &[
            "b.jsonl line 2",
            "keys/provider.pub is in the key directory",
        ],
    );
}

#[test]
fn files_beside_a_signing_key_kept_elsewhere_are_refused() {
    let env = ledger();
    std::fs::create_dir(env.p("vault")).unwrap();
    let key = env.p("vault/customer.key");
    std::fs::copy(env.p(CUSTOMER), &key).unwrap();
    std::fs::write(env.p("vault/token.txt"), "s3cr3t\n").unwrap();
    let r = refused(
        &env,
        &record_artifact("vault/customer.key", "vault/token.txt"),
    );
    says(
        error_line(&r),
        &[
            "artefact vault/token.txt is in vault",
            "the directory of the signing key vault/customer.key",
        ],
    );
    // The same file is fine when signed with a key kept elsewhere.
    std::fs::write(env.p("token-report.txt"), "rotated\n").unwrap();
    env.ok(&record_artifact("vault/customer.key", "token-report.txt"));
}

#[test]
fn artefact_names_must_be_plain_file_names() {
    let env = ledger();
    std::fs::write(env.p("restore..log"), "ok\n").unwrap();
    let r = refused(&env, &record_artifact(CUSTOMER, "restore..log"));
    says(
        error_line(&r),
        &["--artifact", "artefact restore..log", "contains '..'"],
    );
    says(hint_line(&r), &["plain name", "255 bytes"]);
    std::fs::write(env.p("tab\there.log"), "ok\n").unwrap();
    let r = refused(&env, &record_artifact(CUSTOMER, "tab\there.log"));
    says(error_line(&r), &["contains a control character"]);
    // A path with `..` in it is fine: only the file name is recorded.
    std::fs::create_dir(env.p("sub")).unwrap();
    std::fs::write(env.p("restore.log"), "ok\n").unwrap();
    env.ok(&record_artifact(CUSTOMER, "sub/../restore.log"));
    let r = env.ok(&["show", "--format", "json", "4"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["payload"]["artifacts"][0]["name"], "restore.log", "{v}");
    // In a batch line, named by its line.
    write_lines(&env, "b.jsonl", &[&line_with_artifact("restore..log")]);
    let r = refused(&env, &["record", "--batch", "b.jsonl", "--key", CUSTOMER]);
    says(error_line(&r), &["b.jsonl line 1", "contains '..'"]);
}

// Item 6: batches are read a bounded line at a time.

#[test]
fn an_over_long_batch_line_is_refused_by_number_and_nothing_is_written() {
    let env = ledger();
    let long = "x".repeat(1024 * 1024 + 1);
    write_lines(&env, "b.jsonl", &[GOOD_LINE, &long, GOOD_LINE]);
    let r = refused(&env, &["record", "--batch", "b.jsonl", "--key", CUSTOMER]);
    says(
        error_line(&r),
        &["b.jsonl line 2 is longer than 1048576 bytes (1 MiB)"],
    );
    says(hint_line(&r), &["artifacts"]);
    // A line of exactly 1 MiB (JSON padded with spaces) is within the cap.
    let exact = format!("{GOOD_LINE}{}", " ".repeat(1024 * 1024 - GOOD_LINE.len()));
    write_lines(&env, "b.jsonl", &[GOOD_LINE, &exact]);
    let r = env.ok(&["record", "--batch", "b.jsonl", "--key", CUSTOMER]);
    assert!(r.stdout.starts_with("entries 4–5:"), "{}", r.stdout);
}

#[test]
fn a_batch_from_dev_zero_is_refused_at_line_1() {
    let env = ledger();
    let r = refused_promptly(&env, &["record", "--batch", "/dev/zero", "--key", CUSTOMER]);
    says(error_line(&r), &["/dev/zero line 1 is longer than"]);
}

#[test]
fn a_batch_is_read_from_standard_input() {
    let env = ledger();
    let two = format!("{GOOD_LINE}\n\n{}\n", GOOD_LINE.replace("bk-1", "bk-2"));
    let out = env
        .cmd()
        .args(["record", "--batch", "-", "--key", CUSTOMER])
        .write_stdin(two)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout.starts_with("entries 4–5: 2 evidence"), "{stdout}");
    let r = env.ok(&["show", "--format", "json", "5"]);
    assert!(r.stdout.contains("bk-2"), "{}", r.stdout);
    // A bad line is named as a line of standard input; nothing is written.
    let before = env.snapshot();
    let out = env
        .cmd()
        .args(["record", "--batch", "-", "--key", CUSTOMER])
        .write_stdin(format!("{GOOD_LINE}\nnot json\n"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("standard input line 2"), "{stderr}");
    assert_eq!(before, env.snapshot());
}

// Item 7: only regular files are read.

#[test]
fn dev_zero_and_a_named_pipe_as_artefact_are_refused_at_once() {
    let env = ledger();
    mkfifo(&env.p("pipe.log"));
    for (f, what) in [("/dev/zero", "a device"), ("pipe.log", "a named pipe")] {
        let r = refused_promptly(&env, &record_artifact(CUSTOMER, f));
        says(
            error_line(&r),
            &["--artifact", &format!("{f} is not a regular file ({what})")],
        );
        says(hint_line(&r), &["regular files only"]);
        write_lines(&env, "b.jsonl", &[GOOD_LINE, &line_with_artifact(f)]);
        let r = refused_promptly(&env, &["record", "--batch", "b.jsonl", "--key", CUSTOMER]);
        says(
            error_line(&r),
            &["b.jsonl line 2", &format!("{f} is not a regular file")],
        );
    }
}

#[test]
fn dev_zero_and_a_named_pipe_as_key_are_refused_at_once() {
    let env = ledger();
    std::fs::write(env.p("restore.log"), "ok\n").unwrap();
    mkfifo(&env.p("keys/pipe.key"));
    for k in ["/dev/zero", "keys/pipe.key"] {
        let r = refused_promptly(&env, &record_artifact(k, "restore.log"));
        says(error_line(&r), &[&format!("key {k} is not a regular file")]);
        says(hint_line(&r), &["vouch keygen"]);
    }
}

/// A signing key kept in the working directory does not make every artefact there
/// unrecordable; the key file itself is still refused by its content.
#[test]
fn a_key_in_the_working_directory_still_lets_its_neighbours_be_recorded() {
    let env = ledger();
    std::fs::copy(env.p(CUSTOMER), env.p("signer.key")).unwrap();
    std::fs::write(env.p("restore.log"), "restore ok\n").unwrap();
    env.ok(&record_artifact("signer.key", "restore.log"));
    let r = refused(&env, &record_artifact("signer.key", "signer.key"));
    says(error_line(&r), &["signer.key"]);
}
