//! The demonstration story: a provider, a customer and an auditor keep a quarter of
//! evidence for the Cloud Temple VM-instances matrix.
//!
//! Deterministic: fixed key seeds (for the demo only — never use them for real), fixed
//! ledger id and fixed times, so the same demo gives the same ledger bytes every time.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::crypto::{self, SecretKey, keyfile};
use crate::error::{Error, Result};
use crate::format::entry::{LedgerId, parse_time};
use crate::format::payload::{Role, Verdict};
use crate::ledger::evidence::{self, EvidenceInput};
use crate::ledger::verify::{self, Options};
use crate::ledger::{Ledger, NewParty, NoProgress};

pub mod net;

/// What the demo made.
#[derive(Debug)]
pub struct Summary {
    /// The demo directory.
    pub dir: PathBuf,
    /// The ledger file.
    pub ledger: PathBuf,
    /// Parties: (id, role, key file, fingerprint).
    pub parties: Vec<(String, Role, PathBuf, String)>,
    /// Entries in the ledger.
    pub entries: u64,
    /// Evidence entries recorded.
    pub evidence: u64,
    /// Verification found no problem.
    pub verified: bool,
    /// Head: seq and hash hex.
    pub head: (u64, String),
    /// The status of the quarter.
    pub status: crate::attestation::status::StatusReport,
    /// The quarter's attestation and its sign-offs.
    pub attestation: crate::attestation::attest::Attestation,
}

/// The demo's parties: id, display name, role.
pub const PARTIES: [(&str, &str, Role); 3] = [
    ("cloudtemple", "Cloud Temple", Role::Provider),
    ("acme", "Acme Retail SA", Role::Customer),
    ("auditor", "Bureau Audit & Associés", Role::Auditor),
];

/// The fixed demo key of a party (public knowledge: demo only).
pub fn demo_key(party: &str) -> SecretKey {
    SecretKey::from_seed(&crypto::sha256(
        format!("vouch demo key: {party}").as_bytes(),
    ))
}

fn t(s: &str) -> Result<DateTime<Utc>> {
    parse_time(s).ok_or_else(|| Error::new(format!("internal: bad demo time {s}")))
}

struct Ev {
    by: &'static str,
    recorded: &'static str,
    item: &'static str,
    kind: &'static str,
    outcome: &'static str,
    performed: &'static str,
    fields: &'static [(&'static str, &'static str)],
    artifact: Option<(&'static str, &'static str)>,
    note: Option<&'static str>,
}

const EVIDENCE: &[Ev] = &[
    Ev {
        by: "cloudtemple",
        recorded: "2026-07-03T16:05:00Z",
        item: "physical.hypervisors",
        kind: "patch-run",
        outcome: "pass",
        performed: "2026-07-03T14:00:00Z",
        fields: &[("hosts", "48"), ("patches_applied", "96"), ("failed", "0")],
        artifact: Some((
            "hypervisor-patch-2026-07.log",
            "cluster par7: 48/48 hosts patched, 0 failures\n",
        )),
        note: None,
    },
    Ev {
        by: "acme",
        recorded: "2026-07-08T10:12:00Z",
        item: "guest-os.patching",
        kind: "patch-run",
        outcome: "pass",
        performed: "2026-07-08T02:00:00Z",
        fields: &[("hosts", "32"), ("patches_applied", "211"), ("failed", "0")],
        artifact: Some((
            "guest-patch-2026-07.csv",
            "host,patches,result\nweb-01,7,ok\nweb-02,7,ok\n",
        )),
        note: None,
    },
    Ev {
        by: "acme",
        recorded: "2026-07-10T18:00:00Z",
        item: "security.edr-siem",
        kind: "log-review",
        outcome: "pass",
        performed: "2026-07-10T09:00:00Z",
        fields: &[("anomalies", "0")],
        artifact: None,
        note: None,
    },
    Ev {
        by: "acme",
        recorded: "2026-07-15T09:30:00Z",
        item: "backup.restore-tests",
        kind: "restore-test",
        outcome: "fail",
        performed: "2026-07-15T08:00:00Z",
        fields: &[
            ("backup_id", "bk-2026-07-14"),
            ("rto_minutes", "190"),
            ("data_verified", "false"),
        ],
        artifact: Some((
            "restore-2026-07-15.log",
            "restore of bk-2026-07-14 aborted: checksum mismatch on volume data-02\n",
        )),
        note: Some("RTO target is 120 minutes; restore aborted, ticket OPS-4411"),
    },
    Ev {
        by: "acme",
        recorded: "2026-07-29T11:00:00Z",
        item: "backup.restore-tests",
        kind: "restore-test",
        outcome: "pass",
        performed: "2026-07-29T08:00:00Z",
        fields: &[
            ("backup_id", "bk-2026-07-28"),
            ("rto_minutes", "95"),
            ("data_verified", "true"),
        ],
        artifact: Some((
            "restore-2026-07-29.log",
            "restore of bk-2026-07-28 complete in 95 min, row counts verified\n",
        )),
        note: None,
    },
    Ev {
        by: "cloudtemple",
        recorded: "2026-08-04T09:00:00Z",
        item: "backup.infrastructure",
        kind: "backup-verification",
        outcome: "pass",
        performed: "2026-08-03T22:00:00Z",
        fields: &[("backups_checked", "1240")],
        artifact: None,
        note: None,
    },
    Ev {
        by: "acme",
        recorded: "2026-08-11T17:30:00Z",
        item: "security.edr-siem",
        kind: "log-review",
        outcome: "pass",
        performed: "2026-08-11T09:00:00Z",
        fields: &[("anomalies", "2")],
        artifact: None,
        note: Some("2 anomalies triaged, tickets SEC-201, SEC-202"),
    },
    Ev {
        by: "acme",
        recorded: "2026-08-12T15:40:00Z",
        item: "guest-os.patching",
        kind: "patch-run",
        outcome: "partial",
        performed: "2026-08-12T02:00:00Z",
        fields: &[("hosts", "32"), ("patches_applied", "180"), ("failed", "3")],
        artifact: None,
        note: Some("3 hosts need a reboot window"),
    },
    Ev {
        by: "cloudtemple",
        recorded: "2026-09-02T08:30:00Z",
        item: "logs.platform-logs",
        kind: "log-review",
        outcome: "pass",
        performed: "2026-09-01T09:00:00Z",
        fields: &[],
        artifact: None,
        note: None,
    },
    Ev {
        by: "acme",
        recorded: "2026-09-30T17:00:00Z",
        item: "access.console-administration",
        kind: "access-review",
        outcome: "pass",
        performed: "2026-07-10T10:00:00Z",
        fields: &[
            ("accounts_reviewed", "57"),
            ("accounts_removed", "4"),
            ("reviewer", "j.martin"),
        ],
        artifact: Some((
            "access-review-q3.txt",
            "Console accounts reviewed: 57; removed: 4 (leavers)\n",
        )),
        note: Some("recorded at quarter end, 82 days after the review"),
    },
];

/// The matrix the demo adopts (built into the binary, so the demo runs anywhere).
pub const MATRIX: &str = include_str!("../schema/matrices/cloudtemple-vm-instances.toml");

/// The period the demo covers, and the time it judges it at.
pub const PERIOD: &str = "2026-Q3";
/// See [`PERIOD`].
pub const AS_OF: &str = "2026-10-15T12:00:00Z";

/// One evidence entry to record, curated ([`EVIDENCE`]) or generated ([`routine`]).
struct Event {
    by: String,
    recorded: DateTime<Utc>,
    item: String,
    kind: String,
    outcome: &'static str,
    performed: String,
    fields: Vec<(String, Value)>,
    artifact: Option<(String, String)>,
    note: Option<String>,
}

impl Event {
    fn curated(e: &Ev) -> Result<Event> {
        Ok(Event {
            by: e.by.into(),
            recorded: t(e.recorded)?,
            item: e.item.into(),
            kind: e.kind.into(),
            outcome: e.outcome,
            performed: e.performed.into(),
            fields: e
                .fields
                .iter()
                .map(|(k, v)| ((*k).to_string(), Value::String((*v).to_string())))
                .collect(),
            artifact: e.artifact.map(|(n, c)| (n.to_string(), c.to_string())),
            note: e.note.map(str::to_string),
        })
    }
}

/// Duties the routine sweep leaves undone, so the quarter has the exceptions an auditor
/// looks for: (item, party, months skipped; empty = all).
const GAPS: &[(&str, &str, &[u32])] = &[
    // Never done this quarter: missing.
    ("reversibility.plan", "acme", &[]),
    // The September run of a monthly duty was not done: overdue.
    ("images.official-patching", "cloudtemple", &[9]),
];

/// A number from 0 to n-1 that depends only on `what` (the demo's dice).
fn dice(what: &str, n: u32) -> u32 {
    let h = crypto::sha256(what.as_bytes());
    u32::from_be_bytes([h[0], h[1], h[2], h[3]]) % n.max(1)
}

/// The routine evidence of the quarter: every duty of every item not in [`EVIDENCE`], done
/// once per window of its cadence (monthly items each month, the rest once in the
/// quarter) with the kind the matrix expects, and recorded the Monday after, as a weekly
/// upload. [`GAPS`] are left out.
fn routine(matrix: &crate::matrix::Matrix) -> Result<Vec<Event>> {
    use chrono::{Datelike as _, Duration, NaiveDate, Weekday};
    let curated: Vec<&str> = EVIDENCE.iter().map(|e| e.item).collect();
    let party = |role: crate::matrix::RoleId| match role {
        crate::matrix::RoleId::Provider => Some("cloudtemple"),
        crate::matrix::RoleId::Customer => Some("acme"),
        crate::matrix::RoleId::ThirdParty => None,
    };
    let mut out = Vec::new();
    for item in &matrix.items {
        if curated.contains(&item.id.as_str()) {
            continue;
        }
        let monthly = matches!(item.cadence, Some(crate::matrix::Cadence::Monthly));
        for role in item.duty_holders() {
            let Some(by) = party(role) else { continue };
            let skip = GAPS
                .iter()
                .find(|(i, p, _)| *i == item.id && *p == by)
                .map(|(_, _, m)| *m);
            let months: Vec<u32> = if monthly {
                vec![7, 8, 9]
            } else {
                vec![7 + dice(&format!("{}/{by}/month", item.id), 3)]
            };
            for month in months {
                if skip.is_some_and(|m| m.is_empty() || m.contains(&month)) {
                    continue;
                }
                let key = format!("{}/{by}/{month}", item.id);
                let day = 3 + dice(&key, 24);
                let performed = NaiveDate::from_ymd_opt(2026, month, day)
                    .and_then(|d| d.and_hms_opt(8 + dice(&key, 9), 0, 0))
                    .map(|d| d.and_utc())
                    .ok_or_else(|| Error::new("internal: bad demo date"))?;
                // Recorded at the weekly upload: the next Monday, 10:00 (or 17:00 the
                // same Monday for work done that morning).
                let mut upload = performed.date_naive() + Duration::days(1);
                while upload.weekday() != Weekday::Mon {
                    upload += Duration::days(1);
                }
                let recorded = upload
                    .and_hms_opt(if by == "acme" { 17 } else { 10 }, 0, 0)
                    .map(|d| d.and_utc())
                    .ok_or_else(|| Error::new("internal: bad demo date"))?;
                let kind = item
                    .evidence_kinds
                    .first()
                    .map_or("attestation", String::as_str);
                let (fields, artifact) = routine_fields(kind, by, &item.activity, &key, performed);
                out.push(Event {
                    by: by.into(),
                    recorded,
                    item: item.id.clone(),
                    kind: kind.into(),
                    outcome: "pass",
                    performed: crate::format::entry::format_time(&performed),
                    fields,
                    artifact,
                    note: None,
                });
            }
        }
    }
    Ok(out)
}

/// Evidence fields, and an artefact (file name, content).
type Fields = (Vec<(String, Value)>, Option<(String, String)>);

/// Plausible fields (and for reviews and scans a small artefact) for routine evidence.
fn routine_fields(
    kind: &str,
    by: &str,
    activity: &str,
    key: &str,
    performed: DateTime<Utc>,
) -> Fields {
    let n = |what: &str, lo: u32, span: u32| Value::from(lo + dice(&format!("{key}/{what}"), span));
    let s = |v: &str| Value::String(v.to_string());
    let reviewer = if by == "acme" { "j.martin" } else { "s.durand" };
    let day = performed.format("%Y-%m-%d").to_string();
    let slug = key.replace(['/', '.'], "-");
    let f = |pairs: Vec<(&str, Value)>| -> Vec<(String, Value)> {
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    };
    match kind {
        "access-review" => {
            let reviewed = 20 + dice(&format!("{key}/accounts"), 60);
            let removed = dice(&format!("{key}/removed"), 4);
            (
                f(vec![
                    ("accounts_reviewed", Value::from(reviewed)),
                    ("accounts_removed", Value::from(removed)),
                    ("reviewer", s(reviewer)),
                ]),
                Some((
                    format!("access-review-{slug}.txt"),
                    format!(
                        "{activity}\nreviewed {reviewed} accounts on {day}; removed {removed}\n"
                    ),
                )),
            )
        }
        "patch-run" => (
            f(vec![
                ("hosts", n("hosts", 8, 40)),
                ("patches_applied", n("patches", 20, 200)),
                ("failed", Value::from(0)),
            ]),
            None,
        ),
        "log-review" => (
            f(vec![
                ("anomalies", Value::from(0)),
                ("reviewer", s(reviewer)),
            ]),
            None,
        ),
        "config-review" => {
            let passed = 60 + dice(&format!("{key}/checks"), 140);
            (
                f(vec![
                    (
                        "benchmark",
                        s(if by == "acme" {
                            "CIS Ubuntu 22.04 L1"
                        } else {
                            "SecNumCloud 3.2 hardening guide"
                        }),
                    ),
                    ("checks_passed", Value::from(passed)),
                    ("checks_failed", Value::from(0)),
                ]),
                Some((
                    format!("config-review-{slug}.txt"),
                    format!("{activity}\n{day}: {passed} checks passed, 0 failed\n"),
                )),
            )
        }
        "incident-drill" => (
            f(vec![
                ("drill_type", s("tabletop")),
                ("duration_minutes", n("minutes", 60, 120)),
            ]),
            None,
        ),
        "vulnerability-scan" => (
            f(vec![
                ("hosts_scanned", n("hosts", 8, 40)),
                ("critical", Value::from(0)),
                ("high", n("high", 0, 3)),
            ]),
            None,
        ),
        "restore-test" => (
            f(vec![
                ("backup_id", s(&format!("bk-{day}"))),
                ("rto_minutes", n("rto", 40, 60)),
                ("data_verified", Value::Bool(true)),
            ]),
            None,
        ),
        "backup-verification" => (f(vec![("backups_checked", n("backups", 100, 900))]), None),
        _ => (
            f(vec![
                ("statement", s(activity)),
                (
                    "standard",
                    s(if by == "acme" {
                        "ISO/IEC 27001:2022"
                    } else {
                        "SecNumCloud 3.2"
                    }),
                ),
            ]),
            None,
        ),
    }
}

/// Build the demo in `dir` (replacing an earlier demo there).
pub fn run(dir: &Path) -> Result<Summary> {
    let ledger_path = dir.join("ledger.db");
    let art_dir = dir.join("artifacts");
    prepare_dir(dir, &ledger_path, &art_dir)?;
    let parties = write_keys(&dir.join("keys"))?;
    let mut scribe = Local {
        ledger: found(&ledger_path)?,
        artifacts: art_dir,
    };
    let count = story(&mut scribe)?;
    drop(scribe);
    summarise(dir, ledger_path, parties, count)
}

/// Who writes the story's entries: each party on the ledger it works on, with its key.
/// [`Local`]: one shared ledger file (`vouch demo`); [`net`]: each party's replica of a
/// ledger on a loopback server (`vouch demo --serve`).
trait Scribe {
    /// Run `write` as `party` on its ledger, with its key (possibly more than once: a
    /// write through a remote starts over when the server's head moved).
    fn write<T>(
        &mut self,
        party: &str,
        write: &mut dyn FnMut(&mut Ledger, &SecretKey) -> Result<T>,
    ) -> Result<T>;
    /// Where `party` keeps the artefact files it records.
    fn artifacts(&self, party: &str) -> PathBuf;
}

/// The local demo: every party writes to one ledger file.
struct Local {
    ledger: Ledger,
    artifacts: PathBuf,
}

impl Scribe for Local {
    fn write<T>(
        &mut self,
        party: &str,
        write: &mut dyn FnMut(&mut Ledger, &SecretKey) -> Result<T>,
    ) -> Result<T> {
        write(&mut self.ledger, &demo_key(party))
    }

    fn artifacts(&self, _: &str) -> PathBuf {
        self.artifacts.clone()
    }
}

/// The story after the founding: the matrix adopted, the quarter recorded and closed, and
/// Q4 begun. Returns the evidence count.
fn story(s: &mut impl Scribe) -> Result<u64> {
    let matrix = adopt(s)?;
    let (count, approve) = record_quarter(s, &matrix)?;
    close_quarter(s, approve)?;
    next_quarter(s)?;
    Ok(count)
}

/// Refuse a directory that holds something other than a demo; clear an earlier demo's
/// ledger; make the artefacts directory.
fn prepare_dir(dir: &Path, ledger_path: &Path, art_dir: &Path) -> Result<()> {
    if dir.exists()
        && !ledger_path.exists()
        && fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(
            Error::new(format!("{} exists and is not a vouch demo", dir.display()))
                .hint("remove it or choose another place with --dir"),
        );
    }
    for p in ["ledger.db", "ledger.db-wal", "ledger.db-shm"] {
        let _ = fs::remove_file(dir.join(p));
    }
    fs::create_dir_all(art_dir).map_err(|e| Error::io(art_dir, &e))
}

/// Write each party's key pair: (id, role, secret key file, fingerprint).
fn write_keys(keys_dir: &Path) -> Result<Vec<(String, Role, PathBuf, String)>> {
    let mut parties = Vec::new();
    for (id, _, role) in PARTIES {
        let key = demo_key(id);
        let files = keyfile::write_key_pair(keys_dir, id, &key, true)?;
        parties.push((
            id.to_string(),
            role,
            files.secret,
            key.public().fingerprint().to_string(),
        ));
    }
    Ok(parties)
}

/// Create the ledger (the provider founds it) and register the other parties.
fn found(ledger_path: &Path) -> Result<Ledger> {
    let provider = demo_key("cloudtemple");
    let (mut ledger, _) = Ledger::init(
        ledger_path,
        found_id(),
        &NewParty {
            id: PARTIES[0].0.into(),
            name: PARTIES[0].1.into(),
            role: PARTIES[0].2,
        },
        &provider,
        t("2026-07-01T08:00:00Z")?,
    )?;
    for (pid, name, role) in &PARTIES[1..] {
        ledger.add_party(
            &NewParty {
                id: (*pid).into(),
                name: (*name).into(),
                role: *role,
            },
            &demo_key(pid),
            &provider,
            t("2026-07-01T08:05:00Z")?,
        )?;
    }
    Ok(ledger)
}

/// The demo ledger's fixed id.
fn found_id() -> LedgerId {
    let id_hash = crypto::sha256(b"vouch demo ledger");
    let mut id = [0u8; 16];
    id.copy_from_slice(&id_hash[..16]);
    LedgerId(id)
}

/// The provider adopts the Cloud Temple matrix; the customer acknowledges it.
fn adopt(s: &mut impl Scribe) -> Result<crate::matrix::Matrix> {
    let (matrix, bytes) = crate::matrix::Matrix::parse(MATRIX, "cloudtemple-vm-instances.toml")
        .map(|m| (m, MATRIX.as_bytes().to_vec()))?;
    let mref = crate::attestation::adopted::matrix_ref(&matrix, &bytes);
    let bindings: BTreeMap<String, String> = [("provider", "cloudtemple"), ("customer", "acme")]
        .into_iter()
        .map(|(r, p)| (r.to_string(), p.to_string()))
        .collect();
    let (adopted, acked) = (t("2026-07-01T09:00:00Z")?, t("2026-07-01T10:00:00Z")?);
    let adoption = s.write("cloudtemple", &mut |l, k| {
        l.adopt(
            k,
            mref.clone(),
            bytes.clone(),
            bindings.clone(),
            Vec::new(),
            adopted,
        )
    })?;
    s.write("acme", &mut |l, k| {
        l.cosign(k, adoption.seq, Verdict::Ack, None, acked)
    })?;
    Ok(matrix)
}

/// Record the quarter's evidence in ledger order (a party's uploads at one moment go in as
/// one batch), with the counterparties' reactions. Returns the evidence count and the
/// restore test the auditor approves later.
fn record_quarter(
    s: &mut impl Scribe,
    matrix: &crate::matrix::Matrix,
) -> Result<(u64, Option<u64>)> {
    let mut events = EVIDENCE
        .iter()
        .map(Event::curated)
        .collect::<Result<Vec<_>>>()?;
    events.extend(routine(matrix)?);
    events.sort_by(|a, b| (a.recorded, &a.by, &a.item).cmp(&(b.recorded, &b.by, &b.item)));
    let mut count = 0;
    let mut approve = None;
    let mut i = 0;
    while i < events.len() {
        let (by, now) = (events[i].by.clone(), events[i].recorded);
        let mut j = i;
        while j < events.len() && events[j].by == by && events[j].recorded == now {
            j += 1;
        }
        let art_dir = s.artifacts(&by);
        let batch = &events[i..j];
        let appended = s.write(&by, &mut |l, k| {
            let drafts = batch
                .iter()
                .map(|e| draft(e, &art_dir, now))
                .collect::<Result<Vec<_>>>()?;
            l.append(k, drafts, now, &NoProgress)
        })?;
        count += appended.len() as u64;
        for (e, a) in batch.iter().zip(&appended) {
            if let Some(seq) = react(s, e, a.seq, now)? {
                approve = Some(seq);
            }
        }
        i = j;
    }
    Ok((count, approve))
}

/// One event's evidence draft, its artefact written to `art_dir`.
fn draft(e: &Event, art_dir: &Path, now: DateTime<Utc>) -> Result<crate::ledger::Draft> {
    let mut artifacts = Vec::new();
    if let Some((name, content)) = &e.artifact {
        let p = art_dir.join(name);
        fs::write(&p, content).map_err(|err| Error::io(&p, &err))?;
        artifacts.push(p);
    }
    let input = EvidenceInput {
        item: e.item.clone(),
        kind: e.kind.clone(),
        outcome: e.outcome.into(),
        performed_at: e.performed.clone(),
        fields: e.fields.iter().cloned().collect::<BTreeMap<_, _>>(),
        artifacts,
        note: e.note.clone(),
        supporting: false,
    };
    evidence::draft(&input, now, true)
}

/// The counterparties react: the provider acknowledges the passing restore test (returned,
/// for the auditor to approve later) and disputes the late access review.
fn react(s: &mut impl Scribe, e: &Event, seq: u64, now: DateTime<Utc>) -> Result<Option<u64>> {
    match (e.item.as_str(), e.outcome) {
        ("backup.restore-tests", "pass") => {
            s.write("cloudtemple", &mut |l, k| {
                l.cosign(k, seq, Verdict::Ack, None, now + chrono::Duration::hours(2))
            })?;
            Ok(Some(seq))
        }
        ("access.console-administration", _) => {
            s.write("cloudtemple", &mut |l, k| {
                l.cosign(
                    k,
                    seq,
                    Verdict::Dispute,
                    Some("the review omits the two break-glass accounts on the console".into()),
                    now + chrono::Duration::hours(1),
                )
            })?;
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// At the quarter-close review the auditor approves the restore test; both parties sign
/// the quarter's attestation.
fn close_quarter(s: &mut impl Scribe, approve: Option<u64>) -> Result<()> {
    if let Some(seq) = approve {
        let at = t("2026-10-14T09:00:00Z")?;
        s.write("auditor", &mut |l, k| {
            l.cosign(
                k,
                seq,
                Verdict::Approve,
                Some("restore log sampled and verified at the Q3 close review".into()),
                at,
            )
        })?;
    }
    let period = demo_period()?;
    for (party, at) in [
        ("cloudtemple", "2026-10-15T09:00:00Z"),
        ("acme", "2026-10-15T10:00:00Z"),
    ] {
        let at = t(at)?;
        s.write(party, &mut |l, k| {
            crate::attestation::attest::sign(l, k, &period, at)
        })?;
    }
    Ok(())
}

/// Life goes on after the sign-offs: the provider records the first patch run of Q4. The
/// Q3 sign-offs stay valid statements at their head (`FORMAT.md` §11).
fn next_quarter(s: &mut impl Scribe) -> Result<()> {
    let now = t("2026-10-20T16:00:00Z")?;
    let input = EvidenceInput {
        item: "physical.hypervisors".into(),
        kind: "patch-run".into(),
        outcome: "pass".into(),
        performed_at: "2026-10-20T14:00:00Z".into(),
        fields: [("hosts", "48"), ("patches_applied", "52"), ("failed", "0")]
            .iter()
            .map(|(k, v)| ((*k).to_string(), serde_json::json!(v)))
            .collect(),
        artifacts: Vec::new(),
        note: None,
        supporting: false,
    };
    s.write("cloudtemple", &mut |l, k| {
        l.append(
            k,
            vec![evidence::draft(&input, now, true)?],
            now,
            &NoProgress,
        )
    })?;
    Ok(())
}

fn demo_period() -> Result<crate::period::Period> {
    crate::period::Period::parse(PERIOD).ok_or_else(|| Error::new("internal: bad demo period"))
}

/// Verify the finished demo and compute its status and attestation.
fn summarise(
    dir: &Path,
    ledger_path: PathBuf,
    parties: Vec<(String, Role, PathBuf, String)>,
    count: u64,
) -> Result<Summary> {
    let report = verify::verify(
        &ledger_path,
        &Options {
            artifacts: true,
            ..Options::default()
        },
        &NoProgress,
    )?;
    let head = report
        .head
        .map(|(s, h)| (s, hex::encode(h)))
        .unwrap_or_default();
    let period = demo_period()?;
    let ledger = Ledger::open(&ledger_path, crate::ledger::Access::ReadOnly)?;
    let (status, _, _) =
        crate::attestation::status_ledger::from_ledger(&ledger, &period, t(AS_OF)?, None)?;
    // The quarter's attestation at the head its sign-offs were made at (the newest sign-off's
    // head: entries recorded after it, such as Q4's first evidence, do not change it).
    let signed_head = ledger
        .entries_of_kind(crate::format::entry::Kind::Signoff, None)?
        .last()
        .and_then(|e| {
            crate::format::payload::decode::<crate::format::payload::SignoffPayload>(&e.payload)
                .ok()
        })
        .map(|s| s.head);
    let attestation = crate::attestation::attest::build_at(&ledger, &period, signed_head)?;
    Ok(Summary {
        dir: dir.to_path_buf(),
        ledger: ledger_path,
        parties,
        entries: report.entries,
        evidence: count,
        verified: report.ok(),
        head,
        status,
        attestation,
    })
}
