"""SARIF, JUnit and GitHub annotations rendered from one Result built of real certificates."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from junitparser import Failure, JUnitXml

from certpipe import catalog
from certpipe.emit.github import escape_data, escape_property, render_github
from certpipe.emit.junit import render_junit
from certpipe.emit.sarif import FINGERPRINT_KEY, render_sarif
from certpipe.models import CertRecord, FileResult, Finding, Format, Item, KeyOrigin, KeyRecord, Result

AT = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
ROOT = "/srv/ci repo"
READY_PEM = f"{ROOT}/certs/web.pem"
EXPIRED_PEM = f"{ROOT}/certs/old,api.pem"
BROKEN = f"{ROOT}/incoming/bad file.pem"
OUTSIDE = "/etc/ssl/stray.key"
REPO = Path(__file__).resolve().parents[1]
MULTITOOL_IN_PACKAGE = Path("node_modules", "@microsoft", "sarif-multitool-linux", "Sarif.Multitool")


def _cert(
    cn: str, serial: int, not_before: dt.datetime, not_after: dt.datetime
) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    # Deterministic apart from the ECDSA signature and key, which no assertion depends on.
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER), key


def _item(
    name: str, source: str, der: bytes, key: ec.EllipticCurvePrivateKey, findings: tuple[Finding, ...]
) -> Item:
    leaf = CertRecord(der, x509.load_der_x509_certificate(der), source, line=1)
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Item(name, leaf, KeyRecord(key, spki, source, KeyOrigin.SEC1, line=12), (), (source,), findings)


@pytest.fixture(scope="module")
def result() -> Result:
    """A ready item (one note), an expired item (one error), an unreadable file and an orphan key."""
    ready_der, ready_key = _cert(
        "web.example.com", 0x1001, AT - dt.timedelta(days=30), AT + dt.timedelta(days=200)
    )
    old_der, old_key = _cert(
        "api.example.com",
        0x1002,
        dt.datetime(2023, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )
    ready = _item(
        "web-example-com",
        READY_PEM,
        ready_der,
        ready_key,
        (catalog.KEY_FORMAT.finding(f"{READY_PEM}: SEC1 key emitted as PKCS#8.", READY_PEM, 12),),
    )
    expired = _item(
        "api-example-com",
        EXPIRED_PEM,
        old_der,
        old_key,
        (
            catalog.EXPIRED.finding(
                f"{EXPIRED_PEM}: CN=api.example.com expired on 2024-01-01 (517 days ago); AKV refuses it.",
                EXPIRED_PEM,
                1,
            ),
        ),
    )
    unreadable = catalog.UNREADABLE_INPUT.finding(
        f"{BROKEN}: PEM block at line 3 is truncated (re-export the file).", BROKEN, 3
    )
    orphan = catalog.ORPHAN_KEY.finding(f"{OUTSIDE}: the key matches no certificate.", OUTSIDE)
    files = (
        FileResult(READY_PEM, Format.PEM, (), "used", None, ("web-example-com",)),
        FileResult(EXPIRED_PEM, Format.PEM, (), "used", None, ("api-example-com",)),
        FileResult(BROKEN, Format.UNKNOWN, (unreadable,), "failed", unreadable.message),
        FileResult(OUTSIDE, Format.PEM, (orphan,), "failed", orphan.message),
    )
    return Result(AT, files, (ready, expired))


# --- SARIF --------------------------------------------------------------------------------------


def _sarif(result: Result) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(render_sarif(result, tool_version="0.1.0", root=ROOT))
    return log


def _by_uri(log: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in log["runs"][0]["results"]
    }


def test_sarif_declares_every_catalog_rule_in_catalog_order(result: Result) -> None:
    run = _sarif(result)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.slug for r in catalog.RULES]
    expired = rules[[r.slug for r in catalog.RULES].index("expired")]
    assert "name" not in expired  # "Expired" would only re-case the id (SARIF1001)
    assert expired["defaultConfiguration"] == {"level": "error"}
    assert expired["fullDescription"]["text"] == catalog.EXPIRED.rationale
    assert expired["help"]["text"] == catalog.EXPIRED.rationale
    assert expired["properties"]["tags"] == ["akv"]
    by_id = {r["id"]: r for r in rules}
    assert by_id["unreadable-input"]["name"] == "UnreadableInput"
    assert by_id["chain-order"]["defaultConfiguration"] == {"level": "note"}
    assert by_id["orphan-key"]["defaultConfiguration"] == {"level": "warning"}
    assert by_id["missing-san"]["properties"]["tags"] == ["lint"]


def test_sarif_has_one_result_per_finding_with_level_rule_index_and_location(result: Result) -> None:
    log = _sarif(result)
    run = log["runs"][0]
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert run["tool"]["driver"]["name"] == "certpipe"
    assert run["tool"]["driver"]["semanticVersion"] == "0.1.0"
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": "file:///srv/ci%20repo/"}}
    assert len(run["results"]) == len(result.findings) == 4

    by_uri = _by_uri(log)
    assert set(by_uri) == {
        "certs/web.pem",
        "certs/old%2Capi.pem",
        "incoming/bad%20file.pem",
        "file:///etc/ssl/stray.key",
    }
    broken = by_uri["incoming/bad%20file.pem"]
    assert broken["ruleId"] == "unreadable-input"
    assert broken["level"] == "error"
    assert broken["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert broken["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}
    expired = by_uri["certs/old%2Capi.pem"]
    assert (expired["ruleId"], expired["level"]) == ("expired", "error")
    assert run["tool"]["driver"]["rules"][expired["ruleIndex"]]["id"] == "expired"
    assert by_uri["certs/web.pem"]["level"] == "note"
    stray = by_uri["file:///etc/ssl/stray.key"]
    assert stray["level"] == "warning"
    assert "uriBaseId" not in stray["locations"][0]["physicalLocation"]["artifactLocation"]
    assert "region" not in stray["locations"][0]["physicalLocation"]


def test_sarif_is_byte_identical_across_renders(result: Result) -> None:
    first = render_sarif(result, tool_version="0.1.0", root=ROOT)
    assert first == render_sarif(result, tool_version="0.1.0", root=ROOT)
    assert first.endswith("}\n")


def test_sarif_fingerprints_are_distinct_and_ignore_day_counts(result: Result) -> None:
    prints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in _sarif(result)["runs"][0]["results"]]
    assert len(set(prints)) == 4
    # The next day's run says "518 days ago": code scanning must see the same alert, not a new one.
    item = result.items[1]
    later = item.findings[0].message.replace("517", "518")
    moved = Item(
        item.name,
        item.leaf,
        item.key,
        item.chain,
        item.sources,
        (catalog.EXPIRED.finding(later, EXPIRED_PEM, 1),),
    )
    again = _sarif(Result(AT, result.files, (result.items[0], moved)))
    assert (
        _by_uri(again)["certs/old%2Capi.pem"]["partialFingerprints"]
        == _by_uri(_sarif(result))["certs/old%2Capi.pem"]["partialFingerprints"]
    )


def test_sarif_without_root_keeps_relative_sources_relative(result: Result) -> None:
    rel = Result(
        AT,
        (
            FileResult(
                "certs/a b.pem",
                Format.PEM,
                (catalog.UNREADABLE_INPUT.finding("x", "certs/a b.pem"),),
                "failed",
            ),
        ),
        (),
    )
    run = json.loads(render_sarif(rel, tool_version="0.1.0.dev1"))["runs"][0]
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "certs/a%20b.pem"}
    assert "originalUriBaseIds" not in run
    assert "semanticVersion" not in run["tool"]["driver"]  # PEP 440, not SemVer
    assert run["results"][0]["message"]["text"] == "x."


def _multitool() -> Path | None:
    configured = os.environ.get("CERTPIPE_SARIF_MULTITOOL")
    if configured:
        if not Path(configured).is_file():
            pytest.fail(f"CERTPIPE_SARIF_MULTITOOL={configured} is not a file.")
        return Path(configured)
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"), "certpipe", "sarif-multitool")
    candidates = [
        REPO / ".ci" / ".tools" / MULTITOOL_IN_PACKAGE,
        REPO / MULTITOOL_IN_PACKAGE,
        cache / MULTITOOL_IN_PACKAGE,
    ]
    # npm's bin shim (bin.js) runs the binary through a shell; use the binary beside it instead.
    shim = shutil.which("sarif-multitool-linux")
    if shim:
        candidates.append(Path(shim).resolve().parent / "Sarif.Multitool")
    return next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="module")
def multitool() -> Path:
    tool = _multitool()
    if tool is None:
        reason = (
            "SARIF Multitool not found: set CERTPIPE_SARIF_MULTITOOL or run "
            "bash .ci/install-sarif-multitool.sh"
            + ("." if shutil.which("npm") else " (which needs npm, not installed here).")
        )
        if os.environ.get("CERTPIPE_REQUIRE_SARIF_MULTITOOL") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return tool


def test_sarif_passes_microsoft_sarif_multitool_validation(
    result: Result, multitool: Path, tmp_path: Path
) -> None:
    log = tmp_path / "certpipe.sarif"
    log.write_text(
        render_sarif(
            result, tool_version="0.1.0", root=ROOT, information_uri="https://example.invalid/certpipe"
        ),
        encoding="utf-8",
    )
    out = tmp_path / "validation.sarif"
    env = {**os.environ, "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1"}
    proc = subprocess.run(
        [
            str(multitool),
            "validate",
            str(log),
            "--output",
            str(out),
            "--log",
            "ForceOverwrite",
            "--quiet",
            "--rule-kind",
            "Sarif;Ghas",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # Exit 0 only means the tool ran: its findings (even JSON syntax errors) are in its own SARIF log.
    assert proc.returncode == 0, proc.stdout + proc.stderr
    findings = json.loads(out.read_text(encoding="utf-8"))["runs"][0].get("results", [])
    errors = [f"{f['ruleId']}: {f['message']}" for f in findings if f.get("level") == "error"]
    assert errors == []
    # Warnings fixed once and kept fixed: name re-casing the id, missing informationUri/version.
    # SARIF2017 (no region) stays: a whole-file finding has no line to point at.
    assert {f["ruleId"] for f in findings} <= {"SARIF2017"}


# --- JUnit --------------------------------------------------------------------------------------


def test_junit_has_a_testcase_per_item_and_per_failed_file(result: Result) -> None:
    xml = JUnitXml.fromstring(render_junit(result))
    suites = list(xml)
    assert len(suites) == 1
    suite = suites[0]
    assert suite.name == "certpipe"
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (4, 2, 0, 0)
    assert suite.timestamp == "2025-06-01T12:00:00"
    cases = {(c.classname, c.name): c for c in suite}
    assert set(cases) == {
        ("certpipe.items", "web-example-com"),
        ("certpipe.items", "api-example-com"),
        ("certpipe.files", BROKEN),
        ("certpipe.files", OUTSIDE),
    }

    expired = cases["certpipe.items", "api-example-com"]
    assert isinstance(expired.result[0], Failure)
    assert expired.result[0].type == "expired"
    assert "expired on 2024-01-01" in expired.result[0].message
    assert expired._elem.get("file") == EXPIRED_PEM

    ready = cases["certpipe.items", "web-example-com"]
    assert ready.is_passed
    assert "info key-format" in ready.system_out

    broken = cases["certpipe.files", BROKEN]
    assert broken.result[0].type == "unreadable-input"
    assert f"({BROKEN}:3)" in broken.result[0].text

    orphan = cases["certpipe.files", OUTSIDE]
    assert orphan.is_passed  # a warning is not a failure
    assert "warning orphan-key" in orphan.system_out


def test_junit_is_byte_identical_and_utf8_declared(result: Result) -> None:
    first = render_junit(result)
    assert first == render_junit(result)
    assert first.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')


# --- GitHub annotations -------------------------------------------------------------------------


def test_github_writes_one_escaped_command_per_finding_and_a_summary(result: Result) -> None:
    lines = render_github(result).splitlines()
    assert len(lines) == len(result.findings) + 1
    assert lines[0] == (
        "::error file=/srv/ci repo/incoming/bad file.pem,line=3,title=certpipe unreadable-input::"
        f"{BROKEN}: PEM block at line 3 is truncated (re-export the file)."
    )
    assert (
        lines[1]
        == f"::warning file={OUTSIDE},title=certpipe orphan-key::{OUTSIDE}: the key matches no certificate."
    )
    assert lines[2].startswith("::notice file=/srv/ci repo/certs/web.pem,line=12,title=certpipe key-format::")
    assert lines[3].startswith(
        "::error file=/srv/ci repo/certs/old%2Capi.pem,line=1,title=certpipe expired::"
    )
    assert lines[-1].startswith(
        "certpipe: 4 files (0 skipped), 2 certificates: 1 ready, 0 warning, 1 error; 2 errors"
    )


def test_github_escaping_follows_the_actions_toolkit() -> None:
    assert escape_data("50% done\r\nnext: a,b") == "50%25 done%0D%0Anext: a,b"
    assert escape_property("C:\\certs\\a,b%.pem\n") == "C%3A\\certs\\a%2Cb%25.pem%0A"
    finding = catalog.EXPIRED.finding("line one\nline two", "a:b.pem")
    line = render_github(
        Result(AT, (FileResult("a:b.pem", Format.PEM, (finding,), "failed"),), ())
    ).splitlines()[0]
    assert line == "::error file=a%3Ab.pem,title=certpipe expired::line one%0Aline two"
