//! Collecting the findings of a bundle verification and putting them in the order they
//! are reported (`schema/FORMAT.md` §16.9).

use super::BundleFinding;
use super::format::ENTRIES;
use crate::ledger::verify::Check;

/// The findings of one verification, as they are found.
#[derive(Default)]
pub(super) struct Findings(pub(super) Vec<BundleFinding>);

impl Findings {
    pub(super) fn file(
        &mut self,
        file: &str,
        line: Option<u64>,
        check: &str,
        what: impl Into<String>,
    ) {
        self.0.push(BundleFinding {
            file: file.to_string(),
            line,
            seq: None,
            check: check.to_string(),
            what: what.into(),
        });
    }

    pub(super) fn entry(
        &mut self,
        line: Option<u64>,
        seq: u64,
        check: &str,
        what: impl Into<String>,
    ) {
        self.0.push(BundleFinding {
            file: ENTRIES.to_string(),
            line,
            seq: Some(seq),
            check: check.to_string(),
            what: what.into(),
        });
    }
}

/// The `check` of a finding of `vouch verify`: its [`Check`] in lowercase.
pub(super) fn check_name(c: Check) -> String {
    format!("{c:?}").to_lowercase()
}

/// Findings in the order they are reported: missing, added and edited files first (the
/// lowest level: the bytes are not the ones exported), then the rest as found. Without
/// `all`, only the first problem with an entry is kept, as `vouch verify` does.
pub(super) fn order(
    findings: Vec<BundleFinding>,
    all: bool,
    stopped: &mut bool,
) -> Vec<BundleFinding> {
    let (mut first, rest): (Vec<_>, Vec<_>) = findings
        .into_iter()
        .partition(|f| f.check == "file" || f.check == "manifest");
    let mut seen_entry = false;
    for f in rest {
        if f.file == ENTRIES && (f.seq.is_some() || f.line.is_some()) {
            if seen_entry && !all {
                *stopped = true;
                continue;
            }
            seen_entry = true;
        }
        first.push(f);
    }
    first
}

/// Order of checks within one entry, as `vouch verify` reports them (lowest level first).
pub(super) fn rank(check: &str) -> u8 {
    match check {
        "format" => 0,
        "signature" => 1,
        "payload" => 2,
        "position" => 3,
        "proof" => 4,
        "chain" => 5,
        "time" => 6,
        "registry" => 7,
        "trust" => 8,
        _ => 9,
    }
}
