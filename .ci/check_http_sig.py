#!/usr/bin/env python3
"""Check the request-signature vectors of schema/PROTOCOL.md section 3 with tools nobody
on vouch wrote: the `http-message-signatures` library (pyauth, RFC 9421) verifies each
request in tests/vectors/http/, and a from-scratch reconstruction of the signature base
(standard library only) must equal base-N.txt byte for byte and verify with `cryptography`.

Usage: check_http_sig.py [DIR]   (default tests/vectors/http)
"""

import base64
import datetime
import hashlib
import re
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from http_message_signatures import HTTPMessageVerifier, HTTPSignatureKeyResolver, algorithms

SIGNERS = {1: "customer", 2: "customer", 3: "provider"}
COMPONENTS = ("@method", "@target-uri", "content-digest")


def load_key(path):
    key = serialization.load_pem_public_key(path.read_bytes())
    assert isinstance(key, ed25519.Ed25519PublicKey), path
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest(), key


class Keys(HTTPSignatureKeyResolver):
    """keyid = the key's fingerprint: SHA-256 of its DER SubjectPublicKeyInfo (FORMAT.md section 2)."""

    def __init__(self, keys):
        self.keys = keys

    def resolve_public_key(self, key_id):
        return self.keys.get(key_id)


class Request:
    def __init__(self, method, url, headers):
        self.method, self.url, self.headers = method, url, headers


def parse(raw):
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode("ascii").split("\r\n")
    method, target, version = lines[0].split(" ")
    assert version == "HTTP/1.1", lines[0]
    headers = {}
    for line in lines[1:]:
        name, value = line.split(": ", 1)
        assert name not in headers, name
        headers[name] = value
    return method, target, headers, body


def base_by_hand(method, uri, headers):
    """RFC 9421 section 2.5, written out for this profile."""
    m = re.fullmatch(r'vouch=(\(.*?\))((?:;[a-z]+=(?:"[^"\\]*"|[0-9]+))+)', headers["Signature-Input"])
    assert m, headers["Signature-Input"]
    components = re.findall(r'"([^"]*)"', m.group(1))
    assert tuple(components) == COMPONENTS, components
    params = re.findall(r';([a-z]+)=', m.group(2))
    assert params == ["created", "keyid", "nonce", "alg"], params
    values = {"@method": method, "@target-uri": uri, "content-digest": headers["Content-Digest"]}
    lines = [f'"{c}": {values[c]}' for c in components]
    lines.append(f'"@signature-params": {m.group(1)}{m.group(2)}')
    return "\n".join(lines).encode("ascii")


def main():
    d = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/vectors/http")
    keys = dict(load_key(d / f"{name}.pub") for name in ("customer", "provider"))
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=Keys(keys))
    # The vectors have a fixed `created`; their freshness is not what is checked here.
    verifier.max_clock_skew = datetime.timedelta(days=365 * 100)
    for n, signer in SIGNERS.items():
        method, target, headers, body = parse((d / f"request-{n}.http").read_bytes())
        uri = f"https://{headers['Host']}{target}"
        digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
        assert headers["Content-Digest"] == digest, n
        if "Content-Length" in headers:
            assert int(headers["Content-Length"]) == len(body), n
        # 1. The library, as a server using it would call it.
        results = verifier.verify(
            Request(method, uri, headers), max_age=None, require_components=COMPONENTS, body=body
        )
        assert len(results) == 1 and results[0].label == "vouch", results
        params = results[0].parameters
        keyid = load_key(d / f"{signer}.pub")[0]
        assert params["keyid"] == keyid and params["alg"] == "ed25519", params
        assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", params["nonce"]), params
        # 2. The base by hand equals base-N.txt and the signature verifies over it.
        base = base_by_hand(method, uri, headers)
        assert base == (d / f"base-{n}.txt").read_bytes(), f"base-{n}.txt differs"
        sig = re.fullmatch(r"vouch=:([A-Za-z0-9+/=]+):", headers["Signature"]).group(1)
        keys[keyid].verify(base64.b64decode(sig, validate=True), base)
        # 3. And the library refuses the request with a changed body or URI.
        for bad_uri, bad_body in ((uri, body + b" "), (uri + "x", body)):
            try:
                verifier.verify(Request(method, bad_uri, headers), max_age=None, body=bad_body)
            except Exception:
                pass
            else:
                raise AssertionError(f"request-{n}.http: a tampered copy verified")
        print(f"request-{n}.http: verified by http-message-signatures, base-{n}.txt rebuilt ({signer})")


if __name__ == "__main__":
    main()
