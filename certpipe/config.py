"""Repository configuration: [tool.certpipe] in pyproject.toml, or .certpipe.toml. Unknown keys are errors.

Paths in the file (trust, exclude, per-path-ignores) are relative to the folder holding it, the
repository root, whatever folder certpipe runs from and however the files are named on the command line.
Command-line options override the file.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from .catalog import BY_SLUG
from .errors import ConfigError, UsageError

_KEYS = {
    "select",
    "ignore",
    "severity",
    "expiry-warn-days",
    "trust",
    "trust-system",
    "exclude",
    "per-path-ignores",
    "fail-on",
    "max-iterations",
}
_SEVERITIES = {"error", "warning", "info"}
_ALL_SLUGS = frozenset(BY_SLUG)


@dataclass(frozen=True, slots=True)
class Config:
    source: str | None = None  # the file, as shown in messages
    root: str | None = None  # the file's folder (absolute): exclude and per-path-ignores are relative to it
    select: tuple[str, ...] = ()  # when given, only these rules (or "ALL")
    ignore: tuple[str, ...] = ()  # "ALL" already expanded
    severity: tuple[tuple[str, str], ...] = ()
    expiry_warn_days: int | None = None
    trust: tuple[str, ...] = ()  # resolved against root
    trust_system: bool | None = None
    exclude: tuple[str, ...] = ()
    per_path_ignores: tuple[tuple[str, frozenset[str]], ...] = field(default=())  # "ALL" already expanded
    fail_on: str | None = None
    max_iterations: int | None = None


def find(start: Path) -> Path | None:
    """The nearest .certpipe.toml, or pyproject.toml with [tool.certpipe], from start up to the repo root.

    In one folder .certpipe.toml wins over pyproject.toml; the search stops at the folder holding .git.
    A file owned by another user (not root) is not honoured: in a shared folder such as /tmp anyone
    could otherwise plant `exclude = ["**"]` and silence every check (the reasoning of git's
    safe.directory).
    """
    for folder in (start, *start.parents):
        dotfile = folder / ".certpipe.toml"
        if dotfile.is_file() and _trusted(dotfile):
            return dotfile
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _trusted(pyproject) and _has_section(pyproject):
            return pyproject
        if (folder / ".git").exists():
            break
    return None


def _trusted(path: Path) -> bool:
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return True
    try:
        owner = path.stat().st_uid
    except OSError:
        return False
    return owner in (getuid(), 0)


def _has_section(path: Path) -> bool:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    try:
        return "certpipe" in tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError:
        # A broken file that seems to configure certpipe is reported by load(), not silently skipped.
        return "tool.certpipe" in text


def load(path: Path) -> Config:
    """Read and check one configuration file (raises ConfigError with the file and key named)."""
    shown = _shown(path)
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot be read ({getattr(exc, 'strerror', None) or exc}).") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown}: not valid TOML ({exc}).") from exc
    if path.name == "pyproject.toml":
        tool = doc.get("tool", {})
        if not isinstance(tool, dict) or "certpipe" not in tool:
            raise ConfigError(f"{shown}: has no [tool.certpipe] table (add one, or use --no-config).")
        return parse(tool["certpipe"], f"{shown} [tool.certpipe]", root=path.absolute().parent)
    return parse(doc, shown, root=path.absolute().parent)


def _shown(path: Path) -> str:
    """The file as a user would type it: relative to the working folder when below it."""
    rel = relative(str(path), os.getcwd())
    return rel if rel else str(path)


def parse(table: dict[str, Any], where: str, root: Path | None = None) -> Config:
    """Check a configuration table; every problem names the key. Paths are resolved against root."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: the certpipe configuration must be a table.")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}{_did_you_mean(unknown[0])}.")
    severity = table.get("severity", {})
    if not isinstance(severity, dict):
        raise ConfigError(f"{where}: 'severity' must be a table of rule = \"error|warning|info\".")
    for rule, value in severity.items():
        if rule == "ALL":
            raise ConfigError(f"{where}: severity: name each rule; 'ALL' cannot be given one severity.")
        _rule(rule, where, "severity")
        if not isinstance(value, str) or value not in _SEVERITIES:
            raise ConfigError(f"{where}: severity of {rule!r} must be error, warning or info, not {value!r}.")
    per_path = table.get("per-path-ignores", {})
    if not isinstance(per_path, dict):
        raise ConfigError(f"{where}: 'per-path-ignores' must be a table of \"glob\" = [rules].")
    fail_on = table.get("fail-on")
    if fail_on is not None and fail_on not in ("error", "warning", "never"):
        raise ConfigError(f"{where}: 'fail-on' must be error, warning or never, not {fail_on!r}.")
    max_iterations = _int(table, "max-iterations", where)
    if max_iterations == 0:
        raise ConfigError(f"{where}: 'max-iterations' must be at least 1.")
    base = root if root is not None else Path()
    return Config(
        source=where,
        root=str(root) if root is not None else None,
        select=tuple(_rule(r, where, "select") for r in _list(table, "select", where)),
        ignore=tuple(sorted(_expand(_rule(r, where, "ignore") for r in _list(table, "ignore", where)))),
        severity=tuple(sorted(severity.items())),
        expiry_warn_days=_int(table, "expiry-warn-days", where),
        trust=tuple(str(base / t) for t in _list(table, "trust", where)),
        trust_system=_bool(table, "trust-system", where),
        exclude=tuple(_glob(g, where, "exclude") for g in _list(table, "exclude", where)),
        per_path_ignores=tuple(
            (
                _glob(glob, where, "per-path-ignores"),
                _expand(_rule(r, where, f"per-path-ignores {glob!r}") for r in _as_list(rules, where, glob)),
            )
            for glob, rules in sorted(per_path.items())
        ),
        fail_on=fail_on,
        max_iterations=max_iterations,
    )


def disabled_rules(
    conf: Config, select: Sequence[str] | None, ignore: Sequence[str] | None
) -> frozenset[str]:
    """The rules a run leaves out: --select replaces the file's select, --ignore adds to its ignore.

    A rule named in --select is reported even when the file ignores it; "ALL" turns on the rules that
    are off by default (unencrypted-key) but keeps the file's ignore.
    """
    from .validate import DEFAULT_DISABLED

    for option, slugs in (("--select", select), ("--ignore", ignore)):
        for slug in slugs or ():
            if slug != "ALL" and slug not in BY_SLUG:
                raise UsageError(f"{option} {slug!r}: unknown rule (see `certpipe rules`).")
    cli_select = tuple(select or ())
    chosen = cli_select or conf.select
    if chosen:
        enabled = set(_ALL_SLUGS) if "ALL" in chosen else set(chosen)
    else:
        enabled = set(_ALL_SLUGS - DEFAULT_DISABLED)
    file_ignore = set(conf.ignore) - set(cli_select)
    return frozenset((_ALL_SLUGS - enabled) | file_ignore | _expand(ignore or ()))


def relative(path: str, root: str) -> str | None:
    """path (absolute, or relative to the working folder) relative to root, "/"-separated; None when outside.

    "" is root itself. Symlinked spellings of the same folder (macOS /tmp, a symlinked checkout) agree.
    """
    for resolve in (os.path.abspath, os.path.realpath):
        try:
            rel = os.path.relpath(resolve(path), resolve(root))
        except ValueError:  # another drive on Windows
            continue
        if rel != os.pardir and not rel.startswith(os.pardir + os.sep):
            return "" if rel == os.curdir else rel.replace(os.sep, "/")
    return None


def matches(rel: str, pattern: str) -> bool:
    """Whether a root-relative path falls under a configuration glob.

    fnmatch rules, where "*" also crosses "/" (so "*.key" is any .key file); a pattern naming a folder
    ("vendor", "vendor/", "vendor/**") covers everything below it; "**/" also matches no folder at all
    ("**/fixtures/**" covers "fixtures/a.pem").
    """
    for p in _variants(pattern.removeprefix("./")):
        p = p.rstrip("/")
        if p.endswith("/**") and rel == p[:-3]:
            return True
        if fnmatch(rel, p) or fnmatch(rel, p + "/*"):
            return True
    return False


def _variants(pattern: str) -> list[str]:
    at = pattern.find("**/")
    if at < 0:
        return [pattern]
    head = pattern[:at]
    return [v for tail in _variants(pattern[at + 3 :]) for v in (f"{head}**/{tail}", f"{head}{tail}")]


def _did_you_mean(key: str) -> str:
    close = difflib.get_close_matches(key.replace("_", "-").lower(), sorted(_KEYS), n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (known keys: {', '.join(sorted(_KEYS))})"


def _expand(slugs: Any) -> frozenset[str]:
    out = frozenset(slugs)
    return _ALL_SLUGS if "ALL" in out else out


def _rule(slug: Any, where: str, key: str) -> str:
    if slug != "ALL" and slug not in BY_SLUG:
        raise ConfigError(f"{where}: {key}: unknown rule {slug!r} (see `certpipe rules`).")
    return str(slug)


def _glob(pattern: str, where: str, key: str) -> str:
    cleaned = pattern.replace("\\", "/").removeprefix("./")
    if not cleaned or os.path.isabs(pattern) or cleaned.startswith("/") or cleaned.split("/")[0] == "..":
        raise ConfigError(
            f"{where}: {key}: {pattern!r} must be a glob relative to the configuration's folder "
            "(e.g. 'certs/old/**')."
        )
    return cleaned


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
