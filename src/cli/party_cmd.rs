//! `vouch party add` and `vouch party list`: the parties registered in the ledger and
//! their keys.

use serde_json::{Value, json};
use std::io::{self, Write as _};
use std::path::Path;

use super::args::{Format, KeyArg};
use super::input::load_key;
use super::output::{Outcome, print_json};
use std::path::PathBuf;
use vouch::crypto::PublicKey;
use vouch::format::entry::LedgerId;
use vouch::format::payload::{self, PartyPayload, Role};
use vouch::ledger::{Access, keys};
use vouch::ledger::{Ledger, NewParty};
use vouch::{Error, Result, clock};

/// What `vouch party add` was given.
pub(super) struct AddArgs {
    pub id: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    pub request: Option<PathBuf>,
    pub new_key: Option<String>,
    pub pubkey: Option<PathBuf>,
}

/// The new party as `vouch party request` was given it.
pub(super) struct NewPartyArgs {
    pub id: String,
    pub name: String,
    pub role: String,
}

impl NewPartyArgs {
    fn party(self) -> Result<NewParty> {
        Ok(NewParty {
            id: self.id,
            name: self.name,
            role: Role::parse(&self.role)?,
        })
    }
}

/// Largest registration request read (a party payload is under 1 KiB).
const MAX_REQUEST: u64 = 64 * 1024;

fn read_request(path: &Path) -> Result<PartyPayload> {
    let what = path.display();
    let meta = std::fs::metadata(path).map_err(|e| Error::new(format!("--request {what}: {e}")))?;
    if !meta.is_file() || meta.len() > MAX_REQUEST {
        return Err(Error::new(format!(
            "--request {what}: not a registration request (a regular file of at most {MAX_REQUEST} bytes)"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::new(format!("--request {what}: {e}")))?;
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    payload::decode::<PartyPayload>(bytes).map_err(|e| {
        Error::new(format!("--request {what}: {e}"))
            .hint("the new party writes the file with: vouch party request ID --name NAME --role ROLE --key ITS.key")
    })
}

/// `vouch party add ID --name NAME --role ROLE --new-key NEW.key --key K`, or
/// `vouch party add --request FILE --key K`.
pub(super) fn add(path: &Path, args: AddArgs, key: &KeyArg, fmt: Format) -> Result<Outcome> {
    if let Some(p) = &args.pubkey {
        return Err(Error::new(format!(
            "--pubkey {}: a public key alone no longer registers a party: the key's holder proves possession (FORMAT.md §14.6)",
            p.display()
        ))
        .hint("the new party runs: vouch party request ID --name NAME --role ROLE --key ITS.key --ledger-id LEDGER_ID, and you append the file: vouch party add --request ID.request.json --key YOURS (or, holding its private key: --new-key FILE.key)"));
    }
    let signer = load_key(&key.key)?;
    let mut ledger = Ledger::open(path, Access::ReadWrite)?;
    let (a, p) = match (&args.request, args.new_key.as_deref()) {
        (Some(r), _) => {
            let req = read_request(r)?;
            (ledger.register(&req, &signer, clock::now())?, req)
        }
        (None, Some(k)) => {
            let new = load_key(k).map_err(|e| e.context("--new-key"))?;
            let party = NewPartyArgs {
                id: args.id.unwrap_or_default(),
                name: args.name.unwrap_or_default(),
                role: args.role.unwrap_or_default(),
            }
            .party()?;
            let req = keys::party_request(&ledger.id()?, &party, &new)?;
            (ledger.add_party(&party, &new, &signer, clock::now())?, req)
        }
        (None, None) => {
            return Err(Error::new("vouch party add needs the new party's proof of possession")
                .hint("give --request FILE (made by the new party with vouch party request), or --new-key FILE.key if you hold its private key"));
        }
    };
    let fpr = PublicKey::from_spki_base64(&p.public_key)?.fingerprint();
    if fmt == Format::Json {
        print_json(
            &json!({"seq": a.seq, "hash": hex::encode(a.hash), "party": p.id,
            "fingerprint": fpr.to_string()}),
        );
    } else {
        out!(
            "entry {}: party {} ({}) registered with key {}",
            a.seq,
            p.id,
            p.role,
            fpr
        );
    }
    Ok(Outcome::Ok)
}

/// `vouch party request ID --name NAME --role ROLE --key MINE.key [--ledger-id ID]`.
pub(super) fn request(
    path: &Path,
    party: NewPartyArgs,
    ledger_id: Option<&str>,
    out: Option<PathBuf>,
    key: &str,
    fmt: Format,
) -> Result<Outcome> {
    let key = load_key(key)?;
    let id = match ledger_id {
        Some(s) => LedgerId::parse(s).ok_or_else(|| {
            Error::new(format!("--ledger-id {s:?} is not a ledger id"))
                .hint("a ledger id is 32 lowercase hex digits (vouch log shows it)")
        })?,
        None => Ledger::open(path, Access::ReadOnly)
            .map_err(|e| e.hint("give the ledger id with --ledger-id ID"))?
            .id()?,
    };
    let party = party.party()?;
    let req = keys::party_request(&id, &party, &key)?;
    let target = out.unwrap_or_else(|| PathBuf::from(format!("{}.request.json", party.id)));
    let mut bytes = payload::encode(&req)?;
    bytes.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
        .map_err(|e| {
            Error::new(format!("{}: {e}", target.display()))
                .hint("the request file is never overwritten: choose another --out")
        })?;
    f.write_all(&bytes)
        .map_err(|e| Error::new(format!("{}: {e}", target.display())))?;
    let fpr = key.public().fingerprint();
    if fmt == Format::Json {
        print_json(
            &json!({"request": target.display().to_string(), "ledger": id.to_string(),
            "party": party.id, "fingerprint": fpr.to_string()}),
        );
    } else {
        out!(
            "{}: request to register {} ({}) with key {fpr} in ledger {id}; hand it to a registered party: vouch party add --request {}",
            target.display(),
            party.id,
            party.role,
            target.display()
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
