"""certpipe export: every input format to every output format, read back with cryptography alone."""

from __future__ import annotations

import base64
import json
import re
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import FIXTURES, NOW, PASSWORDS, cli, fixtures_result
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

PASSWORD_VAR = "CERTPIPE_TEST_OUT_PASSWORD"
PFX_PASSWORD = "Exp0rt-pw 7f3a!"
ENV = {PASSWORD_VAR: PFX_PASSWORD}
INTERMEDIATE = x509.load_pem_x509_certificate((FIXTURES / "ca/intermediate.pem").read_bytes())
ROOT = x509.load_pem_x509_certificate((FIXTURES / "ca/root.pem").read_bytes())
CHAIN = [INTERMEDIATE, ROOT]


def _export(paths: list[Path], out: Path, *extra: object, quiet: bool = True) -> tuple[int, dict, str]:
    """export --format json; returns (exit code, the JSON document, stderr)."""
    code, stdout, stderr = cli(
        "export",
        *paths,
        "--out",
        out,
        "--password-file",
        PASSWORDS,
        "--now",
        NOW,
        "--format",
        "json",
        "--jobs",
        "1",
        *(["-q"] if quiet else []),
        *extra,
        env=ENV,
    )
    return code, json.loads(stdout), stderr


def _pkcs8(key: PrivateKeyTypes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _by_name(doc: dict) -> dict[str, dict]:
    return {i["name"]: i for i in doc["items"]}


# ---- the originals, loaded with cryptography from the fixture files ----


@dataclass(frozen=True)
class Source:
    """One input format: the paths to export and the leaf and key they hold."""

    name: str
    leaf: x509.Certificate
    key: PrivateKeyTypes
    paths: Callable[[dict[str, Path]], list[Path]]  # from the AKV secrets convert wrote


def _pfx_original(
    path: str, password: bytes, chain: list[x509.Certificate]
) -> tuple[x509.Certificate, PrivateKeyTypes]:
    loaded = pkcs12.load_pkcs12((FIXTURES / path).read_bytes(), password)
    assert loaded.cert is not None and loaded.key is not None
    assert [c.certificate for c in loaded.additional_certs] == chain
    return loaded.cert.certificate, loaded.key


SITE_LEAF = x509.load_pem_x509_certificate((FIXTURES / "pem-pair/site.crt").read_bytes())
SITE_KEY = serialization.load_pem_private_key((FIXTURES / "pem-pair/site.key").read_bytes(), None)
DER_LEAF = x509.load_der_x509_certificate((FIXTURES / "der/leaf.cer").read_bytes())
DER_KEY = serialization.load_der_private_key((FIXTURES / "der/leaf.key").read_bytes(), None)
MODERN_LEAF, MODERN_KEY = _pfx_original("pfx/modern.pfx", b"changeit", CHAIN)
LEGACY_LEAF, LEGACY_KEY = _pfx_original("pfx/legacy.p12", b"legacy-pass", [INTERMEDIATE])  # + ca/root.pem

SOURCES = {
    "pem": Source(
        "site-example-com", SITE_LEAF, SITE_KEY, lambda s: [FIXTURES / "pem-pair", FIXTURES / "ca"]
    ),
    "der": Source("der-example-com", DER_LEAF, DER_KEY, lambda s: [FIXTURES / "der", FIXTURES / "ca"]),
    "pkcs12-modern": Source(
        "shop-modern-example-com", MODERN_LEAF, MODERN_KEY, lambda s: [FIXTURES / "pfx/modern.pfx"]
    ),
    "pkcs12-legacy": Source(
        "legacy-example-com",
        LEGACY_LEAF,
        LEGACY_KEY,
        lambda s: [FIXTURES / "pfx/legacy.p12", FIXTURES / "ca/root.pem"],
    ),
    "p7b": Source(
        "site-example-com",
        SITE_LEAF,
        SITE_KEY,
        lambda s: [
            FIXTURES / "pem-pair/site.crt",
            FIXTURES / "pem-pair/site.key",
            FIXTURES / "p7b/chain.p7b",
        ],
    ),
    "akv-secret-pkcs12": Source("site-example-com", SITE_LEAF, SITE_KEY, lambda s: [s["pkcs12"]]),
    "akv-secret-pem": Source("site-example-com", SITE_LEAF, SITE_KEY, lambda s: [s["pem"]]),
}


@pytest.fixture(scope="module")
def secrets(tmp_path_factory) -> dict[str, Path]:
    """secret.json that convert writes for pem-pair + ca, per content type (the "from AKV back" input)."""
    out = {}
    for content_type in ("pkcs12", "pem"):
        folder = tmp_path_factory.mktemp(f"secret-{content_type}")
        code, _, stderr = cli(
            "convert",
            FIXTURES / "pem-pair",
            FIXTURES / "ca",
            "--out",
            folder,
            "--now",
            NOW,
            "--content-type",
            content_type,
            "-q",
            "--jobs",
            "1",
        )
        assert code == 0, stderr
        out[content_type] = folder / "site-example-com" / "secret.json"
    return out


# ---- the outputs, read back with cryptography ----


@dataclass(frozen=True)
class Loaded:
    certs: list[x509.Certificate]
    key: PrivateKeyTypes | None
    carries_chain: bool


def _read_pem(folder: Path, name: str) -> Loaded:
    leaf = x509.load_pem_x509_certificate((folder / "leaf.pem").read_bytes())
    chain = x509.load_pem_x509_certificates((folder / "chain.pem").read_bytes())
    assert x509.load_pem_x509_certificates((folder / "fullchain.pem").read_bytes()) == [leaf, *chain]
    key_pem = (folder / "key.pem").read_bytes()
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")  # PKCS#8 by default
    return Loaded([leaf, *chain], serialization.load_pem_private_key(key_pem, None), True)


def _read_pfx(folder: Path, name: str) -> Loaded:
    loaded = pkcs12.load_pkcs12((folder / f"{name}.pfx").read_bytes(), PFX_PASSWORD.encode())
    assert loaded.cert is not None
    assert loaded.cert.friendly_name == name.encode()
    return Loaded(
        [loaded.cert.certificate, *(c.certificate for c in loaded.additional_certs)], loaded.key, True
    )


def _read_der(folder: Path, name: str) -> Loaded:
    leaf = x509.load_der_x509_certificate((folder / "leaf.cer").read_bytes())
    key_der = (folder / "key.der").read_bytes()
    key = serialization.load_der_private_key(key_der, None)
    assert key_der == _pkcs8(key)  # PKCS#8 DER, not a traditional encoding
    return Loaded([leaf], key, False)


def _read_p7b(folder: Path, name: str) -> Loaded:
    pem = (folder / "chain.p7b").read_bytes()
    assert pem.startswith(b"-----BEGIN PKCS7-----\n")
    certs = pkcs7.load_pem_pkcs7_certificates(pem)
    assert pkcs7.load_der_pkcs7_certificates((folder / "chain.p7c").read_bytes()) == certs
    return Loaded(certs, None, True)


def _read_akv(content_type: str) -> Callable[[Path, str], Loaded]:
    def read(folder: Path, name: str) -> Loaded:
        secret = json.loads((folder / "secret.json").read_text())
        cer = x509.load_der_x509_certificate(
            base64.b64decode(json.loads((folder / "certificate.json").read_text())["cer"])
        )
        assert secret["contentType"] == content_type
        assert secret["id"].startswith(f"https://example.vault.azure.net/secrets/{name}/")
        if content_type == "application/x-pkcs12":
            pfx = base64.b64decode(secret["value"], validate=True)
            opened = [pkcs12.load_pkcs12(pfx, password) for password in (None, b"")]
            assert opened[0].cert == opened[1].cert and opened[0].cert is not None
            certs = [opened[0].cert.certificate, *(c.certificate for c in opened[0].additional_certs)]
            key = opened[0].key
        else:
            value = secret["value"].encode()
            assert value.startswith(b"-----BEGIN PRIVATE KEY-----\n") and b"\r" not in value
            certs = x509.load_pem_x509_certificates(value)
            key = serialization.load_pem_private_key(value, None)
        assert certs[0] == cer
        return Loaded(certs, key, True)

    return read


@dataclass(frozen=True)
class Target:
    args: tuple[str, ...]
    files: dict[str, int]  # file name ({name} = the item's) -> mode
    read: Callable[[Path, str], Loaded]


_PFX_FILES = {"{name}.pfx": 0o600}
_AKV_FILES = {
    "certificate.json": 0o644,
    "key.json": 0o644,
    "secret.json": 0o600,
    "import-request.json": 0o600,
}
_PFX_ARGS = ("--to", "pfx", "--out-password-env", PASSWORD_VAR, "--pfx-profile")
TARGETS = {
    "pem": Target(
        ("--to", "pem"),
        {"leaf.pem": 0o644, "chain.pem": 0o644, "fullchain.pem": 0o644, "key.pem": 0o600},
        _read_pem,
    ),
    "pfx-modern": Target((*_PFX_ARGS, "modern"), _PFX_FILES, _read_pfx),
    "pfx-compat": Target((*_PFX_ARGS, "compat"), _PFX_FILES, _read_pfx),
    "pfx-legacy": Target((*_PFX_ARGS, "legacy"), _PFX_FILES, _read_pfx),
    "der": Target(("--to", "der"), {"leaf.cer": 0o644, "key.der": 0o600}, _read_der),
    "p7b": Target(("--to", "p7b"), {"chain.p7b": 0o644, "chain.p7c": 0o644}, _read_p7b),
    "akv-pkcs12": Target(("--to", "akv"), _AKV_FILES, _read_akv("application/x-pkcs12")),
    "akv-pem": Target(
        ("--to", "akv", "--content-type", "pem"), _AKV_FILES, _read_akv("application/x-pem-file")
    ),
}


def _params(names: dict[str, object]) -> list:
    return [pytest.param(n, id=n) for n in names]


@pytest.mark.parametrize("target", _params(TARGETS))
@pytest.mark.parametrize("source", _params(SOURCES))
def test_export_round_trip_keeps_key_leaf_and_chain_order(source, target, secrets, tmp_path):
    src, tgt = SOURCES[source], TARGETS[target]
    code, doc, _ = _export(src.paths(secrets), tmp_path, *tgt.args)
    assert code == 0, doc
    assert [(i["name"], i["status"]) for i in doc["items"]] == [(src.name, "ready")]
    folder = tmp_path / src.name
    expected_files = {f.format(name=src.name): mode for f, mode in tgt.files.items()}
    assert {p.name: _mode(p) for p in folder.iterdir()} == expected_files
    loaded = tgt.read(folder, src.name)
    assert loaded.certs[0] == src.leaf
    if loaded.carries_chain:
        assert loaded.certs[1:] == CHAIN  # leaf first, then each certificate's issuer
        assert [c.issuer for c in loaded.certs[:-1]] == [c.subject for c in loaded.certs[1:]]
    else:
        assert len(loaded.certs) == 1
    if target == "p7b":
        assert loaded.key is None
    else:
        assert loaded.key is not None and _pkcs8(loaded.key) == _pkcs8(src.key)


# ---- PFX protection ----

_SITE = [FIXTURES / "pem-pair", FIXTURES / "ca"]
_SITE_PFX = "site-example-com/site-example-com.pfx"
_3DES = "pbeWithSHA1And3-KeyTripleDES-CBC"
_AES = "PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC"
PROFILES = {  # profile -> (certpipe's Pkcs12Info: MAC digest, encryptions in file order), openssl -info lines
    "compat": (
        ("sha1", (_3DES, _3DES)),
        {
            "MAC: sha1, Iteration 2000",
            f"Shrouded Keybag: {_3DES}, Iteration 2000",
            f"PKCS7 Encrypted data: {_3DES}, Iteration 2000",
        },
    ),
    "modern": (
        ("sha256", (_AES, _AES)),
        {
            "MAC: sha256, Iteration 2000",
            "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2000, PRF hmacWithSHA256",
            "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2000, PRF hmacWithSHA256",
        },
    ),
    "legacy": (
        ("sha1", ("pbeWithSHA1And40BitRC2-CBC", _3DES)),
        {
            "MAC: sha1, Iteration 2000",
            f"Shrouded Keybag: {_3DES}, Iteration 2000",
            "PKCS7 Encrypted data: pbeWithSHA1And40BitRC2-CBC, Iteration 2000",
        },
    ),
}


def _pfx_for(profile: str, out: Path) -> bytes:
    code, _, _ = _export(_SITE, out, *_PFX_ARGS, profile)
    assert code == 0
    return (out / _SITE_PFX).read_bytes()


@pytest.mark.parametrize("profile", PROFILES)
def test_pfx_profile_algorithms_as_certpipe_reads_them(profile, tmp_path):
    from certpipe.parse.pkcs12 import parse_pkcs12

    info = parse_pkcs12(_pfx_for(profile, tmp_path), "x.pfx", (PFX_PASSWORD.encode(),)).pkcs12
    assert info is not None
    assert (info.mac_algorithm, info.encryptions) == PROFILES[profile][0]
    assert info.mac_iterations == 2000 and info.friendly_names == ("site-example-com",)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl CLI is not installed")
@pytest.mark.parametrize("profile", PROFILES)
def test_pfx_profile_algorithms_as_openssl_reads_them(profile, tmp_path):
    _pfx_for(profile, tmp_path)
    run = subprocess.run(
        [
            "openssl",
            "pkcs12",
            "-info",
            "-noout",
            "-legacy",
            "-passin",
            "env:X",
            "-in",
            str(tmp_path / _SITE_PFX),
        ],
        capture_output=True,
        text=True,
        env={"X": PFX_PASSWORD, "PATH": "/usr/bin:/bin:/usr/local/bin"},
        timeout=30,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    lines = (run.stdout + run.stderr).splitlines()
    assert PROFILES[profile][1] <= set(lines)
    assert lines.count("Certificate bag") == 3
    if profile == "modern":
        assert not any("TripleDES" in line or "RC2" in line for line in lines)


def test_pfx_salts_do_not_depend_on_the_password(tmp_path):
    """A salt computable from a password guess would let anyone test guesses without the KDF's iterations."""
    from certpipe.emit.export import Target as ExportTarget
    from certpipe.emit.export import render_export
    from certpipe.models import Status

    [item] = [i for i in fixtures_result().items if i.name == "site-example-com"]
    assert item.status is Status.READY
    # pbeWithSHAAnd3-KeyTripleDES-CBC AlgorithmIdentifier, then pkcs-12PbeParams { salt OCTET STRING (8) ... }
    pbe = re.compile(
        rb"\x06\x0a\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x01\x03\x30\x0e\x04\x08(.{8})\x02\x02\x07\xd0", re.S
    )
    salts, blobs = [], []
    for password in (b"first password", b"second password"):
        [out] = render_export(item, ExportTarget.PFX, pfx_profile="compat", password=password)
        blobs.append(out.data)
        salts.append(pbe.findall(out.data))
    assert blobs[0] != blobs[1]
    assert len(salts[0]) == 2 and salts[0][0] != salts[0][1]  # key bag, certificate safe
    assert salts[0] == salts[1]


def test_out_password_env_opens_the_pfx_and_is_never_printed(tmp_path):
    for fmt in ("text", "json"):
        code, stdout, stderr = cli(
            "export",
            *_SITE,
            "--out",
            tmp_path / fmt,
            "--to",
            "pfx",
            "--out-password-env",
            PASSWORD_VAR,
            "--now",
            NOW,
            "--format",
            fmt,
            "--verbose",
            env=ENV,
        )
        assert code == 0
        assert PFX_PASSWORD not in stdout and PFX_PASSWORD not in stderr
        assert "empty password" not in stderr
        data = (tmp_path / fmt / _SITE_PFX).read_bytes()
        loaded = pkcs12.load_pkcs12(data, PFX_PASSWORD.encode())
        assert loaded.cert is not None and loaded.cert.certificate == SITE_LEAF
        for wrong in (None, b""):
            with pytest.raises(ValueError):
                pkcs12.load_pkcs12(data, wrong)


def test_out_password_file_uses_its_first_line(tmp_path):
    pw_file = tmp_path / "pfx-password.txt"
    pw_file.write_text("from-the-file\nsecond line\n")
    code, _, _ = _export(_SITE, tmp_path / "out", "--to", "pfx", "--out-password-file", pw_file)
    assert code == 0
    loaded = pkcs12.load_pkcs12((tmp_path / "out" / _SITE_PFX).read_bytes(), b"from-the-file")
    assert loaded.key is not None and _pkcs8(loaded.key) == _pkcs8(SITE_KEY)


def test_both_out_password_options_are_a_usage_error(tmp_path):
    pw_file = tmp_path / "pw.txt"
    pw_file.write_text("x\n")
    code, stdout, stderr = cli(
        "export",
        *_SITE,
        "--out",
        tmp_path / "out",
        "--to",
        "pfx",
        "--out-password-env",
        PASSWORD_VAR,
        "--out-password-file",
        pw_file,
        "--now",
        NOW,
        env=ENV,
    )
    assert code == 2 and stdout == ""
    assert stderr == "certpipe: error: give --out-password-env or --out-password-file, not both.\n"
    assert not (tmp_path / "out").exists()


def test_without_a_password_the_pfx_opens_with_empty_and_none(tmp_path):
    code, _, stderr = cli("export", *_SITE, "--out", tmp_path, "--to", "pfx", "--now", NOW)
    assert code == 0
    assert (
        "certpipe: note: no --out-password-env/--out-password-file; the PFX files have an empty password.\n"
        in (stderr)
    )
    data = (tmp_path / _SITE_PFX).read_bytes()
    for password in (b"", None):
        loaded = pkcs12.load_pkcs12(data, password)
        assert loaded.cert is not None and loaded.key is not None
        assert loaded.cert.certificate == SITE_LEAF and loaded.cert.friendly_name == b"site-example-com"
        assert _pkcs8(loaded.key) == _pkcs8(SITE_KEY)
        assert [c.certificate for c in loaded.additional_certs] == CHAIN


# ---- writing: idempotence, conflicts, --force ----


def _snapshot(root: Path) -> dict[str, tuple[int, int, bytes]]:
    return {
        str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(("target", "count"), [("pem", 4), ("pfx-compat", 1), ("akv-pkcs12", 4)])
def test_second_export_is_unchanged_and_rewrites_nothing(target, count, tmp_path):
    code, _, first = _export(_SITE, tmp_path, *TARGETS[target].args, quiet=False)
    assert code == 0 and f"; {count} files written, 0 unchanged in " in first
    before = _snapshot(tmp_path)
    code, _, second = _export(_SITE, tmp_path, *TARGETS[target].args, quiet=False)
    assert code == 0 and f"; 0 files written, {count} unchanged in " in second
    assert _snapshot(tmp_path) == before and len(before) == count


def test_a_differing_file_is_an_error_without_force_and_replaced_with_it(tmp_path):
    folder = tmp_path / "site-example-com"
    folder.mkdir()
    stale = ROOT.public_bytes(serialization.Encoding.PEM)
    (folder / "leaf.pem").write_bytes(stale)
    code, doc, _ = _export(_SITE, tmp_path, "--to", "pem")
    assert code == 1
    item = _by_name(doc)["site-example-com"]
    assert item["status"] == "error"
    assert [(f["rule"], f["severity"], f["message"]) for f in item["findings"]] == [
        (
            "export-failed",
            "error",
            f"site-example-com: {folder / 'leaf.pem'} exists and differs (use --force to replace it).",
        )
    ]
    assert (folder / "leaf.pem").read_bytes() == stale
    code, doc, _ = _export(_SITE, tmp_path, "--to", "pem", "--force")
    assert code == 0 and _by_name(doc)["site-example-com"]["findings"] == []
    assert (folder / "leaf.pem").read_bytes() == SITE_LEAF.public_bytes(serialization.Encoding.PEM)
    assert {p.name: _mode(p) for p in folder.iterdir()} == TARGETS["pem"].files


def test_a_conflict_leaves_none_of_the_items_new_files_behind(tmp_path):
    folder = tmp_path / "site-example-com"
    folder.mkdir()
    (folder / "key.pem").write_bytes(b"someone else's key\n")
    code, doc, _ = _export(_SITE, tmp_path, "--to", "pem")
    assert code == 1 and _by_name(doc)["site-example-com"]["status"] == "error"
    assert [p.name for p in folder.iterdir()] == ["key.pem"]
    assert (folder / "key.pem").read_bytes() == b"someone else's key\n"


# ---- --key-format ----

KEY_FORMATS = {  # (format, target) -> (item it suits, its key, label, item it does not suit, message tail)
    "pkcs1": (
        "site-example-com",
        SITE_KEY,
        b"RSA PRIVATE KEY",
        "der-example-com",
        "--key-format pkcs1 holds only RSA keys and this key is EC secp384r1 "
        "(use --key-format pkcs8 or sec1)",
    ),
    "sec1": (
        "der-example-com",
        DER_KEY,
        b"EC PRIVATE KEY",
        "site-example-com",
        "--key-format sec1 holds only EC keys and this key is RSA 2048 (use --key-format pkcs8 or pkcs1)",
    ),
}


@pytest.mark.parametrize("to", ["pem", "der"])
@pytest.mark.parametrize("key_format", KEY_FORMATS)
def test_key_format_applies_to_its_key_type_and_fails_the_other_item(key_format, to, tmp_path):
    good, key, label, bad, message = KEY_FORMATS[key_format]
    paths = [FIXTURES / "pem-pair", FIXTURES / "der", FIXTURES / "ca"]
    code, doc, _ = _export(paths, tmp_path, "--to", to, "--key-format", key_format)
    assert code == 1
    items = _by_name(doc)
    assert items[good]["status"] == "ready" and items[good]["findings"] == []
    assert items[bad]["status"] == "error"
    assert [(f["rule"], f["message"]) for f in items[bad]["findings"]] == [
        ("export-failed", f"{bad}: cannot export to {to}: {message}.")
    ]
    assert not (tmp_path / bad).exists()
    encoding = serialization.Encoding.PEM if to == "pem" else serialization.Encoding.DER
    written = (tmp_path / good / f"key.{to}").read_bytes()
    assert written == key.private_bytes(
        encoding, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    if to == "pem":
        assert written.startswith(b"-----BEGIN " + label + b"-----\n")
    assert _mode(tmp_path / good / f"key.{to}") == 0o600


# ---- from AKV back: every ready fixture item, both content types ----


@pytest.mark.parametrize("content_type", ["pkcs12", "pem"])
def test_convert_secret_then_export_pfx_gives_back_every_ready_item(content_type, tmp_path):
    akv, back = tmp_path / "akv", tmp_path / "back"
    code, stdout, _ = cli(
        "convert",
        FIXTURES,
        "--out",
        akv,
        "--password-file",
        PASSWORDS,
        "--now",
        NOW,
        "--content-type",
        content_type,
        "--format",
        "json",
        "-q",
        "--jobs",
        "1",
    )
    assert code == 1  # the fixtures hold errors on purpose
    names = [i["name"] for i in json.loads(stdout)["items"] if i["status"] != "error"]
    secrets = [akv / name / "secret.json" for name in names]
    code, doc, _ = cli(
        "export",
        *secrets,
        "--out",
        back,
        "--to",
        "pfx",
        "--pfx-profile",
        "modern",
        "--out-password-env",
        PASSWORD_VAR,
        "--now",
        NOW,
        "--format",
        "json",
        "-q",
        "--jobs",
        "1",
        env=ENV,
    )
    assert code == 0, doc
    originals = {
        i.leaf.der: (_pkcs8(i.key.key), [c.der for c in i.chain])
        for i in fixtures_result().items
        if i.status.value != "error" and i.key is not None
    }
    assert len(originals) == len(names) == 24
    der = serialization.Encoding.DER
    got = {}
    for pfx in sorted(back.glob("*/*.pfx")):
        loaded = pkcs12.load_pkcs12(pfx.read_bytes(), PFX_PASSWORD.encode())
        assert loaded.cert is not None and loaded.key is not None
        assert loaded.cert.friendly_name == pfx.stem.encode() and pfx.parent.name == pfx.stem
        leaf = loaded.cert.certificate.public_bytes(der)
        got[leaf] = (_pkcs8(loaded.key), [c.certificate.public_bytes(der) for c in loaded.additional_certs])
    assert got == originals


# ---- AKV JSON as input ----


def _parse_json(doc: dict) -> object:
    from certpipe.detect import detect
    from certpipe.models import SourceFile
    from certpipe.parse import parse

    return parse(detect(SourceFile("akv.json", json.dumps(doc).encode())), (None, b""))


def test_a_certificate_bundle_gives_its_leaf_and_pairs_with_a_key(secrets, tmp_path):
    bundle = secrets["pkcs12"].parent / "certificate.json"
    parsed = _parse_json(json.loads(bundle.read_text()))
    assert [c.cert for c in parsed.certs] == [SITE_LEAF] and parsed.keys == () and parsed.findings == ()
    code, doc, _ = _export([bundle, FIXTURES / "pem-pair/site.key", FIXTURES / "ca"], tmp_path, "--to", "pem")
    assert code == 0 and [(i["name"], i["status"]) for i in doc["items"]] == [("site-example-com", "ready")]
    assert _read_pem(tmp_path / "site-example-com", "site-example-com").certs == [SITE_LEAF, *CHAIN]


def test_a_secret_content_type_is_matched_without_case_or_parameters(secrets):
    doc = json.loads(secrets["pkcs12"].read_text())
    doc["contentType"] = "Application/X-PKCS12; charset=binary"
    parsed = _parse_json(doc)
    assert parsed.findings == () and parsed.content_type == "application/x-pkcs12"
    assert [c.cert for c in parsed.certs] == [SITE_LEAF, *CHAIN]
    assert [_pkcs8(k.key) for k in parsed.keys] == [_pkcs8(SITE_KEY)]


def test_a_secret_that_is_not_certificate_material_is_skipped_not_an_error():
    parsed = _parse_json({"value": "Server=db;Password=hunter2", "contentType": "text/plain", "id": "x"})
    assert parsed.skipped == "an AKV secret of content type 'text/plain', not certificate material"
    assert parsed.findings == () and parsed.certs == () and parsed.keys == ()


def test_a_pem_secret_without_a_pem_block_is_an_unreadable_input():
    value = base64.b64encode(b"not a PEM file").decode()
    parsed = _parse_json({"value": value, "contentType": "application/x-pem-file"})
    assert [(f.rule, f.message) for f in parsed.findings] == [
        (
            "unreadable-input",
            "akv.json: Azure Key Vault JSON with unreadable content: its contentType is "
            "application/x-pem-file but its value holds no PEM block.",
        )
    ]
