//! Key files on disk: `NAME.key` (PKCS#8 v1 PEM, mode 0600, created exclusively) and
//! `NAME.pub` (SPKI PEM).
//!
//! Like ssh, a private key that other users can read is refused.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
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

/// Write `dir/NAME.key` (0600, exclusive unless `force`) and `dir/NAME.pub`.
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
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
    let secret = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    if !force {
        for p in [&secret, &public] {
            if p.exists() {
                return Err(Error::new(format!("{} already exists", p.display())).hint(
                    "refusing to overwrite a key: choose another name, or pass --force if you \
                     really mean to destroy the old key",
                ));
            }
        }
    }
    let pem = key.to_pem()?;
    write_private(&secret, pem.as_bytes(), force)?;
    fs::write(&public, key.public().to_pem()).map_err(|e| Error::io(&public, &e))?;
    Ok(KeyPairFiles { secret, public })
}

fn write_private(path: &Path, bytes: &[u8], force: bool) -> Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::new(format!("{} already exists", path.display()))
                .hint("refusing to overwrite a key; pass --force to replace it")
        } else {
            Error::io(path, &e)
        }
    })?;
    #[cfg(unix)]
    if force {
        use std::os::unix::fs::PermissionsExt as _;
        f.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|e| Error::io(path, &e))?;
    }
    f.write_all(bytes).map_err(|e| Error::io(path, &e))?;
    f.sync_all().map_err(|e| Error::io(path, &e))?;
    Ok(())
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

/// Load a private key, refusing files that group or others can read.
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
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
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
