"""certpipe inspect: per object found in one file, everything a human asks about it."""

from __future__ import annotations

from typing import Any

from ..models import Result
from ..x509util import describe_key, dns_names, name_str
from .document import cert_view, iso, printable
from .jsontext import dumps as json_text


def inspect_view(result: Result) -> dict[str, Any]:
    """The objects of the (single) file in result, with validity, fingerprints and applicable findings."""
    parsed = result.parsed[0]
    at = result.evaluated_at
    objects: list[dict[str, Any]] = []
    for rec in parsed.certs:
        view = cert_view(rec)
        view.update(
            type="certificate",
            line=rec.line,
            friendly_name=rec.friendly_name,
            days_left=(rec.cert.not_valid_after_utc - at).days,
            dns_names=dns_names(rec.cert),
            self_signed=rec.cert.issuer == rec.cert.subject,
        )
        objects.append(view)
    for key in parsed.keys:
        kty, size, crv = describe_key(key.key.public_key())
        objects.append(
            {
                "type": "private-key",
                "line": key.line,
                "friendly_name": key.friendly_name,
                "stored_as": str(key.origin),
                "key": {"kty": kty, "size": size, "crv": crv},
            }
        )
    info = parsed.pkcs12
    pkcs12 = None
    if info is not None:
        pkcs12 = {
            "mac_algorithm": info.mac_algorithm,
            "mac_iterations": info.mac_iterations,
            "encryptions": list(info.encryptions),
            "iterations": list(info.iterations),
            "friendly_names": list(info.friendly_names),
        }
    findings = [f.as_dict() for r in result.files for f in r.findings]
    findings += [f.as_dict() for i in result.items for f in i.findings]
    return {
        "path": parsed.path,
        "format": str(parsed.format),
        "evaluated_at": iso(at),
        "skipped": parsed.skipped,
        "pkcs12": pkcs12,
        "objects": objects,
        "findings": findings,
        "items": [{"name": i.name, "status": str(i.status)} for i in result.items],
    }


def render_inspect_json(result: Result) -> str:
    return json_text(inspect_view(result)) + "\n"


def render_inspect_text(result: Result) -> str:
    v = inspect_view(result)
    out = [f"{v['path']}: {v['format']}" + (f" (skipped: {v['skipped']})" if v["skipped"] else "")]
    if v["pkcs12"]:
        p = v["pkcs12"]
        out.append(
            f"  PKCS#12: MAC {p['mac_algorithm']} x{p['mac_iterations']}; encryption "
            f"{', '.join(p['encryptions']) or 'none'}; iterations {', '.join(map(str, p['iterations'])) or '-'}"
            + (f"; friendly names {', '.join(p['friendly_names'])}" if p["friendly_names"] else "")
        )
    for n, o in enumerate(v["objects"], 1):
        where = f" (line {o['line']})" if o.get("line") else ""
        if o["type"] == "certificate":
            k = o["key"]
            out += [
                f"[{n}] certificate{where}" + (f" '{o['friendly_name']}'" if o["friendly_name"] else ""),
                f"    subject    {o['subject']}",
                f"    issuer     {o['issuer']}" + ("  (self-signed)" if o["self_signed"] else ""),
                f"    SANs       {', '.join(o['dns_names']) or '-'}",
                f"    valid      {o['not_before']} .. {o['not_after']} ({o['days_left']} days left)",
                f"    key        {k['kty']} {k['crv'] or k['size']}",
                f"    serial     {o['serial']}",
                f"    SHA-1      {o['sha1']}",
                f"    SHA-256    {o['sha256']}",
                f"    x5t        {o['x5t']}",
            ]
        else:
            k = o["key"]
            out.append(
                f"[{n}] private key{where}: {k['kty']} {k['crv'] or k['size']}, stored as {o['stored_as']}"
                + (f" '{o['friendly_name']}'" if o["friendly_name"] else "")
            )
    if v["findings"]:
        out.append("findings:")
        out += [f"  {f['severity']:7} {f['rule']}: {f['message']}" for f in v["findings"]]
    else:
        out.append("findings: none")
    return "\n".join(printable(line) for line in out) + "\n"


__all__ = ["inspect_view", "name_str", "render_inspect_json", "render_inspect_text"]
