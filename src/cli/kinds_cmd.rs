//! `vouch kinds [KIND]`: the evidence kinds `record --kind` accepts
//! (`schema/evidence-kinds.toml`), and one kind's fields.

use serde_json::{Value, json};
use std::io::{self, Write as _};

use super::args::Format;
use super::output::{Outcome, print_json};
use vouch::Result;
use vouch::matrix::kinds::{FieldDef, KindDef, Registry};

/// List every kind, or (with `kind`) that kind's fields; an unknown kind is an error with
/// the closest names.
pub(super) fn kinds(kind: Option<&str>, fmt: Format) -> Result<Outcome> {
    let reg = Registry::builtin()?;
    let Some(name) = kind else {
        if fmt == Format::Json {
            let list: Vec<Value> = reg.kinds().iter().map(kind_json).collect();
            print_json(&Value::Array(list));
        } else {
            let w = reg
                .kinds()
                .iter()
                .map(|k| k.name.chars().count())
                .max()
                .unwrap_or(0);
            for k in reg.kinds() {
                out!("{:<w$}  {}", k.name, k.description);
            }
            out!("");
            out!("fields of a kind: vouch kinds KIND");
        }
        return Ok(Outcome::Ok);
    };
    let k = reg.kind(name)?;
    if fmt == Format::Json {
        print_json(&kind_json(k));
        return Ok(Outcome::Ok);
    }
    for line in render_kind(k) {
        out!("{line}");
    }
    Ok(Outcome::Ok)
}

fn field_json(f: &FieldDef) -> Value {
    json!({"name": f.name, "type": f.ty.as_str(), "required": f.required,
        "integer": f.integer, "minimum": f.minimum, "description": f.description})
}

fn kind_json(k: &KindDef) -> Value {
    let fields: Vec<Value> = k.fields.iter().map(field_json).collect();
    json!({"name": k.name, "description": k.description, "fields": fields})
}

/// The type column: `number`, `number (integer, minimum 0)`.
fn type_cell(f: &FieldDef) -> String {
    let mut extra = Vec::new();
    if f.integer {
        extra.push("integer".to_string());
    }
    if let Some(m) = f.minimum {
        extra.push(format!("minimum {m}"));
    }
    if extra.is_empty() {
        f.ty.as_str().to_string()
    } else {
        format!("{} ({})", f.ty, extra.join(", "))
    }
}

/// The text of `vouch kinds KIND`: the description, then one line per field.
fn render_kind(k: &KindDef) -> Vec<String> {
    let mut lines = vec![format!("{}: {}", k.name, k.description)];
    if k.fields.is_empty() {
        lines.push("no fields".into());
        return lines;
    }
    lines.push(String::new());
    let types: Vec<String> = k.fields.iter().map(type_cell).collect();
    let name_w = k
        .fields
        .iter()
        .map(|f| f.name.chars().count())
        .max()
        .unwrap_or(0);
    let type_w = types.iter().map(|t| t.chars().count()).max().unwrap_or(0);
    for (f, t) in k.fields.iter().zip(&types) {
        let req = if f.required { "required" } else { "optional" };
        lines.push(format!(
            "  {:<name_w$}  {t:<type_w$}  {req}  {}",
            f.name, f.description
        ));
    }
    lines.push(String::new());
    lines.push(format!(
        "record one with: vouch record --kind {} --field NAME=VALUE …",
        k.name
    ));
    lines
}
