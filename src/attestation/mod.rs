//! What the verified ledger says about a matrix for a period, and the documents that
//! carry it: the status engine and its ledger reader, the attestation digest and sign-offs
//! (`schema/FORMAT.md` §11), the adopted matrix, the report model and its text and PDF
//! renderings.
//!
//! Everything here reads the ledger through [`crate::ledger`]'s reader, never storage.

pub mod adopted;
pub mod attest;
pub mod pdf;
pub mod report;
pub mod report_text;
pub mod responses;
pub mod status;
pub mod status_ledger;
