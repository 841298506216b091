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

/// `vouch init --party ID --name NAME --role ROLE --key K`.
pub(super) fn init(
    path: &Path,
    party: String,
    name: String,
    role: String,
    key: &KeyArg,
    fmt: Format,
) -> Result<Outcome> {
    let key = load_key(&key.key)?;
    let mut id = [0u8; 16];
    getrandom_id(&mut id)?;
    let founder = NewParty {
        id: party,
        name,
        role: Role::parse(&role)?,
    };
    let (ledger, a) = Ledger::init(path, LedgerId(id), &founder, &key, clock::now())?;
    let lid = ledger.id()?;
    if fmt == Format::Json {
        print_json(
            &json!({"ledger": path, "ledger_id": lid.to_string(), "seq": a.seq,
            "hash": hex::encode(a.hash), "party": founder.id, "fingerprint": key.public().fingerprint().to_string()}),
        );
    } else {
        out!("created ledger {} (id {lid})", path.display());
        out!(
            "entry {}: genesis, party {} ({}) key {}",
            a.seq,
            founder.id,
            founder.role,
            key.public().fingerprint()
        );
    }
    Ok(Outcome::Ok)
}

fn getrandom_id(out: &mut [u8; 16]) -> Result<()> {
    let k = SecretKey::generate()?; // 32 fresh random bytes, via the one RNG path we have
    out.copy_from_slice(&k.public().fingerprint().0[..16]);
    Ok(())
}
