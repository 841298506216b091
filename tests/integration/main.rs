//! Integration tests through the real `vouch` binary (one test binary, shared harness).

mod util;

mod bad_input;
mod bundle;
mod checkpoint;
mod confirm;
mod csv_import;
mod everyday;
mod hardening;
mod keys;
mod ledger;
mod limits;
mod matrix;
mod modes;
mod pdf;
mod proof;
mod report_parts;
mod since_at;
mod status;
mod tamper;
mod vectors;
