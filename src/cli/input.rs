//! Shared readers of command-line values: signing keys, pinned keys and periods.

use std::path::Path;

use super::args::PeriodArgs;
use vouch::crypto::{Fingerprint, PublicKey, SecretKey, keyfile};
use vouch::period::Period;
use vouch::{Error, Result};

pub(super) fn load_key(arg: &str) -> Result<SecretKey> {
    keyfile::load_secret(&keyfile::resolve_key_path(arg))
}

/// Parse `--period` or `--from/--to` into a period.
pub(super) fn parse_period(p: PeriodArgs) -> Result<Period> {
    let text = match (p.period, p.from, p.to) {
        (Some(p), _, _) => p,
        (None, Some(f), Some(t)) => format!("{f}..{t}"),
        _ => return Err(Error::new("give --period or both --from and --to")),
    };
    Period::parse(&text).ok_or_else(|| {
        Error::new(format!("cannot read the period {text:?}"))
            .hint("use 2026-Q3, 2026-07, 2026, or --from 2026-07-01 --to 2026-09-30")
    })
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
