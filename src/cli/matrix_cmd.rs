//! `vouch matrix …` commands. Stub: being written.
