//! The CSV form of a matrix's items (MATRIX.md "CSV form"): RFC 4180, UTF-8, a header
//! row naming the columns in any order, several values in one cell separated by ` | `.
//!
//! The CSV holds the items only; the header, roles, services and variants come from a
//! matrix file given as header (its items are ignored; its sections lend their titles,
//! services and descriptions), or a skeleton header is made up to be filled in.

use std::collections::HashMap;
use std::path::Path;

use super::check::{self, At, Decls, Errs, Loc, RawItem};
use super::{Header, Item, Matrix, Role, RoleId, Section, Service, Variant, toml_in};
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
        // Written only when it overrides the derivation, so that editing the letters in a
        // spreadsheet re-derives it.
        let ownership = if item.ownership == item.derived_ownership() {
            ""
        } else {
            item.ownership.as_str()
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

/// One row's cells by column name, with their locations.
struct Row<'a> {
    record: &'a csv::StringRecord,
    columns: &'a HashMap<&'static str, usize>,
    origin: &'a str,
    line: usize,
}

impl Row<'_> {
    fn loc(&self, column: &str) -> Loc {
        let idx = self.columns.get(column).map_or(0, |i| i + 1);
        Loc {
            order: (1, self.line, idx),
            line: self.line,
            text: format!("{}:{}: column {column}", self.origin, self.line),
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

    /// A non-blank cell.
    fn cell(&self, column: &'static str) -> Option<At<String>> {
        let idx = *self.columns.get(column)?;
        let v = self.record.get(idx)?;
        (!v.trim().is_empty()).then(|| At::new(v.to_string(), self.loc(column)))
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
}

fn header_loc(origin: &str, line: usize, idx: usize) -> Loc {
    Loc {
        order: (1, line, idx),
        line,
        text: format!("{origin}:{line}"),
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

/// Read a matrix from CSV: the columns, the rows, then the declarations they imply.
pub(super) fn from_csv(text: &str, origin: &str, header: Option<(&str, &str)>) -> Result<Matrix> {
    let head = match header {
        Some((h, horigin)) => Some(toml_in::parse_head(h, horigin, 0)?),
        None => None,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let names = rdr.headers().map_err(|e| read_err(origin, &e))?.clone();
    if names.iter().all(|n| n.trim().is_empty()) {
        return Err(Error::new(format!("{origin}: no header row")).hint(format!(
            "the first row names the columns; required are {}",
            check::list(REQUIRED)
        )));
    }
    let mut lines = Lines::new(text);
    let header_line = lines.line(names.position());

    let mut errs = Errs::default();
    let columns = read_columns(&names, origin, header_line, &mut errs);
    if !errs.is_empty() {
        return Err(errs.fail(|| Error::new(format!("{origin}: bad header row"))));
    }

    let rows = read_rows(&mut rdr, &columns, origin, &mut lines, &mut errs);

    let (header, roles, services, variants, head_sections) = match head {
        Some(h) => (h.header, h.roles, h.services, h.variants, h.sections),
        None => {
            let (header, roles, services, variants) = made_up_head(origin, &rows, &mut errs);
            (header, roles, services, variants, Vec::new())
        }
    };
    let sections = gathered_sections(rows.drafts, &head_sections);
    let decls = Decls {
        roles: roles.iter().map(|r| r.id).collect(),
        sections: &sections,
        services: services.iter().map(|s: &Service| s.id.as_str()).collect(),
        variants: variants.iter().map(|v: &Variant| v.id.as_str()).collect(),
    };
    let items = check::build_items(rows.raws, &decls, &mut errs);
    errs.finish(Matrix {
        header,
        roles,
        services,
        variants,
        sections,
        items,
    })
}

/// The header row: each column's index by name; unknown, repeated and missing required
/// columns are recorded in `errs`.
fn read_columns(
    names: &csv::StringRecord,
    origin: &str,
    header_line: usize,
    errs: &mut Errs,
) -> HashMap<&'static str, usize> {
    let mut columns: HashMap<&'static str, usize> = HashMap::new();
    for (idx, name) in names.iter().enumerate() {
        let at = header_loc(origin, header_line, idx + 1);
        match COLUMNS.iter().find(|c| **c == name) {
            None => errs.push(
                &at,
                format!("unknown column {name:?}"),
                format!("columns are {}", check::list(COLUMNS)),
            ),
            Some(c) => {
                if columns.insert(c, idx).is_some() {
                    errs.push(
                        &at,
                        format!("column {name:?} appears twice"),
                        "keep one of them",
                    );
                }
            }
        }
    }
    for (k, c) in REQUIRED.iter().enumerate() {
        if !columns.contains_key(c) {
            errs.push(
                &header_loc(origin, header_line, names.len() + 1 + k),
                format!("missing required column {c:?}"),
                format!("required columns are {}", check::list(REQUIRED)),
            );
        }
    }
    columns
}

/// What the rows give: the raw items, and the sections, services and variants they name.
#[derive(Default)]
struct Rows {
    raws: Vec<RawItem>,
    drafts: Vec<SectionDraft>,
    service_refs: Vec<At<String>>,
    variant_refs: Vec<At<String>>,
    uses_third_party: bool,
}

/// Read every record after the header row; a record the reader refuses ends the rows.
fn read_rows(
    rdr: &mut csv::Reader<&[u8]>,
    columns: &HashMap<&'static str, usize>,
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
        let row = Row {
            record: &record,
            columns,
            origin,
            line,
        };
        let raw = read_item(&row, errs, &mut rows.uses_third_party);
        if let Some(sec) = &raw.section {
            gather_section(&mut rows.drafts, sec, &row, errs);
        }
        rows.service_refs.extend(raw.service.clone());
        rows.variant_refs.extend(raw.variant.clone());
        rows.variant_refs.extend(raw.unless_variant.clone());
        rows.raws.push(raw);
    }
    rows
}

/// One row's cells as a raw item; notes whether the row names the third party.
fn read_item(row: &Row<'_>, errs: &mut Errs, uses_third_party: &mut bool) -> RawItem {
    let mut raw = RawItem::new(row.row_loc());
    raw.id = row.required("id", errs);
    raw.section = row.required("section", errs);
    raw.activity = row.required("activity", errs);
    raw.service = row.cell("service");
    for role in RoleId::ALL {
        if let Some(l) = row.cell(raci_column(role)) {
            *uses_third_party |= role == RoleId::ThirdParty;
            raw.raci.push((At::new(role, l.at.clone()), l));
        }
        if let Some(s) = row.cell(statement_column(role)) {
            *uses_third_party |= role == RoleId::ThirdParty;
            raw.statements.push((At::new(role, s.at.clone()), s));
        }
    }
    raw.ownership = row.cell("ownership");
    raw.cadence = row.cell("cadence");
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
    raw.evidence_kinds = row.list("evidence_kinds");
    raw.refs = row.list("refs");
    raw.notes = row.list("notes");
    raw.variant = row.cell("variant");
    raw.unless_variant = row.cell("unless_variant");
    raw
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
        title: "TODO: title".to_string(),
        version: "1".to_string(),
        source: "TODO: the document this matrix transcribes (title, publisher, URL)".to_string(),
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
