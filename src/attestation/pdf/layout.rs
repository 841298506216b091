//! The page builder: pages of drawing operators and the cursor going down them, page breaks,
//! paragraphs, and headings kept with what follows them. Tables are in `table.rs`.

use printpdf::{FontId, Op, PdfFontHandle};

use super::draw::{push_line, push_rect, push_text};
use super::style::{BLACK, BOTTOM, GREY_TEXT, MARGIN_X, Rgb3, TOP, WIDTH};
use super::text::{FONT_ID, Metrics};

/// A heading waiting for what follows it, so that the two go on the same page.
struct Heading {
    text: String,
    /// Shown small and grey after the text (a section id).
    id: Option<String>,
    size: f32,
}

/// The page builder: content first, running header and footer after pagination.
pub(super) struct Layout {
    pub(super) m: Metrics,
    pub(super) font: PdfFontHandle,
    pub(super) pages: Vec<Vec<Op>>,
    pub(super) y: f32,
    pending: Vec<Heading>,
    /// Text drawn wider than its cell or the text width (none, unless a single character
    /// is wider than its column): kept so that tests can assert there is none.
    pub(super) overflows: Vec<String>,
}

impl Layout {
    pub(super) fn new(m: Metrics) -> Self {
        Self {
            m,
            font: PdfFontHandle::External(FontId(FONT_ID.to_string())),
            pages: vec![Vec::new()],
            y: TOP,
            pending: Vec::new(),
            overflows: Vec::new(),
        }
    }

    pub(super) fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Go on on a fresh page (the current one when nothing is drawn on it yet).
    pub(super) fn new_page(&mut self) {
        if self.pages.last().is_none_or(|p| !p.is_empty()) {
            self.pages.push(Vec::new());
        }
        self.y = TOP;
    }

    /// Make room for `h` points of content, together with the headings waiting for it:
    /// start a new page unless they all fit on this one, then draw the headings.
    pub(super) fn ensure(&mut self, h: f32) {
        let pending = std::mem::take(&mut self.pending);
        let hh: f32 = pending.iter().map(|p| self.heading_height(p)).sum();
        if self.y - hh - h < BOTTOM {
            self.new_page();
        }
        for p in &pending {
            self.draw_heading(p);
        }
    }

    pub(super) fn text_at(&mut self, x: f32, y: f32, size: f32, bold: bool, colour: Rgb3, s: &str) {
        self.within(s, size, x, MARGIN_X, MARGIN_X + WIDTH);
        let font = self.font.clone();
        push_text(self.ops(), &font, x, y, size, bold, colour, s);
    }

    pub(super) fn rect(
        &mut self,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<Rgb3>,
        stroke: bool,
    ) {
        push_rect(self.ops(), x, y, w, h, fill, stroke);
    }

    pub(super) fn hline(&mut self, x0: f32, x1: f32, y: f32, colour: Rgb3, width: f32) {
        push_line(self.ops(), x0, y, x1, y, colour, width);
    }

    /// Note `s` drawn at `x` when it does not stay within `left..right`.
    pub(super) fn within(&mut self, s: &str, size: f32, x: f32, left: f32, right: f32) {
        const EPS: f32 = 0.01;
        if x < left - EPS || x + self.m.width(s, size) > right + EPS {
            self.overflows
                .push(format!("{s:?} at {x:.1} outside {left:.1}..{right:.1}"));
        }
    }

    /// A wrapped paragraph.
    pub(super) fn para(&mut self, text: &str, size: f32, bold: bool, colour: Rgb3) {
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

    pub(super) fn gap(&mut self, h: f32) {
        self.y -= h;
    }

    /// A heading, drawn with what follows it.
    pub(super) fn heading(&mut self, text: &str, size: f32) {
        self.pending.push(Heading {
            text: text.to_string(),
            id: None,
            size,
        });
    }

    /// A heading with an id after it, small and grey.
    pub(super) fn heading_id(&mut self, text: &str, id: &str, size: f32) {
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
}
