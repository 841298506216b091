//! Integration tests through the real `vouch` binary (one test binary, shared harness).

mod util;

mod bad_input;
mod bundle;
mod checkpoint;
mod completions_man;
mod confirm;
mod crafted_payloads;
mod csv_import;
mod everyday;
mod format_v2;
mod hardening;
mod http_vectors;
mod intoto_out;
mod keys;
mod ledger;
mod limits;
mod matrix;
mod modes;
mod oscal_in;
mod oscal_out;
mod pdf;
mod pdf_contract;
mod postgres;
mod proof;
mod report_parts;
mod scope_response;
mod serve;
mod serve_pg;
mod since_at;
mod status;
mod streaming;
mod tamper;
mod tiles;
mod vectors;
