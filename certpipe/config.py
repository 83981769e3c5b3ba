"""Repository configuration: [tool.certpipe] in pyproject.toml, or .certpipe.toml. Unknown keys are errors."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import BY_SLUG
from .errors import ConfigError

_KEYS = {
    "select", "ignore", "severity", "expiry-warn-days", "trust", "trust-system", "exclude",
    "per-path-ignores", "fail-on", "max-iterations",
}
_SEVERITIES = {"error", "warning", "info"}


@dataclass(frozen=True, slots=True)
class Config:
    source: str | None = None
    select: tuple[str, ...] = ()  # when given, only these rules (plus "ALL")
    ignore: tuple[str, ...] = ()
    severity: tuple[tuple[str, str], ...] = ()
    expiry_warn_days: int | None = None
    trust: tuple[str, ...] = ()
    trust_system: bool | None = None
    exclude: tuple[str, ...] = ()
    per_path_ignores: tuple[tuple[str, frozenset[str]], ...] = field(default=())
    fail_on: str | None = None
    max_iterations: int | None = None


def find(start: Path) -> Path | None:
    """The nearest .certpipe.toml, or pyproject.toml with a [tool.certpipe] table, from start upwards."""
    for folder in (start, *start.parents):
        dotfile = folder / ".certpipe.toml"
        if dotfile.is_file():
            return dotfile
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _has_section(pyproject):
            return pyproject
        if (folder / ".git").exists():
            break
    return None


def _has_section(path: Path) -> bool:
    try:
        return "certpipe" in tomllib.loads(path.read_text("utf-8")).get("tool", {})
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False


def load(path: Path) -> Config:
    """Read and check one configuration file (raises ConfigError with the file and key named)."""
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc}).") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from exc
    table = doc.get("tool", {}).get("certpipe", {}) if path.name == "pyproject.toml" else doc
    return parse(table, str(path))


def parse(table: dict[str, Any], where: str) -> Config:
    """Check a configuration table; every problem names the key."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: the certpipe configuration must be a table.")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))}).")
    severity = table.get("severity", {})
    if not isinstance(severity, dict):
        raise ConfigError(f"{where}: 'severity' must be a table of rule = \"error|warning|info\".")
    for rule, value in severity.items():
        _rule(rule, where, "severity")
        if value not in _SEVERITIES:
            raise ConfigError(f"{where}: severity of {rule!r} must be error, warning or info, not {value!r}.")
    per_path = table.get("per-path-ignores", {})
    if not isinstance(per_path, dict):
        raise ConfigError(f"{where}: 'per-path-ignores' must be a table of \"glob\" = [rules].")
    fail_on = table.get("fail-on")
    if fail_on is not None and fail_on not in ("error", "warning", "never"):
        raise ConfigError(f"{where}: 'fail-on' must be error, warning or never.")
    return Config(
        source=where,
        select=tuple(_rule(r, where, "select") for r in _list(table, "select", where)),
        ignore=tuple(_rule(r, where, "ignore") for r in _list(table, "ignore", where)),
        severity=tuple(sorted(severity.items())),
        expiry_warn_days=_int(table, "expiry-warn-days", where),
        trust=tuple(_list(table, "trust", where)),
        trust_system=_bool(table, "trust-system", where),
        exclude=tuple(_list(table, "exclude", where)),
        per_path_ignores=tuple(
            (glob, frozenset(_rule(r, where, "per-path-ignores") for r in _as_list(rules, where, glob)))
            for glob, rules in sorted(per_path.items())
        ),
        fail_on=fail_on,
        max_iterations=_int(table, "max-iterations", where),
    )


def _rule(slug: Any, where: str, key: str) -> str:
    if slug != "ALL" and slug not in BY_SLUG:
        raise ConfigError(f"{where}: {key}: unknown rule {slug!r} (see `certpipe rules`).")
    return str(slug)


def _list(table: dict[str, Any], key: str, where: str) -> list[str]:
    return _as_list(table.get(key, []), where, key)


def _as_list(value: Any, where: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key!r} must be a list of strings.")
    return value


def _int(table: dict[str, Any], key: str, where: str) -> int | None:
    value = table.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ConfigError(f"{where}: {key!r} must be a non-negative integer.")
    return value


def _bool(table: dict[str, Any], key: str, where: str) -> bool | None:
    value = table.get(key)
    if value is not None and not isinstance(value, bool):
        raise ConfigError(f"{where}: {key!r} must be true or false.")
    return value
