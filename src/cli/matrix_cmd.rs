//! `vouch matrix …`: check, show, compare and convert shared-responsibility matrices.
//!
//! Thin on purpose: reading, checking and converting are the library's
//! ([`vouch::matrix`]); this module renders the results, prints them and writes files
//! (never over an existing one: a matrix file may be the adopted, hashed original).

use serde_json::{Value, json};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::args::{ExportFormat, Format, MatrixCommand};
use super::output::{Outcome, Written, print_json, write_output};
use vouch::matrix::csv_map::{self, ColumnMap, Imported};
use vouch::matrix::{Change, ChangeKind, Item, Matrix, RoleId};
use vouch::{Error, Result};

/// Write text that already ends with its own line end.
fn print_raw(s: &str) {
    if io::stdout().lock().write_all(s.as_bytes()).is_err() {
        std::process::exit(0);
    }
}

/// Run a `vouch matrix` subcommand.
pub fn run(cmd: MatrixCommand, ledger: &Path, fmt: Format) -> Result<Outcome> {
    match cmd {
        MatrixCommand::Validate { files } => validate(&files, fmt),
        MatrixCommand::Show { file, adopted } => show(file.as_deref(), adopted, ledger, fmt),
        MatrixCommand::Diff { old, new } => {
            let (a, _) = Matrix::load(&old)?;
            let (b, _) = Matrix::load(&new)?;
            let changes = vouch::matrix::diff(&a, &b);
            if fmt == Format::Json {
                print_json(&diff_json(&changes));
            } else {
                if changes.is_empty() {
                    out!("no differences");
                }
                for line in render_diff(&changes) {
                    out!("{line}");
                }
            }
            Ok(Outcome::Ok)
        }
        MatrixCommand::Import {
            csv,
            maps,
            map_file,
            header,
            out,
            ..
        } => {
            let map = column_map(&maps, map_file.as_deref())?;
            let (m, toml, warnings) = import(&csv, header.as_deref(), &map)?;
            for w in &warnings {
                eprintln!("vouch: warning: {w}");
            }
            match out {
                None => print_raw(&toml),
                Some(path) => {
                    let how = write_new(&path, &toml)?;
                    wrote(&path, how, "toml", &m, fmt);
                }
            }
            Ok(Outcome::Ok)
        }
        MatrixCommand::Adopt { .. } => Err(Error::new("internal: adopt is dispatched by cli::run")),
        MatrixCommand::Export { file, to, out } => {
            let to = match (to, fmt) {
                (Some(t), _) => t,
                (None, Format::Csv) => ExportFormat::Csv,
                (None, Format::Toml) => ExportFormat::Toml,
                (None, Format::Json) => ExportFormat::Json,
                (None, _) => {
                    return Err(Error::new("say what to export to")
                        .hint("vouch matrix export FILE --format csv (or json, toml)"));
                }
            };
            let (m, _) = Matrix::load(&file)?;
            let text = export(&m, to)?;
            match out {
                None => print_raw(&text),
                Some(path) => {
                    let how = write_new(&path, &text)?;
                    wrote(&path, how, to.as_str(), &m, fmt);
                }
            }
            Ok(Outcome::Ok)
        }
    }
}

/// `vouch matrix show FILE` or `vouch matrix show --adopted`.
fn show(file: Option<&Path>, adopted: bool, ledger: &Path, fmt: Format) -> Result<Outcome> {
    let (m, adoption) = match file {
        Some(f) if !adopted => (Matrix::load(f)?.0, None),
        _ => {
            let l = vouch::ledger::Ledger::open(ledger, vouch::ledger::Access::ReadOnly)?;
            let Some((seq, a, m)) = vouch::attestation::adopted::current(&l)? else {
                return Err(Error::new(format!(
                    "{}: no matrix is adopted in this ledger",
                    ledger.display()
                ))
                .hint("adopt one first: vouch matrix adopt FILE --bind ROLE=PARTY… --key K, or show a file: vouch matrix show FILE"));
            };
            // Only the adopted services' items (and items of no service) are adopted.
            let mut m = m;
            if !a.services.is_empty() {
                m.items
                    .retain(|i| vouch::attestation::adopted::in_scope(i, &[], &a.services));
                let kept: Vec<String> = m.items.iter().map(|i| i.section.clone()).collect();
                m.sections.retain(|s| kept.contains(&s.id));
            }
            (m, Some((seq, a)))
        }
    };
    if fmt == Format::Json {
        let mut j = m.to_json();
        if let (Some((seq, a)), Some(obj)) = (&adoption, j.as_object_mut()) {
            obj.insert(
                "adopted".into(),
                json!({"entry": seq, "bindings": a.bindings, "variants": a.variants, "services": a.services, "sha256": a.matrix.sha256}),
            );
        }
        print_json(&j);
        return Ok(Outcome::Ok);
    }
    let mut lines = render_show(&m);
    if let Some((seq, a)) = &adoption {
        let binds: Vec<String> = a.bindings.iter().map(|(r, p)| format!("{r}={p}")).collect();
        let mut line = format!("adopted in entry {seq}: {}", binds.join(", "));
        if !a.variants.is_empty() {
            line.push_str(&format!("; variants {}", a.variants.join(", ")));
        }
        if !a.services.is_empty() {
            line.push_str(&format!(
                "; services {} (only their items)",
                a.services.join(", ")
            ));
        }
        lines.insert(1, line);
    }
    for line in lines {
        out!("{line}");
    }
    Ok(Outcome::Ok)
}

fn validate(files: &[PathBuf], fmt: Format) -> Result<Outcome> {
    let mut list = Vec::new();
    for f in files {
        let (m, _) = Matrix::load(f)?;
        if fmt == Format::Json {
            list.push(
                json!({"file": f, "ok": true, "id": m.header.id, "version": m.header.version,
                "sections": m.sections.len(), "items": m.items.len()}),
            );
        } else {
            out!("{}", validate_line(f, &m));
        }
    }
    if fmt == Format::Json {
        print_json(&Value::Array(list));
    }
    Ok(Outcome::Ok)
}

fn validate_line(file: &Path, m: &Matrix) -> String {
    format!(
        "ok: {}: {} sections, {} items ({} version {})",
        file.display(),
        m.sections.len(),
        m.items.len(),
        m.header.id,
        m.header.version
    )
}

fn wrote(path: &Path, how: Written, form: &str, m: &Matrix, fmt: Format) {
    if fmt == Format::Json {
        print_json(
            &json!({"out": path, "written": how.as_str(), "format": form, "sections": m.sections.len(), "items": m.items.len()}),
        );
    } else {
        out!(
            "{} {} ({form}): {} sections, {} items",
            how.as_str(),
            path.display(),
            m.sections.len(),
            m.items.len()
        );
    }
}

/// `[provider RA · customer I]`; a role with a statement but no letters shows `(R)`.
fn roles_cell(item: &Item) -> String {
    let parts: Vec<String> = RoleId::ALL
        .into_iter()
        .filter_map(|r| match item.raci.get(&r) {
            Some(l) if !l.is_empty() => Some(format!("{r} {l}")),
            _ => item.statements.contains_key(&r).then(|| format!("{r} (R)")),
        })
        .collect();
    format!("[{}]", parts.join(" · "))
}

/// The text of `vouch matrix show`.
fn render_show(m: &Matrix) -> Vec<String> {
    let h = &m.header;
    let mut lines = vec![
        format!("{} version {} (effective {})", h.id, h.version, h.effective),
        h.title.clone(),
        format!("source: {}", h.source),
        format!(
            "roles: {}",
            m.roles
                .iter()
                .map(|r| format!("{} = {}", r.id, r.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ];
    if !m.services.is_empty() {
        let s: Vec<&str> = m.services.iter().map(|s| s.id.as_str()).collect();
        lines.push(format!("services: {}", s.join(", ")));
    }
    if !m.variants.is_empty() {
        let v: Vec<String> = m
            .variants
            .iter()
            .map(|v| format!("{} ({})", v.id, v.title))
            .collect();
        lines.push(format!("variants: {}", v.join(", ")));
    }
    lines.push(format!(
        "{} items in {} sections",
        m.items.len(),
        m.sections.len()
    ));
    let cells: Vec<(String, String)> = m
        .items
        .iter()
        .map(|i| {
            (
                roles_cell(i),
                i.cadence
                    .map_or_else(|| "-".to_string(), |c| c.as_str().into_owned()),
            )
        })
        .collect();
    let width = |f: &dyn Fn(usize) -> usize| (0..m.items.len()).map(f).max().unwrap_or(0);
    let id_w = width(&|k| m.items[k].id.chars().count());
    let roles_w = width(&|k| cells[k].0.chars().count());
    let cadence_w = width(&|k| cells[k].1.chars().count());
    for s in &m.sections {
        lines.push(String::new());
        match &s.service {
            Some(svc) => lines.push(format!("{} ({}, service {svc})", s.title, s.id)),
            None => lines.push(format!("{} ({})", s.title, s.id)),
        }
        for (k, i) in m
            .items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.section == s.id)
        {
            let mut activity = i.activity.clone();
            if let Some(v) = &i.variant {
                activity.push_str(&format!(" (only with {v})"));
            }
            if let Some(v) = &i.unless_variant {
                activity.push_str(&format!(" (only without {v})"));
            }
            lines.push(format!(
                "  {:<id_w$}  {:<roles_w$}  {:<cadence_w$}  {activity}",
                i.id, cells[k].0, cells[k].1
            ));
            lines.extend(item_details(m, i));
        }
    }
    lines
}

/// The lines under an item in `vouch matrix show`: its evidence kinds, then each role's
/// duty statement (by the role's name in the matrix).
fn item_details(m: &Matrix, i: &Item) -> Vec<String> {
    let mut lines = Vec::new();
    if !i.evidence_kinds.is_empty() {
        lines.push(format!("      evidence: {}", i.evidence_kinds.join(", ")));
    }
    for (r, text) in &i.statements {
        let name = m.role_name(*r).unwrap_or(r.as_str());
        lines.push(format!("      {r} ({name}): {}", text.replace('\n', " ")));
    }
    lines
}

/// The text of `vouch matrix diff`: `+ item`, `- item`, `~ item: detail`.
fn render_diff(changes: &[Change]) -> Vec<String> {
    let mut lines = Vec::new();
    for c in changes {
        let name = if c.item.is_empty() { "matrix" } else { &c.item };
        match c.what {
            ChangeKind::Added => lines.push(format!("+ {name}")),
            ChangeKind::Removed => lines.push(format!("- {name}")),
            ChangeKind::Changed => {
                for d in &c.details {
                    lines.push(format!("~ {name}: {d}"));
                }
            }
        }
    }
    lines
}

fn diff_json(changes: &[Change]) -> Value {
    Value::Array(
        changes
            .iter()
            .map(|c| json!({"item": c.item, "change": c.what.as_str(), "details": c.details}))
            .collect(),
    )
}

fn read_text(path: &Path, what: &str) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    String::from_utf8(bytes).map_err(|e| {
        Error::new(format!(
            "{}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
        .hint(format!("save the {what} as UTF-8"))
    })
}

/// Report several errors at once: all but the last printed here (each with its hint,
/// a hint already printed left out), the last returned for `cli::main` to print.
fn all_errors(errors: Vec<Error>) -> Error {
    let mut hints: Vec<String> = Vec::new();
    let mut errors = errors.into_iter().peekable();
    while let Some(e) = errors.next() {
        let hint = e
            .hint_text()
            .filter(|h| !hints.iter().any(|seen| seen == h))
            .map(str::to_string);
        if errors.peek().is_none() {
            let last = Error::new(e.message());
            return match hint {
                Some(h) => last.hint(h),
                None => last,
            };
        }
        eprintln!("vouch: error: {}", e.message());
        if let Some(h) = hint {
            eprintln!("vouch: hint: {h}");
            hints.push(h);
        }
    }
    Error::new("internal error: no error to report")
}

/// The column map of `--map` arguments over a `--map-file`.
fn column_map(maps: &[String], map_file: Option<&Path>) -> Result<ColumnMap> {
    let mut map = ColumnMap::new();
    if let Some(path) = map_file {
        let text = read_text(path, "map file")?;
        map.add_toml(&text, &path.display().to_string())
            .map_err(all_errors)?;
    }
    for m in maps {
        map.add_arg(m)?;
    }
    Ok(map)
}

/// Read a CSV (and header) through a column map, returning the matrix, the TOML to write
/// and the warnings; every error of the CSV is reported.
fn import(
    csv: &Path,
    header: Option<&Path>,
    map: &ColumnMap,
) -> Result<(Matrix, String, Vec<String>)> {
    let text = read_text(csv, "CSV")?;
    let header_text = header.map(|h| read_text(h, "header file")).transpose()?;
    let header_origin = header.map(|h| h.display().to_string());
    let Imported {
        matrix: m,
        warnings,
    } = csv_map::import(
        &text,
        &csv.display().to_string(),
        header_text.as_deref().zip(header_origin.as_deref()),
        map,
    )
    .map_err(all_errors)?;
    let mut toml = String::new();
    if header.is_none() {
        toml.push_str(&format!(
            "# Written by `vouch matrix import` from {} without --header: fill in [matrix]\n\
             # and the role names (everything marked TODO) before adopting this matrix.\n\n",
            csv.display()
        ));
    }
    toml.push_str(&m.to_toml());
    // What is written must read back as the same matrix; anything else is a bug here.
    match Matrix::parse(&toml, "the generated matrix") {
        Ok(back) if back == m => Ok((m, toml, warnings)),
        Ok(_) => Err(
            Error::new("internal error: the generated matrix reads back differently")
                .hint("this is a bug in vouch; please report it with the CSV"),
        ),
        Err(e) => Err(Error::new(format!(
            "internal error: the generated matrix does not read back: {}",
            e.message()
        ))
        .hint("this is a bug in vouch; please report it with the CSV")),
    }
}

fn export(m: &Matrix, to: ExportFormat) -> Result<String> {
    match to {
        ExportFormat::Csv => m.to_csv(),
        ExportFormat::Json => {
            let s = serde_json::to_string_pretty(&m.to_json())
                .map_err(|e| Error::new(format!("cannot write JSON: {e}")))?;
            Ok(s + "\n")
        }
        ExportFormat::Toml => Ok(m.to_toml()),
    }
}

/// Write a new file; an existing one is never replaced.
fn write_new(path: &Path, text: &str) -> Result<Written> {
    write_output(path, text.as_bytes(), false, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory as _, Parser, Subcommand};

    /// The global `--format` of cli/args.rs, with `matrix` as a subcommand: how the
    /// subcommand sits once wired.
    #[derive(Parser, Debug)]
    #[command(name = "vouch")]
    struct TestCli {
        #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(subcommand)]
        command: TestCommand,
    }

    #[derive(Subcommand, Debug)]
    enum TestCommand {
        #[command(subcommand)]
        Matrix(MatrixCommand),
    }

    fn parse(args: &[&str]) -> std::result::Result<TestCli, clap::Error> {
        TestCli::try_parse_from(std::iter::once("vouch").chain(args.iter().copied()))
    }

    fn seed_path(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("schema/matrices")
            .join(name)
    }

    fn scratch() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "vouch-matrix-cmd-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn clap_definition_is_sound_next_to_the_global_format() {
        TestCli::command().debug_assert();
        let c = parse(&["matrix", "export", "m.toml", "--to", "csv"]).unwrap();
        let TestCommand::Matrix(MatrixCommand::Export { to, out, .. }) = c.command else {
            panic!()
        };
        assert_eq!(to, Some(ExportFormat::Csv));
        let c = parse(&["matrix", "export", "m.toml", "--format", "csv"]).unwrap();
        assert_eq!(c.format, Format::Csv);
        assert_eq!(out, None);
        let c = parse(&["--format", "json", "matrix", "show", "m.toml"]).unwrap();
        assert_eq!(c.format, Format::Json);
        let c = parse(&["matrix", "diff", "a.toml", "b.toml", "--format", "json"]).unwrap();
        assert_eq!(c.format, Format::Json);
        let c = parse(&[
            "matrix", "import", "x.csv", "--header", "h.toml", "--out", "m.toml",
        ])
        .unwrap();
        assert!(matches!(
            c.command,
            TestCommand::Matrix(MatrixCommand::Import {
                header: Some(_),
                out: Some(_),
                ..
            })
        ));
        let c = parse(&[
            "matrix",
            "import",
            "x.csv",
            "--map",
            "Control ID=id",
            "--map",
            "Shared?=shared",
            "--map-file",
            "m.toml",
        ])
        .unwrap();
        let TestCommand::Matrix(MatrixCommand::Import { maps, map_file, .. }) = c.command else {
            panic!()
        };
        assert_eq!(maps, ["Control ID=id", "Shared?=shared"]);
        assert_eq!(map_file, Some(PathBuf::from("m.toml")));
        assert!(parse(&["matrix", "export", "m.toml", "--format", "xml"]).is_err());
        assert!(parse(&["matrix", "validate"]).is_err());
    }

    #[test]
    fn validate_line_and_show() {
        let (m, _) = Matrix::load(&seed_path("nexgen.toml")).unwrap();
        assert_eq!(
            validate_line(Path::new("nexgen.toml"), &m),
            "ok: nexgen.toml: 3 sections, 28 items (nexgen version 1)"
        );
        let lines = render_show(&m);
        assert_eq!(lines[0], "nexgen version 1 (effective 2026-01-01)");
        assert_eq!(
            lines[3],
            "roles: provider = NexGen Cloud, customer = Customer"
        );
        assert!(lines.contains(&"28 items in 3 sections".to_string()));
        assert!(lines.contains(
            &"Division of responsibility for cloud environments (cloud-environments)".to_string()
        ));
        let row = lines
            .iter()
            .find(|l| l.trim_start().starts_with("components.identity-directory "))
            .unwrap();
        assert!(row.contains("[provider R · customer RA]"), "{row}");
        assert!(row.contains("  quarterly  "), "{row}");
        assert!(
            row.ends_with("Identity and directory infrastructure"),
            "{row}"
        );
        let row = lines
            .iter()
            .find(|l| l.trim_start().starts_with("virtual-machines.customer-os "))
            .unwrap();
        assert!(row.ends_with("(only without extended-support)"), "{row}");
    }

    #[test]
    fn statement_only_roles_show_as_r() {
        let text = std::fs::read_to_string(seed_path("nexgen.toml")).unwrap();
        let text = text.replacen("raci = { provider = \"RA\" }\n", "", 1);
        let m = Matrix::parse(&text, "n.toml").unwrap();
        assert!(m.items[0].raci.is_empty());
        assert_eq!(roles_cell(&m.items[0]), "[provider (R)]");
    }

    #[test]
    fn diff_rendering() {
        let (a, _) = Matrix::load(&seed_path("cloudtemple-vm-instances.toml")).unwrap();
        let mut b = a.clone();
        b.header.version = "2".into();
        b.items.remove(0);
        b.items[0].cadence = Some(vouch::matrix::Cadence::Monthly);
        let mut added = b.items[0].clone();
        added.id = "physical.new".into();
        b.items.push(added);
        let changes = vouch::matrix::diff(&a, &b);
        assert_eq!(
            render_diff(&changes),
            [
                "~ matrix: version: 1 -> 2",
                "- physical.datacenters",
                "~ physical.compute: cadence: yearly -> monthly",
                "+ physical.new"
            ]
        );
        let j = diff_json(&changes);
        assert_eq!(j[0]["item"], "");
        assert_eq!(
            j[1],
            json!({"item": "physical.datacenters", "change": "removed", "details": []})
        );
        assert!(render_diff(&vouch::matrix::diff(&a, &a)).is_empty());
    }

    #[test]
    fn export_then_import_round_trips_and_never_overwrites() {
        let dir = scratch();
        for name in [
            "cloudtemple-vm-instances.toml",
            "danubedata.toml",
            "nexgen.toml",
            "service-models.toml",
        ] {
            let seed = seed_path(name);
            let (m, _) = Matrix::load(&seed).unwrap();
            let csv = dir.join(format!("{name}.csv"));
            write_new(&csv, &export(&m, ExportFormat::Csv).unwrap()).unwrap();
            let (back, toml, warnings) = import(&csv, Some(&seed), &ColumnMap::new()).unwrap();
            assert!(warnings.is_empty(), "{name}: {warnings:?}");
            assert_eq!(back, m, "{name}");
            assert!(vouch::matrix::diff(&m, &back).is_empty());
            let out = dir.join(format!("{name}.out.toml"));
            write_new(&out, &toml).unwrap();
            assert_eq!(Matrix::load(&out).unwrap().0, m);
            // Without a header: same items, a skeleton to fill in.
            let (bare, toml, _) = import(&csv, None, &ColumnMap::new()).unwrap();
            assert_eq!(bare.items, m.items);
            assert!(toml.starts_with("# Written by `vouch matrix import`"));
            // JSON and TOML exports.
            let j: Value = serde_json::from_str(&export(&m, ExportFormat::Json).unwrap()).unwrap();
            assert_eq!(j, m.to_json());
            assert_eq!(
                Matrix::parse(&export(&m, ExportFormat::Toml).unwrap(), "t.toml").unwrap(),
                m
            );
        }
        let existing = dir.join("nexgen.toml.csv");
        let before = std::fs::read(&existing).unwrap();
        let e = write_new(&existing, "x").unwrap_err();
        assert!(
            e.message()
                .ends_with("nexgen.toml.csv: already exists with other contents"),
            "{}",
            e.message()
        );
        assert!(e.hint_text().unwrap().contains("--out"));
        assert_eq!(std::fs::read(&existing).unwrap(), before);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn import_errors_name_the_files() {
        let dir = scratch();
        let csv = dir.join("items.csv");
        std::fs::write(&csv, "id,section,raci_customer\nb.x,backup,RA\n").unwrap();
        let e = import(&csv, None, &ColumnMap::new()).unwrap_err();
        assert!(
            e.message()
                .ends_with("items.csv:1: missing required column \"activity\""),
            "{}",
            e.message()
        );
        std::fs::write(&csv, b"id,section,activity\n\xff,b,c\n").unwrap();
        let e = import(&csv, None, &ColumnMap::new()).unwrap_err();
        assert!(e.message().contains("not UTF-8"), "{}", e.message());
        let header = dir.join("h.toml");
        std::fs::write(&header, "[matrix]\nid = 3\n").unwrap();
        std::fs::write(&csv, "id,section,activity,raci_customer\nb.x,b,c,R\n").unwrap();
        let e = import(&csv, Some(&header), &ColumnMap::new()).unwrap_err();
        assert!(
            e.message()
                .ends_with("h.toml:2:6: id must be a string, not integer"),
            "{}",
            e.message()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
