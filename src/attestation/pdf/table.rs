//! Tables on the page: cells of styled text, column widths grown to keep words whole, and
//! rows drawn over page breaks with the caption and header row repeated.

use super::layout::Layout;
use super::style::{
    BLACK, BOTTOM, GREY_TEXT, HEADER_FILL, MARGIN_X, PLAIN, RULE, Style, TOP, WIDTH, status_colour,
};
use super::text::hex_lines;
use crate::attestation::status::Status;

/// A paragraph of a cell: on its own line(s), or `inline` after the previous one when it
/// fits there.
#[derive(Clone)]
pub(super) struct Span {
    pub(super) text: String,
    pub(super) style: Style,
    inline: bool,
    /// Lines after the first are indented (a `key = value` that wraps).
    hang: bool,
    /// A hash or fingerprint: wrapped in even lines of a multiple of 8 hex digits, and not
    /// counted as a word the column must fit whole.
    hex: bool,
}

/// A table cell: spans of text, and optionally a status swatch before them.
#[derive(Clone, Default)]
pub(super) struct Cell {
    pub(super) spans: Vec<Span>,
    pub(super) status: Option<Status>,
}

impl Cell {
    pub(super) fn styled(text: impl Into<String>, style: Style) -> Self {
        Self {
            spans: vec![Span {
                text: text.into(),
                style,
                inline: false,
                hang: false,
                hex: false,
            }],
            status: None,
        }
    }

    /// Add `text` on a new line.
    pub(super) fn line(mut self, text: impl Into<String>, style: Style) -> Self {
        self.spans.push(Span {
            text: text.into(),
            style,
            inline: false,
            hang: false,
            hex: false,
        });
        self
    }

    /// Add a hash or fingerprint on new lines, in full: even lines of hex digits.
    pub(super) fn hex(mut self, text: impl Into<String>, style: Style) -> Self {
        self.spans.push(Span {
            text: text.into(),
            style,
            inline: false,
            hang: false,
            hex: true,
        });
        self
    }

    /// Add `text` on a new line, its own further lines indented.
    pub(super) fn hanging(mut self, text: impl Into<String>, style: Style) -> Self {
        self.spans.push(Span {
            text: text.into(),
            style,
            inline: false,
            hang: true,
            hex: false,
        });
        self
    }

    /// Add `text` after the last line when it fits there, else on a new line.
    pub(super) fn after(mut self, text: impl Into<String>, style: Style) -> Self {
        self.spans.push(Span {
            text: text.into(),
            style,
            inline: true,
            hang: false,
            hex: false,
        });
        self
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self::styled(text, PLAIN)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::styled(text, PLAIN)
    }
}

pub(super) fn status_cell(s: Status) -> Cell {
    status_text_cell(s, s.as_str())
}

/// A status swatch and words of the status (`due by 2026-12-31`).
pub(super) fn status_text_cell(s: Status, words: impl Into<String>) -> Cell {
    Cell {
        status: Some(s),
        ..Cell::from(words.into())
    }
}

/// A run of text on a laid-out line: `dx` from the cell's text start.
#[derive(Clone)]
pub(super) struct Run {
    pub(super) text: String,
    pub(super) style: Style,
    pub(super) dx: f32,
}

/// A row laid out: for each cell, its lines of runs.
type LaidRow = Vec<Vec<Vec<Run>>>;

/// A table: column titles and base widths (fractions of the text width), font size.
pub(super) struct Table<'a> {
    pub(super) header: Option<&'a [&'a str]>,
    pub(super) widths: &'a [f32],
    pub(super) size: f32,
    /// Shown above the repeated header row on the pages a table goes on to.
    pub(super) caption: Option<&'a str>,
    /// Centred columns (counts).
    pub(super) centre: &'a [usize],
    /// A column may grow up to this factor of its base width to keep its longest word
    /// whole, taking the room from columns that have some to spare (1.0: fixed widths).
    pub(super) grow: f32,
    /// Rows that go on with the row before them (another duty of the same item): their
    /// first [`Table::span`] cells are drawn only when such a row starts a page, and no
    /// rule separates those columns from the row before, so the first row's cells read
    /// as spanning both.
    pub(super) cont: &'a [bool],
    pub(super) span: usize,
}

impl Default for Table<'_> {
    fn default() -> Self {
        Self {
            header: None,
            widths: &[1.0],
            size: 8.0,
            caption: None,
            centre: &[],
            grow: 1.0,
            cont: &[],
            span: 0,
        }
    }
}

pub(super) const PAD: f32 = 2.5;
pub(super) const SWATCH: f32 = 6.0;

impl Layout {
    /// Column widths in points: the base widths, with columns whose longest word does not
    /// fit grown (up to `t.grow` times) at the expense of columns with room to spare (each
    /// keeps its own longest word and at least 85 % of its base width).
    pub(super) fn fit(&self, t: &Table<'_>, rows: &[Vec<Cell>]) -> Vec<f32> {
        let mut w: Vec<f32> = t.widths.iter().map(|f| f * WIDTH).collect();
        if t.grow <= 1.0 {
            return w;
        }
        let need: Vec<f32> = w
            .iter()
            .enumerate()
            .map(|(i, base)| {
                let mut need = t
                    .header
                    .and_then(|h| h.get(i))
                    .map_or(0.0, |h| self.m.longest_word(h, t.size) + 1.0);
                for c in rows.iter().filter_map(|r| r.get(i)) {
                    let swatch = if c.status.is_some() {
                        SWATCH + 2.0
                    } else {
                        0.0
                    };
                    for s in c.spans.iter().filter(|s| !s.hex) {
                        need =
                            need.max(self.m.longest_word(&s.text, s.style.size(t.size)) + swatch);
                    }
                }
                (need + 2.0 * PAD + 0.5).min(base * t.grow)
            })
            .collect();
        let deficit: Vec<f32> = w.iter().zip(&need).map(|(w, n)| (n - w).max(0.0)).collect();
        let slack: Vec<f32> = w
            .iter()
            .zip(&need)
            .zip(&deficit)
            .map(|((w, n), d)| {
                if *d > 0.0 {
                    0.0
                } else {
                    (w - n.max(w * 0.85)).max(0.0)
                }
            })
            .collect();
        let (total_deficit, total_slack): (f32, f32) = (deficit.iter().sum(), slack.iter().sum());
        if total_deficit <= 0.0 || total_slack <= 0.0 {
            return w;
        }
        let moved = total_deficit.min(total_slack);
        for (i, w) in w.iter_mut().enumerate() {
            *w += deficit[i] / total_deficit * moved - slack[i] / total_slack * moved;
        }
        w
    }

    /// Lay a cell out in `inner` points: lines of runs.
    pub(super) fn lay(&self, c: &Cell, size: f32, inner: f32) -> Vec<Vec<Run>> {
        let mut lines: Vec<Vec<Run>> = Vec::new();
        for s in &c.spans {
            let sz = s.style.size(size);
            if s.inline
                && !s.text.contains('\n')
                && let Some(last) = lines.last_mut()
            {
                let end = last
                    .iter()
                    .map(|r| r.dx + self.m.width(&r.text, r.style.size(size)))
                    .fold(0.0, f32::max);
                let dx = if end > 0.0 { end + size * 0.4 } else { 0.0 };
                if dx + self.m.width(&s.text, sz) <= inner {
                    last.push(Run {
                        text: s.text.clone(),
                        style: s.style,
                        dx,
                    });
                    continue;
                }
            }
            let indent = if s.hang { size } else { 0.0 };
            let wrapped = if s.hex {
                hex_lines(&self.m, &s.text, sz, inner)
            } else {
                self.m.wrap(&s.text, sz, inner - indent)
            };
            for (i, l) in wrapped.into_iter().enumerate() {
                lines.push(vec![Run {
                    text: l,
                    style: s.style,
                    dx: if i == 0 { 0.0 } else { indent },
                }]);
            }
        }
        if lines.is_empty() {
            lines.push(Vec::new());
        }
        lines
    }

    /// Draw a table, keeping its header row with its first row, and repeating caption and
    /// header row on every page it goes on to.
    pub(super) fn table(&mut self, t: &Table<'_>, rows: &[Vec<Cell>]) {
        let size = t.size;
        let lh = size * 1.25;
        let widths = self.fit(t, rows);
        let xs: Vec<(f32, f32)> = {
            let mut x = MARGIN_X;
            widths
                .iter()
                .map(|w| {
                    let r = (x, *w);
                    x += w;
                    r
                })
                .collect()
        };
        let centre = |i: usize| t.centre.contains(&i);
        let header_lines: Vec<Vec<String>> = t.header.map_or_else(Vec::new, |h| {
            h.iter()
                .zip(&xs)
                .map(|(s, (_, w))| self.m.wrap(s, size, w - 2.0 * PAD - 1.0))
                .collect()
        });
        let header_h = if header_lines.is_empty() {
            0.0
        } else {
            header_lines.iter().map(Vec::len).max().unwrap_or(1) as f32 * lh + 2.0 * PAD
        };
        let draw_header = |me: &mut Self| {
            if header_lines.is_empty() {
                return;
            }
            // The first header row is the table's; a repeated one is an artifact.
            let tagged = me.artifact == 0;
            if tagged {
                me.tags.open("TR");
            }
            me.rect(
                MARGIN_X,
                me.y - header_h,
                WIDTH,
                header_h,
                Some(HEADER_FILL),
                false,
            );
            for (ci, (lines, (x, w))) in header_lines.iter().zip(&xs).enumerate() {
                if tagged {
                    me.tags.open("TH");
                }
                for (i, l) in lines.iter().enumerate() {
                    let y = me.y - PAD - (i as f32 + 1.0) * lh + size * 0.25;
                    let tx = if centre(ci) {
                        x + (w - me.m.width(l, size)) / 2.0
                    } else {
                        x + PAD
                    };
                    me.text_at(tx, y, size, true, BLACK, l);
                }
                if tagged {
                    me.tags.close();
                }
            }
            if tagged {
                me.tags.close();
            }
            me.y -= header_h;
            me.hline(MARGIN_X, MARGIN_X + WIDTH, me.y, GREY_TEXT, 0.6);
        };
        let continued = |me: &mut Self| {
            me.new_page();
            me.artifact += 1;
            if let Some(c) = t.caption {
                let cs = 8.0;
                me.y -= cs * 1.4;
                let line = me.m.truncate(&format!("{c} (continued)"), cs, WIDTH);
                me.text_at(MARGIN_X, me.y + cs * 0.3, cs, false, GREY_TEXT, &line);
                me.gap(3.0);
            }
            draw_header(me);
            me.artifact -= 1;
        };
        let laid = self.lay_rows(rows, &xs, size);
        let height = |r: &LaidRow| r.iter().map(Vec::len).max().unwrap_or(1).max(1);
        // A row of up to this many lines is never split over a page break.
        const WHOLE: usize = 14;
        let first = laid.first().map_or(1, height);
        let lead = if first <= WHOLE { first } else { 3 };
        let lead_h = lead as f32 * lh + 2.0 * PAD;
        // A short table (a quarter of a page at most) is never split: the header row and one
        // row left behind at the foot of a page would read as orphans.
        let total_h: f32 = laid.iter().map(|r| height(r) as f32 * lh + 2.0 * PAD).sum();
        let short_table = header_h + total_h <= (TOP - BOTTOM) / 4.0;
        self.ensure(header_h + if short_table { total_h } else { lead_h });
        self.tags.open("Table");
        draw_header(self);
        let cont = |i: usize| t.cont.get(i).copied().unwrap_or(false);
        for (ri, (row, full)) in rows.iter().zip(&laid).enumerate() {
            self.tags.open("TR");
            let cells: Vec<usize> = row
                .iter()
                .map(|_| {
                    let td = self.tags.open("TD");
                    self.tags.close();
                    td
                })
                .collect();
            self.tags.close();
            // A row going on with the one before: its spanning cells stay empty.
            let hidden: LaidRow = full
                .iter()
                .enumerate()
                .map(|(i, c)| if i < t.span { Vec::new() } else { c.clone() })
                .collect();
            let mut wrapped = if cont(ri) { &hidden } else { full };
            let mut n = height(wrapped);
            let mut from = 0;
            let mut fresh = false;
            while from < n {
                let room = ((self.y - BOTTOM - 2.0 * PAD) / lh).floor();
                let fits = if room < 1.0 { 0 } else { room as usize };
                let wanted = n - from;
                if !fresh && (fits == 0 || (fits < wanted && wanted <= WHOLE)) {
                    continued(self);
                    fresh = true;
                    if from == 0 {
                        // At the top of a page, the row shows what it goes on with.
                        wrapped = full;
                        n = height(full);
                    }
                    continue;
                }
                let take = wanted.min(fits.max(1));
                self.draw_rows(t, &xs, (row, &cells), wrapped, from, take);
                self.y -= take as f32 * lh + 2.0 * PAD;
                let x0 = match xs.get(t.span) {
                    Some((x, _)) if from + take == n && cont(ri + 1) => *x,
                    _ => MARGIN_X,
                };
                self.hline(x0, MARGIN_X + WIDTH, self.y, RULE, 0.4);
                from += take;
                fresh = false;
                if from < n {
                    continued(self);
                    fresh = true;
                }
            }
        }
        self.tags.close();
        self.gap(6.0);
    }

    /// Lay out each cell of each row in its column (`xs`: x and width of each column).
    fn lay_rows(&self, rows: &[Vec<Cell>], xs: &[(f32, f32)], size: f32) -> Vec<LaidRow> {
        rows.iter()
            .map(|row| {
                row.iter()
                    .zip(xs)
                    .map(|(c, (_, w))| {
                        let swatch = if c.status.is_some() {
                            SWATCH + 2.0
                        } else {
                            0.0
                        };
                        let inner = (w - 2.0 * PAD - swatch).max(size);
                        self.lay(c, size, inner)
                    })
                    .collect()
            })
            .collect()
    }

    /// Draw lines `from..from + take` of each cell of a row, from the cursor down (the
    /// status swatch with the first line).
    fn draw_rows(
        &mut self,
        t: &Table<'_>,
        xs: &[(f32, f32)],
        (row, cells): (&[Cell], &[usize]),
        wrapped: &LaidRow,
        from: usize,
        take: usize,
    ) {
        let size = t.size;
        let lh = size * 1.25;
        let top = self.y;
        for (ci, (lines, (x, w))) in wrapped.iter().zip(xs).enumerate() {
            let mut tx = x + PAD;
            if let Some(s) = row.get(ci).and_then(|c| c.status) {
                if from == 0 {
                    let sy = top - PAD - lh + (lh - SWATCH) / 2.0 - 0.5;
                    self.rect(tx, sy, SWATCH, SWATCH, Some(status_colour(s)), true);
                }
                tx += SWATCH + 2.0;
            }
            if let Some(td) = cells.get(ci) {
                self.tags.enter(*td);
            }
            for (i, runs) in lines.iter().skip(from).take(take).enumerate() {
                let y = top - PAD - (i as f32 + 1.0) * lh + size * 0.25;
                let line_w = runs
                    .iter()
                    .map(|r| r.dx + self.m.width(&r.text, r.style.size(size)))
                    .fold(0.0, f32::max);
                let x0 = if t.centre.contains(&ci) {
                    x + (w - line_w) / 2.0
                } else {
                    tx
                };
                for r in runs {
                    let sz = r.style.size(size);
                    self.within(&r.text, sz, x0 + r.dx, x + PAD, x + w - PAD);
                    self.text_at(x0 + r.dx, y, sz, false, r.style.colour, &r.text);
                }
            }
            if cells.get(ci).is_some() {
                self.tags.close();
            }
        }
    }
}
