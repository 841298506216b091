//! The embedded font and text measured with it: advance widths, line wrapping (at spaces,
//! then after `_ - . / = ,`, then between characters), truncation, and hex strings cut into
//! even lines.

use printpdf::ParsedFont;

use crate::error::{Error, Result};

/// DejaVu Sans, embedded (licence: `src/fonts/LICENSE-DejaVu.txt`).
const FONT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/fonts/DejaVuSans.ttf"
));
/// The fixed resource name of the font (printpdf's own ids differ per call).
pub(super) const FONT_ID: &str = "FDejaVuSans";

/// Advance widths of the embedded font.
pub(super) struct Metrics {
    pub(super) font: ParsedFont,
    upem: f32,
}

impl Metrics {
    pub(super) fn load() -> Result<Self> {
        let mut warnings = Vec::new();
        let mut font = ParsedFont::from_bytes(FONT, 0, &mut warnings)
            .ok_or_else(|| Error::new("cannot read the embedded DejaVu Sans font"))?;
        // The PostScript name, for /BaseFont (printpdf falls back to the resource id).
        font.font_name = Some("DejaVuSans".to_string());
        let upem = f32::from(font.units_per_em.max(1));
        Ok(Self { font, upem })
    }

    /// Width of `s` at `size` points.
    pub(super) fn width(&self, s: &str, size: f32) -> f32 {
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
    pub(super) fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
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
    pub(super) fn truncate(&self, s: &str, size: f32, max: f32) -> String {
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
    pub(super) fn longest_word(&self, s: &str, size: f32) -> f32 {
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

/// A long hex string (fingerprint, hash, signature) in lines of equal length, a multiple
/// of 8 digits, each no wider than `max`; other text wraps as usual.
pub(super) fn hex_lines(m: &Metrics, s: &str, size: f32, max: f32) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
