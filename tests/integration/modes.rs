//! File modes, through the binary run under a chosen umask: output files (reports,
//! checkpoints, proofs, bundles) follow the umask; private keys are 0600, public keys 0644
//! and a key directory vouch makes 0700 whatever the umask; `keygen --force` never writes
//! through a symbolic link and replaces key files by rename, never in place.
#![cfg(unix)]

use crate::util::{Env, Run};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _, symlink};
use std::path::Path;

/// Run vouch in `env` under `umask` (set by a shell that then execs the binary: a
/// `pre_exec` hook would need unsafe code).
fn run_umask(env: &Env, umask: &str, args: &[&str]) -> Run {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_vouch"))
        .args(args)
        .current_dir(env.path())
        .env_remove("VOUCH_LEDGER")
        .env_remove("VOUCH_KEY")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// [`run_umask`], requiring exit 0.
fn ok_umask(env: &Env, umask: &str, args: &[&str]) -> Run {
    let r = run_umask(env, umask, args);
    assert_eq!(
        r.code, 0,
        "umask {umask}; vouch {args:?} failed:\nstdout: {}\nstderr: {}",
        r.stdout, r.stderr
    );
    r
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

fn assert_mode(p: &Path, want: u32) {
    assert_eq!(
        mode(p),
        want,
        "{}: mode {:04o}, want {want:04o}",
        p.display(),
        mode(p)
    );
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn reports_follow_the_umask() {
    let env = Env::adopted();
    env.record("customer", "guest-os.patching");
    for (umask, want) in [("022", 0o644), ("077", 0o600)] {
        for fmt in ["pdf", "md", "json", "csv"] {
            let out = format!("r{umask}.{fmt}");
            ok_umask(
                &env,
                umask,
                &[
                    "report", "--period", "2026-Q3", "--format", fmt, "--out", &out,
                ],
            );
            assert_mode(&env.p(&out), want);
        }
    }
    // The default place, reports/ made by vouch: an ordinary directory.
    let r = ok_umask(&env, "022", &["report", "--period", "2026-Q3"]);
    let pdf = r.stdout.split_whitespace().nth(1).unwrap().to_string();
    assert!(pdf.starts_with("reports/"), "{}", r.stdout);
    assert_mode(&env.p(&pdf), 0o644);
    assert_mode(&env.p("reports"), 0o755);
    // Left unchanged (same bytes): the mode is left alone too.
    let r = ok_umask(&env, "077", &["report", "--period", "2026-Q3"]);
    assert!(r.stdout.starts_with("unchanged "), "{}", r.stdout);
    assert_mode(&env.p(&pdf), 0o644);
    // Replaced (--force): a new file under the old name, with the mode of a new file.
    env.record("customer", "guest-os.patching");
    let r = ok_umask(
        &env,
        "022",
        &[
            "report", "--period", "2026-Q3", "--out", "r077.pdf", "--force",
        ],
    );
    assert!(r.stdout.starts_with("replaced "), "{}", r.stdout);
    assert_mode(&env.p("r077.pdf"), 0o644);
    // No temporary file left behind.
    let stray: Vec<_> = std::fs::read_dir(env.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".vouch-"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn checkpoints_proofs_and_bundles_follow_the_umask() {
    let env = Env::two_parties();
    env.record("customer", "guest-os.patching");
    for (umask, want, want_dir) in [("022", 0o644, 0o755), ("077", 0o600, 0o700)] {
        let cp = format!("cp{umask}");
        let proof = format!("p{umask}");
        let bundle = format!("b{umask}");
        ok_umask(
            &env,
            umask,
            &["checkpoint", "--key", "provider", "--out", &cp],
        );
        assert_mode(&env.p(&cp), want);
        ok_umask(
            &env,
            umask,
            &["prove", "3", "--checkpoint", &cp, "--out", &proof],
        );
        assert_mode(&env.p(&proof), want);
        ok_umask(
            &env,
            umask,
            &["export", "--bundle", &bundle, "--key", "provider"],
        );
        let files = files_under(&env.p(&bundle));
        assert!(files.len() >= 3, "{files:?}");
        for f in files {
            assert_mode(&f, want);
        }
        assert_mode(&env.p(&bundle), want_dir);
    }
}

#[test]
fn keys_are_0600_public_keys_0644_and_the_key_directory_0700_whatever_the_umask() {
    for umask in ["000", "077"] {
        let env = Env::new();
        ok_umask(&env, umask, &["keygen", "ops"]);
        assert_mode(&env.p("keys"), 0o700);
        assert_mode(&env.p("keys/ops.key"), 0o600);
        assert_mode(&env.p("keys/ops.pub"), 0o644);
        // A directory of the user's own is left as it is; only its leaf is vouch's.
        ok_umask(&env, umask, &["keygen", "deep", "--dir", "a/b/keys"]);
        assert_mode(&env.p("a/b/keys"), 0o700);
        assert_mode(&env.p("a/b/keys/deep.key"), 0o600);
        assert_mode(&env.p("a/b/keys/deep.pub"), 0o644);
        std::fs::create_dir(env.p("mine")).unwrap();
        std::fs::set_permissions(env.p("mine"), std::fs::Permissions::from_mode(0o750)).unwrap();
        ok_umask(&env, umask, &["keygen", "x", "--dir", "mine"]);
        assert_mode(&env.p("mine"), 0o750);
        // --force over a key someone loosened: the replacement is 0600 again.
        std::fs::set_permissions(
            env.p("keys/ops.key"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        std::fs::set_permissions(
            env.p("keys/ops.pub"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        ok_umask(&env, umask, &["keygen", "ops", "--force"]);
        assert_mode(&env.p("keys/ops.key"), 0o600);
        assert_mode(&env.p("keys/ops.pub"), 0o644);
        // The new key loads (load_secret refuses a key others can read).
        env.ok(&[
            "init", "--party", "p", "--name", "P", "--role", "provider", "--key", "ops",
        ]);
        let mut names: Vec<_> = std::fs::read_dir(env.p("keys"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["ops.key", "ops.pub"], "stray files in keys/");
    }
}

#[test]
fn keygen_force_replaces_by_rename_never_in_place() {
    let env = Env::new();
    env.ok(&["keygen", "ops"]);
    let old_key = std::fs::read(env.p("keys/ops.key")).unwrap();
    let old_pub = std::fs::read(env.p("keys/ops.pub")).unwrap();
    // Hard links share the inode: writing in place would change them too.
    std::fs::hard_link(env.p("keys/ops.key"), env.p("old.key")).unwrap();
    std::fs::hard_link(env.p("keys/ops.pub"), env.p("old.pub")).unwrap();
    let ino = std::fs::metadata(env.p("keys/ops.key")).unwrap().ino();
    env.ok(&["keygen", "ops", "--force"]);
    assert_eq!(std::fs::read(env.p("old.key")).unwrap(), old_key);
    assert_eq!(std::fs::read(env.p("old.pub")).unwrap(), old_pub);
    assert_ne!(std::fs::read(env.p("keys/ops.key")).unwrap(), old_key);
    assert_ne!(std::fs::read(env.p("keys/ops.pub")).unwrap(), old_pub);
    assert_ne!(std::fs::metadata(env.p("keys/ops.key")).unwrap().ino(), ino);
}

#[test]
fn keygen_refuses_a_symlinked_key_path_and_leaves_the_target_alone() {
    for (file, force) in [
        ("ops.key", true),
        ("ops.pub", true),
        ("ops.key", false),
        ("ops.pub", false),
    ] {
        let env = Env::new();
        std::fs::create_dir(env.p("keys")).unwrap();
        std::fs::write(env.p("precious"), "do not touch\n").unwrap();
        std::fs::set_permissions(env.p("precious"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        let link = format!("keys/{file}");
        symlink("../precious", env.p(&link)).unwrap();
        let args: &[&str] = if force {
            &["keygen", "ops", "--force"]
        } else {
            &["keygen", "ops"]
        };
        let r = env.fails(args);
        assert!(
            r.stderr
                .starts_with(&format!("vouch: error: {link} is a symbolic link")),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("hint: remove the link"), "{}", r.stderr);
        assert_eq!(
            std::fs::read_to_string(env.p("precious")).unwrap(),
            "do not touch\n"
        );
        assert_mode(&env.p("precious"), 0o644);
        assert!(
            std::fs::symlink_metadata(env.p(&link))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // Nothing else written: not the other half of the pair, no temporary file.
        let names: Vec<_> = std::fs::read_dir(env.p("keys"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [file], "keygen wrote something");
    }
    // A dangling link is a link too: its target is not created.
    let env = Env::new();
    std::fs::create_dir(env.p("keys")).unwrap();
    symlink("../nowhere", env.p("keys/new.pub")).unwrap();
    let r = env.fails(&["keygen", "new"]);
    assert!(
        r.stderr.contains("keys/new.pub is a symbolic link"),
        "{}",
        r.stderr
    );
    assert!(!env.p("nowhere").exists());
    assert!(!env.p("keys/new.key").exists());
}
