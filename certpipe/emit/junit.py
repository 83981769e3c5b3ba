"""JUnit XML for CI test reports: one testcase per item, one per file that failed or holds errors."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from ..models import FileResult, Finding, Result, Severity
from .document import iso

# XML 1.0 section 2.2: characters that may not appear in a document at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

ITEMS_CLASS = "certpipe.items"
FILES_CLASS = "certpipe.files"


def render_junit(result: Result) -> str:
    """A <testsuites> document; error findings fail their testcase, warnings and notes go to system-out."""
    cases = [_case(ITEMS_CLASS, i.name, i.leaf.source, i.findings) for i in result.items]
    cases += [_case(FILES_CLASS, f.path, f.path, f.findings) for f in result.files if _file_is_case(f)]
    failures = sum(1 for c in cases if c.find("failure") is not None)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0", "skipped": "0"}

    suites = ET.Element("testsuites", {"name": "certpipe", **counts, "time": "0"})
    # The JUnit schema's timestamp carries no zone; evaluated_at is UTC.
    stamp = iso(result.evaluated_at).removesuffix("Z")
    suite = ET.SubElement(
        suites, "testsuite", {"name": "certpipe", **counts, "time": "0", "timestamp": stamp}
    )
    suite.extend(cases)
    ET.indent(suites)
    body = ET.tostring(suites, encoding="unicode", short_empty_elements=True)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def _file_is_case(f: FileResult) -> bool:
    return f.status == "failed" or any(x.severity is Severity.ERROR for x in f.findings)


def _case(classname: str, name: str, file: str, findings: Sequence[Finding]) -> ET.Element:
    case = ET.Element(
        "testcase", {"classname": classname, "name": _xml(name), "file": _xml(file), "time": "0"}
    )
    errors = [f for f in findings if f.severity is Severity.ERROR]
    others = [f for f in findings if f.severity is not Severity.ERROR]
    if errors:
        first = errors[0]
        message = first.message if len(errors) == 1 else f"{first.message} (and {len(errors) - 1} more)"
        failure = ET.SubElement(case, "failure", {"message": _xml(message), "type": first.rule})
        failure.text = "\n".join(_line(f) for f in errors)
    if others:
        ET.SubElement(case, "system-out").text = "\n".join(_line(f) for f in others)
    return case


def _line(f: Finding) -> str:
    where = f.source if f.line is None else f"{f.source}:{f.line}"
    return _xml(f"{f.severity.value} {f.rule} ({where}): {f.message}")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
