//! The look of the report: the A4 page frame, the colours (of the statuses too) and the
//! styles of the text in table cells.

use printpdf::{Color, Rgb};

use crate::attestation::status::Status;

// A4 in points, and the page frame.
pub(super) const PAGE_W: f32 = 595.276;
pub(super) const PAGE_H: f32 = 841.89;
pub(super) const MARGIN_X: f32 = 42.0;
pub(super) const TOP: f32 = PAGE_H - 60.0;
pub(super) const BOTTOM: f32 = 52.0;
pub(super) const WIDTH: f32 = PAGE_W - 2.0 * MARGIN_X;

pub(super) type Rgb3 = (f32, f32, f32);

pub(super) const BLACK: Rgb3 = (0.0, 0.0, 0.0);
pub(super) const WHITE: Rgb3 = (1.0, 1.0, 1.0);
pub(super) const GREY_TEXT: Rgb3 = (0.35, 0.35, 0.35);
pub(super) const RULE: Rgb3 = (0.75, 0.75, 0.75);
pub(super) const HEADER_FILL: Rgb3 = (0.90, 0.92, 0.95);
pub(super) const CODE_FILL: Rgb3 = (0.94, 0.94, 0.94);
pub(super) const NOTE_FILL: Rgb3 = (0.97, 0.97, 0.90);
pub(super) const STAMP: Rgb3 = (0.85, 0.1, 0.1);
pub(super) const GOOD: Rgb3 = (0.10, 0.45, 0.18);
pub(super) const WARN: Rgb3 = (0.65, 0.40, 0.0);

/// Smaller text (ids after titles, notes under a cell's main text), relative to its table.
const SMALL: f32 = 1.0;

/// Colour of a status in the grid and the tables.
pub(super) fn status_colour(s: Status) -> Rgb3 {
    match s {
        Status::Fulfilled => (0.30, 0.69, 0.31),
        Status::Due => (0.78, 0.90, 0.79),
        Status::Overdue => (1.0, 0.70, 0.0),
        Status::Failed => (0.90, 0.22, 0.21),
        Status::Disputed => (0.58, 0.30, 0.72),
        Status::Missing => (0.62, 0.62, 0.62),
        Status::WaiverPending => (0.85, 0.80, 0.60),
        Status::NotApplicable => (0.68, 0.84, 0.96),
        Status::Informational => (1.0, 1.0, 1.0),
    }
}

pub(super) fn rgb((r, g, b): Rgb3) -> Color {
    Color::Rgb(Rgb {
        r,
        g,
        b,
        icc_profile: None,
    })
}

/// How a piece of text in a cell looks.
#[derive(Clone, Copy, PartialEq)]
pub(super) struct Style {
    pub(super) colour: Rgb3,
    /// Drawn at [`SMALL`] of the table's size.
    small: bool,
}

pub(super) const PLAIN: Style = Style {
    colour: BLACK,
    small: false,
};
pub(super) const NOTE: Style = Style {
    colour: GREY_TEXT,
    small: true,
};

impl Style {
    pub(super) fn size(self, size: f32) -> f32 {
        if self.small { size * SMALL } else { size }
    }

    pub(super) fn coloured(colour: Rgb3) -> Self {
        Self {
            colour,
            small: false,
        }
    }
}
