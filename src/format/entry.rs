//! The signed entry text: the only code that knows its byte layout.
//!
//! Implements `schema/FORMAT.md` §3 ("Entry text"). An entry text is exactly eight lines,
//! each ending in a single LF, in this order and with these keys:
//!
//! ```text
//! vouch/v1 entry
//! ledger: <32 lowercase hex>
//! seq: <decimal, no leading zeros, ≥ 1>
//! prev: <64 lowercase hex>
//! time: <YYYY-MM-DDTHH:MM:SSZ>
//! kind: <[a-z][a-z0-9-]*>
//! signer: <64 lowercase hex key fingerprint>
//! payload: <64 lowercase hex SHA-256 of the payload bytes>
//! ```
//!
//! The entry hash is SHA-256 of these bytes; the signature is Ed25519 over these bytes.
//! Parsing accepts only the one spelling [`EntryHeader::encode`] produces.

use chrono::{DateTime, NaiveDate, Utc};
use std::fmt;

use crate::crypto::{Fingerprint, parse_hex32};

/// The first line of every v1 entry: format name, version and domain separator.
pub const MAGIC: &str = "vouch/v1 entry";
/// The first line of every v2 entry.
pub const MAGIC_V2: &str = "vouch/v2 entry";

/// A version of the entry format (`FORMAT.md` §8), named on the first line of every entry
/// text. The entry text is the same in every version; what a version changes is which
/// payloads are valid ([`crate::format::payload::Checked::check_version`]) and which kinds
/// exist ([`Kind::since`]). Within a ledger, versions never decrease.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// `vouch/v1`: the first version.
    V1,
    /// `vouch/v2`: `party` payloads carry the registered key's proof of possession
    /// (`FORMAT.md` §4, §14.6); adoptions may name `services`, sign-offs a `signatory`;
    /// the kind `response`.
    V2,
}

impl Version {
    /// The version writers append.
    pub const CURRENT: Version = Version::V2;
    /// Every version this build reads, oldest first.
    pub const ALL: [Version; 2] = [Version::V1, Version::V2];

    /// The format name, as `meta.format` spells it: `vouch/v1`, `vouch/v2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V1 => "vouch/v1",
            Version::V2 => "vouch/v2",
        }
    }

    /// The first line of an entry text of this version.
    pub fn magic(self) -> &'static str {
        match self {
            Version::V1 => MAGIC,
            Version::V2 => MAGIC_V2,
        }
    }

    /// The version whose entry texts start with `line`.
    pub fn from_magic(line: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.magic() == line)
    }

    /// The version a `meta.format` value names.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == name)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
/// `prev` of the first entry.
pub const ZERO_HASH: [u8; 32] = [0u8; 32];
/// The time format of entry and payload times.
pub const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";
/// Largest accepted entry text (a v1 header is 330–360 bytes).
pub const MAX_ENTRY_LEN: usize = 512;

/// The kinds of entry defined by this version of the format (`FORMAT.md` §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// First entry: creates the ledger and registers the founding party.
    Genesis,
    /// Registers another party and its key.
    Party,
    /// Evidence that a duty was performed.
    Evidence,
    /// Adoption of a matrix version, binding its roles to parties.
    Adoption,
    /// Another party's acknowledgement, dispute or approval of an earlier entry.
    Cosign,
    /// The author's withdrawal of an earlier entry.
    Retraction,
    /// A signed, reasoned statement that an item does not apply in this ledger.
    Waiver,
    /// A duty holder has a third party perform an item (accountability stays).
    Delegation,
    /// A party's signature over the attestation digest of a period.
    Signoff,
    /// A signed checkpoint (C2SP signed note) of every entry before it (`FORMAT.md` §13).
    Checkpoint,
    /// A party replaces its key: signed by the old key, with the new key's proof of
    /// possession (`FORMAT.md` §14).
    KeyRotation,
    /// A party revokes one of its retired keys from a given time on (`FORMAT.md` §14).
    KeyRevocation,
    /// A management response to an exception: to an evidence entry, or to an item's duty
    /// in a period (format v2, `FORMAT.md` §4).
    Response,
}

impl Kind {
    /// The spelling in entry text.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Genesis => "genesis",
            Kind::Party => "party",
            Kind::Evidence => "evidence",
            Kind::Adoption => "adoption",
            Kind::Cosign => "cosign",
            Kind::Retraction => "retraction",
            Kind::Waiver => "waiver",
            Kind::Delegation => "delegation",
            Kind::Signoff => "signoff",
            Kind::Checkpoint => "checkpoint",
            Kind::KeyRotation => "key-rotation",
            Kind::KeyRevocation => "key-revocation",
            Kind::Response => "response",
        }
    }

    /// The first format version with this kind: a kind added later returns its version
    /// here, and is refused in older entries.
    pub fn since(self) -> Version {
        match self {
            Kind::Response => Version::V2,
            _ => Version::V1,
        }
    }

    /// Parse the spelling in entry text.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "genesis" => Kind::Genesis,
            "party" => Kind::Party,
            "evidence" => Kind::Evidence,
            "adoption" => Kind::Adoption,
            "cosign" => Kind::Cosign,
            "retraction" => Kind::Retraction,
            "waiver" => Kind::Waiver,
            "delegation" => Kind::Delegation,
            "signoff" => Kind::Signoff,
            "checkpoint" => Kind::Checkpoint,
            "key-rotation" => Kind::KeyRotation,
            "key-revocation" => Kind::KeyRevocation,
            "response" => Kind::Response,
            _ => return None,
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ledger id: 16 bytes, written as 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerId(pub [u8; 16]);

impl LedgerId {
    /// Parse 32 lowercase hex digits.
    pub fn parse(s: &str) -> Option<Self> {
        crate::crypto::decode_lower_hex::<16>(s.as_bytes()).map(Self)
    }
}

impl fmt::Display for LedgerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// The fields of an entry text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryHeader {
    /// The format version, from the first line.
    pub version: Version,
    /// The ledger this entry belongs to.
    pub ledger: LedgerId,
    /// Position in the ledger, from 1.
    pub seq: u64,
    /// SHA-256 of the previous entry's text (zeros for seq 1).
    pub prev: [u8; 32],
    /// Ledger time: when the entry was appended (UTC, whole seconds).
    pub time: DateTime<Utc>,
    /// What the payload is.
    pub kind: Kind,
    /// Fingerprint of the signing key.
    pub signer: Fingerprint,
    /// SHA-256 of the payload bytes.
    pub payload: [u8; 32],
}

/// Why an entry text did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line of the entry text.
    pub line: usize,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry text line {}: {}", self.line, self.what)
    }
}

/// Format a time the way entry texts and payloads spell it.
pub fn format_time(t: &DateTime<Utc>) -> String {
    use chrono::{Datelike as _, Timelike as _};
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Read a time an operator typed: RFC 3339 with any offset, or `YYYY-MM-DD` (midnight UTC),
/// as UTC with fractions of a second dropped (ledger times are whole seconds).
pub fn parse_input_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|n| n.and_utc());
    }
    DateTime::parse_from_rfc3339(s).ok().map(|t| {
        let u = t.with_timezone(&Utc);
        u - chrono::Duration::nanoseconds(i64::from(u.timestamp_subsec_nanos()))
    })
}

/// Parse a time spelt exactly as [`format_time`] writes it (`YYYY-MM-DDTHH:MM:SSZ`).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(5..7)?, num(8..10)?)?;
    // Fixed-width digits and range-checked fields: exactly one spelling per instant.
    Some(
        date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?
            .and_utc(),
    )
}

/// The value of line `line` (1-based) of an entry text that [`EntryHeader::parse`]
/// accepted, without its key: a cheap way to compare derived columns with the signed bytes.
pub fn raw_value(text: &[u8], line: usize) -> &[u8] {
    let l = text
        .split(|&c| c == b'\n')
        .nth(line - 1)
        .unwrap_or_default();
    match l.iter().position(|&c| c == b' ') {
        Some(i) => &l[i + 1..],
        None => l,
    }
}

impl EntryHeader {
    /// The exact bytes that are hashed and signed.
    pub fn encode(&self) -> String {
        format!(
            "{}\nledger: {}\nseq: {}\nprev: {}\ntime: {}\nkind: {}\nsigner: {}\npayload: {}\n",
            self.version.magic(),
            self.ledger,
            self.seq,
            hex::encode(self.prev),
            format_time(&self.time),
            self.kind,
            self.signer,
            hex::encode(self.payload),
        )
    }

    /// Parse entry text, accepting only the canonical spelling.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let err = |line: usize, what: &str| ParseError {
            line,
            what: what.to_string(),
        };
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(err(1, "entry text is longer than 512 bytes"));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| err(1, "entry text is not UTF-8"))?;
        let Some(body) = text.strip_suffix('\n') else {
            return Err(err(
                text.lines().count().max(1),
                "entry text must end with a newline",
            ));
        };
        // Exactly eight lines, split without allocating (this runs for every entry).
        let mut lines = [""; 8];
        let mut n = 0;
        for l in body.split('\n') {
            if n == 8 {
                n += 1;
                break;
            }
            lines[n] = l;
            n += 1;
        }
        if n != 8 {
            let count = body.split('\n').count();
            return Err(err(
                count.min(9),
                &format!("entry text has {count} lines, expected 8"),
            ));
        }
        let Some(version) = Version::from_magic(lines[0]) else {
            return Err(err(
                1,
                &format!(
                    "first line must be {MAGIC:?} or {MAGIC_V2:?} (a format version this vouch does not know is not read)"
                ),
            ));
        };
        let field = |i: usize, key: &str| -> Result<&str, ParseError> {
            lines[i]
                .strip_prefix(key)
                .and_then(|r| r.strip_prefix(": "))
                .ok_or_else(|| err(i + 1, &format!("expected \"{key}: \"")))
        };
        let ledger = LedgerId::parse(field(1, "ledger")?)
            .ok_or_else(|| err(2, "ledger id must be 32 lowercase hex digits"))?;
        let seq_s = field(2, "seq")?;
        let seq: u64 = if seq_s.is_empty()
            || !seq_s.bytes().all(|b| b.is_ascii_digit())
            || seq_s.starts_with('0')
            || seq_s.len() > 19
        {
            return Err(err(
                3,
                "seq must be a decimal number ≥ 1 without leading zeros",
            ));
        } else {
            seq_s.parse().map_err(|_| err(3, "seq out of range"))?
        };
        let prev = parse_hex32(field(3, "prev")?)
            .ok_or_else(|| err(4, "prev must be 64 lowercase hex digits"))?;
        let time = parse_time(field(4, "time")?)
            .ok_or_else(|| err(5, "time must be YYYY-MM-DDTHH:MM:SSZ"))?;
        let kind_s = field(5, "kind")?;
        let kind =
            Kind::parse(kind_s).ok_or_else(|| err(6, &format!("unknown kind {kind_s:?}")))?;
        if kind.since() > version {
            return Err(err(
                6,
                &format!(
                    "kind {kind_s:?} does not exist in {version} (it is new in {})",
                    kind.since()
                ),
            ));
        }
        let signer = Fingerprint::parse(field(6, "signer")?)
            .ok_or_else(|| err(7, "signer must be a 64-hex-digit key fingerprint"))?;
        let payload = parse_hex32(field(7, "payload")?)
            .ok_or_else(|| err(8, "payload must be 64 lowercase hex digits"))?;
        Ok(Self {
            version,
            ledger,
            seq,
            prev,
            time,
            kind,
            signer,
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> EntryHeader {
        EntryHeader {
            version: Version::V1,
            ledger: LedgerId([0x11; 16]),
            seq: 42,
            prev: [0xab; 32],
            time: parse_time("2026-10-05T10:00:03Z").unwrap(),
            kind: Kind::Evidence,
            signer: Fingerprint([0xcd; 32]),
            payload: [0xef; 32],
        }
    }

    #[test]
    fn time_spelling_is_strict() {
        assert!(parse_time("2026-02-28T23:59:59Z").is_some());
        for bad in [
            "2026-02-29T00:00:00Z",
            "2026-1-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01 00:00:00Z",
            "+026-01-01T00:00:00Z",
        ] {
            assert!(parse_time(bad).is_none(), "{bad}");
        }
        assert_eq!(
            raw_value(sample().encode().as_bytes(), 5),
            b"2026-10-05T10:00:03Z"
        );
    }

    #[test]
    fn round_trip() {
        let h = sample();
        let text = h.encode();
        assert_eq!(EntryHeader::parse(text.as_bytes()).unwrap(), h);
        assert!(text.starts_with("vouch/v1 entry\nledger: 1111"));
    }

    #[test]
    fn key_history_kinds_round_trip() {
        for (k, s) in [
            (Kind::KeyRotation, "key-rotation"),
            (Kind::KeyRevocation, "key-revocation"),
        ] {
            assert_eq!(k.as_str(), s);
            assert_eq!(Kind::parse(s), Some(k));
            let mut h = sample();
            h.kind = k;
            let text = h.encode();
            assert!(text.contains(&format!("\nkind: {s}\n")));
            assert_eq!(EntryHeader::parse(text.as_bytes()).unwrap(), h);
        }
        assert_eq!(Kind::parse("key_rotation"), None);
    }

    #[test]
    fn rejects_every_other_spelling() {
        let text = sample().encode();
        for bad in [
            text.replace("seq: 42", "seq: 042"),
            text.replace("seq: 42", "seq:42"),
            text.replace('\n', "\r\n"),
            text.replace("abab", "ABAB"),
            text.replace("10:00:03Z", "10:00:03+00:00"),
            text.trim_end().to_string(),
            format!("{text}extra: 1\n"),
            text.replace("kind: evidence", "kind: bogus"),
        ] {
            assert!(
                EntryHeader::parse(bad.as_bytes()).is_err(),
                "accepted {bad:?}"
            );
        }
    }
}
