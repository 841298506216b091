//! The closing section: how to verify the report (commands boxed, with their notes), the
//! digest and ledger head to compare, and the checkpoints the report was built on
//! (`schema/FORMAT.md` §13).

use super::layout::Layout;
use super::style::{BLACK, CODE_FILL, GREY_TEXT, MARGIN_X, NOTE_FILL, WIDTH};
use super::text::hex_lines;
use crate::attestation::report::Report;

/// A "how to verify" line: the command and the explanation after it in parentheses
/// (separated by at least two spaces), or `None` when the line is prose.
pub(super) fn command_and_note(line: &str) -> Option<(&str, &str)> {
    let t = line.trim_end();
    let inner = t.strip_suffix(')')?;
    let open = inner.rfind("  (")?;
    let cmd = inner[..open].trim_end();
    let note = &inner[open + 3..];
    (!cmd.is_empty() && !note.is_empty()).then_some((cmd, note))
}

pub(super) fn how_to_verify(l: &mut Layout, r: &Report) {
    l.heading("How to verify", 16.0);
    let size = 8.0;
    let lh = size * 1.35;
    for line in &r.how_to_verify {
        let Some((cmd, note)) = command_and_note(line) else {
            l.para(line, 8.5, false, BLACK);
            l.gap(5.0);
            continue;
        };
        let cmd_lines = l.m.wrap(cmd, size, WIDTH - 12.0);
        let note_lines = l.m.wrap(note, size, WIDTH - 12.0);
        let box_h = cmd_lines.len() as f32 * lh + 6.0;
        l.ensure(box_h + note_lines.len() as f32 * lh + 2.0);
        l.rect(MARGIN_X, l.y - box_h, WIDTH, box_h, Some(CODE_FILL), false);
        l.gap(3.0);
        for c in cmd_lines {
            l.y -= lh;
            l.text_at(MARGIN_X + 6.0, l.y + size * 0.3, size, false, BLACK, &c);
        }
        l.gap(3.0);
        for n in note_lines {
            l.y -= lh;
            l.text_at(MARGIN_X + 6.0, l.y + size * 0.3, size, false, GREY_TEXT, &n);
        }
        l.gap(7.0);
    }
    l.gap(4.0);
    // The two values to compare, boxed.
    let rows = [
        ("Attestation digest", r.digest.clone(), 10.0),
        (
            "Ledger head",
            format!("entry {}, hash {}", r.head.0, r.head.1),
            9.0,
        ),
    ];
    let wrapped: Vec<(&str, Vec<String>, f32)> = rows
        .iter()
        .map(|(k, v, s)| (*k, l.m.wrap(v, *s, WIDTH - 16.0), *s))
        .collect();
    let h: f32 = wrapped
        .iter()
        .map(|(_, v, s)| 8.0 * 1.4 + v.len() as f32 * s * 1.35 + 4.0)
        .sum::<f32>()
        + 8.0;
    l.ensure(h);
    l.rect(MARGIN_X, l.y - h, WIDTH, h, Some(NOTE_FILL), true);
    l.gap(4.0);
    for (k, v, s) in wrapped {
        l.y -= 8.0 * 1.4;
        l.text_at(MARGIN_X + 8.0, l.y + 2.5, 8.0, false, GREY_TEXT, k);
        for line in v {
            l.y -= s * 1.35;
            l.text_at(MARGIN_X + 8.0, l.y + s * 0.3, s, true, BLACK, &line);
        }
        l.gap(4.0);
    }
    l.gap(4.0);
    checkpoints(l, r);
}

/// The checkpoint text the report was built on, and the newest signed checkpoint.
pub(super) fn checkpoints(l: &mut Layout, r: &Report) {
    let mut blocks: Vec<(String, String)> = Vec::new();
    if let Some(c) = &r.checkpoint {
        blocks.push((
            "The ledger this report was built on, as a checkpoint (schema/FORMAT.md §13: origin, entries, Merkle root). `vouch verify --report` checks that the ledger still holds these entries."
                .to_string(),
            c.clone(),
        ));
    }
    if let Some((seq, note)) = &r.signed_checkpoint {
        blocks.push((
            format!(
                "The newest signed checkpoint in the ledger (entry {seq}), a C2SP signed note:"
            ),
            note.clone(),
        ));
    }
    if blocks.is_empty() {
        return;
    }
    let size = 8.0;
    let lh = size * 1.35;
    l.heading("Checkpoints", 12.0);
    for (caption, text) in blocks {
        let lines: Vec<String> = text
            .lines()
            .flat_map(|t| {
                if t.is_empty() {
                    vec![String::new()]
                } else {
                    hex_lines(&l.m, t, size, WIDTH - 12.0)
                }
            })
            .collect();
        // The caption goes with its box (and the first caption with the heading).
        let caption_lines = l.m.wrap(&caption, 8.0, WIDTH);
        let box_h = lines.len() as f32 * lh + 6.0;
        l.ensure(caption_lines.len() as f32 * 8.0 * 1.3 + 2.0 + box_h);
        l.para(&caption, 8.0, false, GREY_TEXT);
        l.gap(2.0);
        l.rect(MARGIN_X, l.y - box_h, WIDTH, box_h, Some(CODE_FILL), false);
        l.gap(3.0);
        for t in lines {
            l.y -= lh;
            l.text_at(MARGIN_X + 6.0, l.y + size * 0.3, size, false, BLACK, &t);
        }
        l.gap(8.0);
    }
}
