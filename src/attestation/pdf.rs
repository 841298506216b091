//! The PDF rendering of the attestation [`Report`]: the same facts as
//! [`crate::attestation::report::to_markdown`], laid out on A4 pages for a contract reviewer or auditor.
//!
//! Why it looks the way it does:
//!
//! - Only this module imports printpdf. printpdf 0.12 is used without default features (the
//!   `html` feature costs minutes of build time): there is no layout engine, so this module
//!   wraps text itself with the advance widths of the embedded font, paginates, and only then
//!   draws the running header, the "page X of Y" footer and, for an unverified ledger, the
//!   stamp on every page.
//! - Text wraps at spaces first, then after `_ - . / = ,` inside a word too wide for its
//!   column, and splits inside a piece only when that piece alone is wider than the column;
//!   table columns grow (within limits) to their longest word, so ids stay whole. Nothing is
//!   drawn wider than its cell or the page.
//! - Headings are kept with what follows them, and a table's header row with its first row;
//!   a table that goes on over a page break repeats its caption and header row.
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

use crate::attestation::report::{Report, SectionRows};
use crate::attestation::status::{Duty, Status};
use crate::error::{Error, Result};

/// DejaVu Sans, embedded (licence: `src/fonts/LICENSE-DejaVu.txt`).
const FONT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/fonts/DejaVuSans.ttf"
));
/// The fixed resource name of the font (printpdf's own ids differ per call).
const FONT_ID: &str = "FDejaVuSans";

// A4 in points, and the page frame.
const PAGE_W: f32 = 595.276;
const PAGE_H: f32 = 841.89;
const MARGIN_X: f32 = 42.0;
const TOP: f32 = PAGE_H - 60.0;
const BOTTOM: f32 = 52.0;
const WIDTH: f32 = PAGE_W - 2.0 * MARGIN_X;

type Rgb3 = (f32, f32, f32);

const BLACK: Rgb3 = (0.0, 0.0, 0.0);
const WHITE: Rgb3 = (1.0, 1.0, 1.0);
const GREY_TEXT: Rgb3 = (0.35, 0.35, 0.35);
const RULE: Rgb3 = (0.75, 0.75, 0.75);
const HEADER_FILL: Rgb3 = (0.90, 0.92, 0.95);
const CODE_FILL: Rgb3 = (0.94, 0.94, 0.94);
const NOTE_FILL: Rgb3 = (0.97, 0.97, 0.90);
const STAMP: Rgb3 = (0.85, 0.1, 0.1);
const GOOD: Rgb3 = (0.10, 0.45, 0.18);
const WARN: Rgb3 = (0.65, 0.40, 0.0);

/// Smaller text (ids after titles, notes under a cell's main text), relative to its table.
const SMALL: f32 = 0.88;

/// Colour of a status in the grid and the tables.
fn status_colour(s: Status) -> Rgb3 {
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

fn rgb((r, g, b): Rgb3) -> Color {
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

    /// Break `text` into lines no wider than `max` at `size`. Lines break at spaces; a word
    /// wider than a whole line breaks after `_ - . / = ,`, and a piece of it is split between
    /// characters only when that piece alone is wider than a line. `\n` starts a new line.
    /// Only spaces are dropped (at line ends), never another character.
    fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let fits = |s: &str| self.width(s.trim_end(), size) <= max;
        let mut lines = Vec::new();
        let mut line = String::new();
        let flush = |lines: &mut Vec<String>, line: &mut String| {
            let t = line.trim_end();
            if !t.is_empty() {
                lines.push(t.to_string());
            }
            line.clear();
        };
        for para in text.split('\n') {
            for word in para.split(' ') {
                let sep = if line.is_empty() { "" } else { " " };
                let joined = format!("{line}{sep}{word}");
                if fits(&joined) {
                    line = joined;
                    continue;
                }
                if fits(word) {
                    flush(&mut lines, &mut line);
                    line = word.to_string();
                    continue;
                }
                // Wider than a line on its own: go on on this line, piece by piece.
                let mut sep = sep;
                for piece in pieces(word) {
                    let joined = format!("{line}{sep}{piece}");
                    sep = "";
                    if fits(&joined) {
                        line = joined;
                        continue;
                    }
                    flush(&mut lines, &mut line);
                    if fits(piece) {
                        line = piece.to_string();
                        continue;
                    }
                    for c in piece.chars() {
                        line.push(c);
                        if !fits(&line) && line.chars().count() > 1 {
                            line.pop();
                            flush(&mut lines, &mut line);
                            line.push(c);
                        }
                    }
                }
            }
            lines.push(line.trim_end().to_string());
            line.clear();
        }
        lines
    }

    /// `s`, cut with an ellipsis to fit `max` at `size`.
    fn truncate(&self, s: &str, size: f32, max: f32) -> String {
        if self.width(s, size) <= max {
            return s.to_string();
        }
        let mut out: String = s.to_string();
        while !out.is_empty() && self.width(&format!("{out}…"), size) > max {
            out.pop();
        }
        format!("{}…", out.trim_end())
    }

    /// The widest space-separated word of `s`: what a column needs to keep words whole.
    fn longest_word(&self, s: &str, size: f32) -> f32 {
        s.split([' ', '\n'])
            .map(|w| self.width(w, size))
            .fold(0.0, f32::max)
    }
}

/// The pieces a word too wide for its line may break into: each ends after one of
/// `_ - . / = ,`, unless nothing but such characters precede it (`--trust` stays whole).
fn pieces(word: &str) -> Vec<&str> {
    const AFTER: [char; 6] = ['_', '-', '.', '/', '=', ','];
    let mut out = Vec::new();
    let mut start = 0;
    let mut other = false;
    for (i, c) in word.char_indices() {
        if AFTER.contains(&c) {
            if other {
                let end = i + c.len_utf8();
                out.push(&word[start..end]);
                start = end;
                other = false;
            }
        } else {
            other = true;
        }
    }
    if start < word.len() {
        out.push(&word[start..]);
    }
    out
}

/// How a piece of text in a cell looks.
#[derive(Clone, Copy, PartialEq)]
struct Style {
    colour: Rgb3,
    /// Drawn at [`SMALL`] of the table's size.
    small: bool,
}

const PLAIN: Style = Style {
    colour: BLACK,
    small: false,
};
const NOTE: Style = Style {
    colour: GREY_TEXT,
    small: true,
};

impl Style {
    fn size(self, size: f32) -> f32 {
        if self.small { size * SMALL } else { size }
    }

    fn coloured(colour: Rgb3) -> Self {
        Self {
            colour,
            small: false,
        }
    }
}

/// A paragraph of a cell: on its own line(s), or `inline` after the previous one when it
/// fits there.
#[derive(Clone)]
struct Span {
    text: String,
    style: Style,
    inline: bool,
    /// Lines after the first are indented (a `key = value` that wraps).
    hang: bool,
}

/// A table cell: spans of text, and optionally a status swatch before them.
#[derive(Clone, Default)]
struct Cell {
    spans: Vec<Span>,
    status: Option<Status>,
}

impl Cell {
    fn styled(text: impl Into<String>, style: Style) -> Self {
        Self {
            spans: vec![Span {
                text: text.into(),
                style,
                inline: false,
                hang: false,
            }],
            status: None,
        }
    }

    /// Add `text` on a new line.
    fn line(mut self, text: impl Into<String>, style: Style) -> Self {
        self.spans.push(Span {
            text: text.into(),
            style,
            inline: false,
            hang: false,
        });
        self
    }

    /// Add `text` on a new line, its own further lines indented.
    fn hanging(mut self, text: impl Into<String>, style: Style) -> Self {
        self.spans.push(Span {
            text: text.into(),
            style,
            inline: false,
            hang: true,
        });
        self
    }

    /// Add `text` after the last line when it fits there, else on a new line.
    fn after(mut self, text: impl Into<String>, style: Style) -> Self {
        self.spans.push(Span {
            text: text.into(),
            style,
            inline: true,
            hang: false,
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

fn status_cell(s: Status) -> Cell {
    Cell {
        status: Some(s),
        ..Cell::from(s.as_str())
    }
}

/// A run of text on a laid-out line: `dx` from the cell's text start.
#[derive(Clone)]
struct Run {
    text: String,
    style: Style,
    dx: f32,
}

/// A table: column titles and base widths (fractions of the text width), font size.
struct Table<'a> {
    header: Option<&'a [&'a str]>,
    widths: &'a [f32],
    size: f32,
    /// Shown above the repeated header row on the pages a table goes on to.
    caption: Option<&'a str>,
    /// Centred columns (counts).
    centre: &'a [usize],
    /// A column may grow up to this factor of its base width to keep its longest word
    /// whole, taking the room from columns that have some to spare (1.0: fixed widths).
    grow: f32,
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
        }
    }
}

const PAD: f32 = 2.5;
const SWATCH: f32 = 6.0;

/// A heading waiting for what follows it, so that the two go on the same page.
struct Heading {
    text: String,
    /// Shown small and grey after the text (a section id).
    id: Option<String>,
    size: f32,
}

/// The page builder: content first, running header and footer after pagination.
struct Layout {
    m: Metrics,
    font: PdfFontHandle,
    pages: Vec<Vec<Op>>,
    y: f32,
    pending: Vec<Heading>,
    /// Text drawn wider than its cell or the text width (none, unless a single character
    /// is wider than its column): kept so that tests can assert there is none.
    overflows: Vec<String>,
}

impl Layout {
    fn new(m: Metrics) -> Self {
        Self {
            m,
            font: PdfFontHandle::External(FontId(FONT_ID.to_string())),
            pages: vec![Vec::new()],
            y: TOP,
            pending: Vec::new(),
            overflows: Vec::new(),
        }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Go on on a fresh page (the current one when nothing is drawn on it yet).
    fn new_page(&mut self) {
        if self.pages.last().is_none_or(|p| !p.is_empty()) {
            self.pages.push(Vec::new());
        }
        self.y = TOP;
    }

    /// Make room for `h` points of content, together with the headings waiting for it:
    /// start a new page unless they all fit on this one, then draw the headings.
    fn ensure(&mut self, h: f32) {
        let pending = std::mem::take(&mut self.pending);
        let hh: f32 = pending.iter().map(|p| self.heading_height(p)).sum();
        if self.y - hh - h < BOTTOM {
            self.new_page();
        }
        for p in &pending {
            self.draw_heading(p);
        }
    }

    fn text_at(&mut self, x: f32, y: f32, size: f32, bold: bool, colour: Rgb3, s: &str) {
        self.within(s, size, x, MARGIN_X, MARGIN_X + WIDTH);
        let font = self.font.clone();
        push_text(self.ops(), &font, x, y, size, bold, colour, s);
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: Option<Rgb3>, stroke: bool) {
        push_rect(self.ops(), x, y, w, h, fill, stroke);
    }

    fn hline(&mut self, x0: f32, x1: f32, y: f32, colour: Rgb3, width: f32) {
        push_line(self.ops(), x0, y, x1, y, colour, width);
    }

    /// Note `s` drawn at `x` when it does not stay within `left..right`.
    fn within(&mut self, s: &str, size: f32, x: f32, left: f32, right: f32) {
        const EPS: f32 = 0.01;
        if x < left - EPS || x + self.m.width(s, size) > right + EPS {
            self.overflows
                .push(format!("{s:?} at {x:.1} outside {left:.1}..{right:.1}"));
        }
    }

    /// A wrapped paragraph.
    fn para(&mut self, text: &str, size: f32, bold: bool, colour: Rgb3) {
        self.para_at(MARGIN_X, WIDTH, text, size, bold, colour);
    }

    fn para_at(&mut self, x: f32, w: f32, text: &str, size: f32, bold: bool, colour: Rgb3) {
        let lh = size * 1.3;
        let lines = self.m.wrap(text, size, w);
        // Keep the first two lines together (and with a heading before them).
        self.ensure(lh * lines.len().min(2) as f32);
        for line in lines {
            if self.y - lh < BOTTOM {
                self.new_page();
            }
            self.y -= lh;
            self.text_at(x, self.y + size * 0.25, size, bold, colour, &line);
        }
    }

    fn gap(&mut self, h: f32) {
        self.y -= h;
    }

    /// A heading, drawn with what follows it.
    fn heading(&mut self, text: &str, size: f32) {
        self.pending.push(Heading {
            text: text.to_string(),
            id: None,
            size,
        });
    }

    /// A heading with an id after it, small and grey.
    fn heading_id(&mut self, text: &str, id: &str, size: f32) {
        self.pending.push(Heading {
            text: text.to_string(),
            id: Some(format!("({id})")),
            size,
        });
    }

    /// The lines of a heading, and whether its id goes on the last of them.
    fn heading_lines(&self, h: &Heading) -> (Vec<String>, bool) {
        let lines = self.m.wrap(&h.text, h.size, WIDTH);
        let inline = match (&h.id, lines.last()) {
            (Some(id), Some(last)) => {
                self.m.width(last, h.size) + h.size * 0.5 + self.m.width(id, h.size * 0.7) <= WIDTH
            }
            _ => false,
        };
        (lines, inline)
    }

    fn heading_height(&self, h: &Heading) -> f32 {
        let (lines, inline) = self.heading_lines(h);
        let own_line = if h.id.is_some() && !inline {
            h.size * 0.7 * 1.3
        } else {
            0.0
        };
        h.size * 0.6 + lines.len() as f32 * h.size * 1.3 + own_line + 3.0
    }

    fn draw_heading(&mut self, h: &Heading) {
        let (lines, inline) = self.heading_lines(h);
        let lh = h.size * 1.3;
        let small = h.size * 0.7;
        self.gap(h.size * 0.6);
        let n = lines.len();
        for (i, line) in lines.iter().enumerate() {
            self.y -= lh;
            let base = self.y + h.size * 0.25;
            self.text_at(MARGIN_X, base, h.size, true, BLACK, line);
            if inline
                && i + 1 == n
                && let Some(id) = &h.id
            {
                let x = MARGIN_X + self.m.width(line, h.size) + h.size * 0.5;
                self.text_at(x, base, small, false, GREY_TEXT, id);
            }
        }
        if !inline && let Some(id) = &h.id {
            self.y -= small * 1.3;
            self.text_at(MARGIN_X, self.y + small * 0.25, small, false, GREY_TEXT, id);
        }
        self.gap(3.0);
    }

    /// Column widths in points: the base widths, with columns whose longest word does not
    /// fit grown (up to `t.grow` times) at the expense of columns with room to spare (each
    /// keeps its own longest word and at least 85 % of its base width).
    fn fit(&self, t: &Table<'_>, rows: &[Vec<Cell>]) -> Vec<f32> {
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
                    for s in &c.spans {
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
    fn lay(&self, c: &Cell, size: f32, inner: f32) -> Vec<Vec<Run>> {
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
            for (i, l) in self
                .m
                .wrap(&s.text, sz, inner - indent)
                .into_iter()
                .enumerate()
            {
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
    fn table(&mut self, t: &Table<'_>, rows: &[Vec<Cell>]) {
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
            me.rect(
                MARGIN_X,
                me.y - header_h,
                WIDTH,
                header_h,
                Some(HEADER_FILL),
                false,
            );
            for (ci, (lines, (x, w))) in header_lines.iter().zip(&xs).enumerate() {
                for (i, l) in lines.iter().enumerate() {
                    let y = me.y - PAD - (i as f32 + 1.0) * lh + size * 0.25;
                    let tx = if centre(ci) {
                        x + (w - me.m.width(l, size)) / 2.0
                    } else {
                        x + PAD
                    };
                    me.text_at(tx, y, size, true, BLACK, l);
                }
            }
            me.y -= header_h;
            me.hline(MARGIN_X, MARGIN_X + WIDTH, me.y, GREY_TEXT, 0.6);
        };
        let continued = |me: &mut Self| {
            me.new_page();
            if let Some(c) = t.caption {
                let cs = 7.5;
                me.y -= cs * 1.4;
                let line = me.m.truncate(&format!("{c} (continued)"), cs, WIDTH);
                me.text_at(MARGIN_X, me.y + cs * 0.3, cs, false, GREY_TEXT, &line);
                me.gap(3.0);
            }
            draw_header(me);
        };
        let laid: Vec<Vec<Vec<Vec<Run>>>> = rows
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&xs)
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
            .collect();
        let height = |r: &Vec<Vec<Vec<Run>>>| r.iter().map(Vec::len).max().unwrap_or(1).max(1);
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
        draw_header(self);
        for (row, wrapped) in rows.iter().zip(&laid) {
            let n = height(wrapped);
            let mut from = 0;
            let mut fresh = false;
            while from < n {
                let room = ((self.y - BOTTOM - 2.0 * PAD) / lh).floor();
                let fits = if room < 1.0 { 0 } else { room as usize };
                let wanted = n - from;
                if !fresh && (fits == 0 || (fits < wanted && wanted <= WHOLE)) {
                    continued(self);
                    fresh = true;
                    continue;
                }
                let take = wanted.min(fits.max(1));
                let top = self.y;
                for (ci, (lines, (x, w))) in wrapped.iter().zip(&xs).enumerate() {
                    let mut tx = x + PAD;
                    if let Some(s) = row.get(ci).and_then(|c| c.status) {
                        if from == 0 {
                            let sy = top - PAD - lh + (lh - SWATCH) / 2.0 - 0.5;
                            self.rect(tx, sy, SWATCH, SWATCH, Some(status_colour(s)), true);
                        }
                        tx += SWATCH + 2.0;
                    }
                    for (i, runs) in lines.iter().skip(from).take(take).enumerate() {
                        let y = top - PAD - (i as f32 + 1.0) * lh + size * 0.25;
                        let line_w = runs
                            .iter()
                            .map(|r| r.dx + self.m.width(&r.text, r.style.size(size)))
                            .fold(0.0, f32::max);
                        let x0 = if centre(ci) {
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
                }
                self.y -= take as f32 * lh + 2.0 * PAD;
                self.hline(MARGIN_X, MARGIN_X + WIDTH, self.y, RULE, 0.4);
                from += take;
                fresh = false;
                if from < n {
                    continued(self);
                    fresh = true;
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
    colour: Rgb3,
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

fn push_rect(ops: &mut Vec<Op>, x: f32, y: f32, w: f32, h: f32, fill: Option<Rgb3>, stroke: bool) {
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

fn push_line(ops: &mut Vec<Op>, x0: f32, y0: f32, x1: f32, y1: f32, colour: Rgb3, w: f32) {
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

/// The first `n` characters of a hash or fingerprint, with an ellipsis when cut.
fn short(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        let head: String = s.chars().take(n).collect();
        format!("{head}…")
    } else {
        s.to_string()
    }
}

/// The first 16 characters of a key fingerprint: a key id, as the tables show it (the cover
/// lists them in full).
fn key_id(s: &str) -> String {
    s.chars().take(16).collect()
}

/// A long hex string (fingerprint, hash, signature) in lines of equal length, a multiple
/// of 8 digits, each no wider than `max`; other text wraps as usual.
fn hex_lines(m: &Metrics, s: &str, size: f32, max: f32) -> Vec<String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) || m.width(s, size) <= max {
        return m.wrap(s, size, max);
    }
    // Hex digits of DejaVu Sans are not all equally wide: measure the widest.
    let digit = "0123456789abcdef"
        .chars()
        .map(|c| m.width(&c.to_string(), size))
        .fold(0.0, f32::max);
    let per_line = ((max / digit) as usize / 8) * 8;
    if per_line == 0 {
        return m.wrap(s, size, max);
    }
    let lines = s.len().div_ceil(per_line);
    // Even lines: 128 digits that need two lines go as 64 + 64, not 100 + 28.
    let even = s.len().div_ceil(lines).div_ceil(8) * 8;
    s.as_bytes()
        .chunks(even.min(per_line))
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect()
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

/// "2026-Q3 (2026-07-01 to 2026-09-30)".
fn period_label(r: &Report) -> String {
    format!("{} ({} to {})", r.period.name(), r.period.from, r.period.to)
}

/// A party as "Display Name (id)", or the id alone when the report does not know it.
fn party_cell(r: &Report, id: &str) -> Cell {
    match r.parties.iter().find(|p| p.id == id) {
        Some(p) if !p.name.is_empty() && p.name != p.id => {
            Cell::from(p.name.as_str()).after(format!("({id})"), NOTE)
        }
        _ => Cell::from(dash(id)),
    }
}

fn cover(l: &mut Layout, r: &Report) {
    l.gap(10.0);
    l.para(r.title, 22.0, true, BLACK);
    l.gap(4.0);
    let get = |k: &str| r.matrix.get(k).map_or("-", String::as_str);
    l.para(get("title"), 14.0, false, GREY_TEXT);
    l.gap(2.0);
    l.para(
        &format!("Period {}", period_label(r)),
        11.0,
        false,
        GREY_TEXT,
    );
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
    let verification = r.verification_summary();
    let facts: Vec<Vec<Cell>> = vec![
        vec![
            "Matrix".into(),
            Cell::from(get("title")).after(format!("({})", get("id")), NOTE),
        ],
        vec!["Version".into(), get("version").into()],
        vec!["Matrix SHA-256".into(), get("sha256").into()],
        vec!["Adopted in entry".into(), get("adopted_in").into()],
        vec!["Period".into(), period_label(r).into()],
        vec!["Statuses as of".into(), r.as_of.as_str().into()],
        vec![
            "Ledger head".into(),
            format!("entry {}, hash {}", r.head.0, r.head.1).into(),
        ],
        vec![
            "Verification".into(),
            Cell::styled(
                verification,
                Style::coloured(if r.verified { BLACK } else { STAMP }),
            ),
        ],
        vec!["Attestation digest".into(), r.digest.as_str().into()],
    ];
    l.table(
        &Table {
            widths: &[0.22, 0.78],
            size: 9.0,
            ..Table::default()
        },
        &facts,
    );
    l.gap(4.0);
    // The statement, boxed.
    let lines = l.m.wrap(r.statement, 10.0, WIDTH - 16.0);
    let h = lines.len() as f32 * 13.0 + 12.0;
    l.ensure(h);
    l.rect(MARGIN_X, l.y - h, WIDTH, h, Some(NOTE_FILL), true);
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
                    let fp_w = 0.40 * WIDTH - 2.0 * PAD;
                    let lines: Vec<String> = p
                        .fingerprints
                        .iter()
                        .flat_map(|f| hex_lines(&l.m, f, 8.5, fp_w))
                        .collect();
                    lines.join("\n").into()
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
            caption: Some("Parties"),
            grow: 1.4,
            ..Table::default()
        },
        &rows,
    );
}

fn summary(l: &mut Layout, r: &Report) {
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
        .summary
        .iter()
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
            widths: &[0.22, 0.11, 0.11, 0.11, 0.11, 0.11, 0.12, 0.11],
            size: 8.5,
            caption: Some("Summary"),
            centre: &[1, 2, 3, 4, 5, 6, 7],
            grow: 1.3,
        },
        &rows,
    );
    grid(l, r);
}

/// What one grid cell says: the worst status, and how many of the duties owed (neither
/// waived nor informational) are fulfilled.
fn grid_cell(duties: &[&Duty]) -> Option<(Status, Option<(usize, usize)>)> {
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
        "Each cell shows the worst status of that party's duties in the section (failed, then missing, disputed, overdue, fulfilled, not-applicable, informational) and how many of the duties it owes there (neither waived nor informational) are fulfilled; a dash means the party has no duty there.",
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
    let label_w = WIDTH * 0.34;
    let col_w = ((WIDTH - label_w) / cols.len() as f32).min(96.0);
    let size = 7.5;
    let small = 6.5;
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
                let w = l.m.width(line, size);
                let y = l.y - (k as f32 + 1.0) * lh + 2.0;
                l.text_at(x + (col_w - w) / 2.0, y, size, true, BLACK, line);
            }
        }
        l.y -= head_h;
    };
    // Each row: the section title, wrapped, and its id in grey after it when there is room.
    // (title lines, where the id goes: line, x offset, text)
    type Label = (Vec<String>, Option<(usize, f32, String)>);
    let labels: Vec<Label> = r
        .sections
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
        .collect();
    let row_h = |n: usize| n.max(2) as f32 * lh + 6.0;
    l.ensure(head_h + labels.first().map_or(20.0, |(t, _)| row_h(t.len())));
    draw_head(l);
    for (s, (label, id)) in r.sections.iter().zip(&labels) {
        let h = row_h(label.len());
        if l.y - h < BOTTOM {
            l.new_page();
            let cs = 7.5;
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
            draw_head(l);
        }
        let top = l.y;
        // The label block, centred in the row like the cells.
        let n = label.len().max(id.as_ref().map_or(0, |(k, _, _)| k + 1));
        let block_top = top - (h - n as f32 * lh) / 2.0;
        let line_y = |k: usize| block_top - (k as f32 + 1.0) * lh + size * 0.3;
        for (k, line) in label.iter().enumerate() {
            l.text_at(MARGIN_X, line_y(k), size, false, BLACK, line);
        }
        if let Some((k, dx, id)) = id {
            l.text_at(MARGIN_X + dx, line_y(*k), small, false, GREY_TEXT, id);
        }
        for (i, c) in cols.iter().enumerate() {
            let duties: Vec<&Duty> = s
                .items
                .iter()
                .flat_map(|it| &it.duties)
                .filter(|d| party_label(&d.party, d.role) == *c)
                .collect();
            let x = MARGIN_X + label_w + i as f32 * col_w;
            let inner = col_w - 6.0;
            let centred = |l: &mut Layout, y: f32, sz: f32, colour: Rgb3, s: &str| {
                let w = l.m.width(s, sz);
                l.within(s, sz, x + (col_w - w) / 2.0, x + 2.0, x + col_w - 2.0);
                l.text_at(x + (col_w - w) / 2.0, y, sz, false, colour, s);
            };
            match grid_cell(&duties) {
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
                        7.0,
                        inner,
                    );
                    let mid = top - h / 2.0;
                    match count {
                        Some((done, owed)) => {
                            centred(l, mid + 1.0, 7.0, colour, &name);
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
                        None => centred(l, mid - 2.3, 7.0, colour, &name),
                    }
                }
                None => centred(l, top - h / 2.0 - 2.5, 7.0, GREY_TEXT, "–"),
            }
        }
        l.y -= h;
    }
    l.gap(8.0);
}

fn matrix_rows(s: &SectionRows) -> Vec<Vec<Cell>> {
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
                Cell::from(if d.party.is_empty() {
                    "unbound"
                } else {
                    d.party.as_str()
                })
                .line(format!("({})", d.role), NOTE),
                status_cell(d.status),
                dash(&ev.join(" ")).into(),
                d.last_performed.as_deref().unwrap_or("-").into(),
            ]);
        }
    }
    rows
}

fn matrix(l: &mut Layout, r: &Report) {
    l.heading("The matrix", 16.0);
    let header = [
        "item",
        "activity",
        "RACI",
        "party (role)",
        "status",
        "evidence",
        "last performed",
    ];
    let all: Vec<Vec<Vec<Cell>>> = r.sections.iter().map(matrix_rows).collect();
    // One set of column widths for every section, so that the columns line up throughout.
    let widths: Vec<f32> = l
        .fit(
            &Table {
                header: Some(&header),
                widths: &[0.16, 0.27, 0.12, 0.13, 0.13, 0.08, 0.11],
                size: 7.5,
                grow: 1.35,
                ..Table::default()
            },
            &all.concat(),
        )
        .iter()
        .map(|w| w / WIDTH)
        .collect();
    for (s, rows) in r.sections.iter().zip(&all) {
        l.heading_id(&s.title, &s.id, 11.5);
        let caption = format!("{} ({})", s.title, s.id);
        l.table(
            &Table {
                header: Some(&header),
                widths: &widths,
                size: 7.5,
                caption: Some(&caption),
                ..Table::default()
            },
            rows,
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
                widths: &[0.17, 0.23, 0.11, 0.09, 0.12, 0.28],
                size: 7.5,
                caption: Some("Exceptions"),
                grow: 1.35,
                ..Table::default()
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
            widths: &[0.24, 0.60, 0.16],
            size: 8.0,
            caption: Some("Complementary user entity controls"),
            grow: 1.35,
            ..Table::default()
        },
        &rows,
    );
}

/// A JSON field value as the appendix shows it: strings without quotes.
fn field_value(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn appendix(l: &mut Layout, r: &Report) {
    l.heading("Evidence appendix", 16.0);
    l.para(
        "Each evidence entry counted for a duty: its outcome and the entries that co-sign it, who signed it (party and key id: the first 16 hex digits of the key fingerprint), its fields, and its artefacts (name and the start of their SHA-256).",
        8.5,
        false,
        GREY_TEXT,
    );
    l.gap(3.0);
    if let Some(n) = &r.appendix_note {
        l.para(n, 8.5, false, GREY_TEXT);
        l.gap(4.0);
    }
    if r.appendix.is_empty() {
        l.para("No evidence entries listed.", 9.0, false, BLACK);
        return;
    }
    l.table(&appendix_table(), &appendix_rows(r));
}

fn appendix_table() -> Table<'static> {
    Table {
        header: Some(&[
            "seq",
            "item / kind / outcome / co-signatures",
            "performed / recorded",
            "party / key",
            "fields",
            "artefacts / SHA-256",
        ]),
        widths: &[0.05, 0.18, 0.185, 0.135, 0.285, 0.165],
        size: 7.0,
        caption: Some("Evidence appendix"),
        grow: 1.15,
        ..Table::default()
    }
}

/// One row per evidence entry; one field per line, as `key = value`.
fn appendix_rows(r: &Report) -> Vec<Vec<Cell>> {
    r.appendix
        .iter()
        .map(|e| {
            let outcome = match e.outcome.as_str() {
                "fail" => STAMP,
                "partial" => WARN,
                _ => BLACK,
            };
            let mut item = Cell::from(e.item.as_str())
                .line(e.kind.as_str(), PLAIN)
                .line(e.outcome.as_str(), Style::coloured(outcome));
            // Co-signatures go with the outcome they accept or dispute.
            if !e.cosignatures.is_empty() {
                item = item.line("co-signed", NOTE);
            }
            for (seq, party, verdict) in &e.cosignatures {
                let colour = if verdict == "dispute" { STAMP } else { BLACK };
                item = item
                    .line(format!("#{seq} {}", dash(party)), PLAIN)
                    .after(verdict.as_str(), Style::coloured(colour));
            }
            let when = Cell::from(e.performed_at.as_str()).line(e.recorded_at.as_str(), NOTE);
            let who = Cell::from(dash(&e.party)).line(key_id(&e.signer), NOTE);
            let mut fields = Cell::default();
            for (k, v) in &e.fields {
                fields = fields.hanging(format!("{k} = {}", field_value(v)), PLAIN);
            }
            if fields.spans.is_empty() {
                fields = Cell::from("-");
            }
            let mut arts = Cell::default();
            for (name, sha) in &e.artifacts {
                arts = arts.line(name.as_str(), PLAIN).line(short(sha, 16), NOTE);
            }
            if arts.spans.is_empty() {
                arts = Cell::from("-");
            }
            vec![format!("#{}", e.seq).into(), item, when, who, fields, arts]
        })
        .collect()
}

/// The state of a sign-off: its words and colour.
fn signoff_state(s: &crate::attestation::attest::Signoff) -> (String, Rgb3) {
    if s.matches {
        ("matches this attestation".to_string(), GOOD)
    } else {
        (format!("does NOT match (signed at head {})", s.head), STAMP)
    }
}

fn signoff(l: &mut Layout, r: &Report) {
    l.heading("Sign-off", 16.0);
    l.para(
        "Each party bound in the adoption, and any other party that signed: the sign-off entry, the key it was signed with (key id: the first 16 hex digits of the fingerprint), the attestation digest it signs and the ledger head that digest was computed at.",
        8.5,
        false,
        GREY_TEXT,
    );
    l.gap(3.0);
    let rows = signoff_rows(r);
    if rows.is_empty() {
        l.para("Not signed.", 10.0, false, BLACK);
        return;
    }
    l.table(&signoff_table(), &rows);
    if r.signoffs.is_empty() {
        return;
    }
    signatures(l, r);
}

fn signoff_table() -> Table<'static> {
    Table {
        header: Some(&[
            "party",
            "role",
            "sign-off entry",
            "key id",
            "digest signed",
            "computed at head",
            "state",
        ]),
        widths: &[0.17, 0.09, 0.16, 0.145, 0.155, 0.09, 0.19],
        size: 7.0,
        caption: Some("Sign-off"),
        grow: 1.3,
        ..Table::default()
    }
}

/// One row per sign-off of each party bound in the adoption (in report order; "not
/// signed" when it has none) and of any other party that signed.
fn signoff_rows(r: &Report) -> Vec<Vec<Cell>> {
    let mut ids: Vec<&str> = r
        .parties
        .iter()
        .filter(|p| p.bound_as.is_some())
        .map(|p| p.id.as_str())
        .collect();
    for s in &r.signoffs {
        if !ids.contains(&s.party.as_str()) {
            ids.push(&s.party);
        }
    }
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for id in &ids {
        let party = r.parties.iter().find(|p| p.id == *id);
        let role = party.map_or("-", |p| p.bound_as.as_deref().unwrap_or(&p.role));
        let role = match party {
            Some(p) if p.bound_as.is_none() => Cell::from(role).line("not bound", NOTE),
            _ => Cell::from(role),
        };
        let mut signed = r.signoffs.iter().filter(|s| s.party == *id).peekable();
        if signed.peek().is_none() {
            rows.push(vec![
                party_cell(r, id),
                role,
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                Cell::styled("not signed", Style::coloured(WARN)),
            ]);
            continue;
        }
        for s in signed {
            let (state, colour) = signoff_state(s);
            rows.push(vec![
                party_cell(r, id),
                role.clone(),
                Cell::from(format!("#{}", s.seq)).line(s.time.as_str(), NOTE),
                key_id(&s.fingerprint).into(),
                short(&s.digest, 16).into(),
                format!("entry {}", s.head).into(),
                Cell::styled(state, Style::coloured(colour)),
            ]);
        }
    }
    rows
}

/// Each sign-off's key, digest and signature in full.
fn signatures(l: &mut Layout, r: &Report) {
    l.heading("Signatures", 11.5);
    l.para(
        "The Ed25519 signature of each sign-off entry, whose payload carries the digest it signs; vouch verify checks each one against the signing key.",
        8.0,
        false,
        GREY_TEXT,
    );
    l.gap(2.0);
    let size = 7.0;
    let lh = size * 1.3;
    let key_x = MARGIN_X + 10.0;
    let value_x = key_x + 42.0;
    let value_w = MARGIN_X + WIDTH - value_x;
    for s in &r.signoffs {
        let who = r
            .parties
            .iter()
            .find(|p| p.id == s.party)
            .map_or(s.party.clone(), |p| format!("{} ({})", p.name, p.id));
        let label = format!("{who} — sign-off entry #{}, {}", s.seq, s.time);
        let label_lines = l.m.wrap(&label, 8.0, WIDTH);
        let body: Vec<(&str, Vec<String>)> = [
            ("key", &s.fingerprint),
            ("digest", &s.digest),
            ("signature", &s.signature),
        ]
        .into_iter()
        .map(|(k, v)| (k, hex_lines(&l.m, v, size, value_w)))
        .collect();
        let n: usize = body.iter().map(|(_, v)| v.len()).sum();
        // A signature block never splits over a page break.
        l.ensure(label_lines.len() as f32 * 8.0 * 1.3 + n as f32 * lh + 6.0);
        for line in label_lines {
            l.y -= 8.0 * 1.3;
            l.text_at(MARGIN_X, l.y + 2.0, 8.0, true, BLACK, &line);
        }
        for (k, lines) in body {
            for (i, line) in lines.iter().enumerate() {
                l.y -= lh;
                if i == 0 {
                    l.text_at(key_x, l.y + 1.8, size, false, GREY_TEXT, k);
                }
                l.text_at(value_x, l.y + 1.8, size, false, BLACK, line);
            }
        }
        l.gap(6.0);
    }
}

/// A "how to verify" line: the command and the explanation after it in parentheses
/// (separated by at least two spaces), or `None` when the line is prose.
fn command_and_note(line: &str) -> Option<(&str, &str)> {
    let t = line.trim_end();
    let inner = t.strip_suffix(')')?;
    let open = inner.rfind("  (")?;
    let cmd = inner[..open].trim_end();
    let note = &inner[open + 3..];
    (!cmd.is_empty() && !note.is_empty()).then_some((cmd, note))
}

fn how_to_verify(l: &mut Layout, r: &Report) {
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
fn checkpoints(l: &mut Layout, r: &Report) {
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
    let size = 7.5;
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
        l.para(&caption, 8.0, false, GREY_TEXT);
        l.gap(2.0);
        let box_h = lines.len() as f32 * lh + 6.0;
        l.ensure(box_h);
        l.rect(MARGIN_X, l.y - box_h, WIDTH, box_h, Some(CODE_FILL), false);
        l.gap(3.0);
        for t in lines {
            l.y -= lh;
            l.text_at(MARGIN_X + 6.0, l.y + size * 0.3, size, false, BLACK, &t);
        }
        l.gap(8.0);
    }
}

/// Running header, footer and, for an unverified ledger, the stamp, once the page count is
/// known.
fn decorate(l: &mut Layout, r: &Report) {
    let n = l.pages.len();
    let title = r.matrix.get("title").map_or("", String::as_str);
    let period = format!(" · period {}", period_label(r));
    let font = l.font.clone();
    let hsize = 8.0;
    let title =
        l.m.truncate(title, hsize, WIDTH - l.m.width(&period, hsize));
    let header = l.m.truncate(&format!("{title}{period}"), hsize, WIDTH);
    for (i, ops) in l.pages.iter_mut().enumerate() {
        let y = PAGE_H - 34.0;
        push_text(ops, &font, MARGIN_X, y, hsize, false, GREY_TEXT, &header);
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
            &format!("vouch · attestation digest {}", short(&r.digest, 16)),
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
    let mut l = paginate(report)?;
    decorate(&mut l, report);

    let id = report.matrix.get("id").map_or("", String::as_str);
    let period = report.period.name();
    let mut doc = PdfDocument::new(&format!("{} — {id} {period}", report.title));
    let info = &mut doc.metadata.info;
    info.keywords = vec![id.to_string(), period.clone(), report.digest.clone()];
    info.author = "vouch".to_string();
    info.creator = "vouch".to_string();
    info.producer = "vouch".to_string();
    info.subject = format!(
        "{} ({id}), period {}, attestation digest {}",
        report.matrix.get("title").map_or("", String::as_str),
        period_label(report),
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
        let stamp = serde_json::to_vec(&report.stamp())
            .map_err(|e| Error::new(format!("cannot write the report stamp: {e}")))?;
        dict.set(
            STAMP_KEY,
            lopdf::Object::String(stamp, lopdf::StringFormat::Hexadecimal),
        );
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

/// The document-information key of the report's [`crate::attestation::report::Stamp`].
pub const STAMP_KEY: &str = "VouchReport";

/// Read the [`crate::attestation::report::Stamp`] a rendered report carries.
///
/// # Errors
///
/// When the bytes are not a PDF, or not a PDF vouch wrote.
pub fn read_stamp(pdf: &[u8]) -> Result<crate::attestation::report::Stamp> {
    let doc = lopdf::Document::load_mem(pdf)
        .map_err(|e| Error::new(format!("not a readable PDF: {e}")))?;
    let bytes = doc
        .trailer
        .get(b"Info")
        .and_then(|o| o.as_reference())
        .and_then(|id| doc.get_object(id))
        .and_then(|o| o.as_dict())
        .and_then(|d| d.get(STAMP_KEY.as_bytes()))
        .and_then(|o| o.as_str())
        .map_err(|_| {
            Error::new("the PDF has no vouch report stamp")
                .hint("only PDFs written by `vouch report` (or `vouch demo`) can be checked")
        })?;
    let stamp: crate::attestation::report::Stamp = serde_json::from_slice(bytes)
        .map_err(|e| Error::new(format!("the PDF's vouch report stamp is malformed: {e}")))?;
    if stamp.format != crate::attestation::report::STAMP_FORMAT {
        return Err(Error::new(format!(
            "the PDF's report stamp is of format {:?}, not {:?}",
            stamp.format,
            crate::attestation::report::STAMP_FORMAT
        )));
    }
    Ok(stamp)
}

/// Lay the report out on pages: the content, without running header and footer.
fn paginate(report: &Report) -> Result<Layout> {
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
    signoff(&mut l, report);
    how_to_verify(&mut l, report);
    // Headings still waiting for content (none in practice) are drawn all the same.
    l.ensure(0.0);
    // A section that ended exactly at a page break leaves an empty page behind.
    while l.pages.len() > 1 && l.pages.last().is_some_and(Vec::is_empty) {
        l.pages.pop();
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attestation::attest::Signoff;
    use crate::attestation::report::{
        Cuec, EvidenceRow, Exception, ItemRow, PartyRow, SectionRows,
    };
    use crate::attestation::status::{Duty, Period, Window};
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
            checkpoint: Some(format!(
                "vouch.ledger/{}\n42\nVpugHr+0ACX3X0TsJQTicaxR1ZAkzdOA4uUbxWH6sfA=\n",
                "0123456789abcdef".repeat(2)
            )),
            signed_checkpoint: None,
            options: crate::attestation::report::ReportOptions {
                appendix: "all".to_string(),
                trust: Vec::new(),
            },
            title: crate::attestation::report::TITLE,
            statement: crate::attestation::report::STATEMENT,
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
    fn wrapped_lines_fit() {
        let m = Metrics::load().unwrap();
        let text = format!(
            "{} not-applicable 2026-07-03T10:00:00Z cloudtemple backups_checked = 1240 a/b/c,d {}",
            "word ".repeat(40),
            "ab".repeat(60)
        );
        for max in [40.0, 90.0, 300.0] {
            let lines = m.wrap(&text, 8.0, max);
            assert!(lines.len() > 1);
            for l in &lines {
                assert!(m.width(l, 8.0) <= max, "{l:?} wider than {max}");
            }
            // Nothing but spaces is dropped.
            assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
            // A word that fits a line is never split.
            for word in text
                .split(' ')
                .filter(|w| !w.is_empty() && m.width(w, 8.0) <= max)
            {
                assert!(
                    lines.iter().any(|l| l.split(' ').any(|w| w == word)),
                    "{word:?} split at {max}: {lines:?}"
                );
            }
        }
    }

    #[test]
    fn the_stamp_reads_back_and_the_checkpoint_is_printed() {
        let r = sample(3, true);
        let pdf = render(&r).unwrap();
        assert_eq!(read_stamp(&pdf).unwrap(), r.stamp());
        let text = page_text(&pdf);
        assert!(
            text.contains("VpugHr+0ACX3X0TsJQTicaxR1ZAkzdOA4uUbxWH6sfA="),
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
    fn wrap_breaks_at_spaces_then_punctuation_then_inside() {
        let m = Metrics::load().unwrap();
        let size = 6.5;
        let w = |s: &str| m.width(s, size) + 0.01;
        // Words that fit stay whole, in a column just wide enough for the widest.
        let text = "cloudtemple backup-verification administration";
        let lines = m.wrap(text, size, w("backup-verification"));
        assert_eq!(
            lines,
            ["cloudtemple", "backup-verification", "administration"]
        );
        // A `key = value` too wide for the column breaks at a space, not inside the key.
        assert_eq!(
            m.wrap("backups_checked = 1240", size, w("backups_checked =")),
            ["backups_checked =", "1240"]
        );
        // A single word wider than the column breaks after `_`, `-`, `.`, `/`, `=`, `,`.
        assert_eq!(
            m.wrap("data_verified", size, w("data_verified") - 0.5),
            ["data_", "verified"]
        );
        assert_eq!(
            m.wrap(
                "access.console-administration",
                size,
                w("console-administration")
            ),
            ["access.console-", "administration"]
        );
        assert_eq!(m.wrap("a=1,b=2", size, w("a=1,")), ["a=1,", "b=2"]);
        // Leading punctuation is not a break point.
        assert_eq!(pieces("--trust"), ["--trust"]);
        // Only a piece wider than the column is split between characters.
        let hex = "0123456789abcdef".repeat(4);
        let lines = m.wrap(&hex, size, w("0123456789abcdef"));
        assert!(lines.len() >= 4, "{lines:?}");
        assert_eq!(lines.concat(), hex);
        // New lines are kept.
        assert_eq!(m.wrap("a = 1\nb = 2", size, 200.0), ["a = 1", "b = 2"]);
    }

    #[test]
    fn hex_lines_are_even() {
        let m = Metrics::load().unwrap();
        let sig = "3e6d846b".repeat(16);
        let lines = hex_lines(&m, &sig, 7.0, 450.0);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), 64);
        assert_eq!(lines.concat(), sig);
        for l in &lines {
            assert!(m.width(l, 7.0) <= 450.0);
        }
        // Text that is not hex wraps as usual.
        assert_eq!(hex_lines(&m, "not hex", 7.0, 450.0), ["not hex"]);
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
        let title = "Identity and access — privileged accounts";
        let at: Vec<usize> = (0..runs.len()).filter(|i| runs[*i] == title).collect();
        assert!(at.len() >= 2, "{runs:?}");
        for i in at {
            assert_eq!(runs[i + 1], "(S1)", "after {title:?}");
        }
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
        // Section S1: acme has one duty (fulfilled); globex two (overdue, failed).
        assert!(runs.iter().any(|t| t == "1 of 1 fulfilled"), "{runs:?}");
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
            "24dc925496a1f4b3",
            "restore-2026-07-15.log",
            "bd8ac6cf47daa9ef…",
        ] {
            assert!(
                page.iter().any(|t| t == whole),
                "{whole:?} not a run in {page:?}"
            );
        }
        // The signer's key id only: 16 hex digits, not the fingerprint.
        assert!(
            !page.iter().any(|t| t.contains("24dc925496a1f4b38")),
            "{page:?}"
        );
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
        assert_eq!(table[0][0], "ACME Cloud GmbH (acme)");
        assert_eq!(table[0][2], "#40 2026-10-15T10:00:00Z");
        assert_eq!(table[0][3], "abababababababab");
        assert_eq!(table[0][4], "0123456789abcdef…");
        assert_eq!(table[0][5], "entry 39");
        assert_eq!(table[0][6], "matches this attestation");
        assert_eq!(table[1][0], "Globex Corporation (globex)");
        assert_eq!(table[1][6], "not signed");
        assert_eq!(table[2][0], "Bureau Audit & Associés (auditor)");
        assert_eq!(table[2][1], "auditor not bound");
        assert_eq!(table[2][6], "does NOT match (signed at head 30)");
        assert!(rows[2][6].spans[0].style.colour == STAMP);
        // Below the table, each signature in full, labelled with the party.
        let runs = all_runs(&paginate(&r).unwrap());
        assert!(
            runs.iter()
                .any(|t| t.starts_with("ACME Cloud GmbH (acme) — sign-off entry #40"))
        );
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
            "VpugHr+0ACX3X0TsJQTicaxR1ZAkzdOA4uUbxWH6sfA="
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
}
