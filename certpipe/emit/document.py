"""The result document (check --format json, schema version 1) and the human text summary."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from typing import Any

from ..models import CertRecord, FileResult, Finding, Item, Result, Severity, Status
from ..x509util import describe_key, dns_names
from ..x509util import name_str as _name
from .jsontext import dumps as json_text

SCHEMA_VERSION = 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def summary(result: Result) -> dict[str, int]:
    findings = result.findings
    return {
        "files": len(result.files),
        "skipped": result.skipped,
        "certificates": len(result.items),
        "ready": sum(1 for i in result.items if i.status is Status.READY),
        "warning": sum(1 for i in result.items if i.status is Status.WARNING),
        "error": sum(1 for i in result.items if i.status is Status.ERROR),
        "errors": sum(1 for f in findings if f.severity is Severity.ERROR),
        "warnings": sum(1 for f in findings if f.severity is Severity.WARNING),
    }


def cert_view(rec: CertRecord) -> dict[str, Any]:
    cert = rec.cert
    kty, size, crv = describe_key(cert.public_key())
    sha1 = hashlib.sha1(rec.der).digest()
    return {
        "subject": _name(cert.subject),
        "issuer": _name(cert.issuer),
        "serial": format(cert.serial_number, "x"),
        "not_before": iso(cert.not_valid_before_utc),
        "not_after": iso(cert.not_valid_after_utc),
        "sha1": sha1.hex().upper(),
        "sha256": hashlib.sha256(rec.der).hexdigest().upper(),
        "x5t": base64.urlsafe_b64encode(sha1).rstrip(b"=").decode(),
        "key": {"kty": kty, "size": size, "crv": crv},
        "dns_names": dns_names(cert),
    }


def item_view(item: Item) -> dict[str, Any]:
    return {
        "name": item.name,
        "status": str(item.status),
        "sources": list(item.sources),
        "has_private_key": item.key is not None,
        "certificate": cert_view(item.leaf),
        "chain": [
            {
                "subject": _name(c.cert.subject),
                "sha1": hashlib.sha1(c.der).hexdigest().upper(),
                "source": c.source,
            }
            for c in item.chain
        ],
        "findings": [f.as_dict() for f in item.findings],
        "tags": dict(item.tags),
    }


def document(result: Result) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "evaluated_at": iso(result.evaluated_at),
        "summary": summary(result),
        "files": [file_view(f) for f in result.files],
        "items": [item_view(i) for i in result.items],
    }


def file_view(f: FileResult) -> dict[str, Any]:
    """One input file as the result document and the manifest show it."""
    return {
        "path": f.path,
        "format": str(f.format),
        "status": f.status,
        "reason": f.reason,
        "items": list(f.items),
        "findings": [x.as_dict() for x in f.findings],
    }


def render_json(result: Result) -> str:
    """The result document: sorted keys, two-space indent, byte-identical for the same input and --now."""
    return json_text(document(result)) + "\n"


def render_text(result: Result) -> str:
    """A human summary: one line per item, then every finding."""
    lines = []
    for item in result.items:
        cert = item.leaf.cert
        lines.append(
            f"{item.status.value.upper():8} {item.name}  ({_name(cert.subject)}, "
            f"expires {cert.not_valid_after_utc:%Y-%m-%d})"
        )
        lines.extend(_finding_line(f) for f in item.findings)
    file_findings = [f for r in result.files for f in r.findings]
    if file_findings:
        lines.append("files:")
        lines.extend(_finding_line(f) for f in file_findings)
    lines.append(summary_line(result))
    return "\n".join(printable(line) for line in lines) + "\n"


def printable(text: str) -> str:
    """Control characters from certificate fields shown as \\xNN, so an input cannot forge output lines
    or send terminal escapes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def summary_line(result: Result) -> str:
    """'N files (K skipped), M certificates: a ready, b warning, c error; E errors, W warnings (evaluated at T)'."""
    s = summary(result)
    return (
        f"{plural(s['files'], 'file')} ({s['skipped']} skipped), {plural(s['certificates'], 'certificate')}: "
        f"{s['ready']} ready, {s['warning']} warning, {s['error']} error; "
        f"{plural(s['errors'], 'error')}, {plural(s['warnings'], 'warning')} (evaluated at {iso(result.evaluated_at)})"
    )


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _finding_line(f: Finding) -> str:
    return f"  {f.severity.value:7} {f.rule}: {f.message}"
