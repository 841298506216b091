//! The engine conformance suite (written below).
