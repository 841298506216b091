//! `vouch record`, `cosign`, `retract`, `waive`, `delegate` and `matrix adopt`: the
//! commands that sign one entry (or a batch of evidence) and append it to the ledger.

use serde_json::{Value, json};
use std::io::{self, Write as _};
use std::path::Path;

use super::args::{CosignArgs, Format, ItemsArgs, KeyArg, RecordArgs, RespondArgs, TargetArgs};
use super::confirm;
use super::input::load_key;
use super::output::{Outcome, print_json};
use super::progress;
use vouch::crypto::keyfile;
use vouch::format::payload::Verdict;
use vouch::ledger::Access;
use vouch::ledger::evidence::{self, ArtifactPolicy, EvidenceInput};
use vouch::ledger::{Ledger, NoProgress};
use vouch::matrix::fields::parse_field;
use vouch::{Error, Result, clock};

pub(super) fn record(path: &Path, args: &RecordArgs, fmt: Format) -> Result<Outcome> {
    let key_path = keyfile::resolve_key_path(&args.key.key);
    let key = keyfile::load_secret(&key_path)?;
    // Neither the key directory beside the ledger nor the signing key's own directory is
    // ever recorded.
    let policy = ArtifactPolicy::default()
        .ledger_keys(path)
        .signing_key(&key_path);
    let mut ledger = Ledger::open(path, Access::ReadWrite)?;
    let fpr = key.public().fingerprint();
    let party = ledger.party_of_key(&fpr)?.ok_or_else(|| {
        Error::new(format!("key {fpr} is not registered in {}", path.display()))
            .hint("a registered party must add it first: vouch party add --request ID.request.json --key THEIR.key (the new party makes the file with vouch party request)")
    })?;
    let now = clock::now();
    let store = !args.no_store;
    let adopted = vouch::attestation::adopted::current(&ledger)?;
    if let Some(batch) = &args.batch {
        let guard = match &adopted {
            Some(a) => Some(vouch::attestation::adopted::ItemGuard::new(
                &ledger, a, &party.id,
            )?),
            None => None,
        };
        let mut source = Checked {
            batch: evidence::BatchDrafts::open(batch, now, store, &policy)?,
            guard,
        };
        return record_batch(&mut ledger, &key, &mut source, &party.id, now, fmt);
    }
    let mut fields = std::collections::BTreeMap::new();
    for f in &args.fields {
        let (k, v) = parse_field(f)?;
        if fields.insert(k.clone(), v).is_some() {
            return Err(Error::new(format!("--field {k} is given twice")));
        }
    }
    let input = EvidenceInput {
        item: args.item.clone().unwrap_or_default(),
        kind: args.kind.clone().unwrap_or_default(),
        outcome: args.outcome.clone().unwrap_or_default(),
        performed_at: args
            .performed_at
            .clone()
            .unwrap_or_else(|| vouch::format::entry::format_time(&now)),
        fields,
        artifacts: args.artifacts.clone(),
        note: args.note.clone(),
        supporting: args.supporting,
    };
    // Input is checked in the order it is read: the item, then kind, outcome, time,
    // fields and artefacts, and only then whether this party may record it.
    if let Some(adopted) = &adopted {
        vouch::attestation::adopted::check_item_exists(adopted, &input.item, "--item")?;
    }
    let draft = evidence::draft_with(&input, now, store, &policy.origin("--artifact"))?;
    if let Some(adopted) = &adopted {
        vouch::attestation::adopted::check_item(
            &ledger,
            adopted,
            &party.id,
            &input.item,
            &input.kind,
            args.supporting,
            "--item",
        )?;
    }
    let a = append_one(&mut ledger, &key, draft)?;
    if fmt == Format::Json {
        let list = vec![json!({"seq": a.seq, "hash": hex::encode(a.hash)})];
        print_json(&json!({"party": party.id, "entries": list}));
    } else {
        out!(
            "entry {}: evidence recorded by {} ({})",
            a.seq,
            party.id,
            hex::encode(a.hash)
        );
    }
    Ok(Outcome::Ok)
}

/// A batch's drafts, each checked against the adopted matrix (if any) as it is read.
struct Checked<'a> {
    batch: evidence::BatchDrafts<'a>,
    guard: Option<vouch::attestation::adopted::ItemGuard<'a>>,
}

impl vouch::ledger::DraftSource for Checked<'_> {
    fn next_chunk(&mut self) -> Result<Option<Vec<(usize, vouch::ledger::Draft)>>> {
        let chunk = self.batch.next_chunk()?;
        if let (Some(chunk), Some(guard)) = (&chunk, &self.guard) {
            for (line, d) in chunk {
                let at = self.batch.name(*line).unwrap_or_default();
                guard.check(
                    d.item().as_deref().unwrap_or(""),
                    &payload_str(d, "kind"),
                    is_supporting(d),
                    &at,
                )?;
            }
        }
        Ok(chunk)
    }

    fn name(&self, number: usize) -> Option<String> {
        self.batch.name(number)
    }
}

/// `record --batch`: the batch is read, checked, signed and stored a chunk at a time, in
/// one transaction. Memory stays flat in the batch's length: the text output needs only
/// the first and last entry; the JSON output (every entry's seq and hash) is read back
/// from the ledger a chunk at a time once the batch is committed.
fn record_batch(
    ledger: &mut Ledger,
    key: &vouch::crypto::SecretKey,
    source: &mut Checked<'_>,
    party: &str,
    now: chrono::DateTime<chrono::Utc>,
    fmt: Format,
) -> Result<Outcome> {
    let bar = progress::Bar::counter();
    let mut first: Option<vouch::ledger::Appended> = None;
    let mut last = 0;
    let n = ledger.append_stream(key, source, now, &bar, &mut |a| {
        if first.is_none() {
            first = Some(a.clone());
        }
        last = a.seq;
    })?;
    let Some(first) = first else {
        return Err(Error::new("nothing was appended"));
    };
    if fmt == Format::Json {
        print_entries_json(ledger, party, first.seq, last)?;
    } else if n == 1 {
        out!(
            "entry {}: evidence recorded by {party} ({})",
            first.seq,
            hex::encode(first.hash)
        );
    } else {
        out!(
            "entries {}–{last}: {n} evidence entries recorded by {party}",
            first.seq
        );
    }
    Ok(Outcome::Ok)
}

/// `{"entries": [{"hash", "seq"}…], "party"}` for entries `first..=last`, as `print_json`
/// prints it, written as the entries are read back (a chunk at a time). Like `out!`, a
/// closed standard output ends the command quietly (the batch is committed).
fn print_entries_json(ledger: &Ledger, party: &str, first: u64, last: u64) -> Result<()> {
    let mut w = io::BufWriter::new(io::stdout().lock());
    let mut put = |text: &str| {
        if !super::output::capture(|| text.to_string()) && writeln!(w, "{text}").is_err() {
            std::process::exit(0);
        }
    };
    put("{\n  \"entries\": [");
    let mut after = first.saturating_sub(1);
    while after < last {
        let chunk = ledger.entries_after(after, 4096)?;
        if chunk.is_empty() {
            break;
        }
        for e in chunk.iter().take_while(|e| e.seq() <= last) {
            let v = json!({"hash": hex::encode(e.hash()), "seq": e.seq()});
            let text = serde_json::to_string_pretty(&v).unwrap_or_default();
            let sep = if e.seq() == last { "" } else { "," };
            let indented: Vec<String> = text.lines().map(|l| format!("    {l}")).collect();
            put(&format!("{}{sep}", indented.join("\n")));
            after = e.seq();
        }
    }
    put(&format!("  ],\n  \"party\": {}\n}}", json!(party)));
    if w.flush().is_err() {
        std::process::exit(0);
    }
    Ok(())
}

/// `vouch cosign SEQ --ack|--dispute REASON|--approve [--note TEXT] [--item ITEM] [--yes]
/// --key K`: checked, the target shown (and confirmed on a terminal), then appended.
pub(super) fn cosign(path: &Path, args: CosignArgs, fmt: Format) -> Result<Outcome> {
    let (verdict, reason) = match (args.dispute, args.approve) {
        (Some(r), _) => (Verdict::Dispute, Some(r)),
        (None, true) => (Verdict::Approve, args.note),
        (None, false) => (Verdict::Ack, args.note),
    };
    let seq = args.seq;
    let k = load_key(&args.key.key)?;
    let mut ledger = Ledger::open(path, Access::ReadWrite)?;
    ledger.check_signing_key(&k)?;
    let line = shown_target(&ledger, seq, &args.target)?;
    let draft = ledger.cosign_draft(&k, seq, verdict, reason)?;
    let question = match verdict {
        Verdict::Ack => format!("acknowledge entry {seq}?"),
        Verdict::Dispute => format!("dispute entry {seq}?"),
        Verdict::Approve => format!("approve entry {seq}?"),
    };
    confirm::confirm(&[line], &question, args.target.yes)?;
    let a = append_one(&mut ledger, &k, draft)?;
    appended(fmt, &a, &format!("{} of entry {seq}", verdict.as_str()));
    Ok(Outcome::Ok)
}

/// `vouch respond SEQ --text TEXT [--item ITEM] [--yes] --key K`, or `vouch respond --item
/// ITEM --period P --text TEXT --key K`: a management response, checked as `verify` checks
/// it; with SEQ the evidence entry is shown (and confirmed on a terminal) first.
pub(super) fn respond(path: &Path, args: RespondArgs, fmt: Format) -> Result<Outcome> {
    use vouch::ledger::actions::Responded;
    let k = load_key(&args.key.key)?;
    let mut ledger = Ledger::open(path, Access::ReadWrite)?;
    ledger.check_signing_key(&k)?;
    let (to, line) = match (args.seq, args.period, &args.target.item) {
        (Some(seq), _, _) => (
            Responded::Entry(seq),
            Some(shown_target(&ledger, seq, &args.target)?),
        ),
        (None, Some(p), Some(item)) => {
            let period =
                vouch::period::Period::parse_input(&p).map_err(|e| e.context("--period"))?;
            let to = Responded::Duty {
                item: item.clone(),
                period,
            };
            (to, None)
        }
        _ => {
            return Err(Error::new("give the evidence entry SEQ, or --item ITEM --period P")
                .hint("vouch respond 42 --text TEXT --key K, or vouch respond --item ITEM --period 2026-Q3 --text TEXT --key K"));
        }
    };
    let draft = ledger.respond_draft(&k, &to, args.text)?;
    let what = match &to {
        Responded::Entry(seq) => format!("response to entry {seq}"),
        Responded::Duty { item, period } => {
            format!("response on {item} for {} to {}", period.from, period.to)
        }
    };
    if let Some(line) = line {
        confirm::confirm(&[line], &format!("sign the {what}?"), args.target.yes)?;
    }
    let a = append_one(&mut ledger, &k, draft)?;
    appended(fmt, &a, &what);
    Ok(Outcome::Ok)
}

/// `vouch retract SEQ --reason TEXT [--item ITEM] [--yes] --key K`: checked, the target
/// shown (and confirmed on a terminal), then appended.
pub(super) fn retract(
    path: &Path,
    seq: u64,
    reason: String,
    target: &TargetArgs,
    key: &KeyArg,
    fmt: Format,
) -> Result<Outcome> {
    let k = load_key(&key.key)?;
    let mut ledger = Ledger::open(path, Access::ReadWrite)?;
    ledger.check_signing_key(&k)?;
    let line = shown_target(&ledger, seq, target)?;
    let draft = ledger.retract_draft(&k, seq, reason)?;
    confirm::confirm(&[line], &format!("retract entry {seq}?"), target.yes)?;
    let a = append_one(&mut ledger, &k, draft)?;
    appended(fmt, &a, &format!("retraction of entry {seq}"));
    Ok(Outcome::Ok)
}

/// The target entry's one-line description, after the `--item` guard passed.
fn shown_target(ledger: &Ledger, seq: u64, target: &TargetArgs) -> Result<String> {
    let e = confirm::target(ledger, seq)?;
    let line = confirm::describe(ledger, &e)?;
    confirm::check_item(&e, &line, target.item.as_deref())?;
    Ok(line)
}

/// Append one checked draft, timed now (after any question was answered).
fn append_one(
    ledger: &mut Ledger,
    key: &vouch::crypto::SecretKey,
    draft: vouch::ledger::Draft,
) -> Result<vouch::ledger::Appended> {
    let mut a = ledger.append(key, vec![draft], clock::now(), &NoProgress)?;
    a.pop().ok_or_else(|| Error::new("nothing was appended"))
}

/// `vouch waive ITEM… [--section ID…] [--service ID…] --reason TEXT --key K`.
pub(super) fn waive(
    path: &Path,
    which: &ItemsArgs,
    reason: String,
    key: &KeyArg,
    fmt: Format,
) -> Result<Outcome> {
    let k = load_key(&key.key)?;
    let mut ledger = Ledger::open(path, Access::ReadWrite)?;
    let items = chosen_items(&ledger, which)?;
    let done = ledger.waive_items(&k, &items, reason, clock::now())?;
    let what: Vec<String> = items.iter().map(|i| format!("waiver of {i}")).collect();
    appended_all(fmt, &done, &what);
    Ok(Outcome::Ok)
}

/// `vouch delegate ITEM… [--section ID…] [--service ID…] --to PARTY [--note TEXT] --key K`.
pub(super) fn delegate(
    path: &Path,
    which: &ItemsArgs,
    to: String,
    note: Option<String>,
    key: &KeyArg,
    fmt: Format,
) -> Result<Outcome> {
    let k = load_key(&key.key)?;
    let mut ledger = Ledger::open(path, Access::ReadWrite)?;
    let items = chosen_items(&ledger, which)?;
    let done = ledger.delegate_items(&k, &items, &to, note, clock::now())?;
    let what: Vec<String> = items
        .iter()
        .map(|i| format!("delegation of {i} to {to}"))
        .collect();
    appended_all(fmt, &done, &what);
    Ok(Outcome::Ok)
}

/// The items of `waive`/`delegate`: checked against the adopted matrix, if any (before an
/// adoption, ids are free text and --section/--service have nothing to select from).
fn chosen_items(ledger: &Ledger, which: &ItemsArgs) -> Result<Vec<String>> {
    match vouch::attestation::adopted::current(ledger)? {
        Some((_, _, m)) => m.select_items(&which.items, &which.section, &which.service),
        None if which.section.is_empty() && which.service.is_empty() => {
            let mut items: Vec<String> = Vec::new();
            for i in &which.items {
                if !items.contains(i) {
                    items.push(i.clone());
                }
            }
            Ok(items)
        }
        None => Err(Error::new(format!(
            "{}: no matrix is adopted, so --section and --service select nothing",
            ledger.path().display()
        ))
        .hint("adopt the matrix first (vouch matrix adopt FILE …), or name the items")),
    }
}

/// One line (or JSON object) per appended entry; a JSON array when there are several.
fn appended_all(fmt: Format, done: &[vouch::ledger::Appended], what: &[String]) {
    if fmt == Format::Json && done.len() != 1 {
        let list: Vec<Value> = done
            .iter()
            .map(|a| json!({"seq": a.seq, "hash": hex::encode(a.hash), "kind": a.kind.as_str()}))
            .collect();
        print_json(&Value::Array(list));
        return;
    }
    for (a, w) in done.iter().zip(what) {
        appended(fmt, a, w);
    }
}

/// `vouch matrix adopt FILE --bind ROLE=PARTY… [--variant V…] [--service S…] --key K`.
pub(super) fn adopt(
    ledger_path: &Path,
    file: &Path,
    binds: &[String],
    scope: vouch::ledger::actions::Scope,
    key: &str,
    fmt: Format,
) -> Result<Outcome> {
    let variants = &scope.variants;
    let k = load_key(key)?;
    let (matrix, bytes) = vouch::matrix::Matrix::load(file)?;
    let placeholders = vouch::matrix::csv_map::skeleton_placeholders(&matrix.header);
    if !placeholders.is_empty() {
        return Err(Error::new(format!(
            "{}: the [matrix] header still holds the import skeleton's placeholders: {}",
            file.display(),
            placeholders.join(", ")
        ))
        .hint(format!(
            "edit [matrix] in {}: the title, source and effective date of the document it transcribes (and the role names), then adopt it",
            file.display()
        )));
    }
    let role_names: Vec<&str> = matrix.roles.iter().map(|r| r.id.as_str()).collect();
    let mut bindings = std::collections::BTreeMap::new();
    for b in binds {
        let Some((role, party)) = b.split_once('=') else {
            return Err(Error::new(format!("--bind {b:?} has no '='"))
                .hint("write --bind ROLE=PARTY, e.g. --bind provider=cloudtemple"));
        };
        if !role_names.contains(&role) {
            return Err(Error::new(format!(
                "--bind {b}: unknown role {role:?} in matrix {}",
                matrix.header.id
            ))
            .hint(format!("the matrix's roles are {}", role_names.join(", "))));
        }
        if bindings
            .insert(role.to_string(), party.to_string())
            .is_some()
        {
            return Err(Error::new(format!("--bind {role}=… is given twice")));
        }
    }
    let unbound: Vec<&str> = role_names
        .iter()
        .copied()
        .filter(|r| !bindings.contains_key(*r))
        .collect();
    if !unbound.is_empty() {
        return Err(Error::new(format!(
            "role {} of matrix {} is not bound",
            unbound.join(", "),
            matrix.header.id
        ))
        .hint(format!(
            "bind every role: {}",
            role_names
                .iter()
                .map(|r| format!("--bind {r}=PARTY"))
                .collect::<Vec<_>>()
                .join(" ")
        )));
    }
    for v in variants {
        if !matrix.variants.iter().any(|x| &x.id == v) {
            let known: Vec<&str> = matrix.variants.iter().map(|x| x.id.as_str()).collect();
            return Err(Error::new(format!(
                "--variant {v}: matrix {} has no such variant",
                matrix.header.id
            ))
            .hint(if known.is_empty() {
                "this matrix has no variants".to_string()
            } else {
                format!("variants: {}", known.join(", "))
            }));
        }
    }
    for svc in &scope.services {
        if !matrix.services.iter().any(|x| &x.id == svc) {
            let known: Vec<&str> = matrix.services.iter().map(|x| x.id.as_str()).collect();
            return Err(Error::new(format!(
                "--service {svc}: matrix {} has no such service",
                matrix.header.id
            ))
            .hint(if known.is_empty() {
                "this matrix declares no services".to_string()
            } else {
                format!("services: {}", known.join(", "))
            }));
        }
    }
    let adopted_items = matrix
        .items
        .iter()
        .filter(|i| vouch::attestation::adopted::in_scope(i, &[], &scope.services))
        .count();
    let of_services = if scope.services.is_empty() {
        String::new()
    } else {
        let mut s = scope.services.clone();
        s.sort_unstable();
        s.dedup();
        format!(", services {}", s.join(", "))
    };
    let mref = vouch::attestation::adopted::matrix_ref(&matrix, &bytes);
    let mut ledger = Ledger::open(ledger_path, Access::ReadWrite)?;
    let a = ledger.adopt_scoped(&k, mref, bytes, bindings, scope, clock::now())?;
    appended(
        fmt,
        &a,
        &format!(
            "adoption of matrix {} version {} ({adopted_items} items{of_services}); the other parties acknowledge it with: vouch cosign {} --ack",
            matrix.header.id, matrix.header.version, a.seq
        ),
    );
    Ok(Outcome::Ok)
}

fn appended(fmt: Format, a: &vouch::ledger::Appended, what: &str) {
    if fmt == Format::Json {
        print_json(&json!({"seq": a.seq, "hash": hex::encode(a.hash), "kind": a.kind.as_str()}));
    } else {
        out!("entry {}: {what} ({})", a.seq, hex::encode(a.hash));
    }
}

/// A string member of a draft's payload (empty when absent).
fn payload_str(d: &vouch::ledger::Draft, member: &str) -> String {
    serde_json::from_slice::<Value>(&d.payload)
        .ok()
        .and_then(|v| v.get(member).and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default()
}

fn is_supporting(d: &vouch::ledger::Draft) -> bool {
    serde_json::from_slice::<Value>(&d.payload)
        .ok()
        .and_then(|v| v.get("supporting").and_then(Value::as_bool))
        .unwrap_or(false)
}
