//! What goes on every page once the page count is known: the running header, the "page X
//! of Y" footer and, for an unverified ledger, the diagonal stamp.

use printpdf::{Op, Pt, TextItem, TextMatrix, TextRenderingMode};

use super::draw::{push_line, push_text};
use super::labels::period_label;
use super::layout::Layout;
use super::style::{GREY_TEXT, MARGIN_X, PAGE_H, PAGE_W, RULE, STAMP, WIDTH, rgb};
use crate::attestation::report::Report;

/// Running header, footer and, for an unverified ledger, the stamp, once the page count is
/// known.
pub(super) fn decorate(l: &mut Layout, r: &Report) {
    let n = l.pages.len();
    let title = r.matrix.get("title").map_or("", String::as_str);
    let period = format!(" · period {}", period_label(r));
    let font = l.font.clone();
    let hsize = 8.0;
    let title =
        l.m.truncate(title, hsize, WIDTH - l.m.width(&period, hsize));
    let header = l.m.truncate(&format!("{title}{period}"), hsize, WIDTH);
    for (i, ops) in l.pages.iter_mut().enumerate() {
        // The page decoration is not part of the document's structure: an artifact.
        ops.push(Op::BeginMarkedContent {
            tag: "Artifact".to_string(),
        });
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
            &format!("vouch · attestation digest {}", r.digest),
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
        ops.push(Op::EndMarkedContent);
    }
}
