//! The summary section: the duties of each party by status, and the section × party grid
//! of worst statuses with its legend.

use super::labels::{party_cell, party_label, short};
use super::layout::Layout;
use super::style::{
    BLACK, BOTTOM, GREY_TEXT, HEADER_FILL, MARGIN_X, Rgb3, Style, WHITE, WIDTH, status_colour,
};
use super::table::{Cell, SWATCH, Table};
use super::text::Metrics;
use crate::attestation::report::Report;
use crate::attestation::status::{Duty, Status};

/// How bad a status is, for the grid's "worst status" cell: a failure outranks a duty with
/// no evidence at all, which outranks a dispute, a gap, and so on down to nothing to prove.
fn severity(s: Status) -> u8 {
    match s {
        Status::Failed => 8,
        Status::Missing => 7,
        Status::Disputed => 6,
        Status::Overdue => 5,
        Status::WaiverPending => 4,
        Status::Due => 3,
        Status::Fulfilled => 2,
        Status::NotApplicable => 1,
        Status::Informational => 0,
    }
}

pub(super) fn summary(l: &mut Layout, r: &Report) {
    l.heading("Summary", 16.0);
    l.para(
        "Number of duties of each party in the matrix, by status.",
        8.5,
        false,
        GREY_TEXT,
    );
    l.gap(3.0);
    let mut header: Vec<&str> = vec!["party"];
    header.extend(Status::ALL.map(Status::as_str));
    let rows: Vec<Vec<Cell>> = r
        .summary_order()
        .into_iter()
        .filter_map(|party| r.summary.get(party).map(|counts| (party, counts)))
        .map(|(party, counts)| {
            let mut row: Vec<Cell> = vec![party_cell(r, party)];
            row.extend(Status::ALL.iter().map(|s| {
                let n = counts.get(s.as_str()).copied().unwrap_or(0);
                Cell::styled(
                    n.to_string(),
                    Style::coloured(if n == 0 { GREY_TEXT } else { BLACK }),
                )
            }));
            row
        })
        .collect();
    l.table(
        &Table {
            header: Some(&header),
            widths: &[0.19, 0.09, 0.09, 0.09, 0.09, 0.09, 0.09, 0.09, 0.09, 0.09],
            size: 8.0,
            caption: Some("Summary"),
            centre: &[1, 2, 3, 4, 5, 6, 7, 8, 9],
            grow: 1.3,
            ..Table::default()
        },
        &rows,
    );
    grid(l, r);
}

/// What one grid cell says: the worst status, and how many of the duties owed (neither
/// waived nor informational) are fulfilled.
pub(super) fn grid_cell(duties: &[&Duty]) -> Option<(Status, Option<(usize, usize)>)> {
    let worst = duties
        .iter()
        .map(|d| d.status)
        .max_by_key(|st| severity(*st))?;
    let owed = duties
        .iter()
        .filter(|d| !matches!(d.status, Status::NotApplicable | Status::Informational))
        .count();
    let done = duties
        .iter()
        .filter(|d| d.status == Status::Fulfilled)
        .count();
    Some((worst, (owed > 0).then_some((done, owed))))
}

/// The first of `options` that fits `max` at `size`, else the last cut to fit.
fn pick(m: &Metrics, options: &[String], size: f32, max: f32) -> String {
    options
        .iter()
        .find(|o| m.width(o, size) <= max)
        .cloned()
        .unwrap_or_else(|| m.truncate(options.last().map_or("", String::as_str), size, max))
}

/// The section × party picture: each cell the worst status of that party's duties there,
/// and how many of them are fulfilled.
fn grid(l: &mut Layout, r: &Report) {
    let cols = grid_columns(r);
    l.heading("Status by section and party", 13.0);
    l.para(
        "Each cell shows the worst status of that party's duties in the section (failed, then missing, disputed, overdue, waiver-pending, due, fulfilled, not-applicable, informational) and how many of the duties it owes there (neither waived nor informational) are fulfilled; a dash means the party has no duty there.",
        8.5,
        false,
        GREY_TEXT,
    );
    l.gap(4.0);
    if cols.is_empty() || r.sections.is_empty() {
        grid_legend(l);
        l.gap(10.0);
        l.para("No duties in the matrix.", 9.0, false, BLACK);
        return;
    }
    let label_w = WIDTH * 0.34;
    let size = 8.0;
    let f = GridFrame {
        label_w,
        col_w: ((WIDTH - label_w) / cols.len() as f32).min(96.0),
        size,
        small: 8.0,
        lh: size * 1.25,
    };
    let head: Vec<Vec<String>> = cols
        .iter()
        .map(|c| l.m.wrap(&column_name(r, c), f.size, f.col_w - 4.0))
        .collect();
    let head_h = head.iter().map(Vec::len).max().unwrap_or(1) as f32 * f.lh + 6.0;
    let labels = grid_labels(l, r, &f);
    let row_h = |n: usize| n.max(2) as f32 * f.lh + 6.0;
    // The legend, the header row and the first row go on one page, with the heading.
    l.ensure(
        legend_height(l) + 10.0 + head_h + labels.first().map_or(20.0, |(t, _)| row_h(t.len())),
    );
    grid_legend(l);
    l.gap(10.0);
    grid_head(l, &f, &head, head_h);
    for (s, (label, id)) in r.sections.iter().zip(&labels) {
        let h = row_h(label.len());
        if l.y - h < BOTTOM {
            l.new_page();
            let cs = 8.0;
            l.y -= cs * 1.4;
            l.text_at(
                MARGIN_X,
                l.y + cs * 0.3,
                cs,
                false,
                GREY_TEXT,
                "Status by section and party (continued)",
            );
            l.gap(3.0);
            grid_head(l, &f, &head, head_h);
        }
        let top = l.y;
        grid_label(l, &f, label, id.as_ref(), top, h);
        for (i, c) in cols.iter().enumerate() {
            let duties: Vec<&Duty> = s
                .items
                .iter()
                .flat_map(|it| &it.duties)
                .map(|d| &d.duty)
                .filter(|d| has_holder(d) && party_label(&d.party, d.role) == *c)
                .collect();
            let x = MARGIN_X + f.label_w + i as f32 * f.col_w;
            grid_square(l, &f, &duties, x, top, h);
        }
        l.y -= h;
    }
    l.gap(8.0);
}

/// The grid's measures: the label column, the width of a party column, the text sizes and
/// the line height.
struct GridFrame {
    label_w: f32,
    col_w: f32,
    size: f32,
    small: f32,
    lh: f32,
}

/// A grid row's label: the section title, wrapped, and its id in grey after it when there
/// is room. (title lines, where the id goes: line, x offset, text)
type Label = (Vec<String>, Option<(usize, f32, String)>);

/// Whether a duty has a holder: a bound party, or at least a role (an item that applies to
/// nobody, or only informs, has neither and no column in the grid).
fn has_holder(d: &Duty) -> bool {
    !d.party.is_empty() || !d.role.is_empty()
}

/// A grid column's name: "Display Name (id)" as in the summary table, or the role and "not
/// bound".
fn column_name(r: &Report, col: &str) -> String {
    if r.parties.iter().any(|p| p.id == col) {
        r.party_name(col)
    } else {
        col.to_string()
    }
}

/// The grid's columns: parties in the order the report lists them, then any other duty
/// holder.
fn grid_columns(r: &Report) -> Vec<String> {
    let mut cols: Vec<String> = Vec::new();
    let mut holders: Vec<String> = Vec::new();
    for s in &r.sections {
        for it in &s.items {
            for d in it.duties.iter().map(|d| &d.duty) {
                if !has_holder(d) {
                    continue;
                }
                let p = party_label(&d.party, d.role);
                if !holders.contains(&p) {
                    holders.push(p);
                }
            }
        }
    }
    for p in &r.parties {
        if holders.contains(&p.id) {
            cols.push(p.id.clone());
        }
    }
    for h in holders {
        if !cols.contains(&h) {
            cols.push(h);
        }
    }
    cols
}

/// Where each status of the legend goes: (line, x).
fn legend_places(l: &Layout) -> Vec<(usize, f32)> {
    let size = 8.0;
    let (mut line, mut x) = (0, MARGIN_X);
    Status::ALL
        .iter()
        .map(|s| {
            let w = SWATCH + 3.0 + l.m.width(s.as_str(), size) + 10.0;
            if x + w > MARGIN_X + WIDTH {
                x = MARGIN_X;
                line += 1;
            }
            let at = (line, x);
            x += w + 2.0;
            at
        })
        .collect()
}

/// The legend's height.
fn legend_height(l: &Layout) -> f32 {
    let lines = legend_places(l).last().map_or(1, |(line, _)| line + 1);
    lines as f32 * 12.0 + 4.0
}

/// The legend: a swatch and the name of each status (every status, `due` and
/// `waiver-pending` too), in as many lines as it takes.
fn grid_legend(l: &mut Layout) {
    let size = 8.0;
    l.ensure(legend_height(l));
    let mut current = usize::MAX;
    for (s, (line, x)) in Status::ALL.into_iter().zip(legend_places(l)) {
        if line != current {
            current = line;
            l.y -= 12.0;
        }
        l.rect(
            x,
            l.y,
            SWATCH + 2.0,
            SWATCH + 2.0,
            Some(status_colour(s)),
            true,
        );
        l.text_at(x + SWATCH + 5.0, l.y + 1.0, size, false, BLACK, s.as_str());
    }
}

/// The grid's header row: "section" over the labels, the party columns' names centred.
fn grid_head(l: &mut Layout, f: &GridFrame, head: &[Vec<String>], head_h: f32) {
    let w = f.label_w + head.len() as f32 * f.col_w;
    l.rect(MARGIN_X, l.y - head_h, w, head_h, Some(HEADER_FILL), false);
    l.text_at(
        MARGIN_X + 2.0,
        l.y - f.lh + 1.0,
        f.size,
        true,
        BLACK,
        "section",
    );
    for (i, lines) in head.iter().enumerate() {
        let x = MARGIN_X + f.label_w + i as f32 * f.col_w;
        for (k, line) in lines.iter().enumerate() {
            let w = l.m.width(line, f.size);
            let y = l.y - (k as f32 + 1.0) * f.lh + 1.0;
            l.text_at(x + (f.col_w - w) / 2.0, y, f.size, true, BLACK, line);
        }
    }
    l.y -= head_h;
}

/// The label of each row: the section title, and where its id goes.
fn grid_labels(l: &Layout, r: &Report, f: &GridFrame) -> Vec<Label> {
    let (size, small, label_w) = (f.size, f.small, f.label_w);
    r.sections
        .iter()
        .map(|s| {
            let lines = l.m.wrap(&s.title, size, label_w - 6.0);
            let id = format!("({})", s.id);
            let idw = l.m.width(&id, small);
            let last = lines.len().saturating_sub(1);
            let end = lines.last().map_or(0.0, |t| l.m.width(t, size));
            let place = if end + 4.0 + idw <= label_w - 6.0 {
                Some((last, end + 4.0, id))
            } else if lines.len() < 2 && idw <= label_w - 6.0 {
                Some((1, 0.0, id))
            } else {
                None
            };
            (lines, place)
        })
        .collect()
}

/// A row's label block, centred in the row of height `h` like the cells.
fn grid_label(
    l: &mut Layout,
    f: &GridFrame,
    label: &[String],
    id: Option<&(usize, f32, String)>,
    top: f32,
    h: f32,
) {
    let (size, small, lh) = (f.size, f.small, f.lh);
    let n = label.len().max(id.map_or(0, |(k, _, _)| k + 1));
    let block_top = top - (h - n as f32 * lh) / 2.0;
    let line_y = |k: usize| block_top - (k as f32 + 1.0) * lh + size * 0.3;
    for (k, line) in label.iter().enumerate() {
        l.text_at(MARGIN_X, line_y(k), size, false, BLACK, line);
    }
    if let Some((k, dx, id)) = id {
        l.text_at(MARGIN_X + dx, line_y(*k), small, false, GREY_TEXT, id);
    }
}

/// One grid cell at `x` in the row from `top` down `h`: filled with the colour of the worst
/// status, its name and the count of fulfilled duties; a dash when the party has no duty.
fn grid_square(l: &mut Layout, f: &GridFrame, duties: &[&Duty], x: f32, top: f32, h: f32) {
    let (col_w, small) = (f.col_w, f.small);
    let inner = col_w - 6.0;
    let centred = |l: &mut Layout, y: f32, sz: f32, colour: Rgb3, s: &str| {
        let w = l.m.width(s, sz);
        l.within(s, sz, x + (col_w - w) / 2.0, x + 2.0, x + col_w - 2.0);
        l.text_at(x + (col_w - w) / 2.0, y, sz, false, colour, s);
    };
    match grid_cell(duties) {
        Some((st, count)) => {
            l.rect(
                x + 1.0,
                top - h + 1.0,
                col_w - 2.0,
                h - 2.0,
                Some(status_colour(st)),
                true,
            );
            let colour = if matches!(st, Status::Failed | Status::Disputed) {
                WHITE
            } else {
                BLACK
            };
            let name = pick(
                &l.m,
                &[st.as_str().to_string(), short(st.as_str(), 4)],
                8.0,
                inner,
            );
            let mid = top - h / 2.0;
            match count {
                Some((done, owed)) => {
                    centred(l, mid + 1.0, 8.0, colour, &name);
                    let n = pick(
                        &l.m,
                        &[
                            format!("{done} of {owed} fulfilled"),
                            format!("{done}/{owed}"),
                        ],
                        small,
                        inner,
                    );
                    centred(l, mid - small - 1.5, small, colour, &n);
                }
                None => centred(l, mid - 2.8, 8.0, colour, &name),
            }
        }
        None => centred(l, top - h / 2.0 - 2.8, 8.0, GREY_TEXT, "–"),
    }
}
