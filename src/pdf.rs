//! The PDF rendering of the attestation [`Report`]: the same facts as
//! [`crate::report::to_markdown`], laid out on A4 pages for a contract reviewer or auditor.
//!
//! Why it looks the way it does:
//!
//! - Only this module imports printpdf. printpdf 0.12 is used without default features (the
//!   `html` feature costs minutes of build time): there is no layout engine, so this module
//!   wraps text itself with the advance widths of the embedded font, paginates, and only then
//!   draws the running header, the "page X of Y" footer and, for an unverified ledger, the
//!   stamp on every page.
//! - One font, DejaVu Sans (`src/fonts/`, licence beside it), embedded whole (printpdf only
//!   subsets with its `text_layout` feature), so every character is extractable and nothing
//!   depends on the machine. Bold is the same font drawn with fill + thin stroke, which keeps
//!   the file at one embedded font.
//! - Output is byte-identical for the same report, within and across processes: the font
//!   resource id is fixed (printpdf draws ids from a process-global counter), the document
//!   dates come from the report's period and as-of time, never the clock, and the trailer
//!   `/ID` is set from a SHA-256 of the rendered bytes.

use printpdf::{
    Color, FontId, Line, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument, PdfFont,
    PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rect, Rgb, TextItem, TextMatrix,
    TextRenderingMode,
};

use crate::error::{Error, Result};
use crate::report::Report;
use crate::status::Status;

/// DejaVu Sans, embedded (licence: `src/fonts/LICENSE-DejaVu.txt`).
const FONT: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");
/// The fixed resource name of the font (printpdf's own ids differ per call).
const FONT_ID: &str = "FDejaVuSans";

// A4 in points, and the page frame.
const PAGE_W: f32 = 595.276;
const PAGE_H: f32 = 841.89;
const MARGIN_X: f32 = 42.0;
const TOP: f32 = PAGE_H - 60.0;
const BOTTOM: f32 = 52.0;
const WIDTH: f32 = PAGE_W - 2.0 * MARGIN_X;

const BLACK: (f32, f32, f32) = (0.0, 0.0, 0.0);
const GREY_TEXT: (f32, f32, f32) = (0.35, 0.35, 0.35);
const RULE: (f32, f32, f32) = (0.75, 0.75, 0.75);
const HEADER_FILL: (f32, f32, f32) = (0.90, 0.92, 0.95);
const STAMP: (f32, f32, f32) = (0.85, 0.1, 0.1);

/// Colour of a status in the grid and the tables.
fn status_colour(s: Status) -> (f32, f32, f32) {
    match s {
        Status::Fulfilled => (0.30, 0.69, 0.31),
        Status::Overdue => (1.0, 0.70, 0.0),
        Status::Failed => (0.90, 0.22, 0.21),
        Status::Disputed => (0.58, 0.30, 0.72),
        Status::Missing => (0.62, 0.62, 0.62),
        Status::NotApplicable => (0.68, 0.84, 0.96),
        Status::Informational => (1.0, 1.0, 1.0),
    }
}

/// How bad a status is, for the grid's "worst status" cell: a failure outranks a duty with
/// no evidence at all, which outranks a dispute, a gap, and so on down to nothing to prove.
fn severity(s: Status) -> u8 {
    match s {
        Status::Failed => 6,
        Status::Missing => 5,
        Status::Disputed => 4,
        Status::Overdue => 3,
        Status::Fulfilled => 2,
        Status::NotApplicable => 1,
        Status::Informational => 0,
    }
}

fn rgb((r, g, b): (f32, f32, f32)) -> Color {
    Color::Rgb(Rgb {
        r,
        g,
        b,
        icc_profile: None,
    })
}

/// Advance widths of the embedded font.
struct Metrics {
    font: ParsedFont,
    upem: f32,
}

impl Metrics {
    fn load() -> Result<Self> {
        let mut warnings = Vec::new();
        let mut font = ParsedFont::from_bytes(FONT, 0, &mut warnings)
            .ok_or_else(|| Error::new("cannot read the embedded DejaVu Sans font"))?;
        // The PostScript name, for /BaseFont (printpdf falls back to the resource id).
        font.font_name = Some("DejaVuSans".to_string());
        let upem = f32::from(font.units_per_em.max(1));
        Ok(Self { font, upem })
    }

    /// Width of `s` at `size` points.
    fn width(&self, s: &str, size: f32) -> f32 {
        let units: u32 = s
            .chars()
            .map(|c| {
                let gid = self.font.lookup_glyph_index(u32::from(c)).unwrap_or(0);
                u32::from(self.font.get_glyph_width(gid).unwrap_or(0))
            })
            .sum();
        units as f32 * size / self.upem
    }

    /// Break `text` into lines no wider than `max` at `size`: at spaces, after hyphens, and
    /// inside words (hashes, ids) that are wider than a line on their own.
    fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            for piece in pieces(para) {
                let candidate = format!("{line}{piece}");
                if self.width(candidate.trim_end(), size) <= max {
                    line = candidate;
                    continue;
                }
                if !line.trim().is_empty() {
                    lines.push(line.trim_end().to_string());
                }
                line = String::new();
                let piece = piece.trim_start();
                for c in piece.chars() {
                    let mut next = line.clone();
                    next.push(c);
                    if !line.is_empty() && self.width(next.trim_end(), size) > max {
                        lines.push(line.trim_end().to_string());
                        line = c.to_string();
                    } else {
                        line = next;
                    }
                }
            }
            lines.push(line.trim_end().to_string());
        }
        lines
    }
}

/// Split into pieces that may end a line: each keeps its trailing space, slash, or hyphen,
/// dot or underscore after a letter (`not-` / `applicable`, but dates and hashes stay whole).
fn pieces(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev = ' ';
    for (i, c) in s.char_indices() {
        let after_letter = prev.is_alphabetic();
        prev = c;
        if c == ' ' || c == '/' || ((c == '-' || c == '.' || c == '_') && after_letter) {
            let end = i + c.len_utf8();
            out.push(&s[start..end]);
            start = end;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// How a table cell is drawn.
#[derive(Clone)]
struct Cell {
    text: String,
    /// A status swatch before the text.
    status: Option<Status>,
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self { text, status: None }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self {
            text: text.to_string(),
            status: None,
        }
    }
}

fn status_cell(s: Status) -> Cell {
    Cell {
        text: s.as_str().to_string(),
        status: Some(s),
    }
}

/// A table: column titles and widths (fractions of the text width), font size.
struct Table<'a> {
    header: Option<&'a [&'a str]>,
    widths: &'a [f32],
    size: f32,
}

const PAD: f32 = 2.5;
const SWATCH: f32 = 6.0;

/// The page builder: content first, running header and footer after pagination.
struct Layout {
    m: Metrics,
    font: PdfFontHandle,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout {
    fn new(m: Metrics) -> Self {
        Self {
            m,
            font: PdfFontHandle::External(FontId(FONT_ID.to_string())),
            pages: vec![Vec::new()],
            y: TOP,
        }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Start a new page unless `h` points still fit on this one.
    fn ensure(&mut self, h: f32) {
        if self.y - h < BOTTOM {
            self.new_page();
        }
    }

    fn text_at(&mut self, x: f32, y: f32, size: f32, bold: bool, colour: (f32, f32, f32), s: &str) {
        let font = self.font.clone();
        push_text(self.ops(), &font, x, y, size, bold, colour, s);
    }

    fn rect(
        &mut self,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<(f32, f32, f32)>,
        stroke: bool,
    ) {
        push_rect(self.ops(), x, y, w, h, fill, stroke);
    }

    fn hline(&mut self, x0: f32, x1: f32, y: f32, colour: (f32, f32, f32), width: f32) {
        push_line(self.ops(), x0, y, x1, y, colour, width);
    }

    /// A wrapped paragraph.
    fn para(&mut self, text: &str, size: f32, bold: bool, colour: (f32, f32, f32)) {
        self.para_at(MARGIN_X, WIDTH, text, size, bold, colour);
    }

    fn para_at(
        &mut self,
        x: f32,
        w: f32,
        text: &str,
        size: f32,
        bold: bool,
        colour: (f32, f32, f32),
    ) {
        let lh = size * 1.3;
        for line in self.m.wrap(text, size, w) {
            self.ensure(lh);
            self.y -= lh;
            self.text_at(x, self.y + size * 0.25, size, bold, colour, &line);
        }
    }

    fn gap(&mut self, h: f32) {
        self.y -= h;
    }

    fn heading(&mut self, text: &str, size: f32) {
        self.ensure(size * 1.6 + 40.0);
        self.gap(size * 0.6);
        self.para(text, size, true, BLACK);
        self.gap(3.0);
    }

    /// Draw a table, repeating the header row on every page it spans.
    fn table(&mut self, t: &Table<'_>, rows: &[Vec<Cell>]) {
        let lh = t.size * 1.25;
        let xs: Vec<(f32, f32)> = {
            let mut x = MARGIN_X;
            t.widths
                .iter()
                .map(|f| {
                    let w = f * WIDTH;
                    let r = (x, w);
                    x += w;
                    r
                })
                .collect()
        };
        let header_lines: Vec<Vec<String>> = t.header.map_or_else(Vec::new, |h| {
            h.iter()
                .zip(&xs)
                .map(|(s, (_, w))| self.m.wrap(s, t.size, w - 2.0 * PAD))
                .collect()
        });
        let header_h = header_lines.iter().map(Vec::len).max().unwrap_or(0) as f32 * lh
            + if header_lines.is_empty() {
                0.0
            } else {
                2.0 * PAD
            };
        let draw_header = |me: &mut Self| {
            if header_lines.is_empty() {
                return;
            }
            me.rect(
                MARGIN_X,
                me.y - header_h,
                WIDTH,
                header_h,
                Some(HEADER_FILL),
                false,
            );
            for (lines, (x, _)) in header_lines.iter().zip(&xs) {
                for (i, l) in lines.iter().enumerate() {
                    let y = me.y - PAD - (i as f32 + 1.0) * lh + t.size * 0.25;
                    me.text_at(x + PAD, y, t.size, true, BLACK, l);
                }
            }
            me.y -= header_h;
            me.hline(MARGIN_X, MARGIN_X + WIDTH, me.y, GREY_TEXT, 0.6);
        };
        // Header with at least one row on the same page.
        self.ensure(header_h + lh + 2.0 * PAD);
        draw_header(self);
        for row in rows {
            let wrapped: Vec<Vec<String>> = row
                .iter()
                .zip(&xs)
                .map(|(c, (_, w))| {
                    let inner = w
                        - 2.0 * PAD
                        - if c.status.is_some() {
                            SWATCH + 2.0
                        } else {
                            0.0
                        };
                    self.m.wrap(&c.text, t.size, inner.max(t.size))
                })
                .collect();
            let n = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
            // A row taller than what is left is split; its remaining lines go on after a
            // repeated header on the next page.
            let mut from = 0;
            while from < n {
                let room = ((self.y - BOTTOM - 2.0 * PAD) / lh).floor();
                let fits = if room < 1.0 { 0 } else { room as usize };
                let wanted = n - from;
                // Do not split a short row; move it whole.
                if fits == 0 || (fits < wanted && wanted <= 6) {
                    self.new_page();
                    draw_header(self);
                    continue;
                }
                let take = wanted.min(fits);
                let h = take as f32 * lh + 2.0 * PAD;
                let top = self.y;
                for (ci, (lines, (x, _))) in wrapped.iter().zip(&xs).enumerate() {
                    let mut tx = x + PAD;
                    if let Some(s) = row.get(ci).and_then(|c| c.status) {
                        if from == 0 {
                            let sy = top - PAD - lh + (lh - SWATCH) / 2.0 - 0.5;
                            self.rect(tx, sy, SWATCH, SWATCH, Some(status_colour(s)), true);
                        }
                        tx += SWATCH + 2.0;
                    }
                    for (i, l) in lines.iter().skip(from).take(take).enumerate() {
                        let y = top - PAD - (i as f32 + 1.0) * lh + t.size * 0.25;
                        self.text_at(tx, y, t.size, false, BLACK, l);
                    }
                }
                self.y -= h;
                self.hline(MARGIN_X, MARGIN_X + WIDTH, self.y, RULE, 0.4);
                from += take;
                if from < n {
                    self.new_page();
                    draw_header(self);
                }
            }
        }
        self.gap(6.0);
    }
}

#[allow(clippy::too_many_arguments)] // a text run needs all of them; a struct adds nothing
fn push_text(
    ops: &mut Vec<Op>,
    font: &PdfFontHandle,
    x: f32,
    y: f32,
    size: f32,
    bold: bool,
    colour: (f32, f32, f32),
    s: &str,
) {
    if s.is_empty() {
        return;
    }
    ops.push(Op::StartTextSection);
    ops.push(Op::SetFont {
        font: font.clone(),
        size: Pt(size),
    });
    ops.push(Op::SetFillColor { col: rgb(colour) });
    if bold {
        ops.push(Op::SetOutlineColor { col: rgb(colour) });
        ops.push(Op::SetOutlineThickness {
            pt: Pt(size * 0.035),
        });
        ops.push(Op::SetTextRenderingMode {
            mode: TextRenderingMode::FillStroke,
        });
    } else {
        ops.push(Op::SetTextRenderingMode {
            mode: TextRenderingMode::Fill,
        });
    }
    ops.push(Op::SetTextMatrix {
        matrix: TextMatrix::Translate(Pt(x), Pt(y)),
    });
    ops.push(Op::ShowText {
        items: vec![TextItem::Text(s.to_string())],
    });
    ops.push(Op::EndTextSection);
}

fn push_rect(
    ops: &mut Vec<Op>,
    x: f32,
    y: f32,
    w: f32,
    h: f32,
    fill: Option<(f32, f32, f32)>,
    stroke: bool,
) {
    let mode = match (fill, stroke) {
        (Some(c), s) => {
            ops.push(Op::SetFillColor { col: rgb(c) });
            if s {
                PaintMode::FillStroke
            } else {
                PaintMode::Fill
            }
        }
        (None, true) => PaintMode::Stroke,
        (None, false) => return,
    };
    if stroke {
        ops.push(Op::SetOutlineColor {
            col: rgb(GREY_TEXT),
        });
        ops.push(Op::SetOutlineThickness { pt: Pt(0.4) });
    }
    ops.push(Op::DrawRectangle {
        rectangle: Rect {
            x: Pt(x),
            y: Pt(y),
            width: Pt(w),
            height: Pt(h),
            mode: Some(mode),
            winding_order: None,
        },
    });
}

fn push_line(
    ops: &mut Vec<Op>,
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
    colour: (f32, f32, f32),
    w: f32,
) {
    ops.push(Op::SetOutlineColor { col: rgb(colour) });
    ops.push(Op::SetOutlineThickness { pt: Pt(w) });
    let p = |x: f32, y: f32| LinePoint {
        p: Point { x: Pt(x), y: Pt(y) },
        bezier: false,
    };
    ops.push(Op::DrawLine {
        line: Line {
            points: vec![p(x0, y0), p(x1, y1)],
            is_closed: false,
        },
    });
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        let head: String = s.chars().take(n).collect();
        format!("{head}…")
    } else {
        s.to_string()
    }
}

fn dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

/// The party label of a duty: the bound party, or the role when it is not bound.
fn party_label(party: &str, role: &str) -> String {
    if party.is_empty() {
        format!("({role}, unbound)")
    } else {
        party.to_string()
    }
}

fn cover(l: &mut Layout, r: &Report) {
    l.gap(10.0);
    l.para(r.title, 22.0, true, BLACK);
    l.gap(4.0);
    let get = |k: &str| r.matrix.get(k).map_or("-", String::as_str);
    l.para(get("title"), 14.0, false, GREY_TEXT);
    l.gap(10.0);
    if !r.verified {
        l.para(
            &format!(
                "UNVERIFIED LEDGER — verification found problems: {}",
                if r.findings.is_empty() {
                    "(none listed)".to_string()
                } else {
                    r.findings.join("; ")
                }
            ),
            10.0,
            true,
            STAMP,
        );
        l.gap(6.0);
    }
    let facts: Vec<Vec<Cell>> = vec![
        vec![
            "Matrix".into(),
            format!("{} ({})", get("title"), get("id")).into(),
        ],
        vec!["Version".into(), get("version").into()],
        vec!["Matrix SHA-256".into(), get("sha256").into()],
        vec!["Adopted in entry".into(), get("adopted_in").into()],
        vec![
            "Period".into(),
            format!("{} to {}", r.period.from, r.period.to).into(),
        ],
        vec!["Statuses as of".into(), r.as_of.as_str().into()],
        vec![
            "Ledger head".into(),
            format!("entry {}, hash {}", r.head.0, r.head.1).into(),
        ],
        vec![
            "Verification".into(),
            format!(
                "{} ({} entries{})",
                if r.verified { "intact" } else { "FAILED" },
                r.entries,
                if r.keys_pinned {
                    ", keys pinned"
                } else {
                    ", self-consistency only: no keys pinned"
                }
            )
            .into(),
        ],
        vec!["Attestation digest".into(), r.digest.as_str().into()],
    ];
    l.table(
        &Table {
            header: None,
            widths: &[0.22, 0.78],
            size: 9.0,
        },
        &facts,
    );
    l.gap(4.0);
    // The statement, boxed.
    let lines = l.m.wrap(r.statement, 10.0, WIDTH - 16.0);
    let h = lines.len() as f32 * 13.0 + 12.0;
    l.ensure(h);
    l.rect(MARGIN_X, l.y - h, WIDTH, h, Some((0.97, 0.97, 0.90)), true);
    l.gap(6.0);
    for line in lines {
        l.y -= 13.0;
        l.text_at(MARGIN_X + 8.0, l.y + 2.5, 10.0, false, BLACK, &line);
    }
    l.gap(12.0);

    l.heading("Parties", 13.0);
    let rows: Vec<Vec<Cell>> = r
        .parties
        .iter()
        .map(|p| {
            vec![
                p.id.as_str().into(),
                p.name.as_str().into(),
                p.role.as_str().into(),
                p.bound_as.as_deref().unwrap_or("-").into(),
                if p.fingerprints.is_empty() {
                    "-".into()
                } else {
                    p.fingerprints.join("\n").into()
                },
            ]
        })
        .collect();
    l.table(
        &Table {
            header: Some(&[
                "party",
                "display name",
                "role",
                "bound as",
                "key fingerprints",
            ]),
            widths: &[0.14, 0.22, 0.12, 0.12, 0.40],
            size: 8.5,
        },
        &rows,
    );
}

fn summary(l: &mut Layout, r: &Report) {
    l.heading("Summary", 16.0);
    let mut header: Vec<&str> = vec!["party"];
    header.extend(Status::ALL.map(Status::as_str));
    let rows: Vec<Vec<Cell>> = r
        .summary
        .iter()
        .map(|(party, counts)| {
            let mut row: Vec<Cell> = vec![party.as_str().into()];
            row.extend(
                Status::ALL
                    .iter()
                    .map(|s| Cell::from(counts.get(s.as_str()).copied().unwrap_or(0).to_string())),
            );
            row
        })
        .collect();
    l.table(
        &Table {
            header: Some(&header),
            widths: &[0.16, 0.112, 0.112, 0.112, 0.112, 0.112, 0.14, 0.14],
            size: 8.5,
        },
        &rows,
    );
    grid(l, r);
}

/// The section × party picture: each cell the worst status of that party's duties there.
fn grid(l: &mut Layout, r: &Report) {
    // Columns: parties in the order the report lists them, then any other duty holder.
    let mut cols: Vec<String> = Vec::new();
    let mut holders: Vec<String> = Vec::new();
    for s in &r.sections {
        for it in &s.items {
            for d in &it.duties {
                if d.status == Status::Informational && d.party.is_empty() {
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
    l.heading("Status by section and party", 13.0);
    l.para(
        "Each cell shows the worst status of that party's duties in the section (failed, then missing, disputed, overdue, fulfilled, not-applicable, informational); a dash means the party has no duty there.",
        8.5,
        false,
        GREY_TEXT,
    );
    l.gap(4.0);
    // Legend.
    let size = 8.0;
    let mut x = MARGIN_X;
    l.ensure(16.0);
    l.y -= 12.0;
    for s in Status::ALL {
        let w = SWATCH + 3.0 + l.m.width(s.as_str(), size) + 10.0;
        if x + w > MARGIN_X + WIDTH {
            x = MARGIN_X;
            l.ensure(14.0);
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
        x += w + 2.0;
    }
    l.gap(10.0);
    if cols.is_empty() || r.sections.is_empty() {
        l.para("No duties in the matrix.", 9.0, false, BLACK);
        return;
    }
    let label_w = WIDTH * 0.30;
    let col_w = ((WIDTH - label_w) / cols.len() as f32).min(90.0);
    let size = 7.5;
    let lh = size * 1.25;
    let head: Vec<Vec<String>> = cols
        .iter()
        .map(|c| l.m.wrap(c, size, col_w - 4.0))
        .collect();
    let head_h = head.iter().map(Vec::len).max().unwrap_or(1) as f32 * lh + 4.0;
    let draw_head = |l: &mut Layout| {
        for (i, lines) in head.iter().enumerate() {
            let x = MARGIN_X + label_w + i as f32 * col_w;
            for (k, line) in lines.iter().enumerate() {
                let y = l.y - (k as f32 + 1.0) * lh + 2.0;
                l.text_at(x + 2.0, y, size, true, BLACK, line);
            }
        }
        l.y -= head_h;
    };
    l.ensure(head_h + 20.0);
    draw_head(l);
    for s in &r.sections {
        let label =
            l.m.wrap(&format!("{} {}", s.id, s.title), size, label_w - 6.0);
        let h = (label.len() as f32 * lh + 6.0).max(18.0);
        if l.y - h < BOTTOM {
            l.new_page();
            draw_head(l);
        }
        let top = l.y;
        for (k, line) in label.iter().enumerate() {
            l.text_at(
                MARGIN_X,
                top - 3.0 - (k as f32 + 1.0) * lh + 2.0,
                size,
                false,
                BLACK,
                line,
            );
        }
        for (i, c) in cols.iter().enumerate() {
            let worst = s
                .items
                .iter()
                .flat_map(|it| &it.duties)
                .filter(|d| party_label(&d.party, d.role) == *c)
                .map(|d| d.status)
                .max_by_key(|st| severity(*st));
            let x = MARGIN_X + label_w + i as f32 * col_w;
            match worst {
                Some(st) => {
                    l.rect(
                        x + 1.0,
                        top - h + 1.0,
                        col_w - 2.0,
                        h - 2.0,
                        Some(status_colour(st)),
                        true,
                    );
                    let tw = l.m.width(st.as_str(), 6.5);
                    let tx = x + (col_w - tw) / 2.0;
                    let colour = if matches!(st, Status::Failed | Status::Disputed) {
                        (1.0, 1.0, 1.0)
                    } else {
                        BLACK
                    };
                    l.text_at(
                        tx.max(x + 2.0),
                        top - h / 2.0 - 2.3,
                        6.5,
                        false,
                        colour,
                        st.as_str(),
                    );
                }
                None => {
                    let tw = l.m.width("–", 7.0);
                    l.text_at(
                        x + (col_w - tw) / 2.0,
                        top - h / 2.0 - 2.5,
                        7.0,
                        false,
                        GREY_TEXT,
                        "–",
                    );
                }
            }
        }
        l.y -= h;
    }
    l.gap(8.0);
}

fn matrix(l: &mut Layout, r: &Report) {
    l.heading("The matrix", 16.0);
    for s in &r.sections {
        l.heading(&format!("{} {}", s.id, s.title), 11.5);
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        for it in &s.items {
            let raci: Vec<String> = it.raci.iter().map(|(r, l)| format!("{r} {l}")).collect();
            for (k, d) in it.duties.iter().enumerate() {
                let ev: Vec<String> = d.evidence.iter().map(|s| format!("#{s}")).collect();
                rows.push(vec![
                    it.id.as_str().into(),
                    if k == 0 { it.activity.as_str() } else { "" }.into(),
                    if k == 0 {
                        raci.join(", ")
                    } else {
                        String::new()
                    }
                    .into(),
                    if d.party.is_empty() {
                        format!("unbound ({})", d.role)
                    } else {
                        format!("{} ({})", d.party, d.role)
                    }
                    .into(),
                    status_cell(d.status),
                    dash(&ev.join(" ")).into(),
                    d.last_performed.as_deref().unwrap_or("-").into(),
                ]);
            }
        }
        l.table(
            &Table {
                header: Some(&[
                    "item",
                    "activity",
                    "RACI",
                    "party (role)",
                    "status",
                    "evidence",
                    "last performed",
                ]),
                widths: &[0.15, 0.26, 0.12, 0.14, 0.13, 0.09, 0.11],
                size: 7.5,
            },
            &rows,
        );
    }
}

fn exceptions(l: &mut Layout, r: &Report) {
    l.heading("Exceptions", 16.0);
    if r.exceptions.is_empty() {
        l.para(
            "None: every duty is fulfilled, waived or informational.",
            9.0,
            false,
            BLACK,
        );
    } else {
        let rows: Vec<Vec<Cell>> = r
            .exceptions
            .iter()
            .map(|e| {
                vec![
                    e.item.as_str().into(),
                    e.activity.as_str().into(),
                    party_label(&e.party, &e.role).into(),
                    e.role.as_str().into(),
                    status_cell(e.status),
                    dash(&e.detail).into(),
                ]
            })
            .collect();
        l.table(
            &Table {
                header: Some(&["item", "activity", "party", "role", "status", "detail"]),
                widths: &[0.16, 0.22, 0.11, 0.09, 0.13, 0.29],
                size: 7.5,
            },
            &rows,
        );
    }
    l.heading("Complementary user entity controls (customer duties)", 12.0);
    if r.cuecs.is_empty() {
        l.para(
            "The matrix gives the customer no duties.",
            9.0,
            false,
            BLACK,
        );
        return;
    }
    let rows: Vec<Vec<Cell>> = r
        .cuecs
        .iter()
        .map(|c| {
            vec![
                c.item.as_str().into(),
                c.duty.as_str().into(),
                status_cell(c.status),
            ]
        })
        .collect();
    l.table(
        &Table {
            header: Some(&["item", "customer duty", "status"]),
            widths: &[0.22, 0.61, 0.17],
            size: 8.0,
        },
        &rows,
    );
}

fn appendix(l: &mut Layout, r: &Report) {
    l.heading("Evidence appendix", 16.0);
    if let Some(n) = &r.appendix_note {
        l.para(n, 8.5, false, GREY_TEXT);
        l.gap(4.0);
    }
    if r.appendix.is_empty() {
        l.para("No evidence entries listed.", 9.0, false, BLACK);
        return;
    }
    let rows: Vec<Vec<Cell>> = r
        .appendix
        .iter()
        .map(|e| {
            let fields: Vec<String> = e
                .fields
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().map_or(v.to_string(), str::to_string)))
                .collect();
            let arts: Vec<String> = e
                .artifacts
                .iter()
                .map(|(n, s)| format!("{n} {}", short(s, 16)))
                .collect();
            let cos: Vec<String> = e
                .cosignatures
                .iter()
                .map(|(s, p, v)| format!("#{s} {p} {v}"))
                .collect();
            vec![
                format!("#{}", e.seq).into(),
                e.item.as_str().into(),
                format!("{}\n{}", e.performed_at, e.recorded_at).into(),
                dash(&e.party).into(),
                format!("{}\n{}", e.kind, e.outcome).into(),
                dash(&fields.join("\n")).into(),
                dash(&arts.join("\n")).into(),
                short(&e.signer, 20).into(),
                dash(&cos.join("\n")).into(),
            ]
        })
        .collect();
    l.table(
        &Table {
            header: Some(&[
                "seq",
                "item",
                "performed / recorded",
                "party",
                "kind / outcome",
                "fields",
                "artefacts (SHA-256)",
                "signer",
                "co-signatures",
            ]),
            widths: &[0.05, 0.10, 0.17, 0.085, 0.10, 0.13, 0.135, 0.115, 0.115],
            size: 6.5,
        },
        &rows,
    );
}

fn signoff_and_verify(l: &mut Layout, r: &Report) {
    l.heading("Sign-off", 16.0);
    if r.signoffs.is_empty() {
        l.para("Not signed.", 10.0, false, BLACK);
        l.gap(2.0);
    }
    // Every party that has not signed is named as such.
    for p in &r.parties {
        if !r.signoffs.is_empty() && !r.signoffs.iter().any(|s| s.party == p.id) {
            l.para(
                &format!("{} ({}): not signed", p.id, p.name),
                9.5,
                false,
                BLACK,
            );
            l.gap(2.0);
        }
    }
    for s in &r.signoffs {
        l.para(
            &format!(
                "{} signed in entry {} (digest {}, head {}): {}",
                s.party,
                s.seq,
                short(&s.digest, 16),
                s.head,
                if s.matches {
                    "matches this attestation"
                } else {
                    "no longer matches (signed at an earlier head)"
                }
            ),
            9.5,
            false,
            if s.matches { BLACK } else { STAMP },
        );
        l.gap(2.0);
    }
    l.heading("How to verify", 16.0);
    for line in &r.how_to_verify {
        l.para(line, 8.5, false, BLACK);
        l.gap(3.0);
    }
    l.gap(4.0);
    l.para(
        &format!("Attestation digest: {}", r.digest),
        9.0,
        true,
        BLACK,
    );
    l.para(
        &format!("Ledger head: entry {}, hash {}", r.head.0, r.head.1),
        9.0,
        true,
        BLACK,
    );
}

/// Running header, footer and, for an unverified ledger, the stamp, once the page count is
/// known.
fn decorate(l: &mut Layout, r: &Report) {
    let n = l.pages.len();
    let title = r.matrix.get("title").map_or("", String::as_str);
    let period = format!("period {} to {}", r.period.from, r.period.to);
    let font = l.font.clone();
    let hsize = 8.0;
    let title_w = WIDTH - l.m.width(&period, hsize) - 12.0;
    let title =
        l.m.wrap(title, hsize, title_w)
            .into_iter()
            .next()
            .unwrap_or_default();
    let pw = l.m.width(&period, hsize);
    for (i, ops) in l.pages.iter_mut().enumerate() {
        let y = PAGE_H - 34.0;
        push_text(ops, &font, MARGIN_X, y, hsize, false, GREY_TEXT, &title);
        push_text(
            ops,
            &font,
            MARGIN_X + WIDTH - pw,
            y,
            hsize,
            false,
            GREY_TEXT,
            &period,
        );
        push_line(ops, MARGIN_X, y - 5.0, MARGIN_X + WIDTH, y - 5.0, RULE, 0.5);
        push_line(ops, MARGIN_X, 36.0, MARGIN_X + WIDTH, 36.0, RULE, 0.5);
        let footer = format!("page {} of {n}", i + 1);
        let fw = l.m.width(&footer, hsize);
        push_text(
            ops,
            &font,
            MARGIN_X + WIDTH - fw,
            24.0,
            hsize,
            false,
            GREY_TEXT,
            &footer,
        );
        push_text(
            ops,
            &font,
            MARGIN_X,
            24.0,
            hsize,
            false,
            GREY_TEXT,
            &format!("vouch · digest {}", short(&r.digest, 16)),
        );
        if !r.verified {
            let stamp = "UNVERIFIED LEDGER";
            let size = 54.0;
            let w = l.m.width(stamp, size);
            // Diagonal, outlined so the content under it stays readable.
            let (sin, cos) = 40_f32.to_radians().sin_cos();
            let cx = PAGE_W / 2.0 - (w / 2.0) * cos + (size * 0.35) * sin;
            let cy = PAGE_H / 2.0 - (w / 2.0) * sin - (size * 0.35) * cos;
            ops.push(Op::StartTextSection);
            ops.push(Op::SetFont {
                font: font.clone(),
                size: Pt(size),
            });
            ops.push(Op::SetOutlineColor { col: rgb(STAMP) });
            ops.push(Op::SetOutlineThickness { pt: Pt(1.5) });
            ops.push(Op::SetTextRenderingMode {
                mode: TextRenderingMode::Stroke,
            });
            ops.push(Op::SetTextMatrix {
                matrix: TextMatrix::Raw([cos, sin, -sin, cos, cx, cy]),
            });
            ops.push(Op::ShowText {
                items: vec![TextItem::Text(stamp.to_string())],
            });
            ops.push(Op::EndTextSection);
            push_text(
                ops,
                &font,
                MARGIN_X,
                PAGE_H - 22.0,
                9.0,
                true,
                STAMP,
                "UNVERIFIED LEDGER",
            );
        }
    }
}

/// A fixed document date: the report's as-of time when it parses, else the period's end.
fn doc_date(r: &Report) -> printpdf::OffsetDateTime {
    let ts = chrono::DateTime::parse_from_rfc3339(&r.as_of)
        .map(|d| d.timestamp())
        .unwrap_or_else(|_| r.period.end().timestamp());
    printpdf::OffsetDateTime::from_unix_timestamp(ts)
        .or_else(|_| printpdf::OffsetDateTime::from_unix_timestamp(0))
        .unwrap_or_else(|_| printpdf::OffsetDateTime::epoch())
}

/// Render the report as a PDF: A4, byte-identical for the same report.
///
/// # Errors
///
/// When the embedded font cannot be read or the document cannot be serialised (neither
/// happens with the font shipped in `src/fonts/`).
pub fn render(report: &Report) -> Result<Vec<u8>> {
    render_counted(report).map(|(bytes, _)| bytes)
}

/// [`render`], also returning the number of pages.
///
/// # Errors
///
/// As [`render`].
pub fn render_counted(report: &Report) -> Result<(Vec<u8>, usize)> {
    let metrics = Metrics::load()?;
    let mut l = Layout::new(metrics);
    cover(&mut l, report);
    l.new_page();
    summary(&mut l, report);
    l.new_page();
    matrix(&mut l, report);
    l.new_page();
    exceptions(&mut l, report);
    l.new_page();
    appendix(&mut l, report);
    l.new_page();
    signoff_and_verify(&mut l, report);
    // A section that ended exactly at a page break leaves an empty page behind.
    while l.pages.len() > 1 && l.pages.last().is_some_and(Vec::is_empty) {
        l.pages.pop();
    }
    decorate(&mut l, report);

    let mut doc = PdfDocument::new(report.title);
    let info = &mut doc.metadata.info;
    info.author = "vouch".to_string();
    info.creator = "vouch".to_string();
    info.producer = "vouch".to_string();
    info.subject = format!(
        "{} ({}), period {} to {}, attestation digest {}",
        report.matrix.get("title").map_or("", String::as_str),
        report.matrix.get("id").map_or("", String::as_str),
        report.period.from,
        report.period.to,
        report.digest
    );
    let date = doc_date(report);
    info.creation_date = date;
    info.modification_date = date;
    info.metadata_date = date;
    doc.resources
        .fonts
        .map
        .insert(FontId(FONT_ID.to_string()), PdfFont::new(l.m.font.clone()));
    let page_count = l.pages.len();
    let pages: Vec<PdfPage> = std::mem::take(&mut l.pages)
        .into_iter()
        .map(|ops| PdfPage::new(Mm(210.0), Mm(297.0), ops))
        .collect();
    doc.with_pages(pages);

    let opts = PdfSaveOptions {
        subset_fonts: false,
        ..PdfSaveOptions::default()
    };
    let mut warnings = Vec::new();
    let mut lo = doc.to_lopdf_document(&opts, &mut warnings);
    lo.compress();
    // printpdf writes an empty /GTS_PDFXVersion, which makes readers call the file PDF/X.
    if let Ok(id) = lo.trailer.get(b"Info").and_then(|o| o.as_reference())
        && let Ok(dict) = lo.get_object_mut(id).and_then(|o| o.as_dict_mut())
    {
        dict.remove(b"GTS_PDFXVersion");
        dict.remove(b"Identifier");
    }
    // The trailer /ID: printpdf draws it from a process-global counter. Render once with a
    // fixed /ID, then again with a hash of those bytes as the /ID. (lopdf is reached through
    // printpdf's types only, so this module needs no dependency of its own on it.)
    let mut out = Vec::new();
    for pass in 0..2 {
        let id = if pass == 0 {
            "0".repeat(32)
        } else {
            hex::encode(&crate::crypto::sha256(&out)[..16])
        };
        let ids = lo
            .trailer
            .get_mut(b"ID")
            .and_then(|o| o.as_array_mut())
            .map_err(|e| Error::new(format!("cannot set the PDF /ID: {e}")))?;
        for o in ids.iter_mut() {
            if let Ok(s) = o.as_str_mut() {
                *s = id.as_bytes().to_vec();
            }
        }
        out.clear();
        lo.save_to(&mut out)
            .map_err(|e| Error::new(format!("cannot write the PDF: {e}")))?;
    }
    Ok((out, page_count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attest::Signoff;
    use crate::report::{Cuec, EvidenceRow, Exception, ItemRow, PartyRow, SectionRows};
    use crate::status::{Duty, Period, Window};
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
            windows: vec![Window {
                from: date("2026-07-01"),
                to: date("2026-09-30"),
                due: true,
                state: if ev.is_empty() { "empty" } else { "ok" },
                evidence: ev.to_vec(),
            }],
            evidence: ev.to_vec(),
            last_performed: ev.first().map(|_| "2026-07-03".to_string()),
            flags: Vec::new(),
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
                    activity: "Review privileged access quarterly: Zugriffsrechte prüfen ✓"
                        .to_string(),
                    raci: raci.clone(),
                    duties: vec![
                        duty("provider", "acme", Status::Fulfilled, &[5, 9]),
                        duty("customer", "globex", Status::Overdue, &[7]),
                    ],
                },
                ItemRow {
                    id: "IAM-02".to_string(),
                    activity: "Rotate break-glass credentials".to_string(),
                    raci: raci.clone(),
                    duties: vec![duty("customer", "globex", Status::Failed, &[11])],
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
                        duty("provider", "acme", statuses[i % 7], &[100 + i as u64]),
                        duty("customer", "", Status::Missing, &[]),
                    ],
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
            title: crate::report::TITLE,
            statement: crate::report::STATEMENT,
            matrix,
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
            }],
            cuecs: vec![Cuec {
                item: "IAM-01".to_string(),
                duty: "Customer reviews its own privileged accounts".to_string(),
                status: Status::Overdue,
            }],
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
            }],
            appendix_note: None,
            digest: "0123456789abcdef".repeat(4),
            signoffs: vec![Signoff {
                seq: 40,
                party: "acme".to_string(),
                fingerprint: "ab".repeat(32),
                time: "2026-10-15T10:00:00Z".to_string(),
                signature: "cd".repeat(64),
                digest: "0123456789abcdef".repeat(4),
                head: 39,
                matches: true,
            }],
            how_to_verify: vec![
                "vouch verify --trust PARTY.pub … --artifacts".to_string(),
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
    fn wrapped_lines_fit() {
        let m = Metrics::load().unwrap();
        let text = format!(
            "{} not-applicable 2026-07-03T10:00:00Z {}",
            "word ".repeat(40),
            "ab".repeat(60)
        );
        for max in [40.0, 90.0, 300.0] {
            let lines = m.wrap(&text, 8.0, max);
            assert!(lines.len() > 1);
            for l in &lines {
                assert!(m.width(l, 8.0) <= max, "{l:?} wider than {max}");
            }
            assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
        }
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
        assert!(text.contains("Rotate break-glass credentials"), "{text}");
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
        use crate::ledger::store::Access;
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
        let r = crate::report::build(
            &ledger,
            &period,
            &verification,
            crate::report::Appendix::All,
        )
        .unwrap();
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
}
