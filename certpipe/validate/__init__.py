"""validate(items, ctx) -> items with findings: every rule over every item, findings as data."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import replace

from .. import catalog
from ..models import Finding, Item, KeyOrigin, Parsed
from ..x509util import common_name, dns_names, subject
from .rules import ITEM_RULES, Context

__all__ = ["DEFAULT_DISABLED", "Context", "file_findings", "validate"]

# Rules that only make sense when a repository opts in (a migration share is full of plain keys).
DEFAULT_DISABLED = frozenset({catalog.UNENCRYPTED_KEY.slug})


def validate(items: Sequence[Item], ctx: Context) -> tuple[Item, ...]:
    """Each item with the findings of every item rule, plus the rules that compare items."""
    conflicts = _conflicts(items)
    out = []
    for item in items:
        found = [*item.findings]
        for rule in ITEM_RULES:
            found.extend(rule.check(item, ctx))
        found.extend(conflicts.get(item.name, ()))
        out.append(replace(item, findings=tuple(found)))
    return tuple(out)


def file_findings(parsed: Sequence[Parsed]) -> tuple[Finding, ...]:
    """Findings about files rather than items: private keys stored without encryption."""
    plain = {KeyOrigin.PKCS8, KeyOrigin.PKCS1, KeyOrigin.SEC1}
    out = []
    for p in parsed:
        for key in p.keys:
            if key.origin in plain:
                out.append(catalog.UNENCRYPTED_KEY.finding(
                    f"{key.source}: a private key is stored unencrypted.", key.source, key.line
                ))
    return tuple(out)


def _conflicts(items: Sequence[Item]) -> dict[str, tuple[Finding, ...]]:
    """Several different certificates that claim the same host or common name."""
    by_name: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        for name in _names(item):
            by_name[name].append(item)
    out: dict[str, list[Finding]] = defaultdict(list)
    for name, group in sorted(by_name.items()):
        if len(group) < 2:
            continue
        for item in group:
            others = ", ".join(sorted(o.name for o in group if o is not item))
            if any(f.message.startswith(f"{item.leaf.source}: {name} ") for f in out[item.name]):
                continue
            out[item.name].append(catalog.CONFLICTING_CERTS.finding(
                f"{item.leaf.source}: {name} is also claimed by {others}; keep one certificate per name.",
                item.leaf.source, item.leaf.line,
            ))
    return {k: tuple(v) for k, v in out.items()}


def _names(item: Item) -> set[str]:
    cert = item.leaf.cert
    names = {n.lower() for n in dns_names(cert)}
    cn = common_name(cert)
    return names or ({cn.lower()} if cn else {subject(cert)})


def apply_config(
    findings: Sequence[Finding], disabled: Collection[str], severities: dict[str, str]
) -> tuple[Finding, ...]:
    """Drop disabled rules and apply severity overrides (configuration and --select/--ignore)."""
    from ..models import Severity

    out = []
    for f in findings:
        if f.rule in disabled:
            continue
        if f.rule in severities:
            f = replace(f, severity=Severity(severities[f.rule]))
        out.append(f)
    return tuple(out)
