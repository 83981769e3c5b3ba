"""The command-line contract: commands, options, exit codes, output formats, no tracebacks, no secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import FIXTURES, NOW, PASSWORDS, vectors_dir

SITE = FIXTURES / "pem-pair"


def test_check_ready_pair_exits_0_with_text_summary(run_cli):
    code, out, _ = run_cli("check", SITE, FIXTURES / "ca", "--now", NOW)
    assert code == 0
    assert "READY" in out and "site-example-com" in out
    assert "1 certificate: 1 ready, 0 warning, 0 error" in out


def test_check_json_document_has_schema_version_1(run_cli):
    code, out, _ = run_cli("check", SITE, FIXTURES / "ca", "--now", NOW, "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["version"] == 1 and doc["evaluated_at"] == "2026-06-01T00:00:00Z"
    assert (
        doc["summary"]["files"] == 4 and doc["summary"]["certificates"] == 1 and doc["summary"]["ready"] == 1
    )
    item = doc["items"][0]
    assert item["name"] == "site-example-com" and item["has_private_key"] is True
    assert item["certificate"]["key"] == {"kty": "RSA", "size": 2048, "crv": None}
    assert item["certificate"]["dns_names"] == ["site.example.com", "www.site.example.com"]
    assert [c["subject"] for c in item["chain"]] == [
        "CN=certpipe Test Intermediate CA,O=certpipe Test",
        "CN=certpipe Test Root CA,O=certpipe Test",
    ]
    assert {f["format"] for f in doc["files"]} == {"pem"}


def test_same_input_and_now_give_byte_identical_json(run_cli):
    first = run_cli("check", FIXTURES, "--now", NOW, "--format", "json", "--password-file", PASSWORDS)
    second = run_cli("check", FIXTURES, "--now", NOW, "--format", "json", "--password-file", PASSWORDS)
    assert first[1] == second[1] and first[0] == second[0] == 1


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("check", "expired"), 1),
        (("check", "expired", "--fail-on", "never"), 0),
        (("check", "expiring"), 0),
        (("check", "expiring", "--fail-on", "warning"), 1),
        (("check", "chainorder", "--fail-on", "warning"), 0),  # info only
    ],
)
def test_exit_codes_follow_fail_on(run_cli, args, code):
    assert run_cli(args[0], FIXTURES / args[1], *args[2:], "--now", NOW)[0] == code


@pytest.mark.parametrize(
    "args",
    [
        ("check", "/nonexistent/path"),
        ("check", str(SITE), "--now", "yesterday"),
        ("check", str(SITE), "--format", "xml"),
        ("check", str(SITE), "--fail-on", "sometimes"),
        ("check", str(SITE), "--password-file", "/nonexistent/pw"),
        ("check", str(SITE), "--password-env", "CERTPIPE_TEST_UNSET_VARIABLE"),
        ("check", str(SITE), "--password", "hunter2"),
        ("check", str(SITE), "--select", "no-such-rule"),
        ("convert", str(SITE)),
        ("convert", str(SITE), "--out", "x", "--vault-name", "bad name!"),
        ("inspect", "/nonexistent/file.pem"),
        ("frobnicate",),
    ],
)
def test_usage_errors_exit_2_with_one_line_and_no_traceback(run_cli, args):
    code, out, err = run_cli(*args)
    assert code == 2
    assert "Traceback" not in out + err
    assert err.strip()


def test_now_accepts_z_and_offsets(run_cli):
    a = json.loads(run_cli("check", SITE, "--now", "2026-06-01T02:00:00+02:00", "--format", "json")[1])
    b = json.loads(run_cli("check", SITE, "--now", NOW, "--format", "json")[1])
    assert a["evaluated_at"] == b["evaluated_at"] == "2026-06-01T00:00:00Z"


def test_password_env_opens_a_pfx_and_the_password_is_never_printed(run_cli):
    env = {"CERTPIPE_PW": "changeit"}
    code, out, err = run_cli(
        "check",
        FIXTURES / "pfx" / "modern.pfx",
        "--now",
        NOW,
        "--password-env",
        "CERTPIPE_PW",
        "--format",
        "json",
        env=env,
    )
    doc = json.loads(out)
    assert code == 0 and doc["items"][0]["name"] == "shop-modern-example-com"
    assert "changeit" not in out + err
    code, out, err = run_cli("check", FIXTURES / "pfx" / "modern.pfx", "--now", NOW)
    assert code == 1 and "password-required" in out and "changeit" not in out + err


def test_output_and_report_files(run_cli, tmp_path):
    code, out, _ = run_cli(
        "check",
        SITE,
        FIXTURES / "ca",
        "--now",
        NOW,
        "--format",
        "json",
        "--output",
        tmp_path / "r.json",
        "--report",
        tmp_path / "r.html",
    )
    assert code == 0 and out == ""
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["ready"] == 1
    html = (tmp_path / "r.html").read_text()
    assert "site-example-com" in html and "<script" not in html and "http" not in html.split("<body>")[1]


def test_inspect_shows_objects_and_pkcs12_protection(run_cli):
    code, out, _ = run_cli(
        "inspect",
        FIXTURES / "pfx" / "legacy.p12",
        "--password-file",
        PASSWORDS,
        "--now",
        NOW,
        "--format",
        "json",
    )
    doc = json.loads(out)
    assert code == 0 and doc["format"] == "pkcs12"
    assert doc["pkcs12"]["mac_algorithm"] == "sha1"
    assert any("RC2" in e for e in doc["pkcs12"]["encryptions"])
    types = [o["type"] for o in doc["objects"]]
    assert types.count("certificate") == 2 and types.count("private-key") == 1
    code, text, _ = run_cli("inspect", FIXTURES / "pem-pair" / "site.crt", "--now", NOW)
    assert code == 0 and "SHA-256" in text and "x5t" in text and "3136 days left" in text


def test_rules_lists_every_rule(run_cli):
    from certpipe.catalog import RULES

    code, out, _ = run_cli("rules", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and [r["slug"] for r in doc] == [r.slug for r in RULES]
    assert all(r["rationale"] and r["severity"] in ("error", "warning", "info") for r in doc)


def test_every_fixture_file_through_the_cli_without_traceback(run_cli):
    for path in sorted(p for p in FIXTURES.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        code, out, err = run_cli("check", path, "--now", NOW, "--password-file", PASSWORDS)
        assert code in (0, 1, 2), path
        assert "Traceback" not in out + err, path
        code, out, err = run_cli("inspect", path, "--now", NOW)
        assert code in (0, 2) and "Traceback" not in out + err, path


@pytest.mark.parametrize(
    "folder",
    [
        "pkcs12",
        "x509",
        "asymmetric/PEM_Serialization",
        "asymmetric/DER_Serialization",
        "pkcs7",
        "asymmetric/PKCS8",
        "asymmetric/Traditional_OpenSSL_Serialization",
    ],
)
def test_vectors_through_the_cli_without_traceback(run_cli, folder, vector_passwords):
    path = vectors_dir() / folder
    code, out, err = run_cli(
        "check", path, "--now", NOW, "--format", "json", "--password-file", vector_passwords
    )
    assert code in (0, 1), err
    assert "Traceback" not in out + err
    doc = json.loads(out)
    assert doc["summary"]["files"] > 0


@pytest.fixture
def vector_passwords(tmp_path):
    path = tmp_path / "vector-passwords.txt"
    path.write_text("cryptography\npassword\n")  # the two passwords the vectors' PKCS#12 files use
    return path


def test_vectors_pkcs12_folder_ready_items(run_cli, vector_passwords):
    code, out, _ = run_cli(
        "check",
        vectors_dir() / "pkcs12",
        "--now",
        NOW,
        "--format",
        "json",
        "--password-file",
        vector_passwords,
    )
    doc = json.loads(out)
    assert code == 1
    by_name = {i["name"]: i for i in doc["items"]}
    assert sorted(by_name) == ["cryptography-CA", "www-cryptography-io"]
    ca = by_name["cryptography-CA"]
    assert ca["status"] == "ready" and ca["has_private_key"] is True
    assert (
        ca["certificate"]["key"] == {"kty": "RSA", "size": 2048, "crv": None}
        or ca["certificate"]["key"]["kty"]
    )
    # the RapidSSL leaf of www.cryptography.io ships without its key and expired in 2018
    assert {f["rule"] for f in by_name["www-cryptography-io"]["findings"]} >= {"no-private-key", "expired"}
    p12 = [f for f in doc["files"] if f["path"].endswith(".p12")]
    assert len(p12) == 31 and not [f["path"] for f in p12 if f["status"] == "failed"]
    assert doc["summary"]["ready"] == 1


def test_cli_runs_as_a_real_subprocess():
    env = {**os.environ, "PW": "changeit"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "certpipe",
            "check",
            str(FIXTURES / "pfx" / "modern.pfx"),
            "--password-env",
            "PW",
            "--now",
            NOW,
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["ready"] == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["check", str(SITE), "--nope"], "certpipe: error: No such option: --nope"),
        (["export", str(SITE), "--out", "x"], "certpipe: error: Missing option '--to'."),
        (["check"], "certpipe: error: Missing argument 'paths'."),
        (["inspect", str(FIXTURES)], "certpipe: error: "),
    ],
)
def test_usage_errors_from_the_console_script_are_one_line(args, expected):
    proc = subprocess.run(
        [sys.executable, "-m", "certpipe", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), proc.stderr


def test_version():
    from certpipe import __version__

    proc = subprocess.run(
        [sys.executable, "-m", "certpipe", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout == f"certpipe {__version__}\n"


def test_trust_anchors_reach_worker_processes(run_cli, monkeypatch):
    from certpipe import pipeline

    args = (
        "check",
        FIXTURES,
        "--password-file",
        PASSWORDS,
        "--now",
        NOW,
        "--format",
        "json",
        "--trust",
        FIXTURES / "ca" / "root.pem",
    )
    serial = run_cli(*args, "--jobs", "1")
    monkeypatch.setattr(pipeline, "POOL_THRESHOLD", 1)  # force the pool on the small fixture set
    pooled = run_cli(*args, "--jobs", "2")
    assert pooled == serial and pooled[0] == 1
    doc = json.loads(pooled[1])
    site = next(i for i in doc["items"] if i["name"] == "site-example-com")
    assert site["status"] == "ready"  # the fixtures' root is the anchor given: no untrusted-root
    order = next(i for i in doc["items"] if i["name"] == "order-example-com")
    assert "untrusted-root" not in {f["rule"] for f in order["findings"]}


def test_an_encrypted_key_without_its_password_says_how_to_give_one(run_cli):
    code, out, _ = run_cli("check", FIXTURES / "encrypted" / "enc.key", "--now", NOW, "--format", "json")
    assert code == 1
    (finding,) = json.loads(out)["files"][0]["findings"]
    assert finding["rule"] == "password-required"
    assert finding["message"].endswith(
        "needs a password; the 1 candidate did not open it "
        "(use --password-file, --password-env or --passwords)."
    )
