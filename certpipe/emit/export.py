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


# The traditional (pre-PKCS#8) encodings each hold one key type: PKCS#1 RSA (RFC 8017 A.1.2), SEC1 EC
# (RFC 5915 3); asking for the other one is the user's mistake, reported per item.
_TRADITIONAL = {
    KeyFormat.PKCS1: (rsa.RSAPrivateKey, "RSA", "pkcs1"),
    KeyFormat.SEC1: (ec.EllipticCurvePrivateKey, "EC", "sec1"),
}


def _describe(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"EC {key.curve.name}"
    return type(key).__name__.lstrip("_")


def _key_bytes(item: Item, encoding: serialization.Encoding, key_format: KeyFormat) -> bytes:
    assert item.key is not None
    key = item.key.key
    fmt = serialization.PrivateFormat.PKCS8
    if key_format is not KeyFormat.PKCS8:
        kind, family, _ = _TRADITIONAL[key_format]
        if not isinstance(key, kind):
            other = next((f for t, _, f in _TRADITIONAL.values() if isinstance(key, t)), None)
            hint = f"pkcs8 or {other}" if other else "pkcs8"
            raise ValueError(
                f"--key-format {key_format} holds only {family} keys and this key is {_describe(key)} "
                f"(use --key-format {hint})"
            )
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
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
    # Salts derive from the certificate (and build_pfx mixes in the content each protects), so reruns
    # are byte-identical. Never from the password: a salt computable from a guess would let anyone test
    # guesses with two SHA-256s instead of the KDF's iterations.
    seed = hashlib.sha256(b"certpipe-export\0" + item.leaf.der).digest()
    data = build_pfx(
        item.key.key,
        [c.cert for c in (item.leaf, *item.chain)],
        friendly_name=item.name,
        password=password,
        profile=PfxProfile(profile),
        salt_seed=seed,
    )
    return [Output(f"{item.name}.pfx", data, secret=True)]


def render_export(
    item: Item,
    target: Target,
    *,
    key_format: KeyFormat = KeyFormat.PKCS8,
    pfx_profile: str = "compat",
    password: bytes = b"",
    vault: str = "example",
    content_type: str = "application/x-pkcs12",
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
