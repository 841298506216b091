//! The bundle directory against its `MANIFEST` (`schema/FORMAT.md` §16.9, step 1): the
//! MANIFEST read strictly (§16.6), the files present (regular files only, at most one level
//! of subdirectory, §16.1), those the MANIFEST lists, and their SHA-256; small files are read
//! whole for the later steps.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{self, File};
use std::io::Read as _;
use std::path::Path;

use super::findings::Findings;
use super::format::{
    CHECKPOINT, ENTRIES, INFO, MANIFEST, MANIFEST_SIG, README, known_path, valid_path,
};
use crate::crypto::{self, Hasher};
use crate::error::{Error, Result};
use crate::format::merkle::Hash;

/// Largest file other than `entries.jsonl` and artefacts read into memory.
const MAX_SMALL_FILE: u64 = 64 << 20;

/// Files read from the bundle: small ones whole, artefacts as hash and size.
#[derive(Default)]
pub(super) struct Files {
    pub(super) present: BTreeSet<String>,
    pub(super) small: HashMap<String, Vec<u8>>,
    pub(super) hashes: HashMap<String, Hash>,
    pub(super) sizes: HashMap<String, u64>,
    pub(super) missing: HashSet<String>,
}

/// One line of the MANIFEST.
pub(super) struct Listed {
    pub(super) line: u64,
    pub(super) hash: Hash,
}

/// Parse the MANIFEST strictly; problems are findings (the file is part of what is
/// verified), and well-formed lines are still used.
pub(super) fn parse_manifest(bytes: &[u8], out: &mut Findings) -> BTreeMap<String, Listed> {
    let mut listed = BTreeMap::new();
    let Ok(text) = std::str::from_utf8(bytes) else {
        out.file(MANIFEST, None, "manifest", "is not UTF-8 text");
        return listed;
    };
    let body = match text.strip_suffix('\n') {
        Some(b) => b,
        None if text.is_empty() => {
            out.file(MANIFEST, None, "manifest", "is empty");
            return listed;
        }
        None => {
            out.file(
                MANIFEST,
                Some(text.split('\n').count() as u64),
                "manifest",
                "does not end in a newline",
            );
            text
        }
    };
    let mut last: Option<String> = None;
    for (i, line) in body.split('\n').enumerate() {
        let no = i as u64 + 1;
        let Some((h, path)) = line.split_once("  ") else {
            out.file(
                MANIFEST,
                Some(no),
                "manifest",
                "is not '<64 hex SHA-256>  <path>' (sha256sum format)",
            );
            continue;
        };
        let Some(hash) = crypto::decode_lower_hex::<32>(h.as_bytes()) else {
            out.file(
                MANIFEST,
                Some(no),
                "manifest",
                "the SHA-256 is not 64 lowercase hex digits",
            );
            continue;
        };
        if !valid_path(path) {
            out.file(
                MANIFEST,
                Some(no),
                "manifest",
                format!("{path:?} is not a path a bundle holds"),
            );
            continue;
        }
        if path == MANIFEST || path == MANIFEST_SIG {
            out.file(
                MANIFEST,
                Some(no),
                "manifest",
                format!("lists {path}, which it cannot cover"),
            );
            continue;
        }
        if let Some(prev) = &last
            && prev.as_str() >= path
        {
            out.file(
                MANIFEST,
                Some(no),
                "manifest",
                format!("{path} is out of order or listed twice (paths are sorted, each once)"),
            );
            continue;
        }
        last = Some(path.to_string());
        listed.insert(path.to_string(), Listed { line: no, hash });
    }
    listed
}

/// Parse the MANIFEST, walk the directory, and compare: files missing, files not listed,
/// files a bundle does not have, and files whose SHA-256 is not the listed one.
pub(super) fn check_files(
    dir: &Path,
    manifest: &[u8],
    out: &mut Findings,
) -> Result<(BTreeMap<String, Listed>, Files)> {
    let listed = parse_manifest(manifest, out);
    let mut files = Files::default();
    walk(dir, "", 0, &mut files, out)?;
    for (path, l) in &listed {
        if !files.present.contains(path) {
            out.file(
                path,
                None,
                "file",
                format!("missing (MANIFEST line {} lists it)", l.line),
            );
            files.missing.insert(path.clone());
        }
    }
    for p in &files.present {
        if !known_path(p) {
            out.file(p, None, "file", "is not a file a vouch bundle has");
        } else if p != MANIFEST && p != MANIFEST_SIG && !listed.contains_key(p) {
            out.file(p, None, "file", "is not listed in MANIFEST");
        }
    }
    for req in [MANIFEST_SIG, INFO, CHECKPOINT, ENTRIES, README] {
        if !files.present.contains(req) && !files.missing.contains(req) {
            out.file(req, None, "file", "missing");
            files.missing.insert(req.to_string());
        }
    }
    read_files(dir, &mut files, out)?;
    for (p, h) in &files.hashes {
        compare(&listed, p, h, out);
    }
    Ok((listed, files))
}

/// A finding if the MANIFEST lists `path` with another SHA-256 than `got`.
pub(super) fn compare(
    listed: &BTreeMap<String, Listed>,
    path: &str,
    got: &Hash,
    out: &mut Findings,
) {
    if let Some(l) = listed.get(path)
        && l.hash != *got
    {
        out.file(
            path,
            None,
            "manifest",
            format!(
                "its SHA-256 is not the one MANIFEST line {} lists (edited?)",
                l.line
            ),
        );
    }
}

fn walk(root: &Path, rel: &str, depth: usize, files: &mut Files, out: &mut Findings) -> Result<()> {
    let at = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let rd = fs::read_dir(&at).map_err(|e| Error::io(&at, &e))?;
    let mut names = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(&at, &e))?;
        names.push((
            ent.file_name(),
            ent.file_type().map_err(|e| Error::io(&at, &e))?,
        ));
    }
    names.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, ft) in names {
        let shown = name.to_string_lossy();
        let relp = if rel.is_empty() {
            shown.to_string()
        } else {
            format!("{rel}/{shown}")
        };
        if name.to_str().is_none() {
            out.file(&relp, None, "file", "the file name is not UTF-8");
        } else if ft.is_symlink() {
            out.file(
                &relp,
                None,
                "file",
                "is a symbolic link: a bundle holds regular files only",
            );
        } else if ft.is_dir() {
            if depth == 0 {
                walk(root, &relp, depth + 1, files, out)?;
            } else {
                out.file(&relp, None, "file", "is a directory a bundle does not have");
            }
        } else if ft.is_file() {
            files.present.insert(relp);
        } else {
            out.file(&relp, None, "file", "is not a regular file");
        }
    }
    Ok(())
}

fn read_files(dir: &Path, files: &mut Files, out: &mut Findings) -> Result<()> {
    let list: Vec<String> = files.present.iter().cloned().collect();
    for rel in list {
        if rel == ENTRIES || rel == MANIFEST {
            continue;
        }
        let path = dir.join(&rel);
        let mut f = File::open(&path).map_err(|e| Error::io(&path, &e))?;
        if rel.starts_with("artifacts/") {
            let mut h = Hasher::default();
            let mut buf = vec![0u8; 1 << 16];
            let mut n = 0u64;
            loop {
                let k = f.read(&mut buf).map_err(|e| Error::io(&path, &e))?;
                if k == 0 {
                    break;
                }
                n += k as u64;
                h.update(&buf[..k]);
            }
            files.hashes.insert(rel.clone(), h.finish());
            files.sizes.insert(rel, n);
            continue;
        }
        let len = f.metadata().map_err(|e| Error::io(&path, &e))?.len();
        if len > MAX_SMALL_FILE {
            out.file(
                &rel,
                None,
                "file",
                format!("is {len} bytes; a bundle's {rel} is far smaller"),
            );
            continue;
        }
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)
            .map_err(|e| Error::io(&path, &e))?;
        files.hashes.insert(rel.clone(), crypto::sha256(&bytes));
        files.sizes.insert(rel.clone(), bytes.len() as u64);
        files.small.insert(rel, bytes);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_is_strict_and_names_the_line() {
        let h = "a".repeat(64);
        let good = format!("{h}  README.txt\n{h}  keys/acme.pub\n");
        let mut f = Findings::default();
        assert_eq!(parse_manifest(good.as_bytes(), &mut f).len(), 2);
        assert!(f.0.is_empty());
        for (bad, line) in [
            (format!("{h}  keys/acme.pub\n{h}  README.txt\n"), 2),
            (format!("{h} README.txt\n"), 1),
            (format!("{}  README.txt\n", "A".repeat(64)), 1),
            (format!("{h}  ../x\n"), 1),
            (format!("{h}  README.txt\n{h}  MANIFEST\n"), 2),
            (format!("{h}  README.txt"), 1),
            (format!("{h}  a/b/c\n"), 1),
        ] {
            let mut f = Findings::default();
            parse_manifest(bad.as_bytes(), &mut f);
            assert_eq!(f.0.len(), 1, "{bad:?}");
            assert_eq!(f.0[0].line, Some(line), "{bad:?}");
        }
    }
}
