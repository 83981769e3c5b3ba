"""NIST PKITS (from cryptography-vectors) driven by tests/pkits_manifest.json: sections 4.1-4.3, 4.6, 4.7."""

from __future__ import annotations

import datetime as dt
import json
import random
import warnings
from pathlib import Path
from typing import Any

import cryptography_vectors
import pytest
from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

from certpipe.validate.chain import build_chain, check_chain, verify_path
from certpipe.validate.trust import TrustStore

CERTS = Path(cryptography_vectors.__file__).parent / "x509" / "PKITS_data" / "certs"
MANIFEST = json.loads((Path(__file__).parent / "pkits_manifest.json").read_text(encoding="utf-8"))
# Every PKITS certificate is valid 2010-01-01 .. 2030-12-31 except those the 4.2 tests date on purpose;
# 2012 is after the 2011-01-01 notAfter of tests 4.2.5 / 4.2.6.
AT = dt.datetime(2012, 1, 1, tzinfo=dt.UTC)


def load(name: str) -> x509.Certificate:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)  # PKITS has non-positive serials
        return x509.load_der_x509_certificate((CERTS / name).read_bytes())


ANCHORS = TrustStore.from_certs([load("TrustAnchorRootCertificate.crt")])


def _cases() -> list[Any]:
    params = []
    for case in MANIFEST:
        marks = (
            [pytest.mark.xfail(reason=case["xfail"], raises=ValueError, strict=True)]
            if "xfail" in case
            else []
        )
        params.append(pytest.param(case, id=f"{case['id']} {case['name']}", marks=marks))
    return params


def _material(case: dict[str, Any]) -> tuple[x509.Certificate, tuple[x509.Certificate, ...]]:
    return load(case["leaf"]), tuple(load(name) for name in case["intermediates"])


def test_manifest_covers_the_sections_in_scope() -> None:
    ids = [case["id"] for case in MANIFEST]
    expected = (
        [f"4.1.{i}" for i in range(1, 7)]
        + [f"4.2.{i}" for i in range(1, 9)]
        + [f"4.3.{i}" for i in range(1, 12)]
        + [f"4.6.{i}" for i in range(1, 18)]
        + [f"4.7.{i}" for i in range(1, 6)]
    )
    assert ids == expected
    assert {case["expect"] for case in MANIFEST} == {"valid", "chain-invalid", "leaf-time"}


def test_validation_time_is_inside_the_anchor_and_good_ca() -> None:
    for name in ("TrustAnchorRootCertificate.crt", "GoodCACert.crt"):
        cert = load(name)
        assert cert.not_valid_before_utc <= AT <= cert.not_valid_after_utc


@pytest.mark.parametrize("case", _cases())
def test_pkits_path_validation(case: dict[str, Any]) -> None:
    leaf, intermediates = _material(case)
    problems = verify_path(leaf, intermediates, at=AT, anchors=ANCHORS, explicit_trust=True)
    if case["expect"] == "valid":
        assert problems == ()
    elif case["expect"] == "chain-invalid":
        assert [slug for slug, _ in problems] == ["chain-invalid"]
        assert case["message"] in problems[0][1]
    else:  # leaf-time: the leaf's own dates are wrong, which is the expired / not-yet-valid rules' verdict
        assert not leaf.not_valid_before_utc <= AT <= leaf.not_valid_after_utc
        assert problems == ()


@pytest.mark.parametrize("case", _cases())
def test_pkits_chain_built_from_a_shuffled_pool(case: dict[str, Any]) -> None:
    leaf, intermediates = _material(case)
    pool = list(intermediates)
    random.Random(case["id"]).shuffle(pool)
    report = check_chain(leaf, pool, anchors=ANCHORS, at=AT, explicit_trust=True)
    slugs = [slug for slug, _ in report.problems]
    if case.get("built") == "incomplete":
        assert build_chain(leaf, pool, ANCHORS) == ()
        assert (report.complete, slugs) == (False, ["chain-incomplete"])
        return
    assert report.chain == intermediates
    assert (report.complete, report.anchor_subject) == (True, "CN=Trust Anchor,O=Test Certificates 2011,C=US")
    assert slugs == (["chain-invalid"] if case["expect"] == "chain-invalid" else [])
