"""DER PKCS#7 (.p7b/.p7c) certificate bundles."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from ..catalog import UNREADABLE_INPUT
from ..errors import InputError
from ..models import Format, Parsed
from .common import LOAD_ERRORS, cert_record, reason


def parse_pkcs7(der: bytes, source: str) -> Parsed:
    """The certificates of a PKCS#7 SignedData, in file order."""
    try:
        loaded = pkcs7.load_der_pkcs7_certificates(der)
        certs = tuple(cert_record(c.public_bytes(serialization.Encoding.DER), source) for c in loaded)
    except (InputError, *LOAD_ERRORS) as exc:
        message = f"{source}: not a readable PKCS#7 certificate bundle ({reason(exc)})."
        return Parsed(source, Format.PKCS7, findings=(UNREADABLE_INPUT.finding(message, source),))
    return Parsed(source, Format.PKCS7, certs=certs)
