//! Font subsetting after the fact: the embedded DejaVu Sans is cut down to the glyphs the
//! report draws, keeping every glyph id where it is.
//!
//! printpdf without its `text_layout` feature embeds the whole font (about 400 KB a PDF).
//! Rather than build that feature (minutes of compile time) or add a subsetting crate, this
//! pass rewrites the `/FontFile2` stream of the saved document: the outlines of glyphs the
//! document does not use are emptied (their `loca` entries collapse), and the tables a PDF
//! reader never consults for a CID font (`GSUB`, `GPOS`, `kern`, glyph names in `post`, …)
//! are dropped. Glyph ids do not change, so the content streams, `/W` and `/ToUnicode`
//! printpdf wrote stay right as they are; the used glyphs are read from `/W`, which lists
//! exactly the glyphs the content shows. The font names get the `ABCDEF+` subset tag
//! (ISO 32000-1 §9.6.4), derived from the glyph set, so the bytes stay deterministic.

use std::collections::BTreeSet;

use lopdf::{Document, Object, ObjectId};

use crate::error::{Error, Result};

/// Tables kept: what a TrueType-based CID font needs (ISO 32000-1 §9.9), the metrics, the
/// hinting programs the kept outlines use, the character map and the names (the font's
/// copyright and licence notice).
const KEEP: [&[u8; 4]; 13] = [
    b"OS/2", b"cmap", b"cvt ", b"fpgm", b"gasp", b"glyf", b"head", b"hhea", b"hmtx", b"loca",
    b"maxp", b"name", b"post",
];

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The tables of a TrueType font: tag and bytes, in directory order.
fn tables(font: &[u8]) -> Option<Vec<([u8; 4], &[u8])>> {
    let n = usize::from(be16(font, 4)?);
    (0..n)
        .map(|i| {
            let rec = 12 + 16 * i;
            let tag: [u8; 4] = font.get(rec..rec + 4)?.try_into().ok()?;
            let off = be32(font, rec + 8)? as usize;
            let len = be32(font, rec + 12)? as usize;
            Some((tag, font.get(off..off.checked_add(len)?)?))
        })
        .collect()
}

fn table<'a>(t: &[([u8; 4], &'a [u8])], tag: &[u8; 4]) -> Option<&'a [u8]> {
    t.iter().find(|(g, _)| g == tag).map(|(_, b)| *b)
}

/// The glyph ids the components of composite glyph `data` refer to.
fn components(data: &[u8]) -> Vec<u16> {
    const WORDS: u16 = 0x0001;
    const SCALE: u16 = 0x0008;
    const MORE: u16 = 0x0020;
    const XY_SCALE: u16 = 0x0040;
    const TWO_BY_TWO: u16 = 0x0080;
    let mut out = Vec::new();
    if data.len() < 10 || be16(data, 0).is_none_or(|c| c & 0x8000 == 0) {
        return out;
    }
    let mut at = 10;
    while let (Some(flags), Some(gid)) = (be16(data, at), be16(data, at + 2)) {
        out.push(gid);
        at += 4 + if flags & WORDS != 0 { 4 } else { 2 };
        at += if flags & SCALE != 0 {
            2
        } else if flags & XY_SCALE != 0 {
            4
        } else if flags & TWO_BY_TWO != 0 {
            8
        } else {
            0
        };
        if flags & MORE == 0 {
            break;
        }
    }
    out
}

/// The sum of big-endian u32 words of `b` (zero-padded), as the table directory wants it.
fn checksum(b: &[u8]) -> u32 {
    b.chunks(4).fold(0u32, |sum, c| {
        let mut w = [0u8; 4];
        w[..c.len()].copy_from_slice(c);
        sum.wrapping_add(u32::from_be_bytes(w))
    })
}

/// `font` with only the outlines of `used` (and of glyph 0 and the components of composite
/// glyphs) left, and only the [`KEEP`] tables. `None` when the font is not a TrueType font
/// this function understands.
pub(super) fn subset_font(font: &[u8], used: &BTreeSet<u16>) -> Option<Vec<u8>> {
    let t = tables(font)?;
    let head = table(&t, b"head")?;
    let long = be16(head, 50)? == 1;
    let n = usize::from(be16(table(&t, b"maxp")?, 4)?);
    let loca = table(&t, b"loca")?;
    let glyf = table(&t, b"glyf")?;
    let offset = |g: usize| -> Option<usize> {
        if long {
            be32(loca, 4 * g).map(|o| o as usize)
        } else {
            be16(loca, 2 * g).map(|o| 2 * usize::from(o))
        }
    };
    let glyph = |g: usize| -> Option<&[u8]> { glyf.get(offset(g)?..offset(g + 1)?) };
    // The used glyphs, glyph 0 and, transitively, the components of composites.
    let mut keep: BTreeSet<u16> = BTreeSet::new();
    let mut todo: Vec<u16> = used.iter().copied().chain([0]).collect();
    while let Some(g) = todo.pop() {
        if usize::from(g) < n && keep.insert(g) {
            todo.extend(glyph(usize::from(g)).map(components).unwrap_or_default());
        }
    }
    let mut new_glyf = Vec::new();
    let mut new_loca = Vec::with_capacity((n + 1) * 4);
    for g in 0..=n {
        // Long offsets whatever the font had: the short form needs even lengths.
        new_loca.extend_from_slice(&u32::try_from(new_glyf.len()).ok()?.to_be_bytes());
        if g < n && keep.contains(&u16::try_from(g).ok()?) {
            new_glyf.extend_from_slice(glyph(g)?);
            while new_glyf.len() % 4 != 0 {
                new_glyf.push(0);
            }
        }
    }
    let mut new_head = head.to_vec();
    new_head.get_mut(8..12)?.copy_from_slice(&[0; 4]);
    new_head
        .get_mut(50..52)?
        .copy_from_slice(&1u16.to_be_bytes());
    // post format 3: no glyph names.
    let mut new_post = table(&t, b"post")?.get(..32)?.to_vec();
    new_post[..4].copy_from_slice(&0x0003_0000u32.to_be_bytes());
    let mut out_tables: Vec<([u8; 4], Vec<u8>)> = Vec::new();
    for (tag, bytes) in &t {
        if !KEEP.contains(&tag) {
            continue;
        }
        let bytes = match tag {
            b"glyf" => std::mem::take(&mut new_glyf),
            b"loca" => std::mem::take(&mut new_loca),
            b"head" => new_head.clone(),
            b"post" => new_post.clone(),
            _ => bytes.to_vec(),
        };
        out_tables.push((*tag, bytes));
    }
    out_tables.sort_by_key(|t| t.0);
    Some(assemble(font.get(..4)?, &out_tables))
}

/// An sfnt from its tables: directory, tables padded to 4 bytes, checksums and the head's
/// checksum adjustment.
fn assemble(version: &[u8], tables: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let n = tables.len() as u16;
    let pow = 1u16 << (15 - n.leading_zeros().min(15));
    let mut out = Vec::new();
    out.extend_from_slice(version);
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(&(pow * 16).to_be_bytes());
    out.extend_from_slice(&(pow.trailing_zeros() as u16).to_be_bytes());
    out.extend_from_slice(&(n * 16 - pow * 16).to_be_bytes());
    let mut offset = 12 + 16 * tables.len();
    let mut head_at = None;
    for (tag, bytes) in tables {
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(bytes).to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        if tag == b"head" {
            head_at = Some(offset);
        }
        offset += bytes.len().div_ceil(4) * 4;
    }
    for (_, bytes) in tables {
        out.extend_from_slice(bytes);
        out.resize(out.len().div_ceil(4) * 4, 0);
    }
    if let Some(at) = head_at {
        let adj = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
        out[at + 8..at + 12].copy_from_slice(&adj.to_be_bytes());
    }
    out
}

/// The glyph ids a CID font's `/W` array gives widths for: the glyphs the document shows.
fn used_glyphs(w: &[Object]) -> BTreeSet<u16> {
    let mut used = BTreeSet::new();
    let mut i = 0;
    while i < w.len() {
        let first = w[i].as_i64().unwrap_or(0);
        match w.get(i + 1) {
            Some(Object::Array(ws)) => {
                used.extend((first..first + ws.len() as i64).filter_map(|g| u16::try_from(g).ok()));
                i += 2;
            }
            Some(last) => {
                let last = last.as_i64().unwrap_or(first);
                used.extend((first..=last).filter_map(|g| u16::try_from(g).ok()));
                i += 3;
            }
            None => break,
        }
    }
    used
}

/// Subset every embedded TrueType CID font of `doc` to the glyphs its `/W` lists.
///
/// # Errors
///
/// When a font program cannot be read or subset (not with the font vouch ships).
pub(super) fn subset_fonts(doc: &mut Document) -> Result<()> {
    let type0: Vec<ObjectId> = doc
        .objects
        .iter()
        .filter(|(_, o)| {
            o.as_dict().is_ok_and(|d| {
                d.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Type0".as_slice())
            })
        })
        .map(|(id, _)| *id)
        .collect();
    for id in type0 {
        subset_one(doc, id)?;
    }
    Ok(())
}

/// The descendant CID font of a Type 0 font (printpdf writes it inline).
fn descendant(doc: &mut Document, type0: ObjectId) -> Option<&mut lopdf::Dictionary> {
    let first = doc
        .get_object(type0)
        .and_then(Object::as_dict)
        .and_then(|d| d.get(b"DescendantFonts"))
        .and_then(Object::as_array)
        .ok()?
        .first()?;
    if let Ok(id) = first.as_reference() {
        return doc.get_object_mut(id).and_then(Object::as_dict_mut).ok();
    }
    doc.get_object_mut(type0)
        .and_then(Object::as_dict_mut)
        .and_then(|d| d.get_mut(b"DescendantFonts"))
        .and_then(Object::as_array_mut)
        .ok()?
        .first_mut()?
        .as_dict_mut()
        .ok()
}

/// Set `key` of `dict` to the font name with the subset `tag`.
fn tag_name(dict: &mut lopdf::Dictionary, key: &str, tag: &str) {
    let name = dict
        .get(key.as_bytes())
        .and_then(Object::as_name)
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let base = name.rsplit('+').next().unwrap_or_default().to_string();
    dict.set(key, Object::Name(format!("{tag}+{base}").into_bytes()));
}

fn subset_one(doc: &mut Document, type0: ObjectId) -> Result<()> {
    let fail = |what: &str| Error::new(format!("cannot subset the embedded font: {what}"));
    let (used, descriptor) = {
        let d = descendant(doc, type0).ok_or_else(|| fail("no descendant font"))?;
        let w = d
            .get(b"W")
            .and_then(Object::as_array)
            .map_err(|e| fail(&e.to_string()))?;
        let desc = d
            .get(b"FontDescriptor")
            .and_then(Object::as_reference)
            .map_err(|e| fail(&e.to_string()))?;
        (used_glyphs(w), desc)
    };
    let file = doc
        .get_dictionary(descriptor)
        .and_then(|d| d.get(b"FontFile2"))
        .and_then(Object::as_reference)
        .map_err(|e| fail(&e.to_string()))?;
    let stream = doc
        .get_object_mut(file)
        .and_then(Object::as_stream_mut)
        .map_err(|e| fail(&e.to_string()))?;
    let program = stream
        .decompressed_content()
        .unwrap_or_else(|_| stream.content.clone());
    let sub = subset_font(&program, &used).ok_or_else(|| fail("not a TrueType font"))?;
    stream.dict.remove(b"Filter");
    stream.dict.remove(b"DecodeParms");
    stream.dict.set("Length1", sub.len() as i64);
    stream.set_plain_content(sub);
    let _ = stream.compress();
    // The subset tag: six capitals from a hash of the glyph set.
    let set: Vec<u8> = used.iter().flat_map(|g| g.to_be_bytes()).collect();
    let tag: String = crate::crypto::sha256(&set)
        .iter()
        .take(6)
        .map(|b| char::from(b'A' + b % 26))
        .collect();
    if let Ok(d) = doc.get_dictionary_mut(type0) {
        tag_name(d, "BaseFont", &tag);
    }
    if let Some(d) = descendant(doc, type0) {
        tag_name(d, "BaseFont", &tag);
    }
    if let Ok(d) = doc.get_dictionary_mut(descriptor) {
        tag_name(d, "FontName", &tag);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FONT: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/fonts/DejaVuSans.ttf"
    ));

    #[test]
    fn a_subset_keeps_the_used_outlines_and_is_small() {
        let used = BTreeSet::from([36u16, 37, 38]);
        let sub = subset_font(FONT, &used).unwrap();
        assert!(sub.len() < FONT.len() / 5, "{} bytes", sub.len());
        let t = tables(&sub).unwrap();
        assert!(table(&t, b"GPOS").is_none());
        let loca = table(&t, b"loca").unwrap();
        let glyf = table(&t, b"glyf").unwrap();
        let old = tables(FONT).unwrap();
        let old_loca = table(&old, b"loca").unwrap();
        let old_glyf = table(&old, b"glyf").unwrap();
        let at = |l: &[u8], g: usize| be32(l, 4 * g).unwrap() as usize;
        for g in [0usize, 36, 37, 38] {
            let new = &glyf[at(loca, g)..at(loca, g + 1)];
            let old = &old_glyf[at(old_loca, g)..at(old_loca, g + 1)];
            assert_eq!(&new[..old.len()], old, "glyph {g}");
        }
        // An unused glyph is empty.
        assert_eq!(at(loca, 40), at(loca, 41));
        // The whole font sums to the magic number.
        assert_eq!(checksum(&sub), 0xB1B0_AFBA);
    }
}
