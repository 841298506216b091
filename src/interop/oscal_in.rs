//! OSCAL system security plans in: a leveraged authorization as a vouch matrix
//! (`schema/MATRIX.md`, "Importing OSCAL security plans").
