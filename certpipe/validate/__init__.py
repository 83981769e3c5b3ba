"""validate(items, ctx) -> items with findings: every rule over every item, findings as data."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import replace

from .. import catalog
from ..models import Finding, Item, KeyOrigin, Parsed
from ..x509util import common_name, dns_names, subject
from .rules import ITEM_RULES, Context

__all__ = ["DEFAULT_DISABLED", "Context", "file_findings", "rule_findings", "validate"]

# Rules that only make sense when a repository opts in (a migration share is full of plain keys).
DEFAULT_DISABLED = frozenset({catalog.UNENCRYPTED_KEY.slug})


def validate(
    items: Sequence[Item], ctx: Context, found: Sequence[tuple[Finding, ...]] | None = None
) -> tuple[Item, ...]:
    """Each item with the findings of every item rule, plus the rules that compare items.

    found: rule_findings(items, ctx) when already computed (the pipeline runs it in a process pool).
    """
    if found is None:
        found = rule_findings(items, ctx)
    if len(found) != len(items):
        raise ValueError(f"{len(found)} sets of findings for {len(items)} items")
    conflicts = _conflicts(items)
    return tuple(
        replace(item, findings=(*item.findings, *own, *conflicts.get(item.name, ())))
        for item, own in zip(items, found, strict=True)
    )


def rule_findings(items: Sequence[Item], ctx: Context) -> list[tuple[Finding, ...]]:
    """What every item rule finds, item by item; each item is judged on its own."""
    return [_item_findings(item, ctx) for item in items]


def _item_findings(item: Item, ctx: Context) -> tuple[Finding, ...]:
    found: list[Finding] = []
    for rule in ITEM_RULES:
        try:
            found.extend(rule.check(item, ctx))
        except Exception as exc:
            found.append(
                catalog.UNREADABLE_INPUT.finding(
                    f"{item.leaf.source}: the certificate could not be checked for {rule.rule.slug} "
                    f"({type(exc).__name__}).",
                    item.leaf.source,
                    item.leaf.line,
                )
            )
    return tuple(found)


def file_findings(parsed: Sequence[Parsed]) -> tuple[Finding, ...]:
    """Findings about files rather than items: private keys stored without encryption."""
    plain = {KeyOrigin.PKCS8, KeyOrigin.PKCS1, KeyOrigin.SEC1}
    out = []
    for p in parsed:
        for key in p.keys:
            if key.origin in plain:
                out.append(
                    catalog.UNENCRYPTED_KEY.finding(
                        f"{key.source}: a private key is stored unencrypted.", key.source, key.line
                    )
                )
    return tuple(out)


def _conflicts(items: Sequence[Item]) -> dict[str, tuple[Finding, ...]]:
    """Several different certificates that claim the same host or common name: one finding per item."""
    by_name: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        for name in _names(item):
            by_name[name].append(item)
    shared: dict[str, tuple[list[str], set[str], Item]] = {}
    for name, group in sorted(by_name.items()):
        if len(group) < 2:
            continue
        for item in group:
            names, others, _ = shared.setdefault(item.name, ([], set(), item))
            names.append(name)
            if len(others) < 4:  # enough to name three; a hostile input may have thousands
                others.update(o.name for o in group[:5] if o.name != item.name)
    out: dict[str, tuple[Finding, ...]] = {}
    for key, (names, others, item) in shared.items():
        listed = ", ".join(sorted(others)[:3]) + (" and others" if len(others) > 3 else "")
        what = names[0] if len(names) == 1 else f"{names[0]} (and {len(names) - 1} more names)"
        out[key] = (
            catalog.CONFLICTING_CERTS.finding(
                f"{item.leaf.source}: {what} is also claimed by {listed}; keep one certificate per name.",
                item.leaf.source,
                item.leaf.line,
            ),
        )
    return out


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
