//! Where a PDF report carries its stamp: the document information, key [`STAMP_KEY`]. The
//! stamp's bytes are [`crate::format::stamp`]'s (`schema/FORMAT.md` §17); this module only
//! puts them into the PDF when it is saved and takes them out for `vouch verify --report`.

use crate::attestation::report::Report;
use crate::error::{Error, Result};
pub use crate::format::stamp::STAMP_KEY;
use crate::format::stamp::Stamp;

/// Set the document information of a rendered report: drop what printpdf leaves there that
/// does not belong (an empty /GTS_PDFXVersion, /Identifier) and add the report's stamp.
///
/// # Errors
///
/// When the stamp cannot be serialised.
pub(super) fn write_info(lo: &mut lopdf::Document, report: &Report) -> Result<()> {
    // printpdf writes an empty /GTS_PDFXVersion, which makes readers call the file PDF/X.
    if let Ok(id) = lo.trailer.get(b"Info").and_then(|o| o.as_reference())
        && let Ok(dict) = lo.get_object_mut(id).and_then(|o| o.as_dict_mut())
    {
        dict.remove(b"GTS_PDFXVersion");
        dict.remove(b"Identifier");
        let stamp = report.stamp().encode()?;
        dict.set(
            STAMP_KEY,
            lopdf::Object::String(stamp, lopdf::StringFormat::Hexadecimal),
        );
    }
    Ok(())
}

/// Read the [`Stamp`] a rendered report carries.
///
/// # Errors
///
/// When the bytes are not a PDF, or not a PDF vouch wrote.
pub fn read_stamp(pdf: &[u8]) -> Result<Stamp> {
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
    Stamp::decode(bytes)
}
