//! `vouch prove` and `vouch verify --proof`: inclusion and consistency proofs that are
//! checked without the ledger (schema/FORMAT.md, proofs section).

use clap::Args;
use std::path::{Path, PathBuf};

use super::Outcome;
use super::args::Format;
use vouch::{Error, Result};

/// `vouch prove`.
#[derive(Args, Debug)]
pub struct ProveArgs {
    /// The entry to prove (sequence number).
    #[arg(value_name = "SEQ", required_unless_present_all = ["from", "to"])]
    pub seq: Option<u64>,
    /// Prove against this signed checkpoint (default: the newest one recorded in the ledger).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from", "to"])]
    pub checkpoint: Option<PathBuf>,
    /// Consistency proof: the older checkpoint.
    #[arg(long, value_name = "CP1", requires = "to", conflicts_with = "seq")]
    pub from: Option<PathBuf>,
    /// Consistency proof: the newer checkpoint.
    #[arg(long, value_name = "CP2", requires = "from")]
    pub to: Option<PathBuf>,
    /// Where to write the proof.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `vouch prove`.
pub fn prove(_ledger: &Path, _args: ProveArgs, _fmt: Format) -> Result<Outcome> {
    Err(Error::new("vouch prove is not built yet"))
}

/// `vouch verify --proof FILE --trust …`.
pub fn verify_proof(_file: &Path, _trust: &[String], _fmt: Format) -> Result<Outcome> {
    Err(Error::new("vouch verify --proof is not built yet"))
}
