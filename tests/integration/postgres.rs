//! The real binary on a ledger in PostgreSQL (`--ledger postgres://…?ledger=NAME`): the
//! everyday commands work through the storage seam unchanged, and give the answers they
//! give on a SQLite file. The server is the private test server of
//! `src/ledger/store/postgres_test_cluster.rs` (started once per test process, stopped
//! when it exits; the test fails, with how to install PostgreSQL, when it is missing).

#[path = "../../src/ledger/store/postgres_test_cluster.rs"]
#[allow(dead_code)]
pub(crate) mod cluster;

use crate::util::{CT, Env};

/// Run the two-party flow on `ledger` in `env` (keys made beforehand): init, add a party,
/// adopt and acknowledge the matrix, record evidence. Returns `status` and `verify`.
fn flow(env: &Env, ledger: &str) -> (String, String) {
    let l = |args: &[&str]| {
        let mut v = vec!["--ledger", ledger];
        v.extend_from_slice(args);
        env.ok(&v)
    };
    l(&[
        "init",
        "--party",
        "cloudtemple",
        "--name",
        "Cloud Temple",
        "--role",
        "provider",
        "--key",
        "keys/provider.key",
    ]);
    l(&[
        "party",
        "add",
        "acme",
        "--name",
        "Acme",
        "--role",
        "customer",
        "--new-key",
        "keys/customer.key",
        "--key",
        "keys/provider.key",
    ]);
    l(&[
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
    l(&["cosign", "3", "--ack", "--key", "customer"]);
    l(&[
        "record",
        "--item",
        "backup.restore-tests",
        "--kind",
        "restore-test",
        "--outcome",
        "pass",
        "--performed-at",
        "2026-07-01",
        "--key",
        "customer",
        "--field",
        "backup_id=bk-2026-07-01",
        "--field",
        "rto_minutes=45",
        "--field",
        "data_verified=true",
    ]);
    let status = l(&["status", "--period", "2026-Q3"]).stdout;
    let verify = l(&["verify", "--all"]).stdout;
    (status, verify)
}

#[test]
fn postgres_ledger_through_the_binary_answers_as_sqlite() {
    let url = cluster::database("through_binary");
    let env = Env::new();
    env.ok(&["keygen", "provider"]);
    env.ok(&["keygen", "customer"]);
    let pg = format!("{url}?ledger=acme");
    let (pg_status, pg_verify) = flow(&env, &pg);
    let (file_status, file_verify) = flow(&env, "ledger.db");
    assert!(pg_status.contains("backup.restore-tests"), "{pg_status}");
    // The same, but for the time of the run ("as of …" on the first line).
    let steady = |s: &str| {
        s.split_once(" · as of ").map(|(a, b)| {
            (
                a.to_string(),
                b.split_once('\n').map(|(_, rest)| rest.to_string()),
            )
        })
    };
    assert!(steady(&pg_status).is_some_and(|(_, rest)| rest.is_some()));
    assert_eq!(steady(&pg_status), steady(&file_status));
    assert!(pg_verify.contains("ok"), "{pg_verify}");
    let lines = |s: &str| s.lines().count();
    assert_eq!(
        lines(&pg_verify),
        lines(&file_verify),
        "{pg_verify}\n{file_verify}"
    );
    // A second init of the same ledger is refused (exit 2), naming it, password-free.
    let r = env.fails(&[
        "--ledger",
        &pg,
        "init",
        "--party",
        "x",
        "--name",
        "X",
        "--role",
        "provider",
        "--key",
        "keys/provider.key",
    ]);
    assert!(
        r.stderr.contains("?ledger=acme already exists"),
        "{}",
        r.stderr
    );
    // A location without a ledger name is bad input, with the fix.
    let r = env.fails(&["--ledger", &url, "verify"]);
    assert!(r.stderr.contains("?ledger=NAME"), "{}", r.stderr);
}
