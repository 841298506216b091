//! The report stamp (`schema/FORMAT.md` §17): what a rendered report carries about itself,
//! machine-readable, so that `vouch verify --report` can make the same report again from the
//! ledger and compare. This module owns its bytes (JSON, written and read here); the PDF
//! renderer only places them in the document information under [`STAMP_KEY`].

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The document-information key of the stamp in a PDF report (§17).
pub const STAMP_KEY: &str = "VouchReport";

/// The options a report was made with.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReportOptions {
    /// `all`, `exceptions` or `none`.
    pub appendix: String,
    /// Pinned key fingerprints (hex), sorted.
    pub trust: Vec<String>,
}

/// What a rendered report carries about itself, machine-readable (in the PDF's document
/// information, key `VouchReport`), so `vouch verify --report` can make it again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Stamp {
    /// `vouch/v1 report`.
    pub format: String,
    /// The period, as `Period::parse` reads it.
    pub period: String,
    /// The attestation digest.
    pub digest: String,
    /// The attestation head: seq and entry hash.
    pub head: (u64, String),
    /// The checkpoint text of the ledger as read.
    pub checkpoint: Option<String>,
    /// The trusted checkpoint the ledger was verified from (`report --since`), if any;
    /// absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<StampSince>,
    /// The options.
    pub options: ReportOptions,
}

/// A verification from a trusted checkpoint (`FORMAT.md` §7.1), as the stamp records it:
/// entries 1 … `size` were rehashed and had the Merkle root `root`, and their signatures
/// were vouched for by the checkpoint signed by the key `key`, not checked again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StampSince {
    /// Entries the checkpoint covers.
    pub size: u64,
    /// Their Merkle root, 64 lowercase hex digits.
    pub root: String,
    /// The fingerprint of the trusted key that signed the checkpoint.
    pub key: String,
}

/// The stamp format name.
pub const STAMP_FORMAT: &str = "vouch/v1 report";

impl Stamp {
    /// The stamp's bytes: its JSON (§17), as placed in the report.
    ///
    /// # Errors
    ///
    /// When the stamp cannot be serialised.
    pub fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self)
            .map_err(|e| Error::new(format!("cannot write the report stamp: {e}")))
    }

    /// Read a stamp's bytes: JSON with exactly the members of §17, of format
    /// [`STAMP_FORMAT`].
    ///
    /// # Errors
    ///
    /// When the bytes are not such a stamp.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let stamp: Self = serde_json::from_slice(bytes)
            .map_err(|e| Error::new(format!("the PDF's vouch report stamp is malformed: {e}")))?;
        if stamp.format != STAMP_FORMAT {
            return Err(Error::new(format!(
                "the PDF's report stamp is of format {:?}, not {:?}",
                stamp.format, STAMP_FORMAT
            )));
        }
        Ok(stamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp {
            format: STAMP_FORMAT.to_string(),
            period: "2026-Q3".into(),
            digest: "ab".repeat(32),
            head: (102, "cd".repeat(32)),
            checkpoint: None,
            since: None,
            options: ReportOptions {
                appendix: "all".into(),
                trust: vec![],
            },
        }
    }

    #[test]
    fn stamp_round_trips_in_the_member_order_of_section_17() {
        let s = stamp();
        let bytes = s.encode().unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(
            text.starts_with(r#"{"format":"vouch/v1 report","period":"2026-Q3","digest":"#),
            "{text}"
        );
        assert!(text.contains(r#""head":[102,"#), "{text}");
        assert_eq!(Stamp::decode(&bytes).unwrap(), s);
    }

    #[test]
    fn stamp_of_another_format_or_with_unknown_members_is_refused() {
        let mut s = stamp();
        s.format = "vouch/v2 report".into();
        let e = Stamp::decode(&s.encode().unwrap()).unwrap_err();
        assert!(e.message().contains("vouch/v2 report"), "{}", e.message());
        let mut v: serde_json::Value = serde_json::from_slice(&stamp().encode().unwrap()).unwrap();
        v["extra"] = serde_json::json!(1);
        let e = Stamp::decode(v.to_string().as_bytes()).unwrap_err();
        assert!(e.message().contains("malformed"), "{}", e.message());
    }
}
