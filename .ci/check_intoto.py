#!/usr/bin/env python3
"""Verify vouch's in-toto attestations with securesystemslib (an implementation nobody on
the project wrote): each DSSE envelope's signature under the party's public key, the
in-toto Statement v1 it carries, and, for artefacts found in ARTIFACT_DIR, their SHA-256.

usage: check_intoto.py PUBKEY.pem ENVELOPE.json... [--artifacts DIR]
Exit 0 when every envelope verifies, 1 otherwise (each failure on stderr)."""

import base64
import hashlib
import json
import os
import sys

from cryptography.hazmat.primitives import serialization
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey


def main(argv):
    artifacts = None
    if "--artifacts" in argv:
        i = argv.index("--artifacts")
        artifacts = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    pub, files = argv[0], argv[1:]
    with open(pub, "rb") as f:
        key = SSlibKey.from_crypto(serialization.load_pem_public_key(f.read()))
    bad = 0
    for path in files:
        try:
            with open(path, encoding="utf-8") as f:
                env = Envelope.from_dict(json.load(f))
            assert env.payload_type == "application/vnd.in-toto+json", env.payload_type
            env.verify([key], 1)
            st = json.loads(env.payload)
            assert st["_type"] == "https://in-toto.io/Statement/v1", st["_type"]
            assert st["predicateType"] == "urn:vouch:evidence:v1", st["predicateType"]
            pred = st["predicate"]
            assert st["subject"][0]["digest"]["sha256"] == pred["entry_sha256"]
            for s in st["subject"][1:]:
                if artifacts and os.path.exists(os.path.join(artifacts, s["name"])):
                    with open(os.path.join(artifacts, s["name"]), "rb") as f:
                        digest = hashlib.sha256(f.read()).hexdigest()
                    assert digest == s["digest"]["sha256"], f"artefact {s['name']}"
            print(f"ok {path}: entry {pred['seq']} {pred['item']} {pred['kind']} {pred['outcome']} by {pred['party']}")
        except Exception as e:  # every failure is reported, then the exit status says so
            print(f"FAILED {path}: {type(e).__name__}: {e}", file=sys.stderr)
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
