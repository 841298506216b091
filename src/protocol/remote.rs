//! The sidecar file of a replica (`schema/PROTOCOL.md` §7): `<ledger file>.remote`, a small
//! TOML file naming the server's public URL, the ledger id, the private key that signs the
//! replica's requests and, optionally, a CA file to trust. The ledger file itself stays in
//! exactly the local format: a ledger without a sidecar is local, and a copy of a replica's
//! ledger file is a plain ledger.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::client::Client;
use crate::crypto::keyfile;
use crate::error::{Error, Result};
use crate::format::entry::LedgerId;

/// Where a replica's remote is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remote {
    /// The server's public URL (no trailing slash).
    pub url: String,
    /// The ledger id (32 lowercase hex).
    pub ledger: String,
    /// The private key file that signs the replica's requests (absolute path).
    pub key: PathBuf,
    /// A PEM file of certificates to trust instead of the public roots.
    #[serde(default)]
    pub ca: Option<PathBuf>,
}

/// The sidecar path of the ledger file `ledger`.
pub fn sidecar(ledger: &Path) -> PathBuf {
    let mut s = ledger.as_os_str().to_os_string();
    s.push(".remote");
    PathBuf::from(s)
}

/// `path` made absolute (against the working directory), so that a sidecar still names
/// the file when the command runs elsewhere.
pub fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io(path, &e))
}

/// A TOML basic string (JSON's escapes are TOML's).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

/// Split `URL/ID` into the server's URL and the ledger id.
///
/// # Errors
///
/// No `/ID` at the end, or an ID that is not 32 lowercase hex digits.
pub fn split_url(url_id: &str) -> Result<(String, String)> {
    let trimmed = url_id.trim_end_matches('/');
    let bad = || {
        Error::new(format!("{url_id:?} is not URL/LEDGER-ID"))
            .hint("for example https://vouch.example.net/0123456789abcdef0123456789abcdef (the id: `vouch log` or `vouch remote` on a replica)")
    };
    let (url, id) = trimmed.rsplit_once('/').ok_or_else(bad)?;
    if LedgerId::parse(id).is_none() || id.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(bad());
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(bad());
    }
    Ok((url.to_string(), id.to_string()))
}

impl Remote {
    /// The remote of the ledger file `ledger`, or `None` if it is a local ledger.
    ///
    /// # Errors
    ///
    /// An unreadable or malformed sidecar.
    pub fn load(ledger: &Path) -> Result<Option<Remote>> {
        let path = sidecar(ledger);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, &e)),
        };
        let r: Remote = toml::from_str(&text).map_err(|e| {
            Error::new(format!("{}: {}", path.display(), e.message()))
                .hint("the replica's sidecar names url, ledger, key and optionally ca; `vouch clone` writes it")
        })?;
        if LedgerId::parse(&r.ledger).is_none() {
            return Err(Error::new(format!(
                "{}: ledger {:?} is not a ledger id",
                path.display(),
                r.ledger
            )));
        }
        Ok(Some(r))
    }

    /// Write the sidecar of `ledger` whole (temporary file + rename).
    ///
    /// # Errors
    ///
    /// I/O.
    pub fn save(&self, ledger: &Path) -> Result<()> {
        let path = sidecar(ledger);
        let mut text = String::from(
            "# vouch replica (schema/PROTOCOL.md section 7): the ledger file beside this one is a\n# replica of this ledger on a vouch server. Delete this file to make it a local ledger.\n",
        );
        text.push_str(&format!("url = {}\n", quoted(&self.url)));
        text.push_str(&format!("ledger = {}\n", quoted(&self.ledger)));
        text.push_str(&format!("key = {}\n", quoted(&self.key.to_string_lossy())));
        if let Some(ca) = &self.ca {
            text.push_str(&format!("ca = {}\n", quoted(&ca.to_string_lossy())));
        }
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, &e))?;
        tmp.write_all(text.as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| Error::io(tmp.path(), &e))?;
        tmp.persist(&path).map_err(|e| Error::io(&path, &e.error))?;
        Ok(())
    }

    /// A client of the remote signing with the key file `key` (default: the sidecar's).
    ///
    /// # Errors
    ///
    /// An unreadable key or CA file, a bad URL.
    pub fn client(&self, key: Option<&Path>) -> Result<Client> {
        let key = keyfile::load_secret(key.unwrap_or(&self.key))?;
        Client::new(&self.url, key, self.ca.as_deref())
    }
}
