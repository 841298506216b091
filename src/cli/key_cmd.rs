//! `vouch key rotate`, `vouch key revoke` and `vouch key list`: a party's key history in
//! the ledger (`schema/FORMAT.md` §14).

use serde_json::{Value, json};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::args::{Format, KeyCommand};
use super::input::load_key;
use super::output::{Outcome, print_json};
use vouch::crypto::{Fingerprint, SecretKey, keyfile};
use vouch::format::entry::format_time;
use vouch::ledger::Access;
use vouch::ledger::keys::{KeyState, parse_since};
use vouch::ledger::verify;
use vouch::ledger::{Appended, Ledger};
use vouch::{Error, Result, clock};

/// Run a `vouch key` subcommand.
pub fn run(ledger: &Path, cmd: KeyCommand, fmt: Format) -> Result<Outcome> {
    match cmd {
        KeyCommand::Rotate { key, new } => rotate(ledger, &key.key, &new, fmt),
        KeyCommand::Revoke {
            fingerprint,
            since,
            reason,
            key,
        } => revoke(ledger, &fingerprint, &since, reason, &key.key, fmt),
        KeyCommand::List => list(ledger, fmt),
    }
}

/// The new key of a rotation: its private key is needed to sign the proof of possession.
fn load_new_key(arg: &str) -> Result<SecretKey> {
    let Some(stem) = arg.strip_suffix(".pub") else {
        return load_key(arg);
    };
    let pub_path = PathBuf::from(arg);
    let key_path = PathBuf::from(format!("{stem}.key"));
    let public = keyfile::load_public(&pub_path)?;
    if !key_path.exists() {
        return Err(Error::new(format!(
            "--new {arg}: its private key {} is not there",
            key_path.display()
        ))
        .hint("the new key signs its proof of possession: keep NEW.key beside NEW.pub, or pass --new NEW.key"));
    }
    let secret = keyfile::load_secret(&key_path)?;
    if secret.public().fingerprint() != public.fingerprint() {
        return Err(Error::new(format!(
            "{arg} is not the public key of {}",
            key_path.display()
        )));
    }
    Ok(secret)
}

fn appended_json(a: &Appended, extra: Value) -> Value {
    let mut v = json!({"seq": a.seq, "hash": hex::encode(a.hash), "kind": a.kind.as_str()});
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}

fn rotate(path: &Path, old: &str, new: &str, fmt: Format) -> Result<Outcome> {
    let old = load_key(old)?;
    let new = load_new_key(new)?;
    let mut ledger = Ledger::open(path, Access::ReadWrite)?;
    let a = ledger.rotate_key(&old, &new, clock::now())?;
    let (old_f, new_f) = (old.public().fingerprint(), new.public().fingerprint());
    let party = ledger
        .party_of_key(&new_f)?
        .map(|p| p.id)
        .unwrap_or_default();
    if fmt == Format::Json {
        print_json(&appended_json(
            &a,
            json!({"party": party, "old_key": old_f.to_string(), "new_key": new_f.to_string()}),
        ));
    } else {
        out!("entry {}: key-rotation ({})", a.seq, hex::encode(a.hash));
        out!("{party}'s key is now {new_f}; key {old_f} is retired and signs nothing more");
        out!("note: auditors who pin keys (verify --trust) must pin the new key too");
    }
    Ok(Outcome::Ok)
}

fn revoke(
    path: &Path,
    fingerprint: &str,
    since: &str,
    reason: String,
    key: &str,
    fmt: Format,
) -> Result<Outcome> {
    let target = Fingerprint::parse(fingerprint).ok_or_else(|| {
        Error::new(format!("{fingerprint:?} is not a key fingerprint"))
            .hint("a fingerprint is 64 lowercase hex digits, as `vouch key list` prints it")
    })?;
    let now = clock::now();
    let since = parse_since(since, now)?;
    let signer = load_key(key)?;
    let mut ledger = Ledger::open(path, Access::ReadWrite)?;
    let a = ledger.revoke_key(&signer, &target, since, reason, now)?;
    let since_s = format_time(&since);
    if fmt == Format::Json {
        print_json(&appended_json(
            &a,
            json!({"key": target.to_string(), "since": since_s}),
        ));
    } else {
        out!("entry {}: key-revocation ({})", a.seq, hex::encode(a.hash));
        out!(
            "key {target} is revoked since {since_s}: what it signed from then on does not count as evidence (vouch verify lists those entries)"
        );
    }
    Ok(Outcome::Ok)
}

fn state(k: &KeyState) -> String {
    match (&k.revoked, k.retired_by) {
        (Some((seq, since)), _) => format!("revoked since {since} (entry {seq})"),
        (None, Some(seq)) => format!("retired (entry {seq})"),
        (None, None) => "valid".to_string(),
    }
}

fn list(path: &Path, fmt: Format) -> Result<Outcome> {
    let ledger = Ledger::open(path, Access::ReadOnly)?;
    let keys = ledger.key_list()?;
    if fmt == Format::Json {
        let v: Vec<Value> = keys
            .iter()
            .map(|k| {
                json!({
                    "party": k.party, "fingerprint": k.fingerprint, "registered": k.seq,
                    "valid": k.valid(), "retired_by": k.retired_by,
                    "revoked_by": k.revoked.as_ref().map(|(s, _)| s),
                    "revoked_since": k.revoked.as_ref().map(|(_, t)| t),
                })
            })
            .collect();
        print_json(&Value::Array(v));
    } else {
        for k in &keys {
            out!(
                "{:<16} {}  entry {:<6} {}",
                k.party,
                k.fingerprint,
                k.seq,
                state(k)
            );
        }
    }
    Ok(Outcome::Ok)
}

/// The notes `vouch verify` prints for entries signed by a key after its revocation time
/// (`FORMAT.md` §14.4; from `verify::verify_noting_revoked`): not problems, but they do not
/// count as evidence.
pub(crate) fn revocation_notes(noted: &[verify::RevokedUse]) -> Vec<String> {
    noted
        .iter()
        .map(|u| {
            format!(
                "note: entry {} was signed by key {} after its revocation time {} (entry {}); it does not count as evidence",
                u.seq,
                u.key,
                format_time(&u.since),
                u.revoked_by
            )
        })
        .collect()
}

/// The same, for `vouch verify --format json` (`"signed_after_revocation": […]`).
pub(crate) fn revocation_notes_json(noted: &[verify::RevokedUse]) -> Value {
    noted
        .iter()
        .map(|u| {
            json!({"seq": u.seq, "kind": u.kind.as_str(), "key": u.key.to_string(),
                   "since": format_time(&u.since), "revoked_by": u.revoked_by})
        })
        .collect()
}
