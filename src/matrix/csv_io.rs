//! The CSV form of a matrix's items (MATRIX.md "CSV form"): RFC 4180, UTF-8, a header
//! row naming the columns in any order, several values in one cell separated by ` | `.
//!
//! The CSV holds the items only; the header, roles, services and variants come from a
//! matrix file given as header (its items are ignored; its sections lend their titles,
//! services and descriptions), or a skeleton header is made up to be filled in.
//!
//! Spreadsheets kept by people are read here too (MATRIX.md "Importing spreadsheets"):
//! the delimiter (`,`, `;` or tab) is taken from the header line, a column map
//! ([`ColumnMap`]) names the column feeding each of ours, and mapped cells are read as
//! people write them (the readings are `csv_map`'s). Every error of the file is collected.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::check::{self, At, Decls, Errs, Loc, RawItem};
use super::csv_map::{self, ColumnMap};
use super::{
    Header, Item, Matrix, Ownership, Role, RoleId, Section, Service, Variant, is_not_applicable,
    toml_in,
};
use crate::error::{Error, Result};

/// Every column, in the order export writes them.
pub(super) const COLUMNS: &[&str] = &[
    "id",
    "section",
    "section_title",
    "service",
    "activity",
    "raci_provider",
    "raci_customer",
    "raci_third_party",
    "statement_provider",
    "statement_customer",
    "statement_third_party",
    "ownership",
    "cadence",
    "grace_days",
    "evidence_kinds",
    "refs",
    "notes",
    "variant",
    "unless_variant",
];

/// Columns every CSV must have.
const REQUIRED: &[&str] = &["id", "section", "activity"];

/// Separator of several values in one cell.
const SEP: &str = " | ";

fn raci_column(role: RoleId) -> &'static str {
    match role {
        RoleId::Provider => "raci_provider",
        RoleId::Customer => "raci_customer",
        RoleId::ThirdParty => "raci_third_party",
    }
}

fn statement_column(role: RoleId) -> &'static str {
    match role {
        RoleId::Provider => "statement_provider",
        RoleId::Customer => "statement_customer",
        RoleId::ThirdParty => "statement_third_party",
    }
}

fn split(cell: &str) -> Vec<&str> {
    if cell.is_empty() {
        Vec::new()
    } else {
        cell.split(SEP).collect()
    }
}

/// Join several values, refusing values the separator would not give back.
fn join(values: &[String], item: &Item, column: &str) -> Result<String> {
    let cell = values.join(SEP);
    if split(&cell) != values.iter().map(String::as_str).collect::<Vec<_>>() {
        let bad = values
            .iter()
            .find(|v| v.is_empty() || v.contains(SEP) || v.starts_with("| ") || v.ends_with(" |"))
            .unwrap_or(&cell);
        return Err(Error::new(format!(
            "item {:?}: {column} value {bad:?} cannot be written to CSV",
            item.id
        ))
        .hint("in CSV, several values are separated by \" | \": rephrase the value without it, or export to TOML or JSON"));
    }
    Ok(cell)
}

fn write_err(e: &csv::Error) -> Error {
    Error::new(format!("cannot write CSV: {e}"))
}

/// Write the items as CSV with every column, CRLF line ends (RFC 4180).
pub(super) fn to_csv(m: &Matrix) -> Result<String> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(COLUMNS).map_err(|e| write_err(&e))?;
    for item in &m.items {
        let section_title = m
            .section(&item.section)
            .map_or(item.section.as_str(), |s| s.title.as_str());
        let letters = |r: RoleId| {
            item.raci
                .get(&r)
                .map(ToString::to_string)
                .unwrap_or_default()
        };
        let statement = |r: RoleId| item.statements.get(&r).cloned().unwrap_or_default();
        // Written when the matrix file writes it (an override, or shared): editing the
        // letters in a spreadsheet so that they contradict it is warned about on import.
        let ownership =
            if item.ownership != item.derived_ownership() || item.ownership == Ownership::Shared {
                item.ownership.as_str()
            } else {
                ""
            };
        let row: Vec<String> = vec![
            item.id.clone(),
            item.section.clone(),
            section_title.to_string(),
            item.service.clone().unwrap_or_default(),
            item.activity.clone(),
            letters(RoleId::Provider),
            letters(RoleId::Customer),
            letters(RoleId::ThirdParty),
            statement(RoleId::Provider),
            statement(RoleId::Customer),
            statement(RoleId::ThirdParty),
            ownership.to_string(),
            item.cadence
                .map(|c| c.as_str().into_owned())
                .unwrap_or_default(),
            if item.grace_days == 0 {
                String::new()
            } else {
                item.grace_days.to_string()
            },
            join(&item.evidence_kinds, item, "evidence_kinds")?,
            join(&item.refs, item, "refs")?,
            join(&item.notes, item, "notes")?,
            item.variant.clone().unwrap_or_default(),
            item.unless_variant.clone().unwrap_or_default(),
        ];
        w.write_record(&row).map_err(|e| write_err(&e))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::new(format!("cannot write CSV: {}", e.error())))?;
    String::from_utf8(bytes).map_err(|_| Error::new("cannot write CSV: not UTF-8"))
}

/// How the CSV's columns are read: which column feeds which of the import's columns (its
/// own name, or a `--map` target), and how messages name it.
struct Layout {
    /// Target → index of the column feeding it.
    idx: HashMap<&'static str, usize>,
    /// Index → the column as messages name it: the target, or the sheet's header quoted.
    labels: Vec<String>,
    /// Index → the sheet's header, for what a row says (`Shared? "Yes"`).
    headers: Vec<String>,
    /// Targets fed by a mapped column: their cells are read as people write them.
    mapped: HashSet<&'static str>,
    /// No section column and a mapped id column: each item's section is its id's family.
    sections_from_ids: bool,
}

/// One row's cells by target, with their locations.
struct Row<'a> {
    record: &'a csv::StringRecord,
    layout: &'a Layout,
    origin: &'a str,
    line: usize,
}

impl Row<'_> {
    fn loc(&self, column: &str) -> Loc {
        let idx = self.layout.idx.get(column).copied();
        let label = idx
            .and_then(|i| self.layout.labels.get(i))
            .map_or(column, String::as_str);
        Loc {
            order: (1, self.line, idx.map_or(0, |i| i + 1)),
            line: self.line,
            text: format!("{}:{}: column {label}", self.origin, self.line),
        }
    }

    /// The row, ordered after its cells (what is missing is found at the end).
    fn row_loc(&self) -> Loc {
        Loc {
            order: (1, self.line, usize::MAX),
            line: self.line,
            text: format!("{}:{}", self.origin, self.line),
        }
    }

    /// Whether the target's column is a mapped one (read as people write cells).
    fn mapped(&self, column: &str) -> bool {
        self.layout.mapped.contains(column)
    }

    /// The sheet's header of the target's column.
    fn header<'c>(&'c self, column: &'c str) -> &'c str {
        self.layout
            .idx
            .get(column)
            .and_then(|i| self.layout.headers.get(*i))
            .map_or(column, String::as_str)
    }

    /// A non-blank cell.
    fn cell(&self, column: &'static str) -> Option<At<String>> {
        let idx = *self.layout.idx.get(column)?;
        let v = self.record.get(idx)?;
        (!v.trim().is_empty()).then(|| At::new(v.to_string(), self.loc(column)))
    }

    /// A cell that is not "not applicable" (MATRIX.md: empty, `N/A`, `-`, `—` …).
    fn applicable(&self, column: &'static str) -> Option<At<String>> {
        self.cell(column).filter(|c| !is_not_applicable(&c.v))
    }

    /// A required cell: blank is reported.
    fn required(&self, column: &'static str, errs: &mut Errs) -> Option<At<String>> {
        let v = self.cell(column);
        if v.is_none() {
            errs.push(
                &self.loc(column),
                format!("empty {column}"),
                "every row needs an id, a section and an activity",
            );
        }
        v
    }

    fn list(&self, column: &'static str) -> Vec<At<String>> {
        self.cell(column)
            .map(|c| {
                split(&c.v)
                    .into_iter()
                    .map(|v| At::new(v.to_string(), c.at.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Evidence kinds; a value holding `,`, `;`, `/` or a bare `|` (several kinds with the
    /// wrong separator) is reported with the right spelling and left out.
    fn kinds(&self, errs: &mut Errs) -> Vec<At<String>> {
        let mut out = Vec::new();
        for k in self.list("evidence_kinds") {
            let seps = [',', ';', '/', '|'];
            let Some(sep) = k.v.chars().find(|c| seps.contains(c)) else {
                out.push(k);
                continue;
            };
            let parts: Vec<&str> =
                k.v.split(seps)
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .collect();
            errs.push(
                &k.at,
                format!("evidence_kinds {:?} holds several kinds separated by {sep:?}", k.v),
                format!(
                    "in a CSV cell, several values are separated by \" | \" (space, bar, space), whatever the file's delimiter: write {:?}",
                    parts.join(SEP)
                ),
            );
        }
        out
    }
}

fn header_loc(origin: &str, line: usize, idx: usize) -> Loc {
    Loc {
        order: (1, line, idx),
        line,
        text: format!("{origin}:{line}"),
    }
}

/// The delimiter of a CSV: `;` or tab when the header line (the first non-blank one) holds
/// more of them than commas, outside quotes; else `,`.
fn delimiter(text: &str) -> u8 {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let (mut comma, mut semicolon, mut tab, mut quoted) = (0, 0, 0, false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => comma += 1,
            ';' if !quoted => semicolon += 1,
            '\t' if !quoted => tab += 1,
            _ => {}
        }
    }
    if semicolon > comma && semicolon >= tab {
        b';'
    } else if tab > comma && tab > semicolon {
        b'\t'
    } else {
        b','
    }
}

/// Line numbers of records, counted from their byte offsets: the csv crate's own line
/// numbers are one short after CRLF line ends (which RFC 4180 prescribes) and ignore
/// skipped blank lines.
struct Lines<'a> {
    text: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    /// The line a record starts on. Positions come in increasing order; the reported
    /// offset may point at the end of the previous line, so line ends are skipped first
    /// (a record never starts with one: blank lines are not records).
    fn line(&mut self, pos: Option<&csv::Position>) -> usize {
        let Some(pos) = pos else { return self.line };
        let mut start = usize::try_from(pos.byte())
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while start < self.text.len() && matches!(self.text[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= self.offset {
            self.line += self.text[self.offset..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            self.offset = start;
        }
        self.line
    }
}

/// A section as it is being gathered from the rows.
struct SectionDraft {
    id: String,
    /// The first non-blank `section_title`, with its line.
    title: Option<(String, usize)>,
}

/// Why a CSV was not read: one error that stops everything (the header file, an empty
/// file), or the errors found in the CSV.
enum Failure {
    One(Error),
    Many(Errs),
}

/// Read a matrix from CSV with the CSV form's own columns; the first error in file order.
pub(super) fn from_csv(text: &str, origin: &str, header: Option<(&str, &str)>) -> Result<Matrix> {
    match read_all(text, origin, header, &ColumnMap::new()) {
        Ok((m, _)) => Ok(m),
        Err(Failure::One(e)) => Err(e),
        Err(Failure::Many(errs)) => {
            Err(errs.fail(|| Error::new(format!("{origin}: cannot read the CSV"))))
        }
    }
}

/// Read a matrix from CSV through a column map: the matrix and the warnings, or every
/// error in file order.
pub(super) fn read(
    text: &str,
    origin: &str,
    header: Option<(&str, &str)>,
    map: &ColumnMap,
) -> std::result::Result<(Matrix, Vec<String>), Vec<Error>> {
    read_all(text, origin, header, map).map_err(|f| match f {
        Failure::One(e) => vec![e],
        Failure::Many(errs) => errs.all(),
    })
}

/// Read a matrix from CSV: the columns, the rows, then the declarations they imply.
fn read_all(
    text: &str,
    origin: &str,
    header: Option<(&str, &str)>,
    map: &ColumnMap,
) -> std::result::Result<(Matrix, Vec<String>), Failure> {
    let head = match header {
        Some((h, horigin)) => Some(toml_in::parse_head(h, horigin, 0).map_err(Failure::One)?),
        None => None,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .delimiter(delimiter(text))
        .from_reader(text.as_bytes());
    let names = rdr
        .headers()
        .map_err(|e| Failure::One(read_err(origin, &e)))?
        .clone();
    if names.iter().all(|n| n.trim().is_empty()) {
        return Err(Failure::One(
            Error::new(format!("{origin}: no header row")).hint(format!(
                "the first row names the columns; required are {}",
                check::list(REQUIRED)
            )),
        ));
    }
    let mut lines = Lines::new(text);
    let header_line = lines.line(names.position());

    let mut errs = Errs::default();
    let layout = read_columns(&names, origin, header_line, map, &mut errs);
    if !errs.is_empty() {
        return Err(Failure::Many(errs));
    }

    let rows = read_rows(
        &mut rdr,
        names.len(),
        &layout,
        origin,
        &mut lines,
        &mut errs,
    );

    let (header, roles, services, variants, head_sections) = match head {
        Some(h) => (h.header, h.roles, h.services, h.variants, h.sections),
        None => {
            let (header, roles, services, variants) = made_up_head(origin, &rows, &mut errs);
            (header, roles, services, variants, Vec::new())
        }
    };
    let sections = gathered_sections(rows.drafts, &head_sections);
    let decls = Decls {
        origin,
        roles: roles.iter().map(|r| r.id).collect(),
        sections: &sections,
        services: services.iter().map(|s: &Service| s.id.as_str()).collect(),
        variants: variants.iter().map(|v: &Variant| v.id.as_str()).collect(),
    };
    let items = check::build_items(rows.raws, &decls, &mut errs);
    if !errs.is_empty() {
        return Err(Failure::Many(errs));
    }
    let warnings = ownership_warnings(&rows.claims, &items);
    Ok((
        Matrix {
            header,
            roles,
            services,
            variants,
            sections,
            items,
        },
        warnings,
    ))
}

/// The hint of an unknown column (the same for every column, so that it is shown once).
fn unknown_column_hint() -> String {
    format!(
        "map each column of the sheet to one of the import's with {}; targets are {}, shared, inherited, and ignore to leave a column out",
        csv_map::MAP_SYNTAX,
        check::list(COLUMNS)
    )
}

/// The header row: which column feeds which target (through the map, else by its own
/// name); unknown, repeated, unnamed and missing required columns, and mapped columns
/// the header lacks, are recorded in `errs`.
fn read_columns(
    names: &csv::StringRecord,
    origin: &str,
    header_line: usize,
    map: &ColumnMap,
    errs: &mut Errs,
) -> Layout {
    let mut layout = Layout {
        idx: HashMap::new(),
        labels: Vec::with_capacity(names.len()),
        headers: names.iter().map(|n| n.trim().to_string()).collect(),
        mapped: HashSet::new(),
        sections_from_ids: false,
    };
    for (idx, name) in names.iter().enumerate() {
        let at = header_loc(origin, header_line, idx + 1);
        let (target, label, mapped) = if let Some(e) = map.get(name) {
            (e.target, format!("{:?}", name.trim()), true)
        } else if let Some(c) = COLUMNS.iter().find(|c| **c == name) {
            (*c, (*c).to_string(), false)
        } else {
            layout.labels.push(format!("{:?}", name.trim()));
            if name.trim().is_empty() {
                errs.push(
                    &at,
                    format!("column {} has no name", idx + 1),
                    "name it (and map it with --map), or delete the column",
                );
            } else {
                errs.push(
                    &at,
                    format!("unknown column {name:?}"),
                    unknown_column_hint(),
                );
            }
            continue;
        };
        layout.labels.push(label);
        if target == csv_map::IGNORE {
            continue;
        }
        if let Some(first) = layout.idx.insert(target, idx) {
            let message = if mapped || layout.mapped.contains(target) {
                format!(
                    "columns {:?} and {:?} both feed {target}",
                    names.get(first).unwrap_or_default().trim(),
                    name.trim()
                )
            } else {
                format!("column {name:?} appears twice")
            };
            errs.push(&at, message, "keep one of them");
        }
        if mapped {
            layout.mapped.insert(target);
        }
    }
    let keys: Vec<String> = names.iter().map(csv_map::header_key).collect();
    for (k, e) in map.entries().iter().enumerate() {
        if !keys.contains(&csv_map::header_key(&e.column)) {
            let headers: Vec<String> = names.iter().map(|n| format!("{:?}", n.trim())).collect();
            errs.push(
                &header_loc(origin, header_line, names.len() + 1 + k),
                format!("no column {:?} (mapped by {})", e.column, e.from),
                format!("the header row's columns are {}", headers.join(", ")),
            );
        }
    }
    layout.sections_from_ids = !layout.idx.contains_key("section") && layout.mapped.contains("id");
    let required: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|c| !(*c == "section" && layout.sections_from_ids))
        .collect();
    for (k, c) in required.iter().enumerate() {
        if !layout.idx.contains_key(c) {
            let hint = if map.is_empty() {
                format!("required columns are {}", check::list(REQUIRED))
            } else {
                format!(
                    "required columns are {} (section may be left out when the id column is mapped: it is then the id's family); map a column to it with {}",
                    check::list(REQUIRED),
                    csv_map::MAP_SYNTAX
                )
            };
            errs.push(
                &header_loc(
                    origin,
                    header_line,
                    names.len() + map.entries().len() + 1 + k,
                ),
                format!("missing required column {c:?}"),
                hint,
            );
        }
    }
    layout
}

/// What a row says about its item's ownership: the ownerships it allows (from an
/// `ownership` cell and Yes/No cells of `shared` and `inherited` columns), checked against
/// the letters and statements once the item is built.
struct Claim {
    /// The item id as read.
    id: String,
    allowed: Vec<Ownership>,
    /// What the row says, e.g. `Inherited? "Yes" (the provider's duty)`.
    said: String,
    /// Whether it says it in several cells.
    several: bool,
    at: Loc,
}

/// What the rows give: the raw items, and the sections, services and variants they name.
#[derive(Default)]
struct Rows {
    raws: Vec<RawItem>,
    drafts: Vec<SectionDraft>,
    service_refs: Vec<At<String>>,
    variant_refs: Vec<At<String>>,
    uses_third_party: bool,
    claims: Vec<Claim>,
}

/// Read every record after the header row; a record the reader refuses ends the rows, a
/// row with too few or too many cells is reported and skipped.
fn read_rows(
    rdr: &mut csv::Reader<&[u8]>,
    width: usize,
    layout: &Layout,
    origin: &str,
    lines: &mut Lines<'_>,
    errs: &mut Errs,
) -> Rows {
    let mut rows = Rows::default();
    for result in rdr.records() {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let line = lines.line(e.position());
                let at = header_loc(origin, line, 0);
                errs.push(&at, read_message(&e), READ_HINT);
                break;
            }
        };
        let line = lines.line(record.position());
        if record.len() != width {
            errs.push(
                &header_loc(origin, line, 0),
                format!("row has {} cells, the header row has {width}", record.len()),
                READ_HINT,
            );
            continue;
        }
        let row = Row {
            record: &record,
            layout,
            origin,
            line,
        };
        let (mut raw, claim) = read_item(&row, errs, &mut rows.uses_third_party);
        if layout.sections_from_ids {
            raw.section = raw.id.as_ref().map(|id| {
                let family = csv_map::family(&id.v);
                gather_derived_section(&mut rows.drafts, &family, line);
                At::new(family, id.at.clone())
            });
        } else if let Some(sec) = &raw.section {
            gather_section(&mut rows.drafts, sec, &row, errs);
        }
        rows.service_refs.extend(raw.service.clone());
        rows.variant_refs.extend(raw.variant.clone());
        rows.variant_refs.extend(raw.unless_variant.clone());
        rows.claims.extend(claim);
        rows.raws.push(raw);
    }
    rows
}

/// One row's cells as a raw item and what it says of the ownership; notes whether the row
/// names the third party.
fn read_item(
    row: &Row<'_>,
    errs: &mut Errs,
    uses_third_party: &mut bool,
) -> (RawItem, Option<Claim>) {
    let mut raw = RawItem::new(row.row_loc());
    raw.id = row.required("id", errs);
    if row.mapped("id") {
        read_control_id(&mut raw);
    }
    if !row.layout.sections_from_ids {
        raw.section = row.required("section", errs);
    }
    raw.activity = row.required("activity", errs);
    raw.service = row.cell("service");
    for role in RoleId::ALL {
        if let Some(mut l) = row.applicable(raci_column(role)) {
            if row.mapped(raci_column(role)) {
                l.v = csv_map::letters_word(&l.v);
            }
            *uses_third_party |= role == RoleId::ThirdParty;
            raw.raci.push((At::new(role, l.at.clone()), l));
        }
        if let Some(s) = row.applicable(statement_column(role)) {
            *uses_third_party |= role == RoleId::ThirdParty;
            raw.statements.push((At::new(role, s.at.clone()), s));
        }
    }
    raw.ownership = if row.mapped("ownership") {
        row.applicable("ownership").map(|mut o| {
            o.v = csv_map::ownership_word(&o.v);
            o
        })
    } else {
        row.cell("ownership")
    };
    raw.cadence = if row.mapped("cadence") {
        row.applicable("cadence")
            .and_then(|c| match csv_map::frequency(&c.v) {
                Some(cadence) => Some(At::new(cadence, c.at)),
                None => {
                    errs.push(
                        &c.at,
                        format!("unknown frequency {:?}", c.v.trim()),
                        csv_map::frequency_hint(),
                    );
                    None
                }
            })
    } else {
        row.cell("cadence")
    };
    raw.grace_days = row
        .cell("grace_days")
        .and_then(|g| match g.v.parse::<i64>() {
            Ok(n) => Some(At::new(n, g.at)),
            Err(_) => {
                errs.push(
                    &g.at,
                    format!("grace_days {:?} is not a whole number", g.v),
                    "grace_days is a whole number of days from 0 to 366",
                );
                None
            }
        });
    raw.evidence_kinds = row.kinds(errs);
    raw.refs.extend(row.list("refs"));
    raw.notes = row.list("notes");
    raw.variant = row.cell("variant");
    raw.unless_variant = row.cell("unless_variant");
    let claim = ownership_claim(row, &mut raw, errs);
    (raw, claim)
}

/// A control id from a mapped column (`AC-2(1)`) becomes an item id (`ac-2-1`); the id as
/// written is kept as the item's first ref.
fn read_control_id(raw: &mut RawItem) {
    let Some(id) = raw.id.as_mut() else { return };
    let written = id.v.trim().to_string();
    let slug = csv_map::slug_id(&written);
    if slug.is_empty() || slug == written {
        return;
    }
    raw.refs.insert(0, At::new(written, id.at.clone()));
    id.v = slug;
}

/// What the row says of the ownership, from its `ownership`, `shared` and `inherited`
/// cells. They must agree; when they allow one ownership only and no `ownership` cell is
/// given, that ownership is the item's.
fn ownership_claim(row: &Row<'_>, raw: &mut RawItem, errs: &mut Errs) -> Option<Claim> {
    let mut claims: Vec<(Vec<Ownership>, String, Loc)> = Vec::new();
    if let Some(o) = &raw.ownership
        && let Some(p) = Ownership::parse(&o.v)
    {
        claims.push((vec![p], format!("ownership {:?}", p.as_str()), o.at.clone()));
    }
    for target in [csv_map::SHARED, csv_map::INHERITED] {
        let Some(c) = row.cell(target) else { continue };
        match csv_map::answer(&c.v) {
            Err(()) => errs.push(
                &c.at,
                format!("{:?} is not Yes, No or Partially", c.v.trim()),
                csv_map::ANSWER_HINT,
            ),
            Ok(None) => {}
            Ok(Some(a)) => {
                let (allowed, meaning) = if target == csv_map::SHARED {
                    (csv_map::shared_allows(a), csv_map::shared_meaning(a))
                } else {
                    (csv_map::inherited_allows(a), csv_map::inherited_meaning(a))
                };
                let said = format!("{} {:?} ({meaning})", row.header(target), c.v.trim());
                claims.push((allowed, said, c.at));
            }
        }
    }
    let id = raw.id.as_ref()?.v.clone();
    let ((_, first_said, first_at), rest) = claims.split_first()?;
    let allowed: Vec<Ownership> = Ownership::ALL
        .into_iter()
        .filter(|o| claims.iter().all(|(a, _, _)| a.contains(o)))
        .collect();
    if allowed.is_empty() {
        let others: Vec<&str> = rest.iter().map(|(_, s, _)| s.as_str()).collect();
        errs.push(
            first_at,
            format!("{first_said} contradicts {}", others.join(" and ")),
            csv_map::CLAIMS_HINT,
        );
        return None;
    }
    if let ([only], None) = (allowed.as_slice(), &raw.ownership) {
        raw.ownership = Some(At::new(only.as_str().to_string(), first_at.clone()));
    }
    let said: Vec<&str> = claims.iter().map(|(_, s, _)| s.as_str()).collect();
    Some(Claim {
        id,
        allowed,
        said: said.join(" and "),
        several: said.len() > 1,
        at: first_at.clone(),
    })
}

/// A warning for each item whose row says an ownership its letters and statements do not
/// give (MATRIX.md "Derived values").
fn ownership_warnings(claims: &[Claim], items: &[Item]) -> Vec<String> {
    let mut out = Vec::new();
    for c in claims {
        let Some(item) = items.iter().find(|i| i.id == c.id) else {
            continue;
        };
        let derived = item.derived_ownership();
        if c.allowed.contains(&derived) {
            continue;
        }
        let basis = match (item.raci.is_empty(), item.statements.is_empty()) {
            (false, true) => "raci letters",
            (true, false) => "statements",
            _ => "raci letters and statements",
        };
        let holders: Vec<&str> = item
            .duty_holders()
            .into_iter()
            .map(RoleId::as_str)
            .collect();
        let gives = if holders.is_empty() {
            "give no role a duty (not-applicable)".to_string()
        } else {
            format!("give duties to {} ({derived})", holders.join(" and "))
        };
        let outcome = if item.ownership == derived {
            format!("ownership stays {:?}", derived.as_str())
        } else {
            format!("the matrix keeps ownership {:?}", item.ownership.as_str())
        };
        let verb = if c.several {
            "contradict"
        } else {
            "contradicts"
        };
        out.push(format!(
            "{}: item {:?}: {} {verb} its {basis}, which {gives}; {outcome}: check the row",
            c.at.text, c.id, c.said
        ));
    }
    out
}

/// Add a section derived from an item id (no section column) on first sight, titled with
/// its family in capitals (`ac` → `AC`).
fn gather_derived_section(drafts: &mut Vec<SectionDraft>, family: &str, line: usize) {
    if !drafts.iter().any(|d| d.id == family) {
        drafts.push(SectionDraft {
            id: family.to_string(),
            title: Some((family.to_uppercase(), line)),
        });
    }
}

/// Add the row's section to `drafts` on first sight (checking its id); its title is the
/// first non-blank `section_title`, and a different one on a later row is an error.
fn gather_section(
    drafts: &mut Vec<SectionDraft>,
    sec: &At<String>,
    row: &Row<'_>,
    errs: &mut Errs,
) {
    let line = row.line;
    let title = row.cell("section_title");
    match drafts.iter_mut().find(|d| d.id == sec.v) {
        None => {
            if !check::is_ident(&sec.v) {
                errs.push(
                    &sec.at,
                    format!("invalid section id {:?}", sec.v),
                    check::IDENT_HINT,
                );
            }
            drafts.push(SectionDraft {
                id: sec.v.clone(),
                title: title.map(|t| (t.v, line)),
            });
        }
        Some(d) => match (&d.title, title) {
            (Some((first, first_line)), Some(t)) if *first != t.v => errs.push(
                &t.at,
                format!(
                    "section {:?} is titled {:?} here but {first:?} at line {first_line}",
                    sec.v, t.v
                ),
                "give a section the same title on every row, or leave section_title empty",
            ),
            (None, Some(t)) => d.title = Some((t.v, line)),
            _ => {}
        },
    }
}

/// Without `--header`: a skeleton header and roles, and the services and variants the
/// rows name, in order of appearance.
fn made_up_head(
    origin: &str,
    rows: &Rows,
    errs: &mut Errs,
) -> (Header, Vec<Role>, Vec<Service>, Vec<Variant>) {
    let skeleton = skeleton(origin, rows.uses_third_party);
    // Services and variants are whatever the rows name, in order of appearance.
    let services = distinct(&rows.service_refs, errs, "service")
        .into_iter()
        .map(|id| Service {
            name: id.clone(),
            id,
            description: None,
        })
        .collect();
    let variants = distinct(&rows.variant_refs, errs, "variant")
        .into_iter()
        .map(|id| Variant {
            title: id.clone(),
            id,
            description: None,
        })
        .collect();
    (skeleton.0, skeleton.1, services, variants)
}

/// The sections in order of first appearance; a title from the rows wins over the
/// header's, then the id. Service and description come from the header.
fn gathered_sections(drafts: Vec<SectionDraft>, head_sections: &[Section]) -> Vec<Section> {
    drafts
        .into_iter()
        .map(|d| {
            let from_head = head_sections.iter().find(|s| s.id == d.id);
            Section {
                title: d
                    .title
                    .map(|(t, _)| t)
                    .or_else(|| from_head.map(|s| s.title.clone()))
                    .unwrap_or_else(|| d.id.clone()),
                service: from_head.and_then(|s| s.service.clone()),
                description: from_head.and_then(|s| s.description.clone()),
                id: d.id,
            }
        })
        .collect()
}

/// Distinct ids in order of appearance, each checked against the identifier pattern.
fn distinct(refs: &[At<String>], errs: &mut Errs, kind: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in refs {
        if !out.contains(&r.v) {
            if !check::is_ident(&r.v) {
                errs.push(
                    &r.at,
                    format!("invalid {kind} id {:?}", r.v),
                    check::IDENT_HINT,
                );
            }
            out.push(r.v.clone());
        }
    }
    out
}

/// A header to fill in, for an import without `--header`.
fn skeleton(origin: &str, third_party: bool) -> (Header, Vec<Role>) {
    let stem = Path::new(origin)
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let id: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    let id = id.trim_matches('-').to_string();
    let header = Header {
        id: if check::is_ident(&id) {
            id
        } else {
            "imported".to_string()
        },
        title: format!("{}: title", csv_map::PLACEHOLDER),
        version: "1".to_string(),
        source: format!(
            "{}: the document this matrix transcribes (title, publisher, URL)",
            csv_map::PLACEHOLDER
        ),
        effective: chrono::NaiveDate::default(), // 1970-01-01: obviously a placeholder
        description: None,
    };
    let mut roles = vec![
        Role {
            id: RoleId::Provider,
            name: "Provider".to_string(),
        },
        Role {
            id: RoleId::Customer,
            name: "Customer".to_string(),
        },
    ];
    if third_party {
        roles.push(Role {
            id: RoleId::ThirdParty,
            name: "Third party".to_string(),
        });
    }
    (header, roles)
}

const READ_HINT: &str = "the file must be RFC 4180 CSV in UTF-8, with the same number of cells on every row (quote cells that hold commas, quotes or line breaks)";

fn read_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("row has {len} cells, the header row has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
        _ => format!("malformed CSV: {e}"),
    }
}

fn read_err(origin: &str, e: &csv::Error) -> Error {
    let line = Lines::new("").line(e.position()).max(1);
    Error::new(format!("{origin}:{line}: {}", read_message(e))).hint(READ_HINT)
}
