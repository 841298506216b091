//! The PDF drawing operators of the report: a text run, a rectangle, a line. The layout
//! draws its content with them, and the page decoration its header, footer and stamp.

use printpdf::{
    Line, LinePoint, Op, PaintMode, PdfFontHandle, Point, Pt, Rect, TextItem, TextMatrix,
    TextRenderingMode,
};

use super::style::{GREY_TEXT, Rgb3, rgb};

#[allow(clippy::too_many_arguments)] // a text run needs all of them; a struct adds nothing
pub(super) fn push_text(
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

pub(super) fn push_rect(
    ops: &mut Vec<Op>,
    x: f32,
    y: f32,
    w: f32,
    h: f32,
    fill: Option<Rgb3>,
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

pub(super) fn push_line(
    ops: &mut Vec<Op>,
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
    colour: Rgb3,
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
