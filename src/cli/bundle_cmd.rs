//! `vouch export --bundle` and `vouch verify --bundle`: a self-contained directory an
//! auditor verifies without the SQLite file (schema/FORMAT.md, bundles section).

use clap::Args;
use std::path::{Path, PathBuf};

use super::Outcome;
use super::args::{Format, VerifyArgs};
use vouch::{Error, Result};

/// `vouch export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The directory to create (must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    pub bundle: PathBuf,
}

/// `vouch export --bundle DIR`.
pub fn export(_ledger: &Path, _args: ExportArgs, _fmt: Format) -> Result<Outcome> {
    Err(Error::new("vouch export is not built yet"))
}

/// `vouch verify --bundle DIR`.
pub fn verify_bundle(_dir: &Path, _args: &VerifyArgs, _fmt: Format) -> Result<Outcome> {
    Err(Error::new("vouch verify --bundle is not built yet"))
}
