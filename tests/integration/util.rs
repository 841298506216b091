//! Shared harness: run the real `vouch` binary in a scratch directory.

#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// The Cloud Temple VM-instances seed matrix.
pub const CT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/schema/matrices/cloudtemple-vm-instances.toml"
);

/// A scratch directory with helpers to run vouch inside it.
pub struct Env {
    pub dir: tempfile::TempDir,
}

/// The output of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Env {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A `vouch` command in the scratch directory, with no VOUCH_* variables inherited.
    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("vouch").unwrap();
        c.current_dir(self.dir.path());
        c.env_remove("VOUCH_LEDGER")
            .env_remove("VOUCH_KEY")
            .env("NO_COLOR", "1");
        c
    }

    /// Run vouch with arguments and capture everything.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.cmd().args(args).output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Run and require exit 0.
    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "vouch {args:?} failed:\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        r
    }

    /// Run and require exit 2 with a `vouch: error:` message and no panic.
    pub fn fails(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code, 2,
            "vouch {args:?}: expected exit 2:\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        assert!(
            r.stderr.starts_with("vouch: error: ") || r.stderr.starts_with("error: "),
            "stderr: {}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("panicked") && !r.stderr.contains("RUST_BACKTRACE"),
            "stderr: {}",
            r.stderr
        );
        r
    }

    /// Keys `provider` and `customer`, a ledger with both parties registered.
    pub fn two_parties() -> Self {
        let env = Self::new();
        env.ok(&["keygen", "provider"]);
        env.ok(&["keygen", "customer"]);
        env.ok(&[
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
        env.ok(&[
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
        env
    }

    /// [`Env::two_parties`], and the Cloud Temple matrix adopted by the provider (entry 3)
    /// and acknowledged by the customer (entry 4).
    pub fn adopted() -> Self {
        let env = Self::two_parties();
        let r = env.ok(&[
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
        assert!(
            r.stdout
                .starts_with("entry 3: adoption of matrix cloudtemple-vm-instances"),
            "{}",
            r.stdout
        );
        env.ok(&["cosign", "3", "--ack", "--key", "customer"]);
        env
    }

    /// Record one simple evidence entry signed by `key`.
    pub fn record(&self, key: &str, item: &str) -> Run {
        self.ok(&[
            "record",
            "--item",
            item,
            "--kind",
            "patch-run",
            "--outcome",
            "pass",
            "--performed-at",
            "2026-07-01",
            "--field",
            "hosts=12",
            "--field",
            "patches_applied=40",
            "--field",
            "failed=0",
            "--key",
            key,
        ])
    }

    /// Everything in the ledger, table by table (to prove a failed command changed nothing).
    pub fn snapshot(&self) -> Vec<String> {
        snapshot(&self.p("ledger.db"))
    }
}

/// Every row of every vouch table, as text.
pub fn snapshot(path: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    let mut out = Vec::new();
    for (t, cols) in [
        ("meta", "key, value"),
        (
            "entries",
            "seq, hex(body), hex(signature), hex(payload), hex(hash), time, kind, signer, item",
        ),
        ("parties", "id, name, role, seq"),
        ("keys", "fingerprint, party, public_key, seq"),
        ("key_events", "seq, fingerprint, event, since"),
        ("artifacts", "sha256, size, hex(content)"),
    ] {
        let mut st = c
            .prepare(&format!("SELECT {cols} FROM {t} ORDER BY 1"))
            .unwrap();
        let n = st.column_count();
        let rows = st
            .query_map([], |r| {
                let mut v = Vec::new();
                for i in 0..n {
                    v.push(format!("{:?}", r.get_ref(i)?));
                }
                Ok(format!("{t}: {}", v.join(" | ")))
            })
            .unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}

/// Open the ledger as an attacker would: read-write, append-only triggers dropped.
pub fn attacker(path: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).unwrap();
    for t in [
        "meta",
        "entries",
        "parties",
        "keys",
        "key_events",
        "artifacts",
        "merkle_nodes",
    ] {
        c.execute_batch(&format!(
            "DROP TRIGGER IF EXISTS {t}_no_update; DROP TRIGGER IF EXISTS {t}_no_delete;"
        ))
        .unwrap();
    }
    c
}
