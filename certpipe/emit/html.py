"""The HTML report: one self-contained file rendered from a Jinja template fed a ready view-model."""

from __future__ import annotations

from functools import cache
from typing import Any

from ..models import Result
from ..x509util import describe_key, dns_names, subject
from .document import iso, summary


@cache
def _env() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("certpipe", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def view_model(result: Result, title: str = "certpipe report") -> dict[str, Any]:
    """Everything the template shows, as plain strings and numbers (nothing secret)."""
    rows = []
    for item in result.items:
        cert = item.leaf.cert
        kty, size, crv = describe_key(cert.public_key())
        days_left = (cert.not_valid_after_utc - result.evaluated_at).days
        rows.append(
            {
                "name": item.name,
                "subject": subject(cert),
                "sans": dns_names(cert),
                "key": f"{kty} {crv or size}" if kty != "RSA" else f"RSA {size}",
                "expires": f"{cert.not_valid_after_utc:%Y-%m-%d}",
                "days_left": days_left,
                "chain_length": len(item.chain),
                "sources": list(item.sources),
                "status": str(item.status),
                "findings": [
                    {"rule": f.rule, "severity": str(f.severity), "message": f.message} for f in item.findings
                ],
            }
        )
    files = [
        {
            "path": f.path,
            "format": str(f.format),
            "status": f.status,
            "reason": f.reason or "",
            "findings": [
                {"rule": x.rule, "severity": str(x.severity), "message": x.message} for x in f.findings
            ],
        }
        for f in result.files
    ]
    return {
        "title": title,
        "evaluated_at": iso(result.evaluated_at),
        "summary": summary(result),
        "items": rows,
        "problem_files": [f for f in files if f["findings"]],
        "skipped_files": [f for f in files if f["status"] == "skipped"],
    }


def render_html(result: Result) -> str:
    return str(_env().get_template("report.html.j2").render(**view_model(result)))
