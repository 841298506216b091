//! `vouch checkpoint` and `vouch checkpoint cosign`.

use std::path::Path;

use super::Outcome;
use super::args::{CheckpointArgs, Format};
use vouch::{Error, Result};

/// `vouch checkpoint …`.
pub fn run(_ledger: &Path, _args: CheckpointArgs, _fmt: Format) -> Result<Outcome> {
    Err(Error::new("vouch checkpoint is not built yet"))
}
