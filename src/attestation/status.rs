//! The status engine: for every matrix item and every duty holder, what the ledger shows
//! for a period.
//!
//! [`compute`] is a pure function of (entries, matrix, adoption, period, as-of time): no
//! clock, no I/O, so every status and edge is unit-tested. [`Facts`] gathers the entries in
//! one pass; the caller feeds it from the ledger (see `status_ledger::from_ledger`).
//!
//! The rules are normative, written for independent implementations in `schema/STATUS.md`;
//! in short:
//!
//! - a cadence's windows follow the calendar (months, quarters, years; weeks from Monday),
//!   not the report: the report shows every window that overlaps its period, and evidence
//!   anywhere in such a window counts for it (or in its grace days, when the next window
//!   has none of its own);
//! - a window is *closed* once its end plus grace days has passed at the as-of time;
//! - a duty's status: any window whose latest counted evidence failed (nothing later
//!   passed) → failed; else any window whose passing evidence is disputed → disputed; else
//!   a closed window without evidence → missing (no evidence in any window) or overdue;
//!   else an open window without evidence → due (with its due date); else fulfilled. A
//!   waiver agreed by a counterparty makes it not applicable, one not yet agreed shows as
//!   waiver pending; an item that applies to nobody is not applicable, one with only C/I
//!   roles informational. Only evidence of a kind the item lists counts.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::format::payload::{Outcome, Verdict};
use crate::matrix::{Cadence, Item, Matrix, RoleId};
use crate::period::Period;

/// Evidence recorded more than this long after it was performed is flagged late-recorded.
pub const LATE_AFTER_DAYS: i64 = 7;

/// The status of one duty for the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Evidence by the responsible party covers every window.
    Fulfilled,
    /// Nothing is late yet: a window still open at the as-of time has no evidence.
    Due,
    /// Some evidence, but a due window has none.
    Overdue,
    /// A window's latest evidence failed and nothing later passed.
    Failed,
    /// The counterparty disputes the evidence that would fulfil it.
    Disputed,
    /// A closed window has no evidence, and no window has any.
    Missing,
    /// A waiver that no counterparty has agreed to yet.
    WaiverPending,
    /// A waiver a counterparty agreed to, or an item that applies to nobody.
    NotApplicable,
    /// Nothing to prove: no duty holder.
    Informational,
}

impl Status {
    /// All statuses, in report order.
    pub const ALL: [Status; 9] = [
        Status::Fulfilled,
        Status::Due,
        Status::Overdue,
        Status::Failed,
        Status::Disputed,
        Status::Missing,
        Status::WaiverPending,
        Status::NotApplicable,
        Status::Informational,
    ];

    /// The spelling in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Fulfilled => "fulfilled",
            Status::Due => "due",
            Status::Overdue => "overdue",
            Status::Failed => "failed",
            Status::Disputed => "disputed",
            Status::Missing => "missing",
            Status::WaiverPending => "waiver-pending",
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
    /// Evidence kind (`restore-test`).
    pub kind: S,
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
    /// Waivers, in ledger order.
    pub waivers: Vec<Waiver>,
    /// Delegations: (party, item, to).
    pub delegations: Vec<(String, String, String)>,
}

/// A waiver entry.
#[derive(Debug, Clone)]
pub struct Waiver {
    /// Its sequence number.
    pub seq: u64,
    /// The party that signed it.
    pub party: String,
    /// The item it waives.
    pub item: String,
    /// Why.
    pub reason: String,
}

/// What became of a waiver (reports list every waiver of the matrix's items).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaiverState {
    /// The waiver entry.
    pub seq: u64,
    /// The item.
    pub item: String,
    /// Who asked for it.
    pub by: String,
    /// Why.
    pub reason: String,
    /// The bound counterparties whose latest verdict on it is an acknowledgement.
    pub agreed_by: Vec<String>,
    /// The bound counterparties whose latest verdict on it is a dispute.
    pub disputed_by: Vec<String>,
    /// `effective`, `pending` (no counterparty agreed yet), `disputed`, `retracted`, or
    /// `unbound` (its author is not bound by the adoption).
    pub state: &'static str,
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
    /// Adopted services (empty: every service).
    pub services: Vec<String>,
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
    /// `ok`, `failed`, `disputed`, `empty` (closed, no evidence) or `open` (not yet closed,
    /// no evidence).
    pub state: &'static str,
    /// The last day evidence for it counts (its last day plus grace days).
    pub due_by: NaiveDate,
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
    /// For `due`: the last day of grace of the first open window without evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_by: Option<String>,
    /// Windows.
    pub windows: Vec<Window>,
    /// Evidence counted, in ledger order.
    pub evidence: Vec<u64>,
    /// Last performed date of counted evidence.
    pub last_performed: Option<String>,
    /// Flags: `late-recorded:SEQ`, `retracted:SEQ`, `supporting-only`, `before-adoption:SEQ`,
    /// `delegated-to:PARTY`, `dispute-resolved:SEQ`, `waived:SEQ`, `waiver-pending:SEQ`,
    /// `waiver-disputed:SEQ`, `signed-by-revoked-key:SEQ` (evidence that does not count: its
    /// key was revoked), `other-kind:SEQ` (evidence of a kind the item does not list: it
    /// does not count).
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
    /// Party → status → count (duties of bound parties only: items that apply to nobody
    /// or are informational have no party).
    pub summary: BTreeMap<String, BTreeMap<&'static str, u64>>,
    /// Every waiver of the matrix's items, in ledger order.
    pub waivers: Vec<WaiverState>,
}

fn day(t: DateTime<Utc>) -> NaiveDate {
    t.date_naive()
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0)
        .map(|x| x.and_utc())
        .unwrap_or_default()
}

/// A window `[start, end)`.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// At most this many windows per item (a daily cadence over many years).
const MAX_WINDOWS: usize = 10_000;

/// The first day of month number `k`, counting months from January of year 0.
fn month_start(k: i64) -> Option<NaiveDate> {
    let year = i32::try_from(k.div_euclid(12)).ok()?;
    let month = u32::try_from(k.rem_euclid(12)).ok()? + 1;
    NaiveDate::from_ymd_opt(year, month, 1)
}

/// Day number `k`, counting days from 0001-01-01 (a Monday) as 0.
fn day_start(k: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(k + 1).ok()?)
}

/// The windows of an item's cadence that overlap the period (`schema/STATUS.md` §3). They
/// follow the calendar, not the period: windows of `n` months start in the months whose
/// number since January of year 0 is a multiple of `n` (so quarters start in January,
/// April, July and October, and years on 1 January); windows of `n` days start on the days
/// whose number since 0001-01-01 is a multiple of `n` (so weeks start on Mondays). An item
/// without a cadence, or `on-event`, has one window: the period itself.
fn windows(item: &Item, period: &Period) -> Vec<Span> {
    let (start, end) = (period.start(), period.end());
    let Some((months, days)) = item
        .cadence
        .as_ref()
        .and_then(Cadence::step)
        .filter(|(m, d)| *m > 0 || *d > 0)
    else {
        return vec![(start, end)];
    };
    let (n, first, at): (i64, i64, fn(i64) -> Option<NaiveDate>) = if days == 0 {
        let n = i64::from(months);
        let k = i64::from(period.from.year()) * 12 + i64::from(period.from.month0());
        (n, k.div_euclid(n) * n, month_start)
    } else if months == 0 {
        let n = i64::from(days);
        let k = i64::from(period.from.num_days_from_ce()) - 1;
        (n, k.div_euclid(n) * n, day_start)
    } else {
        // Months and days mixed: matrices no longer allow it; an older adopted matrix keeps
        // its one window, the period.
        return vec![(start, end)];
    };
    let mut out = Vec::new();
    let mut k = first;
    while out.len() < MAX_WINDOWS {
        let (Some(ws), Some(we)) = (at(k), at(k + n)) else {
            break;
        };
        let (ws, we) = (midnight(ws), midnight(we));
        if ws >= end {
            break;
        }
        out.push((ws, we));
        k += n;
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
    other_kind: Vec<u64>,
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
    kinds: HashMap<&'a str, &'a [String]>,
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
        let kinds = matrix
            .items
            .iter()
            .map(|i| (i.id.as_str(), i.evidence_kinds.as_slice()))
            .collect();
        Self {
            matrix,
            adoption,
            facts,
            period,
            as_of,
            windows,
            grace,
            kinds,
            cosigns_of,
            acc: HashMap::new(),
        }
    }

    /// The start of the earliest window of any item (no evidence performed before it can
    /// count).
    pub fn earliest_start(&self) -> DateTime<Utc> {
        self.windows
            .values()
            .filter_map(|w| w.first().map(|(s, _)| *s))
            .min()
            .unwrap_or_else(|| self.period.start())
            .min(self.period.start())
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
        // Evidence counts anywhere in a window that overlaps the period, or in the grace
        // days after the last one.
        let (Some(first), Some(last)) = (wins.first(), wins.last()) else {
            return;
        };
        if e.performed_at < first.0 || e.performed_at >= last.1 + *grace {
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
        // Only the kinds the item lists prove it (any kind when it lists none).
        let kinds = self.kinds.get(item).copied().unwrap_or_default();
        if !e.supporting && !kinds.is_empty() && !kinds.iter().any(|k| k == e.kind.as_ref()) {
            if acc.other_kind.len() < LIST_CAP {
                acc.other_kind.push(e.seq);
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
        // Every waiver of the matrix's items, judged once (§7).
        let waivers: Vec<WaiverState> = self
            .facts
            .waivers
            .iter()
            .filter(|w| self.windows.contains_key(w.item.as_str()))
            .map(|w| self.waiver_state(w))
            .collect();
        let mut items = Vec::new();
        let mut summary: BTreeMap<String, BTreeMap<&'static str, u64>> = BTreeMap::new();
        for item in self.matrix.items.iter().filter(|i| {
            crate::attestation::adopted::in_scope(
                i,
                &self.adoption.variants,
                &self.adoption.services,
            )
        }) {
            let duties = self.item_duties(item, &waivers);
            for d in duties.iter().filter(|d| !d.party.is_empty()) {
                *summary
                    .entry(d.party.clone())
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
            waivers,
        }
    }

    fn item_duties(&self, item: &Item, waivers: &[WaiverState]) -> Vec<Duty> {
        let holders = item.duty_holders();
        if holders.is_empty() {
            // Applies to nobody (every role N/A), or only C/I roles: nothing to prove.
            return vec![Duty {
                role: "",
                party: String::new(),
                raci: String::new(),
                status: if item.applies_to_nobody() {
                    Status::NotApplicable
                } else {
                    Status::Informational
                },
                due_by: None,
                windows: Vec::new(),
                evidence: Vec::new(),
                last_performed: None,
                flags: Vec::new(),
            }];
        }
        // The newest waiver of the item that is in force or waiting for agreement.
        let waiver = waivers
            .iter()
            .rev()
            .filter(|w| w.item == item.id)
            .find(|w| matches!(w.state, "effective" | "pending" | "disputed"));
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
            if let Some(w) = waiver.filter(|w| w.state == "effective") {
                out.push(Duty {
                    role: role.as_str(),
                    party,
                    raci,
                    status: Status::NotApplicable,
                    due_by: None,
                    windows: Vec::new(),
                    evidence: Vec::new(),
                    last_performed: None,
                    flags: vec![format!("waived:{}", w.seq)],
                });
                continue;
            }
            let mut duty = self.role_duty(item, role, party, raci, &wins, grace);
            match waiver {
                Some(w) if w.state == "pending" => {
                    duty.status = Status::WaiverPending;
                    duty.due_by = None;
                    duty.flags.push(format!("waiver-pending:{}", w.seq));
                }
                Some(w) => duty.flags.push(format!("waiver-disputed:{}", w.seq)),
                None => {}
            }
            out.push(duty);
        }
        out
    }

    /// What became of a waiver (`schema/STATUS.md` §7): it takes effect once a counterparty
    /// bound by the adoption acknowledges it, unless retracted or disputed.
    fn waiver_state(&self, w: &Waiver) -> WaiverState {
        let bound: BTreeSet<&str> = self
            .adoption
            .bindings
            .values()
            .map(String::as_str)
            .collect();
        let mut last: BTreeMap<&str, Verdict> = BTreeMap::new();
        for c in self.cosigns(w.seq) {
            last.insert(c.party.as_str(), c.verdict);
        }
        let by = |v: Verdict, bound_only: bool| -> Vec<String> {
            last.iter()
                .filter(|(p, verdict)| {
                    **verdict == v && **p != w.party && (!bound_only || bound.contains(**p))
                })
                .map(|(p, _)| (*p).to_string())
                .collect()
        };
        let (agreed_by, disputed_by) = (by(Verdict::Ack, true), by(Verdict::Dispute, false));
        let state = if self.facts.retracted.contains(&w.seq) {
            "retracted"
        } else if !bound.contains(w.party.as_str()) {
            "unbound"
        } else if !disputed_by.is_empty() {
            "disputed"
        } else if !agreed_by.is_empty() {
            "effective"
        } else {
            "pending"
        };
        WaiverState {
            seq: w.seq,
            item: w.item.clone(),
            by: w.party.clone(),
            reason: w.reason.clone(),
            agreed_by,
            disputed_by,
            state,
        }
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
        let (windows_out, evidence, status, due_by) = self.judge_windows(&acc, wins, grace);
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
        list("other-kind", &mut acc.other_kind, &mut flags);
        if acc.total == 0 && others {
            flags.push("supporting-only".into());
        }
        Duty {
            role: role.as_str(),
            party,
            raci,
            status,
            due_by: due_by.map(|d| d.to_string()),
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
                acc.other_kind.extend(&a.other_kind);
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

    /// Each window's state at the as-of time, the evidence counted, the duty's status and,
    /// when it is `due`, its due date (`schema/STATUS.md` §5).
    fn judge_windows(
        &self,
        acc: &DutyAcc,
        wins: &[Span],
        grace: chrono::Duration,
    ) -> (Vec<Window>, BTreeSet<u64>, Status, Option<NaiveDate>) {
        let mut windows_out = Vec::new();
        let mut evidence: BTreeSet<u64> = BTreeSet::new();
        let (mut failed, mut disputed, mut empty) = (false, false, false);
        let mut open_due: Option<NaiveDate> = None;
        for (k, (ws, we)) in wins.iter().enumerate() {
            let w = if acc.own[k].n > 0 {
                &acc.own[k]
            } else {
                &acc.grace[k]
            };
            let due = *we + grace <= self.as_of;
            let due_by = day(*we + grace - chrono::Duration::seconds(1));
            let state = match w.latest {
                None if due => {
                    empty = true;
                    "empty"
                }
                None => {
                    open_due.get_or_insert(due_by);
                    "open"
                }
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
                due_by,
                evidence: w.seqs.clone(),
            });
        }
        let counted = acc.total > 0;
        let status = if failed {
            Status::Failed
        } else if disputed {
            Status::Disputed
        } else if empty && !counted {
            Status::Missing
        } else if empty {
            Status::Overdue
        } else if open_due.is_some() {
            Status::Due
        } else {
            Status::Fulfilled
        };
        let due_by = open_due.filter(|_| status == Status::Due);
        (windows_out, evidence, status, due_by)
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
            services: vec![],
        }
    }

    fn ev(seq: u64, party: &str, item: &str, outcome: Outcome, performed: &str) -> Evidence {
        let p = t(performed);
        // The kind the test matrix lists for the item.
        let kind = match item {
            "s.monthly" => "patch-run",
            "s.quarterly" => "restore-test",
            _ => "attestation",
        };
        Evidence {
            seq,
            party: party.into(),
            item: item.into(),
            kind: kind.into(),
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
        // September is not due until October 7 (7 grace days): until then the duty is
        // "due by 2026-10-07", not fulfilled and not overdue.
        let r = run(&facts, &e, "2026-10-06T00:00:00Z");
        let d = duty(&r, "s.monthly", "cust");
        assert_eq!(d.status, Status::Due);
        assert_eq!(d.due_by.as_deref(), Some("2026-10-07"));
        assert_eq!(d.windows[2].state, "open");
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

    fn waiver(seq: u64, by: &str) -> Waiver {
        Waiver {
            seq,
            party: by.into(),
            item: "s.quarterly".into(),
            reason: "no backups in this contract".into(),
        }
    }

    fn cosign(seq: u64, party: &str, target: u64, verdict: Verdict) -> Cosign {
        Cosign {
            seq,
            party: party.into(),
            target,
            verdict,
        }
    }

    #[test]
    fn waivers_take_effect_when_a_counterparty_agrees() {
        // Alone, a waiver is pending: the duty shows "waiver pending", not not-applicable.
        let facts = Facts {
            waivers: vec![waiver(20, "cust")],
            ..Facts::default()
        };
        let r = run(&facts, &[], AFTER);
        let d = duty(&r, "s.quarterly", "cust");
        assert_eq!(d.status, Status::WaiverPending);
        assert!(d.flags.contains(&"waiver-pending:20".to_string()));
        assert_eq!(r.waivers[0].state, "pending");
        assert_eq!(r.waivers[0].reason, "no backups in this contract");
        // Its own author's acknowledgement does not count; the counterparty's does.
        let facts = Facts {
            waivers: vec![waiver(20, "cust")],
            cosigns: vec![cosign(21, "cust", 20, Verdict::Ack)],
            ..Facts::default()
        };
        assert_eq!(
            duty(&run(&facts, &[], AFTER), "s.quarterly", "cust").status,
            Status::WaiverPending
        );
        let facts = Facts {
            waivers: vec![waiver(20, "cust")],
            cosigns: vec![cosign(21, "prov", 20, Verdict::Ack)],
            ..Facts::default()
        };
        let r = run(&facts, &[], AFTER);
        assert_eq!(
            duty(&r, "s.quarterly", "cust").status,
            Status::NotApplicable
        );
        assert_eq!(r.waivers[0].state, "effective");
        assert_eq!(r.waivers[0].agreed_by, ["prov"]);
        // A dispute suspends it: the duty is judged on its evidence.
        let facts = Facts {
            waivers: vec![waiver(20, "cust")],
            cosigns: vec![
                cosign(21, "prov", 20, Verdict::Ack),
                cosign(22, "prov", 20, Verdict::Dispute),
            ],
            ..Facts::default()
        };
        let r = run(&facts, &[], AFTER);
        let d = duty(&r, "s.quarterly", "cust");
        assert_eq!(d.status, Status::Missing);
        assert!(d.flags.contains(&"waiver-disputed:20".to_string()));
        // A waiver by a party the adoption does not bind never takes effect.
        let facts = Facts {
            waivers: vec![waiver(20, "msp")],
            cosigns: vec![cosign(21, "prov", 20, Verdict::Ack)],
            ..Facts::default()
        };
        let r = run(&facts, &[], AFTER);
        assert_eq!(duty(&r, "s.quarterly", "cust").status, Status::Missing);
        assert_eq!(r.waivers[0].state, "unbound");
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
