"""Small certificates made in tests (EC P-256: fast) for rules that fixtures do not cover."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certpipe.models import CertRecord, Item, KeyOrigin, KeyRecord
from certpipe.x509util import spki

START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_cert(
    cn: str = "t.example.com",
    *,
    key=None,
    issuer=None,
    issuer_key=None,
    ca: bool = False,
    sans=("t.example.com",),
    eku=(ExtendedKeyUsageOID.SERVER_AUTH,),
    key_usage: dict | None = None,
    serial: int = 1000,
    start: dt.datetime = START,
    end: dt.datetime = END,
):
    """(certificate, private key); self-signed unless issuer/issuer_key are given."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(issuer.subject if issuer is not None else name(cn))
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), False)
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), False)
    if key_usage is not None:
        flags = dict(
            digital_signature=False,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        )
        flags.update(key_usage)
        builder = builder.add_extension(x509.KeyUsage(**flags), True)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return cert, key


def record(cert: x509.Certificate, source: str = "test.pem") -> CertRecord:
    from cryptography.hazmat.primitives.serialization import Encoding

    return CertRecord(cert.public_bytes(Encoding.DER), cert, source, 1)


def key_record(key, source: str = "test.pem", origin: KeyOrigin = KeyOrigin.PKCS8) -> KeyRecord:
    return KeyRecord(key, spki(key.public_key()), source, origin, 1)


def item(cert, key=None, chain=(), name_: str = "t", source: str = "test.pem") -> Item:
    return Item(
        name_,
        record(cert, source),
        key_record(key, source) if key is not None else None,
        tuple(record(c, source) for c in chain),
        (source,),
    )
