"""SARIF 2.1.0 for code-scanning uploads (GitHub, Azure DevOps): every rule, one result per finding."""

from __future__ import annotations

import hashlib
import posixpath
import re
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from .. import catalog
from ..models import Finding, Result, Severity
from .document import iso
from .jsontext import dumps as json_text

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "certpipe/v1"

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
# SemVer 2.0.0 section 2, 9 and 10; a PEP 440 version such as "0.2.dev1" is published as "version" only.
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


def render_sarif(
    result: Result, *, tool_version: str, root: str | None = None, information_uri: str | None = None
) -> str:
    """A SARIF 2.1.0 log of one run; sources under `root` become %SRCROOT%-relative URIs."""
    rules = [_rule_descriptor(r) for r in catalog.RULES]
    index = {r.slug: i for i, r in enumerate(catalog.RULES)}
    # A slug outside the catalog (a plugin, a newer config) still gets a descriptor, so every
    # result can carry ruleIndex (SARIF 3.27.6).
    for slug in sorted({f.rule for f in result.findings} - index.keys()):
        index[slug] = len(rules)
        rules.append(_unknown_rule_descriptor(slug))

    driver: dict[str, Any] = {
        "name": "certpipe",
        "fullName": f"certpipe {tool_version}",
        "version": tool_version,
        "rules": rules,
    }
    if _SEMVER.match(tool_version):
        driver["semanticVersion"] = tool_version
    if information_uri:
        driver["informationUri"] = information_uri

    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "invocations": [{"executionSuccessful": True}],
        "results": [_result(f, index[f.rule], root) for f in result.findings],
        "columnKind": "unicodeCodePoints",
        "properties": {"evaluatedAt": iso(result.evaluated_at)},
    }
    base = _root_uri(root)
    if base is not None:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": base}}
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json_text(log) + "\n"


def _rule_descriptor(rule: catalog.Rule) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": rule.slug,
        "shortDescription": {"text": _sentence(_capital(rule.summary))},
        "fullDescription": {"text": rule.rationale},
        "help": {
            "text": rule.rationale,
            "markdown": f"**{rule.slug}**: {_sentence(rule.summary)}\n\n{rule.rationale}",
        },
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"tags": [rule.group]},
    }
    # SARIF 3.49.7 and Multitool SARIF1001: a name that only re-cases the id ("Expired") is omitted.
    name = _camel(rule.slug)
    if name.casefold() != rule.slug.casefold():
        descriptor["name"] = name
    return descriptor


def _unknown_rule_descriptor(slug: str) -> dict[str, Any]:
    text = f"Rule {slug} is not in certpipe's catalog."
    return {"id": slug, "shortDescription": {"text": text}, "help": {"text": text}}


def _result(f: Finding, rule_index: int, root: str | None) -> dict[str, Any]:
    uri, base_id = artifact_uri(f.source, root)
    artifact: dict[str, Any] = {"uri": uri}
    if base_id is not None:
        artifact["uriBaseId"] = base_id
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if f.line is not None and f.line >= 1:
        physical["region"] = {"startLine": f.line}
    return {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": _LEVEL[f.severity],
        "message": {"text": _sentence(f.message)},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f, uri)},
    }


def artifact_uri(source: str, root: str | None) -> tuple[str, str | None]:
    """The URI reference for a finding's source and its uriBaseId (RFC 3986 path, percent-encoded)."""
    path = PurePath(source)
    if root is not None:
        base = PurePath(root)
        if not path.is_absolute() and base.is_absolute():
            return _encode(path.as_posix()), SRCROOT  # already relative to the root it was found under
        if path.is_absolute() == base.is_absolute():
            rel = posixpath.normpath(_relative(path, base) or "..")
            if rel != ".." and not rel.startswith("../"):
                return _encode(rel), SRCROOT
    if path.is_absolute():
        return path.as_uri(), None
    return _encode(path.as_posix()), None


def _relative(path: PurePath, base: PurePath) -> str | None:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return None


def _root_uri(root: str | None) -> str | None:
    # SARIF 3.14.14: an originalUriBaseIds entry is absolute and ends with a slash; a relative root
    # is still used to relativise sources but is not published.
    if root is None or not PurePath(root).is_absolute():
        return None
    uri = PurePath(root).as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _encode(posix_path: str) -> str:
    # Keep "/" as the separator; everything outside RFC 3986 unreserved is percent-encoded, which also
    # stops a ":" in the first segment being read as a scheme (RFC 3986 4.2).
    return quote(posix_path, safe="/")


def fingerprint(f: Finding, uri: str) -> str:
    """A stable id for code scanning to match a finding across runs (rule, location, message)."""
    # The URI rather than the raw path, so checkouts in different places agree; digits are folded
    # because messages count days ("expired ... (12 days ago)") and must not open a new alert daily.
    message = re.sub(r"\d+", "0", f.message)
    key = "\0".join((f.rule, uri, str(f.line or 0), message))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _camel(slug: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_.]", slug) if part)


def _sentence(text: str) -> str:
    # SARIF2001: plain-text messages end with a period. Only the period is added: a message may
    # start with a file name, whose case matters.
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
