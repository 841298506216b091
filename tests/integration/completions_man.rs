//! `vouch completions` and `vouch man`: generated from the clap definitions.

use crate::util::Env;
use std::process::Command;

#[test]
fn bash_completion_names_the_subcommands_and_their_options() {
    let env = Env::new();
    let bash = env.ok(&["completions", "bash"]).stdout;
    assert!(
        bash.contains("complete -F _vouch"),
        "{}",
        &bash[..200.min(bash.len())]
    );
    for word in [
        "report",
        "export",
        "matrix",
        "verify",
        "--oscal",
        "--in-toto",
        "oscal-ssp",
    ] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    for shell in ["zsh", "fish", "powershell"] {
        let s = env.ok(&["completions", shell]).stdout;
        assert!(s.contains("attest"), "{shell}");
    }
    assert_eq!(env.run(&["completions", "tcsh"]).code, 2);
}

#[test]
fn the_man_page_is_roff_and_renders() {
    let env = Env::new();
    let page = env.ok(&["man"]).stdout;
    assert!(page.contains(".TH vouch 1"), "{page}");
    assert!(
        page.contains(".SH NAME") && page.contains(".SH SUBCOMMANDS"),
        "{page}"
    );
    let r = env.ok(&["man", "--out", "man1"]);
    assert!(r.stdout.contains("vouch-report.1"), "{}", r.stdout);
    let export = std::fs::read_to_string(env.p("man1/vouch-export.1")).unwrap();
    assert!(export.contains("oscal"), "{export}");
    // Rendered by groff where it is installed (it is on CI's image); the roff structure
    // above is checked everywhere.
    if let Ok(out) = Command::new("groff")
        .args(["-man", "-Tutf8", "man1/vouch.1"])
        .current_dir(env.path())
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "groff: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("shared-responsibility") || text.contains("shared‐responsibility"),
            "{text}"
        );
        assert!(!text.contains(".SH"), "{text}");
    }
}
