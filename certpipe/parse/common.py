"""Helpers shared by the format parsers: building records and trying candidate passwords."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from ..errors import InputError, PasswordError
from ..models import CertRecord, KeyOrigin, KeyRecord, load_certificate
from ..x509util import spki

T = TypeVar("T")

# What a cryptography loader raises for data it cannot read.
LOAD_ERRORS = (ValueError, TypeError, UnsupportedAlgorithm, IndexError, OverflowError, x509.InvalidVersion)


def cert_record(der: bytes, source: str, line: int | None = None, friendly_name: str | None = None) -> CertRecord:
    """Load a DER certificate (raises InputError)."""
    try:
        der, cert = load_certificate(der)
        # cryptography parses these lazily; a field that cannot be read makes the certificate unreadable
        # now, rather than an exception in a later stage.
        cert.public_key()
        cert.subject.rfc4514_string()
        cert.issuer.rfc4514_string()
        cert.extensions  # noqa: B018
        cert.not_valid_after_utc  # noqa: B018
    except LOAD_ERRORS as exc:
        raise InputError(f"not a valid X.509 certificate ({_reason(exc)})") from exc
    return CertRecord(der, cert, source, line, friendly_name)


def key_record(
    key: PrivateKeyTypes, source: str, origin: KeyOrigin, line: int | None = None, friendly_name: str | None = None
) -> KeyRecord:
    """Wrap a loaded key, after the cheap consistency check the fast loader skipped."""
    from .keycheck import check_rsa_consistency

    problem = check_rsa_consistency(key)
    if problem:
        raise InputError(f"the private key is corrupt ({problem})")
    return KeyRecord(key, spki(key.public_key()), source, origin, line, friendly_name)


def with_passwords(
    load: Callable[[bytes | None], T], passwords: Sequence[bytes | None], what: str
) -> T:
    """Call load(password) with each candidate until one works; PasswordError if none does."""
    tried = 0
    for password in passwords:
        if password is None:
            continue
        tried += 1
        try:
            return load(password)
        except (ValueError, TypeError):
            continue
    raise PasswordError(
        f"{what} needs a password; none of the {tried} candidate(s) opened it "
        "(use --password-file or --password-env)."
    )


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


reason = _reason
