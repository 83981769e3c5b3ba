"""certpipe convert on the fixtures: the AKV bundles are exactly what AKV holds, and nothing secret leaks."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from functools import cache
from pathlib import Path

import pytest
from conftest import FIXTURES, NOW, PASSWORDS
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from certpipe.x509util import spki

SECRET_FILES = ("secret.json", "import-request.json")


@cache
def _converted(content_type: str, out: str) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from certpipe.cli import app

    args = [
        "convert",
        str(FIXTURES),
        "--out",
        out,
        "--password-file",
        str(PASSWORDS),
        "--now",
        NOW,
        "--content-type",
        content_type,
        "--format",
        "json",
        "--jobs",
        "1",
    ]
    r = CliRunner().invoke(app, args, catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module", params=["pkcs12", "pem"])
def converted(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"akv-{request.param}")
    code, stdout, stderr = _converted(request.param, str(out))
    return request.param, out, code, json.loads(stdout), stderr


def _ready(doc):
    return [i for i in doc["items"] if i["status"] != "error"]


def test_convert_writes_bundles_for_every_ready_item_and_none_for_errors(converted):
    _, out, code, doc, _ = converted
    assert code == 1  # the fixtures hold errors on purpose
    manifest = json.loads((out / "manifest.json").read_text())
    assert {e["name"] for e in manifest["items"]} == {i["name"] for i in doc["items"]}
    for entry in manifest["items"]:
        folder = out / entry["name"]
        if entry["status"] == "error":
            assert not folder.exists()
            assert entry["skipped"].startswith("not written")
        else:
            assert sorted(p.name for p in folder.iterdir()) == [
                "certificate.json",
                "import-request.json",
                "key.json",
                "secret.json",
            ]
    assert len(_ready(doc)) >= 20
    for name in ("report.html", "manifest.csv", "import.sh", "import.ps1"):
        assert (out / name).is_file()


def test_each_secret_loads_back_and_its_key_matches_the_certificate(converted):
    content_type, out, _, doc, _ = converted
    for entry in _ready(doc):
        secret = json.loads((out / entry["name"] / "secret.json").read_text())
        cert_doc = json.loads((out / entry["name"] / "certificate.json").read_text())
        leaf = x509.load_der_x509_certificate(base64.b64decode(cert_doc["cer"]))
        if content_type == "pkcs12":
            assert secret["contentType"] == "application/x-pkcs12"
            for password in (None, b""):
                loaded = pkcs12.load_pkcs12(base64.b64decode(secret["value"]), password)
                assert loaded.cert.certificate == leaf
                assert spki(loaded.key.public_key()) == spki(leaf.public_key())
                assert [c.certificate.subject.rfc4514_string() for c in loaded.additional_certs] == [
                    c["subject"] for c in entry["chain"]
                ]
        else:
            assert secret["contentType"] == "application/x-pem-file"
            value = secret["value"]
            assert value.startswith("-----BEGIN PRIVATE KEY-----\n") and "\r" not in value
            key = serialization.load_pem_private_key(value.encode(), None)
            certs = x509.load_pem_x509_certificates(value.encode())
            assert certs[0] == leaf and spki(key.public_key()) == spki(leaf.public_key())
            assert len(certs) == 1 + len(entry["chain"])


def test_bundles_share_one_version_and_follow_akv_shapes(converted):
    content_type, out, _, doc, _ = converted
    entry = next(i for i in doc["items"] if i["name"] == "site-example-com")
    folder = out / "site-example-com"
    cert = json.loads((folder / "certificate.json").read_text())
    key = json.loads((folder / "key.json").read_text())
    secret = json.loads((folder / "secret.json").read_text())
    request = json.loads((folder / "import-request.json").read_text())
    der = base64.b64decode(cert["cer"], validate=True)
    version = cert["id"].rsplit("/", 1)[1]
    assert len(version) == 32 and int(version, 16) >= 0
    assert cert["id"] == f"https://example.vault.azure.net/certificates/site-example-com/{version}"
    assert cert["kid"] == key["key"]["kid"] == secret["kid"] == cert["id"].replace("/certificates/", "/keys/")
    assert cert["sid"] == secret["id"] == cert["id"].replace("/certificates/", "/secrets/")
    assert cert["x5t"] == base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()
    assert len(cert["x5t"]) == 27 and entry["certificate"]["x5t"] == cert["x5t"]
    leaf = x509.load_der_x509_certificate(der)
    assert cert["attributes"]["nbf"] == int(leaf.not_valid_before_utc.timestamp()) == 1735689600
    assert cert["attributes"]["exp"] == int(leaf.not_valid_after_utc.timestamp()) == 2051222400
    policy = cert["policy"]
    assert policy["key_props"] == {"exportable": True, "kty": "RSA", "key_size": 2048, "reuse_key": False}
    assert policy["secret_props"] == {"contentType": secret["contentType"]}
    assert policy["x509_props"]["sans"]["dns_names"] == ["site.example.com", "www.site.example.com"]
    assert policy["x509_props"]["ekus"] == ["1.3.6.1.5.5.7.3.1"]
    assert policy["x509_props"]["validity_months"] == 120
    assert policy["lifetime_actions"] == [
        {"action": {"action_type": "EmailContacts"}, "trigger": {"lifetime_percentage": 80}}
    ]
    jwk = key["key"]
    assert key["managed"] is True and set(jwk) == {"kid", "kty", "key_ops", "n", "e"}
    assert jwk["e"] == "AQAB" and len(jwk["n"]) == 342
    assert jwk["key_ops"] == ["sign", "verify", "wrapKey", "unwrapKey"]
    assert request["policy"]["secret_props"] == {"contentType": secret["contentType"]}
    if content_type == "pkcs12":
        assert request["value"] == secret["value"]
    else:
        assert base64.b64decode(request["value"]).decode() == secret["value"]


def test_ec_keys_get_only_sign_and_verify(converted):
    _, out, _, _, _ = converted
    key = json.loads((out / "api-example-com" / "key.json").read_text())["key"]
    assert key["kty"] == "EC" and key["crv"] == "P-256" and key["key_ops"] == ["sign", "verify"]
    assert len(key["x"]) == len(key["y"]) == 43


def test_files_holding_private_keys_are_0600_and_others_are_not(converted):
    _, out, _, doc, _ = converted
    for entry in _ready(doc):
        for path in (out / entry["name"]).iterdir():
            mode = stat.S_IMODE(path.stat().st_mode)
            assert mode == (0o600 if path.name in SECRET_FILES else 0o644), path


def test_nothing_secret_reaches_stdout_report_or_manifest(converted):
    _, out, _, doc, stderr = converted
    stdout = json.dumps(doc)
    passwords = [p for p in PASSWORDS.read_text().split() if p]
    public = [
        stdout,
        stderr,
        (out / "report.html").read_text(),
        (out / "manifest.json").read_text(),
        (out / "manifest.csv").read_text(),
        (out / "import.sh").read_text(),
    ]
    for text in public:
        assert "PRIVATE KEY" not in text
        for p in passwords:
            assert p not in text
    # and no secret value of any item appears outside its secret files
    for entry in _ready(doc):
        value = json.loads((out / entry["name"] / "secret.json").read_text())["value"]
        assert all(value[:64] not in text for text in public)


def test_names_follow_akv_rules(converted):
    import re

    _, _, _, doc, _ = converted
    names = [i["name"] for i in doc["items"]]
    assert all(re.fullmatch(r"[0-9a-zA-Z-]{1,127}", n) for n in names)
    assert len(set(names)) == len(names)
    assert "wildcard-example-com" in names


def test_rerun_reports_unchanged_and_touches_nothing(tmp_path):
    from typer.testing import CliRunner

    from certpipe.cli import app

    args = ["convert", str(FIXTURES), "--out", str(tmp_path), "--password-file", str(PASSWORDS), "--now", NOW]
    CliRunner().invoke(app, args, catch_exceptions=False)
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()}
    second = CliRunner().invoke(app, args, catch_exceptions=False)
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()}
    assert before == after
    assert " 0 files written" in second.stderr and "unchanged" in second.stderr


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_jobs_1_and_2_give_byte_identical_output(tmp_path):
    from typer.testing import CliRunner

    from certpipe import pipeline
    from certpipe.cli import app

    old = pipeline.POOL_THRESHOLD
    pipeline.POOL_THRESHOLD = 1  # force the pool even for the small fixture set
    try:
        trees = []
        for jobs in ("1", "2"):
            out = tmp_path / jobs
            CliRunner().invoke(
                app,
                [
                    "convert",
                    str(FIXTURES),
                    "--out",
                    str(out),
                    "--password-file",
                    str(PASSWORDS),
                    "--now",
                    NOW,
                    "--jobs",
                    jobs,
                ],
                catch_exceptions=False,
            )
            trees.append(_tree(out))
    finally:
        pipeline.POOL_THRESHOLD = old
    assert trees[0] == trees[1] and len(trees[0]) > 100
