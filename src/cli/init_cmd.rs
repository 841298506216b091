//! `vouch keygen` and `vouch init`: a key pair on disk, and a new ledger whose genesis
//! entry registers the founding party.

use serde_json::json;
use std::io::{self, Write as _};
use std::path::Path;

use super::args::{Format, KeyArg};
use super::input::load_key;
use super::output::{Outcome, print_json};
use vouch::crypto::{SecretKey, keyfile};
use vouch::format::entry::LedgerId;
use vouch::format::payload::Role;
use vouch::ledger::{Ledger, NewParty};
use vouch::protocol::remote::Remote;
use vouch::protocol::replica;
use vouch::{Result, clock};

pub(super) fn keygen(name: &str, dir: &Path, force: bool, fmt: Format) -> Result<Outcome> {
    let key = SecretKey::generate()?;
    let files = keyfile::write_key_pair(dir, name, &key, force)?;
    let fpr = key.public().fingerprint();
    if fmt == Format::Json {
        print_json(
            &json!({"private_key": files.secret, "public_key": files.public, "fingerprint": fpr.to_string()}),
        );
    } else {
        out!(
            "private key: {} (keep it secret; mode 0600)",
            files.secret.display()
        );
        out!("public key:  {}", files.public.display());
        out!("fingerprint: {fpr}");
    }
    Ok(Outcome::Ok)
}

/// The founding party of `vouch init`.
pub(super) struct Founder {
    pub(super) party: String,
    pub(super) name: String,
    pub(super) role: String,
}

/// `vouch init --party ID --name NAME --role ROLE --key K`.
pub(super) fn init(path: &Path, founder: Founder, key: &KeyArg, fmt: Format) -> Result<Outcome> {
    let key = load_key(&key.key)?;
    let (lid, a, founder) = make(path, founder, &key)?;
    print_init(path, &lid, &a, &founder, &key, None, fmt);
    Ok(Outcome::Ok)
}

/// Build and sign a new ledger at `path`.
fn make(
    path: &Path,
    founder: Founder,
    key: &SecretKey,
) -> Result<(LedgerId, vouch::ledger::Appended, NewParty)> {
    let mut id = [0u8; 16];
    getrandom_id(&mut id)?;
    let founder = NewParty {
        id: founder.party,
        name: founder.name,
        role: Role::parse(&founder.role)?,
    };
    let (ledger, a) = Ledger::init(path, LedgerId(id), &founder, key, clock::now())?;
    Ok((ledger.id()?, a, founder))
}

/// `vouch init --remote URL …`: the genesis entry signed here, the ledger created on the
/// server (the key is an admin key there), the file its replica.
pub(super) fn init_remote(
    path: &Path,
    founder: Founder,
    key: &KeyArg,
    url: &str,
    ca: Option<std::path::PathBuf>,
    fmt: Format,
) -> Result<Outcome> {
    let secret = load_key(&key.key)?;
    let remote = Remote {
        url: url.trim_end_matches('/').to_string(),
        ledger: String::new(),
        key: super::remote_cmd::key_path(&key.key)?,
        ca: ca
            .map(|c| vouch::protocol::remote::absolute(&c))
            .transpose()?,
    };
    let client = remote.client(None)?;
    let ((lid, a, founder), remote) =
        replica::init_remote(&client, remote, path, |tmp| make(tmp, founder, &secret))?;
    print_init(path, &lid, &a, &founder, &secret, Some(&remote), fmt);
    Ok(Outcome::Ok)
}

fn print_init(
    path: &Path,
    lid: &LedgerId,
    a: &vouch::ledger::Appended,
    founder: &NewParty,
    key: &SecretKey,
    remote: Option<&Remote>,
    fmt: Format,
) {
    if fmt == Format::Json {
        let mut v = json!({"ledger": path, "ledger_id": lid.to_string(), "seq": a.seq,
            "hash": hex::encode(a.hash), "party": founder.id, "fingerprint": key.public().fingerprint().to_string()});
        if let Some(r) = remote {
            v["url"] = json!(r.url);
        }
        print_json(&v);
    } else {
        out!("created ledger {} (id {lid})", path.display());
        out!(
            "entry {}: genesis, party {} ({}) key {}",
            a.seq,
            founder.id,
            founder.role,
            key.public().fingerprint()
        );
        if let Some(r) = remote {
            out!("server: {}/{lid} (this file is its replica)", r.url);
        }
    }
}

fn getrandom_id(out: &mut [u8; 16]) -> Result<()> {
    let k = SecretKey::generate()?; // 32 fresh random bytes, via the one RNG path we have
    out.copy_from_slice(&k.public().fingerprint().0[..16]);
    Ok(())
}
