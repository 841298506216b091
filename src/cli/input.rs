//! Shared readers of command-line values: signing keys, pinned keys and periods.

use std::path::Path;

use super::args::PeriodArgs;
use chrono::NaiveDate;
use vouch::crypto::{Fingerprint, PublicKey, SecretKey, keyfile};
use vouch::period::Period;
use vouch::{Error, Result};

pub(super) fn load_key(arg: &str) -> Result<SecretKey> {
    keyfile::load_secret(&keyfile::resolve_key_path(arg))
}

/// Parse `--period` or `--from/--to` into a period: dates in order, at most
/// [`vouch::period::MAX_YEARS`] long.
pub(super) fn parse_period(p: PeriodArgs) -> Result<Period> {
    match (p.period, p.from, p.to) {
        (Some(p), _, _) => Period::parse_input(&p).map_err(|e| e.context("--period")),
        (None, Some(f), Some(t)) => {
            let date = |flag: &str, d: &str| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                    Error::new(format!("{flag}: cannot read the date {d:?}"))
                        .hint("write dates as YYYY-MM-DD, e.g. --from 2026-07-01 --to 2026-09-30")
                })
            };
            Period::between(date("--from", &f)?, date("--to", &t)?)
                .map_err(|e| e.context("--from/--to"))
        }
        _ => Err(Error::new("give --period or both --from and --to")),
    }
}

pub(super) fn parse_trust(items: &[String]) -> Result<Vec<Fingerprint>> {
    items
        .iter()
        .map(|t| {
            if let Some(f) = Fingerprint::parse(t) {
                return Ok(f);
            }
            let p = Path::new(t);
            if p.exists() {
                return keyfile::load_public(p).map(|k: PublicKey| k.fingerprint());
            }
            Err(Error::new(format!(
                "--trust {t:?} is neither a public key file nor a fingerprint"
            ))
            .hint("pass a .pub file from `vouch keygen` or the 64-hex fingerprint it printed"))
        })
        .collect()
}

/// `--since FILE` with the keys trusted to have signed it (`--since-key`, and the `--trust`
/// pins): the checkpoint to verify from (FORMAT.md §7.1), or `None` without `--since`.
pub(super) fn read_since(
    ledger_path: &Path,
    args: &super::args::SinceArgs,
    trust: &[String],
) -> Result<Option<vouch::ledger::verify::Since>> {
    use vouch::ledger::checkpoints::TrustedKey;
    let Some(file) = &args.since else {
        return Ok(None);
    };
    let keys = args
        .since_key
        .iter()
        .map(|t| (t, "--since-key"))
        .chain(trust.iter().map(|t| (t, "--trust")))
        .map(|(t, flag)| {
            if let Some(f) = Fingerprint::parse(t) {
                return Ok(TrustedKey::Fingerprint(f));
            }
            let p = Path::new(t);
            if p.exists() {
                return keyfile::load_public(p).map(TrustedKey::Key);
            }
            Err(Error::new(format!(
                "{flag} {t:?} is neither a public key file nor a fingerprint"
            ))
            .hint("pass a .pub file from `vouch keygen` or the 64-hex fingerprint it printed"))
        })
        .collect::<Result<Vec<_>>>()?;
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, &e))?;
    let ledger = vouch::ledger::Ledger::open(ledger_path, vouch::ledger::Access::ReadOnly)?;
    ledger
        .trusted_since(&text, &keys)
        .map(Some)
        .map_err(|e| e.context(format!("--since {}", file.display())))
}
