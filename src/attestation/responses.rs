//! Management responses to exceptions (`schema/FORMAT.md` §4 `response`), as the report
//! shows them: beside each exception, the latest response of each party that names one of
//! its evidence entries, or its item for the report's period. Responses never change a
//! status; a retracted response is not shown.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::error::{Error, Result};
use crate::format::entry::{Kind, format_time};
use crate::format::payload::{self, ResponsePayload, RetractionPayload};
use crate::ledger::Ledger;
use crate::period::Period;

/// One response, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseRow {
    /// The response entry.
    pub seq: u64,
    /// The responding party.
    pub party: String,
    /// Its ledger time.
    pub time: String,
    /// The evidence entry it answers (absent: it answers the item's duty in the period).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<u64>,
    /// What it says.
    pub text: String,
}

/// The responses of a ledger up to a head, by what they answer.
#[derive(Debug, Default)]
pub struct Responses {
    by_entry: HashMap<u64, Vec<ResponseRow>>,
    by_item: HashMap<String, Vec<ResponseRow>>,
}

impl Responses {
    /// Read the responses up to entry `upto` that are not retracted (by then): those naming
    /// an evidence entry, and those naming an item for exactly `period`. `party_of` maps a
    /// key fingerprint to its party.
    pub fn read(
        ledger: &Ledger,
        party_of: &HashMap<String, String>,
        period: &Period,
        upto: u64,
    ) -> Result<Self> {
        let mut retracted = HashSet::new();
        for e in ledger.entries_of_kind(Kind::Retraction, Some(upto))? {
            let seq = e.seq();
            let r: RetractionPayload =
                payload::decode(&e.payload).map_err(|m| Error::new(format!("entry {seq}: {m}")))?;
            retracted.insert(r.entry);
        }
        let (from, to) = (period.from.to_string(), period.to.to_string());
        let mut out = Responses::default();
        for e in ledger.entries_of_kind(Kind::Response, Some(upto))? {
            let seq = e.seq();
            if retracted.contains(&seq) {
                continue;
            }
            let r: ResponsePayload =
                payload::decode(&e.payload).map_err(|m| Error::new(format!("entry {seq}: {m}")))?;
            let row = ResponseRow {
                seq,
                party: party_of
                    .get(&e.header.signer.to_string())
                    .cloned()
                    .unwrap_or_default(),
                time: format_time(&e.header.time),
                entry: r.entry,
                text: r.text,
            };
            match (r.entry, r.item, r.period) {
                (Some(target), ..) => out.by_entry.entry(target).or_default().push(row),
                (None, Some(item), Some(p)) if p.from == from && p.to == to => {
                    out.by_item.entry(item).or_default().push(row);
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The responses beside an exception of `item` whose evidence (counted or flagged) is
    /// `evidence`: the latest of each party, oldest first.
    pub fn for_exception(
        &self,
        item: &str,
        evidence: impl Iterator<Item = u64>,
    ) -> Vec<ResponseRow> {
        let mut latest: BTreeMap<&str, &ResponseRow> = BTreeMap::new();
        let rows = evidence
            .filter_map(|s| self.by_entry.get(&s))
            .chain(self.by_item.get(item))
            .flatten();
        for row in rows {
            if latest
                .get(row.party.as_str())
                .is_none_or(|l| l.seq < row.seq)
            {
                latest.insert(&row.party, row);
            }
        }
        let mut out: Vec<ResponseRow> = latest.into_values().cloned().collect();
        out.sort_by_key(|r| r.seq);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: u64, party: &str, entry: Option<u64>) -> ResponseRow {
        ResponseRow {
            seq,
            party: party.into(),
            time: String::new(),
            entry,
            text: format!("r{seq}"),
        }
    }

    #[test]
    fn latest_of_each_party_beside_the_exception() {
        let mut r = Responses::default();
        r.by_entry
            .insert(7, vec![row(10, "acme", Some(7)), row(12, "acme", Some(7))]);
        r.by_entry.insert(8, vec![row(11, "cloud", Some(8))]);
        r.by_item.insert(
            "a.b".into(),
            vec![row(9, "cloud", None), row(13, "x", None)],
        );
        let got: Vec<u64> = r
            .for_exception("a.b", [7, 8].into_iter())
            .iter()
            .map(|x| x.seq)
            .collect();
        assert_eq!(got, vec![11, 12, 13]);
        assert!(r.for_exception("c.d", [9].into_iter()).is_empty());
        let only_item: Vec<u64> = r
            .for_exception("a.b", std::iter::empty())
            .iter()
            .map(|x| x.seq)
            .collect();
        assert_eq!(only_item, vec![9, 13]);
    }
}
