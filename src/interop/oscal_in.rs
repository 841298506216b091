//! OSCAL system security plans in: a leveraged authorization as a vouch matrix
//! (`schema/MATRIX.md`, "Importing OSCAL security plans").
//!
//! Every statement of every implemented requirement becomes an item (a requirement
//! without statements becomes one item), in a section per control family. The provider's
//! duties come from `export.provided` (and, in the provider's own plan, from what its
//! components describe), the customer's from `export.responsibilities`; in a customer's
//! plan, `inherited` is the provider's duty and `satisfied` (and its own components) the
//! customer's. FedRAMP and OSCAL `control-origination` props add the roles they name.
//! The items go through the CSV import ([`crate::matrix::csv_map`]), so the result is
//! checked exactly like any imported matrix. What cannot be mapped is returned as
//! warnings; what has no matrix field (parameters, implementation status, OSCAL roles,
//! links, component names, UUIDs) is kept in the item's `notes` and `refs`.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::matrix::csv_map::{self, ColumnMap};
use crate::matrix::{Matrix, Role, RoleId};

/// Whose plan the SSP is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The leveraged system's (it exports what it provides): its own components' work is
    /// the provider's.
    Provider,
    /// A leveraging system's (it inherits and satisfies): its own components' work is the
    /// customer's.
    Customer,
}

/// The result of [`import`].
#[derive(Debug)]
pub struct Imported {
    /// The matrix.
    pub matrix: Matrix,
    /// What could not be mapped, in words.
    pub warnings: Vec<String>,
    /// Whose plan it was read as.
    pub plan: Plan,
}

/// The duties gathered for one item.
#[derive(Default)]
struct Draft {
    id: String,
    control: String,
    statement: String,
    provider: Vec<String>,
    customer: Vec<String>,
    refs: Vec<String>,
    notes: Vec<String>,
    oscal_roles: BTreeSet<String>,
}

/// The NIST SP 800-53 rev 5 control families, for section titles.
const FAMILIES: [(&str, &str); 20] = [
    ("ac", "Access Control"),
    ("at", "Awareness and Training"),
    ("au", "Audit and Accountability"),
    ("ca", "Assessment, Authorization, and Monitoring"),
    ("cm", "Configuration Management"),
    ("cp", "Contingency Planning"),
    ("ia", "Identification and Authentication"),
    ("ir", "Incident Response"),
    ("ma", "Maintenance"),
    ("mp", "Media Protection"),
    ("pe", "Physical and Environmental Protection"),
    ("pl", "Planning"),
    ("pm", "Program Management"),
    ("ps", "Personnel Security"),
    ("pt", "PII Processing and Transparency"),
    ("ra", "Risk Assessment"),
    ("sa", "System and Services Acquisition"),
    ("sc", "System and Communications Protection"),
    ("si", "System and Information Integrity"),
    ("sr", "Supply Chain Risk Management"),
];

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn text(v: &Value, k: &str) -> String {
    one_line(v[k].as_str().unwrap_or_default())
}

fn list<'a>(v: &'a Value, k: &str) -> impl Iterator<Item = &'a Value> {
    v[k].as_array().into_iter().flatten()
}

/// Read the SSP `json` (named `origin` in messages) as a matrix, with the header, roles,
/// services and variants of `header` (`(text, origin)` of a matrix file) or, without it,
/// a header made from the plan's metadata.
///
/// # Errors
///
/// Not JSON, not an SSP, or items the matrix format refuses (each error named).
pub fn import(json: &str, origin: &str, header: Option<(&str, &str)>) -> Result<Imported> {
    let doc: Value =
        serde_json::from_str(json).map_err(|e| Error::new(format!("{origin}: not JSON: {e}")))?;
    let ssp = &doc["system-security-plan"];
    let Some(reqs) = ssp["control-implementation"]["implemented-requirements"].as_array() else {
        return Err(Error::new(format!(
            "{origin}: not an OSCAL system security plan (no system-security-plan.control-implementation.implemented-requirements)"
        ))
        .hint("give the SSP in OSCAL JSON (trestle or oscal-cli convert XML and YAML to JSON)"));
    };
    let mut warnings = Vec::new();
    let plan = plan_of(reqs);
    let components = component_titles(ssp);
    let provided = provided_uuids(reqs);
    let mut drafts = Vec::new();
    let mut unknown_origins = BTreeSet::new();
    let mut oscal_roles = BTreeSet::new();
    for req in reqs {
        let control = req["control-id"].as_str().unwrap_or_default().to_string();
        let origins = origination(req, &mut unknown_origins);
        let mut notes = requirement_notes(req, &mut oscal_roles);
        let statements: Vec<&Value> = list(req, "statements").collect();
        let mut parts = statements.clone();
        if parts.is_empty() {
            parts.push(req);
        }
        for st in parts {
            let sid = st["statement-id"].as_str().unwrap_or_default();
            let mut d = Draft {
                id: item_id(&control, sid, &mut warnings),
                control: control.clone(),
                statement: sid.to_string(),
                notes: std::mem::take(&mut notes),
                ..Draft::default()
            };
            d.refs.push(format!("OSCAL control {control}"));
            if !sid.is_empty() {
                d.refs.push(format!("OSCAL statement {sid}"));
            }
            for bc in list(st, "by-components") {
                by_component(bc, plan, &components, &provided, &mut d, &mut warnings);
                for r in list(bc, "responsible-roles") {
                    oscal_roles.insert(text(r, "role-id"));
                }
            }
            apply_origination(&origins, &mut d);
            oscal_roles.extend(std::mem::take(&mut d.oscal_roles));
            drafts.push(d);
        }
    }
    finish_warnings(&mut warnings, &drafts, &unknown_origins, &oscal_roles, ssp);
    let csv = to_csv(&drafts, plan)?;
    let csv_map::Imported {
        mut matrix,
        warnings: w,
    } = csv_map::import(&csv, origin, header, &ColumnMap::new()).map_err(|errs| {
        let msgs: Vec<String> = errs.iter().map(|e| e.message().to_string()).collect();
        Error::new(format!(
            "{origin}: the plan does not make a valid matrix:\n  {}",
            msgs.join("\n  ")
        ))
    })?;
    warnings.extend(w);
    if header.is_none() {
        header_from_plan(&mut matrix, ssp, origin, plan);
    }
    Ok(Imported {
        matrix,
        warnings,
        plan,
    })
}

/// A plan that exports is the provider's; one that only inherits or satisfies is a
/// customer's; a plain plan is read as the provider's.
fn plan_of(reqs: &[Value]) -> Plan {
    let s = serde_json::to_string(reqs).unwrap_or_default();
    if s.contains("\"export\"") || !(s.contains("\"inherited\"") || s.contains("\"satisfied\"")) {
        Plan::Provider
    } else {
        Plan::Customer
    }
}

fn component_titles(ssp: &Value) -> BTreeMap<String, (String, String)> {
    list(&ssp["system-implementation"], "components")
        .map(|c| (text(c, "uuid"), (text(c, "title"), text(c, "type"))))
        .collect()
}

/// Every `provided` UUID of the plan, for checking the responsibilities' links.
fn provided_uuids(reqs: &[Value]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for req in reqs {
        for st in list(req, "statements").chain(std::iter::once(req)) {
            for bc in list(st, "by-components") {
                out.extend(list(&bc["export"], "provided").map(|p| text(p, "uuid")));
            }
        }
    }
    out
}

/// `control-origination` props (any namespace) as roles; unknown values are collected.
fn origination(req: &Value, unknown: &mut BTreeSet<String>) -> BTreeSet<RoleId> {
    let mut roles = BTreeSet::new();
    for p in list(req, "props").filter(|p| p["name"] == "control-origination") {
        let v = text(p, "value");
        match v.as_str() {
            "sp-corporate" | "sp-system" | "provider" | "inherited" | "organization"
            | "system-specific" => {
                roles.insert(RoleId::Provider);
            }
            "customer-configured" | "customer-provided" | "customer" => {
                roles.insert(RoleId::Customer);
            }
            "shared" | "hybrid" => {
                roles.insert(RoleId::Provider);
                roles.insert(RoleId::Customer);
            }
            _ => {
                unknown.insert(format!("{} ({v})", text(req, "control-id")));
            }
        }
    }
    roles
}

/// What the requirement says that the matrix has no field for: kept as notes.
fn requirement_notes(req: &Value, roles: &mut BTreeSet<String>) -> Vec<String> {
    let mut notes = Vec::new();
    for p in list(req, "props").filter(|p| p["name"] != "control-origination") {
        notes.push(format!("OSCAL {}: {}", text(p, "name"), text(p, "value")));
    }
    for sp in list(req, "set-parameters") {
        let values: Vec<String> = list(sp, "values")
            .filter_map(|v| v.as_str().map(one_line))
            .collect();
        notes.push(format!(
            "OSCAL parameter {} = {}",
            text(sp, "param-id"),
            values.join("; ")
        ));
    }
    for l in list(req, "links") {
        notes.push(format!("OSCAL link {} {}", text(l, "rel"), text(l, "href")));
    }
    for r in list(req, "responsible-roles") {
        roles.insert(text(r, "role-id"));
        notes.push(format!("OSCAL responsible role {}", text(r, "role-id")));
    }
    notes
}

/// One component's part of a statement: its exports, inheritances and satisfactions, or
/// its own description as the plan owner's duty.
fn by_component(
    bc: &Value,
    plan: Plan,
    components: &BTreeMap<String, (String, String)>,
    provided: &BTreeSet<String>,
    d: &mut Draft,
    warnings: &mut Vec<String>,
) {
    let export = &bc["export"];
    for k in ["provided", "responsibilities"] {
        for x in list(export, k) {
            roles_of(x, &format!("{k} {}", text(x, "uuid")), d);
        }
    }
    for k in ["inherited", "satisfied"] {
        for x in list(bc, k) {
            roles_of(x, &format!("{k} {}", text(x, "uuid")), d);
        }
    }
    let cuuid = text(bc, "component-uuid");
    let name = components
        .get(&cuuid)
        .map_or_else(|| format!("component {cuuid}"), |(t, _)| t.clone());
    let tag = |s: String| format!("[{name}] {s}");
    for p in list(export, "provided") {
        d.provider.push(tag(text(p, "description")));
        d.refs.push(format!("OSCAL provided {}", text(p, "uuid")));
    }
    for r in list(export, "responsibilities") {
        let link = text(r, "provided-uuid");
        d.customer.push(tag(text(r, "description")));
        d.refs.push(format!(
            "OSCAL responsibility {} (provided {link})",
            text(r, "uuid")
        ));
        if !link.is_empty() && !provided.contains(&link) {
            warnings.push(format!(
                "{}: responsibility {} names provided {link}, which the plan does not have (kept as a reference)",
                d.id,
                text(r, "uuid")
            ));
        }
    }
    for i in list(bc, "inherited") {
        d.provider
            .push(tag(format!("inherited: {}", text(i, "description"))));
        d.refs.push(format!(
            "OSCAL inherited {} (provided {})",
            text(i, "uuid"),
            text(i, "provided-uuid")
        ));
    }
    for s in list(bc, "satisfied") {
        d.customer
            .push(tag(format!("satisfied: {}", text(s, "description"))));
        d.refs.push(format!(
            "OSCAL satisfied {} (responsibility {})",
            text(s, "uuid"),
            text(s, "responsibility-uuid")
        ));
    }
    let plain = ["provided", "responsibilities"]
        .iter()
        .all(|k| export[*k].is_null())
        && bc["inherited"].is_null()
        && bc["satisfied"].is_null();
    let own = text(bc, "description");
    if plain && !own.is_empty() {
        match plan {
            Plan::Provider => d.provider.push(tag(own)),
            Plan::Customer => d.customer.push(tag(own)),
        }
    }
    for sp in list(bc, "set-parameters") {
        let values: Vec<String> = list(sp, "values")
            .filter_map(|v| v.as_str().map(one_line))
            .collect();
        d.notes.push(format!(
            "OSCAL parameter {} = {} ({name})",
            text(sp, "param-id"),
            values.join("; ")
        ));
    }
}

/// The OSCAL responsible roles of an export, inheritance or satisfaction, as notes.
fn roles_of(x: &Value, what: &str, d: &mut Draft) {
    for r in list(x, "responsible-roles") {
        let role = text(r, "role-id");
        d.notes
            .push(format!("OSCAL responsible role {role} ({what})"));
        d.oscal_roles.insert(role);
    }
}

/// A role the requirement's `control-origination` names but no statement gave a duty
/// gets one that says so.
fn apply_origination(roles: &BTreeSet<RoleId>, d: &mut Draft) {
    for role in roles {
        let (duties, who) = match role {
            RoleId::Provider => (&mut d.provider, "the provider"),
            RoleId::Customer => (&mut d.customer, "the customer"),
            RoleId::ThirdParty => continue,
        };
        if duties.is_empty() {
            duties.push(format!(
                "{} implements {} (control-origination)",
                who,
                d.control.to_uppercase()
            ));
        }
    }
}

/// The item id of a statement: the control id, then the statement's part (`ac-2_smt.a`
/// → `ac-2.a`).
fn item_id(control: &str, statement: &str, warnings: &mut Vec<String>) -> String {
    let part = match statement.strip_prefix(control) {
        Some(rest) => rest,
        None if statement.is_empty() => "",
        None => {
            warnings.push(format!(
                "{control}: statement-id {statement:?} does not start with its control id: read as {control}'s statement"
            ));
            statement
        }
    };
    let part = part
        .trim_start_matches("_smt")
        .trim_start_matches("_stmt")
        .trim_start_matches('_');
    let id = format!("{control}{}", part.replace('_', "."));
    id.to_lowercase()
}

fn finish_warnings(
    warnings: &mut Vec<String>,
    drafts: &[Draft],
    unknown: &BTreeSet<String>,
    roles: &BTreeSet<String>,
    ssp: &Value,
) {
    let mut seen = BTreeMap::new();
    for d in drafts {
        *seen.entry(d.id.as_str()).or_insert(0) += 1;
    }
    let dupes: Vec<&str> = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| *k)
        .collect();
    if !dupes.is_empty() {
        warnings.push(format!(
            "statements that give the same item id: {}",
            dupes.join(", ")
        ));
    }
    let none: Vec<&str> = drafts
        .iter()
        .filter(|d| d.provider.is_empty() && d.customer.is_empty())
        .map(|d| d.id.as_str())
        .collect();
    if !none.is_empty() {
        warnings.push(format!(
            "{} statement(s) name no duty (no description, export, inheritance or origination): items without a duty holder: {}",
            none.len(),
            none.join(", ")
        ));
    }
    if !unknown.is_empty() {
        let u: Vec<&str> = unknown.iter().map(String::as_str).collect();
        warnings.push(format!(
            "control-origination values not mapped to a role: {}",
            u.join(", ")
        ));
    }
    if !roles.is_empty() {
        let r: Vec<&str> = roles.iter().map(String::as_str).collect();
        warnings.push(format!(
            "OSCAL responsible roles are not vouch roles (vouch binds provider, customer and third-party to parties at adoption): {} (kept in the items' notes)",
            r.join(", ")
        ));
    }
    let skipped: Vec<&str> = [
        "system-characteristics",
        "system-implementation",
        "back-matter",
    ]
    .into_iter()
    .filter(|k| !ssp[*k].is_null())
    .collect();
    warnings.push(format!(
        "not mapped: {} (the matrix holds duties, not the system's description); no cadence or evidence kinds: OSCAL plans have none, add them before recording evidence",
        skipped.join(", ")
    ));
}

fn to_csv(drafts: &[Draft], plan: Plan) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::new(format!("internal: CSV: {e}"));
    w.write_record([
        "id",
        "section",
        "section_title",
        "activity",
        "raci_provider",
        "raci_customer",
        "statement_provider",
        "statement_customer",
        "refs",
        "notes",
    ])
    .map_err(err)?;
    for d in drafts {
        let family: String = d
            .control
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .collect::<String>()
            .to_lowercase();
        let title = FAMILIES
            .iter()
            .find(|(f, _)| *f == family)
            .map_or_else(|| family.to_uppercase(), |(_, t)| (*t).to_string());
        let (p, c) = letters(plan, !d.provider.is_empty(), !d.customer.is_empty());
        let part = d.id.strip_prefix(&d.control).unwrap_or_default();
        let activity = if part.is_empty() {
            format!("{} (OSCAL control {})", d.control.to_uppercase(), d.control)
        } else {
            format!(
                "{} part {} (OSCAL statement {})",
                d.control.to_uppercase(),
                part.trim_start_matches('.'),
                d.statement
            )
        };
        let clean = |v: &[String]| {
            v.iter()
                .map(|s| s.replace(" | ", " / "))
                .collect::<Vec<_>>()
        };
        w.write_record([
            d.id.as_str(),
            if family.is_empty() {
                "controls"
            } else {
                &family
            },
            &title,
            &activity,
            p,
            c,
            &clean(&d.provider).join(" "),
            &clean(&d.customer).join(" "),
            &clean(&d.refs).join(" | "),
            &clean(&d.notes).join(" | "),
        ])
        .map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::new(format!("internal: CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::new(format!("internal: CSV: {e}")))
}

/// RACI letters of the provider and the customer: `R` for each role with a duty, and `A`
/// (one per item) for the plan's owner when it holds a duty, else for the role that does.
fn letters(plan: Plan, provider: bool, customer: bool) -> (&'static str, &'static str) {
    match (provider, customer, plan) {
        (true, true, Plan::Provider) => ("RA", "R"),
        (true, true, Plan::Customer) => ("R", "RA"),
        (true, false, _) => ("RA", ""),
        (false, true, _) => ("", "RA"),
        (false, false, _) => ("", ""),
    }
}

/// The header and role names from the plan's metadata (no `--header`).
fn header_from_plan(m: &mut Matrix, ssp: &Value, origin: &str, plan: Plan) {
    let md = &ssp["metadata"];
    let title = text(md, "title");
    if !title.is_empty() {
        m.header.title = title.clone();
    }
    let version = text(md, "version");
    if !version.is_empty() {
        m.header.version = version;
    }
    m.header.source = format!(
        "OSCAL system security plan \"{title}\" (uuid {}, OSCAL {}), {origin}",
        text(ssp, "uuid"),
        text(md, "oscal-version")
    );
    let date = text(md, "published");
    let date = if date.is_empty() {
        text(md, "last-modified")
    } else {
        date
    };
    if let Some(d) = date
        .get(..10)
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    {
        m.header.effective = d;
    }
    let system = text(&ssp["system-characteristics"], "system-name");
    let (provider, customer) = match plan {
        Plan::Provider => (
            if system.is_empty() {
                "The leveraged system".to_string()
            } else {
                system
            },
            "The leveraging system (customer)".to_string(),
        ),
        Plan::Customer => (
            "The leveraged system (provider)".to_string(),
            if system.is_empty() {
                "The leveraging system".to_string()
            } else {
                system
            },
        ),
    };
    m.roles = [(RoleId::Provider, provider), (RoleId::Customer, customer)]
        .into_iter()
        .filter(|(id, _)| m.items.iter().any(|i| i.raci.contains_key(id)))
        .map(|(id, name)| Role { id, name })
        .collect();
}
