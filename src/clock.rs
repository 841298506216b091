//! The one place that reads the wall clock.
//!
//! Everything else takes a timestamp as an argument, so tests, test vectors and the demo are
//! deterministic. Ledger times have whole-second precision (see `schema/FORMAT.md` §3).

use chrono::{DateTime, SubsecRound, Utc};

/// The current UTC time, truncated to whole seconds.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}
