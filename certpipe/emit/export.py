"""certpipe export: the files each target needs (nginx PEM, IIS PFX, DER, PKCS#7, AKV bundles)."""

from __future__ import annotations

import enum
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from ..models import Item
from .write import Output


class Target(enum.StrEnum):
    PEM = "pem"
    PFX = "pfx"
    DER = "der"
    P7B = "p7b"
    AKV = "akv"


class KeyFormat(enum.StrEnum):
    PKCS8 = "pkcs8"
    PKCS1 = "pkcs1"
    SEC1 = "sec1"


def _key_bytes(item: Item, encoding: serialization.Encoding, key_format: KeyFormat) -> bytes:
    assert item.key is not None
    key = item.key.key
    fmt = serialization.PrivateFormat.PKCS8
    if (key_format is KeyFormat.PKCS1 and isinstance(key, rsa.RSAPrivateKey)) or (
        key_format is KeyFormat.SEC1 and isinstance(key, ec.EllipticCurvePrivateKey)
    ):
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
    elif key_format is not KeyFormat.PKCS8:
        raise ValueError(f"--key-format {key_format} does not apply to this key type")
    return key.private_bytes(encoding, fmt, serialization.NoEncryption())


def _pem(item: Item, key_format: KeyFormat) -> list[Output]:
    leaf = item.leaf.cert.public_bytes(serialization.Encoding.PEM)
    chain = b"".join(c.cert.public_bytes(serialization.Encoding.PEM) for c in item.chain)
    out = [Output("leaf.pem", leaf), Output("chain.pem", chain), Output("fullchain.pem", leaf + chain)]
    if item.key is not None:
        out.append(Output("key.pem", _key_bytes(item, serialization.Encoding.PEM, key_format), secret=True))
    return [o for o in out if o.data]


def _der(item: Item, key_format: KeyFormat) -> list[Output]:
    out = [Output("leaf.cer", item.leaf.der)]
    if item.key is not None:
        out.append(Output("key.der", _key_bytes(item, serialization.Encoding.DER, key_format), secret=True))
    return out


def _p7b(item: Item) -> list[Output]:
    certs = [c.cert for c in (item.leaf, *item.chain)]
    return [
        Output("chain.p7b", pkcs7.serialize_certificates(certs, serialization.Encoding.PEM)),
        Output("chain.p7c", pkcs7.serialize_certificates(certs, serialization.Encoding.DER)),
    ]


def _pfx(item: Item, profile: str, password: bytes) -> list[Output]:
    from .pfx import PfxProfile, build_pfx

    if item.key is None:
        raise ValueError("a PFX needs the private key")
    # Salts derive from the certificate and the password: reruns are identical, and a salt reveals
    # nothing an attacker could not compute from a guess anyway.
    seed = hashlib.sha256(b"certpipe-export\0" + item.leaf.der + b"\0" + password).digest()
    data = build_pfx(
        item.key.key, [c.cert for c in (item.leaf, *item.chain)], friendly_name=item.name,
        password=password, profile=PfxProfile(profile), salt_seed=seed,
    )
    return [Output(f"{item.name}.pfx", data, secret=True)]


def render_export(
    item: Item, target: Target, *, key_format: KeyFormat = KeyFormat.PKCS8, pfx_profile: str = "compat",
    password: bytes = b"", vault: str = "example", content_type: str = "application/x-pkcs12",
) -> list[Output]:
    """The files of one item for one target, paths relative to OUT/<name>/ (raises ValueError)."""
    if target is Target.PEM:
        files = _pem(item, key_format)
    elif target is Target.DER:
        files = _der(item, key_format)
    elif target is Target.P7B:
        files = _p7b(item)
    elif target is Target.PFX:
        files = _pfx(item, pfx_profile, password)
    else:
        from .akv import build

        bundle = build(item, vault, content_type)
        files = [Output(n, d, n in bundle.secret_files) for n, d in bundle.files.items()]
    return [Output(f"{item.name}/{o.relpath}", o.data, o.secret) for o in files]
