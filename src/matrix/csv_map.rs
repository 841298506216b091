//! Importing the spreadsheets GRC teams keep (MATRIX.md "Importing spreadsheets"): a
//! column mapping from the sheet's headers (`Control ID`, `Customer Responsibility`,
//! `Shared?`, `Frequency`) to the import's own columns, and the readings of cells as
//! people write them (frequency words, Yes/No/Partially, control ids such as `AC-2(1)`).
//!
//! [`ColumnMap`] is built from `--map 'COLUMN=TARGET'` arguments and a `--map-file`;
//! [`import`] reads the CSV through it (the reading itself is `csv_io`'s) and reports every
//! error of the file at once, with the warnings of a successful import.
//! [`skeleton_placeholders`] tells whether a header is still the skeleton an import
//! without `--header` writes.

use toml::de::{DeTable, DeValue};

use super::check::{self, Errs};
use super::csv_io::{self, COLUMNS};
use super::toml_in::Src;
use super::{Header, Matrix, Ownership, is_not_applicable};
use crate::error::{Error, Result};

/// Target of a Yes/No/Partially column: does the item's duty fall on several roles?
pub(super) const SHARED: &str = "shared";
/// Target of a Yes/No/Partially column: does the customer inherit the control from the
/// provider?
pub(super) const INHERITED: &str = "inherited";
/// Target of a column to leave out.
pub(super) const IGNORE: &str = "ignore";

/// Targets only a mapping can name, besides the CSV form's columns.
const MAP_ONLY: &[&str] = &[SHARED, INHERITED, IGNORE];

/// How a column is named in `--map`'s syntax, for hints.
pub(super) const MAP_SYNTAX: &str = "--map 'COLUMN=TARGET' (e.g. --map 'Control ID=id'), or a [columns] table in --map-file (\"Control ID\" = \"id\")";

/// Every target a column may be mapped to, in the order they are listed to users.
pub(super) fn targets() -> Vec<&'static str> {
    COLUMNS.iter().chain(MAP_ONLY).copied().collect()
}

/// The target of a spelling: a column of the CSV form, the same with `:` for `_` before
/// the role (`statement:provider`, `raci:third-party`), or `shared`, `inherited`, `ignore`.
pub(super) fn target(spelling: &str) -> Option<&'static str> {
    let s = spelling.trim();
    let canonical = match s.split_once(':') {
        Some((what, role)) => format!("{}_{}", what.trim(), role.trim().replace('-', "_")),
        None => s.to_string(),
    };
    COLUMNS
        .iter()
        .chain(MAP_ONLY)
        .find(|c| **c == canonical)
        .copied()
}

fn targets_hint() -> String {
    format!(
        "targets are {} (statement:provider is statement_provider, and so on)",
        check::list(&targets())
    )
}

/// A column header as the map compares it: surrounding spaces and case ignored.
pub(super) fn header_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// One mapped column.
#[derive(Debug, Clone)]
pub(super) struct MapEntry {
    /// The sheet's header, as written in the map.
    pub column: String,
    /// The import's column it feeds, or `shared`, `inherited`, `ignore`.
    pub target: &'static str,
    /// Where the mapping was given, for messages: `--map "Control ID=id"` or `map.toml:3:1`.
    pub from: String,
    /// Whether it came from the command line (which overrides the map file).
    from_arg: bool,
}

/// Which column of the sheet feeds which column of the import.
#[derive(Debug, Clone, Default)]
pub struct ColumnMap {
    entries: Vec<MapEntry>,
}

impl ColumnMap {
    /// An empty map: the CSV must use the import's own column names.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no column is mapped.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(super) fn entries(&self) -> &[MapEntry] {
        &self.entries
    }

    /// The entry for a header cell of the CSV, if mapped.
    pub(super) fn get(&self, header: &str) -> Option<&MapEntry> {
        let key = header_key(header);
        self.entries.iter().find(|e| header_key(&e.column) == key)
    }

    /// Add one `--map 'COLUMN=TARGET'` argument; it replaces a `--map-file` entry for the
    /// same column, and a column given twice on the command line is refused.
    pub fn add_arg(&mut self, arg: &str) -> Result<()> {
        let Some((column, spelling)) = arg.rsplit_once('=') else {
            return Err(
                Error::new(format!("--map {arg:?} has no '='")).hint(format!("write {MAP_SYNTAX}"))
            );
        };
        let from = format!("--map {arg:?}");
        let column = column.trim();
        if column.is_empty() {
            return Err(Error::new(format!("{from}: no column name before '='"))
                .hint(format!("write {MAP_SYNTAX}")));
        }
        let Some(target) = target(spelling) else {
            return Err(
                Error::new(format!("{from}: unknown target {:?}", spelling.trim()))
                    .hint(targets_hint()),
            );
        };
        let key = header_key(column);
        match self
            .entries
            .iter()
            .position(|e| header_key(&e.column) == key)
        {
            Some(k) if self.entries[k].from_arg => {
                return Err(Error::new(format!(
                    "{from}: column {column:?} is already mapped by {}",
                    self.entries[k].from
                ))
                .hint("map each column once"));
            }
            Some(k) => {
                self.entries.remove(k);
            }
            None => {}
        }
        self.entries.push(MapEntry {
            column: column.to_string(),
            target,
            from,
            from_arg: true,
        });
        Ok(())
    }

    /// Add the `[columns]` table of a map file (`"Control ID" = "id"`); every error of
    /// the file is returned, each naming `origin:line:column`.
    pub fn add_toml(&mut self, text: &str, origin: &str) -> std::result::Result<(), Vec<Error>> {
        let src = Src::new(text, origin, 0);
        let top = DeTable::parse(text).map_err(|e| {
            let at = src.loc(e.span().map_or(0, |s| s.start));
            vec![
                Error::new(format!(
                    "malformed TOML: {}",
                    e.message().trim_end().trim_end_matches('.')
                ))
                .hint(
                    "a map file is a [columns] table: \"Control ID\" = \"id\", one line per column",
                )
                .context(&at.text),
            ]
        })?;
        let mut errs = Errs::default();
        let mut found = false;
        for (key, value) in top.get_ref().iter() {
            let at = src.loc(key.span().start);
            if key.get_ref().as_ref() != "columns" {
                errs.push(
                    &at,
                    format!("unknown key {:?} in the map file", key.get_ref().as_ref()),
                    "a map file holds one [columns] table: \"Control ID\" = \"id\"",
                );
                continue;
            }
            found = true;
            let DeValue::Table(columns) = value.get_ref() else {
                errs.push(
                    &src.loc(value.span().start),
                    format!(
                        "columns must be a table, not {}",
                        value.get_ref().type_str()
                    ),
                    "write [columns] and below it one line per column: \"Control ID\" = \"id\"",
                );
                continue;
            };
            self.add_columns(columns, &src, &mut errs);
        }
        if !found && errs.is_empty() {
            errs.push(
                &src.loc(0),
                "no [columns] table",
                "a map file holds one [columns] table: \"Control ID\" = \"id\"",
            );
        }
        let all = errs.all();
        if all.is_empty() { Ok(()) } else { Err(all) }
    }

    fn add_columns(&mut self, columns: &DeTable<'_>, src: &Src<'_>, errs: &mut Errs) {
        let mut entries: Vec<_> = columns.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        for (key, value) in entries {
            let column = key.get_ref().trim();
            let at = src.loc(key.span().start);
            let DeValue::String(spelling) = value.get_ref() else {
                errs.push(
                    &src.loc(value.span().start),
                    format!(
                        "the target of column {column:?} must be a string, not {}",
                        value.get_ref().type_str()
                    ),
                    format!("write \"{column}\" = \"id\" (or another target)"),
                );
                continue;
            };
            let Some(target) = target(spelling) else {
                errs.push(
                    &src.loc(value.span().start),
                    format!("unknown target {:?} for column {column:?}", spelling.trim()),
                    targets_hint(),
                );
                continue;
            };
            let k = header_key(column);
            if let Some(first) = self.entries.iter().find(|e| header_key(&e.column) == k) {
                errs.push(
                    &at,
                    format!(
                        "column {column:?} is mapped twice (first at {})",
                        first.from
                    ),
                    "map each column once (headers are compared ignoring case)",
                );
                continue;
            }
            self.entries.push(MapEntry {
                column: column.to_string(),
                target,
                from: at.text.clone(),
                from_arg: false,
            });
        }
    }
}

/// A matrix read from a spreadsheet, with what deserves a second look.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The matrix (skeleton header without `--header`).
    pub matrix: Matrix,
    /// Warnings, each `file:line: column …: message` (e.g. an ownership that contradicts
    /// the letters or statements).
    pub warnings: Vec<String>,
}

/// Read a spreadsheet's CSV through a column map, with the header, roles, services and
/// variants of `header` (a matrix file, its items ignored) or a skeleton header. Every
/// error of the CSV is returned, in file order; an error in the header file alone stops
/// at that error.
pub fn import(
    text: &str,
    origin: &str,
    header: Option<(&str, &str)>,
    map: &ColumnMap,
) -> std::result::Result<Imported, Vec<Error>> {
    csv_io::read(text, origin, header, map).map(|(matrix, warnings)| Imported { matrix, warnings })
}

/// What the skeleton header of an import without `--header` starts its texts with.
pub(super) const PLACEHOLDER: &str = "TODO";

/// The fields of a header that still hold the placeholders an import without `--header`
/// writes (`title "TODO: title"`, `effective 1970-01-01`); empty for a filled-in header.
pub fn skeleton_placeholders(header: &Header) -> Vec<String> {
    let mut out = Vec::new();
    for (key, value) in [("title", &header.title), ("source", &header.source)] {
        if value.trim_start().starts_with(PLACEHOLDER) {
            out.push(format!("{key} {value:?}"));
        }
    }
    if header.effective == chrono::NaiveDate::default() {
        out.push(format!("effective {}", header.effective));
    }
    out
}

// ----- cells as people write them ---------------------------------------------------------

/// Frequency words and the cadence each means.
const FREQUENCIES: &[(&str, &str)] = &[
    ("annually", "yearly"),
    ("annual", "yearly"),
    ("yearly", "yearly"),
    ("semi-annually", "P6M"),
    ("semiannually", "P6M"),
    ("semi-annual", "P6M"),
    ("semiannual", "P6M"),
    ("twice a year", "P6M"),
    ("quarterly", "quarterly"),
    ("monthly", "monthly"),
    ("weekly", "P1W"),
    ("daily", "P1D"),
    ("on-event", "on-event"),
    ("as needed", "on-event"),
    ("ad hoc", "on-event"),
];

/// The hint of an unknown frequency word.
pub(super) fn frequency_hint() -> String {
    let words: Vec<&str> = FREQUENCIES.iter().map(|(w, _)| *w).collect();
    format!(
        "frequencies are {} (any case), or a cadence such as P2W; N/A or empty for none",
        check::list(&words)
    )
}

/// The cadence a frequency cell means (`Annually` → `yearly`, `twice a year` → `P6M`), a
/// cadence as written in a matrix, `None` for a word not known.
pub(super) fn frequency(cell: &str) -> Option<String> {
    let words = cell.split_whitespace().collect::<Vec<_>>().join(" ");
    let lower = words.to_lowercase();
    if let Some((_, cadence)) = FREQUENCIES.iter().find(|(w, _)| *w == lower) {
        return Some((*cadence).to_string());
    }
    let upper = words.to_uppercase();
    super::Cadence::parse(&upper)
        .or_else(|| super::Cadence::parse(&lower))
        .map(|c| c.as_str().into_owned())
}

/// A Yes/No/Partially cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    Yes,
    No,
    Partially,
}

/// The hint of a cell that is not Yes, No or Partially.
pub(super) const ANSWER_HINT: &str = "write Yes (y, true, x), No (n, false) or Partially (partial, partly), in any case; N/A or empty for no answer";

/// Read a Yes/No/Partially cell: `Ok(None)` when not applicable, `Err(())` when unknown.
pub(super) fn answer(cell: &str) -> std::result::Result<Option<Answer>, ()> {
    if is_not_applicable(cell) {
        return Ok(None);
    }
    match cell.trim().trim_end_matches('.').to_lowercase().as_str() {
        "yes" | "y" | "true" | "x" => Ok(Some(Answer::Yes)),
        "no" | "n" | "false" => Ok(Some(Answer::No)),
        "partially" | "partial" | "partly" => Ok(Some(Answer::Partially)),
        _ => Err(()),
    }
}

/// The ownerships a `shared` answer allows: Yes or Partially → shared; No → anything but
/// shared.
pub(super) fn shared_allows(a: Answer) -> Vec<Ownership> {
    match a {
        Answer::Yes | Answer::Partially => vec![Ownership::Shared],
        Answer::No => Ownership::ALL
            .into_iter()
            .filter(|o| *o != Ownership::Shared)
            .collect(),
    }
}

/// What a `shared` answer means, for messages.
pub(super) fn shared_meaning(a: Answer) -> &'static str {
    match a {
        Answer::Yes | Answer::Partially => "shared",
        Answer::No => "not shared",
    }
}

/// What an `inherited` answer means, for messages.
pub(super) fn inherited_meaning(a: Answer) -> &'static str {
    match a {
        Answer::Yes => "the provider's duty",
        Answer::Partially => "shared",
        Answer::No => "a customer duty",
    }
}

/// The hint of a row whose ownership cells contradict each other.
pub(super) const CLAIMS_HINT: &str = "make the row's columns agree: inherited Yes = the provider's duty (the customer inherits it), Partially = shared, No = a customer duty (customer or shared); shared Yes = shared, No = one role's duty";

/// The ownerships an `inherited` answer allows: Yes → the provider's duty (the customer
/// inherits it); Partially → shared; No → the customer holds a duty (customer or shared).
pub(super) fn inherited_allows(a: Answer) -> Vec<Ownership> {
    match a {
        Answer::Yes => vec![Ownership::Provider],
        Answer::Partially => vec![Ownership::Shared],
        Answer::No => vec![Ownership::Customer, Ownership::Shared],
    }
}

/// An ownership cell as people write it: case ignored, `third party` for `third-party`.
pub(super) fn ownership_word(cell: &str) -> String {
    cell.split_whitespace()
        .collect::<Vec<_>>()
        .join("-")
        .to_lowercase()
}

/// RACI letters as people write them: case, spaces, `,` and `/` ignored (`R/A` → `RA`).
pub(super) fn letters_word(cell: &str) -> String {
    cell.chars()
        .filter(|c| !c.is_whitespace() && *c != ',' && *c != '/')
        .flat_map(char::to_uppercase)
        .collect()
}

/// An item id from a control id (`AC-2(1)` → `ac-2-1`): lowercase, every run of other
/// characters than `a-z`, `0-9`, `.` and `-` becomes `-`, no `-` or `.` at either end.
pub(super) fn slug_id(cell: &str) -> String {
    let mut out = String::with_capacity(cell.len());
    for c in cell.trim().chars().flat_map(char::to_lowercase) {
        let keep = c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.';
        if keep {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches(|c| c == '-' || c == '.').to_string()
}

/// The section of an item id when the sheet has no section column: the id's family, the
/// part before the first `-` or `.` (`ac-2` → `ac`), else its leading letters, else
/// `controls`.
pub(super) fn family(id: &str) -> String {
    if let Some(k) = id.find(['-', '.'])
        && k > 0
    {
        return id[..k].to_string();
    }
    let letters: String = id.chars().take_while(char::is_ascii_lowercase).collect();
    if letters.is_empty() {
        "controls".to_string()
    } else {
        letters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequency_words() {
        assert_eq!(frequency("Annually").as_deref(), Some("yearly"));
        assert_eq!(frequency(" twice  A year ").as_deref(), Some("P6M"));
        assert_eq!(frequency("SEMI-ANNUALLY").as_deref(), Some("P6M"));
        assert_eq!(frequency("Weekly").as_deref(), Some("P1W"));
        assert_eq!(frequency("daily").as_deref(), Some("P1D"));
        assert_eq!(frequency("p2w").as_deref(), Some("P2W"));
        assert_eq!(frequency("fortnightly"), None);
    }

    #[test]
    fn answers_and_ids() {
        assert_eq!(answer("YES"), Ok(Some(Answer::Yes)));
        assert_eq!(answer("Partially"), Ok(Some(Answer::Partially)));
        assert_eq!(answer(" n/a "), Ok(None));
        assert_eq!(answer("—"), Ok(None));
        assert_eq!(answer("maybe"), Err(()));
        assert_eq!(slug_id("AC-2(1)"), "ac-2-1");
        assert_eq!(slug_id("CC6.1"), "cc6.1");
        assert_eq!(slug_id(" IAM 01 "), "iam-01");
        assert_eq!(family("ac-2-1"), "ac");
        assert_eq!(family("cc6.1"), "cc6");
        assert_eq!(family("ac2"), "ac");
        assert_eq!(family("12"), "controls");
        assert_eq!(letters_word("r/a"), "RA");
        assert_eq!(ownership_word("Third Party"), "third-party");
    }

    #[test]
    fn map_arguments() {
        let mut m = ColumnMap::new();
        m.add_arg("Control ID=id").unwrap();
        m.add_arg("CSP Responsibility=statement:provider").unwrap();
        assert_eq!(m.get(" control id ").unwrap().target, "id");
        assert_eq!(
            m.get("CSP Responsibility").unwrap().target,
            "statement_provider"
        );
        let e = m.add_arg("Control ID=activity").unwrap_err();
        assert!(e.message().contains("already mapped"), "{}", e.message());
        let e = m.add_arg("Frequency=often").unwrap_err();
        assert!(e.hint_text().unwrap().contains("inherited"));
        assert!(m.add_arg("Frequency").is_err());
        // The command line replaces a map file's entry.
        let mut m = ColumnMap::new();
        m.add_toml("[columns]\n\"Frequency\" = \"notes\"\n", "m.toml")
            .unwrap();
        m.add_arg("frequency=cadence").unwrap();
        assert_eq!(m.get("Frequency").unwrap().target, "cadence");
        let errs = ColumnMap::new()
            .add_toml("[columns]\nA = \"nope\"\nB = 3\n[other]\n", "m.toml")
            .unwrap_err();
        let msgs: Vec<&str> = errs.iter().map(Error::message).collect();
        assert_eq!(
            msgs,
            [
                "m.toml:2:5: unknown target \"nope\" for column \"A\"",
                "m.toml:3:5: the target of column \"B\" must be a string, not integer",
                "m.toml:4:2: unknown key \"other\" in the map file",
            ]
        );
    }
}
