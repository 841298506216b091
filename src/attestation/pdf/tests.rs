//! Tests of the rendering as a whole: a sample report built by hand and the demo ledger's
//! report, paginated and rendered, and what the pages and the document information hold.

use printpdf::{Color, Op, Rgb, TextItem};

use super::appendix::{appendix_rows, appendix_table};
use super::how_to_verify::command_and_note;
use super::layout::Layout;
use super::signoff::signoff_rows;
use super::style::{BLACK, BOTTOM, CODE_FILL, STAMP};
use super::summary::grid_cell;
use super::table::{Cell, PAD, Table};
use super::text::Metrics;
use super::{paginate, read_stamp, render};
use crate::attestation::attest::Signoff;
use crate::attestation::report::{
    AdoptionRow, AdoptionVerdict, Cuec, DutyRow, EvidenceNote, EvidenceRow, Exception, ItemRow,
    PartyRow, Report, SectionRows,
};
use crate::attestation::status::{Duty, Status, WaiverState, Window};
use crate::period::Period;
use chrono::NaiveDate;
use std::collections::BTreeMap;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn duty(role: &'static str, party: &str, status: Status, ev: &[u64]) -> Duty {
    Duty {
        role,
        party: party.to_string(),
        raci: "R".to_string(),
        status,
        due_by: None,
        windows: vec![Window {
            from: date("2026-07-01"),
            to: date("2026-09-30"),
            due: true,
            state: if ev.is_empty() { "empty" } else { "ok" },
            due_by: date("2026-09-30"),
            evidence: ev.to_vec(),
        }],
        evidence: ev.to_vec(),
        last_performed: ev.first().map(|_| "2026-07-03".to_string()),
        flags: Vec::new(),
    }
}

fn row(d: Duty) -> DutyRow {
    DutyRow {
        duty: d,
        statement: None,
        performed_by: Vec::new(),
        notes: Vec::new(),
    }
}

/// A small report by hand; `items` extra generated items in a second section.
pub(crate) fn sample(items: usize, verified: bool) -> Report {
    let mut matrix = BTreeMap::new();
    matrix.insert("id", "acme-iaas".to_string());
    matrix.insert(
        "title",
        "ACME IaaS shared responsibility matrix".to_string(),
    );
    matrix.insert("version", "2.1".to_string());
    matrix.insert("sha256", "ab".repeat(32));
    matrix.insert("adopted_in", "3".to_string());
    let mut raci = BTreeMap::new();
    raci.insert("provider".to_string(), "R/A".to_string());
    raci.insert("customer".to_string(), "C".to_string());
    let mut sections = vec![SectionRows {
        id: "S1".to_string(),
        title: "Identity and access — privileged accounts".to_string(),
        items: vec![
            ItemRow {
                id: "IAM-01".to_string(),
                activity: "Review privileged access quarterly: Zugriffsrechte prüfen ✓".to_string(),
                raci: raci.clone(),
                duties: vec![
                    row(duty("provider", "acme", Status::Fulfilled, &[5, 9])),
                    DutyRow {
                        statement: Some(
                            "Review the customer's own privileged accounts".to_string(),
                        ),
                        performed_by: vec!["orbit".to_string()],
                        ..row(Duty {
                            flags: vec![
                                "delegated-to:orbit".to_string(),
                                "late-recorded:7".to_string(),
                                "late-recorded:8".to_string(),
                            ],
                            ..duty("customer", "globex", Status::Overdue, &[7])
                        })
                    },
                ],
                refs: Vec::new(),
            },
            ItemRow {
                id: "IAM-02".to_string(),
                activity: "Rotate break-glass credentials".to_string(),
                raci: raci.clone(),
                duties: vec![row(duty("customer", "globex", Status::Failed, &[11]))],
                refs: vec!["NIST 800-53 IA-5".to_string(), "CCM IAM-02".to_string()],
            },
            ItemRow {
                id: "IAM-03".to_string(),
                activity: "Renew the yearly penetration test".to_string(),
                raci: raci.clone(),
                duties: vec![row(Duty {
                    due_by: Some("2027-01-30".to_string()),
                    ..duty("provider", "acme", Status::Due, &[])
                })],
                refs: Vec::new(),
            },
            ItemRow {
                id: "IAM-04".to_string(),
                activity: "Nothing to do for anyone".to_string(),
                raci: BTreeMap::new(),
                duties: vec![row(Duty {
                    raci: String::new(),
                    windows: Vec::new(),
                    ..duty("", "", Status::NotApplicable, &[])
                })],
                refs: Vec::new(),
            },
        ],
    }];
    let statuses = Status::ALL;
    sections.push(SectionRows {
        id: "S2".to_string(),
        title: "Backups".to_string(),
        items: (0..items)
            .map(|i| ItemRow {
                id: format!("BCK-{i:03}"),
                activity: format!(
                    "Back up the tenant databases and test a restore, item {i}, with a long description that has to wrap over more than one line of the table cell"
                ),
                raci: raci.clone(),
                duties: vec![
                    row(duty("provider", "acme", statuses[i % statuses.len()], &[100 + i as u64])),
                    row(duty("customer", "", Status::Missing, &[])),
                ],
                refs: Vec::new(),
            })
            .collect(),
    });
    let mut summary = BTreeMap::new();
    let mut c = BTreeMap::new();
    c.insert("fulfilled", 1);
    summary.insert("acme".to_string(), c.clone());
    c.insert("failed", 1);
    summary.insert("globex".to_string(), c);
    let mut fields = BTreeMap::new();
    fields.insert("reviewer".to_string(), serde_json::json!("Jane Doe"));
    fields.insert("accounts".to_string(), serde_json::json!(12));
    Report {
        checkpoint: Some(format!(
            "vouch.ledger/{}\n42\n96NbTV3VvBEI8R3UQ2o63st9KvJexbtZUJi2DEGS4oU=\n",
            "0123456789abcdef".repeat(2)
        )),
        signed_checkpoint: None,
        since: None,
        options: crate::attestation::report::ReportOptions {
            appendix: "all".to_string(),
            trust: Vec::new(),
        },
        title: crate::attestation::report::TITLE,
        statement: crate::attestation::report::STATEMENT,
        matrix,
        adoption: AdoptionRow {
            seq: 3,
            by: "acme".to_string(),
            acknowledged_by: vec![AdoptionVerdict {
                party: "globex".to_string(),
                entry: 4,
            }],
            disputed_by: Vec::new(),
        },
        period: Period {
            from: date("2026-07-01"),
            to: date("2026-09-30"),
        },
        parties: vec![
            PartyRow {
                id: "acme".to_string(),
                name: "ACME Cloud GmbH".to_string(),
                role: "provider".to_string(),
                bound_as: Some("provider".to_string()),
                fingerprints: vec!["SHA256:".to_string() + &"Zm9v".repeat(11)],
            },
            PartyRow {
                id: "globex".to_string(),
                name: "Globex Corporation".to_string(),
                role: "customer".to_string(),
                bound_as: Some("customer".to_string()),
                fingerprints: vec![],
            },
            PartyRow {
                id: "orbit".to_string(),
                name: "Orbit Managed Services".to_string(),
                role: "third-party".to_string(),
                bound_as: None,
                fingerprints: vec!["0a1b2c3d".repeat(8)],
            },
            PartyRow {
                id: "auditor".to_string(),
                name: "Bureau Audit & Associés".to_string(),
                role: "auditor".to_string(),
                bound_as: None,
                fingerprints: vec!["5cfeba94".repeat(8)],
            },
        ],
        head: (42, "cd".repeat(32)),
        as_of: "2026-10-05T00:00:00Z".to_string(),
        verified,
        entries: 42,
        findings: if verified {
            vec![]
        } else {
            vec!["entry 17: bad signature".to_string()]
        },
        keys_pinned: true,
        summary,
        sections,
        exceptions: vec![Exception {
            item: "IAM-02".to_string(),
            activity: "Rotate break-glass credentials".to_string(),
            party: "globex".to_string(),
            role: "customer".to_string(),
            status: Status::Failed,
            detail: "evidence #11 — 2026-07-01 to 2026-09-30: failed".to_string(),
            performed_by: Vec::new(),
            notes: vec![EvidenceNote {
                seq: 11,
                note: "vault sealed, rotation aborted, ticket SEC-9".to_string(),
            }],
            responses: vec![crate::attestation::responses::ResponseRow {
                seq: 44,
                party: "globex".to_string(),
                time: "2026-10-02T09:00:00Z".to_string(),
                entry: Some(11),
                text: "vault unsealed on 2026-10-01; rotation rerun in SEC-10".to_string(),
            }],
        }],
        cuecs: vec![Cuec {
            item: "IAM-01".to_string(),
            duty: "Customer reviews its own privileged accounts".to_string(),
            status: Status::Overdue,
            due_by: None,
            role: "customer".to_string(),
            performed_by: vec!["orbit".to_string()],
        }],
        waivers: vec![
            WaiverState {
                seq: 20,
                item: "IAM-02".to_string(),
                by: "globex".to_string(),
                reason: "break-glass accounts are not used in this contract".to_string(),
                agreed_by: Vec::new(),
                disputed_by: Vec::new(),
                state: "pending",
            },
            WaiverState {
                seq: 21,
                item: "BCK-000".to_string(),
                by: "acme".to_string(),
                reason: "no tenant databases".to_string(),
                agreed_by: vec!["globex".to_string()],
                disputed_by: Vec::new(),
                state: "effective",
            },
        ],
        appendix: vec![EvidenceRow {
            seq: 5,
            item: "IAM-01".to_string(),
            performed_at: "2026-07-03".to_string(),
            recorded_at: "2026-07-03T10:00:00Z".to_string(),
            party: "acme".to_string(),
            kind: "access-review".to_string(),
            outcome: "pass".to_string(),
            fields,
            artifacts: vec![("review.pdf".to_string(), "ef".repeat(32))],
            signer: "SHA256:".to_string() + &"Zm9v".repeat(11),
            cosignatures: vec![(6, "globex".to_string(), "accept".to_string())],
            note: Some("quarterly review, two accounts removed".to_string()),
        }, EvidenceRow {
            seq: 12,
            item: "backup.infrastructure".to_string(),
            performed_at: "2026-08-03T22:00:00Z".to_string(),
            recorded_at: "2026-08-04T09:00:00Z".to_string(),
            party: "cloudtemple".to_string(),
            kind: "backup-verification".to_string(),
            outcome: "pass".to_string(),
            fields: [
                ("backups_checked".to_string(), serde_json::json!(1240)),
                ("data_verified".to_string(), serde_json::json!(true)),
                (
                    "statement".to_string(),
                    serde_json::json!("Ensure the administration of the backup infrastructure"),
                ),
            ]
            .into_iter()
            .collect(),
            artifacts: vec![(
                "restore-2026-07-15.log".to_string(),
                format!("bd8ac6cf47daa9ef{}", "0".repeat(48)),
            )],
            signer: "24dc925496a1f4b38c0bfaf8a605d5376533ac062474c7efc7382d8c442d0f7b"
                .to_string(),
            cosignatures: vec![(13, "cloudtemple".to_string(), "dispute".to_string())],
            note: None,
        }],
        appendix_note: None,
        digest: "0123456789abcdef".repeat(4),
        signoffs: vec![
            Signoff {
                seq: 40,
                party: "acme".to_string(),
                fingerprint: "ab".repeat(32),
                time: "2026-10-15T10:00:00Z".to_string(),
                signature: "cd".repeat(64),
                digest: "0123456789abcdef".repeat(4),
                head: 39,
                matches: true,
                valid: true,
                signatory: Some("Jane Roe, CISO".to_string()),
            },
            Signoff {
                seq: 31,
                party: "auditor".to_string(),
                fingerprint: "5cfeba94".repeat(8),
                time: "2026-10-01T08:00:00Z".to_string(),
                signature: "9e".repeat(64),
                digest: "fedcba9876543210".repeat(4),
                head: 30,
                matches: false,
                valid: false,
                signatory: None,
            },
        ],
        how_to_verify: vec![
            "vouch --ledger LEDGER verify --artifacts --trust PARTY    (every hash, signature and chain link)".to_string(),
            format!(
                "expected digest {} at ledger head entry 42",
                "0123456789abcdef".repeat(4)
            ),
        ],
    }
}

fn page_text(pdf: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages).unwrap()
}

#[test]
fn the_stamp_reads_back_and_the_checkpoint_is_printed() {
    let r = sample(3, true);
    let pdf = render(&r).unwrap();
    assert_eq!(read_stamp(&pdf).unwrap(), r.stamp());
    let text = page_text(&pdf);
    assert!(
        text.contains("96NbTV3VvBEI8R3UQ2o63st9KvJexbtZUJi2DEGS4oU="),
        "{text}"
    );
    assert!(read_stamp(b"%PDF-1.3 not really").is_err());
}

#[test]
fn deterministic_pdf() {
    let r = sample(3, true);
    let a = render(&r).unwrap();
    let b = render(&r).unwrap();
    assert!(a.starts_with(b"%PDF"));
    assert!(a == b, "two renders differ");
}

#[test]
fn text_is_extractable() {
    let r = sample(3, true);
    let text = page_text(&render(&r).unwrap());
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("Rotate break-glass credentials"), "{text}");
    assert!(text.contains("overdue"));
    assert!(text.contains(&r.digest));
    assert!(!text.contains("UNVERIFIED"));
}

#[test]
fn unverified_is_stamped_on_every_page() {
    let pdf = render(&sample(40, false)).unwrap();
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    let pages = doc.get_pages();
    assert!(pages.len() > 3);
    for n in pages.keys() {
        let t = doc.extract_text(&[*n]).unwrap();
        assert!(t.contains("UNVERIFIED LEDGER"), "page {n}: {t}");
        assert!(
            t.contains(&format!("page {n} of {}", pages.len())),
            "page {n}: {t}"
        );
    }
}

/// The demo ledger's report, end to end (real data, every section filled).
#[test]
fn demo_report_renders() {
    use crate::ledger::Access;
    use crate::ledger::verify::{self, Options};
    use crate::ledger::{Ledger, NoProgress};
    let dir = tempfile::tempdir().unwrap();
    let demo = crate::demo::run(dir.path()).unwrap();
    let period = Period::parse(crate::demo::PERIOD).unwrap();
    let opts = Options {
        artifacts: true,
        all: true,
        ..Options::default()
    };
    let verification = verify::verify(&demo.ledger, &opts, &NoProgress).unwrap();
    let ledger = Ledger::open(&demo.ledger, Access::ReadOnly).unwrap();
    let r = crate::attestation::report::build(
        &ledger,
        &period,
        &verification,
        crate::attestation::report::Appendix::All,
        None,
        &[],
    )
    .unwrap();
    let l = paginate(&r).unwrap();
    assert!(l.overflows.is_empty(), "{:#?}", l.overflows);
    // Times, party ids and evidence kinds are never split over two lines.
    let runs = all_runs(&l);
    for e in &r.appendix {
        for whole in [&e.performed_at, &e.recorded_at, &e.party, &e.kind] {
            assert!(runs.iter().any(|t| t == whole), "{whole:?} split");
        }
    }
    let pdf = render(&r).unwrap();
    assert_eq!(pdf, render(&r).unwrap());
    let text = page_text(&pdf);
    assert!(text.contains(&r.digest));
    if let Ok(out) = std::env::var("VOUCH_PDF_SAMPLE_DIR") {
        std::fs::write(format!("{out}/demo.pdf"), &pdf).unwrap();
    }
}

#[test]
fn many_items_paginate() {
    let pdf = render(&sample(300, true)).unwrap();
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    assert!(doc.get_pages().len() > 10);
    if let Ok(dir) = std::env::var("VOUCH_PDF_SAMPLE_DIR") {
        std::fs::write(format!("{dir}/big.pdf"), &pdf).unwrap();
        std::fs::write(
            format!("{dir}/small.pdf"),
            render(&sample(3, true)).unwrap(),
        )
        .unwrap();
        std::fs::write(
            format!("{dir}/unverified.pdf"),
            render(&sample(3, false)).unwrap(),
        )
        .unwrap();
    }
}

/// The text runs drawn on each page of the layout (before header and footer).
fn runs(l: &Layout) -> Vec<Vec<String>> {
    l.pages
        .iter()
        .map(|ops| {
            ops.iter()
                .filter_map(|op| match op {
                    Op::ShowText { items } => Some(
                        items
                            .iter()
                            .map(|i| match i {
                                TextItem::Text(t) => t.clone(),
                                _ => String::new(),
                            })
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

fn all_runs(l: &Layout) -> Vec<String> {
    runs(l).concat()
}

#[test]
fn nothing_overflows_and_no_page_is_blank() {
    for r in [sample(3, true), sample(300, false)] {
        let l = paginate(&r).unwrap();
        assert!(l.overflows.is_empty(), "{:#?}", l.overflows);
        for (i, p) in runs(&l).iter().enumerate() {
            assert!(!p.is_empty(), "page {} has no text", i + 1);
        }
    }
}

#[test]
fn overflow_check_can_fail() {
    // A column narrower than one character: the check must notice.
    let mut l = Layout::new(Metrics::load().unwrap());
    l.table(
        &Table {
            widths: &[0.005, 0.995],
            ..Table::default()
        },
        &[vec!["WW".into(), "x".into()]],
    );
    assert!(!l.overflows.is_empty());
}

#[test]
fn section_titles_come_before_ids() {
    let r = sample(3, true);
    let runs = all_runs(&paginate(&r).unwrap());
    // The matrix heading, and the grid row: the title, then the id small after it.
    // (The grid's label column wraps the title; the id follows its last line.)
    let text = runs.join(" ");
    let title = "Identity and access — privileged accounts (S1)";
    assert!(text.matches(title).count() >= 2, "{runs:?}");
    assert!(!runs.iter().any(|t| t.starts_with("S1 ")), "{runs:?}");
}

#[test]
fn grid_counts_fulfilled_duties() {
    let d = |s| duty("provider", "acme", s, &[1]);
    let (f, m, n) = (
        d(Status::Fulfilled),
        d(Status::Missing),
        d(Status::NotApplicable),
    );
    assert_eq!(
        grid_cell(&[&f, &m, &n]),
        Some((Status::Missing, Some((1, 2))))
    );
    assert_eq!(grid_cell(&[&n]), Some((Status::NotApplicable, None)));
    assert_eq!(grid_cell(&[]), None);
    let runs = all_runs(&paginate(&sample(3, true)).unwrap());
    // Section S1: acme has two duties (fulfilled, due); globex two (overdue, failed); the
    // item that applies to nobody has no column.
    assert!(runs.iter().any(|t| t == "1 of 2 fulfilled"), "{runs:?}");
    assert!(runs.iter().any(|t| t == "0 of 2 fulfilled"), "{runs:?}");
}

#[test]
fn appendix_keeps_ids_whole_and_shortens_hashes() {
    let r = sample(3, true);
    let l = paginate(&r).unwrap();
    let pages = runs(&l);
    let page = pages
        .iter()
        .find(|p| p.iter().any(|t| t == "Evidence appendix"))
        .unwrap();
    for whole in [
        "2026-08-03T22:00:00Z",
        "2026-08-04T09:00:00Z",
        "cloudtemple",
        "backup-verification",
        "backups_checked = 1240",
        "data_verified = true",
        "restore-2026-07-15.log",
    ] {
        assert!(
            page.iter().any(|t| t == whole),
            "{whole:?} not a run in {page:?}"
        );
    }
    // The signer's fingerprint and the artefact's SHA-256 in full, in even lines of hex
    // digits; nothing cut short.
    let joined = page.concat();
    assert!(
        joined.contains("24dc925496a1f4b38c0bfaf8a605d5376533ac062474c7efc7382d8c442d0f7b"),
        "{page:?}"
    );
    assert!(joined.contains(&format!("bd8ac6cf47daa9ef{}", "0".repeat(48))));
    assert!(!joined.contains('…'), "{page:?}");
    let fp_lines: Vec<&String> = page.iter().filter(|t| t.starts_with("24dc9254")).collect();
    assert!(fp_lines.iter().all(|t| t.len() % 8 == 0), "{fp_lines:?}");
    // A long field value wraps after `key = ` at a space, never inside a word.
    assert!(
        page.iter().any(|t| t.starts_with("statement = ")),
        "{page:?}"
    );
    for word in "Ensure the administration of the backup infrastructure".split(' ') {
        assert!(
            page.iter().any(|t| t.split(' ').any(|w| w == word)),
            "{word:?} split in {page:?}"
        );
    }
    // The table cells themselves: every run within its column.
    let m = Metrics::load().unwrap();
    let lay = Layout::new(m);
    let t = appendix_table();
    let rows = appendix_rows(&r);
    let widths = lay.fit(&t, &rows);
    for row in &rows {
        for (c, w) in row.iter().zip(&widths) {
            let inner = w - 2.0 * PAD;
            for line in lay.lay(c, t.size, inner) {
                for run in line {
                    let end = run.dx + lay.m.width(&run.text, run.style.size(t.size));
                    assert!(end <= inner + 0.01, "{:?} in {inner}", run.text);
                }
            }
        }
    }
}

#[test]
fn signoff_table_lists_bound_parties_and_signers() {
    let r = sample(3, true);
    let rows = signoff_rows(&r);
    let text = |c: &Cell| {
        c.spans
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let table: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(text).collect()).collect();
    // Bound parties in report order, then the unbound auditor who signed.
    assert_eq!(table.len(), 3, "{table:?}");
    // The signatory, when the sign-off names one, under the party.
    assert_eq!(
        table[0][0],
        "ACME Cloud GmbH (acme) signed by Jane Roe, CISO"
    );
    assert_eq!(table[0][2], "#40 2026-10-15T10:00:00Z");
    // The key fingerprint and the digest signed, in full.
    assert_eq!(
        table[0][3],
        format!("{} {}", "ab".repeat(32), "0123456789abcdef".repeat(4))
    );
    assert_eq!(table[0][4], "entry 39");
    assert_eq!(table[0][5], "matches this attestation");
    assert_eq!(table[1][0], "Globex Corporation (globex)");
    assert_eq!(table[1][5], "not signed");
    assert_eq!(table[2][0], "Bureau Audit & Associés (auditor)");
    assert_eq!(table[2][1], "auditor not bound");
    assert_eq!(table[2][5], "does NOT match (signed at head 30)");
    assert!(rows[2][5].spans[0].style.colour == STAMP);
    // Below the table, each signature in full, labelled with the party.
    let runs = all_runs(&paginate(&r).unwrap());
    assert!(runs.iter().any(|t| {
        t.starts_with("signed by Jane Roe, CISO for ACME Cloud GmbH (acme) — sign-off entry #40")
    }));
    assert!(runs.iter().any(|t| t == &"cd".repeat(32)), "{runs:?}");
    assert_eq!(runs.iter().filter(|t| *t == &"9e".repeat(32)).count(), 2);
    // No sign-off and no bound party: said so.
    let mut none = sample(3, true);
    none.signoffs.clear();
    for p in &mut none.parties {
        p.bound_as = None;
    }
    assert!(signoff_rows(&none).is_empty());
    assert!(
        all_runs(&paginate(&none).unwrap())
            .iter()
            .any(|t| t == "Not signed.")
    );
}

#[test]
fn how_to_verify_boxes_commands() {
    assert_eq!(
        command_and_note(
            "vouch attest --period 2026-Q3    (recomputes the digest (and sign-offs))"
        ),
        Some((
            "vouch attest --period 2026-Q3",
            "recomputes the digest (and sign-offs)"
        ))
    );
    assert_eq!(command_and_note("expected: digest abc (at head 3)"), None);
    assert_eq!(command_and_note("Without vouch: see FORMAT.md."), None);
    let r = sample(3, true);
    let l = paginate(&r).unwrap();
    let runs = all_runs(&l);
    assert!(
        runs.iter()
            .any(|t| t == "vouch --ledger LEDGER verify --artifacts --trust PARTY"),
        "{runs:?}"
    );
    assert!(
        runs.iter()
            .any(|t| t == "every hash, signature and chain link")
    );
    assert!(!runs.iter().any(|t| t.contains("(every hash")));
    // The command sits on a grey box.
    assert!(l.pages.iter().flatten().any(|op| matches!(
        op,
        Op::SetFillColor { col: Color::Rgb(Rgb { r, .. }) } if *r == CODE_FILL.0
    )));
    // The digest and the head stand out, followed by the checkpoint text.
    let head = runs
        .iter()
        .position(|t| *t == format!("entry 42, hash {}", "cd".repeat(32)))
        .unwrap();
    assert_eq!(runs[head - 2], r.digest);
    assert_eq!(
        runs[runs.len() - 1],
        "96NbTV3VvBEI8R3UQ2o63st9KvJexbtZUJi2DEGS4oU="
    );
}

#[test]
fn info_and_running_header_name_the_period() {
    let r = sample(3, true);
    let pdf = render(&r).unwrap();
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    let info = doc
        .trailer
        .get(b"Info")
        .and_then(|o| o.as_reference())
        .and_then(|id| doc.get_dictionary(id))
        .unwrap();
    let text = |k: &[u8]| {
        let b = info.get(k).unwrap().as_str().unwrap();
        let units: Vec<u16> = b[2..]
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).unwrap()
    };
    assert_eq!(
        text(b"Title"),
        "Shared responsibility attestation — acme-iaas 2026-Q3"
    );
    assert_eq!(text(b"Keywords"), format!("acme-iaas,2026-Q3,{}", r.digest));
    assert!(info.get(b"GTS_PDFXVersion").is_err());
    let header =
        "ACME IaaS shared responsibility matrix · period 2026-Q3 (2026-07-01 to 2026-09-30)";
    let pages = doc.get_pages();
    for n in pages.keys() {
        let t = doc.extract_text(&[*n]).unwrap();
        assert!(t.contains(header), "page {n}: {t}");
    }
    assert!(page_text(&pdf).contains("2026-Q3 (2026-07-01 to 2026-09-30)"));
}

#[test]
fn headings_and_table_headers_stay_with_their_rows() {
    let mut l = Layout::new(Metrics::load().unwrap());
    l.para("first page", 9.0, false, BLACK);
    // Room for the heading and the header row, not for the five-line first row.
    l.y = BOTTOM + 60.0;
    l.heading("Kept together", 13.0);
    let long = "word ".repeat(60);
    l.table(
        &Table {
            header: Some(&["a", "b"]),
            widths: &[0.2, 0.8],
            size: 8.0,
            caption: Some("Kept together"),
            ..Table::default()
        },
        &[
            vec!["row one".into(), Cell::from(long.as_str())],
            vec!["row two".into(), "x".into()],
        ],
    );
    let pages = runs(&l);
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert_eq!(pages[0], ["first page"]);
    assert_eq!(pages[1][0], "Kept together");
    assert!(pages[1].iter().any(|t| t == "row one"));
}

#[test]
fn short_tables_are_not_split() {
    let mut l = Layout::new(Metrics::load().unwrap());
    l.para("first page", 9.0, false, BLACK);
    let rows: Vec<Vec<Cell>> = (0..3)
        .map(|i| vec![format!("row {i}").into(), "x".into()])
        .collect();
    let t = Table {
        header: Some(&["a", "b"]),
        widths: &[0.5, 0.5],
        size: 8.0,
        ..Table::default()
    };
    // Room for the header row and two rows, not three.
    l.y = BOTTOM + 3.0 * (8.0 * 1.25 + 2.0 * PAD) + 2.0;
    l.table(&t, &rows);
    let pages = runs(&l);
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert_eq!(pages[0], ["first page"]);
    assert_eq!(
        pages[1],
        ["a", "b", "row 0", "x", "row 1", "x", "row 2", "x"]
    );
    // The same table where it fits stays on its page.
    let mut l = Layout::new(Metrics::load().unwrap());
    l.table(&t, &rows);
    assert_eq!(l.pages.len(), 1);
}

#[test]
fn long_tables_repeat_caption_and_header() {
    let l = paginate(&sample(300, true)).unwrap();
    let pages = runs(&l);
    let continued: Vec<&Vec<String>> = pages
        .iter()
        .filter(|p| p.first().is_some_and(|t| t == "Backups (S2) (continued)"))
        .collect();
    assert!(continued.len() > 3);
    for p in continued {
        assert_eq!(p[1], "item", "{p:?}");
    }
}

/// Draw `part` from every height of the page down to its foot: its heading (and the
/// heading's introduction) always lands on the page of `follower`, the first content after
/// them.
fn heading_stays_with(part: fn(&mut Layout, &Report), r: &Report, heading: &str, follower: &str) {
    let mut y = super::style::TOP;
    while y > BOTTOM {
        let mut l = Layout::new(Metrics::load().unwrap());
        l.para("first page", 9.0, false, BLACK);
        l.y = y;
        part(&mut l, r);
        l.ensure(0.0);
        assert!(l.overflows.is_empty(), "at y = {y}: {:#?}", l.overflows);
        let pages = runs(&l);
        let at = |t: &str| pages.iter().position(|p| p.iter().any(|x| x == t));
        let h = at(heading).unwrap_or_else(|| panic!("no {heading:?} in {pages:?}"));
        let f = at(follower).unwrap_or_else(|| panic!("no {follower:?} in {pages:?}"));
        assert_eq!(
            h, f,
            "at y = {y}: {heading:?} on page {h}, {follower:?} on page {f}"
        );
        y -= 7.0;
    }
}

#[test]
fn headings_are_never_left_at_the_foot_of_a_page() {
    let r = sample(3, true);
    // The checkpoint heading and caption went on one page, the checkpoint box on the next.
    heading_stays_with(
        super::how_to_verify::checkpoints,
        &r,
        "Checkpoints",
        "vouch.ledger/0123456789abcdef0123456789abcdef",
    );
    heading_stays_with(super::exceptions::exceptions, &r, "Exceptions", "IAM-02");
    heading_stays_with(super::exceptions::exceptions, &r, "Waivers", "#20");
    heading_stays_with(super::appendix::appendix, &r, "Evidence appendix", "#5");
    heading_stays_with(
        super::summary::summary,
        &r,
        "Status by section and party",
        "section",
    );
    heading_stays_with(super::summary::summary, &r, "Summary", "party");
}

#[test]
fn matrix_rows_show_due_dates_flags_statements_and_performers() {
    let r = sample(3, true);
    let runs = all_runs(&paginate(&r).unwrap());
    let text = runs.join(" ");
    for whole in [
        "due by",
        "2027-01-30",
        "late-recorded #7",
        "performed by orbit",
        "not bound",
        // One role a line in the RACI column.
        "provider R/A",
    ] {
        assert!(
            runs.iter().any(|t| t == whole) || text.contains(whole),
            "{whole:?} not in {runs:?}"
        );
    }
    assert!(
        text.contains("(customer) performed by orbit (third-party) Review the customer's own"),
        "{text}"
    );
    // An item that applies to nobody: a dash, never "unbound ()" or an empty role.
    for bad in ["unbound", "()", "(none)", "(, "] {
        assert!(!runs.iter().any(|t| t.contains(bad)), "{bad:?} in {runs:?}");
    }
}

#[test]
fn summary_table_has_a_column_for_every_status_and_names_parties_as_the_grid() {
    let r = sample(3, true);
    let pages = runs(&paginate(&r).unwrap());
    let page = pages
        .iter()
        .find(|p| p.iter().any(|t| t == "Summary"))
        .unwrap();
    let start = page.iter().position(|t| t == "party").unwrap();
    let header: Vec<&str> = page[start..start + 12].iter().map(String::as_str).collect();
    assert_eq!(
        header,
        [
            "party",
            "fulfilled",
            "due",
            "overdue",
            "failed",
            "disputed",
            "missing",
            "waiver-",
            "pending",
            "not-",
            "applicable",
            "informational"
        ]
    );
    // A row: the party as in the grid, and nine counts.
    let row = page.iter().position(|t| t == "ACME Cloud GmbH").unwrap();
    assert_eq!(page[row + 1], "(acme)");
    assert!(
        page[row + 2..row + 11]
            .iter()
            .all(|t| t.parse::<u64>().is_ok()),
        "{page:?}"
    );
    // The grid: a "section" header and the same party names.
    let grid = page.iter().position(|t| t == "section").unwrap();
    assert_eq!(page[grid + 1..grid + 3], ["ACME Cloud GmbH", "(acme)"]);
    // The legend names every status, due and waiver-pending too.
    for s in Status::ALL {
        assert!(
            page.iter().any(|t| t == s.as_str()),
            "no legend entry {s:?}"
        );
    }
}

#[test]
fn notes_waivers_acknowledgements_and_the_appendix_scope_are_shown() {
    let mut r = sample(3, true);
    let text = all_runs(&paginate(&r).unwrap()).join(" ");
    for needle in [
        // The cover: who adopted, who acknowledged.
        "3, by ACME Cloud GmbH (acme)",
        "Globex Corporation (globex) in entry 4",
        // The exception's evidence note, and the appendix's.
        "#11 note: \u{201c}vault sealed, rotation aborted,",
        "note: \u{201c}quarterly review, two",
        // Waivers: reason, author, who agreed, state.
        "break-glass accounts are not used in",
        "pending (no",
        "no tenant databases globex effective",
        "every evidence entry counted for a duty",
    ] {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
    r.options.appendix = "exceptions".to_string();
    let text = all_runs(&paginate(&r).unwrap()).join(" ");
    assert!(
        text.contains("The evidence counted for the exceptions only"),
        "{text}"
    );
    assert!(!text.contains("Every evidence entry counted"), "{text}");
    // No waivers: said so.
    r.waivers.clear();
    let runs = all_runs(&paginate(&r).unwrap());
    let at = runs.iter().position(|t| t == "Waivers").unwrap();
    assert_eq!(runs[at + 1], "No waivers.");
}
