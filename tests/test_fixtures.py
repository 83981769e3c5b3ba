"""The committed fixtures, checked against fixtures/manifest.json (one parametrised case per file and item)."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, fixture_manifest, fixtures_result

from certpipe.x509util import common_name

MANIFEST = fixture_manifest()
# The rules manifest.json predicts; lint rules (e.g. weak-key) may add to these and are tested elsewhere.
PREDICTED = {
    "unreadable-input",
    "password-required",
    "no-private-key",
    "key-mismatch",
    "orphan-key",
    "expired",
    "not-yet-valid",
    "expiring-soon",
    "unsupported-key",
    "weak-signature",
    "chain-incomplete",
    "chain-order",
    "key-format",
    "duplicate",
    "secret-too-large",
    "name-collision",
    "conflicting-certs",
}


def _file(path: str):
    for f in fixtures_result().files:
        if f.path == f"{FIXTURES}/{path}":
            return f
    raise AssertionError(f"{path} not in the result")


def _parsed(path: str):
    for p in fixtures_result().parsed:
        if p.path == f"{FIXTURES}/{path}":
            return p
    raise AssertionError(f"{path} not parsed")


@pytest.mark.parametrize("entry", MANIFEST["files"], ids=lambda e: e["path"])
def test_file_is_detected_and_parsed_as_the_manifest_says(entry):
    got = _file(entry["path"])
    parsed = _parsed(entry["path"])
    if entry["skipped"]:
        assert got.status == "skipped", got
        return
    assert got.status != "skipped", got
    assert str(got.format) == entry["format"]
    assert len(parsed.certs) == entry["certs"]
    assert len(parsed.keys) == entry["keys"]
    assert {f.rule for f in got.findings} & PREDICTED == set(entry["findings"])


@pytest.mark.parametrize("entry", MANIFEST["items"], ids=lambda e: e["subject_cn"] + ":" + e["files"][0])
def test_item_has_the_status_and_findings_the_manifest_says(entry):
    sources = {f"{FIXTURES}/{p}" for p in entry["files"]}
    matches = [
        i
        for i in fixtures_result().items
        if common_name(i.leaf.cert) == entry["subject_cn"] and sources & set(i.sources)
    ]
    assert len(matches) == 1, [i.name for i in matches]
    item = matches[0]
    assert (item.key is not None) == entry["has_private_key"]
    assert len(item.chain) == entry["chain_length"]
    assert {f.rule for f in item.findings} & PREDICTED == set(entry["rules"])
    assert item.status.value == entry["status"]


def test_every_input_file_is_accounted_for():
    result = fixtures_result()
    on_disk = sorted(str(p) for p in FIXTURES.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert sorted(f.path for f in result.files) == on_disk
    assert all(f.status in {"used", "skipped", "failed", "unused"} for f in result.files)
    # every ready item's leaf and key file is marked used by that item
    for item in result.items:
        for src in item.sources:
            assert item.name in _file(src.removeprefix(f"{FIXTURES}/")).items
