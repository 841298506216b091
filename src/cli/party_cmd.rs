//! `vouch party add` and `vouch party list`: the parties registered in the ledger and
//! their keys.

use serde_json::{Value, json};
use std::io::{self, Write as _};
use std::path::Path;

use super::args::{Format, KeyArg};
use super::input::load_key;
use super::output::{Outcome, print_json};
use vouch::crypto::keyfile;
use vouch::format::payload::Role;
use vouch::ledger::Access;
use vouch::ledger::{Ledger, NewParty};
use vouch::{Result, clock};

/// `vouch party add ID --name NAME --role ROLE --pubkey FILE --key K`.
pub(super) fn add(
    path: &Path,
    id: String,
    name: String,
    role: String,
    pubkey: &Path,
    key: &KeyArg,
    fmt: Format,
) -> Result<Outcome> {
    let signer = load_key(&key.key)?;
    let public = keyfile::load_public(pubkey)?;
    let mut ledger = Ledger::open(path, Access::ReadWrite)?;
    let party = NewParty {
        id,
        name,
        role: Role::parse(&role)?,
    };
    let a = ledger.add_party(&party, &public, &signer, clock::now())?;
    if fmt == Format::Json {
        print_json(
            &json!({"seq": a.seq, "hash": hex::encode(a.hash), "party": party.id,
            "fingerprint": public.fingerprint().to_string()}),
        );
    } else {
        out!(
            "entry {}: party {} ({}) registered with key {}",
            a.seq,
            party.id,
            party.role,
            public.fingerprint()
        );
    }
    Ok(Outcome::Ok)
}

pub(super) fn list(path: &Path, fmt: Format) -> Result<Outcome> {
    let ledger = Ledger::open(path, Access::ReadOnly)?;
    let parties = ledger.parties()?;
    let keys = ledger.keys()?;
    if fmt == Format::Json {
        let list: Vec<Value> = parties
            .iter()
            .map(|p| {
                let ks: Vec<&str> = keys
                    .iter()
                    .filter(|k| k.party == p.id)
                    .map(|k| k.fingerprint.as_str())
                    .collect();
                json!({"id": p.id, "name": p.name, "role": p.role, "seq": p.seq, "keys": ks})
            })
            .collect();
        print_json(&Value::Array(list));
    } else {
        for p in &parties {
            for k in keys.iter().filter(|k| k.party == p.id) {
                out!("{:<16} {:<12} {}  {}", p.id, p.role, k.fingerprint, p.name);
            }
        }
    }
    Ok(Outcome::Ok)
}
