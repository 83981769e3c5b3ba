"""The values that flow between certpipe's stages: frozen, picklable, secrets kept out of repr."""

from __future__ import annotations

import datetime as dt
import enum
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


class Format(enum.StrEnum):
    """The container a file holds (not its armour)."""

    PEM = "pem"
    DER = "der"
    PKCS12 = "pkcs12"
    PKCS7 = "pkcs7"
    AKV_JSON = "akv-json"
    UNKNOWN = "unknown"


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 1, Severity.WARNING: 2, Severity.ERROR: 3}


class Status(enum.StrEnum):
    READY = "ready"
    WARNING = "warning"
    ERROR = "error"


class KeyOrigin(enum.StrEnum):
    """How a private key was stored where it was found."""

    PKCS8 = "pkcs8"
    PKCS1 = "pkcs1"
    SEC1 = "sec1"
    ENCRYPTED_PKCS8 = "encrypted-pkcs8"
    LEGACY_ENCRYPTED = "legacy-encrypted-pem"
    PKCS12 = "pkcs12"


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    source: str
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "severity": str(self.severity),
            "message": self.message,
            "source": self.source,
        }
        if self.line is not None:
            out["line"] = self.line
        return out


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A file found by discover: where it is, how to show it, and whether it is examined."""

    path: str  # as shown to the user: relative to the root it was found under, or as given
    fs_path: str = field(repr=False)  # where to read it
    root: str = ""  # the root it was found under ("" when named directly)
    size: int = 0
    skip_reason: str | None = None  # set when discover decided not to examine it


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str
    data: bytes = field(repr=False)


class Kind:
    """How the payload of a Detected is to be read."""

    PEM_TEXT = "pem-text"
    DER = "der"
    JSON = "json"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Detected:
    path: str
    format: Format
    kind: str
    data: bytes = field(repr=False)  # DER bytes for Kind.DER; UTF-8 text for PEM_TEXT and JSON
    reason: str | None = None  # why the format is unknown


@dataclass(frozen=True, slots=True)
class CertRecord:
    """One certificate as found: its DER, the loaded object, and where it came from."""

    der: bytes = field(repr=False)
    cert: x509.Certificate = field(repr=False, compare=False)
    source: str
    line: int | None = None
    friendly_name: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # cryptography objects do not pickle; the DER is enough to rebuild one in another process.
        return (_cert_record, (self.der, self.source, self.line, self.friendly_name))


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One private key as found. The key object never appears in repr or logs."""

    key: PrivateKeyTypes = field(repr=False, compare=False)
    spki: bytes = field(repr=False)  # DER SubjectPublicKeyInfo, what certificates are matched on
    source: str
    origin: KeyOrigin
    line: int | None = None
    friendly_name: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        from cryptography.hazmat.primitives import serialization

        pkcs8 = self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return (_key_record, (pkcs8, self.spki, self.source, self.origin, self.line, self.friendly_name))


def _cert_record(der: bytes, source: str, line: int | None, friendly_name: str | None) -> CertRecord:
    der, cert = load_certificate(der)
    return CertRecord(der, cert, source, line, friendly_name)


@functools.lru_cache(maxsize=1 << 15)
def load_certificate(der: bytes) -> tuple[bytes, x509.Certificate]:
    """One shared (DER, certificate) per distinct DER: an estate repeats its intermediates in every
    PFX and fullchain.pem, and a batch would otherwise hold thousands of copies of each."""
    from cryptography import x509

    return der, x509.load_der_x509_certificate(der)


def _key_record(
    pkcs8: bytes, spki: bytes, source: str, origin: KeyOrigin, line: int | None, friendly_name: str | None
) -> KeyRecord:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_der_private_key(pkcs8, None, unsafe_skip_rsa_key_validation=True)
    return KeyRecord(key, spki, source, origin, line, friendly_name)


@dataclass(frozen=True, slots=True)
class Pkcs12Info:
    """What a PKCS#12 file says about its own protection (for inspect and the manifest)."""

    mac_algorithm: str | None
    mac_iterations: int | None
    encryptions: tuple[str, ...]  # one per encrypted bag or safe, e.g. "pbeWithSHA1And3-KeyTripleDES-CBC"
    iterations: tuple[int, ...]
    friendly_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Parsed:
    """Everything one file yielded. A file that could not be read has findings and nothing else."""

    path: str
    format: Format
    certs: tuple[CertRecord, ...] = ()
    keys: tuple[KeyRecord, ...] = ()
    findings: tuple[Finding, ...] = ()
    pkcs12: Pkcs12Info | None = None
    skipped: str | None = None  # why the file was not certificate material (counted, not an error)
    content_type: str | None = None  # for AKV JSON input: the secret's contentType


@dataclass(frozen=True, slots=True)
class Item:
    """An end-entity certificate (or a CA with its key) with its key and ordered chain."""

    name: str
    leaf: CertRecord
    key: KeyRecord | None
    chain: tuple[CertRecord, ...]
    sources: tuple[str, ...]
    findings: tuple[Finding, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def status(self) -> Status:
        severities = {f.severity for f in self.findings}
        if Severity.ERROR in severities:
            return Status.ERROR
        if Severity.WARNING in severities:
            return Status.WARNING
        return Status.READY


@dataclass(frozen=True, slots=True)
class FileResult:
    path: str
    format: Format
    findings: tuple[Finding, ...]
    status: str  # "used" | "skipped" | "failed" | "unused"
    reason: str | None = None
    items: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of a run: what every emitter renders from."""

    evaluated_at: dt.datetime
    files: tuple[FileResult, ...]
    items: tuple[Item, ...]
    skipped: int = 0
    parsed: tuple[Parsed, ...] = field(default=(), repr=False, compare=False)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.files for f in r.findings) + tuple(
            f for i in self.items for f in i.findings
        )


@dataclass(frozen=True, slots=True)
class Pairing:
    """What pair() makes of the pooled input: items, file-level findings, which file fed which item."""

    items: tuple[Item, ...]
    file_findings: tuple[Finding, ...]
    used_by: tuple[tuple[str, tuple[str, ...]], ...]  # (file path, item names it contributed to)
