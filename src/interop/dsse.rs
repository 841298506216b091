//! DSSE envelopes (<https://github.com/secure-systems-lab/dsse>, v1) carrying in-toto
//! Statements v1, signed with Ed25519 (`schema/FORMAT.md` §18.2 and §18.3).
//!
//! [`trestle_statement`] is the statement compliance-trestle signs for a JSON file
//! (`trestle sign --beta`): the SHA-256 of the file's RFC 8785 canonical form under
//! trestle's OSCAL-signing predicate, so `trestle verify --beta` accepts what vouch signs.
//! A signature's `keyid` is the key's securesystemslib default key id ([`sslib_keyid`]),
//! as trestle and securesystemslib write it.

use serde_json::{Value, json};

use crate::crypto::{self, PublicKey, SecretKey};
use crate::error::{Error, Result};

/// The DSSE payload type of an in-toto Statement.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The in-toto Statement type, version 1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// compliance-trestle's predicate type for a signed OSCAL (JSON) file.
pub const TRESTLE_PREDICATE: &str =
    "https://oscal-compass.github.io/compliance-trestle/predicates/oscal-signing/v1";

/// The DSSE pre-authentication encoding: `DSSEv1 LEN(type) type LEN(payload) payload`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// securesystemslib's default key id of an Ed25519 key: SHA-256 (hex) of the canonical
/// JSON `{"keytype":"ed25519","keyval":{"public":HEX},"scheme":"ed25519"}`.
pub fn sslib_keyid(key: &PublicKey) -> String {
    let raw = &key.spki_der()[crypto::SPKI_PREFIX.len()..];
    let text = format!(
        "{{\"keytype\":\"ed25519\",\"keyval\":{{\"public\":\"{}\"}},\"scheme\":\"ed25519\"}}",
        hex::encode(raw)
    );
    hex::encode(crypto::sha256(text.as_bytes()))
}

/// The RFC 8785 canonical bytes of a JSON value.
///
/// # Errors
///
/// A value JSON cannot canonicalise (not expected for values read from JSON).
pub fn canonical(v: &Value) -> Result<Vec<u8>> {
    serde_json_canonicalizer::to_vec(v).map_err(|e| Error::new(format!("canonical JSON: {e}")))
}

/// The statement compliance-trestle signs for a JSON file named `subject` whose bytes are
/// `json`: its RFC 8785 canonical form's SHA-256.
///
/// # Errors
///
/// `json` is not JSON.
pub fn trestle_statement(subject: &str, json: &[u8]) -> Result<Value> {
    let v: Value = serde_json::from_slice(json)
        .map_err(|e| Error::new(format!("{subject}: not JSON: {e}")))?;
    let digest = hex::encode(crypto::sha256(&canonical(&v)?));
    Ok(json!({
        "_type": STATEMENT_TYPE,
        "subject": [{"name": subject, "digest": {"sha256": digest}}],
        "predicateType": TRESTLE_PREDICATE,
        "predicate": {
            "canonicalization": "RFC8785",
            "digestAlgorithm": "sha256",
            "digestSource": "canonical-json",
            "tool": "compliance-trestle",
        },
    }))
}

/// A DSSE envelope: its payload and signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The payload bytes (the statement's canonical JSON).
    pub payload: Vec<u8>,
    /// Signatures: key id and signature bytes, in the order they were added.
    pub signatures: Vec<(String, Vec<u8>)>,
}

impl Envelope {
    /// An envelope of `statement` (its RFC 8785 bytes), signed by `key`.
    ///
    /// # Errors
    ///
    /// A statement JSON cannot canonicalise.
    pub fn sign(statement: &Value, key: &SecretKey) -> Result<Envelope> {
        let mut e = Envelope {
            payload: canonical(statement)?,
            signatures: Vec::new(),
        };
        e.add_signature(key);
        Ok(e)
    }

    /// Add `key`'s signature (replacing an earlier one by the same key: one per key).
    pub fn add_signature(&mut self, key: &SecretKey) {
        let keyid = sslib_keyid(&key.public());
        let sig = key.sign(&pae(PAYLOAD_TYPE, &self.payload)).to_vec();
        self.signatures.retain(|(k, _)| *k != keyid);
        self.signatures.push((keyid, sig));
    }

    /// Whether `key` signed the payload.
    pub fn signed_by(&self, key: &PublicKey) -> bool {
        let pae = pae(PAYLOAD_TYPE, &self.payload);
        self.signatures.iter().any(|(_, s)| key.verify(&pae, s))
    }

    /// The payload as JSON.
    ///
    /// # Errors
    ///
    /// The payload is not JSON.
    pub fn statement(&self) -> Result<Value> {
        serde_json::from_slice(&self.payload)
            .map_err(|e| Error::new(format!("the DSSE payload is not JSON: {e}")))
    }

    /// The envelope as JSON text: keys sorted, two-space indent, final newline (as
    /// compliance-trestle writes it).
    pub fn to_json(&self) -> String {
        let sigs: Vec<Value> = self
            .signatures
            .iter()
            .map(|(k, s)| json!({"keyid": k, "sig": crypto::base64_encode(s)}))
            .collect();
        let v = json!({
            "payload": crypto::base64_encode(&self.payload),
            "payloadType": PAYLOAD_TYPE,
            "signatures": sigs,
        });
        serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
    }

    /// Read an envelope written by [`Envelope::to_json`] (or by trestle).
    ///
    /// # Errors
    ///
    /// Not a DSSE envelope of an in-toto Statement.
    pub fn parse(text: &str) -> Result<Envelope> {
        let bad = |what: &str| {
            Error::new(format!("not a DSSE envelope: {what}"))
                .hint("give the .dsse.json file vouch or trestle wrote")
        };
        let v: Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
        if v["payloadType"] != PAYLOAD_TYPE {
            return Err(bad("its payloadType is not application/vnd.in-toto+json"));
        }
        let payload = v["payload"]
            .as_str()
            .and_then(crypto::base64_decode)
            .ok_or_else(|| bad("no base64 payload"))?;
        let mut signatures = Vec::new();
        for s in v["signatures"]
            .as_array()
            .ok_or_else(|| bad("no signatures"))?
        {
            let sig = s["sig"]
                .as_str()
                .and_then(crypto::base64_decode)
                .ok_or_else(|| bad("a signature is not base64"))?;
            signatures.push((s["keyid"].as_str().unwrap_or_default().to_string(), sig));
        }
        Ok(Envelope {
            payload,
            signatures,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_is_the_dsse_v1_encoding() {
        // The DSSE specification's example (protocol.md, "Test Vectors").
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn envelopes_round_trip_and_take_one_signature_per_key() {
        let (a, b) = (
            SecretKey::from_seed(&[1; 32]),
            SecretKey::from_seed(&[2; 32]),
        );
        let st = trestle_statement("x.json", br#"{"b": 1, "a": [true]}"#).unwrap();
        // The digest is of the canonical form: spacing and key order do not matter.
        assert_eq!(
            st,
            trestle_statement("x.json", br#"{"a":[true],"b":1}"#).unwrap()
        );
        let mut e = Envelope::sign(&st, &a).unwrap();
        e.add_signature(&b);
        e.add_signature(&a);
        assert_eq!(e.signatures.len(), 2);
        let back = Envelope::parse(&e.to_json()).unwrap();
        assert_eq!(back, e);
        assert!(back.signed_by(&a.public()) && back.signed_by(&b.public()));
        let mut bad = back.clone();
        bad.payload[3] ^= 1;
        assert!(!bad.signed_by(&a.public()));
        assert_eq!(back.statement().unwrap(), st);
    }
}
