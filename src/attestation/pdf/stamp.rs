//! The machine-readable stamp of a rendered report: the report's
//! [`crate::attestation::report::Stamp`] as JSON in the PDF's document information, key
//! [`STAMP_KEY`], written when the PDF is saved and read back by `vouch verify --report`, which
//! makes the report again from it.

use crate::attestation::report::Report;
use crate::error::{Error, Result};

/// The document-information key of the report's [`crate::attestation::report::Stamp`].
pub const STAMP_KEY: &str = "VouchReport";

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
        let stamp = serde_json::to_vec(&report.stamp())
            .map_err(|e| Error::new(format!("cannot write the report stamp: {e}")))?;
        dict.set(
            STAMP_KEY,
            lopdf::Object::String(stamp, lopdf::StringFormat::Hexadecimal),
        );
    }
    Ok(())
}

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
