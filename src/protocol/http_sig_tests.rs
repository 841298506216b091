//! Unit tests of request authentication: one signed request, then every way of breaking it.

use super::*;
use crate::protocol::replay::MemoryNonces;

const URI: &str = "https://vouch.example.net/v1/ledgers/0123456789abcdef0123456789abcdef/entries";
const BODY: &[u8] = br#"{"base":{"hash":"00","seq":1},"entries":[]}"#;
const T: i64 = 1_784_102_400;
const NONCE: &str = "unit-test-nonce-0001";

fn key() -> SecretKey {
    SecretKey::from_seed(&[9u8; 32])
}

fn signed() -> SignedHeaders {
    sign_request(&key(), "POST", URI, BODY, T, NONCE).unwrap()
}

/// Verify against the one known key with a fresh replay cache.
fn verify(
    method: &str,
    uri: &str,
    body: &[u8],
    h: &ReceivedHeaders<'_>,
    now: i64,
) -> std::result::Result<Fingerprint, AuthError> {
    let public = key().public();
    let lookup = move |f: &Fingerprint| (*f == public.fingerprint()).then_some(public);
    verify_request(
        method,
        uri,
        body,
        h,
        now,
        lookup,
        &mut MemoryNonces::new(16),
    )
}

/// Verify the good request with one header replaced.
fn with_input(input: &str) -> std::result::Result<Fingerprint, AuthError> {
    let s = signed();
    let mut h = s.received();
    h.signature_input = Some(input);
    verify("POST", URI, BODY, &h, T)
}

fn with_signature(sig: &str) -> std::result::Result<Fingerprint, AuthError> {
    let s = signed();
    let mut h = s.received();
    h.signature = Some(sig);
    verify("POST", URI, BODY, &h, T)
}

#[test]
fn a_signed_request_verifies_and_names_its_key() {
    let s = signed();
    assert_eq!(
        verify("POST", URI, BODY, &s.received(), T),
        Ok(key().public().fingerprint())
    );
    assert_eq!(
        s.signature_input,
        format!(
            "vouch=(\"@method\" \"@target-uri\" \"content-digest\");created={T};keyid=\"{}\";nonce=\"{NONCE}\";alg=\"ed25519\"",
            key().public().fingerprint()
        )
    );
    // The signature is over the base, nothing else.
    let params = parse_signature_input(&s.signature_input).unwrap();
    let base = signature_base("POST", URI, &s.content_digest, &params);
    let sig = parse_signature(&s.signature).unwrap();
    assert!(key().public().verify(base.as_bytes(), &sig));
    assert!(!base.ends_with('\n'));
}

#[test]
fn content_digest_of_the_empty_body_is_the_rfc_value() {
    assert_eq!(
        content_digest(b""),
        "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
    );
    // RFC 9530 appendix B.2: {"hello": "world"}
    assert_eq!(
        content_digest(b"{\"hello\": \"world\"}"),
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    );
}

#[test]
fn tampered_method_uri_or_body_is_refused() {
    let s = signed();
    let h = s.received();
    assert_eq!(
        verify("PUT", URI, BODY, &h, T),
        Err(AuthError::BadSignature)
    );
    assert_eq!(
        verify("POST", &URI.replace("0123", "3210"), BODY, &h, T),
        Err(AuthError::BadSignature)
    );
    assert_eq!(
        verify("POST", &format!("{URI}?x=1"), BODY, &h, T),
        Err(AuthError::BadSignature)
    );
    assert_eq!(
        verify("POST", URI, b"{}", &h, T),
        Err(AuthError::DigestMismatch)
    );
    assert!(matches!(
        verify("post", URI, BODY, &h, T),
        Err(AuthError::BadMethod(_))
    ));
    assert!(matches!(
        verify("POST", "/v1/ledgers", BODY, &h, T),
        Err(AuthError::BadTargetUri(_))
    ));
    assert!(matches!(
        verify("POST", "https://a b/", BODY, &h, T),
        Err(AuthError::BadTargetUri(_))
    ));
}

#[test]
fn a_digest_changed_with_the_body_breaks_the_signature() {
    let s = signed();
    let other = content_digest(b"{}");
    let mut h = s.received();
    h.content_digest = Some(&other);
    assert_eq!(
        verify("POST", URI, b"{}", &h, T),
        Err(AuthError::BadSignature)
    );
    for bad in [
        "sha-512=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE:",
        "sha-256=:AAAA:",
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
    ] {
        h.content_digest = Some(bad);
        let r = verify("POST", URI, BODY, &h, T);
        assert!(
            matches!(
                r,
                Err(AuthError::Malformed {
                    field: "Content-Digest",
                    ..
                })
            ),
            "{bad}: {r:?}"
        );
    }
}

#[test]
fn another_key_or_an_unknown_key_is_refused() {
    let other = SecretKey::from_seed(&[10u8; 32]);
    let s = sign_request(&other, "POST", URI, BODY, T, NONCE).unwrap();
    assert_eq!(
        verify("POST", URI, BODY, &s.received(), T),
        Err(AuthError::UnknownKey(other.public().fingerprint()))
    );
    // Other's signature presented under our keyid.
    let good = signed();
    let mut h = good.received();
    h.signature = Some(&s.signature);
    assert_eq!(
        verify("POST", URI, BODY, &h, T),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn created_outside_the_window_is_refused_either_way() {
    let s = signed();
    let h = s.received();
    assert!(verify("POST", URI, BODY, &h, T + WINDOW_SECS).is_ok());
    assert!(verify("POST", URI, BODY, &h, T - WINDOW_SECS).is_ok());
    assert_eq!(
        verify("POST", URI, BODY, &h, T + WINDOW_SECS + 1),
        Err(AuthError::OutsideWindow {
            created: T,
            now: T + WINDOW_SECS + 1
        })
    );
    assert_eq!(
        verify("POST", URI, BODY, &h, T - WINDOW_SECS - 1),
        Err(AuthError::OutsideWindow {
            created: T,
            now: T - WINDOW_SECS - 1
        })
    );
}

#[test]
fn a_replayed_nonce_is_refused_and_a_failed_request_records_nothing() {
    let public = key().public();
    let lookup = move |f: &Fingerprint| (*f == public.fingerprint()).then_some(public);
    let mut cache = MemoryNonces::new(16);
    let s = signed();
    // A tampered request with the same nonce first: refused, and not recorded.
    assert_eq!(
        verify_request("PUT", URI, BODY, &s.received(), T, lookup, &mut cache),
        Err(AuthError::BadSignature)
    );
    assert!(cache.is_empty());
    assert!(verify_request("POST", URI, BODY, &s.received(), T, lookup, &mut cache).is_ok());
    assert_eq!(
        verify_request("POST", URI, BODY, &s.received(), T + 10, lookup, &mut cache),
        Err(AuthError::Replayed {
            keyid: key().public().fingerprint(),
            nonce: NONCE.into()
        })
    );
    // A new nonce is a new request.
    let s2 = sign_request(&key(), "POST", URI, BODY, T, "unit-test-nonce-0002").unwrap();
    assert!(verify_request("POST", URI, BODY, &s2.received(), T, lookup, &mut cache).is_ok());
}

#[test]
fn missing_fields_are_named() {
    let s = signed();
    for (i, name) in ["Content-Digest", "Signature-Input", "Signature"]
        .into_iter()
        .enumerate()
    {
        let mut h = s.received();
        match i {
            0 => h.content_digest = None,
            1 => h.signature_input = None,
            _ => h.signature = None,
        }
        assert_eq!(
            verify("POST", URI, BODY, &h, T),
            Err(AuthError::MissingField(name))
        );
    }
}

#[test]
fn other_labels_components_and_members_are_refused() {
    let good = signed().signature_input;
    let rest = good.strip_prefix("vouch=").unwrap();
    assert_eq!(
        with_input(&format!("sig1={rest}")),
        Err(AuthError::WrongLabel("sig1".into()))
    );
    assert!(matches!(
        with_input(&format!("Vouch={rest}")),
        Err(AuthError::Malformed { .. })
    ));
    for comps in [
        r#"("@method" "@target-uri")"#,
        r#"("@method" "content-digest" "@target-uri")"#,
        r#"("@method" "@authority" "@target-uri" "content-digest")"#,
        r#"( "@method" "@target-uri" "content-digest")"#,
    ] {
        let input = good.replace(COMPONENTS, comps);
        assert_eq!(
            with_input(&input),
            Err(AuthError::WrongComponents),
            "{input}"
        );
    }
    // A second member, or whitespace, is not the one form.
    for input in [
        format!("{good}, other={rest}"),
        format!("{good} "),
        format!("vouch= {rest}"),
        good.replace(";keyid", "; keyid"),
    ] {
        assert!(
            matches!(with_input(&input), Err(AuthError::Malformed { .. })),
            "{input}: {:?}",
            with_input(&input)
        );
    }
    assert_eq!(
        with_signature(&signed().signature.replace("vouch=", "sig1=")),
        Err(AuthError::WrongLabel("sig1".into()))
    );
}

#[test]
fn extra_missing_duplicated_or_reordered_params_are_refused() {
    let good = signed().signature_input;
    assert_eq!(
        with_input(&format!("{good};expires={}", T + 60)),
        Err(AuthError::UnknownParam("expires".into()))
    );
    assert_eq!(
        with_input(&good.replace(";alg=", ";tag=\"x\";alg=")),
        Err(AuthError::UnknownParam("tag".into()))
    );
    assert_eq!(
        with_input(&format!("{good};nonce=\"unit-test-nonce-0009\"")),
        Err(AuthError::DuplicateParam("nonce".into()))
    );
    assert_eq!(
        with_input(&good.replace(";alg=\"ed25519\"", "")),
        Err(AuthError::MissingParam("alg"))
    );
    let nonce = format!(";nonce=\"{NONCE}\"");
    assert_eq!(
        with_input(&good.replace(&nonce, "")),
        Err(AuthError::MissingParam("nonce"))
    );
    assert_eq!(
        with_input(&format!("{}{nonce}", good.replace(&nonce, ""))),
        Err(AuthError::ParamOrder)
    );
}

#[test]
fn bad_param_values_are_refused() {
    let good = signed().signature_input;
    let cases = [
        (format!("created=\"{T}\""), "created"),
        ("created=-5".to_string(), "created"),
        ("keyid=\"abc\"".to_string(), "keyid"),
        (
            format!(
                "keyid=\"{}\"",
                key().public().fingerprint().to_string().to_uppercase()
            ),
            "keyid",
        ),
        ("nonce=\"short\"".to_string(), "nonce"),
        (format!("nonce=\"{}\"", "a".repeat(65)), "nonce"),
        ("nonce=\"unit-test-nonce-00/1\"".to_string(), "nonce"),
        ("alg=\"rsa-pss-sha512\"".to_string(), "alg"),
    ];
    for (replacement, param) in cases {
        let name = replacement.split('=').next().unwrap();
        let start = good.find(&format!(";{name}=")).unwrap() + 1;
        let end = good[start..].find(';').map_or(good.len(), |i| start + i);
        let input = format!("{}{replacement}{}", &good[..start], &good[end..]);
        let r = with_input(&input);
        assert!(
            matches!(&r, Err(AuthError::BadParam { param: p, .. }) if *p == param),
            "{input}: {r:?}"
        );
    }
    // Not an integer nor a string at all.
    let r = with_input(&good.replace(&format!("created={T}"), "created=?1"));
    assert!(matches!(r, Err(AuthError::Malformed { .. })), "{r:?}");
}

#[test]
fn malformed_signature_values_are_refused() {
    let good = signed().signature;
    let b64 = good
        .strip_prefix("vouch=:")
        .unwrap()
        .strip_suffix(':')
        .unwrap();
    let short = base64_encode(&[1u8; 63]);
    for bad in [
        format!("vouch={b64}"),
        format!("vouch=:{}:", &b64[..b64.len() - 2]),
        format!("vouch=:{}:", b64.replace('=', "")),
        format!("vouch=:{short}:"),
        format!("vouch=:{b64}:, vouch=:{b64}:"),
        format!("vouch=:{}!:", &b64[..b64.len() - 1]),
    ] {
        let r = with_signature(&bad);
        assert!(
            matches!(
                r,
                Err(AuthError::Malformed {
                    field: "Signature",
                    ..
                })
            ),
            "{bad}: {r:?}"
        );
    }
    // Well formed, but one bit flipped.
    let mut sig = parse_signature(&good).unwrap();
    sig[10] ^= 1;
    assert_eq!(
        with_signature(&format!("vouch=:{}:", base64_encode(&sig))),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn signing_refuses_what_verification_would() {
    assert!(sign_request(&key(), "post", URI, BODY, T, NONCE).is_err());
    assert!(sign_request(&key(), "POST", "/v1/x", BODY, T, NONCE).is_err());
    assert!(sign_request(&key(), "POST", URI, BODY, T, "short").is_err());
    assert!(sign_request(&key(), "POST", URI, BODY, T, "has\"quote-0123456789").is_err());
    let n = new_nonce().unwrap();
    assert_eq!(n.len(), 22);
    assert!(check_nonce(&n).is_ok());
    assert_ne!(n, new_nonce().unwrap());
}

#[test]
fn errors_map_to_problem_statuses() {
    assert_eq!(AuthError::BadSignature.status(), 401);
    assert_eq!(AuthError::ReplayCacheFull.status(), 503);
    let e: Error = AuthError::OutsideWindow {
        created: 0,
        now: 400,
    }
    .into();
    assert!(e.message().contains("-400s"), "{}", e.message());
    assert!(e.hint_text().unwrap().contains("clock"));
}
