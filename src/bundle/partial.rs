//! A bundle directory being written: each file created new, its SHA-256 noted for the
//! `MANIFEST`, and everything removed again unless the export finishes (`schema/FORMAT.md`
//! §16.8: on any error, everything written is removed).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::format::{MANIFEST, MANIFEST_SIG};
use crate::crypto;
use crate::error::{Error, Result};
use crate::format::merkle::Hash;

/// A bundle being written; removed again unless [`Partial::done`] is reached, so a failed
/// export leaves nothing behind. MANIFEST is written last: a directory without it is not
/// a bundle.
pub(super) struct Partial {
    dir: PathBuf,
    created_dir: bool,
    made: Vec<PathBuf>,
    pub(super) manifest: BTreeMap<String, Hash>,
    pub(super) bytes: u64,
    pub(super) done: bool,
}

impl Drop for Partial {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if self.created_dir {
            let _ = fs::remove_dir_all(&self.dir);
        } else {
            for p in self.made.iter().rev() {
                let _ = if p.is_dir() {
                    fs::remove_dir_all(p)
                } else {
                    fs::remove_file(p)
                };
            }
        }
    }
}

/// The target must not exist, or be an empty directory. Returns whether it exists.
pub(super) fn check_target(dir: &Path) -> Result<bool> {
    match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(dir, &e)),
        Ok(m) if m.is_dir() => {
            let mut rd = fs::read_dir(dir).map_err(|e| Error::io(dir, &e))?;
            if rd.next().is_some() {
                Err(Error::new(format!("{}: the directory is not empty", dir.display()))
                    .hint("a bundle is written into a new or empty directory; choose another --bundle"))
            } else {
                Ok(true)
            }
        }
        Ok(_) => Err(
            Error::new(format!("{}: exists and is not a directory", dir.display()))
                .hint("a bundle is written into a new or empty directory; choose another --bundle"),
        ),
    }
}

impl Partial {
    pub(super) fn start(dir: &Path, exists: bool) -> Result<Partial> {
        if !exists {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).map_err(|e| Error::io(parent, &e))?;
            }
            fs::create_dir(dir).map_err(|e| Error::io(dir, &e))?;
        }
        Ok(Partial {
            dir: dir.to_path_buf(),
            created_dir: !exists,
            made: Vec::new(),
            manifest: BTreeMap::new(),
            bytes: 0,
            done: false,
        })
    }

    /// Create a new file (never over another one), making its subdirectory if needed.
    pub(super) fn create(&mut self, rel: &str) -> Result<(File, PathBuf)> {
        let path = self.dir.join(rel);
        if let Some((sub, _)) = rel.split_once('/') {
            let d = self.dir.join(sub);
            if !d.exists() {
                fs::create_dir(&d).map_err(|e| Error::io(&d, &e))?;
                self.made.push(d);
            }
        }
        let f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(&path, &e))?;
        if !rel.contains('/') {
            self.made.push(path.clone());
        }
        Ok((f, path))
    }

    /// Write a whole file and note its SHA-256 for the MANIFEST.
    pub(super) fn small(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        let (mut f, path) = self.create(rel)?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::io(&path, &e))?;
        self.bytes += bytes.len() as u64;
        if rel != MANIFEST && rel != MANIFEST_SIG {
            self.manifest.insert(rel.to_string(), crypto::sha256(bytes));
        }
        Ok(())
    }
}
