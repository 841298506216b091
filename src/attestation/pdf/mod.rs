//! The PDF rendering of the attestation [`Report`]: the same facts as
//! [`crate::attestation::report_text::to_markdown`], laid out on A4 pages for a contract reviewer or auditor.
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
//! - One font, DejaVu Sans (`src/fonts/`, licence beside it), embedded as a subset of the
//!   glyphs the report draws (`subset`: printpdf only subsets with its `text_layout`
//!   feature, so this module does it on the saved document, keeping glyph ids), so every
//!   character is extractable and nothing depends on the machine. Bold is the same font drawn with fill + thin stroke, which keeps
//!   the file at one embedded font.
//! - The PDF is tagged (PDF 1.7, `tags`): headings, paragraphs and tables are structure
//!   elements in reading order, each run of text marked content they refer to; rules,
//!   fills, the running header and footer and repeated table headers are artifacts.
//!   Hashes and fingerprints are printed in full, wrapped in even lines of hex digits;
//!   no text is smaller than 8 pt.
//! - Output is byte-identical for the same report, within and across processes: the font
//!   resource id is fixed (printpdf draws ids from a process-global counter), the document
//!   dates come from the report's period and as-of time, never the clock, and the trailer
//!   `/ID` is set from a SHA-256 of the rendered bytes.
//!
//! The files, from the bottom up: `style` (page frame, colours), `text` (font metrics,
//! wrapping), `draw` (PDF operators), `layout` (pages, paragraphs, headings), `table`
//! (cells and tables), `labels` (how values are spelled); then one file per part of the
//! report (`cover`, `summary`, `matrix`, `exceptions`, `appendix`, `signoff`,
//! `how_to_verify`), the page decoration (`decorate`), the machine-readable report
//! stamp in the document information (`stamp`), the logical structure of the tagged PDF
//! (`tags`) and the font subsetting (`subset`). This file puts them together: it
//! paginates the report, decorates the pages and saves the document.

mod appendix;
mod cover;
mod decorate;
mod draw;
mod exceptions;
mod how_to_verify;
mod labels;
mod layout;
mod matrix;
mod signoff;
mod stamp;
mod style;
mod subset;
mod summary;
mod table;
mod tags;
mod text;

#[cfg(test)]
mod tests;

use printpdf::{FontId, Mm, PdfDocument, PdfFont, PdfPage, PdfSaveOptions};

use crate::attestation::report::Report;
use crate::error::{Error, Result};

use appendix::appendix;
use cover::cover;
use decorate::decorate;
use exceptions::exceptions;
use how_to_verify::how_to_verify;
use labels::period_label;
use layout::Layout;
use matrix::matrix;
use signoff::signoff;
use summary::summary;
use text::{FONT_ID, Metrics};

pub use stamp::{STAMP_KEY, read_stamp};

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
    subset::subset_fonts(&mut lo)?;
    tags::write(&mut lo, &l.tags)?;
    lo.compress();
    stamp::write_info(&mut lo, report)?;
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
        // Object streams keep the structure tree (thousands of small dictionaries) small.
        let opts = lopdf::SaveOptions::builder()
            .use_object_streams(true)
            .use_xref_streams(true)
            .compression_level(9)
            .build();
        lo.clone()
            .save_with_options(&mut out, opts)
            .map_err(|e| Error::new(format!("cannot write the PDF: {e}")))?;
    }
    Ok((out, page_count))
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
