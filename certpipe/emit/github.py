"""GitHub Actions workflow commands: one annotation per finding, then a plain summary line."""

from __future__ import annotations

from ..models import Finding, Result, Severity
from .document import summary_line

_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render_github(result: Result) -> str:
    """`::error file=...,line=...,title=...::message` lines, one per finding, and a closing summary."""
    lines = [_annotation(f) for f in result.findings]
    lines.append(f"certpipe: {summary_line(result)}")
    return "\n".join(lines) + "\n"


def _annotation(f: Finding) -> str:
    props = [f"file={escape_property(f.source)}"]
    if f.line is not None:
        props.append(f"line={f.line}")
    props.append(f"title={escape_property(f'certpipe {f.rule}')}")
    return f"::{_COMMAND[f.severity]} {','.join(props)}::{escape_data(f.message)}"


def escape_data(text: str) -> str:
    """Escape a command's message (actions/toolkit core/src/command.ts escapeData)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a command property value (actions/toolkit escapeProperty): data escapes plus ':' and ','."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
