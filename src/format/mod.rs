//! Byte formats, and nothing else: no storage, no ledger, no I/O.
//!
//! Each module owns one format of `schema/FORMAT.md` and quotes its section: the entry
//! text (§2–3), payloads (§1, §4), the Merkle tree (§12), signed notes and checkpoints
//! (§13), proof files (§15) and the report stamp (§17). Everything that stores or reads entries builds on these; nothing here reaches up.

pub mod checkpoint;
pub mod cosignature;
pub mod entry;
pub mod merkle;
pub mod payload;
pub mod proof;
pub mod rules;
pub mod stamp;
pub mod tiles;
