"""PEM text: any mix of certificate, key and PKCS#7 blocks, with whatever text lies around them."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Sequence

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from ..catalog import PASSWORD_REQUIRED, UNREADABLE_INPUT
from ..errors import InputError, LimitError, PasswordError
from ..models import CertRecord, Finding, Format, KeyOrigin, KeyRecord, Parsed
from .common import LOAD_ERRORS, cert_record, key_record, pbe_cost, reason, with_passwords

_BEGIN = re.compile(r"-----BEGIN (?P<label>[A-Z0-9 #]+)-----[ \t]*\r?\n")
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
    {
        "EC PARAMETERS",
        "CERTIFICATE REQUEST",
        "NEW CERTIFICATE REQUEST",
        "PUBLIC KEY",
        "RSA PUBLIC KEY",
        "X509 CRL",
        "DH PARAMETERS",
        "ENCRYPTED PRIVATE KEY INFO",
        "DSA PUBLIC KEY",
        "EC PUBLIC KEY",
        "DSA PARAMETERS",
        "X9.42 DH PARAMETERS",
        "PARAMETERS",
        "OPENSSH PUBLIC KEY",
    }
)


MAX_BLOCKS = 10_000


def parse_pem(
    text: str,
    source: str,
    passwords: Sequence[bytes | None],
    fmt: Format = Format.PEM,
    max_iterations: int = 2_000_000,
) -> Parsed:
    """Every block of a PEM file, each problem a finding on the block's line."""
    certs: list[CertRecord] = []
    keys: list[KeyRecord] = []
    findings: list[Finding] = []
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")  # classic Mac line endings
    unterminated: list[int] = []
    counted, line, number = 0, 1, -1
    for number, (label, start, body_start, end) in enumerate(_blocks(text)):
        line += text.count("\n", counted, start)  # counted incrementally: linear in the file size
        counted = start
        if number >= MAX_BLOCKS:
            findings.append(
                UNREADABLE_INPUT.finding(
                    f"{source}: line {line}: more than {MAX_BLOCKS} PEM blocks; the rest were not read.",
                    source,
                    line,
                )
            )
            break
        if body_start is None:
            unterminated.append(line)
            continue
        body = text[body_start:end]
        try:
            if label in _CERT_LABELS:
                der = _body_der(body)
                if label == "TRUSTED CERTIFICATE":
                    der = _first_tlv(der)  # OpenSSL appends its trust settings after the certificate
                certs.append(cert_record(der, source, line))
            elif label in _KEY_LABELS:
                block = text[start : end + len(f"-----END {label}-----")]
                keys.append(_key(block, body, label, source, line, passwords, max_iterations))
            elif label in ("PKCS7", "CMS"):
                der = _body_der(body)
                certs.extend(
                    cert_record(c.public_bytes(serialization.Encoding.DER), source, line) for c in _pkcs7(der)
                )
            elif label not in _IGNORED:
                findings.append(
                    UNREADABLE_INPUT.finding(
                        f"{source}: line {line}: PEM block '{label}' is not certificate or key material.",
                        source,
                        line,
                    )
                )
        except PasswordError as exc:
            findings.append(PASSWORD_REQUIRED.finding(f"{source}: line {line}: {exc}", source, line))
        except InputError as exc:
            findings.append(
                UNREADABLE_INPUT.finding(
                    f"{source}: line {line}: {label} block is unreadable: {exc}.", source, line
                )
            )
    if number < 0 and not findings:
        at = text.count("\n", 0, max(text.find("-----BEGIN "), 0)) + 1
        unterminated.append(at)  # a BEGIN line cut short: no block at all
    if unterminated:
        more = f" (and {len(unterminated) - 1} more)" if len(unterminated) > 1 else ""
        findings.append(
            UNREADABLE_INPUT.finding(
                f"{source}: line {unterminated[0]}: PEM block without a matching END line (truncated?){more}.",
                source,
                unterminated[0],
            )
        )
    return Parsed(source, fmt, tuple(certs), tuple(keys), tuple(findings))


def _blocks(text: str) -> Iterator[tuple[str, int, int | None, int]]:
    """(label, start, body start, END position) per block; body start None when it has no END line.

    Each search stops at the next BEGIN line, so a file of many unterminated blocks costs linear time.
    """
    pos = 0
    while True:
        m = _BEGIN.search(text, pos)
        if m is None:
            return
        label = m.group("label")
        marker = f"-----END {label}-----"
        following = text.find("-----BEGIN ", m.end())
        stop = following if following >= 0 else len(text)
        end = text.find(marker, m.end(), stop)
        if end < 0:
            yield label, m.start(), None, m.end()
            pos = m.end()
            continue
        yield label, m.start(), m.end(), end
        pos = end + len(marker)


def _key(
    block: str,
    body: str,
    label: str,
    source: str,
    line: int,
    passwords: Sequence[bytes | None],
    max_iterations: int,
) -> KeyRecord:
    origin = _KEY_LABELS[label]
    legacy = "Proc-Type:" in body and "ENCRYPTED" in body.split("\n\n", 1)[0]
    data = block.encode("ascii", "replace")

    def load(password: bytes | None) -> KeyRecord:
        key = serialization.load_pem_private_key(data, password, unsafe_skip_rsa_key_validation=True)
        return key_record(key, source, KeyOrigin.LEGACY_ENCRYPTED if legacy else origin, line)

    try:
        if label == "ENCRYPTED PRIVATE KEY":
            cost = pbe_cost(_body_der(body), max_iterations)
            return with_passwords(load, passwords, "the encrypted private key", cost, max_iterations)
        if legacy:  # Proc-Type: one round of MD5 (EVP_BytesToKey) per try: cheap
            return with_passwords(load, passwords, f"the encrypted {label.lower()}")
        return load(None)
    except (PasswordError, LimitError):
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
