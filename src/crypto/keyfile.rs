//! Key files on disk: `NAME.key` (PKCS#8 v1 PEM, mode 0600) and `NAME.pub` (SPKI PEM, mode
//! 0644: public keys are meant to be shared), whatever the umask, in a key directory made
//! 0700. Both are written whole and renamed into place, never through a symbolic link.
//!
//! Like ssh, a private key that other users can read is refused.

use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use super::{PublicKey, SecretKey};
use crate::error::{Error, Result};

/// Where a freshly generated key pair went.
#[derive(Debug)]
pub struct KeyPairFiles {
    /// The private key file.
    pub secret: PathBuf,
    /// The public key file.
    pub public: PathBuf,
}

/// Is `name` usable as a key file name (`[A-Za-z0-9._-]`, not starting with a dot)?
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Write `dir/NAME.key` (mode 0600) and `dir/NAME.pub` (mode 0644), whatever the umask.
///
/// A key directory vouch creates is made 0700 (an existing one is left as it is). Each file
/// is written whole to a temporary file beside it and renamed into place: without `force`
/// the rename refuses an existing file, and with it the old file is replaced in one step,
/// never truncated in place. A symbolic link at either path is refused, `force` or not, so
/// a key is never written through a link.
pub fn write_key_pair(
    dir: &Path,
    name: &str,
    key: &SecretKey,
    force: bool,
) -> Result<KeyPairFiles> {
    if !valid_key_name(name) {
        return Err(Error::new(format!("invalid key name {name:?}"))
            .hint("use letters, digits, '.', '_' and '-' (for example: acme-ops)"));
    }
    let secret = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    for p in [&secret, &public] {
        check_target(p, force)?;
    }
    create_key_dir(dir)?;
    let pem = key.to_pem()?;
    let key_tmp = staged(dir, &secret, pem.as_bytes(), 0o600)?;
    let pub_tmp = staged(dir, &public, key.public().to_pem().as_bytes(), 0o644)?;
    // Re-checked just before the renames: a link that appeared meanwhile is still refused
    // (and rename itself replaces a link, it never follows it).
    for p in [&secret, &public] {
        check_target(p, force)?;
    }
    put(key_tmp, &secret, force)?;
    if let Err(e) = put(pub_tmp, &public, force) {
        if !force {
            // Not half-written: the new private key goes with the public key that failed.
            let _ = fs::remove_file(&secret);
        }
        return Err(e);
    }
    Ok(KeyPairFiles { secret, public })
}

/// Refuse a symbolic link at `path`, and an existing file unless `force`.
fn check_target(path: &Path, force: bool) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::new(format!(
            "{} is a symbolic link; vouch does not write keys through links",
            path.display()
        ))
        .hint(format!(
            "remove the link (rm {}) and run keygen again",
            path.display()
        ))),
        Ok(_) if !force => Err(already_exists(path)),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, &e)),
    }
}

fn already_exists(path: &Path) -> Error {
    Error::new(format!("{} already exists", path.display())).hint(
        "refusing to overwrite a key: choose another name, or pass --force if you really \
         mean to destroy the old key",
    )
}

/// Create the key directory 0700 if it does not exist (its parents as ordinary directories).
fn create_key_dir(dir: &Path) -> Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, &e))?;
    }
    let mut b = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    match b.create(dir) {
        Ok(()) => {}
        // Made by someone else meanwhile: theirs, left as it is.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(Error::io(dir, &e)),
    }
    // Exactly 0700, whatever the umask took away.
    set_mode(dir, 0o700)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| Error::io(path, &e))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> Result<()> {
    Ok(())
}

/// `bytes`, written and synced to a temporary file in `dir` with exactly `mode` (set on the
/// open file, so the umask does not apply), to be renamed to `target`.
fn staged(dir: &Path, target: &Path, bytes: &[u8], mode: u32) -> Result<tempfile::NamedTempFile> {
    let mut b = tempfile::Builder::new();
    b.prefix(".vouch-key-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // Created 0600 at most (never readable by others while written), then set exactly.
        b.permissions(fs::Permissions::from_mode(0o600));
    }
    let mut tmp = b.tempfile_in(dir).map_err(|e| Error::io(dir, &e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(target, &e))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io(target, &e))?;
    Ok(tmp)
}

/// Rename a staged file to `target`: over an existing file only if `force`.
fn put(tmp: tempfile::NamedTempFile, target: &Path, force: bool) -> Result<()> {
    if force {
        tmp.persist(target)
            .map(drop)
            .map_err(|e| Error::io(target, &e.error))
    } else {
        tmp.persist_noclobber(target).map(drop).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                already_exists(target)
            } else {
                Error::io(target, &e.error)
            }
        })
    }
}

/// Find the key file a `--key` argument names: a path, or a bare name looked up as
/// `keys/NAME.key`.
pub fn resolve_key_path(arg: &str) -> PathBuf {
    let direct = PathBuf::from(arg);
    if direct.exists() || arg.contains('/') {
        return direct;
    }
    let in_keys = Path::new("keys").join(format!("{arg}.key"));
    if in_keys.exists() { in_keys } else { direct }
}

/// Largest private key file read, in bytes (a vouch key file is about 120).
const MAX_KEY_FILE: u64 = 64 * 1024;

/// Load a private key, refusing files that group or others can read, and anything but a
/// regular file (a device or a named pipe would never finish reading).
pub fn load_secret(path: &Path) -> Result<SecretKey> {
    let meta = fs::metadata(path).map_err(|e| {
        Error::io(path, &e).hint("pass the private key file made by `vouch keygen` (keys/NAME.key)")
    })?;
    if meta.is_dir() {
        return Err(Error::new(format!(
            "{}: is a directory, not a key file",
            path.display()
        )));
    }
    if !meta.is_file() {
        return Err(
            Error::new(format!("key {} is not a regular file", path.display()))
                .hint("pass the private key file made by `vouch keygen` (keys/NAME.key)"),
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::new(format!(
                "private key {} is readable by other users (mode {mode:04o})",
                path.display()
            ))
            .hint(format!("restrict it with: chmod 600 {}", path.display())));
        }
    }
    let mut text = String::new();
    fs::File::open(path)
        .and_then(|f| f.take(MAX_KEY_FILE + 1).read_to_string(&mut text))
        .map_err(|e| Error::io(path, &e))?;
    if text.len() as u64 > MAX_KEY_FILE {
        return Err(Error::new(format!(
            "{} is larger than {MAX_KEY_FILE} bytes: not a vouch key file",
            path.display()
        ))
        .hint("pass the private key file made by `vouch keygen` (keys/NAME.key)"));
    }
    SecretKey::from_pem(&text).map_err(|e| {
        e.context(path.display())
            .hint("a vouch key file starts with -----BEGIN PRIVATE KEY-----")
    })
}

/// Load a public key file (SPKI PEM).
pub fn load_public(path: &Path) -> Result<PublicKey> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
    PublicKey::from_pem(&text).map_err(|e| e.context(path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_overwrite_and_world_readable() {
        let dir = tempfile::tempdir().unwrap();
        let k = SecretKey::from_seed(&[3u8; 32]);
        let files = write_key_pair(dir.path(), "a", &k, false).unwrap();
        assert!(write_key_pair(dir.path(), "a", &k, false).is_err());
        assert_eq!(load_secret(&files.secret).unwrap().public(), k.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&files.secret, fs::Permissions::from_mode(0o644)).unwrap();
            let err = load_secret(&files.secret).err().unwrap();
            assert!(err.hint_text().unwrap().contains("chmod 600"));
        }
    }
}
