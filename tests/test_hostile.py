"""Hostile and odd input: every case fails fast with a finding, never hangs, never kills the run."""

from __future__ import annotations

import base64
import json
import os
import shutil
import time

from conftest import FIXTURES, NOW
from cryptography.hazmat.primitives import serialization
from helpers import item, make_cert

from certpipe import asn1
from certpipe.models import Parsed
from certpipe.pair import pair
from certpipe.validate.chain import ChainIndex


def _pem(label: str, der: bytes) -> str:
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {label}-----\n{lines}\n-----END {label}-----\n"


def _epki(iterations: int) -> bytes:
    """An EncryptedPrivateKeyInfo (PBES2, PBKDF2, AES-256-CBC) declaring `iterations` rounds."""
    pbkdf2 = asn1.sequence(
        asn1.oid("1.2.840.113549.1.5.12"),
        asn1.sequence(asn1.octet_string(b"s" * 8), asn1.integer(iterations)),
    )
    aes = asn1.sequence(asn1.oid("2.16.840.1.101.3.4.1.42"), asn1.octet_string(b"i" * 16))
    algorithm = asn1.sequence(asn1.oid("1.2.840.113549.1.5.13"), asn1.sequence(pbkdf2, aes))
    return asn1.sequence(algorithm, asn1.octet_string(b"c" * 32))


def test_encrypted_key_with_a_huge_kdf_count_is_refused_before_any_attempt(run_cli, tmp_path):
    (tmp_path / "hostile.key").write_text(_pem("ENCRYPTED PRIVATE KEY", _epki(2_000_000_000)))
    (tmp_path / "hostile.der").write_bytes(_epki(2_000_000_000))
    pw = tmp_path / "pw.txt"
    pw.write_text("".join(f"guess-{i}\n" for i in range(40)))
    start = time.perf_counter()
    _code, out, _err = run_cli("check", tmp_path, "--password-file", pw, "--now", NOW, "--format", "json")
    assert time.perf_counter() - start < 5
    doc = json.loads(out)
    messages = {f["path"].rsplit("/", 1)[-1]: f["findings"][0] for f in doc["files"] if f["findings"]}
    for name in ("hostile.key", "hostile.der"):
        assert messages[name]["rule"] == "unreadable-input"
        assert "2000000000 KDF iterations, above the limit of 2000000" in messages[name]["message"]


def test_garbage_in_an_encrypted_key_block_is_unreadable_not_a_password_problem(run_cli, tmp_path):
    (tmp_path / "junk.key").write_text(_pem("ENCRYPTED PRIVATE KEY", b"\x30\x03\x02\x01\x00"))
    _code, out, _ = run_cli("check", tmp_path / "junk.key", "--now", NOW, "--format", "json")
    finding = json.loads(out)["files"][0]["findings"][0]
    assert finding["rule"] == "unreadable-input" and "not an EncryptedPrivateKeyInfo" in finding["message"]


def test_many_unterminated_pem_blocks_are_read_in_linear_time(run_cli, tmp_path):
    (tmp_path / "noend.pem").write_text("-----BEGIN CERTIFICATE-----\nAAAA\n" * 20_000)
    start = time.perf_counter()
    code, out, _ = run_cli("check", tmp_path / "noend.pem", "--now", NOW, "--format", "json")
    assert time.perf_counter() - start < 3
    assert code == 1 and "more than 10000 PEM blocks" in out


def test_many_certificates_sharing_one_name_do_not_make_chain_building_explode():
    certs = [make_cert("loop", ca=True, sans=(), eku=())[0] for _ in range(120)]
    index = ChainIndex(certs)
    start = time.perf_counter()
    chains = [index.chain_of(c) for c in certs]
    assert time.perf_counter() - start < 5
    assert all(len(chain) <= 10 for chain in chains)


def test_a_suffixed_name_never_takes_another_items_name():
    from certpipe.pair import _resolve_collisions

    a, _ = make_cert("first")
    b, _ = make_cert("second")
    drafts = [
        (f"{n:040x}", item(c, name_=name)) for n, (c, name) in enumerate([(a, "a" * 127), (b, "a" * 127)])
    ]
    squatter, _ = make_cert("squat")
    taken = "a" * 118 + "-" + f"{1:040x}"[:8]  # exactly what the second item would be renamed to
    drafts.append(("f" * 40, item(squatter, name_=taken)))
    names = [i.name for i in _resolve_collisions(drafts)]
    assert len(set(names)) == 3 and taken in names
    assert all(len(n) <= 127 for n in names)


def test_a_rule_that_breaks_on_odd_input_becomes_a_finding(monkeypatch):
    from certpipe.validate import Context, rules, validate

    class Broken:
        rule = rules.catalog.WEAK_SIGNATURE

        def check(self, item, ctx):
            raise ValueError("odd certificate")

    monkeypatch.setattr("certpipe.validate.ITEM_RULES", (Broken(),))
    cert, key = make_cert()
    found = validate([item(cert, key)], Context(at=rules.dt.datetime(2026, 6, 1, tzinfo=rules.dt.UTC)))[0]
    assert [
        (f.rule, "could not be checked for weak-signature (ValueError)" in f.message) for f in found.findings
    ] == [("unreadable-input", True)]


def test_undecodable_file_names_do_not_break_json_sarif_or_convert(run_cli, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(FIXTURES / "pem-pair" / "site.key", src / "site.key")
    with open(os.path.join(os.fsencode(src), b"\xff\xfe.pem"), "wb") as fh:
        fh.write((FIXTURES / "pem-pair" / "site.crt").read_bytes())
    shutil.copytree(FIXTURES / "ca", src / "ca")
    for fmt in ("json", "sarif", "text", "junit", "github"):
        code, out, err = run_cli("check", src, "--now", NOW, "--format", fmt)
        assert code == 0, err
        out.encode("utf-8")
    code, out, err = run_cli("convert", src, "--out", tmp_path / "out", "--now", NOW, "--format", "json")
    assert code == 0, err
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert any("\ufffd" in f["path"] for f in manifest["files"])


def test_control_characters_in_a_subject_cannot_forge_text_output(run_cli, tmp_path):
    cert, key = make_cert("evil\x1b[31m\ninjected line")
    (tmp_path / "evil.pem").write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    _, out, _ = run_cli("check", tmp_path, "--now", NOW)
    assert "\x1b" not in out and "\ninjected line" not in out
    _code, out, _ = run_cli("inspect", tmp_path / "evil.pem", "--now", NOW)
    assert "\x1b" not in out and "\ninjected line" not in out


def test_a_symlink_planted_in_the_output_folder_is_not_written_through(run_cli, tmp_path):
    out = tmp_path / "out"
    victim = tmp_path / "victim"
    out.mkdir()
    victim.mkdir()
    os.symlink(victim, out / "site-example-com")
    code, stdout, err = run_cli(
        "convert", FIXTURES / "pem-pair", FIXTURES / "ca", "--out", out, "--now", NOW, "--format", "json"
    )
    assert list(victim.iterdir()) == []
    assert code == 1 and "export-failed" in stdout and "Traceback" not in err


def test_output_to_a_device_writes_through_instead_of_replacing_it(run_cli, tmp_path):
    link = tmp_path / "null-link"
    os.symlink("/dev/null", link)
    code, _out, _ = run_cli("check", FIXTURES / "ca", "--now", NOW, "--output", link)
    assert code == 0 and link.is_symlink() and os.readlink(link) == "/dev/null"


def test_a_fifo_named_like_a_certificate_is_skipped_not_waited_on(run_cli, tmp_path):
    os.mkfifo(tmp_path / "x.pem")
    start = time.perf_counter()
    code, out, _ = run_cli("check", tmp_path, "--now", NOW, "--format", "json")
    assert time.perf_counter() - start < 5 and code in (0, 1)
    assert json.loads(out)["files"][0]["status"] == "skipped"


def test_pair_handles_an_empty_input():
    result = pair([Parsed("x", "unknown")], ChainIndex([]).chain_of)  # type: ignore[arg-type]
    assert result.items == () and result.file_findings == ()


def test_a_configuration_owned_by_another_user_is_not_honoured(tmp_path):
    import pytest

    from certpipe import config

    planted = tmp_path / ".certpipe.toml"
    planted.write_text('exclude = ["**"]\n')
    assert config.find(tmp_path) == planted
    if os.getuid() != 0:
        pytest.skip("needs root to give the file to another user")
    os.chown(planted, 12345, 12345)  # as if another user had planted it in a shared folder
    assert config.find(tmp_path) is None


def test_a_wrongly_typed_severity_is_a_configuration_error():
    import pytest

    from certpipe import config
    from certpipe.errors import ConfigError

    with pytest.raises(ConfigError, match="severity of 'expired' must be error, warning or info"):
        config.parse({"severity": {"expired": ["error"]}}, "pyproject.toml")


def test_utf32_text_with_a_bom_is_read(run_cli, tmp_path):
    text = (FIXTURES / "pem-pair" / "site.crt").read_text()
    (tmp_path / "site.crt").write_bytes(text.encode("utf-32"))
    _code, out, _ = run_cli("check", tmp_path / "site.crt", "--now", NOW, "--format", "json")
    assert json.loads(out)["files"][0]["format"] == "pem"
    assert json.loads(out)["items"][0]["name"] == "site-example-com"
