//! in-toto attestations of evidence entries (`schema/FORMAT.md` §18.3).
