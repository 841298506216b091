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
use crate::ledger::entry::{LedgerId, parse_time};
use crate::ledger::evidence::{self, EvidenceInput};
use crate::ledger::payload::{Role, Verdict};
use crate::ledger::verify::{self, Options};
use crate::ledger::{Ledger, NewParty, NoProgress};

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
    pub status: crate::status::StatusReport,
    /// The quarter's attestation and its sign-offs.
    pub attestation: crate::attest::Attestation,
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

/// Build the demo in `dir` (replacing an earlier demo there).
pub fn run(dir: &Path) -> Result<Summary> {
    let ledger_path = dir.join("ledger.db");
    let keys_dir = dir.join("keys");
    let art_dir = dir.join("artifacts");
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
    fs::create_dir_all(&art_dir).map_err(|e| Error::io(&art_dir, &e))?;
    let mut parties = Vec::new();
    for (id, _, role) in PARTIES {
        let key = demo_key(id);
        let files = keyfile::write_key_pair(&keys_dir, id, &key, true)?;
        parties.push((
            id.to_string(),
            role,
            files.secret,
            key.public().fingerprint().to_string(),
        ));
    }
    let id_hash = crypto::sha256(b"vouch demo ledger");
    let mut id = [0u8; 16];
    id.copy_from_slice(&id_hash[..16]);
    let provider = demo_key("cloudtemple");
    let (mut ledger, _) = Ledger::init(
        &ledger_path,
        LedgerId(id),
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
            &demo_key(pid).public(),
            &provider,
            t("2026-07-01T08:05:00Z")?,
        )?;
    }
    // The provider adopts the Cloud Temple matrix; the customer acknowledges it.
    let (matrix, bytes) = crate::matrix::Matrix::parse(MATRIX, "cloudtemple-vm-instances.toml")
        .map(|m| (m, MATRIX.as_bytes().to_vec()))?;
    let mref = crate::adopted::matrix_ref(&matrix, &bytes);
    let bindings = [("provider", "cloudtemple"), ("customer", "acme")]
        .into_iter()
        .map(|(r, p)| (r.to_string(), p.to_string()))
        .collect();
    let adoption = ledger.adopt(
        &provider,
        mref,
        bytes,
        bindings,
        Vec::new(),
        t("2026-07-01T09:00:00Z")?,
    )?;
    ledger.cosign(
        &demo_key("acme"),
        adoption.seq,
        Verdict::Ack,
        None,
        t("2026-07-01T10:00:00Z")?,
    )?;
    let mut count = 0;
    let mut approve = None;
    let mut evs: Vec<&Ev> = EVIDENCE.iter().collect();
    evs.sort_by_key(|e| e.recorded);
    for e in evs {
        let now = t(e.recorded)?;
        let mut artifacts = Vec::new();
        if let Some((name, content)) = e.artifact {
            let p = art_dir.join(name);
            fs::write(&p, content).map_err(|err| Error::io(&p, &err))?;
            artifacts.push(p);
        }
        let fields: BTreeMap<String, Value> = e
            .fields
            .iter()
            .map(|(k, v)| ((*k).to_string(), Value::String((*v).to_string())))
            .collect();
        let input = EvidenceInput {
            item: e.item.into(),
            kind: e.kind.into(),
            outcome: e.outcome.into(),
            performed_at: e.performed.into(),
            fields,
            artifacts,
            note: e.note.map(str::to_string),
            supporting: false,
        };
        let draft = evidence::draft(&input, now, true)?;
        let a = ledger.append(&demo_key(e.by), vec![draft], now, &NoProgress)?;
        count += 1;
        let seq = a.first().map_or(0, |a| a.seq);
        // The counterparties react: the provider acknowledges the passing restore test and
        // disputes the late access review; the auditor approves the restore test later.
        match (e.item, e.outcome) {
            ("backup.restore-tests", "pass") => {
                ledger.cosign(
                    &provider,
                    seq,
                    Verdict::Ack,
                    None,
                    now + chrono::Duration::hours(2),
                )?;
                approve = Some(seq);
            }
            ("access.console-administration", _) => {
                ledger.cosign(
                    &provider,
                    seq,
                    Verdict::Dispute,
                    Some("the review omits the two break-glass accounts on the console".into()),
                    now + chrono::Duration::hours(1),
                )?;
            }
            _ => {}
        }
    }
    // At the quarter-close review the auditor samples and approves the restore test.
    if let Some(seq) = approve {
        ledger.cosign(
            &demo_key("auditor"),
            seq,
            Verdict::Approve,
            Some("restore log sampled and verified at the Q3 close review".into()),
            t("2026-10-14T09:00:00Z")?,
        )?;
    }
    // Both parties sign the quarter's attestation.
    let period = crate::status::Period::parse(PERIOD)
        .ok_or_else(|| Error::new("internal: bad demo period"))?;
    crate::attest::sign(&mut ledger, &provider, &period, t("2026-10-15T09:00:00Z")?)?;
    crate::attest::sign(
        &mut ledger,
        &demo_key("acme"),
        &period,
        t("2026-10-15T10:00:00Z")?,
    )?;
    drop(ledger);
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
    let ledger = Ledger::open(&ledger_path, crate::ledger::store::Access::ReadOnly)?;
    let (status, _, _) = crate::status::from_ledger(&ledger, &period, t(AS_OF)?, None)?;
    let attestation = crate::attest::build(&ledger, &period)?;
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
