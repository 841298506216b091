//! The `README.txt` of a bundle: what it holds, and how to verify it with vouch and by hand
//! (bash, coreutils, jq, OpenSSL 3, python3), for the files `schema/FORMAT.md` §16
//! specifies.

use super::BundleParty;
use super::format::{Info, Scope, SelectionInfo};
use crate::format::merkle::Hash;

/// The script line that starts the by-hand steps; tests run README.txt from here on.
pub const README_SCRIPT_START: &str = "B=${B:-.}";

const PY_ROOT: &str = r#"python3 - "$B" <<'EOF'
import base64, hashlib, json, sys
H = lambda b: hashlib.sha256(b).digest()
def mth(a):  # RFC 6962 §2.1, over the leaf hashes a
    if len(a) == 1:
        return a[0]
    k = 1
    while 2 * k < len(a):
        k *= 2
    return H(b"\x01" + mth(a[:k]) + mth(a[k:]))
with open(sys.argv[1] + "/entries.jsonl", encoding="utf-8") as f:
    leaves = [H(b"\x00" + json.loads(line)["entry"].encode()) for line in f]
with open(sys.argv[1] + "/checkpoint.txt", encoding="utf-8") as f:
    want = f.read().split("\n")[2]
got = base64.b64encode(mth(leaves)).decode()
print("root of", len(leaves), "entries:", got, "=" if got == want else "DIFFERS FROM", want)
sys.exit(got != want)
EOF
"#;

const PY_PROOFS: &str = r#"python3 - "$B" <<'EOF'
import base64, hashlib, json, sys
H = lambda b: hashlib.sha256(b).digest()
with open(sys.argv[1] + "/checkpoint.txt", encoding="utf-8") as f:
    cp = f.read().split("\n")
size, root = int(cp[1]), base64.b64decode(cp[2])
def included(seq, leaf, proof):  # RFC 9162 §2.1.3.2
    fn, sn, r = seq - 1, size - 1, leaf
    if fn > sn:
        return False
    for p in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = H(b"\x01" + p + r)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn // 2, sn // 2
        else:
            r = H(b"\x01" + r + p)
        fn, sn = fn // 2, sn // 2
    return sn == 0 and r == root
bad = 0
with open(sys.argv[1] + "/entries.jsonl", encoding="utf-8") as f:
    for line in f:
        e = json.loads(line)
        ok = included(e["seq"], H(b"\x00" + e["entry"].encode()), [bytes.fromhex(p) for p in e["proof"]])
        bad += not ok
        print("entry", e["seq"], "is in the checkpoint's tree" if ok else "IS NOT PROVEN")
sys.exit(bad > 0)
EOF
"#;

/// The text of `README.txt`.
pub(super) fn readme(
    info: &Info,
    size: u64,
    root: &Hash,
    keys: &[BundleParty],
    exporter_file: &str,
    example: Option<(u64, String, String)>,
) -> String {
    let exporter = info.exporter.party.as_str();
    let sample = info.scope == Scope::Sample;
    let mut l: Vec<String> = vec![
        "vouch evidence bundle".into(),
        "=====================".into(),
        String::new(),
        format!("Ledger:     {}", info.ledger),
    ];
    about(&mut l, info, size, root, keys, exporter, sample);
    files(&mut l, info, exporter, sample);
    with_vouch(&mut l, sample);
    by_hand(&mut l, exporter, exporter_file, example, sample);
    let mut s = l.join("\n");
    s.push('\n');
    s
}

/// What the bundle holds, and the parties' keys.
fn about(
    l: &mut Vec<String>,
    info: &Info,
    size: u64,
    root: &Hash,
    keys: &[BundleParty],
    exporter: &str,
    sample: bool,
) {
    if sample {
        l.push(format!(
            "Scope:      a sample of {} of the ledger's {size} entries, each with an inclusion",
            info.entries
        ));
        l.push(
            "            proof against the checkpoint. It proves that these entries are in the"
                .into(),
        );
        l.push(
            "            ledger; it does not show the other entries, nor that the selection".into(),
        );
        l.push("            is complete.".into());
        if let Some(sel) = &info.selection {
            l.push(format!("Selection:  {}", describe_selection(sel)));
        }
    } else {
        l.push(format!("Scope:      the whole ledger, entries 1-{size}"));
    }
    l.push(format!(
        "Checkpoint: {size} entries, Merkle root {}",
        hex::encode(root)
    ));
    l.push(format!(
        "Exported:   {} by {exporter}, key {}",
        info.created, info.exporter.fingerprint
    ));
    l.push(String::new());
    l.push(
        "The parties and their key fingerprints, as the ledger registers them. Compare them".into(),
    );
    l.push(
        "with the fingerprints the parties gave you, not with the key files in this bundle:".into(),
    );
    l.push(String::new());
    for k in keys {
        let state = match (k.rotated, k.retired_by) {
            (_, Some(r)) => format!("  (retired by entry {r})"),
            (true, None) => format!("  (since entry {})", k.seq),
            (false, None) => String::new(),
        };
        l.push(format!(
            "  {:<16} {:<12} {}{state}",
            k.id,
            k.role,
            k.key.fingerprint()
        ));
    }
}

/// The list of files.
fn files(l: &mut Vec<String>, info: &Info, exporter: &str, sample: bool) {
    l.extend(
        [
            "",
            "Files",
            "-----",
            "",
            "  MANIFEST         SHA-256 of every other file (sha256sum format), sorted by path",
        ]
        .map(String::from),
    );
    l.push(format!(
        "  MANIFEST.sig     Ed25519 signature over MANIFEST by {exporter}'s key (64 bytes)"
    ));
    l.extend(
        [
            "  bundle.json      what the bundle holds: ledger id, scope, exporter, matrix files",
            "  checkpoint.txt   signed checkpoint (C2SP signed note): origin, size, Merkle root",
            "  entries.jsonl    one entry per line, in seq order: \"entry\" (the exact signed",
            "                   text), \"payload\" (the exact payload bytes),",
        ]
        .map(String::from),
    );
    if sample {
        l.push(
            "                   \"proof\" (the inclusion proof: hex hashes, leaf to root),".into(),
        );
    }
    l.extend(
        [
            "                   \"seq\", \"signature\" (base64 Ed25519 over the entry text)",
            "  keys/*.pub       each party key (SPKI PEM): keys/P.pub registered with party P,",
            "                   keys/P.N.pub registered by P's key rotation in entry N",
            "  matrices/*.toml  the adopted matrix files, byte for byte",
        ]
        .map(String::from),
    );
    if info.artifacts {
        l.push("  artifacts/*      the stored artefacts, each named by its SHA-256".into());
    }
}

/// Step 1: with vouch.
fn with_vouch(l: &mut Vec<String>, sample: bool) {
    l.extend(
        [
            "  README.txt       this file",
            "",
            "The byte formats are specified in vouch's schema/FORMAT.md: entry texts §3,",
            "payloads §4, the Merkle tree §12, checkpoints §13, and \"Export bundles\".",
            "",
            "1. With vouch",
            "-------------",
            "",
            "  vouch verify --bundle DIR --trust FINGERPRINT --trust FINGERPRINT ...",
            "",
            "with the fingerprints the parties gave you. It checks every file against MANIFEST",
            "(and reports any file missing or added) and the MANIFEST signature,",
        ]
        .map(String::from),
    );
    if sample {
        l.extend(
            [
                "every entry's text, payload hash and signature against the keys the bundle's",
                "party entries register, each entry's inclusion proof against the checkpoint's",
                "root, the keys and matrix files against the entries, and the checkpoint's",
                "signature.",
            ]
            .map(String::from),
        );
    } else {
        l.extend(
            [
                "every entry's text, payload hash and signature, the hash chain and the registry",
                "rules (schema/FORMAT.md §7), the keys and matrix files against the entries, the",
                "checkpoint's signature, and that its root is the Merkle root of the entries.",
            ]
            .map(String::from),
        );
    }
}

/// Step 2: by hand, as a script.
fn by_hand(
    l: &mut Vec<String>,
    exporter: &str,
    exporter_file: &str,
    example: Option<(u64, String, String)>,
    sample: bool,
) {
    l.extend(
        [
            "Exit status 0: verified; 1: a problem was found (each names its file and line);",
            "2: the directory could not be read as a bundle.",
            "",
            "2. By hand (bash, coreutils, jq, OpenSSL 3, python3)",
            "----------------------------------------------------",
            "",
            "Run from this directory, or set B to it. Scratch files go to a temporary",
            "directory, never into the bundle (an added file is reported).",
            "",
            README_SCRIPT_START,
            "W=$(mktemp -d)",
            "# 1. every file has the SHA-256 that MANIFEST lists (files it does not list are not",
            "#    seen by sha256sum; vouch verify --bundle reports them)",
            "(cd \"$B\" && sha256sum --check --strict --quiet MANIFEST)",
        ]
        .map(String::from),
    );
    let key = format!("\"$B/{exporter_file}\"");
    l.push(format!(
        "# 2. {exporter}'s key: compare this fingerprint with the one {exporter} gave you ..."
    ));
    l.push(format!(
        "openssl pkey -pubin -in {key} -outform DER | sha256sum"
    ));
    l.push("# ... MANIFEST is signed by it".into());
    l.push(format!(
        "openssl pkeyutl -verify -pubin -inkey {key} -rawin -in \"$B/MANIFEST\" -sigfile \"$B/MANIFEST.sig\""
    ));
    l.push("# 3. the checkpoint is signed by it (schema/FORMAT.md §13.5)".into());
    l.push("head -n 3 \"$B/checkpoint.txt\" > \"$W/checkpoint-text\"".into());
    l.push(
        "sed -n 5p \"$B/checkpoint.txt\" | cut -d' ' -f3 | base64 -d | tail -c 64 > \"$W/checkpoint-sig\""
            .into(),
    );
    l.push(format!(
        "openssl pkeyutl -verify -pubin -inkey {key} -rawin -in \"$W/checkpoint-text\" -sigfile \"$W/checkpoint-sig\""
    ));
    if let Some((n, signer, file)) = &example {
        let skey = format!("\"$B/{file}\"");
        l.push(format!(
            "# 4. one entry as files, then schema/FORMAT.md §10: entry {n}, signed by {signer}"
        ));
        l.push(format!("n={n}"));
        l.push(
            "jq -j \"select(.seq == $n) | .entry\" \"$B/entries.jsonl\" > \"$W/entry.txt\"".into(),
        );
        l.push(
            "jq -j \"select(.seq == $n) | .payload\" \"$B/entries.jsonl\" > \"$W/payload.json\""
                .into(),
        );
        l.push("jq -r \"select(.seq == $n) | .signature\" \"$B/entries.jsonl\" | base64 -d > \"$W/entry.sig\"".into());
        l.push("grep -x \"payload: $(sha256sum < \"$W/payload.json\" | cut -d' ' -f1)\" \"$W/entry.txt\"".into());
        l.push(format!(
            "grep -x \"signer: $(openssl pkey -pubin -in {skey} -outform DER | sha256sum | cut -d' ' -f1)\" \"$W/entry.txt\""
        ));
        l.push(format!(
            "openssl pkeyutl -verify -pubin -inkey {skey} -rawin -in \"$W/entry.txt\" -sigfile \"$W/entry.sig\""
        ));
        if !sample && *n > 1 {
            l.push(
                "# ... and its prev: line is the SHA-256 of the entry before it (the chain)".into(),
            );
            l.push(
                "grep -x \"prev: $(jq -j \"select(.seq == $((n - 1))) | .entry\" \"$B/entries.jsonl\" | sha256sum | cut -d' ' -f1)\" \"$W/entry.txt\""
                    .into(),
            );
        }
    }
    if sample {
        l.push(
            "# 5. each entry's inclusion proof (RFC 9162 §2.1.3.2) leads to the checkpoint's root"
                .into(),
        );
        l.push(PY_PROOFS.trim_end().into());
    } else {
        l.push(
            "# 5. the Merkle root of all the entries (RFC 6962) is line 3 of checkpoint.txt".into(),
        );
        l.push(PY_ROOT.trim_end().into());
    }
}

/// The selection in words.
pub fn describe_selection(sel: &SelectionInfo) -> String {
    let mut parts = Vec::new();
    if !sel.seq.is_empty() {
        let list: Vec<String> = sel.seq.iter().map(ToString::to_string).collect();
        parts.push(format!("entries {}", list.join(", ")));
    }
    if !sel.items.is_empty() {
        parts.push(format!("items {}", sel.items.join(", ")));
    }
    if let Some(p) = &sel.period {
        parts.push(format!("evidence performed {} to {}", p.from, p.to));
    }
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join("; ")
    }
}
