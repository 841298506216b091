//! Reading a matrix file: the spanned TOML tree, walked by hand so that every error names
//! `file:line:column` of the offending key or value (MATRIX.md "Conventions").

use chrono::NaiveDate;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::check::{self, At, Decls, Errs, Loc, RawItem};
use super::{Header, Matrix, Role, RoleId, Section, Service, Variant};
use crate::error::{Error, Result};

/// Maps byte offsets of one text to `origin:line:column` (1-based, columns in characters).
pub(super) struct Src<'a> {
    text: &'a str,
    origin: &'a str,
    /// Index of the file among those read together (errors of earlier files come first).
    file: usize,
    line_starts: Vec<usize>,
}

impl<'a> Src<'a> {
    pub fn new(text: &'a str, origin: &'a str, file: usize) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            text,
            origin,
            file,
            line_starts,
        }
    }

    /// The location of a byte offset.
    pub fn loc(&self, offset: usize) -> Loc {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let col = self.text[start..offset].chars().count() + 1;
        Loc {
            order: (self.file, offset, 0),
            line,
            text: format!("{}:{line}:{col}", self.origin),
        }
    }

    /// For what is missing from the whole file: shown at 1:1, ordered after everything.
    fn unplaced(&self) -> Loc {
        Loc {
            order: (self.file, usize::MAX, 0),
            ..self.loc(0)
        }
    }

    fn at(&self, span: &Range<usize>) -> Loc {
        self.loc(span.start)
    }
}

/// What the top level may hold.
const TOP_KEYS: &[&str] = &[
    "matrix", "roles", "services", "variants", "sections", "items",
];
const MATRIX_KEYS: &[&str] = &[
    "id",
    "title",
    "version",
    "source",
    "effective",
    "description",
];
const ROLE_KEYS: &[&str] = &["name"];
const SERVICE_KEYS: &[&str] = &["id", "name", "description"];
const VARIANT_KEYS: &[&str] = &["id", "title", "description"];
const SECTION_KEYS: &[&str] = &["id", "title", "service", "description"];
const ITEM_KEYS: &[&str] = &[
    "id",
    "section",
    "service",
    "activity",
    "raci",
    "statements",
    "ownership",
    "cadence",
    "grace_days",
    "evidence_kinds",
    "refs",
    "notes",
    "variant",
    "unless_variant",
];

type Entry<'t, 'i> = (&'t str, Range<usize>, &'t Spanned<DeValue<'i>>);

/// The entries of one table in file order, with its location and name for messages.
struct Tbl<'t, 'i> {
    entries: Vec<Entry<'t, 'i>>,
    /// Where the table's header is, but ordered after its last value: what is missing from
    /// a table is found at its end, after a misspelt key in it (the likely cause).
    end: Loc,
    what: String,
}

impl<'t, 'i> Tbl<'t, 'i> {
    /// Read a table, reporting keys not in `allowed`.
    fn new(
        src: &Src<'_>,
        table: &'t DeTable<'i>,
        at: Loc,
        what: &str,
        allowed: &[&str],
        errs: &mut Errs,
    ) -> Self {
        let mut entries: Vec<Entry<'t, 'i>> = table
            .iter()
            .map(|(k, v)| (k.get_ref().as_ref(), k.span(), v))
            .collect();
        entries.sort_by_key(|(_, span, _)| span.start);
        for (key, span, _) in &entries {
            if !allowed.contains(key) {
                errs.push(
                    &src.at(span),
                    format!("unknown key {key:?} in {what}"),
                    format!("keys of {what} are {}", check::list(allowed)),
                );
            }
        }
        let last = entries
            .iter()
            .map(|(_, _, v)| v.span().end)
            .max()
            .unwrap_or(at.order.1);
        let end = Loc {
            order: (at.order.0, last, 1),
            ..at
        };
        Self {
            entries,
            end,
            what: what.to_string(),
        }
    }

    fn get(&self, key: &str) -> Option<&'t Spanned<DeValue<'i>>> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, v)| *v)
    }

    /// An optional string. A value of another type is reported and read as absent.
    fn string(&self, src: &Src<'_>, key: &str, errs: &mut Errs) -> Option<At<String>> {
        let v = self.get(key)?;
        if let DeValue::String(s) = v.get_ref() {
            Some(At::new(s.to_string(), src.at(&v.span())))
        } else {
            type_error(src, v, key, "a string", &format!("{key} = \"…\""), errs);
            None
        }
    }

    /// A required string: absence is reported at the table.
    fn req_string(&self, src: &Src<'_>, key: &str, errs: &mut Errs) -> Option<At<String>> {
        if self.get(key).is_none() {
            self.missing(key, errs);
            return None;
        }
        self.string(src, key, errs)
    }

    /// A required, non-blank string.
    fn text(&self, src: &Src<'_>, key: &str, errs: &mut Errs) -> Option<At<String>> {
        let v = self.req_string(src, key, errs)?;
        if v.v.trim().is_empty() {
            errs.push(
                &v.at,
                format!("{key} of {} is empty", self.what),
                format!("give the {key}"),
            );
        }
        Some(v)
    }

    fn missing(&self, key: &str, errs: &mut Errs) {
        errs.push(
            &self.end,
            format!("missing key {key:?} in {}", self.what),
            format!(
                "add {key} = …; schema/MATRIX.md lists the keys of {}",
                self.what
            ),
        );
    }

    /// An optional array of strings.
    fn strings(&self, src: &Src<'_>, key: &str, errs: &mut Errs) -> Vec<At<String>> {
        let Some(v) = self.get(key) else {
            return Vec::new();
        };
        let DeValue::Array(a) = v.get_ref() else {
            type_error(
                src,
                v,
                key,
                "an array of strings",
                &format!("{key} = [\"…\"]"),
                errs,
            );
            return Vec::new();
        };
        let mut out = Vec::with_capacity(a.len());
        for e in a.iter() {
            if let DeValue::String(s) = e.get_ref() {
                out.push(At::new(s.to_string(), src.at(&e.span())));
            } else {
                type_error(src, e, key, "a string", &format!("{key} = [\"…\"]"), errs);
            }
        }
        out
    }

    /// An optional table of role → string (`raci`, `statements`), in file order.
    fn role_map(&self, src: &Src<'_>, key: &str, errs: &mut Errs) -> Vec<(At<RoleId>, At<String>)> {
        let Some(v) = self.get(key) else {
            return Vec::new();
        };
        let DeValue::Table(t) = v.get_ref() else {
            type_error(
                src,
                v,
                key,
                "a table of role = \"…\"",
                &format!("{key} = {{ customer = \"…\" }}"),
                errs,
            );
            return Vec::new();
        };
        let mut entries: Vec<_> = t.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        let mut out = Vec::with_capacity(entries.len());
        for (k, val) in entries {
            let role_at = src.at(&k.span());
            let Some(role) = RoleId::parse(k.get_ref()) else {
                errs.push(
                    &role_at,
                    format!("unknown role {:?}", k.get_ref().as_ref()),
                    check::ROLES_HINT,
                );
                continue;
            };
            if let DeValue::String(s) = val.get_ref() {
                out.push((
                    At::new(role, role_at),
                    At::new(s.to_string(), src.at(&val.span())),
                ));
            } else {
                type_error(
                    src,
                    val,
                    &format!("{key}.{role}"),
                    "a string",
                    &format!("{key} = {{ {role} = \"…\" }}"),
                    errs,
                );
            }
        }
        out
    }
}

fn type_error(
    src: &Src<'_>,
    v: &Spanned<DeValue<'_>>,
    key: &str,
    expected: &str,
    example: &str,
    errs: &mut Errs,
) {
    errs.push(
        &src.at(&v.span()),
        format!("{key} must be {expected}, not {}", v.get_ref().type_str()),
        format!("write it as {example}"),
    );
}

/// The declarations part of a matrix file (everything but the items).
pub(super) struct Head {
    pub header: Header,
    pub roles: Vec<Role>,
    pub services: Vec<Service>,
    pub variants: Vec<Variant>,
    pub sections: Vec<Section>,
}

/// Parse and check a whole matrix file.
pub(super) fn parse_matrix(text: &str, origin: &str) -> Result<Matrix> {
    let src = Src::new(text, origin, 0);
    let root = parse_tree(&src)?;
    let mut errs = Errs::default();
    let top = Tbl::new(
        &src,
        root.get_ref(),
        src.loc(0),
        "the matrix file",
        TOP_KEYS,
        &mut errs,
    );
    let head = read_head(&src, &top, &mut errs);
    let raws = read_items(&src, &top, &mut errs);
    let Some(head) = head else {
        // The head's own errors were recorded; report the first.
        return Err(errs.fail(|| Error::new(format!("{origin}: incomplete matrix"))));
    };
    let decls = Decls {
        origin,
        roles: head.roles.iter().map(|r| r.id).collect(),
        sections: &head.sections,
        services: head.services.iter().map(|s| s.id.as_str()).collect(),
        variants: head.variants.iter().map(|v| v.id.as_str()).collect(),
    };
    let items = check::build_items(raws, &decls, &mut errs);
    errs.finish(Matrix {
        header: head.header,
        roles: head.roles,
        services: head.services,
        variants: head.variants,
        sections: head.sections,
        items,
    })
}

/// Parse and check the declarations of a matrix file used as an import header; its
/// `[[items]]`, if any, are ignored. `file` orders its errors among the files read.
pub(super) fn parse_head(text: &str, origin: &str, file: usize) -> Result<Head> {
    let src = Src::new(text, origin, file);
    let root = parse_tree(&src)?;
    let mut errs = Errs::default();
    let top = Tbl::new(
        &src,
        root.get_ref(),
        src.loc(0),
        "the matrix file",
        TOP_KEYS,
        &mut errs,
    );
    let head = read_head(&src, &top, &mut errs);
    match head {
        Some(h) => errs.finish(h),
        None => Err(errs.fail(|| Error::new(format!("{origin}: incomplete matrix header")))),
    }
}

fn parse_tree<'i>(src: &Src<'i>) -> Result<Spanned<DeTable<'i>>> {
    DeTable::parse(src.text).map_err(|e| {
        let at = src.loc(e.span().map_or(0, |s| s.start));
        Error::new(format!(
            "malformed TOML: {}",
            e.message().trim_end().trim_end_matches('.')
        ))
        .hint("fix the TOML syntax there (strings are quoted, e.g. id = \"backup\"); schema/MATRIX.md has a complete example")
        .context(&at.text)
    })
}

/// The array of tables under `key` (`[[sections]]`), each with its location.
fn tables<'t, 'i>(
    src: &Src<'_>,
    top: &Tbl<'t, 'i>,
    key: &str,
    errs: &mut Errs,
) -> Vec<(&'t DeTable<'i>, Loc)> {
    let Some(v) = top.get(key) else {
        return Vec::new();
    };
    let DeValue::Array(a) = v.get_ref() else {
        errs.push(
            &src.at(&v.span()),
            format!(
                "{key} must be an array of tables, not {}",
                v.get_ref().type_str()
            ),
            format!("write each one as a [[{key}]] table"),
        );
        return Vec::new();
    };
    let mut out = Vec::with_capacity(a.len());
    for e in a.iter() {
        if let DeValue::Table(t) = e.get_ref() {
            out.push((t, src.at(&e.span())));
        } else {
            errs.push(
                &src.at(&e.span()),
                format!("{key} must hold tables, not {}", e.get_ref().type_str()),
                format!("write each one as a [[{key}]] table"),
            );
        }
    }
    out
}

/// `[matrix]`, roles, services, variants and sections. `None` when something required is
/// missing or malformed (the errors are recorded).
fn read_head(src: &Src<'_>, top: &Tbl<'_, '_>, errs: &mut Errs) -> Option<Head> {
    let header = read_header(src, top, errs);
    let roles = read_roles(src, top, errs);

    let mut services = Vec::new();
    let mut ids = Vec::new();
    for (t, at) in tables(src, top, "services", errs) {
        let t = Tbl::new(src, t, at, "[[services]]", SERVICE_KEYS, errs);
        let (id, name) = (t.req_string(src, "id", errs), t.text(src, "name", errs));
        let description = t.string(src, "description", errs);
        if let (Some(id), Some(name)) = (id, name) {
            ids.push(id.clone());
            services.push(Service {
                id: id.v,
                name: name.v,
                description: description.map(|d| d.v),
            });
        }
    }
    check::check_decl_ids(&ids, "service", errs);

    let mut variants = Vec::new();
    let mut ids = Vec::new();
    for (t, at) in tables(src, top, "variants", errs) {
        let t = Tbl::new(src, t, at, "[[variants]]", VARIANT_KEYS, errs);
        let (id, title) = (t.req_string(src, "id", errs), t.text(src, "title", errs));
        let description = t.string(src, "description", errs);
        if let (Some(id), Some(title)) = (id, title) {
            ids.push(id.clone());
            variants.push(Variant {
                id: id.v,
                title: title.v,
                description: description.map(|d| d.v),
            });
        }
    }
    check::check_decl_ids(&ids, "variant", errs);

    let service_ids: Vec<&str> = services.iter().map(|s| s.id.as_str()).collect();
    let mut sections = Vec::new();
    let mut ids = Vec::new();
    for (t, at) in tables(src, top, "sections", errs) {
        let t = Tbl::new(src, t, at, "[[sections]]", SECTION_KEYS, errs);
        let (id, title) = (t.req_string(src, "id", errs), t.text(src, "title", errs));
        let service = t.string(src, "service", errs);
        let description = t.string(src, "description", errs);
        if let Some(s) = &service {
            check::check_ref(s, "service", "services", &service_ids, errs);
        }
        if let (Some(id), Some(title)) = (id, title) {
            ids.push(id.clone());
            sections.push(Section {
                id: id.v,
                title: title.v,
                service: service.map(|s| s.v),
                description: description.map(|d| d.v),
            });
        }
    }
    check::check_decl_ids(&ids, "section", errs);

    Some(Head {
        header: header?,
        roles: roles?,
        services,
        variants,
        sections,
    })
}

fn read_header(src: &Src<'_>, top: &Tbl<'_, '_>, errs: &mut Errs) -> Option<Header> {
    let Some(v) = top.get("matrix") else {
        errs.push(
            &src.unplaced(),
            "missing [matrix] table",
            "a matrix file starts with [matrix] and its id, title, version, source and effective date",
        );
        return None;
    };
    let DeValue::Table(t) = v.get_ref() else {
        errs.push(
            &src.at(&v.span()),
            format!("matrix must be a table, not {}", v.get_ref().type_str()),
            "write it as a [matrix] table",
        );
        return None;
    };
    let t = Tbl::new(src, t, src.at(&v.span()), "[matrix]", MATRIX_KEYS, errs);
    let id = t.req_string(src, "id", errs);
    if let Some(id) = &id
        && !check::is_ident(&id.v)
    {
        errs.push(
            &id.at,
            format!("invalid matrix id {:?}", id.v),
            check::IDENT_HINT,
        );
    }
    let title = t.text(src, "title", errs);
    let version = t.text(src, "version", errs);
    let source = t.text(src, "source", errs);
    let description = t.string(src, "description", errs);
    let effective = match t.get("effective") {
        None => {
            t.missing("effective", errs);
            None
        }
        Some(v) => read_date(src, v, errs),
    };
    Some(Header {
        id: id?.v,
        title: title?.v,
        version: version?.v,
        source: source?.v,
        effective: effective?,
        description: description.map(|d| d.v),
    })
}

/// A `YYYY-MM-DD` date: a TOML local date or a string.
fn read_date(src: &Src<'_>, v: &Spanned<DeValue<'_>>, errs: &mut Errs) -> Option<NaiveDate> {
    let at = src.at(&v.span());
    let date = match v.get_ref() {
        DeValue::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => {
                NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
            }
            _ => None,
        },
        DeValue::String(s) => parse_date(s),
        _ => None,
    };
    if date.is_none() {
        errs.push(
            &at,
            "effective must be a date (YYYY-MM-DD)",
            "write it as effective = \"2026-01-01\"",
        );
    }
    date
}

/// Strict `YYYY-MM-DD`.
pub(super) fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::from_ymd_opt(
        s[0..4].parse().ok()?,
        s[5..7].parse().ok()?,
        s[8..10].parse().ok()?,
    )
}

fn read_roles(src: &Src<'_>, top: &Tbl<'_, '_>, errs: &mut Errs) -> Option<Vec<Role>> {
    const ROLES_NEEDED: &str = "a matrix declares [roles.provider] and [roles.customer] (and optionally [roles.third-party]), each with a name";
    let Some(v) = top.get("roles") else {
        errs.push(&src.unplaced(), "missing [roles] tables", ROLES_NEEDED);
        return None;
    };
    let DeValue::Table(t) = v.get_ref() else {
        errs.push(
            &src.at(&v.span()),
            format!("roles must be a table, not {}", v.get_ref().type_str()),
            ROLES_NEEDED,
        );
        return None;
    };
    let mut entries: Vec<_> = t.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    let mut roles: Vec<Role> = Vec::new();
    let mut ok = true;
    for (k, val) in entries {
        let Some(id) = RoleId::parse(k.get_ref()) else {
            errs.push(
                &src.at(&k.span()),
                format!("unknown role {:?}", k.get_ref().as_ref()),
                check::ROLES_HINT,
            );
            ok = false;
            continue;
        };
        let DeValue::Table(rt) = val.get_ref() else {
            errs.push(
                &src.at(&val.span()),
                format!(
                    "roles.{id} must be a table, not {}",
                    val.get_ref().type_str()
                ),
                format!("write it as [roles.{id}] with name = \"…\""),
            );
            ok = false;
            continue;
        };
        let what = format!("[roles.{id}]");
        let rt = Tbl::new(src, rt, src.at(&val.span()), &what, ROLE_KEYS, errs);
        match rt.text(src, "name", errs) {
            Some(name) => roles.push(Role { id, name: name.v }),
            None => ok = false,
        }
    }
    for needed in [RoleId::Provider, RoleId::Customer] {
        if ok && !roles.iter().any(|r| r.id == needed) {
            errs.push(
                &src.at(&v.span()),
                format!("missing role {:?}", needed.as_str()),
                ROLES_NEEDED,
            );
            ok = false;
        }
    }
    roles.sort_by_key(|r| r.id);
    ok.then_some(roles)
}

fn read_items(src: &Src<'_>, top: &Tbl<'_, '_>, errs: &mut Errs) -> Vec<RawItem> {
    let mut raws = Vec::new();
    for (t, at) in tables(src, top, "items", errs) {
        let t = Tbl::new(src, t, at, "[[items]]", ITEM_KEYS, errs);
        let mut raw = RawItem::new(t.end.clone());
        raw.id = t.req_string(src, "id", errs);
        raw.section = t.req_string(src, "section", errs);
        raw.service = t.string(src, "service", errs);
        raw.activity = t.req_string(src, "activity", errs);
        raw.raci = t.role_map(src, "raci", errs);
        raw.statements = t.role_map(src, "statements", errs);
        raw.ownership = t.string(src, "ownership", errs);
        raw.cadence = t.string(src, "cadence", errs);
        raw.grace_days = match t.get("grace_days") {
            None => None,
            Some(v) => {
                let at = src.at(&v.span());
                match v.get_ref() {
                    DeValue::Integer(i) => Some(At::new(
                        // Too large for i64: certainly out of range.
                        i64::from_str_radix(i.as_str(), i.radix()).unwrap_or(i64::MAX),
                        at,
                    )),
                    _ => {
                        type_error(src, v, "grace_days", "an integer", "grace_days = 14", errs);
                        None
                    }
                }
            }
        };
        raw.evidence_kinds = t.strings(src, "evidence_kinds", errs);
        raw.refs = t.strings(src, "refs", errs);
        raw.notes = t.strings(src, "notes", errs);
        raw.variant = t.string(src, "variant", errs);
        raw.unless_variant = t.string(src, "unless_variant", errs);
        raws.push(raw);
    }
    raws
}
