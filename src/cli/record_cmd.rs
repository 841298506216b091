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
    let drafts = if let Some(batch) = &args.batch {
        let drafts = evidence::draft_batch(batch, now, store, &policy)?;
        if let Some(adopted) = &adopted {
            let label = evidence::batch_label(batch);
            for (line, d) in &drafts {
                let at = format!("{label} line {line}");
                let supporting = is_supporting(d);
                vouch::attestation::adopted::check_item(
                    &ledger,
                    adopted,
                    &party.id,
                    d.item().as_deref().unwrap_or(""),
                    &payload_str(d, "kind"),
                    supporting,
                    &at,
                )?;
            }
        }
        drafts.into_iter().map(|(_, d)| d).collect()
    } else {
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
        vec![draft]
    };
    let bar = progress::Bar::new(drafts.len() as u64 >= 1000);
    let appended = ledger.append(&key, drafts, now, &bar)?;
    let first = appended.first().map_or(0, |a| a.seq);
    let last = appended.last().map_or(0, |a| a.seq);
    if fmt == Format::Json {
        let list: Vec<Value> = appended
            .iter()
            .map(|a| json!({"seq": a.seq, "hash": hex::encode(a.hash)}))
            .collect();
        print_json(&json!({"party": party.id, "entries": list}));
    } else if appended.len() == 1 {
        out!(
            "entry {first}: evidence recorded by {} ({})",
            party.id,
            hex::encode(appended[0].hash)
        );
    } else {
        out!(
            "entries {first}–{last}: {} evidence entries recorded by {}",
            appended.len(),
            party.id
        );
    }
    Ok(Outcome::Ok)
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
