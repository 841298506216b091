//! Sampled bundles (`schema/FORMAT.md` §16.7, §16.9 step 3): each line is checked on its
//! own — its text, payload, signature and inclusion proof against the checkpoint — and
//! against the entries before it that the bundle holds (order, chain, time, the keys they
//! register, references).

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::findings::{Findings, rank};
use super::format::{BundleEntry, ENTRIES, decode_line, rotation_key};
use super::lines::{RawChunk, stream_lines};
use super::seen::Seen;
use crate::crypto::{self, Fingerprint, PublicKey};
use crate::error::Result;
use crate::format::entry::{EntryHeader, Kind, LedgerId, ZERO_HASH, format_time};
use crate::format::merkle::{self, Hash};
use crate::format::payload::{
    self, AdoptionPayload, CosignPayload, DelegationPayload, EvidencePayload, PartyPayload,
    ResponsePayload, RetractionPayload, SignoffPayload, WaiverPayload,
};
use crate::ledger::Progress;

/// Signatures per batch verification.
const BATCH: usize = 2048;

enum Parsed {
    Party(PartyPayload, Option<PublicKey>),
    Evidence(EvidencePayload),
    Adoption(AdoptionPayload),
    Reference(u64, String),
    /// A key rotation: the new key (`None` if it does not read).
    Rotation(Option<PublicKey>),
    Other,
}

fn decode_payload(h: &EntryHeader, bytes: &[u8]) -> Result<Parsed, String> {
    let kind = h.kind;
    Ok(match kind {
        Kind::Genesis | Kind::Party => {
            let p: PartyPayload = payload::decode_entry(bytes, h)?;
            let k = PublicKey::from_spki_base64(&p.public_key).ok();
            Parsed::Party(p, k)
        }
        Kind::Evidence => Parsed::Evidence(payload::decode_entry(bytes, h)?),
        Kind::Adoption => Parsed::Adoption(payload::decode_entry(bytes, h)?),
        Kind::Cosign => {
            let c: CosignPayload = payload::decode_entry(bytes, h)?;
            Parsed::Reference(c.entry, c.entry_sha256)
        }
        Kind::Retraction => {
            let r: RetractionPayload = payload::decode_entry(bytes, h)?;
            Parsed::Reference(r.entry, r.entry_sha256)
        }
        Kind::Waiver => {
            payload::decode_entry::<WaiverPayload>(bytes, h)?;
            Parsed::Other
        }
        Kind::Response => {
            let r: ResponsePayload = payload::decode_entry(bytes, h)?;
            match (r.entry, r.entry_sha256) {
                (Some(e), Some(sha)) => Parsed::Reference(e, sha),
                _ => Parsed::Other,
            }
        }
        Kind::Delegation => {
            payload::decode_entry::<DelegationPayload>(bytes, h)?;
            Parsed::Other
        }
        Kind::Signoff => {
            payload::decode_entry::<SignoffPayload>(bytes, h)?;
            Parsed::Other
        }
        // Kinds this module does not read member by member: a canonical JSON object.
        #[allow(unreachable_patterns)]
        _ => {
            let v: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| format!("payload is not JSON: {e}"))?;
            if !v.is_object() || payload::encode(&v).ok().as_deref() != Some(bytes) {
                return Err("payload is not a canonical JSON object (RFC 8785)".into());
            }
            if kind == Kind::KeyRotation {
                Parsed::Rotation(rotation_key(bytes))
            } else {
                Parsed::Other
            }
        }
    })
}

struct Pre {
    no: u64,
    entry: BundleEntry,
    header: Result<EntryHeader, String>,
    hash: Hash,
    parsed: Option<Parsed>,
    /// Findings that need no other entry: (check, what).
    own: Vec<(&'static str, String)>,
    proof_ok: bool,
}

fn pre_sample(no: u64, bytes: &[u8], cp: Option<(u64, Hash)>) -> Result<Pre, (u64, String)> {
    let entry = decode_line(bytes).map_err(|w| (no, w))?;
    let hash = crypto::sha256(&entry.body);
    let header = EntryHeader::parse(&entry.body).map_err(|e| e.to_string());
    let mut own = Vec::new();
    let mut parsed = None;
    if let Ok(h) = &header {
        if crypto::sha256(&entry.payload) == h.payload {
            match decode_payload(h, &entry.payload) {
                Ok(p) => parsed = Some(p),
                Err(e) => own.push(("payload", e)),
            }
        } else {
            own.push((
                "payload",
                "payload bytes do not match the payload hash in the signed entry".to_string(),
            ));
        }
    }
    let mut proof_ok = false;
    match (&entry.proof, cp) {
        (None, _) => own.push((
            "proof",
            "has no inclusion proof: a sampled bundle's lines each carry one".to_string(),
        )),
        (Some(_), None) => {}
        (Some(_), Some((size, _))) if entry.seq > size => own.push((
            "proof",
            format!("is beyond the checkpoint, which covers entries 1–{size}"),
        )),
        (Some(p), Some((size, root))) => {
            if merkle::verify_inclusion(
                &merkle::leaf_hash(&entry.body),
                entry.seq - 1,
                size,
                p,
                &root,
            ) {
                proof_ok = true;
            } else {
                own.push((
                    "proof",
                    format!("its inclusion proof does not lead to the root of the checkpoint's {size} entries"),
                ));
            }
        }
    }
    Ok(Pre {
        no,
        entry,
        header,
        hash,
        parsed,
        own,
        proof_ok,
    })
}

/// What a sampled pass counts.
#[derive(Default)]
pub(super) struct SampleOut {
    pub(super) signatures: u64,
    pub(super) proofs: u64,
    pub(super) used_pins: HashSet<Fingerprint>,
}

/// The state of a pass over a sampled bundle's lines.
struct Sampler<'a> {
    ledger: LedgerId,
    cp: Option<(u64, Hash)>,
    trust: Option<&'a HashSet<Fingerprint>>,
    seen: Seen,
    s: SampleOut,
    /// The hash of each entry read, for references.
    hashes: HashMap<u64, Hash>,
    /// The entry before: seq, hash and time.
    last: Option<(u64, Hash, DateTime<Utc>)>,
}

/// Check a sampled bundle's `entries.jsonl`, line by line.
pub(super) fn sample_pass(
    path: &Path,
    ledger: LedgerId,
    cp: Option<(u64, Hash)>,
    trust: Option<&HashSet<Fingerprint>>,
    expected: u64,
    progress: &dyn Progress,
    out: &mut Findings,
) -> Result<(Seen, SampleOut)> {
    let mut sampler = Sampler {
        ledger,
        cp,
        trust,
        seen: Seen::default(),
        s: SampleOut::default(),
        hashes: HashMap::new(),
        last: None,
    };
    progress.start(expected, "checking");
    let ((), hash, lines) = stream_lines(path, out, |rx, out| {
        for chunk in rx {
            sampler.chunk(chunk, progress, out);
        }
        Ok(())
    })?;
    progress.finish();
    let Sampler { mut seen, s, .. } = sampler;
    seen.hash = Some(hash);
    seen.lines = lines;
    // Lowest level first within an entry, entries in file order.
    out.0
        .sort_by_key(|f| (f.file != ENTRIES, f.line.unwrap_or(0), rank(&f.check)));
    Ok((seen, s))
}

impl Sampler<'_> {
    /// One chunk of lines: each read and checked on its own (on every core), then in order
    /// against the entries before it, then the signatures, in batches.
    fn chunk(&mut self, chunk: RawChunk, progress: &dyn Progress, out: &mut Findings) {
        let cp = self.cp;
        let pre: Vec<Result<Pre, (u64, String)>> = chunk
            .into_par_iter()
            .map(|(no, _, b)| pre_sample(no, &b, cp))
            .collect();
        let mut jobs: Vec<(usize, PublicKey)> = Vec::new();
        let mut ok_pre = Vec::with_capacity(pre.len());
        for p in pre {
            match p {
                Ok(p) => ok_pre.push(p),
                Err((no, what)) => out.file(ENTRIES, Some(no), "format", what),
            }
        }
        for (i, p) in ok_pre.iter().enumerate() {
            if let Some(k) = self.entry(p, out) {
                jobs.push((i, k));
            }
        }
        self.s.signatures += jobs.len() as u64;
        for (i, k) in bad_signatures(&ok_pre, &jobs) {
            let p = &ok_pre[i];
            let who = self
                .seen
                .book
                .get(&k.fingerprint())
                .map(|b| format!(" (party {:?})", b.id))
                .unwrap_or_default();
            out.entry(
                Some(p.no),
                p.entry.seq,
                "signature",
                format!(
                    "signature does not verify against key {}{who}",
                    k.fingerprint()
                ),
            );
        }
        progress.advance(ok_pre.len() as u64);
    }

    /// One entry, against the entries before it. Returns the key its signature is checked
    /// with, if the bundle registers one.
    fn entry(&mut self, p: &Pre, out: &mut Findings) -> Option<PublicKey> {
        let seq = p.entry.seq;
        let line = Some(p.no);
        if self.last.is_some_and(|(l, _, _)| seq <= l) {
            out.entry(line, seq, "format", "is not after the line before it: lines are in increasing seq order, each entry once");
            return None;
        }
        self.seen.line_of.push((seq, p.no));
        self.seen.with_proof += u64::from(p.entry.proof.is_some());
        self.s.proofs += u64::from(p.proof_ok);
        let h = match &p.header {
            Ok(h) => h,
            Err(e) => {
                out.entry(line, seq, "format", format!("malformed {e}"));
                return None;
            }
        };
        for (c, w) in &p.own {
            out.entry(line, seq, c, w.clone());
        }
        self.position(p, h, out);
        // The key the signature is checked with: the signer's, as registered by an
        // earlier entry of the bundle (genesis: the key it registers itself).
        let mut key = self.seen.book.get(&h.signer).map(|k| k.key);
        if let Some(k) = self.seen.book.get(&h.signer)
            && let Some(r) = k.retired_by
        {
            out.entry(
                line,
                seq,
                "registry",
                format!("signed by key {}, which entry {r} retired", h.signer),
            );
        }
        let signer = self.seen.book.get(&h.signer).map(|k| k.id.clone());
        self.register(p, h, &mut key, &signer, out);
        if key.is_none() {
            out.entry(
                line,
                seq,
                "registry",
                format!(
                    "signed by key {}, which no entry in the bundle registers",
                    h.signer
                ),
            );
        }
        self.contents(p, &signer, out);
        key
    }

    /// The entry's place: its seq and ledger, the chain and time against the entry before
    /// it, genesis first.
    fn position(&mut self, p: &Pre, h: &EntryHeader, out: &mut Findings) {
        let seq = p.entry.seq;
        let line = Some(p.no);
        if h.seq != seq {
            out.entry(
                line,
                seq,
                "position",
                format!(
                    "the line says entry {seq} but the text is signed as entry {}",
                    h.seq
                ),
            );
        }
        if h.ledger != self.ledger {
            out.entry(
                line,
                seq,
                "position",
                format!("belongs to ledger {}, not {}", h.ledger, self.ledger),
            );
        }
        if let Some((l, lh, lt)) = self.last {
            if l + 1 == seq && h.prev != lh {
                out.entry(
                    line,
                    seq,
                    "chain",
                    format!("chain broken: prev is not the hash of entry {l}"),
                );
            }
            if h.time < lt {
                out.entry(
                    line,
                    seq,
                    "time",
                    format!("time {} is earlier than entry {l}'s", format_time(&h.time)),
                );
            }
        } else if seq == 1 && h.prev != ZERO_HASH {
            out.entry(line, seq, "chain", "first entry must have prev of 64 zeros");
        }
        self.last = Some((seq, p.hash, h.time));
        self.hashes.insert(seq, p.hash);
        if (h.kind == Kind::Genesis) != (seq == 1) {
            out.entry(
                line,
                seq,
                "registry",
                if seq == 1 {
                    "the first entry must be genesis".to_string()
                } else {
                    "genesis entry after the first entry".to_string()
                },
            );
        }
    }

    /// A key the entry registers (a party's, or by a rotation), and whether it is pinned.
    /// Genesis: `key` becomes the key it registers itself.
    fn register(
        &mut self,
        p: &Pre,
        h: &EntryHeader,
        key: &mut Option<PublicKey>,
        signer: &Option<String>,
        out: &mut Findings,
    ) {
        let seq = p.entry.seq;
        let line = Some(p.no);
        let mut registered = None;
        match &p.parsed {
            Some(Parsed::Party(pp, Some(pk))) => {
                if h.kind == Kind::Genesis {
                    if pk.fingerprint() != h.signer {
                        out.entry(
                            line,
                            seq,
                            "registry",
                            "genesis must be signed by the key it registers",
                        );
                    }
                    *key = Some(*pk);
                }
                match self.seen.book.register(pp, *pk, seq) {
                    Ok(()) => registered = Some((pp.id.clone(), *pk, "is registered with")),
                    Err(e) => out.entry(line, seq, "registry", e),
                }
            }
            Some(Parsed::Party(pp, None)) => out.entry(
                line,
                seq,
                "payload",
                format!(
                    "party {:?}: its public key is not a valid Ed25519 key",
                    pp.id
                ),
            ),
            Some(Parsed::Rotation(new)) if key.is_some() => match new {
                None => out.entry(
                    line,
                    seq,
                    "payload",
                    "the new key of the rotation is not a valid Ed25519 key",
                ),
                Some(nk) => match self.seen.book.rotate(&h.signer, *nk, seq) {
                    Ok(()) => {
                        registered = signer.clone().map(|p| (p, *nk, "rotates to"));
                    }
                    Err(e) => out.entry(line, seq, "registry", e),
                },
            },
            _ => {}
        }
        if let Some((party, k, verb)) = registered
            && let Some(t) = self.trust
        {
            let fpr = k.fingerprint();
            if t.contains(&fpr) {
                self.s.used_pins.insert(fpr);
            } else {
                out.entry(
                    line,
                    seq,
                    "trust",
                    format!(
                        "party {party:?} {verb} key {fpr}, which is not among the trusted keys"
                    ),
                );
            }
        }
    }

    /// What the entry refers to, adopts or stores.
    fn contents(&mut self, p: &Pre, signer: &Option<String>, out: &mut Findings) {
        let seq = p.entry.seq;
        let line = Some(p.no);
        match &p.parsed {
            Some(Parsed::Reference(target, sha)) => {
                if *target >= seq {
                    out.entry(
                        line,
                        seq,
                        "reference",
                        format!("refers to entry {target}, which is not an earlier entry"),
                    );
                } else if let Some(th) = self.hashes.get(target)
                    && hex::encode(th) != *sha
                {
                    out.entry(
                        line,
                        seq,
                        "reference",
                        format!("refers to entry {target} by a hash that is not its hash"),
                    );
                }
            }
            Some(Parsed::Adoption(a)) => {
                if let Some(sp) = signer
                    && !a.bindings.values().any(|b| b == sp)
                {
                    out.entry(
                        line,
                        seq,
                        "registry",
                        format!("adoption signed by {sp:?}, which it does not bind to a role"),
                    );
                }
                for (r, pid) in &a.bindings {
                    match self.seen.book.roles.get(pid) {
                        None => out.entry(
                            line,
                            seq,
                            "reference",
                            format!("binds role {r} to unknown party {pid:?}"),
                        ),
                        Some(pr) if pr.as_str() != r => out.entry(
                            line,
                            seq,
                            "reference",
                            format!("binds role {r} to party {pid:?}, whose role is {pr}"),
                        ),
                        _ => {}
                    }
                }
                self.seen.adoptions.push((seq, a.clone()));
            }
            Some(Parsed::Evidence(e)) => {
                for a in e.artifacts.iter().filter(|a| a.stored) {
                    self.seen.stored.entry(a.sha256.clone()).or_insert((
                        seq,
                        p.no,
                        a.name.clone(),
                        a.size,
                    ));
                }
            }
            _ => {}
        }
    }
}

/// The signatures that do not verify: batches on every core, a failed batch re-checked one
/// by one to name the entry.
fn bad_signatures(pre: &[Pre], jobs: &[(usize, PublicKey)]) -> Vec<(usize, PublicKey)> {
    jobs.par_chunks(BATCH)
        .flat_map_iter(|part| {
            let ks: Vec<PublicKey> = part.iter().map(|(_, k)| *k).collect();
            let ms: Vec<&[u8]> = part
                .iter()
                .map(|(i, _)| pre[*i].entry.body.as_slice())
                .collect();
            let ss: Vec<&[u8]> = part
                .iter()
                .map(|(i, _)| pre[*i].entry.signature.as_slice())
                .collect();
            let bad: Vec<(usize, PublicKey)> = if crypto::verify_batch(&ks, &ms, &ss) {
                Vec::new()
            } else {
                part.iter()
                    .filter(|(i, k)| !k.verify(&pre[*i].entry.body, &pre[*i].entry.signature))
                    .copied()
                    .collect()
            };
            bad
        })
        .collect()
}
