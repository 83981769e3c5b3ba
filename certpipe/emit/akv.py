"""The objects AKV holds for a certificate: CertificateBundle, KeyBundle, SecretBundle, import request.

Shapes follow ../shared/akv-reference.md (sections 2.1-2.6): the three objects share one name and one
32-hex version; `x5t` is unpadded base64url SHA-1 of the leaf DER; `cer` is padded base64 of the leaf
only; the policy is snake_case except `secret_props.contentType`; key_ops follow the key usage.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtensionOID

from ..models import Item
from ..x509util import EC_CURVES, ext, is_ca, subject_text
from .jsontext import dumps as json_text

PKCS12 = "application/x-pkcs12"
PEM = "application/x-pem-file"
CONTENT_TYPES = {"pkcs12": PKCS12, "pem": PEM}
RECOVERY = {"recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}
_KEY_OPS_ORDER = ("encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey")
# X.509 key usage -> AKV key operations (akv-reference.md 2.5, from about-certificates.md).
_USAGE_OPS = {
    "data_encipherment": ("encrypt", "decrypt"),
    "decipher_only": ("decrypt",),
    "digital_signature": ("sign", "verify"),
    "encipher_only": ("encrypt",),
    "key_cert_sign": ("sign", "verify"),
    "key_encipherment": ("wrapKey", "unwrapKey"),
    "content_commitment": ("sign", "verify"),
    "crl_sign": ("sign", "verify"),
}
_USAGE_NAMES = (
    ("digital_signature", "digitalSignature"),
    ("content_commitment", "nonRepudiation"),
    ("key_encipherment", "keyEncipherment"),
    ("data_encipherment", "dataEncipherment"),
    ("key_agreement", "keyAgreement"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
    ("encipher_only", "encipherOnly"),
    ("decipher_only", "decipherOnly"),
)


@dataclass(frozen=True, slots=True)
class Bundle:
    """The rendered files of one item, name -> bytes; `secret` marks the ones holding the private key."""

    name: str
    files: dict[str, bytes] = field(repr=False)
    secret_files: frozenset[str] = frozenset()
    secret_value: str = field(default="", repr=False)


def version_of(item: Item) -> str:
    """32 lowercase hex derived from the leaf certificate, so reruns give the same ids."""
    return hashlib.sha256(b"certpipe-version\0" + item.leaf.der).hexdigest()[:32]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def x5t(der: bytes) -> str:
    return b64url(hashlib.sha1(der).digest())


def unix(when: Any) -> int:
    return calendar.timegm(when.utctimetuple())


def render_bundle(item: Item, vault: str, content_type: str, secret_value: str) -> Bundle:
    """certificate.json, key.json, secret.json and import-request.json for one item with a key."""
    version = version_of(item)
    base = f"https://{vault}.vault.azure.net"
    ids = {kind: f"{base}/{kind}/{item.name}/{version}" for kind in ("certificates", "keys", "secrets")}
    cert = item.leaf.cert
    attrs = _attributes(cert)
    policy = policy_of(item, content_type, f"{base}/certificates/{item.name}/policy")
    tags = dict(item.tags)
    certificate: dict[str, Any] = {
        "id": ids["certificates"],
        "kid": ids["keys"],
        "sid": ids["secrets"],
        "x5t": x5t(item.leaf.der),
        "cer": base64.b64encode(item.leaf.der).decode("ascii"),
        "contentType": content_type,
        "attributes": attrs,
        "policy": policy,
    }
    key: dict[str, Any] = {
        "key": jwk(cert, ids["keys"]),
        "attributes": {**attrs, "exportable": True},
        "managed": True,
    }
    secret: dict[str, Any] = {
        "value": secret_value,
        "contentType": content_type,
        "id": ids["secrets"],
        "managed": True,
        "attributes": attrs,
        "kid": ids["keys"],
    }
    if tags:
        for doc in (certificate, key, secret):
            doc["tags"] = tags
    request: dict[str, Any] = {
        "value": secret_value if content_type == PKCS12 else base64.b64encode(secret_value.encode()).decode(),
        "policy": {"key_props": policy["key_props"], "secret_props": policy["secret_props"]},
        "attributes": {"enabled": True},
    }
    if tags:
        request["tags"] = tags
    files = {
        "certificate.json": dumps(certificate),
        "key.json": dumps(key),
        "secret.json": dumps(secret),
        "import-request.json": dumps(request),
    }
    return Bundle(item.name, files, frozenset({"secret.json", "import-request.json"}), secret_value)


def dumps(doc: Any) -> bytes:
    return (json_text(doc) + "\n").encode("utf-8")


def _attributes(cert: x509.Certificate) -> dict[str, Any]:
    nbf, exp = unix(cert.not_valid_before_utc), unix(cert.not_valid_after_utc)
    # created/updated are the service's clock; certpipe uses notBefore so that reruns are identical.
    return {"enabled": True, "nbf": nbf, "exp": exp, "created": nbf, "updated": nbf, **RECOVERY}


def key_usage_names(cert: x509.Certificate) -> list[str]:
    try:
        ku = cert.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    names = []
    for attr, wire in _USAGE_NAMES:
        try:
            if getattr(ku, attr):
                names.append(wire)
        except ValueError:  # encipher_only/decipher_only are undefined without keyAgreement
            continue
    return names


def key_ops(cert: x509.Certificate) -> list[str]:
    """AKV's key operations for a certificate-backed key, mapped from its key usage."""
    is_ec = isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    try:
        ku = cert.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
        ops: set[str] = set()
        for attr, mapped in _USAGE_OPS.items():
            try:
                if getattr(ku, attr):
                    ops.update(mapped)
            except ValueError:
                continue
    except (x509.ExtensionNotFound, ValueError):
        ops = {"sign", "verify", "wrapKey", "unwrapKey"}  # AKV's default policy usages
    if is_ec:
        ops &= {"sign", "verify"}  # AKV refuses wrap/encrypt operations on EC keys (AzureKeyVault#22)
        ops = ops or {"sign", "verify"}
    return [op for op in _KEY_OPS_ORDER if op in ops]


def jwk(cert: x509.Certificate, kid: str) -> dict[str, Any]:
    """The public JWK AKV returns for the certificate's key (binary members unpadded base64url)."""
    public = cert.public_key()
    out: dict[str, Any] = {"kid": kid, "key_ops": key_ops(cert)}
    if isinstance(public, rsa.RSAPublicKey):
        rsa_nums = public.public_numbers()
        out.update(kty="RSA", n=b64url(_int_bytes(rsa_nums.n)), e=b64url(_int_bytes(rsa_nums.e)))
    elif isinstance(public, ec.EllipticCurvePublicKey):
        ec_nums = public.public_numbers()
        size = (public.curve.key_size + 7) // 8
        out.update(
            kty="EC",
            crv=EC_CURVES.get(public.curve.name, public.curve.name),
            x=b64url(ec_nums.x.to_bytes(size, "big")),
            y=b64url(ec_nums.y.to_bytes(size, "big")),
        )
    return out


def _int_bytes(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def validity_months(cert: x509.Certificate) -> int:
    """Calendar months from notBefore to notAfter, rounded up (what AKV reports on import)."""
    nb, na = cert.not_valid_before_utc, cert.not_valid_after_utc
    months = (na.year - nb.year) * 12 + (na.month - nb.month)
    day_nb = (nb.day, nb.hour, nb.minute, nb.second)
    day_na = (na.day, na.hour, na.minute, na.second)
    if day_na > day_nb:
        months += 1
    return max(months, 0)


def policy_of(item: Item, content_type: str, policy_id: str) -> dict[str, Any]:
    cert = item.leaf.cert
    public = cert.public_key()
    key_props: dict[str, Any] = {"exportable": True, "reuse_key": False}
    if isinstance(public, rsa.RSAPublicKey):
        key_props.update(kty="RSA", key_size=public.key_size)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        key_props.update(
            kty="EC", key_size=public.curve.key_size, crv=EC_CURVES.get(public.curve.name, public.curve.name)
        )
    x509_props: dict[str, Any] = {
        "subject": subject_text(cert),
        "ekus": _ekus(cert),
        "key_usage": key_usage_names(cert),
        "validity_months": validity_months(cert),
        "basic_constraints": {"ca": is_ca(cert)},
    }
    sans = _sans(cert)
    if sans is not None:
        x509_props["sans"] = sans
    nbf = unix(cert.not_valid_before_utc)
    return {
        "id": policy_id,
        "key_props": key_props,
        "secret_props": {"contentType": content_type},
        "x509_props": x509_props,
        "lifetime_actions": [
            {"trigger": {"lifetime_percentage": 80}, "action": {"action_type": "EmailContacts"}}
        ],
        "issuer": {"name": "Unknown"},
        "attributes": {"enabled": True, "created": nbf, "updated": nbf},
    }


def _ekus(cert: x509.Certificate) -> list[str]:
    eku = ext(cert, ExtensionOID.EXTENDED_KEY_USAGE)
    return [oid.dotted_string for oid in eku] if isinstance(eku, x509.ExtendedKeyUsage) else []


def _sans(cert: x509.Certificate) -> dict[str, list[str]] | None:
    san = ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if not isinstance(san, x509.SubjectAlternativeName):
        return None  # AKV omits `sans` when the certificate has no SAN extension
    upns = [
        o.value.decode("utf-8", "replace")[2:] if isinstance(o.value, bytes) else str(o.value)
        for o in san.get_values_for_type(x509.OtherName)
        if o.type_id.dotted_string == "1.3.6.1.4.1.311.20.2.3"
    ]
    return {
        "dns_names": list(san.get_values_for_type(x509.DNSName)),
        "emails": list(san.get_values_for_type(x509.RFC822Name)),
        "upns": upns,
    }


def secret_value(item: Item, content_type: str, pfx: bytes | None = None) -> str:
    """The secret's value: base64 of a password-less PFX, or the PKCS#8 key then the chain in PEM (LF)."""
    if content_type == PKCS12:
        assert pfx is not None
        return base64.b64encode(pfx).decode("ascii")
    assert item.key is not None
    key_pem = item.key.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    certs = "".join(
        c.cert.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in (item.leaf, *item.chain)
    )
    return (key_pem + certs).replace("\r\n", "\n")


def build(item: Item, vault: str, content_type: str) -> Bundle:
    """Render every file of one item (the PFX is deterministic: salts derive from the leaf)."""
    from .pfx import PfxProfile, build_pfx

    assert item.key is not None
    pfx = None
    if content_type == PKCS12:
        pfx = build_pfx(
            item.key.key,
            [c.cert for c in (item.leaf, *item.chain)],
            friendly_name=item.name,
            profile=PfxProfile.AKV,
            salt_seed=item.leaf.der,
        )
    return render_bundle(item, vault, content_type, secret_value(item, content_type, pfx))
