//! Integration tests through the real `vouch` binary (one test binary, shared harness).

mod util;

mod bad_input;
mod bundle;
mod checkpoint;
mod csv_import;
mod keys;
mod ledger;
mod matrix;
mod pdf;
mod proof;
mod status;
mod tamper;
mod vectors;
