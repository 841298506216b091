//! What the ledger file says about itself beside its entries, and entry times against the
//! verifier's clock (`schema/FORMAT.md` §6, §7).
//!
//! - `meta` holds exactly the rows a ledger is created with: `ledger_id` and `format`. A
//!   `format` this vouch does not know is an error, not a finding: the rest of the file
//!   may follow rules it cannot check, so it does not pretend to verify it. Any other row
//!   is a finding (nothing vouch writes puts it there).
//! - Ledger time never goes backwards, so one entry dated in the future holds back every
//!   later one. An entry dated more than [`MAX_FUTURE`] after the verifier's clock is a
//!   finding; only the first is named, since every later entry then carries its time or a
//!   later one.

use chrono::{DateTime, Utc};

use super::precheck::Pre;
use super::{Check, Finding};
use crate::error::{Error, Result};
use crate::format::entry::{Version, format_time};
use crate::ledger::evidence::MAX_FUTURE;
use crate::ledger::store::Engine;

/// The ledger formats this vouch reads (the `format` row of `meta`: the version the ledger
/// was created in; its entries may be of that version or later ones, §8).
fn formats() -> Vec<&'static str> {
    Version::ALL.iter().map(|v| v.as_str()).collect()
}

/// The `meta` keys a ledger has.
const KEYS: [&str; 2] = ["format", "ledger_id"];

/// Check the `meta` rows: refuse a format this vouch does not read; a missing format and
/// unknown rows are findings (the ledger as a whole, entry 0).
pub(super) fn check_meta(store: &dyn Engine, findings: &mut Vec<Finding>) -> Result<()> {
    let path = store.path().display();
    match store.meta("format")? {
        Some(f) if Version::from_name(&f).is_some() => {}
        Some(f) => {
            return Err(Error::new(format!(
                "{path}: ledger format {f:?} is not one this vouch reads (it reads {})",
                formats().join(", ")
            ))
            .hint("upgrade vouch to a version that reads this format, then verify again"));
        }
        None => findings.push(Finding {
            seq: 0,
            check: Check::Derived,
            what: "the file's metadata has no format row".into(),
        }),
    }
    for key in store.meta_keys()? {
        if !KEYS.contains(&key.as_str()) {
            findings.push(Finding {
                seq: 0,
                check: Check::Derived,
                what: format!(
                    "the file's metadata has an unknown row {key:?} (a ledger has only {})",
                    KEYS.join(" and ")
                ),
            });
        }
    }
    Ok(())
}

/// Entries of a chunk dated more than [`MAX_FUTURE`] after `now`: the first one, unless an
/// entry before the chunk (`last_time`, the walk's time so far) already was. Call before
/// the chunk is walked.
pub(super) fn future_times(
    chunk: &[Pre],
    last_time: Option<DateTime<Utc>>,
    now: Option<DateTime<Utc>>,
    out: &mut Vec<Finding>,
) {
    let Some(now) = now else { return };
    let limit = now + MAX_FUTURE;
    let mut beyond = last_time.is_some_and(|t| t > limit);
    for p in chunk {
        let Ok(h) = &p.header else { continue };
        if h.time > limit && !beyond {
            out.push(Finding {
                seq: h.seq,
                check: Check::Clock,
                what: format!(
                    "time {} is later than this machine's clock ({}) plus {} minutes: the entry is dated in the future, and every entry after it carries its time or a later one",
                    format_time(&h.time),
                    format_time(&now),
                    MAX_FUTURE.num_minutes()
                ),
            });
        }
        beyond = h.time > limit;
    }
}
