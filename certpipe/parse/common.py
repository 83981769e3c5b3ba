"""Helpers shared by the format parsers: building records and trying candidate passwords."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from ..errors import InputError, LimitError, PasswordError
from ..models import CertRecord, KeyOrigin, KeyRecord, load_certificate
from ..x509util import spki

T = TypeVar("T")

# What a cryptography loader raises for data it cannot read.
LOAD_ERRORS = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    IndexError,
    OverflowError,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)


def cert_record(
    der: bytes, source: str, line: int | None = None, friendly_name: str | None = None
) -> CertRecord:
    """Load a DER certificate (raises InputError)."""
    try:
        der, cert = load_certificate(der)
        check_certificate(cert)
    except LOAD_ERRORS as exc:
        raise InputError(f"not a valid X.509 certificate ({_reason(exc)})") from exc
    return CertRecord(der, cert, source, line, friendly_name)


@functools.lru_cache(maxsize=1 << 14)  # a readable certificate once; chains repeat their CAs in every file
def check_certificate(cert: x509.Certificate) -> None:
    """Read every field later stages use: cryptography parses lazily, and a field that cannot be read
    must make the certificate unreadable now, not raise in pairing or a rule (raises LOAD_ERRORS)."""
    from ..x509util import spki, subject_text

    spki(cert.public_key())
    subject_text(cert)
    cert.issuer.rfc4514_string()
    cert.extensions  # noqa: B018
    cert.not_valid_before_utc  # noqa: B018
    cert.not_valid_after_utc  # noqa: B018


def key_record(
    key: PrivateKeyTypes,
    source: str,
    origin: KeyOrigin,
    line: int | None = None,
    friendly_name: str | None = None,
) -> KeyRecord:
    """Wrap a loaded key, after the cheap consistency check the fast loader skipped."""
    from .keycheck import check_rsa_consistency

    problem = check_rsa_consistency(key)
    if problem:
        raise InputError(f"the private key is corrupt ({problem})")
    return KeyRecord(key, spki(key.public_key()), source, origin, line, friendly_name)


_PBES2 = "1.2.840.113549.1.5.13"
_PBKDF2 = "1.2.840.113549.1.5.12"
_SCRYPT = "1.3.6.1.4.1.11591.4.11"
SCRYPT_MAX_COST = 1 << 19  # N*r*p; 128 bytes each: 64 MiB of memory per try
BUDGET_FACTOR = 4  # all tries on one file together may cost this many times --max-iterations


def pbe_cost(epki_der: bytes, max_iterations: int) -> int:
    """The KDF iterations an EncryptedPrivateKeyInfo asks for per password, read before any attempt.

    Raises LimitError above --max-iterations (or for an scrypt cost above SCRYPT_MAX_COST), so a key
    declaring 2**31 rounds fails at once instead of hanging. PBES2 (RFC 8018 A.4), PBES1 and PKCS#12 PBE.
    """
    from .. import asn1

    try:
        epki = asn1.parse(epki_der).sequence("EncryptedPrivateKeyInfo", min_items=2, max_items=2)
        algorithm = epki[0].sequence("encryptionAlgorithm", min_items=1, max_items=2)
        oid = asn1.decode_oid(algorithm[0])
        if len(algorithm) < 2:
            return 1
        params = algorithm[1].sequence("parameters")
        if oid == _PBES2:
            kdf = params[0].sequence("keyDerivationFunc", min_items=1, max_items=2)
            kdf_oid, kdf_params = asn1.decode_oid(kdf[0]), kdf[1].sequence("KDF parameters")
            if kdf_oid == _SCRYPT:
                n, r, p = (asn1.decode_integer(t) for t in kdf_params[1:4])
                if n * r * p > SCRYPT_MAX_COST:
                    raise LimitError(f"the key's scrypt cost N*r*p = {n * r * p} is above {SCRYPT_MAX_COST}")
                return n * r * p
            iterations = asn1.decode_integer(kdf_params[1]) if kdf_oid == _PBKDF2 else 1
        else:
            iterations = asn1.decode_integer(params[1]) if len(params) > 1 else 1
    except (ValueError, IndexError) as exc:
        raise InputError("it is not an EncryptedPrivateKeyInfo structure") from exc
    if iterations > max_iterations:
        raise LimitError(
            f"the encrypted key declares {iterations} KDF iterations, above the limit of {max_iterations} "
            "(use --max-iterations)"
        )
    return max(iterations, 1)


def with_passwords(
    load: Callable[[bytes | None], T],
    passwords: Sequence[bytes | None],
    what: str,
    cost: int = 1,
    max_iterations: int = 2_000_000,
) -> T:
    """Call load(password) with each candidate until one works; PasswordError if none does.

    `cost` is the KDF work of one try; the candidates tried stop at BUDGET_FACTOR x max_iterations.
    """
    tried = 0
    budget = BUDGET_FACTOR * max_iterations
    for password in passwords:
        if password is None:
            continue
        if tried and (tried + 1) * cost > budget:
            raise LimitError(
                f"{what} would need more than {budget} KDF iterations to try every candidate password "
                "(use fewer candidates or --max-iterations)"
            )
        tried += 1
        try:
            return load(password)
        except (ValueError, TypeError):
            continue
    raise PasswordError(f"{what} needs a password; {tried_phrase(tried)} ({PASSWORD_HINT}).")


PASSWORD_HINT = "use --password-file, --password-env or --passwords"


def tried_phrase(tried: int) -> str:
    """How many candidate passwords failed, in words."""
    if tried == 0:
        return "no candidate passwords were given"
    if tried == 1:
        return "the 1 candidate did not open it"
    return f"none of the {tried} candidates opened it"


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


reason = _reason
