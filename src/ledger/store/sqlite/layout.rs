//! The SQLite engine's layout check (`schema/FORMAT.md` §6, §7): the file's `sqlite_master`
//! against what the migrations create for its schema version.

use super::*;

// ---- Layout (schema/FORMAT.md §6, §7) ------------------------------------------------------
//
// Queries read whatever tables and indexes the file's `sqlite_master` describes, and SQLite
// trusts both the descriptions and the index contents. `verify` therefore compares the
// descriptions with the ones the migrations make (here) and reads the indexes that readers'
// queries use back against the rows (`lookup_*`).

/// One row of `sqlite_master`, without its root page (which differs from file to file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SchemaObject {
    /// `table`, `index`, `view` or `trigger`.
    kind: String,
    name: String,
    /// The table it belongs to.
    table: String,
    /// The statement that made it (`None` for the indexes SQLite makes for a key).
    sql: Option<String>,
}

pub(super) fn schema_objects(conn: &Connection, path: &Path) -> Result<Vec<SchemaObject>> {
    collect_rows(
        conn,
        path,
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid",
        [],
        |r| {
            Ok(SchemaObject {
                kind: r.get(0)?,
                name: r.get(1)?,
                table: r.get(2)?,
                sql: r.get(3)?,
            })
        },
    )
}

/// What the migrations up to `version` make, each object with the version that adds it:
/// they are run on an empty database in memory, so that the definitions are SQLite's own
/// text of this build's migrations.
pub(super) fn expected_schema(version: i64, path: &Path) -> Result<Vec<(SchemaObject, i64)>> {
    let conn = Connection::open_in_memory().map_err(|e| db_err(path, &e))?;
    let mut out: Vec<(SchemaObject, i64)> = Vec::new();
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let v = i as i64 + 1;
        if v > version {
            break;
        }
        conn.execute_batch(sql).map_err(|e| db_err(path, &e))?;
        for o in schema_objects(&conn, path)? {
            if !out.iter().any(|(x, _)| x.name == o.name) {
                out.push((o, v));
            }
        }
    }
    Ok(out)
}

/// A definition on one line, at most 200 characters.
pub(super) fn one_line(sql: Option<&str>) -> String {
    let Some(sql) = sql else {
        return "no statement (made by SQLite)".into();
    };
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(200) {
        Some((at, _)) => format!("{:?}…", &flat[..at]),
        None => format!("{flat:?}"),
    }
}

/// Compare the file's objects with the expected ones (`Engine::layout`).
pub(super) fn compare_layout(expected: &[(SchemaObject, i64)], actual: &[SchemaObject]) -> Layout {
    let mut layout = Layout::default();
    let has_table = |t: &str| actual.iter().any(|o| o.kind == "table" && o.name == t);
    let intact = |name: &str| {
        let want = expected.iter().find(|(w, _)| w.name == name);
        want.is_some_and(|(w, _)| actual.iter().any(|o| o == w))
    };
    layout.lookups = Lookup::ALL
        .into_iter()
        .filter(|l| intact(l.index()))
        .collect();
    for (want, since) in expected {
        match actual.iter().find(|o| o.name == want.name) {
            Some(got) if got == want => {}
            Some(got) => layout.problems.push(format!(
                "the {} {} is not as schema version {since} defines it: the file has {} {}",
                want.name,
                want.kind,
                got.kind,
                one_line(got.sql.as_deref())
            )),
            // The append-only triggers guard against accidents only (§6), and the indexes
            // of a missing table go with it.
            None if want.kind == "trigger" => {}
            None if want.kind == "index" && !has_table(&want.table) => {}
            None => layout.problems.push(format!(
                "the {} {} is missing (schema version {since} has it)",
                want.name, want.kind
            )),
        }
    }
    for got in actual {
        if expected.iter().any(|(w, _)| w.name == got.name) {
            continue;
        }
        let why = match got.kind.as_str() {
            "index" => "queries may read it instead of the indexes verify checks",
            "table" if got.name.starts_with("sqlite_stat") => {
                "its statistics change which index a query reads"
            }
            "trigger" => "it acts on later writes",
            _ => "vouch does not use it",
        };
        layout.problems.push(format!(
            "the file has {} {} on {} ({}), which vouch's migrations do not make: {why}",
            got.kind,
            got.name,
            got.table,
            one_line(got.sql.as_deref())
        ));
    }
    layout
}

// ---- end of layout --------------------------------------------------------------------------
