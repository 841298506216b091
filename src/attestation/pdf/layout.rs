//! The page builder: pages of drawing operators and the cursor going down them, page breaks,
//! paragraphs, and headings kept with what follows them. Tables are in `table.rs`.
//!
//! A heading is not drawn at once: it waits, with the paragraphs and gaps that follow it
//! (an introduction), until the next content asks for room ([`Layout::ensure`]); then all of
//! them go on the page the content goes on. So no heading is ever left at the foot of a
//! page, whatever comes after it (a table, a box, a legend).

use std::collections::BTreeMap;

use printpdf::{DictItem, FontId, Op, PdfFontHandle};

use super::draw::{push_line, push_rect, push_text};
use super::style::{BLACK, BOTTOM, GREY_TEXT, MARGIN_X, Rgb3, TOP, WIDTH};
use super::tags::{Tags, heading_role};
use super::text::{FONT_ID, Metrics};

/// A heading waiting for what follows it, so that the two go on the same page.
struct Heading {
    text: String,
    /// Shown small and grey after the text (a section id).
    id: Option<String>,
    size: f32,
}

/// What waits to be drawn with the next content: headings, and the paragraphs and gaps
/// between a heading and that content.
enum Pending {
    Heading(Heading),
    Para {
        lines: Vec<String>,
        size: f32,
        bold: bool,
        colour: Rgb3,
    },
    Gap(f32),
}

/// The page builder: content first, running header and footer after pagination.
pub(super) struct Layout {
    pub(super) m: Metrics,
    pub(super) font: PdfFontHandle,
    pub(super) pages: Vec<Vec<Op>>,
    pub(super) y: f32,
    pending: Vec<Pending>,
    /// Text drawn wider than its cell or the text width (none, unless a single character
    /// is wider than its column): kept so that tests can assert there is none.
    pub(super) overflows: Vec<String>,
    /// The logical structure, for the tagged PDF.
    pub(super) tags: Tags,
    /// Above zero, text is drawn as an artifact (a repeated table header, a caption saying
    /// "continued"): not part of the structure.
    pub(super) artifact: u32,
}

/// Wrap the operators `draw` adds in an artifact marked-content sequence.
pub(super) fn artifact(ops: &mut Vec<Op>, draw: impl FnOnce(&mut Vec<Op>)) {
    ops.push(Op::BeginMarkedContent {
        tag: "Artifact".to_string(),
    });
    draw(ops);
    ops.push(Op::EndMarkedContent);
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
            tags: Tags::new(),
            artifact: 0,
        }
    }

    pub(super) fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Go on on a fresh page (the current one when nothing is drawn on it yet). Whatever
    /// waits for content (a heading and its introduction with nothing after them) is drawn
    /// first, on the page it belongs to.
    pub(super) fn new_page(&mut self) {
        if !self.pending.is_empty() {
            self.ensure(0.0);
        }
        if self.pages.last().is_none_or(|p| !p.is_empty()) {
            self.pages.push(Vec::new());
        }
        self.y = TOP;
    }

    /// Make room for `h` points of content, together with the headings (and their
    /// introductions) waiting for it: start a new page unless they all fit on this one,
    /// then draw them.
    pub(super) fn ensure(&mut self, h: f32) {
        let pending = std::mem::take(&mut self.pending);
        let hh: f32 = pending.iter().map(|p| self.pending_height(p)).sum();
        if self.y - hh - h < BOTTOM && self.y < TOP {
            self.new_page();
        }
        for p in &pending {
            match p {
                Pending::Heading(h) => self.draw_heading(h),
                Pending::Para {
                    lines,
                    size,
                    bold,
                    colour,
                } => self.draw_lines(MARGIN_X, lines, *size, *bold, *colour),
                Pending::Gap(h) => self.y -= h,
            }
        }
    }

    fn pending_height(&self, p: &Pending) -> f32 {
        match p {
            Pending::Heading(h) => self.heading_height(h),
            Pending::Para { lines, size, .. } => lines.len() as f32 * size * 1.3,
            Pending::Gap(h) => *h,
        }
    }

    pub(super) fn text_at(&mut self, x: f32, y: f32, size: f32, bold: bool, colour: Rgb3, s: &str) {
        if !self.pending.is_empty() {
            // Content drawn without asking for room first would go above its heading.
            self.overflows
                .push(format!("{s:?} drawn while a heading waits for content"));
        }
        self.within(s, size, x, MARGIN_X, MARGIN_X + WIDTH);
        let font = self.font.clone();
        if s.is_empty() {
            return;
        }
        self.ops();
        if self.artifact > 0 {
            artifact(self.ops(), |ops| {
                push_text(ops, &font, x, y, size, bold, colour, s);
            });
            return;
        }
        let (tag, mcid) = self.tags.mark(self.pages.len() - 1);
        let ops = self.ops();
        ops.push(Op::BeginMarkedContentWithProperties {
            tag: tag.to_string(),
            properties: DictItem::Dict {
                map: BTreeMap::from([("MCID".to_string(), DictItem::Int(mcid))]),
            },
        });
        push_text(ops, &font, x, y, size, bold, colour, s);
        ops.push(Op::EndMarkedContent);
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
        artifact(self.ops(), |ops| push_rect(ops, x, y, w, h, fill, stroke));
    }

    pub(super) fn hline(&mut self, x0: f32, x1: f32, y: f32, colour: Rgb3, width: f32) {
        artifact(self.ops(), |ops| {
            push_line(ops, x0, y, x1, y, colour, width)
        });
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
        if !self.pending.is_empty() {
            // The introduction of a heading: it waits with the heading for what follows.
            self.pending.push(Pending::Para {
                lines,
                size,
                bold,
                colour,
            });
            return;
        }
        // Keep the first two lines together.
        self.ensure(lh * lines.len().min(2) as f32);
        self.draw_lines(x, &lines, size, bold, colour);
    }

    /// Draw lines of text from the cursor down, going on on a new page when one is full.
    fn draw_lines(&mut self, x: f32, lines: &[String], size: f32, bold: bool, colour: Rgb3) {
        let lh = size * 1.3;
        self.tags.open("P");
        for line in lines {
            if self.y - lh < BOTTOM {
                self.new_page();
            }
            self.y -= lh;
            self.text_at(x, self.y + size * 0.25, size, bold, colour, line);
        }
        self.tags.close();
    }

    /// Leave `h` points of room (after a heading's introduction, when it is drawn).
    pub(super) fn gap(&mut self, h: f32) {
        if self.pending.is_empty() {
            self.y -= h;
        } else {
            self.pending.push(Pending::Gap(h));
        }
    }

    /// A heading, drawn with what follows it.
    pub(super) fn heading(&mut self, text: &str, size: f32) {
        self.pending.push(Pending::Heading(Heading {
            text: text.to_string(),
            id: None,
            size,
        }));
    }

    /// A heading with an id after it, small and grey.
    pub(super) fn heading_id(&mut self, text: &str, id: &str, size: f32) {
        self.pending.push(Pending::Heading(Heading {
            text: text.to_string(),
            id: Some(format!("({id})")),
            size,
        }));
    }

    /// The lines of a heading, and whether its id goes on the last of them.
    fn heading_lines(&self, h: &Heading) -> (Vec<String>, bool) {
        let lines = self.m.wrap(&h.text, h.size, WIDTH);
        let inline = match (&h.id, lines.last()) {
            (Some(id), Some(last)) => {
                self.m.width(last, h.size)
                    + h.size * 0.5
                    + self.m.width(id, (h.size * 0.7).max(8.0))
                    <= WIDTH
            }
            _ => false,
        };
        (lines, inline)
    }

    fn heading_height(&self, h: &Heading) -> f32 {
        let (lines, inline) = self.heading_lines(h);
        let own_line = if h.id.is_some() && !inline {
            (h.size * 0.7).max(8.0) * 1.3
        } else {
            0.0
        };
        h.size * 0.6 + lines.len() as f32 * h.size * 1.3 + own_line + 3.0
    }

    fn draw_heading(&mut self, h: &Heading) {
        let (lines, inline) = self.heading_lines(h);
        let lh = h.size * 1.3;
        let small = (h.size * 0.7).max(8.0);
        self.gap(h.size * 0.6);
        self.tags.open(heading_role(h.size));
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
        self.tags.close();
        self.gap(3.0);
    }
}
