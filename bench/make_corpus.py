#!/usr/bin/env python3
"""Generate a realistic certificate estate for benchmarking certpipe.

    python bench/make_corpus.py N OUT [--seed S] [--key-type rsa2048|ec256|mixed]
                                      [--distinct-keys] [--pool-size 16] [--jobs J]

N items (one leaf certificate + its private key each) in the shapes found on a
real file share, roughly:

    35%  pfx/        Windows-style PFX exports (3DES + SHA-1 MAC, 2000 rounds),
                     most protected by a password from OUT/passwords.txt, some
                     password-less (unencrypted, or empty password via openssl)
    25%  nginx/      <name>/site.crt (+ intermediate half the time) + site.key
                     (PKCS#8, some PKCS#1 / SEC1)
    15%  letsencrypt/live/<name>/{cert,privkey,chain,fullchain}.pem
    15%  der/        <name>.cer (DER) + <name>.key (DER PKCS#8 or PEM PKCS#1/SEC1)
    10%  combined/   <name>.pem = key + leaf + intermediate

plus a few broken files (truncated PEM, corrupt DER, garbage PFX, PFX with a
password not in the list), orphan certificates/keys that pair with nothing,
and non-certificate files (README, yaml, ...).  All leaves are issued by one of
two intermediates under one root; ca/ holds the root and both intermediates so
every chain can be completed.  OUT/corpus.json summarises the estate.

Keys dominate generation time.  By default a pool of --pool-size keys is reused
across items (fast, but a tool that caches by key gets flattered);
--distinct-keys gives every item its own key.  --key-type picks RSA-2048,
EC P-256 or a 70/30 mix (default).  Key generation runs in a process pool.

Deterministic for a seed: names, shapes, variants, serials, dates and which
pool key each item uses come from a seeded RNG; key material does not (and
dates are relative to today).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SHAPES = [("pfx", 0.35), ("nginx", 0.25), ("letsencrypt", 0.15), ("der", 0.15), ("combined", 0.10)]
WORDS = [
    "alpha",
    "bravo",
    "portal",
    "billing",
    "crm",
    "intranet",
    "api",
    "gateway",
    "auth",
    "sso",
    "mail",
    "vpn",
    "wiki",
    "jira",
    "build",
    "ci",
    "shop",
    "payments",
    "reports",
    "hr",
    "erp",
    "search",
    "cache",
    "edge",
    "cdn",
    "mobile",
    "partner",
    "legacy",
    "backup",
    "monitor",
    "grafana",
    "kibana",
    "vault",
    "files",
    "sftp",
    "ldap",
    "print",
    "scan",
]
DOMAINS = ["corp.example.com", "example.net", "contoso.example", "fabrikam.example.org"]
PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER
NOENC = serialization.NoEncryption()
TODAY = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


# ---------------------------------------------------------------- key material
def new_key(kind: str):
    if kind == "rsa2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def key_kind(rng: random.Random, key_type: str) -> str:
    if key_type == "mixed":
        return "rsa2048" if rng.random() < 0.70 else "ec256"
    return key_type


def _gen_key_pem(kind: str) -> bytes:
    return new_key(kind).private_bytes(PEM, serialization.PrivateFormat.PKCS8, NOENC)


def key_bytes(key, fmt: str, enc=PEM) -> bytes:
    if fmt == "pkcs8":
        pf = serialization.PrivateFormat.PKCS8
    else:  # "traditional": PKCS#1 for RSA, SEC1 for EC
        pf = serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(enc, pf, NOENC)


def build_ca(name: str, key, issuer_name=None, issuer_key=None, path_len=None, serial=1):
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "GB"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    issuer_name = issuer_name or subject
    signer = issuer_key or key
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(TODAY - dt.timedelta(days=1500))
        .not_valid_after(TODAY + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer_key is not None:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return b.sign(signer, hashes.SHA256())


# ---------------------------------------------------------------- worker side
_W: dict = {}


def _init_worker(ca_blob: dict, pool_pems: list[bytes], out: str, openssl: str | None):
    _W["out"] = Path(out)
    _W["root"] = x509.load_pem_x509_certificate(ca_blob["root"])
    _W["ints"] = [
        (x509.load_pem_x509_certificate(c), serialization.load_pem_private_key(k, None))
        for c, k in ca_blob["ints"]
    ]
    _W["pool"] = [serialization.load_pem_private_key(p, None) for p in pool_pems]
    _W["openssl"] = openssl


def _leaf(spec: dict, key):
    ica, ikey = _W["ints"][spec["issuer"]]
    nb = TODAY + dt.timedelta(days=spec["nb_days"])
    na = nb + dt.timedelta(days=spec["life_days"])
    sans = [x509.DNSName(d) for d in spec["dns"]]
    kp = isinstance(key, rsa.RSAPrivateKey)
    return (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "GB"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec["org"]),
                    x509.NameAttribute(NameOID.COMMON_NAME, spec["cn"]),
                ]
            )
        )
        .issuer_name(ica.subject)
        .public_key(key.public_key())
        .serial_number(spec["serial"])
        .not_valid_before(nb)
        .not_valid_after(na)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=kp,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ikey.public_key()), critical=False)
        .sign(ikey, hashes.SHA256())
    )


def _windows_pfx(name: str, key, cert, cas, password: bytes | None) -> bytes:
    if password is None:
        enc = NOENC
    else:
        enc = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2000)
            .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
            .hmac_hash(hashes.SHA1())
            .build(password)
        )
    return pkcs12.serialize_key_and_certificates(name.encode(), key, cert, cas or None, enc)


def _empty_password_pfx(key, cert, cas) -> bytes | None:
    """PFX with an empty password the way `openssl pkcs12 -export -passout pass:` makes it."""
    if not _W["openssl"]:
        return None
    with tempfile.TemporaryDirectory() as td:
        t = Path(td)
        (t / "k.pem").write_bytes(key_bytes(key, "pkcs8"))
        (t / "c.pem").write_bytes(cert.public_bytes(PEM) + b"".join(c.public_bytes(PEM) for c in cas))
        r = subprocess.run(
            [
                _W["openssl"],
                "pkcs12",
                "-export",
                "-in",
                str(t / "c.pem"),
                "-inkey",
                str(t / "k.pem"),
                "-passout",
                "pass:",
                "-out",
                str(t / "o.pfx"),
            ],
            capture_output=True,
        )
        return (t / "o.pfx").read_bytes() if r.returncode == 0 else None


def _write(rel: str, data: bytes) -> str:
    p = _W["out"] / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return rel


def _make_item(spec: dict) -> dict:
    key = new_key(spec["key"]) if spec["pool_index"] is None else _W["pool"][spec["pool_index"]]
    cert = _leaf(spec, key)
    ica = _W["ints"][spec["issuer"]][0]
    root = _W["root"]
    leaf_pem, ica_pem = cert.public_bytes(PEM), ica.public_bytes(PEM)
    shape, v, fn = spec["shape"], spec["variant"], spec["file"]
    paths = []
    if shape == "pfx":
        cas = [ica, root] if v["chain"] else []
        if v["protection"] == "empty-password":
            data = _empty_password_pfx(key, cert, cas)
            if data is None:  # no openssl: fall back to an unencrypted PFX
                v["protection"] = "unencrypted"
        if v["protection"] == "password":
            data = _windows_pfx(spec["cn"], key, cert, cas, v["password"].encode())
        elif v["protection"] == "unencrypted":
            data = _windows_pfx(spec["cn"], key, cert, cas, None)
        paths.append(_write(f"{spec['dir']}/{fn}.pfx", data))
    elif shape == "nginx":
        crt = leaf_pem + (ica_pem if v["chain"] else b"")
        paths.append(_write(f"{spec['dir']}/{fn}/site.crt", crt))
        paths.append(_write(f"{spec['dir']}/{fn}/site.key", key_bytes(key, v["key_format"])))
    elif shape == "letsencrypt":
        d = f"{spec['dir']}/live/{fn}"
        paths.append(_write(f"{d}/cert.pem", leaf_pem))
        paths.append(_write(f"{d}/chain.pem", ica_pem))
        paths.append(_write(f"{d}/fullchain.pem", leaf_pem + ica_pem))
        paths.append(_write(f"{d}/privkey.pem", key_bytes(key, "pkcs8")))
    elif shape == "der":
        paths.append(_write(f"{spec['dir']}/{fn}.cer", cert.public_bytes(DER)))
        if v["key_encoding"] == "der":
            paths.append(_write(f"{spec['dir']}/{fn}.key", key_bytes(key, "pkcs8", DER)))
        else:
            paths.append(_write(f"{spec['dir']}/{fn}.key", key_bytes(key, "traditional")))
    elif shape == "combined":
        paths.append(_write(f"{spec['dir']}/{fn}.pem", key_bytes(key, v["key_format"]) + leaf_pem + ica_pem))
    return {
        "name": spec["cn"],
        "shape": shape,
        "key": spec["key"],
        "variant": v,
        "issuer": spec["issuer"] + 1,
        "expired": spec["expired"],
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
        "paths": paths,
    }


def _make_extra(spec: dict) -> dict:
    """Broken files and orphans (always with fresh P-256 keys, so they never pair with an item)."""
    kind, rel = spec["kind"], spec["path"]
    rng = random.Random(spec["seed"])
    if kind in ("orphan-cert", "orphan-key", "truncated-pem", "corrupt-der", "unknown-password-pfx"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _leaf(spec["leaf"], key)
    if kind == "orphan-cert":
        data = cert.public_bytes(PEM)
    elif kind == "orphan-key":
        data = key_bytes(key, "pkcs8")
    elif kind == "truncated-pem":
        pem = cert.public_bytes(PEM)
        data = pem[: len(pem) // 2]
    elif kind == "corrupt-der":
        der = bytearray(cert.public_bytes(DER))
        for i in rng.sample(range(40, len(der)), 8):
            der[i] ^= 0xFF
        data = bytes(der[: len(der) - 30])
    elif kind == "garbage-pfx":
        data = b"\x30\x82" + rng.randbytes(rng.randint(800, 3000))
    elif kind == "unknown-password-pfx":
        data = _windows_pfx(
            spec["leaf"]["cn"], key, cert, [], b"not-in-the-list-" + str(spec["seed"]).encode()
        )
    return {"kind": kind, "path": _write(rel, data)}


NON_CERT = {
    "README.md": b"# Certificates\n\nExports from the old IIS farm. Passwords are in the vault.\n",
    "deploy.yaml": b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\ntype: kubernetes.io/tls\n",
    "values.yaml": b"ingress:\n  enabled: true\n  tls:\n    - secretName: web-tls\n      hosts: [web.example.com]\n",
    "notes.txt": b"renew before March; ask Dave for the PFX password\n",
    "inventory.csv": b"name,owner,expires\nportal,web-team,2025-10-01\n",
    "renew.sh": b"#!/bin/sh\ncertbot renew --quiet\n",
    "Thumbs.db": bytes(range(256)) * 4,
}


# ---------------------------------------------------------------- planning (seeded)
def plan(n: int, rng: random.Random, key_type: str, distinct: bool, pool_size: int, passwords: list[str]):
    counts = {s: round(n * w) for s, w in SHAPES}
    counts["pfx"] += n - sum(counts.values())
    shapes = [s for s, _ in SHAPES for _ in range(counts[s])]
    rng.shuffle(shapes)
    pool_kinds = (
        []
        if distinct
        else [  # exact 70/30 split for mixed, so a small pool has both kinds
            key_type if key_type != "mixed" else ("rsa2048" if i < round(pool_size * 0.7) else "ec256")
            for i in range(pool_size)
        ]
    )
    teams = ["web", "platform", "finance", "ops", "legacy"]
    used: set[str] = set()
    specs = []
    for i, shape in enumerate(shapes):
        while True:
            host = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}{rng.randint(1, 999)}"
            dom = rng.choice(DOMAINS)
            wildcard = rng.random() < 0.05
            cn = f"*.{host}.{dom}" if wildcard else f"{host}.{dom}"
            if cn not in used:
                used.add(cn)
                break
        fn = cn.replace("*", "wildcard")
        dns = [cn] + ([f"{host}.{dom}"] if wildcard else [f"www.{host}.{dom}"] * (rng.random() < 0.3))
        expired = rng.random() < 0.03
        if expired:
            nb, life = -rng.randint(500, 900), 397
        elif shape == "letsencrypt":
            nb, life = -rng.randint(1, 80), 90
        else:
            nb, life = -rng.randint(1, 360), rng.choice([397, 397, 730])
        if distinct:
            kind, pidx = key_kind(rng, key_type), None
        else:
            pidx = rng.randrange(pool_size)
            kind = pool_kinds[pidx]
        team = rng.choice(teams)
        if shape == "pfx":
            r = rng.random()
            prot = "password" if r < 0.70 else ("unencrypted" if r < 0.85 else "empty-password")
            v = {"protection": prot, "chain": rng.random() < 0.6}
            if prot == "password":
                v["password"] = rng.choice(passwords)
            d = f"pfx/{team}"
        elif shape == "nginx":
            v = {"chain": rng.random() < 0.5, "key_format": "pkcs8" if rng.random() < 0.7 else "traditional"}
            d = f"nginx/{team}"
        elif shape == "letsencrypt":
            v, d = {}, "letsencrypt"
        elif shape == "der":
            v = {"key_encoding": "der" if rng.random() < 0.5 else "pem"}
            d = f"der/{team}"
        else:
            v = {"key_format": "pkcs8" if rng.random() < 0.6 else "traditional"}
            d = f"combined/{team}"
        specs.append(
            {
                "i": i,
                "shape": shape,
                "cn": cn,
                "file": fn,
                "dir": d,
                "dns": dns,
                "org": "Example Corp",
                "issuer": rng.randrange(2),
                "serial": rng.getrandbits(63) + 1,
                "nb_days": nb,
                "life_days": life,
                "expired": expired,
                "key": kind,
                "pool_index": pidx,
                "variant": v,
            }
        )
    n_broken = max(6, round(n * 0.01))
    kinds = [
        "truncated-pem",
        "corrupt-der",
        "garbage-pfx",
        "unknown-password-pfx",
        "orphan-cert",
        "orphan-key",
    ]
    ext = {
        "truncated-pem": "crt",
        "corrupt-der": "cer",
        "garbage-pfx": "pfx",
        "unknown-password-pfx": "pfx",
        "orphan-cert": "crt",
        "orphan-key": "key",
    }
    extras = []
    for j in range(n_broken):
        k = kinds[j % len(kinds)]
        leaf = {
            "cn": f"stale{j}.old.example.com",
            "dns": [f"stale{j}.old.example.com"],
            "org": "Example Corp",
            "issuer": rng.randrange(2),
            "serial": rng.getrandbits(63) + 1,
            "nb_days": -400,
            "life_days": 397,
        }
        extras.append(
            {
                "kind": k,
                "path": f"misc/{rng.choice(teams)}/{k}-{j}.{ext[k]}",
                "seed": rng.getrandbits(32),
                "leaf": leaf,
            }
        )
    return specs, extras, pool_kinds, counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="number of items (leaf certificate + key)")
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--key-type",
        choices=["rsa2048", "ec256", "mixed"],
        default="mixed",
        help="mixed = 70%% RSA-2048, 30%% EC P-256 (default)",
    )
    ap.add_argument("--distinct-keys", action="store_true", help="a fresh key for every item (slow)")
    ap.add_argument(
        "--pool-size", type=int, default=16, help="keys reused across items without --distinct-keys"
    )
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--force", action="store_true", help="delete OUT first if it exists")
    a = ap.parse_args(argv)
    if a.n < 1:
        ap.error("N must be >= 1")
    if a.out.exists() and any(a.out.iterdir()):
        if not a.force:
            ap.error(f"{a.out} exists and is not empty (use --force)")
        shutil.rmtree(a.out)
    a.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rng = random.Random(a.seed)
    passwords = [f"{w.capitalize()}{rng.randint(10, 99)}!{rng.choice('#$%&')}" for w in rng.sample(WORDS, 5)]
    passwords.append("changeit")
    specs, extras, pool_kinds, counts = plan(a.n, rng, a.key_type, a.distinct_keys, a.pool_size, passwords)

    # CA hierarchy: RSA-2048 root, two RSA-2048 issuing CAs.
    root_key = new_key("rsa2048")
    root = build_ca("Example Corp Root CA", root_key, path_len=1)
    ints = []
    for k in (1, 2):
        ik = new_key("rsa2048")
        ints.append(
            (build_ca(f"Example Corp Issuing CA {k}", ik, root.subject, root_key, 0, serial=100 + k), ik)
        )
    (a.out / "ca").mkdir()
    (a.out / "ca/root.pem").write_bytes(root.public_bytes(PEM))
    for k, (c, _) in enumerate(ints, 1):
        (a.out / f"ca/issuing-ca-{k}.crt").write_bytes(c.public_bytes(PEM))
    (a.out / "passwords.txt").write_text("\n".join(passwords) + "\n")
    for j, (name, data) in enumerate(NON_CERT.items()):
        sub = ["", "pfx/", "nginx/web/", "misc/", "letsencrypt/live/", "misc/ops/", "pfx/legacy/"][j % 7]
        p = a.out / sub / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    if any(s["shape"] == "letsencrypt" for s in specs):
        (a.out / "letsencrypt/live").mkdir(parents=True, exist_ok=True)
        (a.out / "letsencrypt/live/README").write_text(
            "This directory contains your keys and certificates.\n\n`privkey.pem`  : the private key\n"
        )

    openssl = shutil.which("openssl")
    jobs = max(1, a.jobs)
    ctx = mp.get_context("fork") if sys.platform != "win32" else mp.get_context()
    tk = time.perf_counter()
    with ctx.Pool(jobs) as p:
        pool_pems = p.map(_gen_key_pem, pool_kinds) if pool_kinds else []
    t_pool = time.perf_counter() - tk
    ca_blob = {
        "root": root.public_bytes(PEM),
        "ints": [(c.public_bytes(PEM), key_bytes(k, "pkcs8")) for c, k in ints],
    }
    initargs = (ca_blob, pool_pems, str(a.out), openssl)
    with ctx.Pool(jobs, _init_worker, initargs) as p:
        items = p.map(_make_item, specs, chunksize=max(1, len(specs) // (jobs * 8) or 1))
        broken = p.map(_make_extra, extras)
    elapsed = time.perf_counter() - t0

    kinds_count: dict[str, int] = {}
    for it in items:
        kinds_count[it["key"]] = kinds_count.get(it["key"], 0) + 1
    prot: dict[str, int] = {}
    for it in items:
        if it["shape"] == "pfx":
            prot[it["variant"]["protection"]] = prot.get(it["variant"]["protection"], 0) + 1
    summary = {
        "n": a.n,
        "seed": a.seed,
        "key_type": a.key_type,
        "distinct_keys": a.distinct_keys,
        "key_pool": None if a.distinct_keys else {"size": a.pool_size, "kinds": pool_kinds},
        "expected_items": a.n,
        "counts": {**counts, "broken_or_orphan": len(broken), "non_certificate": len(NON_CERT)},
        "keys_by_type": kinds_count,
        "pfx_protection": prot,
        "expired": sum(it["expired"] for it in items),
        "ca": {"root": "ca/root.pem", "intermediates": ["ca/issuing-ca-1.crt", "ca/issuing-ca-2.crt"]},
        "passwords_file": "passwords.txt",
        "generated_seconds": round(elapsed, 2),
        "jobs": jobs,
        "items": items,
        "broken": broken,
    }
    (a.out / "corpus.json").write_text(json.dumps(summary, indent=1) + "\n")
    nfiles = sum(1 for _ in a.out.rglob("*") if _.is_file())
    keys_note = (
        f"distinct keys ({', '.join(f'{v} {k}' for k, v in sorted(kinds_count.items()))})"
        if a.distinct_keys
        else f"pool of {a.pool_size} reused keys ({pool_kinds.count('rsa2048')} RSA-2048, "
        f"{pool_kinds.count('ec256')} P-256; pool generated in {t_pool:.1f}s)"
    )
    print(
        f"make_corpus: {a.n} items, {nfiles} files in {a.out} in {elapsed:.1f}s with {jobs} jobs; "
        f"{keys_note}; shapes {counts}; {len(broken)} broken/orphan, {len(NON_CERT)} non-certificate files"
        + ("" if openssl else "; openssl not found: empty-password PFX written unencrypted instead")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
