//! A reporting period: the whole UTC days `[from, to]` that a status, an attestation, a
//! report or a bundle is about.
//!
//! On the command line (`--period`) and in report stamps a period is written `2026-Q3` (a
//! quarter), `2026-07` (a month), `2026` (a year) or `2026-07-01..2026-08-15` (two dates,
//! both included); [`Period::name`] gives the shortest of these spellings back, as a
//! report stamp carries it (`schema/FORMAT.md` §17.1). The attestation carries the two
//! dates (§11).
//!
//! What people type goes through [`Period::parse_input`] or [`Period::between`], which say
//! what is wrong (dates reversed, a period longer than [`MAX_YEARS`]); [`Period::parse`]
//! reads back what vouch wrote.

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::Serialize;

use crate::error::{Error, Result};

/// The longest period a status, attestation or report covers, in years: a longer one is a
/// typo (`--to 9999-12-31`), and its windows would take the status engine a long time.
pub const MAX_YEARS: u32 = 10;

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

    /// Parse a period typed by a person: what [`Period::parse`] reads, with an error that
    /// says what is wrong, and no longer than [`MAX_YEARS`].
    ///
    /// # Errors
    ///
    /// Text that is not a period, dates reversed, a period too long.
    pub fn parse_input(s: &str) -> Result<Period> {
        let unreadable = || {
            Error::new(format!("cannot read the period {s:?}"))
                .hint("use 2026-Q3, 2026-07, 2026, or --from 2026-07-01 --to 2026-09-30")
        };
        if let Some((a, b)) = s.split_once("..") {
            let date = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| unreadable());
            return Period::between(date(a)?, date(b)?);
        }
        let p = Period::parse(s).ok_or_else(unreadable)?;
        Period::between(p.from, p.to)
    }

    /// The period from `from` to `to`, both included.
    ///
    /// # Errors
    ///
    /// `to` before `from` (the dates are reversed), or a period longer than [`MAX_YEARS`].
    pub fn between(from: NaiveDate, to: NaiveDate) -> Result<Period> {
        if to < from {
            return Err(Error::new(format!(
                "the period's dates are reversed: {from} is after {to}"
            ))
            .hint(format!(
                "give the earlier date first: --from {to} --to {from} (or {to}..{from})"
            )));
        }
        // No date ten years on (the end of the calendar): the period is shorter.
        let limit = from.checked_add_months(Months::new(12 * MAX_YEARS));
        if limit.is_some_and(|l| to >= l) {
            let days = (to - from).num_days() + 1;
            return Err(Error::new(format!(
                "the period {from}..{to} is {days} days long; vouch covers at most {MAX_YEARS} years"
            ))
            .hint("choose a shorter period: a year (--period 2026), a quarter (2026-Q3) or dates at most ten years apart"));
        }
        Ok(Period { from, to })
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

    #[test]
    fn input_periods_are_ordered_and_bounded() {
        assert_eq!(Period::parse_input("2026-Q3").unwrap(), q3());
        let ten = Period::parse_input("2020-01-01..2029-12-31").unwrap();
        assert_eq!(ten.to.to_string(), "2029-12-31");
        let e = Period::parse_input("2020-01-01..2030-01-01").unwrap_err();
        assert_eq!(
            e.message(),
            "the period 2020-01-01..2030-01-01 is 3654 days long; vouch covers at most 10 years"
        );
        let e = Period::parse_input("0001-01-01..9999-12-31").unwrap_err();
        assert!(e.message().contains("at most 10 years"), "{}", e.message());
        let e = Period::parse_input("2026-09-01..2026-01-01").unwrap_err();
        assert_eq!(
            e.message(),
            "the period's dates are reversed: 2026-09-01 is after 2026-01-01"
        );
        assert!(
            e.hint_text()
                .unwrap()
                .contains("--from 2026-01-01 --to 2026-09-01")
        );
        let e = Period::parse_input("2026-09-01..x").unwrap_err();
        assert_eq!(e.message(), r#"cannot read the period "2026-09-01..x""#);
        // The end of the calendar: no ten years after it, still a short period.
        assert!(Period::parse_input("9999-Q4").is_ok());
        assert!(Period::parse_input("9999-12-31..9999-12-31").is_ok());
    }
}
