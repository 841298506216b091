//! `vouch log` and `vouch show`: the entries of the ledger, one line each or one in full.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::{self, Write as _};
use std::path::Path;

use super::args::Format;
use super::output::{Outcome, print_json};
use vouch::format::entry::format_time;
use vouch::ledger::Access;
use vouch::ledger::Ledger;
use vouch::ledger::evidence;
use vouch::{Error, Result};

pub(super) fn log(path: &Path, last: Option<u64>, fmt: Format) -> Result<Outcome> {
    let ledger = Ledger::open(path, Access::ReadOnly)?;
    let names = party_names(&ledger)?;
    let max = ledger.size()?;
    let from = last.map_or(1, |n| max.saturating_sub(n) + 1);
    let mut json_rows = Vec::new();
    ledger.scan(from, max, |entries| {
        for e in entries {
            let h = &e.header;
            let (seq, time, kind, signer) = (
                h.seq,
                format_time(&h.time),
                h.kind.as_str(),
                h.signer.to_string(),
            );
            let party = names
                .get(&signer)
                .cloned()
                .unwrap_or_else(|| "(unregistered)".into());
            if fmt == Format::Json {
                let p: Value = serde_json::from_slice(&e.payload).unwrap_or(Value::Null);
                json_rows.push(
                    json!({"seq": seq, "time": time, "kind": kind, "party": party,
                    "signer": signer, "hash": hex::encode(e.hash()), "payload": p}),
                );
            } else {
                out!(
                    "{:>6}  {}  {:<10}  {:<12}  {}",
                    seq,
                    time,
                    kind,
                    party,
                    summary(kind, &e.payload)
                );
            }
        }
        Ok(())
    })?;
    if fmt == Format::Json {
        print_json(&Value::Array(json_rows));
    }
    Ok(Outcome::Ok)
}

pub(super) fn show(path: &Path, seq: u64, fmt: Format) -> Result<Outcome> {
    let ledger = Ledger::open(path, Access::ReadOnly)?;
    let Some(e) = ledger.entry(seq)? else {
        let max = ledger.size()?;
        return Err(Error::new(format!("no entry {seq} in {}", path.display()))
            .hint(format!("entries run from 1 to {max}")));
    };
    let names = party_names(&ledger)?;
    let signer = e.header.signer.to_string();
    let party = names
        .get(&signer)
        .cloned()
        .unwrap_or_else(|| "(unregistered)".into());
    let text = String::from_utf8_lossy(&e.body).into_owned();
    let p: Value = serde_json::from_slice(&e.payload).unwrap_or(Value::Null);
    let hash = evidence::sha256_hex(&e.body);
    if fmt == Format::Json {
        print_json(
            &json!({"seq": seq, "hash": hash, "time": format_time(&e.header.time), "kind": e.header.kind.as_str(),
            "signer": signer, "party": party, "entry": text, "signature": hex::encode(&e.signature),
            "payload": p, "payload_bytes": String::from_utf8_lossy(&e.payload)}),
        );
    } else {
        out!("entry {seq}: {} by {party}, hash {hash}", e.header.kind);
        out!("--- signed entry text ---");
        out!("{}", text.trim_end());
        out!("--- signature (Ed25519, hex) ---");
        out!("{}", hex::encode(&e.signature));
        out!("--- payload ---");
        out!("{}", serde_json::to_string_pretty(&p).unwrap_or_default());
    }
    Ok(Outcome::Ok)
}

fn party_names(ledger: &Ledger) -> Result<HashMap<String, String>> {
    Ok(ledger
        .keys()?
        .into_iter()
        .map(|k| (k.fingerprint, k.party))
        .collect())
}

/// The first 12 characters of a hash or fingerprint, then `…`.
fn short(s: &str) -> String {
    if s.chars().count() <= 12 {
        return s.to_string();
    }
    s.chars().take(12).chain(['…']).collect()
}

fn summary(kind: &str, payload_bytes: &[u8]) -> String {
    let v: Value = serde_json::from_slice(payload_bytes).unwrap_or(Value::Null);
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    match kind {
        "genesis" | "party" => format!("{} {} ({})", s("role"), s("id"), s("name")),
        "evidence" => format!(
            "{} {} {} performed {}",
            s("item"),
            s("kind"),
            s("outcome"),
            s("performed_at")
        ),
        "adoption" => {
            let m = &v["matrix"];
            let g = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
            let sha = g("sha256");
            format!(
                "matrix {} version {} ({}…)",
                g("id"),
                g("version"),
                sha.get(..12).unwrap_or(&sha)
            )
        }
        "cosign" => {
            let reason = v
                .get("reason")
                .and_then(Value::as_str)
                .map(|r| format!(": {r}"));
            format!(
                "{} of entry {}{}",
                s("verdict"),
                v["entry"],
                reason.unwrap_or_default()
            )
        }
        "retraction" => format!("retracts entry {}: {}", v["entry"], s("reason")),
        "waiver" => format!("{} not applicable: {}", s("item"), s("reason")),
        "delegation" => format!("{} delegated to {}", s("item"), s("to")),
        "signoff" => format!(
            "signs period {}..{}: digest {} at head {}{}",
            v["period"]["from"].as_str().unwrap_or_default(),
            v["period"]["to"].as_str().unwrap_or_default(),
            short(&s("digest")),
            v["head"],
            v.get("signatory")
                .and_then(Value::as_str)
                .map(|x| format!(" (signed by {x})"))
                .unwrap_or_default()
        ),
        "response" => match v.get("entry") {
            Some(e) => format!("responds to entry {e}: {}", s("text")),
            None => format!(
                "responds on {} for {}..{}: {}",
                s("item"),
                v["period"]["from"].as_str().unwrap_or_default(),
                v["period"]["to"].as_str().unwrap_or_default(),
                s("text")
            ),
        },
        "checkpoint" => format!(
            "checkpoint of entries 1–{}: root {}",
            v["size"],
            short(&s("root"))
        ),
        "key-rotation" => format!("{} rotates to a new key", s("party")),
        "key-revocation" => format!(
            "revokes key {} since {}: {}",
            short(&s("key")),
            s("since"),
            s("reason")
        ),
        _ => String::new(),
    }
}
