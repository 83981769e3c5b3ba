#!/usr/bin/env python3
"""The bar: what a competent engineer writes in an afternoon with `cryptography` alone.

    python bench/baseline_cryptography.py CORPUS OUT [--password-file F] [--jobs N]

Walks CORPUS, detects each file by content (PEM blocks / DER certificate / DER key /
PKCS#12, tried with no password then each line of the password file), pairs
certificates with private keys by public key, builds each chain by issuer name,
and writes OUT/<name>/secret.json (base64 PKCS#12, as Key Vault stores it) plus
OUT/manifest.json.  --jobs N parses files and writes bundles in a process pool.
No validation, no reports: it is the floor certpipe's throughput is compared with.
"""

import argparse
import base64
import json
import os
import re
import sys
import time
from multiprocessing import Pool

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.serialization import pkcs12

PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.+?-----END \1-----", re.S)
PASSWORDS: list = [None]  # None first: unencrypted and empty-password PFX
PORTABLE = False  # True in pool workers: hand back DER bytes, not objects


def spki(pub):
    return pub.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)


def der_kind(d: bytes):
    """Peek past the outer SEQUENCE header: PKCS#12 has version 3, a key 0/1, a cert a SEQUENCE."""
    if len(d) < 8 or d[0] != 0x30:
        return None
    i = 2 + (d[1] & 0x7F if d[1] & 0x80 else 0)
    head = d[i : i + 3]
    return {b"\x02\x01\x03": "pkcs12", b"\x02\x01\x00": "key", b"\x02\x01\x01": "key"}.get(
        head, "cert" if head[:1] == b"\x30" else None
    )


def load_key(data: bytes, der: bool, encrypted: bool = False):
    load = ser.load_der_private_key if der else ser.load_pem_private_key
    for pw in PASSWORDS[1:] if encrypted else [None]:
        try:
            return load(data, pw, unsafe_skip_rsa_key_validation=True)
        except (ValueError, TypeError):
            continue
    raise ValueError("encrypted key: no password in the list opens it")


def parse(data: bytes):
    certs, keys = [], []
    if b"-----BEGIN" in data:
        blocks = list(PEM_BLOCK.finditer(data))
        if not blocks:
            raise ValueError("no complete PEM block")
        for m in blocks:
            label = m.group(1)
            if label == b"CERTIFICATE":
                certs.append(x509.load_pem_x509_certificate(m.group(0)))
            elif label.endswith(b"PRIVATE KEY"):
                keys.append(load_key(m.group(0), False, label == b"ENCRYPTED PRIVATE KEY"))
        return certs, keys
    kind = der_kind(data)
    if kind == "cert":
        certs.append(x509.load_der_x509_certificate(data))
    elif kind == "key":
        keys.append(load_key(data, True))
    elif kind == "pkcs12":
        for pw in PASSWORDS:
            try:
                p = pkcs12.load_pkcs12(data, pw)
                break
            except ValueError:
                continue
        else:
            raise ValueError("PKCS#12: no password in the list opens it")
        keys += [p.key] if p.key else []
        certs += [c.certificate for c in ([p.cert] if p.cert else []) + list(p.additional_certs)]
    return certs, keys


def scan(path: str):
    """One file -> (certificate records, key records, error)."""
    try:
        with open(path, "rb") as f:
            certs, keys = parse(f.read())
    except Exception as e:
        return [], [], f"{path}: {type(e).__name__}: {e}"
    crecs = []
    for c in certs:
        try:
            ca = c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            ca = False
        cn = c.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        crecs.append(
            {
                "fp": c.fingerprint(hashes.SHA256()),
                "subject": c.subject.public_bytes(),
                "issuer": c.issuer.public_bytes(),
                "spki": spki(c.public_key()),
                "ca": ca,
                "cn": str(cn[0].value) if cn else "",
                "src": path,
                "cert": c.public_bytes(ser.Encoding.DER) if PORTABLE else c,
            }
        )
    krecs = [
        (
            spki(k.public_key()),
            k.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption()) if PORTABLE else k,
        )
        for k in keys
    ]
    return crecs, krecs, None


def emit(job):
    name, out, cert, key, chain = job
    if isinstance(cert, bytes):  # came through a pool: rebuild objects
        cert = x509.load_der_x509_certificate(cert)
        key = ser.load_der_private_key(key, None, unsafe_skip_rsa_key_validation=True)
        chain = [x509.load_der_x509_certificate(c) for c in chain]
    # NoEncryption(): Key Vault keeps PFX secrets unprotected, so no KDF/3DES cost here.
    pfx = pkcs12.serialize_key_and_certificates(name.encode(), key, cert, chain or None, ser.NoEncryption())
    os.makedirs(os.path.join(out, name), exist_ok=True)
    doc = {
        "value": base64.b64encode(pfx).decode(),
        "contentType": "application/x-pkcs12",
        "tags": {
            "x5t": cert.fingerprint(hashes.SHA1()).hex(),
            "subject": cert.subject.rfc4514_string(),
            "notBefore": cert.not_valid_before_utc.isoformat(),
            "notAfter": cert.not_valid_after_utc.isoformat(),
        },
    }
    with open(os.path.join(out, name, "secret.json"), "w") as f:
        json.dump(doc, f)
    return name


def _init(passwords):
    global PORTABLE
    PASSWORDS[1:], PORTABLE = passwords, True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus"), ap.add_argument("out")
    ap.add_argument("--password-file", help="one password a line (default CORPUS/passwords.txt if present)")
    ap.add_argument("--jobs", type=int, default=1)
    a = ap.parse_args()
    t0 = time.perf_counter()
    pwfile = a.password_file or os.path.join(a.corpus, "passwords.txt")
    if a.password_file or os.path.exists(pwfile):
        with open(pwfile, "rb") as f:
            PASSWORDS[1:] = [ln.rstrip(b"\r\n") for ln in f if ln.rstrip(b"\r\n")]
    paths = sorted(os.path.join(d, n) for d, _, ns in os.walk(a.corpus) for n in ns)
    pool = Pool(a.jobs, _init, (PASSWORDS[1:],)) if a.jobs > 1 else None
    results = pool.imap(scan, paths, chunksize=16) if pool else map(scan, paths)
    certs, keys, errors = {}, {}, []
    for crecs, krecs, err in results:
        errors += [err] if err else []
        for c in crecs:
            certs.setdefault(c["fp"], c)
        keys.update(krecs)
    by_subject = {}
    for c in certs.values():  # CA certificates win a subject clash
        if c["ca"] or c["subject"] not in by_subject:
            by_subject[c["subject"]] = c
    jobs, names = [], set()
    for c in sorted(certs.values(), key=lambda c: c["src"]):
        if c["ca"] or c["spki"] not in keys:
            continue
        chain, cur = [], c
        while cur["issuer"] != cur["subject"] and len(chain) < 8:
            cur = by_subject.get(cur["issuer"])
            if cur is None or cur in chain:
                break
            chain.append(cur)
        base = (
            re.sub(r"[^A-Za-z0-9-]+", "-", c["cn"].replace("*", "wildcard")).strip("-")[:120]
            or c["fp"].hex()[:16]
        )
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}-{n}"
        names.add(name)
        jobs.append((name, a.out, c["cert"], keys[c["spki"]], [x["cert"] for x in chain]))
    os.makedirs(a.out, exist_ok=True)
    done = list(pool.imap(emit, jobs, chunksize=16) if pool else map(emit, jobs))
    if pool:
        pool.close(), pool.join()
    manifest = {
        "items": len(done),
        "files": len(paths),
        "certificates": len(certs),
        "keys": len(keys),
        "errors": errors,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(
        f"baseline: {len(done)} items from {len(paths)} files ({len(errors)} unreadable) "
        f"in {manifest['seconds']}s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
