//! A reporting period: the whole UTC days `[from, to]` that a status, an attestation, a
//! report or a bundle is about.
//!
//! On the command line (`--period`) and in report stamps a period is written `2026-Q3` (a
//! quarter), `2026-07` (a month), `2026` (a year) or `2026-07-01..2026-08-15` (two dates,
//! both included); [`Period::name`] gives the shortest of these spellings back, as a
//! report stamp carries it (`schema/FORMAT.md` §17.1). The attestation carries the two
//! dates (§11).

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::Serialize;

/// A reporting period: `[from, to]`, whole UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Period {
    /// First day.
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
}

impl Period {
    /// Parse `2026-Q3`, `2026-07` (a month), `2026` (a year), or `YYYY-MM-DD..YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Period> {
        let date = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1);
        let last_before = |d: NaiveDate| d.pred_opt();
        if let Some((a, b)) = s.split_once("..") {
            let from = NaiveDate::parse_from_str(a, "%Y-%m-%d").ok()?;
            let to = NaiveDate::parse_from_str(b, "%Y-%m-%d").ok()?;
            return (from <= to).then_some(Period { from, to });
        }
        if let Some((y, q)) = s.split_once("-Q") {
            let y: i32 = y.parse().ok()?;
            let q: u32 = q.parse().ok()?;
            if !(1..=4).contains(&q) || y < 1 {
                return None;
            }
            let from = date(y, 3 * q - 2)?;
            let to = last_before(from.checked_add_months(Months::new(3))?)?;
            return Some(Period { from, to });
        }
        if s.len() == 7 {
            let from = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok()?;
            let to = last_before(from.checked_add_months(Months::new(1))?)?;
            return Some(Period { from, to });
        }
        if s.len() == 4 {
            let y: i32 = s.parse().ok()?;
            let from = date(y, 1)?;
            return Some(Period {
                from,
                to: date(y, 12)?
                    .checked_add_months(Months::new(1))?
                    .pred_opt()?,
            });
        }
        None
    }

    /// Start instant.
    pub fn start(&self) -> DateTime<Utc> {
        self.from
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc())
            .unwrap_or_default()
    }

    /// End instant (exclusive): midnight after the last day.
    pub fn end(&self) -> DateTime<Utc> {
        self.to
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .unwrap_or_default()
    }

    /// The shortest spelling [`Period::parse`] reads back: `2026-Q3`, `2026-07`, `2026`, or
    /// `2026-07-01..2026-08-15`.
    pub fn name(&self) -> String {
        use chrono::Datelike as _;
        let (y, m) = (self.from.year(), self.from.month());
        let candidates = [
            format!("{y:04}"),
            format!("{y:04}-Q{}", m.div_ceil(3)),
            format!("{y:04}-{m:02}"),
        ];
        candidates
            .into_iter()
            .find(|c| Period::parse(c).as_ref() == Some(self))
            .unwrap_or_else(|| format!("{}..{}", self.from, self.to))
    }

    /// A name for file names: [`Period::name`] with `..` written `_`.
    pub fn label(&self) -> String {
        self.name().replace("..", "_")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::entry::parse_time;

    fn t(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    fn q3() -> Period {
        Period::parse("2026-Q3").unwrap()
    }

    #[test]
    fn periods() {
        assert_eq!(q3().from.to_string(), "2026-07-01");
        assert_eq!(q3().to.to_string(), "2026-09-30");
        assert_eq!(
            Period::parse("2026-02").unwrap().to.to_string(),
            "2026-02-28"
        );
        assert_eq!(Period::parse("2026").unwrap().to.to_string(), "2026-12-31");
        assert_eq!(
            Period::parse("2026-01-05..2026-01-06").unwrap().end(),
            t("2026-01-07T00:00:00Z")
        );
        for bad in ["2026-Q5", "2026-13", "x", "2026-09-01..2026-08-01"] {
            assert!(Period::parse(bad).is_none(), "{bad}");
        }
    }
}
