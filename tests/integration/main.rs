//! Integration tests through the real `vouch` binary (one test binary, shared harness).

mod util;

mod bad_input;
mod checkpoint;
mod ledger;
mod matrix;
mod pdf;
mod status;
mod tamper;
mod vectors;
