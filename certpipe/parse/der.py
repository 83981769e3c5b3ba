"""Binary DER: a certificate or a private key (PKCS#8, PKCS#1, SEC1, encrypted PKCS#8)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives import serialization

from .. import asn1
from ..catalog import PASSWORD_REQUIRED, UNREADABLE_INPUT
from ..errors import InputError, PasswordError
from ..models import Format, KeyOrigin, Parsed
from .common import LOAD_ERRORS, cert_record, key_record, pbe_cost, reason, with_passwords


def parse_der(
    der: bytes, source: str, passwords: Sequence[bytes | None], max_iterations: int = 2_000_000
) -> Parsed:
    """One DER object: certificate first, then the key encodings."""
    try:
        return Parsed(source, Format.DER, certs=(cert_record(der, source),))
    except InputError:
        pass
    origin = _key_origin(der)
    try:
        if origin is KeyOrigin.ENCRYPTED_PKCS8:

            def load(password: bytes | None):  # type: ignore[no-untyped-def]
                key = serialization.load_der_private_key(der, password, unsafe_skip_rsa_key_validation=True)
                return key_record(key, source, origin)

            cost = pbe_cost(der, max_iterations)
            record = with_passwords(load, passwords, "the encrypted PKCS#8 key", cost, max_iterations)
        else:
            try:
                key = serialization.load_der_private_key(der, None, unsafe_skip_rsa_key_validation=True)
            except LOAD_ERRORS as exc:
                raise InputError(f"not a DER certificate or private key ({reason(exc)})") from exc
            record = key_record(key, source, origin or KeyOrigin.PKCS8)
    except PasswordError as exc:
        return Parsed(source, Format.DER, findings=(PASSWORD_REQUIRED.finding(f"{source}: {exc}", source),))
    except InputError as exc:
        return Parsed(source, Format.DER, findings=(UNREADABLE_INPUT.finding(f"{source}: {exc}.", source),))
    return Parsed(source, Format.DER, keys=(record,))


def _key_origin(der: bytes) -> KeyOrigin | None:
    """Tell the key encodings apart by their first elements (RFC 5208, RFC 8017 A.1.2, RFC 5915)."""
    body = asn1.sequence_contents(der)
    if body is None:
        return None
    if body.startswith(b"\x30"):
        return KeyOrigin.ENCRYPTED_PKCS8  # EncryptedPrivateKeyInfo starts with an AlgorithmIdentifier
    if body.startswith((b"\x02\x01\x00\x30", b"\x02\x01\x01\x30")):
        return KeyOrigin.PKCS8
    if body.startswith(b"\x02\x01\x01\x04"):
        return KeyOrigin.SEC1
    if body.startswith(b"\x02\x01\x00\x02"):
        return KeyOrigin.PKCS1
    return None
