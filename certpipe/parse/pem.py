"""PEM text: any mix of certificate, key and PKCS#7 blocks, with whatever text lies around them."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from ..catalog import PASSWORD_REQUIRED, UNREADABLE_INPUT
from ..errors import InputError, PasswordError
from ..models import CertRecord, Finding, Format, KeyOrigin, KeyRecord, Parsed
from .common import LOAD_ERRORS, cert_record, key_record, reason, with_passwords

_BLOCK = re.compile(
    r"-----BEGIN (?P<label>[A-Z0-9 #]+)-----[ \t]*\r?\n(?P<body>.*?)-----END (?P=label)-----", re.S
)
_CERT_LABELS = frozenset({"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"})
_KEY_LABELS = {
    "PRIVATE KEY": KeyOrigin.PKCS8,
    "RSA PRIVATE KEY": KeyOrigin.PKCS1,
    "EC PRIVATE KEY": KeyOrigin.SEC1,
    "DSA PRIVATE KEY": KeyOrigin.PKCS1,
    "ENCRYPTED PRIVATE KEY": KeyOrigin.ENCRYPTED_PKCS8,
}
# Blocks that are understood and carry nothing to import.
_IGNORED = frozenset(
    {"EC PARAMETERS", "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST", "PUBLIC KEY", "RSA PUBLIC KEY",
     "X509 CRL", "DH PARAMETERS", "ENCRYPTED PRIVATE KEY INFO", "DSA PUBLIC KEY", "EC PUBLIC KEY",
     "DSA PARAMETERS", "X9.42 DH PARAMETERS", "PARAMETERS", "OPENSSH PUBLIC KEY"}
)


def parse_pem(text: str, source: str, passwords: Sequence[bytes | None], fmt: Format = Format.PEM) -> Parsed:
    """Every block of a PEM file, each problem a finding on the block's line."""
    certs: list[CertRecord] = []
    keys: list[KeyRecord] = []
    findings: list[Finding] = []
    matches = list(_BLOCK.finditer(text))
    for m in matches:
        label = m.group("label")
        line = text.count("\n", 0, m.start()) + 1
        try:
            if label in _CERT_LABELS:
                der = _body_der(m.group("body"))
                if label == "TRUSTED CERTIFICATE":
                    der = _first_tlv(der)  # OpenSSL appends its trust settings after the certificate
                certs.append(cert_record(der, source, line))
            elif label in _KEY_LABELS:
                keys.append(_key(m.group(0), m.group("body"), label, source, line, passwords))
            elif label in ("PKCS7", "CMS"):
                der = _body_der(m.group("body"))
                certs.extend(cert_record(c.public_bytes(serialization.Encoding.DER), source, line)
                             for c in _pkcs7(der))
            elif label not in _IGNORED:
                findings.append(UNREADABLE_INPUT.finding(
                    f"{source}: line {line}: PEM block '{label}' is not certificate or key material.", source, line
                ))
        except PasswordError as exc:
            findings.append(PASSWORD_REQUIRED.finding(f"{source}: line {line}: {exc}", source, line))
        except InputError as exc:
            findings.append(UNREADABLE_INPUT.finding(
                f"{source}: line {line}: {label} block is unreadable: {exc}.", source, line
            ))
    begins = text.count("-----BEGIN ")
    if begins > len(matches):
        where = _unterminated_line(text, matches)
        findings.append(UNREADABLE_INPUT.finding(
            f"{source}: line {where}: PEM block without a matching END line (truncated?).", source, where
        ))
    return Parsed(source, fmt, tuple(certs), tuple(keys), tuple(findings))


def _key(
    block: str, body: str, label: str, source: str, line: int, passwords: Sequence[bytes | None]
) -> KeyRecord:
    origin = _KEY_LABELS[label]
    legacy = "Proc-Type:" in body and "ENCRYPTED" in body.split("\n\n", 1)[0]
    data = block.encode("ascii", "replace")

    def load(password: bytes | None) -> KeyRecord:
        key = serialization.load_pem_private_key(data, password, unsafe_skip_rsa_key_validation=True)
        return key_record(key, source, KeyOrigin.LEGACY_ENCRYPTED if legacy else origin, line)

    try:
        if legacy or label == "ENCRYPTED PRIVATE KEY":
            return with_passwords(load, passwords, f"the encrypted {label.lower()}")
        return load(None)
    except PasswordError:
        raise
    except LOAD_ERRORS as exc:
        raise InputError(reason(exc)) from exc


def _body_der(body: str) -> bytes:
    lines = [ln.strip() for ln in body.strip().splitlines()]
    payload = "".join(ln for ln in lines if ln and ":" not in ln)
    try:
        der = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError("its base64 is damaged") from exc
    if not der:
        raise InputError("it is empty")
    return der


def _pkcs7(der: bytes) -> list:  # type: ignore[type-arg]
    try:
        return pkcs7.load_der_pkcs7_certificates(der)
    except LOAD_ERRORS as exc:
        raise InputError(f"not a PKCS#7 certificate bundle ({reason(exc)})") from exc


def _first_tlv(der: bytes) -> bytes:
    if len(der) < 2:
        raise InputError("too short")
    first = der[1]
    if first < 0x80:
        return der[: 2 + first]
    n = first & 0x7F
    length = int.from_bytes(der[2 : 2 + n], "big")
    return der[: 2 + n + length]


def _unterminated_line(text: str, matches: list[re.Match[str]]) -> int:
    covered = [(m.start(), m.end()) for m in matches]
    pos = 0
    while True:
        pos = text.find("-----BEGIN ", pos)
        if pos < 0:
            return 1
        if not any(a <= pos < b for a, b in covered):
            return text.count("\n", 0, pos) + 1
        pos += 1
