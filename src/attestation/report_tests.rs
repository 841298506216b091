//! Unit tests of the report model (words, ranges, flags).

use super::*;
use chrono::NaiveDate;

fn window(from: &str, to: &str, state: &'static str) -> Window {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    Window {
        from: d(from),
        to: d(to),
        due: true,
        state,
        due_by: d(to),
        evidence: Vec::new(),
    }
}

fn duty(status: Status, flags: &[&str]) -> Duty {
    Duty {
        role: "customer",
        party: "acme".to_string(),
        raci: "RA".to_string(),
        status,
        due_by: None,
        windows: Vec::new(),
        evidence: Vec::new(),
        last_performed: None,
        flags: flags.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn flags_in_short_words_one_line_per_kind() {
    let d = duty(
        Status::Fulfilled,
        &[
            "delegated-to:orbit",
            "late-recorded:42",
            "late-recorded:43",
            "waiver-pending:20",
            "signed-by-revoked-key:9",
            "other-kind:11",
            "supporting-only",
        ],
    );
    assert_eq!(
        flag_words(&d.flags),
        [
            "delegated to orbit",
            "late-recorded #42 #43",
            "waiver pending #20",
            "signed by revoked key #9",
            "other kind #11",
            "supporting evidence only",
        ]
    );
    assert!(flag_words(&[]).is_empty());
}

#[test]
fn due_reads_due_by_its_date() {
    let mut d = duty(Status::Due, &[]);
    assert_eq!(status_words(&d), "due");
    d.due_by = Some("2026-12-31".to_string());
    assert_eq!(status_words(&d), "due by 2026-12-31");
    d.status = Status::Missing;
    assert_eq!(status_words(&d), "missing");
}

#[test]
fn runs_of_empty_windows_are_one_range() {
    let mut d = duty(Status::Overdue, &["waiver-disputed:20", "other-kind:11"]);
    d.windows = vec![
        window("2026-01-01", "2026-01-31", "empty"),
        window("2026-02-01", "2026-02-28", "empty"),
        window("2026-03-01", "2026-03-31", "empty"),
        window("2026-04-01", "2026-04-30", "ok"),
        window("2026-05-01", "2026-05-31", "empty"),
        window("2026-06-01", "2026-06-30", "failed"),
        window("2026-07-01", "2026-07-31", "open"),
    ];
    assert_eq!(
        detail(&d, &HashMap::new(), &HashMap::new()),
        "2026-01-01 to 2026-03-31: no evidence (3 windows); \
         2026-05-01 to 2026-05-31: no evidence; \
         2026-06-01 to 2026-06-30: the latest evidence failed; \
         waiver #20 disputed; \
         #11 is of a kind the item does not list: not counted"
    );
}

#[test]
fn waiver_states_in_words() {
    let mut w = WaiverState {
        seq: 20,
        item: "backup.manual-snapshots".to_string(),
        by: "acme".to_string(),
        reason: "none taken".to_string(),
        agreed_by: Vec::new(),
        disputed_by: vec!["cloudtemple".to_string()],
        state: "disputed",
    };
    assert_eq!(waiver_state_words(&w), "disputed by cloudtemple");
    w.state = "unbound";
    assert!(waiver_state_words(&w).contains("not bound"));
    w.state = "pending";
    assert!(waiver_state_words(&w).starts_with("pending"));
}
