//! The status engine: for every matrix item and every duty holder, what the ledger shows
//! for a period.
//!
//! [`compute`] is a pure function of (entries, matrix, adoption, period, as-of time): no
//! clock, no I/O, so every status and edge is unit-tested. [`Facts`] gathers the entries in
//! one pass; the caller feeds it from the ledger (see `status_ledger::from_ledger`). Rules, from
//! DESIGN.md and `schema/MATRIX.md` ("Cadence windows"):
//!
//! - a cadence cuts the period into windows starting at the period start; evidence counts
//!   for the window it was performed in, or, when that window has none of its own, for the
//!   window whose grace days it falls in;
//! - a window is *due* once its end plus grace days has passed at the as-of time;
//! - a duty's status: no evidence at all → missing; else any window whose latest evidence
//!   failed (nothing later passed) → failed; else any window whose passing evidence is
//!   disputed → disputed; else any due window without evidence → overdue; else fulfilled.
//!   An effective waiver makes it not applicable; an item without duty holders is
//!   informational.

use chrono::{DateTime, Days, Months, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::format::payload::{Outcome, Verdict};
use crate::matrix::{Item, Matrix, RoleId};
use crate::period::Period;

/// Evidence recorded more than this long after it was performed is flagged late-recorded.
pub const LATE_AFTER_DAYS: i64 = 7;

/// The status of one duty for the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Evidence by the responsible party covers every window.
    Fulfilled,
    /// Some evidence, but a due window has none.
    Overdue,
    /// A window's latest evidence failed and nothing later passed.
    Failed,
    /// The counterparty disputes the evidence that would fulfil it.
    Disputed,
    /// No evidence at all in the period.
    Missing,
    /// A signed, reasoned waiver.
    NotApplicable,
    /// Nothing to prove: no duty holder.
    Informational,
}

impl Status {
    /// All statuses, in report order.
    pub const ALL: [Status; 7] = [
        Status::Fulfilled,
        Status::Overdue,
        Status::Failed,
        Status::Disputed,
        Status::Missing,
        Status::NotApplicable,
        Status::Informational,
    ];

    /// The spelling in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fulfilled => "fulfilled",
            Status::Overdue => "overdue",
            Status::Failed => "failed",
            Status::Disputed => "disputed",
            Status::Missing => "missing",
            Status::NotApplicable => "not-applicable",
            Status::Informational => "informational",
        }
    }
}

/// One evidence entry, as the engine needs it (strings owned, or borrowed from the rows
/// being streamed).
#[derive(Debug, Clone)]
pub struct Evidence<S = String> {
    /// Sequence number.
    pub seq: u64,
    /// Signing party.
    pub party: S,
    /// Matrix item.
    pub item: S,
    /// Outcome.
    pub outcome: Outcome,
    /// Claimed performance time.
    pub performed_at: DateTime<Utc>,
    /// Ledger time.
    pub recorded_at: DateTime<Utc>,
    /// Recorded as supporting evidence: it fulfils nobody's duty.
    pub supporting: bool,
    /// Signed by a key at or after the time its party later revoked it from
    /// (`FORMAT.md` §14): it does not count.
    pub signed_by_revoked_key: bool,
}

/// A co-signature.
#[derive(Debug, Clone)]
pub struct Cosign {
    /// Its own sequence number.
    pub seq: u64,
    /// Signing party.
    pub party: String,
    /// The entry it refers to.
    pub target: u64,
    /// What it says.
    pub verdict: Verdict,
}

/// Everything the engine reads from a ledger besides evidence (small: co-signatures,
/// retractions, waivers and delegations are few). Evidence is streamed into [`Engine::add`].
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Co-signatures, in ledger order.
    pub cosigns: Vec<Cosign>,
    /// Retracted entry numbers.
    pub retracted: BTreeSet<u64>,
    /// Waivers: (seq, party, item).
    pub waivers: Vec<(u64, String, String)>,
    /// Delegations: (party, item, to).
    pub delegations: Vec<(String, String, String)>,
}

/// The adoption the report is built on.
#[derive(Debug, Clone)]
pub struct Adoption {
    /// Its sequence number.
    pub seq: u64,
    /// Its ledger time.
    pub time: DateTime<Utc>,
    /// Role → party.
    pub bindings: BTreeMap<RoleId, String>,
    /// Selected variants.
    pub variants: Vec<String>,
}

/// One cadence window of a duty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    /// First day.
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// Whether it is due at the as-of time (end + grace passed).
    pub due: bool,
    /// `ok`, `failed`, `disputed`, `empty` (due, no evidence) or `pending` (not yet due).
    pub state: &'static str,
    /// Evidence counted for it.
    pub evidence: Vec<u64>,
}

/// The status of one duty holder for one item.
#[derive(Debug, Clone, Serialize)]
pub struct Duty {
    /// Role id.
    pub role: &'static str,
    /// Bound party (empty when the role is not bound).
    pub party: String,
    /// RACI letters of the role.
    pub raci: String,
    /// Status.
    pub status: Status,
    /// Windows.
    pub windows: Vec<Window>,
    /// Evidence counted, in ledger order.
    pub evidence: Vec<u64>,
    /// Last performed date of counted evidence.
    pub last_performed: Option<String>,
    /// Flags: `late-recorded:SEQ`, `retracted:SEQ`, `supporting-only`, `before-adoption:SEQ`,
    /// `delegated-to:PARTY`, `dispute-resolved:SEQ`, `waived:SEQ`,
    /// `signed-by-revoked-key:SEQ` (evidence that does not count: its key was revoked).
    pub flags: Vec<String>,
}

/// One item's statuses.
#[derive(Debug, Clone, Serialize)]
pub struct ItemStatus {
    /// Item id.
    pub id: String,
    /// Section id.
    pub section: String,
    /// Activity.
    pub activity: String,
    /// One per duty holder; one `informational` line when there is none.
    pub duties: Vec<Duty>,
}

/// The whole result.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// The period.
    pub period: Period,
    /// The as-of time.
    pub as_of: String,
    /// Items, in matrix order.
    pub items: Vec<ItemStatus>,
    /// Party → status → count.
    pub summary: BTreeMap<String, BTreeMap<&'static str, u64>>,
}

fn day(t: DateTime<Utc>) -> NaiveDate {
    t.date_naive()
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0)
        .map(|x| x.and_utc())
        .unwrap_or_default()
}

/// The windows `[start, end)` of a cadence over a period.
/// A window `[start, end)`.
type Span = (DateTime<Utc>, DateTime<Utc>);

fn windows(item: &Item, period: &Period) -> Vec<Span> {
    let (start, end) = (period.start(), period.end());
    let Some((months, days)) = item.cadence.as_ref().and_then(|c| c.step()) else {
        return vec![(start, end)];
    };
    if months == 0 && days == 0 {
        return vec![(start, end)];
    }
    let mut out = Vec::new();
    let mut k: u32 = 0;
    loop {
        let ws = period
            .from
            .checked_add_months(Months::new(months * k))
            .and_then(|d| d.checked_add_days(Days::new(u64::from(days * k))));
        let we = period
            .from
            .checked_add_months(Months::new(months * (k + 1)))
            .and_then(|d| d.checked_add_days(Days::new(u64::from(days * (k + 1)))));
        let (Some(ws), Some(we)) = (ws, we) else {
            break;
        };
        let (ws, we) = (midnight(ws), midnight(we).min(end));
        if ws >= end {
            break;
        }
        out.push((ws, we));
        k += 1;
        if out.len() > 10_000 {
            break;
        }
    }
    out
}

/// Disputes still open on an entry: is any other party's latest verdict a dispute, and
/// which later co-signatures resolved a dispute.
fn dispute_state(cosigns: &[&Cosign]) -> (bool, Vec<u64>) {
    let mut last: HashMap<&str, Verdict> = HashMap::new();
    let mut resolved = Vec::new();
    for c in cosigns {
        if last.get(c.party.as_str()) == Some(&Verdict::Dispute) && c.verdict != Verdict::Dispute {
            resolved.push(c.seq);
        }
        last.insert(&c.party, c.verdict);
    }
    (last.values().any(|v| *v == Verdict::Dispute), resolved)
}

/// How many evidence numbers and flags of one kind a duty lists (the rest are counted).
const LIST_CAP: usize = 20;

/// What one window has seen of one party's evidence for one item.
#[derive(Debug, Clone, Default)]
struct WinAcc {
    n: u64,
    latest: Option<(DateTime<Utc>, u64, Outcome)>,
    undisputed_pass: bool,
    disputed_pass: bool,
    seqs: Vec<u64>,
}

impl WinAcc {
    fn add<S>(&mut self, e: &Evidence<S>, disputed: bool) {
        self.n += 1;
        if self
            .latest
            .is_none_or(|(t, s, _)| (e.performed_at, e.seq) > (t, s))
        {
            self.latest = Some((e.performed_at, e.seq, e.outcome));
        }
        if e.outcome == Outcome::Pass {
            if disputed {
                self.disputed_pass = true;
            } else {
                self.undisputed_pass = true;
            }
        }
        if self.seqs.len() < LIST_CAP {
            self.seqs.push(e.seq);
        }
    }

    fn merge(&mut self, o: &WinAcc) {
        self.n += o.n;
        if let Some(l) = o.latest
            && self.latest.is_none_or(|(t, s, _)| (l.0, l.1) > (t, s))
        {
            self.latest = Some(l);
        }
        self.undisputed_pass |= o.undisputed_pass;
        self.disputed_pass |= o.disputed_pass;
        self.seqs.extend(o.seqs.iter().copied());
        self.seqs.sort_unstable();
        self.seqs.truncate(LIST_CAP);
    }
}

/// One party's evidence for one item, per window.
#[derive(Debug, Clone, Default)]
struct DutyAcc {
    own: Vec<WinAcc>,
    grace: Vec<WinAcc>,
    total: u64,
    last_performed: Option<DateTime<Utc>>,
    late: Vec<u64>,
    before_adoption: Vec<u64>,
    retracted: Vec<u64>,
    resolved: Vec<u64>,
    revoked: Vec<u64>,
}

/// The streaming status engine: feed evidence with [`Engine::add`] in any order, then
/// [`Engine::finish`]. Memory is bounded by items × parties × windows, not by the ledger.
pub struct Engine<'a> {
    matrix: &'a Matrix,
    adoption: &'a Adoption,
    facts: &'a Facts,
    period: Period,
    as_of: DateTime<Utc>,
    windows: HashMap<&'a str, Vec<Span>>,
    grace: HashMap<&'a str, chrono::Duration>,
    cosigns_of: HashMap<u64, Vec<&'a Cosign>>,
    acc: HashMap<String, HashMap<String, DutyAcc>>,
}

impl<'a> Engine<'a> {
    /// An engine for one matrix, adoption and period.
    pub fn new(
        matrix: &'a Matrix,
        adoption: &'a Adoption,
        facts: &'a Facts,
        period: Period,
        as_of: DateTime<Utc>,
    ) -> Self {
        let mut cosigns_of: HashMap<u64, Vec<&Cosign>> = HashMap::new();
        for c in &facts.cosigns {
            cosigns_of.entry(c.target).or_default().push(c);
        }
        for v in cosigns_of.values_mut() {
            v.sort_by_key(|c| c.seq);
        }
        let windows = matrix
            .items
            .iter()
            .map(|i| (i.id.as_str(), windows(i, &period)))
            .collect();
        let grace = matrix
            .items
            .iter()
            .map(|i| {
                (
                    i.id.as_str(),
                    chrono::Duration::days(i64::from(i.grace_days)),
                )
            })
            .collect();
        Self {
            matrix,
            adoption,
            facts,
            period,
            as_of,
            windows,
            grace,
            cosigns_of,
            acc: HashMap::new(),
        }
    }

    fn cosigns(&self, seq: u64) -> &[&'a Cosign] {
        self.cosigns_of.get(&seq).map_or(&[][..], Vec::as_slice)
    }

    /// Take one evidence entry into account.
    pub fn add<S: AsRef<str>>(&mut self, e: &Evidence<S>) {
        let (item, party) = (e.item.as_ref(), e.party.as_ref());
        let (Some(wins), Some(grace)) = (self.windows.get(item), self.grace.get(item)) else {
            return; // not an item of this matrix
        };
        let (start, end) = (self.period.start(), self.period.end());
        if e.performed_at < start || e.performed_at >= end + *grace {
            return;
        }
        let (disputed, resolved) = dispute_state(self.cosigns(e.seq));
        // Supporting evidence is kept apart under a name no party id can have (ids have no
        // ':'), so it shows as "supporting-only" but fulfils nothing.
        let supporting;
        let who = if e.supporting {
            supporting = format!("supporting:{party}");
            supporting.as_str()
        } else {
            party
        };
        let by_party = match self.acc.get_mut(item) {
            Some(m) => m,
            None => self.acc.entry(item.to_string()).or_default(),
        };
        let n = wins.len();
        let acc = match by_party.get_mut(who) {
            Some(a) => a,
            None => by_party.entry(who.to_string()).or_insert_with(|| DutyAcc {
                own: vec![WinAcc::default(); n],
                grace: vec![WinAcc::default(); n],
                ..DutyAcc::default()
            }),
        };
        if self.facts.retracted.contains(&e.seq) {
            if acc.retracted.len() < LIST_CAP {
                acc.retracted.push(e.seq);
            }
            return;
        }
        if e.signed_by_revoked_key {
            if acc.revoked.len() < LIST_CAP {
                acc.revoked.push(e.seq);
            }
            return;
        }
        acc.total += 1;
        let k = wins.partition_point(|(ws, _)| *ws <= e.performed_at);
        if k > 0 && e.performed_at < wins[k - 1].1 {
            acc.own[k - 1].add(e, disputed);
        }
        // Evidence inside a window's grace days may stand in for that window.
        let prev = if k > 0 && e.performed_at < wins[k - 1].1 {
            k.checked_sub(2)
        } else {
            k.checked_sub(1)
        };
        if let Some(p) = prev
            && e.performed_at >= wins[p].1
            && e.performed_at < wins[p].1 + *grace
        {
            acc.grace[p].add(e, disputed);
        }
        if (e.recorded_at - e.performed_at).num_days() > LATE_AFTER_DAYS
            && acc.late.len() < LIST_CAP
        {
            acc.late.push(e.seq);
        }
        if e.seq < self.adoption.seq && acc.before_adoption.len() < LIST_CAP {
            acc.before_adoption.push(e.seq);
        }
        if acc.resolved.len() < LIST_CAP {
            acc.resolved.extend(resolved);
        }
        if acc.last_performed.is_none_or(|l| e.performed_at > l) {
            acc.last_performed = Some(e.performed_at);
        }
    }

    /// Every item's status.
    pub fn finish(self) -> StatusReport {
        let mut items = Vec::new();
        let mut summary: BTreeMap<String, BTreeMap<&'static str, u64>> = BTreeMap::new();
        for item in self
            .matrix
            .items
            .iter()
            .filter(|i| i.applies(&self.adoption.variants))
        {
            let duties = self.item_duties(item);
            for d in &duties {
                let who = if d.party.is_empty() {
                    "(none)".to_string()
                } else {
                    d.party.clone()
                };
                *summary
                    .entry(who)
                    .or_default()
                    .entry(d.status.as_str())
                    .or_default() += 1;
            }
            items.push(ItemStatus {
                id: item.id.clone(),
                section: item.section.clone(),
                activity: item.activity.clone(),
                duties,
            });
        }
        StatusReport {
            period: self.period,
            as_of: crate::format::entry::format_time(&self.as_of),
            items,
            summary,
        }
    }

    fn item_duties(&self, item: &Item) -> Vec<Duty> {
        let holders = item.duty_holders();
        if holders.is_empty() {
            return vec![Duty {
                role: "",
                party: String::new(),
                raci: String::new(),
                status: Status::Informational,
                windows: Vec::new(),
                evidence: Vec::new(),
                last_performed: None,
                flags: Vec::new(),
            }];
        }
        let bound: Vec<&String> = self.adoption.bindings.values().collect();
        let waiver = self.facts.waivers.iter().find(|(seq, party, it)| {
            it == &item.id
                && !self.facts.retracted.contains(seq)
                && bound.contains(&party)
                && !dispute_state(self.cosigns(*seq)).0
        });
        let wins = self
            .windows
            .get(item.id.as_str())
            .cloned()
            .unwrap_or_default();
        let grace = self
            .grace
            .get(item.id.as_str())
            .copied()
            .unwrap_or_default();
        let mut out = Vec::new();
        for role in holders {
            let party = self
                .adoption
                .bindings
                .get(&role)
                .cloned()
                .unwrap_or_default();
            let raci = item
                .raci
                .get(&role)
                .map(ToString::to_string)
                .unwrap_or_default();
            let mut flags = Vec::new();
            if let Some((seq, _, _)) = waiver {
                flags.push(format!("waived:{seq}"));
                out.push(Duty {
                    role: role.as_str(),
                    party,
                    raci,
                    status: Status::NotApplicable,
                    windows: Vec::new(),
                    evidence: Vec::new(),
                    last_performed: None,
                    flags,
                });
                continue;
            }
            out.push(self.role_duty(item, role, party, raci, &wins, grace));
        }
        out
    }

    /// The duty of one bound role that is not waived: its party's (and delegates') evidence
    /// judged window by window, and its flags.
    fn role_duty(
        &self,
        item: &Item,
        role: RoleId,
        party: String,
        raci: String,
        wins: &[Span],
        grace: chrono::Duration,
    ) -> Duty {
        let mut flags = Vec::new();
        let delegates: Vec<&str> = self
            .facts
            .delegations
            .iter()
            .filter(|(from, it, _)| from == &party && it == &item.id)
            .map(|(_, _, to)| to.as_str())
            .collect();
        let (mut acc, others) = self.merged_acc(item, &party, &delegates, wins.len());
        for d in &delegates {
            flags.push(format!("delegated-to:{d}"));
        }
        let (windows_out, evidence, status) = self.judge_windows(&acc, wins, grace);
        let list = |name: &str, v: &mut Vec<u64>, flags: &mut Vec<String>| {
            v.sort_unstable();
            v.dedup();
            flags.extend(v.iter().take(LIST_CAP).map(|s| format!("{name}:{s}")));
        };
        list("late-recorded", &mut acc.late, &mut flags);
        list("before-adoption", &mut acc.before_adoption, &mut flags);
        list("retracted", &mut acc.retracted, &mut flags);
        list("dispute-resolved", &mut acc.resolved, &mut flags);
        list("signed-by-revoked-key", &mut acc.revoked, &mut flags);
        if acc.total == 0 && others {
            flags.push("supporting-only".into());
        }
        Duty {
            role: role.as_str(),
            party,
            raci,
            status,
            windows: windows_out,
            evidence: evidence.into_iter().take(LIST_CAP).collect(),
            last_performed: acc.last_performed.map(|t| t.date_naive().to_string()),
            flags,
        }
    }

    /// The evidence of a party and its delegates for an item, merged window by window; and
    /// whether any other party recorded evidence for it.
    fn merged_acc(
        &self,
        item: &Item,
        party: &str,
        delegates: &[&str],
        n: usize,
    ) -> (DutyAcc, bool) {
        let mut acc = DutyAcc {
            own: vec![WinAcc::default(); n],
            grace: vec![WinAcc::default(); n],
            ..DutyAcc::default()
        };
        let mut others = false;
        for (p, a) in self.acc.get(item.id.as_str()).into_iter().flatten() {
            if p == party || delegates.contains(&p.as_str()) {
                for (x, y) in acc.own.iter_mut().zip(&a.own) {
                    x.merge(y);
                }
                for (x, y) in acc.grace.iter_mut().zip(&a.grace) {
                    x.merge(y);
                }
                acc.total += a.total;
                acc.late.extend(&a.late);
                acc.before_adoption.extend(&a.before_adoption);
                acc.retracted.extend(&a.retracted);
                acc.resolved.extend(&a.resolved);
                acc.revoked.extend(&a.revoked);
                if let Some(l) = a.last_performed
                    && acc.last_performed.is_none_or(|m| l > m)
                {
                    acc.last_performed = Some(l);
                }
            } else if a.total > 0 {
                others = true;
            }
        }
        (acc, others)
    }

    /// Each window's state at the as-of time, the evidence counted, and the duty's status.
    fn judge_windows(
        &self,
        acc: &DutyAcc,
        wins: &[Span],
        grace: chrono::Duration,
    ) -> (Vec<Window>, BTreeSet<u64>, Status) {
        let mut windows_out = Vec::new();
        let mut evidence: BTreeSet<u64> = BTreeSet::new();
        let (mut failed, mut disputed, mut overdue) = (false, false, false);
        for (k, (ws, we)) in wins.iter().enumerate() {
            let w = if acc.own[k].n > 0 {
                &acc.own[k]
            } else {
                &acc.grace[k]
            };
            let due = *we + grace <= self.as_of;
            let state = match w.latest {
                None if due => {
                    overdue = true;
                    "empty"
                }
                None => "pending",
                Some((_, _, o)) if o != Outcome::Pass => {
                    failed = true;
                    "failed"
                }
                Some(_) if w.undisputed_pass => "ok",
                Some(_) => {
                    disputed = true;
                    "disputed"
                }
            };
            evidence.extend(&w.seqs);
            windows_out.push(Window {
                from: day(*ws),
                to: day(*we - chrono::Duration::seconds(1)),
                due,
                state,
                evidence: w.seqs.clone(),
            });
        }
        let status = if acc.total == 0 {
            Status::Missing
        } else if failed {
            Status::Failed
        } else if disputed {
            Status::Disputed
        } else if overdue {
            Status::Overdue
        } else {
            Status::Fulfilled
        };
        (windows_out, evidence, status)
    }
}

/// Compute every item's status from evidence held in memory (tests, small ledgers).
pub fn compute(
    matrix: &Matrix,
    adoption: &Adoption,
    facts: &Facts,
    evidence: &[Evidence],
    period: &Period,
    as_of: DateTime<Utc>,
) -> StatusReport {
    let mut engine = Engine::new(matrix, adoption, facts, *period, as_of);
    for e in evidence {
        engine.add(e);
    }
    engine.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::entry::parse_time;
    use crate::ledger::evidence::parse_performed_at;

    const M: &str = r#"
[matrix]
id = "t"
title = "T"
version = "1"
source = "test"
effective = "2026-01-01"

[roles.provider]
name = "P"
[roles.customer]
name = "C"

[[sections]]
id = "s"
title = "S"

[[items]]
id = "s.monthly"
section = "s"
activity = "monthly duty"
raci = { customer = "RA", provider = "I" }
cadence = "monthly"
grace_days = 7
evidence_kinds = ["patch-run"]

[[items]]
id = "s.quarterly"
section = "s"
activity = "quarterly duty"
raci = { customer = "RA" }
cadence = "quarterly"
evidence_kinds = ["restore-test"]

[[items]]
id = "s.info"
section = "s"
activity = "informed only"
raci = { customer = "I", provider = "C" }

[[items]]
id = "s.shared"
section = "s"
activity = "shared duty"
raci = { customer = "R", provider = "RA" }
cadence = "quarterly"
evidence_kinds = ["attestation"]
"#;

    fn t(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    fn q3() -> Period {
        Period::parse("2026-Q3").unwrap()
    }

    fn adoption() -> Adoption {
        let mut bindings = BTreeMap::new();
        bindings.insert(RoleId::Provider, "prov".to_string());
        bindings.insert(RoleId::Customer, "cust".to_string());
        Adoption {
            seq: 10,
            time: t("2026-06-01T00:00:00Z"),
            bindings,
            variants: vec![],
        }
    }

    fn ev(seq: u64, party: &str, item: &str, outcome: Outcome, performed: &str) -> Evidence {
        let p = t(performed);
        Evidence {
            seq,
            party: party.into(),
            item: item.into(),
            outcome,
            performed_at: p,
            recorded_at: p + chrono::Duration::hours(1),
            supporting: false,
            signed_by_revoked_key: false,
        }
    }

    fn run(facts: &Facts, evidence: &[Evidence], as_of: &str) -> StatusReport {
        let m = Matrix::parse(M, "t.toml").unwrap();
        compute(&m, &adoption(), facts, evidence, &q3(), t(as_of))
    }

    fn duty<'a>(r: &'a StatusReport, item: &str, party: &str) -> &'a Duty {
        r.items
            .iter()
            .find(|i| i.id == item)
            .and_then(|i| i.duties.iter().find(|d| d.party == party))
            .unwrap()
    }

    const AFTER: &str = "2026-10-31T00:00:00Z";

    #[test]
    fn fulfilled_missing_informational() {
        let facts = Facts::default();
        let e = [ev(
            11,
            "cust",
            "s.quarterly",
            Outcome::Pass,
            "2026-08-15T10:00:00Z",
        )];
        let r = run(&facts, &e, AFTER);
        assert_eq!(duty(&r, "s.quarterly", "cust").status, Status::Fulfilled);
        assert_eq!(duty(&r, "s.quarterly", "cust").evidence, vec![11]);
        assert_eq!(duty(&r, "s.monthly", "cust").status, Status::Missing);
        let info = &r.items.iter().find(|i| i.id == "s.info").unwrap().duties;
        assert_eq!(info.len(), 1);
        assert_eq!(info[0].status, Status::Informational);
        // Shared: each duty holder is judged on its own evidence.
        assert_eq!(duty(&r, "s.shared", "cust").status, Status::Missing);
        assert_eq!(duty(&r, "s.shared", "prov").status, Status::Missing);
        assert_eq!(r.summary["cust"]["missing"], 2);
    }

    #[test]
    fn failed_unless_a_later_pass() {
        let facts = Facts::default();
        let e = [ev(
            11,
            "cust",
            "s.quarterly",
            Outcome::Fail,
            "2026-07-15T08:00:00Z",
        )];
        assert_eq!(
            duty(&run(&facts, &e, AFTER), "s.quarterly", "cust").status,
            Status::Failed
        );
        let e = [
            ev(
                11,
                "cust",
                "s.quarterly",
                Outcome::Fail,
                "2026-07-15T08:00:00Z",
            ),
            ev(
                12,
                "cust",
                "s.quarterly",
                Outcome::Pass,
                "2026-07-29T08:00:00Z",
            ),
        ];
        assert_eq!(
            duty(&run(&facts, &e, AFTER), "s.quarterly", "cust").status,
            Status::Fulfilled
        );
        // Order is by performance time, not by recording order.
        let e = [
            ev(
                12,
                "cust",
                "s.quarterly",
                Outcome::Pass,
                "2026-07-10T08:00:00Z",
            ),
            ev(
                13,
                "cust",
                "s.quarterly",
                Outcome::Partial,
                "2026-07-29T08:00:00Z",
            ),
        ];
        assert_eq!(
            duty(&run(&facts, &e, AFTER), "s.quarterly", "cust").status,
            Status::Failed
        );
    }

    #[test]
    fn overdue_only_once_a_window_is_due() {
        let facts = Facts::default();
        let e = [
            ev(
                11,
                "cust",
                "s.monthly",
                Outcome::Pass,
                "2026-07-03T08:00:00Z",
            ),
            ev(
                12,
                "cust",
                "s.monthly",
                Outcome::Pass,
                "2026-08-03T08:00:00Z",
            ),
        ];
        let r = run(&facts, &e, AFTER);
        let d = duty(&r, "s.monthly", "cust");
        assert_eq!(d.status, Status::Overdue);
        assert_eq!(d.windows.len(), 3);
        assert_eq!(d.windows[2].state, "empty");
        // September is not due until October 7 (7 grace days).
        let r = run(&facts, &e, "2026-10-06T00:00:00Z");
        assert_eq!(duty(&r, "s.monthly", "cust").status, Status::Fulfilled);
        assert_eq!(duty(&r, "s.monthly", "cust").windows[2].state, "pending");
    }

    #[test]
    fn window_boundaries_and_grace() {
        let facts = Facts::default();
        // Exactly midnight August 1 belongs to August; one second earlier to July.
        let e = [
            ev(
                11,
                "cust",
                "s.monthly",
                Outcome::Pass,
                "2026-07-31T23:59:59Z",
            ),
            ev(
                12,
                "cust",
                "s.monthly",
                Outcome::Pass,
                "2026-08-01T00:00:00Z",
            ),
            // October 3 is inside September's 7 grace days.
            ev(
                13,
                "cust",
                "s.monthly",
                Outcome::Pass,
                "2026-10-03T00:00:00Z",
            ),
        ];
        let r = run(&facts, &e, AFTER);
        let d = duty(&r, "s.monthly", "cust");
        assert_eq!(d.windows[0].evidence, vec![11]);
        assert_eq!(d.windows[1].evidence, vec![12]);
        assert_eq!(d.windows[2].evidence, vec![13]);
        assert_eq!(d.status, Status::Fulfilled);
        // October 8 is past the grace: September stays empty.
        let e2 = [
            e[0].clone(),
            e[1].clone(),
            ev(
                13,
                "cust",
                "s.monthly",
                Outcome::Pass,
                "2026-10-08T00:00:00Z",
            ),
        ];
        assert_eq!(
            duty(&run(&facts, &e2, AFTER), "s.monthly", "cust").status,
            Status::Overdue
        );
    }

    #[test]
    fn time_zones_are_normalised_before_windows() {
        // 01:00 on August 1 in UTC+2 is 23:00 on July 31 UTC: July's window.
        let now = t("2026-12-01T00:00:00Z");
        let p = parse_performed_at("2026-08-01T01:00:00+02:00", now).unwrap();
        let mut e = ev(
            11,
            "cust",
            "s.monthly",
            Outcome::Pass,
            "2026-07-01T00:00:00Z",
        );
        e.performed_at = p;
        let r = run(&Facts::default(), &[e], AFTER);
        assert_eq!(duty(&r, "s.monthly", "cust").windows[0].evidence, vec![11]);
    }

    #[test]
    fn disputes_and_their_resolution() {
        let e = [ev(
            11,
            "cust",
            "s.quarterly",
            Outcome::Pass,
            "2026-08-15T10:00:00Z",
        )];
        let dispute = Cosign {
            seq: 12,
            party: "prov".into(),
            target: 11,
            verdict: Verdict::Dispute,
        };
        let facts = Facts {
            cosigns: vec![dispute.clone()],
            ..Facts::default()
        };
        assert_eq!(
            duty(&run(&facts, &e, AFTER), "s.quarterly", "cust").status,
            Status::Disputed
        );
        let ack = Cosign {
            seq: 13,
            party: "prov".into(),
            target: 11,
            verdict: Verdict::Ack,
        };
        let facts = Facts {
            cosigns: vec![dispute, ack],
            ..Facts::default()
        };
        let r = run(&facts, &e, AFTER);
        let d = duty(&r, "s.quarterly", "cust");
        assert_eq!(d.status, Status::Fulfilled);
        assert!(
            d.flags.contains(&"dispute-resolved:13".to_string()),
            "{:?}",
            d.flags
        );
    }

    #[test]
    fn retracted_evidence_does_not_count() {
        let e = [ev(
            11,
            "cust",
            "s.quarterly",
            Outcome::Pass,
            "2026-08-15T10:00:00Z",
        )];
        let facts = Facts {
            retracted: [11].into(),
            ..Facts::default()
        };
        let r = run(&facts, &e, AFTER);
        let d = duty(&r, "s.quarterly", "cust");
        assert_eq!(d.status, Status::Missing);
        assert!(d.flags.contains(&"retracted:11".to_string()));
    }

    #[test]
    fn evidence_signed_by_a_revoked_key_does_not_count() {
        let mut revoked = ev(
            11,
            "cust",
            "s.quarterly",
            Outcome::Pass,
            "2026-08-15T10:00:00Z",
        );
        revoked.signed_by_revoked_key = true;
        let r = run(&Facts::default(), std::slice::from_ref(&revoked), AFTER);
        let d = duty(&r, "s.quarterly", "cust");
        assert_eq!(d.status, Status::Missing);
        assert!(d.evidence.is_empty());
        assert_eq!(d.flags, vec!["signed-by-revoked-key:11".to_string()]);
        // Next to evidence that counts, it is only flagged.
        let good = ev(
            12,
            "cust",
            "s.quarterly",
            Outcome::Pass,
            "2026-08-16T10:00:00Z",
        );
        let r = run(&Facts::default(), &[revoked, good], AFTER);
        let d = duty(&r, "s.quarterly", "cust");
        assert_eq!(d.status, Status::Fulfilled);
        assert_eq!(d.evidence, vec![12]);
        assert_eq!(d.flags, vec!["signed-by-revoked-key:11".to_string()]);
    }

    #[test]
    fn evidence_before_adoption_counts_and_is_flagged() {
        let mut e = ev(
            5,
            "cust",
            "s.quarterly",
            Outcome::Pass,
            "2026-07-02T10:00:00Z",
        );
        e.recorded_at = t("2026-07-02T12:00:00Z");
        let r = run(&Facts::default(), &[e], AFTER);
        let d = duty(&r, "s.quarterly", "cust");
        assert_eq!(d.status, Status::Fulfilled);
        assert!(d.flags.contains(&"before-adoption:5".to_string()));
    }

    #[test]
    fn late_recorded_is_flagged() {
        let mut e = ev(
            11,
            "cust",
            "s.quarterly",
            Outcome::Pass,
            "2026-07-02T10:00:00Z",
        );
        e.recorded_at = t("2026-09-30T10:00:00Z");
        let r = run(&Facts::default(), &[e], AFTER);
        assert!(
            duty(&r, "s.quarterly", "cust")
                .flags
                .contains(&"late-recorded:11".to_string())
        );
    }

    #[test]
    fn waivers_unless_disputed() {
        let facts = Facts {
            waivers: vec![(20, "cust".into(), "s.quarterly".into())],
            ..Facts::default()
        };
        assert_eq!(
            duty(&run(&facts, &[], AFTER), "s.quarterly", "cust").status,
            Status::NotApplicable
        );
        let facts = Facts {
            waivers: vec![(20, "cust".into(), "s.quarterly".into())],
            cosigns: vec![Cosign {
                seq: 21,
                party: "prov".into(),
                target: 20,
                verdict: Verdict::Dispute,
            }],
            ..Facts::default()
        };
        assert_eq!(
            duty(&run(&facts, &[], AFTER), "s.quarterly", "cust").status,
            Status::Missing
        );
    }

    #[test]
    fn delegates_and_supporting_evidence() {
        let e = [ev(
            11,
            "msp",
            "s.quarterly",
            Outcome::Pass,
            "2026-08-15T10:00:00Z",
        )];
        let r = run(&Facts::default(), &e, AFTER);
        let d = duty(&r, "s.quarterly", "cust");
        assert_eq!(d.status, Status::Missing);
        assert!(d.flags.contains(&"supporting-only".to_string()));
        let facts = Facts {
            delegations: vec![("cust".into(), "s.quarterly".into(), "msp".into())],
            ..Facts::default()
        };
        let r = run(&facts, &e, AFTER);
        let d = duty(&r, "s.quarterly", "cust");
        assert_eq!(d.status, Status::Fulfilled);
        assert!(d.flags.contains(&"delegated-to:msp".to_string()));
        // Evidence marked supporting never fulfils, even the signer's own duty.
        let mut s = ev(
            12,
            "cust",
            "s.quarterly",
            Outcome::Pass,
            "2026-08-15T10:00:00Z",
        );
        s.supporting = true;
        assert_eq!(
            duty(&run(&Facts::default(), &[s], AFTER), "s.quarterly", "cust").status,
            Status::Missing
        );
    }
}
