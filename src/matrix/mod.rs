//! Shared-responsibility matrices (`schema/MATRIX.md`). Stub: being written.

pub mod kinds;
