//! `vouch demo --serve` (issue 13 item 6): the demo story through a loopback server, each
//! party in its own directory with its own key and replica, ending in the local demo's
//! PDF bytes.

use crate::util::Env;
use std::path::Path;

/// The parties' directories and their own key names.
const PARTIES: [(&str, &str); 3] = [
    ("provider", "cloudtemple"),
    ("customer", "acme"),
    ("auditor", "auditor"),
];

/// Every file name below `dir`, relative to it.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn served_demo_gives_the_local_demos_pdf_from_each_party() {
    let env = Env::new();
    env.ok(&["demo"]);
    let local = std::fs::read(env.p("reports/demo-attestation.pdf")).unwrap();
    let out = env.ok(&["demo", "--serve"]).stdout;
    assert!(
        out.contains("identical to the local demo's PDF: yes"),
        "{out}"
    );
    for (role, own) in PARTIES {
        let dir = env.p(&format!("demo-net/{role}"));
        let pdf = std::fs::read(dir.join("attestation.pdf")).unwrap();
        assert!(
            pdf == local,
            "{role}: its PDF differs from the local demo's"
        );
        // Only its own private key, anywhere in its directory; the others' public keys.
        let keys: Vec<String> = files(&dir)
            .into_iter()
            .filter(|f| f.ends_with(".key"))
            .collect();
        assert_eq!(keys, vec![format!("keys/{own}.key")], "{role}");
        for (_, other) in PARTIES {
            assert!(dir.join(format!("keys/{other}.pub")).is_file(), "{role}");
        }
        // A replica: its sidecar names the party's own key; it verifies with the keys
        // pinned from its own directory.
        let sidecar = std::fs::read_to_string(dir.join("ledger.db.remote")).unwrap();
        assert!(sidecar.contains(&format!("{own}.key")), "{sidecar}");
        assert!(sidecar.contains("url = \"http://127.0.0.1:"), "{sidecar}");
        let ledger = format!("demo-net/{role}/ledger.db");
        let mut args = vec!["--ledger", &ledger, "verify", "--artifacts"];
        let pins: Vec<String> = PARTIES
            .iter()
            .map(|(_, id)| format!("demo-net/{role}/keys/{id}.pub"))
            .collect();
        for p in &pins {
            args.extend(["--trust", p.as_str()]);
        }
        env.ok(&args);
    }
    // The server's data directory holds the ledger in the local format, the same head.
    let served: Vec<String> = files(&env.p("demo-net/server"))
        .into_iter()
        .filter(|f| f.ends_with(".db"))
        .collect();
    assert_eq!(served.len(), 1, "{served:?}");
    let head = |ledger: &str| {
        let v: serde_json::Value = serde_json::from_str(
            &env.ok(&["--ledger", ledger, "--format", "json", "verify"])
                .stdout,
        )
        .unwrap();
        v["head"].clone()
    };
    let server_ledger = format!("demo-net/server/{}", served[0]);
    assert_eq!(head(&server_ledger), head("demo/ledger.db"));
    assert_eq!(head("demo-net/auditor/ledger.db"), head("demo/ledger.db"));
}

/// The printed `next:` lines run as written, and the auditor's report command gives its
/// PDF byte for byte; a second run rebuilds the demo in place.
#[test]
fn served_demo_next_lines_run_and_it_reruns() {
    let env = Env::new();
    env.ok(&["demo", "--serve", "--dir", "net"]);
    let out = env.ok(&["demo", "--serve", "--dir", "net"]).stdout;
    let at = out
        .lines()
        .position(|l| l.starts_with("next: "))
        .expect("a next: line");
    let commands: Vec<String> = out
        .lines()
        .skip(at)
        .map(|l| l.trim_start_matches("next: ").trim().to_string())
        .collect();
    assert_eq!(commands.len(), 4, "{out}");
    let mut outputs = String::new();
    for c in &commands {
        let r = std::process::Command::new("sh")
            .arg("-c")
            .arg(c)
            .current_dir(env.path())
            .env_remove("VOUCH_LEDGER")
            .env_remove("VOUCH_KEY")
            .output()
            .unwrap();
        assert!(
            r.status.success(),
            "{c}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        outputs.push_str(&String::from_utf8_lossy(&r.stdout));
    }
    assert!(outputs.contains("replica: entry 105"), "{outputs}");
    assert_eq!(
        std::fs::read(env.p("auditor-copy.pdf")).unwrap(),
        std::fs::read(env.p("net/auditor/attestation.pdf")).unwrap()
    );
}

/// A directory that is not a networked demo is refused before anything is written, and
/// `--pdf` (one file) does not go with `--serve` (one PDF per party).
#[test]
fn served_demo_refuses_a_foreign_directory() {
    let env = Env::new();
    std::fs::create_dir(env.p("mine")).unwrap();
    std::fs::write(env.p("mine/notes.txt"), "keep me").unwrap();
    let r = env.fails(&["demo", "--serve", "--dir", "mine"]);
    assert!(
        r.stderr.contains("not a networked vouch demo"),
        "{}",
        r.stderr
    );
    assert_eq!(files(&env.p("mine")), vec!["notes.txt".to_string()]);
    assert_eq!(
        std::fs::read_to_string(env.p("mine/notes.txt")).unwrap(),
        "keep me"
    );
    let r = env.run(&["demo", "--serve", "--pdf", "x.pdf"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!env.p("demo-net").exists());
}
