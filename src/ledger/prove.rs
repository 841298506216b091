//! Building inclusion and consistency proofs from the ledger (`schema/FORMAT.md` §15).
//!
//! The proof files themselves are [`crate::format::proof`]'s; this module reads what they
//! prove from the ledger, checks the checkpoints they rest on against it, and hands out a
//! proof only once it verifies with the ledger's registered keys.

use std::fmt;

use crate::crypto::PublicKey;
use crate::error::{Error, Result};
use crate::format::checkpoint::vouch_origin;
use crate::format::entry::{Kind, LedgerId};
use crate::format::proof::{ConsistencyProof, InclusionProof, SIGNATURE_LEN, SignedCheckpoint};
use crate::ledger::Ledger;

/// What building a proof gave: the proof, or why this ledger cannot give one (a
/// verification finding — the ledger does not match the checkpoint —, not an error).
#[derive(Debug, Clone)]
pub enum Built<T> {
    /// The proof, already verified with the ledger's registered keys.
    Proof(T),
    /// Why not.
    Refused(String),
}

/// The public keys registered in the ledger (every party key, ever).
pub fn registered_keys(ledger: &Ledger) -> Result<Vec<PublicKey>> {
    ledger
        .keys()?
        .iter()
        .map(|k| {
            PublicKey::from_spki_base64(&k.public_key).map_err(|e| {
                e.context(format!("registered key {}", k.fingerprint))
                    .hint("run `vouch verify`: the ledger looks damaged")
            })
        })
        .collect()
}

/// The newest checkpoint recorded in the ledger (the note of the newest `checkpoint` entry,
/// §13), with that entry's seq; `None` if there is none.
pub fn newest_recorded_checkpoint(ledger: &Ledger) -> Result<Option<(u64, SignedCheckpoint)>> {
    let entries = ledger.entries_of_kind(Kind::Checkpoint, None)?;
    let Some(row) = entries.last() else {
        return Ok(None);
    };
    let seq = row.seq();
    let damaged = |what: String| {
        Error::new(format!("the checkpoint recorded as entry {seq}: {what}"))
            .hint("run `vouch verify`: the ledger looks damaged")
    };
    let payload: serde_json::Value =
        serde_json::from_slice(&row.payload).map_err(|e| damaged(format!("payload: {e}")))?;
    let Some(note) = payload.get("note").and_then(serde_json::Value::as_str) else {
        return Err(damaged("payload has no \"note\" string".into()));
    };
    let cp = SignedCheckpoint::parse(note).map_err(|e| damaged(e.message().to_string()))?;
    Ok(Some((seq, cp)))
}

/// Check a checkpoint against the ledger before proving with it: it must be of this ledger
/// (else an error), cover entries the ledger has, have this ledger's root at its size, and
/// carry a valid signature by a registered key (else a refusal).
fn check_against(
    ledger: &Ledger,
    id: &LedgerId,
    keys: &[PublicKey],
    cp: &SignedCheckpoint,
    part: &str,
) -> Result<Option<String>> {
    if cp.ledger != *id {
        return Err(Error::new(format!(
            "the {part} is of another ledger: its origin is {:?}, this ledger's is {:?}",
            cp.checkpoint.origin,
            vouch_origin(id)
        ))
        .hint(
            "pass a checkpoint of this ledger, or point --ledger at the ledger it was made from",
        ));
    }
    let size = cp.checkpoint.size;
    if size > 0 {
        let present = ledger.entry(size)?.is_some();
        if !present {
            return Ok(Some(format!(
                "ledger does not match the {part}: the checkpoint covers {size} entries, and this ledger has no entry {size} (it was truncated, or is an older copy)"
            )));
        }
    }
    let root = ledger.merkle_root(size)?;
    if root != cp.checkpoint.root {
        return Ok(Some(format!(
            "ledger does not match the {part}: the Merkle root of entries 1–{size} is {}, the checkpoint says {} (the ledger was rewritten after the checkpoint was signed, or the checkpoint was not made from it)",
            hex::encode(root),
            hex::encode(cp.checkpoint.root)
        )));
    }
    if let Err(e) = cp.signers(keys) {
        return Ok(Some(format!(
            "the {part} is not validly signed by a key registered in this ledger: {}",
            e.message()
        )));
    }
    Ok(None)
}

/// Hand out a proof only if its own file reads back as itself and verifies with the
/// ledger's registered keys (a damaged ledger row gives a refusal, not a bad proof).
fn self_check<T: fmt::Display + PartialEq>(
    proof: T,
    parse: fn(&[u8]) -> Result<T>,
    problems: Vec<String>,
) -> Built<T> {
    if !problems.is_empty() {
        return Built::Refused(format!(
            "the ledger's stored data does not make a valid proof: {}; run `vouch verify`",
            problems.join("; ")
        ));
    }
    match parse(proof.to_string().as_bytes()) {
        Ok(back) if back == proof => Built::Proof(proof),
        Ok(_) => Built::Refused(
            "the proof does not read back as written; run `vouch verify`".to_string(),
        ),
        Err(e) => Built::Refused(format!(
            "the proof does not read back: {}; run `vouch verify`",
            e.message()
        )),
    }
}

/// Build the inclusion proof of entry `seq` against a checkpoint of this ledger (§15.1).
///
/// Errors: seq 0, seq beyond the checkpoint's size, a checkpoint of another ledger, I/O.
/// Refusals (findings): the ledger lacks entries the checkpoint covers, its root at the
/// checkpoint's size differs, or no registered key validly signed the checkpoint.
pub fn prove_inclusion(
    ledger: &Ledger,
    seq: u64,
    checkpoint: &SignedCheckpoint,
) -> Result<Built<InclusionProof>> {
    let id = ledger.id()?;
    let size = checkpoint.checkpoint.size;
    if seq == 0 {
        return Err(Error::new(
            "there is no entry 0: entries are numbered from 1",
        ));
    }
    if seq > size {
        return Err(Error::new(format!(
            "entry {seq} is not covered by the checkpoint of {size} entries (entries 1–{size})"
        ))
        .hint("prove it against a later checkpoint: make one with `vouch checkpoint --key K`, or pass --checkpoint FILE"));
    }
    let keys = registered_keys(ledger)?;
    if let Some(why) = check_against(ledger, &id, &keys, checkpoint, "checkpoint")? {
        return Ok(Built::Refused(why));
    }
    let row = ledger.entry(seq)?.ok_or_else(|| {
        Error::new(format!("entry {seq} is missing from the ledger"))
            .hint("run `vouch verify`: the ledger looks damaged")
    })?;
    let Ok(signature) = <[u8; SIGNATURE_LEN]>::try_from(row.signature.as_slice()) else {
        return Ok(Built::Refused(format!(
            "entry {seq}'s stored signature has {} bytes, not {SIGNATURE_LEN}; run `vouch verify`",
            row.signature.len()
        )));
    };
    let hashes = ledger.inclusion_proof(seq, size)?;
    let proof = InclusionProof {
        entry: row.body,
        signature,
        index: seq - 1,
        hashes,
        checkpoint: checkpoint.clone(),
    };
    let problems = proof.verify(&keys).problems;
    Ok(self_check(proof, InclusionProof::parse, problems))
}

/// Build the consistency proof from an older to a newer checkpoint of this ledger (§15.2).
///
/// Errors: a checkpoint of another ledger, the older one larger than the newer, I/O.
/// Refusals (findings): either checkpoint does not match the ledger (see
/// [`prove_inclusion`]).
pub fn prove_consistency(
    ledger: &Ledger,
    old: &SignedCheckpoint,
    new: &SignedCheckpoint,
) -> Result<Built<ConsistencyProof>> {
    let id = ledger.id()?;
    let (m, n) = (old.checkpoint.size, new.checkpoint.size);
    if m > n {
        return Err(Error::new(format!(
            "the older checkpoint covers {m} entries, more than the newer one's {n}"
        ))
        .hint("the older checkpoint comes first: swap --from and --to"));
    }
    let keys = registered_keys(ledger)?;
    for (cp, part) in [(old, "older checkpoint"), (new, "newer checkpoint")] {
        if let Some(why) = check_against(ledger, &id, &keys, cp, part)? {
            return Ok(Built::Refused(why));
        }
    }
    let hashes = ledger.consistency_proof(m, n)?;
    let proof = ConsistencyProof {
        old: old.clone(),
        hashes,
        new: new.clone(),
    };
    let problems = proof.verify(&keys).problems;
    Ok(self_check(proof, ConsistencyProof::parse, problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;
    use crate::format::checkpoint::Checkpoint;
    use crate::format::entry::parse_time;
    use crate::format::merkle;
    use crate::format::merkle::MemoryTree;
    use crate::format::payload::Role;
    use crate::format::proof::*;
    use crate::ledger::Access;
    use crate::ledger::{NewParty, NoProgress};
    use std::path::Path;

    fn provider() -> SecretKey {
        SecretKey::from_seed(&[9u8; 32])
    }

    fn customer() -> SecretKey {
        SecretKey::from_seed(&[10u8; 32])
    }

    fn append(l: &mut Ledger, key: &SecretKey, n: usize) {
        let t = parse_time("2026-07-01T00:00:00Z").unwrap();
        l.append(key, crate::ledger::restore_drafts(n, t), t, &NoProgress)
            .unwrap();
    }

    /// Genesis (provider), the customer registered, then `n` customer evidence entries.
    fn ledger(path: &Path, n: usize) -> Ledger {
        let t = parse_time("2026-07-01T00:00:00Z").unwrap();
        let p = NewParty {
            id: "provider".into(),
            name: "P".into(),
            role: Role::Provider,
        };
        let (mut l, _) = Ledger::init(path, LedgerId([5u8; 16]), &p, &provider(), t).unwrap();
        let c = NewParty {
            id: "customer".into(),
            name: "C".into(),
            role: Role::Customer,
        };
        l.add_party(&c, &customer(), &provider(), t).unwrap();
        append(&mut l, &customer(), n);
        l
    }

    fn sign(l: &Ledger, size: u64, key: &SecretKey) -> SignedCheckpoint {
        let origin = vouch_origin(&l.id().unwrap());
        let note = Checkpoint {
            origin: origin.clone(),
            size,
            root: l.merkle_root(size).unwrap(),
            extensions: vec![],
        }
        .sign(&origin, key)
        .unwrap();
        SignedCheckpoint::from_note(note).unwrap()
    }

    fn keys() -> Vec<PublicKey> {
        vec![provider().public(), customer().public()]
    }

    fn proof<T>(b: Built<T>) -> T {
        match b {
            Built::Proof(p) => p,
            Built::Refused(why) => panic!("refused: {why}"),
        }
    }

    fn refused<T>(b: Built<T>) -> String {
        match b {
            Built::Proof(_) => panic!("expected a refusal"),
            Built::Refused(why) => why,
        }
    }

    /// Parse and verify; `Err` for a parse error, `Ok(problems)` otherwise.
    fn check(bytes: &[u8], trusted: &[PublicKey]) -> std::result::Result<Vec<String>, String> {
        match Proof::parse(bytes) {
            Err(e) => Err(e.message().to_string()),
            Ok(Proof::Inclusion(p)) => Ok(p.verify(trusted).problems),
            Ok(Proof::Consistency(p)) => Ok(p.verify(trusted).problems),
        }
    }

    /// Every single-byte change (several substitutions per byte), deletion and insertion
    /// makes the proof fail to parse or to verify.
    fn every_change_fails(good: &[u8]) {
        assert_eq!(check(good, &keys()), Ok(vec![]));
        for i in 0..good.len() {
            for x in [0x01u8, 0x02, 0x04, 0x20, 0x40, 0x80] {
                let mut b = good.to_vec();
                b[i] ^= x;
                let r = check(&b, &keys());
                assert!(
                    !matches!(&r, Ok(p) if p.is_empty()),
                    "byte {i} ^ {x:#x} still verifies"
                );
            }
            let mut b = good.to_vec();
            b.remove(i);
            assert!(
                !matches!(check(&b, &keys()), Ok(p) if p.is_empty()),
                "byte {i} removed"
            );
            let mut b = good.to_vec();
            b.insert(i, b'A');
            assert!(
                !matches!(check(&b, &keys()), Ok(p) if p.is_empty()),
                "A inserted at {i}"
            );
        }
    }

    #[test]
    fn proof_inclusion_round_trips_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir.path().join("l.db"), 20);
        let cp = sign(&l, 22, &provider());
        for seq in [1u64, 2, 3, 16, 17, 21, 22] {
            let p = proof(prove_inclusion(&l, seq, &cp).unwrap());
            let text = p.to_string();
            assert!(text.starts_with(&format!("{INCLUSION_HEADER}\nextra ")));
            assert!(text.contains(&format!("\nindex {}\n", seq - 1)));
            assert!(text.ends_with(&cp.note.to_string()));
            let back = InclusionProof::parse(text.as_bytes()).unwrap();
            assert_eq!(back, p);
            assert_eq!(back.to_string(), text);
            let r = back.verify(&keys());
            assert!(r.ok(), "{:?}", r.problems);
            assert_eq!(r.seq, seq);
            let h = r.entry.unwrap();
            assert_eq!(h.seq, seq);
            let row = l.entry(seq).unwrap().unwrap();
            assert_eq!(p.entry, row.body);
            assert_eq!(p.signature.as_slice(), row.signature.as_slice());
            assert_eq!(r.checkpoint.size, 22);
            assert_eq!(
                r.checkpoint.signed_by,
                vec![provider().public().fingerprint()]
            );
            let want = if seq <= 2 { provider() } else { customer() };
            assert_eq!(h.signer, want.public().fingerprint());
        }
    }

    #[test]
    fn proof_inclusion_every_single_byte_change_fails() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir.path().join("l.db"), 9);
        let cp = sign(&l, 11, &provider());
        let p = proof(prove_inclusion(&l, 6, &cp).unwrap());
        every_change_fails(p.to_string().as_bytes());
    }

    #[test]
    fn proof_cosigned_checkpoint_counts_only_valid_trusted_signatures() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir.path().join("l.db"), 3);
        let mut cp = sign(&l, 5, &provider());
        let origin = cp.checkpoint.origin.clone();
        cp.note.cosign(&origin, &customer()).unwrap();
        let p = proof(prove_inclusion(&l, 4, &cp).unwrap());
        let both = vec![
            provider().public().fingerprint(),
            customer().public().fingerprint(),
        ];
        assert_eq!(p.verify(&keys()).checkpoint.signed_by, both);
        // The customer's signature altered: a trusted key's signature fails, so the proof does.
        let mut bad = p.clone();
        bad.checkpoint.note.signatures[1].signature[0] ^= 1;
        let r = bad.verify(&keys());
        assert_eq!(r.problems.len(), 1);
        assert!(
            r.problems[0].starts_with("line 13: checkpoint: signature by key"),
            "{:?}",
            r.problems
        );
        // Its key ID altered: now a line by some other key, which signed-note ignores; the
        // proof holds on the provider's signature alone, and the report says only it counted.
        let mut other = p.clone();
        other.checkpoint.note.signatures[1].key_id[0] ^= 1;
        let r = other.verify(&keys());
        assert!(r.ok(), "{:?}", r.problems);
        assert_eq!(r.checkpoint.signed_by, both[..1]);
    }

    #[test]
    fn proof_consistency_round_trips_verifies_and_every_change_fails() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir.path().join("l.db"), 40);
        let cp = |s| sign(&l, s, &provider());
        for (m, n) in [(0, 5), (1, 42), (3, 3), (16, 17), (5, 42), (42, 42)] {
            let p = proof(prove_consistency(&l, &cp(m), &cp(n)).unwrap());
            let text = p.to_string();
            assert!(text.starts_with(&format!("{CONSISTENCY_HEADER}\n{}\nold {m}\n", cp(m).note)));
            assert!(text.ends_with(&cp(n).note.to_string()));
            let back = ConsistencyProof::parse(text.as_bytes()).unwrap();
            assert_eq!(back, p);
            assert_eq!(back.to_string(), text);
            let r = back.verify(&keys());
            assert!(r.ok(), "{m} to {n}: {:?}", r.problems);
            assert_eq!((r.old.size, r.new.size), (m, n));
        }
        let p = proof(prove_consistency(&l, &cp(7), &cp(30)).unwrap());
        every_change_fails(p.to_string().as_bytes());
    }

    #[test]
    fn proof_a_forked_ledger_fails_consistency() {
        // Two ledgers with the same id and genesis that part after entry 3.
        let dir = tempfile::tempdir().unwrap();
        let a = ledger(&dir.path().join("a.db"), 1);
        let mut b = ledger(&dir.path().join("b.db"), 1);
        let mut a = a;
        append(&mut a, &customer(), 6);
        append(&mut b, &provider(), 4);
        assert_eq!(sign(&a, 3, &provider()), sign(&b, 3, &provider()));
        let a9 = sign(&a, 9, &provider());
        let b5 = sign(&b, 5, &provider());
        // Each ledger proves its own history ...
        let good = proof(prove_consistency(&a, &sign(&a, 5, &provider()), &a9).unwrap());
        assert!(good.verify(&keys()).ok());
        proof(prove_consistency(&b, &sign(&b, 3, &provider()), &b5).unwrap());
        // ... but not the other's.
        let why = refused(prove_consistency(&a, &b5, &a9).unwrap());
        assert!(
            why.starts_with(
                "ledger does not match the older checkpoint: the Merkle root of entries 1–5 is"
            ),
            "{why}"
        );
        // A proof with the fork's checkpoint in place of the genuine one fails.
        let forged = ConsistencyProof {
            old: b5.clone(),
            ..good.clone()
        };
        let r = forged.verify(&keys());
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        assert!(
            r.problems[0].contains("forked or rewritten"),
            "{:?}",
            r.problems
        );
        // Same size, different roots.
        let same = ConsistencyProof {
            old: b5,
            hashes: vec![],
            new: sign(&a, 5, &provider()),
        };
        let r = same.verify(&keys());
        assert!(
            r.problems[0].starts_with("both checkpoints cover 5 entries but their roots differ"),
            "{:?}",
            r.problems
        );
        // Inclusion of a's entry 5 in b's checkpoint of 5 fails.
        let mut p = proof(prove_inclusion(&a, 5, &sign(&a, 5, &provider())).unwrap());
        p.checkpoint = sign(&b, 5, &provider());
        let r = p.verify(&keys());
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        assert!(
            r.problems[0].starts_with("the inclusion proof (line 4) does not lead"),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn proof_findings_name_the_failed_check() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir.path().join("l.db"), 3);
        let cp = sign(&l, 5, &provider());
        let good = proof(prove_inclusion(&l, 4, &cp).unwrap());
        let problems = |p: &InclusionProof, keys: &[PublicKey]| p.verify(keys).problems;
        // Only the provider trusted: the entry's signer (the customer) is not.
        let only = [provider().public()];
        assert_eq!(
            problems(&good, &only),
            [format!(
                "line 2: entry 4 is signed by key {}, which is not one of the trusted keys",
                customer().public().fingerprint()
            )]
        );
        // Only the customer trusted: nobody trusted signed the checkpoint.
        let p = problems(&good, &[customer().public()]);
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("line 8: checkpoint: not signed by any trusted key"),
            "{p:?}"
        );
        // The signature altered.
        let mut bad = good.clone();
        bad.signature[10] ^= 1;
        assert_eq!(
            problems(&bad, &keys()),
            [format!(
                "line 2: the signature of entry 4 does not verify with key {}: the entry text or its signature was altered",
                customer().public().fingerprint()
            )]
        );
        // The entry text altered: signature and inclusion fail.
        let mut bad = good.clone();
        let pos = bad.entry.iter().position(|&b| b == b'T').unwrap();
        bad.entry[pos - 1] = b'2';
        let p = problems(&bad, &keys());
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("does not verify with key"));
        assert!(p[1].starts_with("the inclusion proof (lines 4–6) does not lead"));
        // The index changed.
        let mut bad = good.clone();
        bad.index = 2;
        let p = problems(&bad, &keys());
        assert_eq!(
            p[0],
            "line 3: index 2 is entry 3, but the entry text says seq 4"
        );
        bad.index = 5;
        let p = problems(&bad, &keys());
        assert_eq!(
            p[1],
            "line 3: index 5 (entry 6) is not in the checkpoint of 5 entries"
        );
        // The checkpoint's signature altered: the note's signature line is line 8.
        let mut bad = good.clone();
        bad.checkpoint.note.signatures[0].signature[3] ^= 4;
        let p = problems(&bad, &keys());
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("line 12: checkpoint: signature by key vouch.ledger/"),
            "{p:?}"
        );
        // The entry from another ledger.
        let mut bad = good.clone();
        let other = "ledger: 06060606060606060606060606060606";
        let text = String::from_utf8(bad.entry.clone()).unwrap();
        let line = text.lines().nth(1).unwrap().to_string();
        bad.entry = text.replace(&line, other).into_bytes();
        bad.signature = customer().sign(&bad.entry);
        let p = problems(&bad, &keys());
        assert_eq!(
            p[0],
            "line 2: the entry is of ledger 06060606060606060606060606060606, the checkpoint of ledger 05050505050505050505050505050505"
        );
        // Not parseable entry text.
        let mut bad = good;
        bad.entry = b"hello\n".to_vec();
        let p = problems(&bad, &keys());
        assert!(
            p[0].starts_with(
                "line 2: the entry text in the extra data does not parse: entry text line"
            ),
            "{p:?}"
        );
    }

    #[test]
    fn proof_malformed_files_are_errors_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir.path().join("l.db"), 3);
        let cp = sign(&l, 5, &provider());
        let good = proof(prove_inclusion(&l, 4, &cp).unwrap()).to_string();
        let cons =
            proof(prove_consistency(&l, &sign(&l, 2, &provider()), &cp).unwrap()).to_string();
        let lines: Vec<&str> = good.lines().collect();
        let clines: Vec<&str> = cons.lines().collect();
        let with = |ls: &[&str], i: usize, s: &str| {
            let mut v: Vec<String> = ls.iter().map(|x| x.to_string()).collect();
            v[i] = s.to_string();
            v.join("\n") + "\n"
        };
        let err = |s: &str| {
            Proof::parse(s.as_bytes())
                .unwrap_err()
                .message()
                .to_string()
        };
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "the proof file is empty"),
            (
                good.replace('\n', "\r\n"),
                "line 1: carriage return (U+000D): lines end in LF only",
            ),
            (
                good.trim_end().to_string(),
                "line 12: the proof does not end in a newline",
            ),
            (
                with(&lines, 0, "c2sp.org/tlog-proof@v2"),
                "line 1: not a vouch proof: the first line is \"c2sp.org/tlog-proof@v2\", not \"c2sp.org/tlog-proof@v1\" or \"vouch/v1 consistency-proof\"",
            ),
            (
                format!("{INCLUSION_HEADER}\n"),
                "line 1: the proof ends here; expected \"extra <base64>\" on line 2",
            ),
            (
                with(&lines, 1, "index 3"),
                "line 2: no extra line: a vouch inclusion proof carries the entry text and its signature as extra data, before the index line",
            ),
            (
                with(&lines, 1, "extra AAAA"),
                "line 2: extra data has 3 bytes; a vouch proof's is an entry text of 1 to 512 bytes followed by its 64-byte signature",
            ),
            (
                with(&lines, 1, "extra AAA"),
                "line 2: extra data is not canonical standard base64 (RFC 4648 §4, padded)",
            ),
            (
                with(&lines, 1, "extra  AAAA"),
                "line 2: extra data is not canonical standard base64 (RFC 4648 §4, padded)",
            ),
            (
                with(&lines, 2, "index 03"),
                "line 3: index \"03\" has a leading zero",
            ),
            (
                with(&lines, 2, "index -3"),
                "line 3: index \"-3\" is not a decimal number",
            ),
            (
                with(&lines, 2, "index 18446744073709551616"),
                "line 3: index 18446744073709551616 does not fit in 64 bits",
            ),
            (
                with(&lines, 2, "Index 3"),
                "line 3: expected \"index N\", found \"Index 3\"",
            ),
            (
                with(&lines, 3, "AAAA"),
                "line 4: hash has 3 bytes; expected 32",
            ),
            (
                with(&lines, 3, "not base64!"),
                "line 4: not a hash: expected standard padded base64 of 32 bytes (RFC 4648 §4), or the empty line before the checkpoint",
            ),
            (
                with(&lines, 6, "x"),
                "line 7: not a hash: expected standard padded base64 of 32 bytes (RFC 4648 §4), or the empty line before the checkpoint",
            ),
            (
                lines[..7].join("\n") + "\n",
                "line 7: the proof ends here; expected the checkpoint on line 8",
            ),
            (
                with(&lines, 9, "VpugHr+0ACX3X0TsJQTicaxR1ZAkzdOA4uUbxWH6sfA"),
                "line 10: checkpoint: root hash is not canonical standard base64 (RFC 4648 §4, padded)",
            ),
            (
                with(&lines, 8, "01"),
                "line 9: checkpoint: tree size \"01\" has a leading zero",
            ),
            (
                with(&lines, 7, "example.com/log"),
                "line 8: checkpoint: origin \"example.com/log\" is not a vouch ledger's (vouch.ledger/ and 32 lowercase hex digits)",
            ),
            (
                with(&lines, 11, "- x y"),
                "line 12: checkpoint: signature line starts with '-', not an em dash (U+2014)",
            ),
            (
                format!("{good}x\n"),
                "line 13: checkpoint: not a signature line (em dash U+2014, space, key name, space, base64)",
            ),
            (
                with(&lines, 9, &format!("{}\nextension", lines[9])),
                "line 11: checkpoint: vouch checkpoints have no extension lines",
            ),
            // Consistency proofs.
            (
                with(&clines, 1, ""),
                "line 2: empty line where the older checkpoint's origin line should be",
            ),
            (
                with(&clines, 7, "old 3"),
                "line 8: old size 3 is not the older checkpoint's size 2 (line 3)",
            ),
            (
                with(&clines, 7, "new 2"),
                "line 8: expected \"old N\", found \"new 2\"",
            ),
            (
                with(&clines, 5, "x"),
                "line 6: older checkpoint: not a signature line (em dash U+2014, space, key name, space, base64)",
            ),
            (
                with(&clines, 2, "2x"),
                "line 3: older checkpoint: tree size \"2x\" is not a decimal number",
            ),
            (
                clines[..6].join("\n") + "\n",
                "line 6: the proof ends here; expected the empty line after the older checkpoint's signature lines",
            ),
            (
                with(&clines, clines.len() - 4, "5 "),
                format!(
                    "line {}: newer checkpoint: tree size \"5 \" is not a decimal number",
                    clines.len() - 3
                )
                .leak(),
            ),
        ];
        for (text, want) in &cases {
            assert_eq!(&err(text), want, "{text:?}");
        }
        let mut bytes = good.clone().into_bytes();
        bytes[30] = 0xff;
        assert_eq!(
            Proof::parse(&bytes).unwrap_err().message(),
            "line 2: not UTF-8 text"
        );
        bytes[30] = 0x07;
        assert_eq!(
            Proof::parse(&bytes).unwrap_err().message(),
            "line 2: control character U+0007 is not allowed"
        );
        // Too many hash lines.
        let many = format!(
            "{INCLUSION_HEADER}\n{}\n{}\n{}",
            lines[1],
            lines[2],
            format!("{}\n", lines[3]).repeat(65)
        );
        assert_eq!(err(&many), "line 68: more than 64 hash lines");
        // One kind where the other is expected.
        assert_eq!(
            InclusionProof::parse(cons.as_bytes())
                .unwrap_err()
                .message(),
            "line 1: a consistency proof, not an inclusion proof"
        );
        assert_eq!(
            ConsistencyProof::parse(good.as_bytes())
                .unwrap_err()
                .message(),
            "line 1: an inclusion proof, not a consistency proof"
        );
    }

    #[test]
    fn proof_refusals_and_errors_of_prove() {
        let dir = tempfile::tempdir().unwrap();
        let l = ledger(&dir.path().join("l.db"), 3);
        let cp = sign(&l, 4, &provider());
        let msg = |r: Result<Built<InclusionProof>>| r.unwrap_err().message().to_string();
        assert_eq!(
            msg(prove_inclusion(&l, 0, &cp)),
            "there is no entry 0: entries are numbered from 1"
        );
        assert_eq!(
            msg(prove_inclusion(&l, 5, &cp)),
            "entry 5 is not covered by the checkpoint of 4 entries (entries 1–4)"
        );
        // Another ledger's checkpoint.
        let mut foreign = Checkpoint {
            origin: vouch_origin(&LedgerId([6u8; 16])),
            ..cp.checkpoint.clone()
        };
        let note = foreign.sign(&foreign.origin.clone(), &provider()).unwrap();
        let fcp = SignedCheckpoint::from_note(note).unwrap();
        assert!(
            msg(prove_inclusion(&l, 2, &fcp)).starts_with(
                "the checkpoint is of another ledger: its origin is \"vouch.ledger/0606"
            )
        );
        // Larger than the ledger.
        foreign.origin = cp.checkpoint.origin.clone();
        foreign.size = 9;
        let big = SignedCheckpoint::from_note(
            foreign.sign(&foreign.origin.clone(), &provider()).unwrap(),
        )
        .unwrap();
        assert_eq!(
            refused(prove_inclusion(&l, 2, &big).unwrap()),
            "ledger does not match the checkpoint: the checkpoint covers 9 entries, and this ledger has no entry 9 (it was truncated, or is an older copy)"
        );
        // Another root.
        foreign.size = 4;
        foreign.root = [1u8; 32];
        let wrong = SignedCheckpoint::from_note(
            foreign.sign(&foreign.origin.clone(), &provider()).unwrap(),
        )
        .unwrap();
        let why = refused(prove_inclusion(&l, 2, &wrong).unwrap());
        assert!(
            why.starts_with(
                "ledger does not match the checkpoint: the Merkle root of entries 1–4 is "
            ),
            "{why}"
        );
        assert!(why.contains(&format!("the checkpoint says {}", "01".repeat(32))));
        // Signed by a key that is not registered.
        let stranger = sign(&l, 4, &SecretKey::from_seed(&[77u8; 32]));
        let why = refused(prove_inclusion(&l, 2, &stranger).unwrap());
        assert!(why.starts_with("the checkpoint is not validly signed by a key registered in this ledger: not signed by any trusted key"), "{why}");
        // A consistency proof the wrong way round.
        let e = prove_consistency(&l, &cp, &sign(&l, 2, &provider())).unwrap_err();
        assert_eq!(
            e.message(),
            "the older checkpoint covers 4 entries, more than the newer one's 2"
        );
        assert_eq!(
            e.hint_text(),
            Some("the older checkpoint comes first: swap --from and --to")
        );
    }

    #[test]
    fn proof_against_the_newest_recorded_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let mut l = ledger(&path, 3);
        assert!(newest_recorded_checkpoint(&l).unwrap().is_none());
        let t = parse_time("2026-07-01T00:00:00Z").unwrap();
        let (_, first) = l.checkpoint(&customer(), t).unwrap();
        append(&mut l, &customer(), 2);
        let (a, note) = l.checkpoint(&provider(), t).unwrap();
        assert_ne!(first, note);
        drop(l);
        let l = Ledger::open(&path, Access::ReadOnly).unwrap();
        let (seq, cp) = newest_recorded_checkpoint(&l).unwrap().unwrap();
        assert_eq!((seq, cp.checkpoint.size), (a.seq, a.seq - 1));
        assert_eq!(cp.note, note);
        let p = proof(prove_inclusion(&l, 7, &cp).unwrap());
        assert!(p.verify(&keys()).ok());
        // The checkpoint entry itself is in a later checkpoint only.
        assert!(prove_inclusion(&l, a.seq, &cp).is_err());
    }

    const WORKED_INCLUSION: &str = r#"c2sp.org/tlog-proof@v1
extra dm91Y2gvdjEgZW50cnkKbGVkZ2VyOiAwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZgpzZXE6IDMKcHJldjogZGUyMTU0YmY2MmM2YTg4NTNkYTNlMWM4ZThhMzNiNGU5OTIyMjE2Y2QzZWQ2OTg2MGE3ZWYyZmQ5NzAwNGQ4MAp0aW1lOiAyMDI2LTA3LTE1VDA5OjMwOjAwWgpraW5kOiBldmlkZW5jZQpzaWduZXI6IDFhYmNmNWJlZTkwYmE0M2EzY2M2NjJlMTg2ODMxZDhmYzBjYzlhMDQzMzc2YjkyMGFmNmJkMDc2NjUzNDc2NDkKcGF5bG9hZDogMDFiY2U3ZWZjZGU0ZjVjNDgxYTMyYTg5M2RiYjEzZDY4YTczOWU5NDY1NzMwOWY3NDMzNjA3NTI2NWE3N2E4Nwp+WkeaYRRCw4zv6Bsd5O/ZxY/UoGAj7hJPL/NksiMI83W5ksfG3HhyJ9sDXKQ40ONEcVTB0I1PcyeWMlrJvoUG
index 2
pfJEaTD6vzGxQyhRN7RYIdmjps3ONzxW9tfrNOTZDSw=
xoDbTXpOB9sqT/hbsUR/NsqpaKneveNEqJcrDOfngJs=
Fy6rG/WeHqPnCrNEgxjcKvzlYHfgP3ut3371OTvW/7E=
ajkr7eAbqvI6UWEU+2JtcwD8NdUNjGCNK0t8sundVlA=

vouch.ledger/0123456789abcdef0123456789abcdef
10
96NbTV3VvBEI8R3UQ2o63st9KvJexbtZUJi2DEGS4oU=

— vouch.ledger/0123456789abcdef0123456789abcdef L3U4WrTAoe+HxQVmb0e97+8xFIkPj9eWWkvAZNV+3UMLzfNtOizVoqRpSMyjJpSI51zElWHHqnkGctNlfw2cSVJkBAo=
"#;

    const WORKED_CONSISTENCY: &str = r#"vouch/v1 consistency-proof
vouch.ledger/0123456789abcdef0123456789abcdef
4
+J6Dq4aubPCCn7BooUsUvx2MvDsY+sEsGgLSU2xx59E=

— vouch.ledger/0123456789abcdef0123456789abcdef L3U4WqUQspOMsNJ9L0zy6QZXsa5br41bSsEQdx+doyAvo5DraaZLChj1QETMWE3f4X8mSjW3JvcwkWd7CTt2vi6xLQQ=

old 4
Fy6rG/WeHqPnCrNEgxjcKvzlYHfgP3ut3371OTvW/7E=
ajkr7eAbqvI6UWEU+2JtcwD8NdUNjGCNK0t8sundVlA=

vouch.ledger/0123456789abcdef0123456789abcdef
10
96NbTV3VvBEI8R3UQ2o63st9KvJexbtZUJi2DEGS4oU=

— vouch.ledger/0123456789abcdef0123456789abcdef L3U4WrTAoe+HxQVmb0e97+8xFIkPj9eWWkvAZNV+3UMLzfNtOizVoqRpSMyjJpSI51zElWHHqnkGctNlfw2cSVJkBAo=
"#;

    /// The worked example of FORMAT.md §15: the ten test-vector entries and the §13.5
    /// checkpoint (seed 07…07). `cargo test --lib proof_worked -- --nocapture` prints it.
    #[test]
    fn proof_worked_example() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
        let read = |name: String| std::fs::read(dir.join(name)).unwrap();
        let mut tree = MemoryTree::new();
        for n in 1..=10 {
            tree.push(&read(format!("entry-{n}.txt")));
        }
        let k = SecretKey::from_seed(&[7u8; 32]);
        let ledger = LedgerId::parse("0123456789abcdef0123456789abcdef").unwrap();
        let origin = vouch_origin(&ledger);
        let cp = |size| {
            let note = Checkpoint {
                origin: origin.clone(),
                size,
                root: merkle::root(&tree, size).unwrap(),
                extensions: vec![],
            }
            .sign(&origin, &k)
            .unwrap();
            SignedCheckpoint::from_note(note).unwrap()
        };
        let inclusion = InclusionProof {
            entry: read("entry-3.txt".into()),
            signature: read("entry-3.sig".into()).try_into().unwrap(),
            index: 2,
            hashes: merkle::inclusion_proof(&tree, 2, 10).unwrap(),
            checkpoint: cp(10),
        };
        let consistency = ConsistencyProof {
            old: cp(4),
            hashes: merkle::consistency_proof(&tree, 4, 10).unwrap(),
            new: cp(10),
        };
        println!("{inclusion}<end>\n{consistency}<end>");
        let customer = crate::crypto::keyfile::load_public(&dir.join("customer.pub")).unwrap();
        let trusted = [k.public(), customer];
        assert!(
            inclusion.verify(&trusted).ok(),
            "{:?}",
            inclusion.verify(&trusted).problems
        );
        assert!(consistency.verify(&trusted).ok());
        // Golden bytes; the inclusion proof is rechecked by hand in FORMAT.md §15.4.
        assert_eq!(inclusion.to_string(), WORKED_INCLUSION);
        assert_eq!(consistency.to_string(), WORKED_CONSISTENCY);
        assert_eq!(
            InclusionProof::parse(inclusion.to_string().as_bytes()).unwrap(),
            inclusion
        );
        assert_eq!(
            ConsistencyProof::parse(consistency.to_string().as_bytes()).unwrap(),
            consistency
        );
    }
}
