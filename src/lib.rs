//! vouch: a signed, append-only, hash-chained evidence ledger for cloud
//! shared-responsibility matrices.
//!
//! The library never prints, panics or exits: every failure is an [`Error`] that says what
//! and where, and a tamper finding is a [`ledger::verify::Finding`], not an error. The byte
//! format is specified in `schema/FORMAT.md`; modules quote the section they implement.

// The house rules as lints: library code never unwraps, panics or prints (tests may).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::print_stdout,
        clippy::print_stderr,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod attestation;
pub mod bundle;
pub mod clock;
pub mod crypto;
pub mod demo;
pub mod error;
pub mod format;
pub mod interop;
pub mod ledger;
pub mod matrix;
pub mod period;
pub mod protocol;
pub mod server;

pub use error::{Error, Result};
