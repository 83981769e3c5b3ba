"""Trust anchors: the roots a chain may end at without shipping them (certifi's Mozilla set, --trust)."""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import certifi
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.utils import CryptographyDeprecationWarning

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

NameKey = tuple[tuple[tuple[str, str | bytes], ...], ...]


@functools.lru_cache(maxsize=2048)
def name_key(name: x509.Name) -> NameKey:
    """A comparison key for a distinguished name per RFC 5280 7.1: case and inner whitespace folded."""
    # RDN order matters (PKITS 4.3.2); attribute order inside a multi-valued RDN does not; the string
    # type (PrintableString vs UTF8String, PKITS 4.3.10) does not either.
    return tuple(
        tuple(sorted((attr.oid.dotted_string, _fold(attr.value)) for attr in rdn)) for rdn in name.rdns
    )


def _fold(value: str | bytes) -> str | bytes:
    return " ".join(value.casefold().split()) if isinstance(value, str) else value


def is_self_signed(cert: x509.Certificate) -> bool:
    """Whether the certificate names itself as issuer and its own key verifies its signature."""
    return name_key(cert.subject) == name_key(cert.issuer) and signed_by(cert, cert)


@functools.lru_cache(maxsize=2048)  # pure; the same intermediates are checked for every leaf they issue
def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether issuer's key verifies cert's signature (False when the algorithm is unsupported)."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class TrustStore:
    """Trust anchor certificates, indexed by (folded) subject name."""

    certs: tuple[x509.Certificate, ...] = field(repr=False)
    by_subject: Mapping[NameKey, tuple[x509.Certificate, ...]] = field(
        repr=False, compare=False, hash=False, default_factory=lambda: MappingProxyType({})
    )

    def __repr__(self) -> str:
        return f"TrustStore({len(self.certs)} anchors)"

    @classmethod
    def from_certs(cls, certs: Iterable[x509.Certificate]) -> TrustStore:
        """A store of the given anchors, duplicates dropped, in a stable order."""
        unique = {_der(c): c for c in certs}
        ordered = tuple(unique[d] for d in sorted(unique))
        index: dict[NameKey, list[x509.Certificate]] = {}
        for cert in ordered:
            index.setdefault(name_key(cert.subject), []).append(cert)
        return cls(ordered, MappingProxyType({k: tuple(v) for k, v in index.items()}))

    @classmethod
    def empty(cls) -> TrustStore:
        """A store with no anchors."""
        return cls.from_certs(())

    @classmethod
    def well_known(cls) -> TrustStore:
        """The Mozilla root set as shipped by certifi, loaded once per process."""
        return _well_known()

    @classmethod
    def system(cls) -> TrustStore:
        """certifi's roots plus the operating system bundle when present."""
        return _system()

    def merged(self, other: TrustStore) -> TrustStore:
        """A store holding the anchors of both."""
        return TrustStore.from_certs(self.certs + other.certs)

    def __len__(self) -> int:
        return len(self.certs)

    def contains(self, cert: x509.Certificate) -> bool:
        """Whether this exact certificate, or one with the same subject and key, is an anchor."""
        spki = _spki(cert)
        return any(_spki(a) == spki for a in self.by_subject.get(name_key(cert.subject), ()))

    def named(self, name: x509.Name) -> tuple[x509.Certificate, ...]:
        """The anchors whose subject is name (RFC 5280 7.1 comparison)."""
        return self.by_subject.get(name_key(name), ())

    def issuer_of(self, cert: x509.Certificate) -> x509.Certificate | None:
        """The anchor named as cert's issuer whose key verifies cert's signature, if any."""
        for anchor in self.named(cert.issuer):
            if signed_by(cert, anchor):
                return anchor
        return None


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def _spki(cert: x509.Certificate) -> bytes:
    try:
        return cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    except (
        UnsupportedAlgorithm,
        ValueError,
        TypeError,
    ):  # unsupported key type: fall back to the whole certificate
        return _der(cert)


def _load_pem_bundle(data: bytes) -> tuple[x509.Certificate, ...]:
    # The bundles hold a few legacy roots with non-positive serials; cryptography warns on those.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return tuple(x509.load_pem_x509_certificates(data))


@functools.cache
def _well_known() -> TrustStore:
    with open(certifi.where(), "rb") as fh:  # certifi's bundle is package data, not user input
        return TrustStore.from_certs(_load_pem_bundle(fh.read()))


@functools.cache
def _system() -> TrustStore:
    store = _well_known()
    if os.path.exists(SYSTEM_BUNDLE):
        with open(SYSTEM_BUNDLE, "rb") as fh:
            try:
                extra = _load_pem_bundle(fh.read())
            except ValueError:
                extra = ()
        store = store.merged(TrustStore.from_certs(extra))
    return store
