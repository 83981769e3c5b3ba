"""Small read-only helpers over cryptography certificates, shared by every stage (like models)."""

from __future__ import annotations

import functools

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

# cryptography curve names -> JWK / AKV names.
EC_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521", "secp256k1": "P-256K"}


def ext(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> x509.ExtensionType | None:
    """The value of an extension, or None when it is absent or unparseable."""
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except (x509.ExtensionNotFound, ValueError):
        return None


@functools.lru_cache(maxsize=1 << 14)  # rules, messages, policy, manifests and reports all ask, per item
def subject_text(cert: x509.Certificate) -> str:
    """The subject as RFC 4514 text ('' when empty); ValueError when it cannot be read."""
    return cert.subject.rfc4514_string()


def subject(cert: x509.Certificate) -> str:
    """The subject for messages: RFC 4514 text, '(empty subject)' or '(unreadable name)'."""
    try:
        return subject_text(cert) or "(empty subject)"
    except ValueError:
        return "(unreadable name)"


def name_str(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except ValueError:
        return "(unreadable name)"


def common_name(cert: x509.Certificate) -> str | None:
    try:
        attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:
        return None
    return str(attrs[0].value) if attrs else None


def dns_names(cert: x509.Certificate) -> list[str]:
    san = ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    return list(san.get_values_for_type(x509.DNSName)) if isinstance(san, x509.SubjectAlternativeName) else []


def is_ca(cert: x509.Certificate) -> bool:
    bc = ext(cert, ExtensionOID.BASIC_CONSTRAINTS)
    return bool(isinstance(bc, x509.BasicConstraints) and bc.ca)


def spki(public_key: object) -> bytes:
    """DER SubjectPublicKeyInfo: what keys and certificates are matched on."""
    return public_key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def describe_key(public_key: object) -> tuple[str, int | None, str | None]:
    """(kty, size, crv) in JWK terms; kty is the algorithm name for keys AKV does not model."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RSA", public_key.key_size, None
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "EC", public_key.curve.key_size, EC_CURVES.get(public_key.curve.name, public_key.curve.name)
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "OKP", 256, "Ed25519"
    if isinstance(public_key, ed448.Ed448PublicKey):
        return "OKP", 456, "Ed448"
    if isinstance(public_key, dsa.DSAPublicKey):
        return "DSA", public_key.key_size, None
    return type(public_key).__name__, None, None
