//! The matrix in force in a ledger, and the checks `record` makes against it.
//!
//! Before any adoption, item ids are free text. Once a matrix is adopted, evidence must name
//! one of its items, and the signing party must hold R or A for it (or have had it
//! delegated), unless the evidence is recorded as supporting.

use crate::error::{Error, Result};
use crate::format::entry::Kind;
use crate::format::payload::{self, AdoptionPayload, DelegationPayload};
use crate::ledger::Ledger;
use crate::matrix::{Matrix, RoleId};

/// What an adoption signs about a matrix file: id, version, effective date, size and the
/// SHA-256 of its exact bytes.
pub fn matrix_ref(matrix: &Matrix, bytes: &[u8]) -> crate::format::payload::MatrixRef {
    crate::format::payload::MatrixRef {
        effective: matrix.header.effective.to_string(),
        id: matrix.header.id.clone(),
        sha256: hex::encode(crate::crypto::sha256(bytes)),
        size: bytes.len() as u64,
        version: matrix.header.version.clone(),
    }
}

/// The rules an adoption's payload must meet against the matrix file it adopts
/// (`FORMAT.md` §4 `adoption`), for the writer and `verify` alike: the file parses as a
/// matrix, `matrix` is what [`matrix_ref`] says of it (id, version, effective date, size,
/// SHA-256), the bindings bind exactly the matrix's roles, and every variant is one of the
/// matrix's. Returns the matrix; `Err` says which rule does not hold.
pub fn check_adoption(a: &AdoptionPayload, bytes: &[u8]) -> std::result::Result<Matrix, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| format!("adopted matrix {} is not UTF-8", a.matrix.id))?;
    let m = Matrix::parse(text, &format!("{}.toml", a.matrix.id)).map_err(|e| {
        format!(
            "adopted matrix {} does not parse: {}",
            a.matrix.id,
            e.message()
        )
    })?;
    let actual = matrix_ref(&m, bytes);
    for (member, signed, file) in [
        ("id", &a.matrix.id, &actual.id),
        ("version", &a.matrix.version, &actual.version),
        ("effective", &a.matrix.effective, &actual.effective),
        ("sha256", &a.matrix.sha256, &actual.sha256),
    ] {
        if signed != file {
            return Err(format!(
                "adoption says matrix {member} {signed:?}, the adopted file says {file:?} (§4: matrix is the file's id, version, effective date, size and SHA-256)"
            ));
        }
    }
    if a.matrix.size != actual.size {
        return Err(format!(
            "adoption says matrix size {}, the adopted file has {} bytes",
            a.matrix.size, actual.size
        ));
    }
    let roles: Vec<&str> = m.roles.iter().map(|r| r.id.as_str()).collect();
    let bound: Vec<&str> = a.bindings.keys().map(String::as_str).collect();
    let (mut want, mut have) = (roles.clone(), bound.clone());
    want.sort_unstable();
    have.sort_unstable();
    if want != have {
        return Err(format!(
            "adoption binds roles {}, matrix {} has roles {} (§4: every role of the matrix is bound, and only those)",
            bound.join(", "),
            a.matrix.id,
            roles.join(", ")
        ));
    }
    for v in &a.variants {
        if !m.variants.iter().any(|x| &x.id == v) {
            return Err(format!(
                "adoption selects variant {v:?}, which matrix {} does not have (§4: variants are the matrix's)",
                a.matrix.id
            ));
        }
    }
    for svc in &a.services {
        if !m.services.iter().any(|x| &x.id == svc) {
            return Err(format!(
                "adoption names service {svc:?}, which matrix {} does not have (§4: services are the matrix's)",
                a.matrix.id
            ));
        }
    }
    Ok(m)
}

/// Whether `item` is part of what an adoption adopted: it applies under the selected
/// variants and belongs to an adopted service (every service when none is named; an item of
/// no service belongs to every adoption). Items outside are not part of the attestation.
pub fn in_scope(item: &crate::matrix::Item, variants: &[String], services: &[String]) -> bool {
    item.applies(variants)
        && (services.is_empty()
            || item
                .service
                .as_ref()
                .is_none_or(|s| services.iter().any(|x| x == s)))
}

/// The newest adoption and its parsed matrix, if any.
pub fn current(ledger: &Ledger) -> Result<Option<(u64, AdoptionPayload, Matrix)>> {
    let Some((seq, a, bytes)) = ledger.adoptions()?.pop() else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::new(format!("entry {seq}: the adopted matrix is not UTF-8")))?;
    let m = Matrix::parse(
        text,
        &format!("{}.toml (adopted in entry {seq})", a.matrix.id),
    )?;
    Ok(Some((seq, a, m)))
}

/// Check that `party` may record evidence of `kind` for `item` under the matrix in force:
/// the item exists, the kind is one the item lists (`schema/STATUS.md` §4), and the party
/// holds R or A or had the item delegated — unless the evidence is supporting. `at` names
/// the input (`--item`, `batch.jsonl line 3`).
pub fn check_item(
    ledger: &Ledger,
    adopted: &(u64, AdoptionPayload, Matrix),
    party: &str,
    item: &str,
    kind: &str,
    supporting: bool,
    at: &str,
) -> Result<()> {
    let target = Target {
        item,
        kind,
        supporting,
        at,
    };
    check_target(adopted, party, &target, || {
        delegated_to(ledger, party, item)
    })
}

/// The checks of [`check_item`] for many inputs of one party (a batch): the delegations to
/// the party are read once, and the ledger is not needed afterwards.
pub struct ItemGuard<'m> {
    adopted: &'m (u64, AdoptionPayload, Matrix),
    party: String,
    /// Items delegated to the party.
    delegated: std::collections::HashSet<String>,
}

impl<'m> ItemGuard<'m> {
    /// Read the delegations to `party`.
    ///
    /// # Errors
    ///
    /// I/O reading the ledger.
    pub fn new(
        ledger: &Ledger,
        adopted: &'m (u64, AdoptionPayload, Matrix),
        party: &str,
    ) -> Result<Self> {
        let mut delegated = std::collections::HashSet::new();
        for e in ledger.entries_of_kind(Kind::Delegation, None)? {
            if let Ok(d) = payload::decode::<DelegationPayload>(&e.payload)
                && d.to == party
            {
                delegated.insert(d.item);
            }
        }
        Ok(Self {
            adopted,
            party: party.to_string(),
            delegated,
        })
    }

    /// [`check_item`] of one input.
    ///
    /// # Errors
    ///
    /// As [`check_item`].
    pub fn check(&self, item: &str, kind: &str, supporting: bool, at: &str) -> Result<()> {
        let target = Target {
            item,
            kind,
            supporting,
            at,
        };
        check_target(self.adopted, &self.party, &target, || {
            Ok(self.delegated.contains(item))
        })
    }
}

/// What one input records: item, kind, whether supporting, and how it is named.
struct Target<'t> {
    item: &'t str,
    kind: &'t str,
    supporting: bool,
    at: &'t str,
}

/// The checks of [`check_item`], `delegated` telling whether the item was delegated to the
/// party.
fn check_target(
    adopted: &(u64, AdoptionPayload, Matrix),
    party: &str,
    target: &Target<'_>,
    delegated: impl FnOnce() -> Result<bool>,
) -> Result<()> {
    let Target {
        item,
        kind,
        supporting,
        at,
    } = *target;
    let it = check_item_exists(adopted, item, at)?;
    let (seq, a, _) = adopted;
    if !in_scope(it, &[], &a.services) {
        return Err(Error::new(format!(
            "{at}: {item} belongs to service {}, which the adoption in entry {seq} does not adopt (it adopts {})",
            it.service.as_deref().unwrap_or_default(),
            a.services.join(", ")
        ))
        .hint("record evidence for the adopted services' items (vouch matrix show --adopted), or adopt the matrix again with this service"));
    }
    if supporting {
        return Ok(());
    }
    let roles: Vec<RoleId> = a
        .bindings
        .iter()
        .filter(|(_, p)| p.as_str() == party)
        .filter_map(|(r, _)| RoleId::parse(r))
        .collect();
    let holds = roles
        .iter()
        .any(|r| it.raci.get(r).is_some_and(|l| l.r || l.a) || it.statements.contains_key(r));
    if holds || delegated()? {
        // An unknown kind is reported (with a suggestion) when the evidence is drafted.
        let known = crate::matrix::kinds::Registry::builtin()?
            .get(kind)
            .is_some();
        if known && !it.evidence_kinds.is_empty() && !it.evidence_kinds.iter().any(|k| k == kind) {
            return Err(Error::new(format!(
                "{at}: {item} is proven by evidence of kind {}, not {kind:?}",
                it.evidence_kinds.join(", ")
            ))
            .hint("record it as one of those kinds, or as supporting evidence with --supporting"));
        }
        return Ok(());
    }
    let who: Vec<String> = it
        .raci
        .iter()
        .filter(|(_, l)| l.r || l.a)
        .map(|(r, l)| format!("{} ({l})", r.as_str()))
        .collect();
    Err(Error::new(format!(
        "{at}: {party} holds neither R nor A for {item}{}",
        if who.is_empty() { String::new() } else { format!("; responsible: {}", who.join(", ")) }
    ))
    .hint("record it as supporting evidence with --supporting, or have the responsible party delegate it to you"))
}

/// The first check of [`check_item`], on its own: `item` is an item of the adopted matrix
/// (with the closest ids as a hint when it is not). `at` names the input.
pub fn check_item_exists<'m>(
    adopted: &'m (u64, AdoptionPayload, Matrix),
    item: &str,
    at: &str,
) -> Result<&'m crate::matrix::Item> {
    let (seq, a, m) = adopted;
    let Some(it) = m.item(item) else {
        let close = m.closest_items(item, 3);
        let mut e = Error::new(format!(
            "{at}: {item:?} is not an item of matrix {} (adopted in entry {seq})",
            a.matrix.id
        ));
        e = e.hint(if close.is_empty() {
            "list the items with: vouch matrix show --adopted".to_string()
        } else {
            format!(
                "did you mean {}? (all items: vouch matrix show --adopted)",
                close.join(", ")
            )
        });
        return Err(e);
    };
    Ok(it)
}

fn delegated_to(ledger: &Ledger, party: &str, item: &str) -> Result<bool> {
    for e in ledger.entries_of_kind(Kind::Delegation, None)? {
        if let Ok(d) = payload::decode::<DelegationPayload>(&e.payload)
            && d.item == item
            && d.to == party
        {
            return Ok(true);
        }
    }
    Ok(false)
}
