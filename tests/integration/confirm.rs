//! Acting on the right entry: `cosign` and `retract` show their target before writing and
//! honour the `--item` guard; `attest --key` shows the exceptions and digest first; on a
//! terminal all three ask, and anything but `y` writes nothing.
//!
//! The terminal tests run vouch under util-linux `script`, which gives it a pseudo-terminal
//! as standard input and standard error, and type the answer into it.

use crate::util::Env;
use serde_json::Value;
use std::fs::File;
use std::process::Command;

/// Evidence entry 5: acme's restore test of `backup.restore-tests`, performed 2026-07-29.
fn with_restore(outcome: &str) -> Env {
    let env = Env::adopted();
    env.ok(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        outcome,
        "--performed-at",
        "2026-07-29",
        "--field",
        "backup_id=bk-1",
        "--field",
        "rto_minutes=60",
        "--field",
        "data_verified=true",
        "--key",
        "customer",
    ]);
    env
}

/// The target line of entry 5, up to its (clock-dependent) recorded time.
const ENTRY_5: &str = "entry 5: evidence backup.restore-tests restore-test pass, by acme (Acme), \
performed 2026-07-29, recorded ";

/// Run vouch with standard output and standard error into one file, to see their order.
fn merged(env: &Env, args: &[&str]) -> (i32, String) {
    let path = env.p("merged.out");
    let f = File::create(&path).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(args)
        .current_dir(env.path())
        .env_remove("VOUCH_LEDGER")
        .env_remove("VOUCH_KEY")
        .stdin(std::process::Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .status()
        .unwrap();
    let out = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    (status.code().unwrap_or(-1), out)
}

/// Line number of the first line of `out` starting with `prefix`.
fn line_of(out: &str, prefix: &str) -> usize {
    out.lines()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{out}"))
}

#[test]
fn cosign_and_retract_show_their_target_before_writing() {
    let env = with_restore("pass");
    // No terminal, no --yes: goes ahead as before, the target on standard error first.
    let (code, out) = merged(&env, &["cosign", "5", "--ack", "--key", "provider"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        line_of(&out, ENTRY_5) < line_of(&out, "entry 6: ack of entry 5"),
        "{out}"
    );
    let r = env.ok(&[
        "retract",
        "5",
        "--reason",
        "wrong backup",
        "--key",
        "customer",
        "--yes",
    ]);
    assert!(r.stderr.starts_with(ENTRY_5), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("entry 7: retraction of entry 5"),
        "{}",
        r.stdout
    );
    // A co-signature is not itself co-signed (issue 10 item 5): refused, nothing written.
    let before = env.snapshot();
    let r = env.fails(&["cosign", "6", "--dispute", "no", "--key", "customer"]);
    assert!(
        r.stderr
            .contains("entry 6: vouch cosign co-signs a cosign entry"),
        "{}",
        r.stderr
    );
    assert_eq!(before, env.snapshot());
    // Other kinds of entries are described too; JSON output stays a clean document.
    let r = env.ok(&[
        "cosign",
        "3",
        "--dispute",
        "the matrix version is not the one we signed",
        "--key",
        "customer",
        "--format",
        "json",
    ]);
    assert!(r.stderr.starts_with("entry 3: adoption"), "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["seq"], 8);
    env.ok(&["verify"]);
}

#[test]
fn item_guard_refuses_another_item_and_writes_nothing() {
    let env = with_restore("pass");
    let before = env.snapshot();
    for args in [
        &[
            "retract", "5", "--reason", "x", "--item", "patch.os", "--key", "customer",
        ][..],
        &[
            "cosign", "5", "--ack", "--item", "patch.os", "--key", "provider", "--yes",
        ][..],
    ] {
        let r = env.fails(args);
        assert!(
            r.stderr
                .contains("entry 5 is about item backup.restore-tests, not --item patch.os"),
            "{}",
            r.stderr
        );
        // The hint shows what entry 5 is, so the right number can be found.
        assert!(r.stderr.contains(ENTRY_5), "{}", r.stderr);
    }
    // An entry about no item (the adoption) never matches --item.
    let r = env.fails(&[
        "cosign",
        "3",
        "--ack",
        "--item",
        "backup.restore-tests",
        "--key",
        "customer",
    ]);
    assert!(
        r.stderr
            .contains("entry 3 (adoption) is about no item, not --item backup.restore-tests"),
        "{}",
        r.stderr
    );
    // A refusal by the ledger's rules comes before anything is shown.
    let r = env.fails(&["retract", "5", "--reason", "x", "--key", "provider"]);
    assert!(r.stderr.contains("was signed by acme"), "{}", r.stderr);
    assert!(!r.stderr.contains(ENTRY_5), "{}", r.stderr);
    assert_eq!(before, env.snapshot());
    // The matching item goes ahead.
    let r = env.ok(&[
        "cosign",
        "5",
        "--ack",
        "--item",
        "backup.restore-tests",
        "--key",
        "provider",
    ]);
    assert!(
        r.stdout.starts_with("entry 6: ack of entry 5"),
        "{}",
        r.stdout
    );
    let r = env.ok(&[
        "retract",
        "5",
        "--reason",
        "wrong backup",
        "--item",
        "backup.restore-tests",
        "--key",
        "customer",
    ]);
    assert!(
        r.stdout.starts_with("entry 7: retraction of entry 5"),
        "{}",
        r.stdout
    );
    assert_eq!(env.snapshot().len(), before.len() + 2);
}

#[test]
fn attest_shows_exceptions_and_digest_before_the_signoff() {
    let env = with_restore("fail");
    let (code, out) = merged(
        &env,
        &["attest", "--period", "2026-Q3", "--key", "provider"],
    );
    assert_eq!(code, 0, "{out}");
    let head = line_of(
        &out,
        "attestation 2026-07-01 to 2026-09-30 at head entry 5: ",
    );
    assert!(
        out.lines().nth(head).unwrap().ends_with(" exceptions"),
        "{out}"
    );
    let failed = out
        .lines()
        .position(|l| {
            l.split_whitespace().collect::<Vec<_>>() == ["backup.restore-tests", "acme", "failed"]
        })
        .unwrap_or_else(|| panic!("no exception line for the failed restore test in:\n{out}"));
    let digest = line_of(&out, "digest ");
    let signed = line_of(&out, "entry 6: sign-off of 2026-07-01 to 2026-09-30");
    assert!(head < failed && failed < digest && digest < signed, "{out}");
    // Every exception line is an item, a party and one of the four exception statuses.
    for l in out.lines().skip(head + 1).take(digest - head - 1) {
        let w: Vec<&str> = l.split_whitespace().collect();
        assert!(
            w.len() == 3 && ["failed", "overdue", "missing", "disputed"].contains(&w[2]),
            "{l:?} in:\n{out}"
        );
    }
    // The digest shown is the digest signed.
    let shown = out
        .lines()
        .nth(digest)
        .unwrap()
        .strip_prefix("digest ")
        .unwrap();
    let v: Value = serde_json::from_str(
        &env.ok(&["attest", "--period", "2026-Q3", "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(v["digest"], shown);
    assert_eq!(v["signoffs"][0]["digest"], shown);
    assert_eq!(v["signoffs"][0]["matches"], true);
    // Without --key nothing is signed, so nothing is shown on standard error.
    let r = env.ok(&["attest", "--period", "2026-Q3"]);
    assert_eq!(r.stderr, "");
    // --yes means something only with --key.
    let r = env.fails(&["attest", "--period", "2026-Q3", "--yes"]);
    assert!(r.stderr.contains("--key"), "{}", r.stderr);
}

/// Run `vouch ARGS` on a pseudo-terminal (util-linux `script`), typing `input`; the exit
/// code is vouch's (`script -e`), the output is everything the terminal showed.
fn on_terminal(env: &Env, args: &[&str], input: &str) -> (i32, String) {
    let probe = Command::new("script").arg("--version").output();
    assert!(
        probe.as_ref().is_ok_and(|o| o.status.success()),
        "these tests need util-linux `script` (Debian: apt-get install bsdutils) to give vouch \
         a terminal; running `script --version` gave {probe:?}"
    );
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let line = std::iter::once(env!("CARGO_BIN_EXE_vouch"))
        .chain(args.iter().copied())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ");
    let out = assert_cmd::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .current_dir(env.path())
        .env_remove("VOUCH_LEDGER")
        .env_remove("VOUCH_KEY")
        .write_stdin(input)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"),
    )
}

#[test]
fn on_a_terminal_only_yes_goes_ahead() {
    let env = with_restore("pass");
    let before = env.snapshot();
    let (code, out) = on_terminal(
        &env,
        &["retract", "5", "--reason", "x", "--key", "customer"],
        "n\n",
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(ENTRY_5), "{out}");
    assert!(out.contains("retract entry 5? [y/N] "), "{out}");
    assert!(
        out.contains("vouch: error: not confirmed: nothing written"),
        "{out}"
    );
    // An empty answer is no; end of input (Ctrl-D) is refused too.
    let (code, out) = on_terminal(&env, &["cosign", "5", "--ack", "--key", "provider"], "\n");
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("acknowledge entry 5? [y/N] "), "{out}");
    let (code, out) = on_terminal(&env, &["cosign", "5", "--ack", "--key", "provider"], "");
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("no answer (end of input): nothing written"),
        "{out}"
    );
    let (code, out) = on_terminal(
        &env,
        &["attest", "--period", "2026-Q3", "--key", "provider"],
        "n\n",
    );
    assert_eq!(code, 2, "{out}");
    let asked = out
        .find("sign the attestation of 2026-07-01 to 2026-09-30 as cloudtemple? [y/N] ")
        .unwrap_or_else(|| panic!("no question in:\n{out}"));
    assert!(out.find("\ndigest ").is_some_and(|d| d < asked), "{out}");
    assert_eq!(before, env.snapshot());
    // y goes ahead; --yes does not ask.
    let (code, out) = on_terminal(&env, &["cosign", "5", "--ack", "--key", "provider"], "y\n");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("entry 6: ack of entry 5"), "{out}");
    let (code, out) = on_terminal(
        &env,
        &[
            "retract", "5", "--reason", "x", "--key", "customer", "--yes",
        ],
        "",
    );
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("[y/N]"), "{out}");
    assert!(out.contains("entry 7: retraction of entry 5"), "{out}");
    assert_eq!(env.snapshot().len(), before.len() + 2);
}
