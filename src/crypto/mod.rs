//! Hashing, signing and key handling: the only module that imports `sha2` and
//! `ed25519-dalek`.
//!
//! Implements `schema/FORMAT.md` §2 (keys and fingerprints). Signing and verification are
//! plain Ed25519 (RFC 8032) over the exact entry bytes; batch verification is used for speed
//! and any batch that fails is re-checked one signature at a time so the failing entry can
//! be named.

pub mod keyfile;

use base64::Engine as _;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, KeypairBytes};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};
use std::fmt;

use crate::error::{Error, Result};

/// DER prefix of an Ed25519 `SubjectPublicKeyInfo` (RFC 8410): the 32 key bytes follow.
pub const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// SHA-256 of a byte string.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Incremental SHA-256, for streaming artefacts.
#[derive(Default, Clone)]
pub struct Hasher(Sha256);

impl Hasher {
    /// Feed bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// Standard padded base64 (RFC 4648 §4): the one spelling of every base64 field vouch
/// writes (`schema/FORMAT.md` §1).
pub fn base64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decode standard padded base64, accepting only its one canonical spelling (padding
/// present, unused trailing bits zero): the decoder every format uses.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    (base64_encode(&bytes) == s).then_some(bytes)
}

/// A key fingerprint: SHA-256 of the key's DER `SubjectPublicKeyInfo` (44 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// Parse 64 lowercase hex digits.
    pub fn parse(s: &str) -> Option<Self> {
        parse_hex32(s).map(Self)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Parse exactly 64 lowercase hex digits into 32 bytes (uppercase is refused: one spelling).
pub fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    decode_lower_hex::<32>(s.as_bytes())
}

/// Value of each byte as a lowercase hex digit, or 0xff.
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Decode exactly `2 * N` lowercase hex digits (hot in verification: one pass, no
/// allocation).
pub fn decode_lower_hex<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (o, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        let (hi, lo) = (HEX[pair[0] as usize], HEX[pair[1] as usize]);
        if (hi | lo) == 0xff {
            return None;
        }
        *o = (hi << 4) | lo;
    }
    Some(out)
}

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// From the 32 raw key bytes; weak (small-order) keys are refused.
    pub fn from_raw(bytes: &[u8; 32]) -> Result<Self> {
        let key = VerifyingKey::from_bytes(bytes)
            .map_err(|_| Error::new("not a valid Ed25519 public key"))?;
        if key.is_weak() {
            return Err(Error::new("weak (small-order) Ed25519 public key refused"));
        }
        Ok(Self(key))
    }

    /// From the 44-byte DER `SubjectPublicKeyInfo`.
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        match der.strip_prefix(&SPKI_PREFIX[..]) {
            Some(raw) if raw.len() == 32 => {
                let mut b = [0u8; 32];
                b.copy_from_slice(raw);
                Self::from_raw(&b)
            }
            _ => Err(Error::new(
                "not an Ed25519 SubjectPublicKeyInfo (expected 44 DER bytes)",
            )),
        }
    }

    /// From base64 of the DER `SubjectPublicKeyInfo` (the form stored in party payloads).
    pub fn from_spki_base64(s: &str) -> Result<Self> {
        let der = base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|_| Error::new("public key is not valid base64"))?;
        let key = Self::from_spki_der(&der)?;
        if key.spki_base64() != s {
            return Err(Error::new("public key is not in canonical base64"));
        }
        Ok(key)
    }

    /// From an SPKI PEM document (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self> {
        let key = VerifyingKey::from_public_key_pem(pem.trim())
            .map_err(|_| Error::new("not an Ed25519 public key in PEM form (BEGIN PUBLIC KEY)"))?;
        Self::from_raw(key.as_bytes())
    }

    /// The 44-byte DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> [u8; 44] {
        let mut out = [0u8; 44];
        out[..12].copy_from_slice(&SPKI_PREFIX);
        out[12..].copy_from_slice(self.0.as_bytes());
        out
    }

    /// Base64 (standard alphabet, padded) of the DER `SubjectPublicKeyInfo`.
    pub fn spki_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.spki_der())
    }

    /// SPKI PEM text, as `openssl pkey -pubin` reads it.
    pub fn to_pem(&self) -> String {
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            self.spki_base64()
        )
    }

    /// The key fingerprint (`schema/FORMAT.md` §2).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint(sha256(&self.spki_der()))
    }

    /// Check one signature (RFC 8032, strict: non-canonical and small-order components refused).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = Signature::from_slice(signature) else {
            return false;
        };
        self.0.verify_strict(message, &sig).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint())
    }
}

/// An Ed25519 private key. Never printed, zeroised on drop by ed25519-dalek.
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| Error::new(format!("cannot read the system random source: {e}")))?;
        Ok(Self::from_seed(&seed))
    }

    /// The key of a fixed 32-byte seed (test vectors and the demo only).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    /// From a PKCS#8 PEM document (v1 or v2).
    pub fn from_pem(pem: &str) -> Result<Self> {
        SigningKey::from_pkcs8_pem(pem.trim())
            .map(Self)
            .map_err(|_| Error::new("not an Ed25519 private key in PKCS#8 PEM form"))
    }

    /// PKCS#8 v1 PEM (`-----BEGIN PRIVATE KEY-----`), which OpenSSL 3.0 reads.
    pub fn to_pem(&self) -> Result<String> {
        let bytes = KeypairBytes {
            secret_key: self.0.to_bytes(),
            public_key: None,
        };
        bytes
            .to_pkcs8_pem(LineEnding::LF)
            .map(|z| z.to_string())
            .map_err(|e| Error::new(format!("cannot encode private key: {e}")))
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Sign a message (deterministic, RFC 8032).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

/// Verify many `(key, message, signature)` triples at once. `true` only if all are valid.
/// Malformed signatures make the batch fail; callers re-check one by one to find which.
pub fn verify_batch(keys: &[PublicKey], messages: &[&[u8]], signatures: &[&[u8]]) -> bool {
    let mut sigs = Vec::with_capacity(signatures.len());
    for s in signatures {
        match Signature::from_slice(s) {
            Ok(sig) => sigs.push(sig),
            Err(_) => return false,
        }
    }
    let vks: Vec<VerifyingKey> = keys.iter().map(|k| k.0).collect();
    ed25519_dalek::verify_batch(messages, &sigs, &vks).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_and_fingerprint() {
        let k = SecretKey::from_seed(&[7u8; 32]);
        let pem = k.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let back = SecretKey::from_pem(&pem).unwrap();
        assert_eq!(back.public(), k.public());
        let p = PublicKey::from_pem(&k.public().to_pem()).unwrap();
        assert_eq!(p.fingerprint(), k.public().fingerprint());
        assert_eq!(p.fingerprint().0, sha256(&p.spki_der()));
    }

    #[test]
    fn sign_verify_and_batch() {
        let k = SecretKey::from_seed(&[1u8; 32]);
        let sig = k.sign(b"hello");
        assert!(k.public().verify(b"hello", &sig));
        assert!(!k.public().verify(b"hellp", &sig));
        let pk = [k.public(), k.public()];
        assert!(verify_batch(&pk, &[b"hello", b"hello"], &[&sig, &sig]));
        assert!(!verify_batch(&pk, &[b"hello", b"x"], &[&sig, &sig]));
    }

    #[test]
    fn hex32_is_strict() {
        assert!(parse_hex32(&"ab".repeat(32)).is_some());
        assert!(parse_hex32(&"AB".repeat(32)).is_none());
        assert!(parse_hex32(&"ab".repeat(31)).is_none());
    }
}
