"""certpipe.emit.pfx: PFX files certpipe, cryptography and OpenSSL all open, byte-identical when seeded."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import cryptography_vectors
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from certpipe import asn1
from certpipe.emit import pfx
from certpipe.emit.pfx import PfxProfile, build_pfx
from certpipe.parse.pkcs12 import parse_pkcs12

VECTORS = Path(cryptography_vectors.__file__).parent
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl CLI not installed")

DER = serialization.Encoding.DER
TDES = "pbeWithSHA1And3-KeyTripleDES-CBC"
AES = "PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC"
PASSWORD = b"Pa55-w\xc3\xb6rd"  # UTF-8 "Pa55-wörd"
NAME = "www.example.com"

PROFILES = [
    pytest.param(PfxProfile.AKV, b"", id="akv"),
    pytest.param(PfxProfile.COMPAT, PASSWORD, id="compat"),
    pytest.param(PfxProfile.MODERN, PASSWORD, id="modern"),
    pytest.param(PfxProfile.LEGACY, PASSWORD, id="legacy"),
]
# profile -> (MAC digest, encryptions in file order, what `openssl pkcs12 -info` prints for them)
EXPECTED = {
    PfxProfile.AKV: ("sha1", (TDES, TDES), ["Shrouded Keybag: " + TDES, "PKCS7 Encrypted data: " + TDES]),
    PfxProfile.COMPAT: ("sha1", (TDES, TDES), ["Shrouded Keybag: " + TDES, "PKCS7 Encrypted data: " + TDES]),
    PfxProfile.MODERN: (
        "sha256",
        (AES, AES),
        ["PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC", "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC"],
    ),
    PfxProfile.LEGACY: (
        "sha1",
        ("pbeWithSHA1And40BitRC2-CBC", TDES),
        ["PKCS7 Encrypted data: pbeWithSHA1And40BitRC2-CBC", "Shrouded Keybag: " + TDES],
    ),
}


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _cert(
    subject: str, key: PrivateKeyTypes, issuer: str, signer: PrivateKeyTypes, ca: bool
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())  # type: ignore[arg-type]
        .serial_number(int.from_bytes(hashlib.sha256(subject.encode()).digest()[:8], "big"))
        .not_valid_before(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signer, hashes.SHA256())  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    pem = (VECTORS / "asymmetric" / "PKCS8" / "unenc-rsa-pkcs8.pem").read_bytes()
    key = serialization.load_pem_private_key(pem, None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@pytest.fixture(scope="module")
def chain(rsa_key: rsa.RSAPrivateKey) -> list[x509.Certificate]:
    """Leaf (the RSA key), intermediate and root; fixed keys and dates."""
    root_key = ec.derive_private_key(0x5EED_0001, ec.SECP256R1())
    intermediate_key = ec.derive_private_key(0x5EED_0002, ec.SECP256R1())
    root = _cert("Test Root", root_key, "Test Root", root_key, ca=True)
    intermediate = _cert("Test Intermediate", intermediate_key, "Test Root", root_key, ca=True)
    leaf = _cert(NAME, rsa_key, "Test Intermediate", intermediate_key, ca=False)
    return [leaf, intermediate, root]


def _pkcs8(key: PrivateKeyTypes) -> bytes:
    return key.private_bytes(DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _load_pkcs12(data: bytes, password: bytes | None) -> pkcs12.PKCS12KeyAndCertificates:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return pkcs12.load_pkcs12(data, password)


def _openssl_info(
    tmp_path: Path, data: bytes, password: bytes, legacy: bool
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "out.pfx"
    path.write_bytes(data)
    assert OPENSSL is not None
    command = [OPENSSL, "pkcs12", "-info", "-nodes", "-in", str(path), "-passin", "pass:" + password.decode()]
    return subprocess.run(
        command + (["-legacy"] if legacy else []), capture_output=True, text=True, check=False
    )


def _mac_salt(data: bytes) -> bytes:
    return asn1.decode_octet_string(asn1.parse(data).children()[2].children()[1])


# ---- round trips ----


@pytest.mark.parametrize(("profile", "password"), PROFILES)
def test_round_trip_through_certpipe(
    profile: PfxProfile, password: bytes, rsa_key: rsa.RSAPrivateKey, chain: list[x509.Certificate]
) -> None:
    data = build_pfx(rsa_key, chain, friendly_name=NAME, password=password, profile=profile)
    parsed = parse_pkcs12(data, "out.pfx", [b"wrong", password])
    assert parsed.findings == ()
    assert [c.cert for c in parsed.certs] == chain
    assert [c.friendly_name for c in parsed.certs] == [NAME, None, None]
    assert [(k.friendly_name, _pkcs8(k.key)) for k in parsed.keys] == [(NAME, _pkcs8(rsa_key))]
    mac, encryptions, _ = EXPECTED[profile]
    assert parsed.pkcs12 is not None
    assert (parsed.pkcs12.mac_algorithm, parsed.pkcs12.mac_iterations) == (mac, 2000)
    assert (parsed.pkcs12.encryptions, parsed.pkcs12.iterations) == (encryptions, (2000, 2000))
    assert parsed.pkcs12.friendly_names == (NAME,)


@pytest.mark.parametrize(("profile", "password"), PROFILES)
def test_round_trip_through_cryptography(
    profile: PfxProfile, password: bytes, rsa_key: rsa.RSAPrivateKey, chain: list[x509.Certificate]
) -> None:
    data = build_pfx(rsa_key, chain, friendly_name=NAME, password=password, profile=profile)
    for candidate in [None, b""] if profile is PfxProfile.AKV else [password]:
        loaded = _load_pkcs12(data, candidate)
        assert loaded.cert is not None and loaded.key is not None
        assert (loaded.cert.certificate, loaded.cert.friendly_name) == (chain[0], NAME.encode())
        assert [c.certificate for c in loaded.additional_certs] == chain[1:]
        assert _pkcs8(loaded.key) == _pkcs8(rsa_key)
    if password:
        with pytest.raises(ValueError):
            _load_pkcs12(data, b"wrong")


@needs_openssl
@pytest.mark.parametrize(("profile", "password"), PROFILES)
def test_openssl_opens_it_and_names_the_algorithms(
    tmp_path: Path,
    profile: PfxProfile,
    password: bytes,
    rsa_key: rsa.RSAPrivateKey,
    chain: list[x509.Certificate],
) -> None:
    data = build_pfx(rsa_key, chain, friendly_name=NAME, password=password, profile=profile)
    result = _openssl_info(tmp_path, data, password, legacy=profile is PfxProfile.LEGACY)
    assert result.returncode == 0, result.stderr
    mac, _, printed = EXPECTED[profile]
    info = [
        line
        for line in result.stderr.splitlines()
        if line.startswith(("MAC:", "PKCS7 Encrypted", "Shrouded"))
    ]
    assert info == [
        f"MAC: {mac}, Iteration 2000",
        *(
            f"{line}, Iteration 2000" + (", PRF hmacWithSHA256" if "PBES2" in line else "")
            for line in printed
        ),
    ]
    subjects = re.findall(r"^subject=CN = (.+)$", result.stdout, re.MULTILINE)
    assert subjects == [NAME, "Test Intermediate", "Test Root"]
    assert result.stdout.count("-----BEGIN PRIVATE KEY-----") == 1
    assert result.stdout.count(f"friendlyName: {NAME}") == 2  # the key bag and the leaf's bag
    key_id = (
        "01 00 00 00"
        if profile in (PfxProfile.AKV, PfxProfile.COMPAT)
        else (" ".join(f"{b:02X}" for b in hashlib.sha1(chain[0].public_bytes(DER)).digest()))
    )
    assert result.stdout.count(f"localKeyID: {key_id} ") == 2


@needs_openssl
def test_openssl_refuses_a_wrong_password(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, chain: list[x509.Certificate]
) -> None:
    data = build_pfx(rsa_key, chain, friendly_name=None, password=PASSWORD, profile=PfxProfile.COMPAT)
    result = _openssl_info(tmp_path, data, b"wrong", legacy=False)
    assert result.returncode != 0 and "Mac verify error" in result.stderr


@pytest.mark.parametrize(("profile", "password"), PROFILES)
def test_ec_keys_and_no_friendly_name(profile: PfxProfile, password: bytes) -> None:
    key = ec.derive_private_key(0x5EED_0003, ec.SECP384R1())
    cert = _cert("ec.example", key, "ec.example", key, ca=False)
    data = build_pfx(key, [cert], friendly_name=None, password=password, profile=profile)
    parsed = parse_pkcs12(data, "ec.pfx", [password])
    assert [c.cert for c in parsed.certs] == [cert] and [c.friendly_name for c in parsed.certs] == [None]
    assert [_pkcs8(k.key) for k in parsed.keys] == [_pkcs8(key)]
    assert _load_pkcs12(data, password).cert is not None


def test_empty_password_modern_file_opens_with_none_and_empty(
    rsa_key: rsa.RSAPrivateKey, chain: list[x509.Certificate]
) -> None:
    data = build_pfx(rsa_key, chain, friendly_name=NAME, profile=PfxProfile.MODERN)
    for candidate in (None, b""):
        assert _load_pkcs12(data, candidate).key is not None
        assert len(parse_pkcs12(data, "m.pfx", [candidate]).keys) == 1


def test_chain_order_is_kept_as_given(rsa_key: rsa.RSAPrivateKey, chain: list[x509.Certificate]) -> None:
    leaf, intermediate, root = chain
    given = [leaf, root, intermediate, root]
    for profile, password in ((PfxProfile.AKV, b""), (PfxProfile.LEGACY, PASSWORD)):
        data = build_pfx(rsa_key, given, friendly_name=NAME, password=password, profile=profile)
        assert [c.cert for c in parse_pkcs12(data, "c.pfx", [password]).certs] == given
        assert [c.certificate for c in _load_pkcs12(data, password).additional_certs] == given[1:]


# ---- layout ----


def test_akv_profile_layout_matches_what_akv_stores(
    rsa_key: rsa.RSAPrivateKey, chain: list[x509.Certificate]
) -> None:
    data = build_pfx(rsa_key, chain, friendly_name=NAME)
    version, auth_safe, mac_data = asn1.parse(data).children()  # strict DER
    assert asn1.decode_integer(version) == 3
    safes = asn1.parse(asn1.decode_octet_string(auth_safe.children()[1].children()[0])).children()
    assert [asn1.decode_oid(s.children()[0]) for s in safes] == [
        "1.2.840.113549.1.7.1",
        "1.2.840.113549.1.7.6",
    ]
    (key_bag,) = asn1.parse(asn1.decode_octet_string(safes[0].children()[1].children()[0])).children()
    bag_id, value, attributes = key_bag.children()
    assert asn1.decode_oid(bag_id) == "1.2.840.113549.1.12.10.1.2"
    algorithm = value.children()[0].children()[0].children()
    assert asn1.decode_oid(algorithm[0]) == "1.2.840.113549.1.12.1.3"
    salt, iterations = algorithm[1].children()
    assert (len(asn1.decode_octet_string(salt)), asn1.decode_integer(iterations)) == (8, 2000)
    found = {asn1.decode_oid(a.children()[0]): a.children()[1].children()[0] for a in attributes.children()}
    assert asn1.decode_octet_string(found["1.2.840.113549.1.9.21"]) == b"\x01\x00\x00\x00"
    assert asn1.decode_bmp_string(found["1.2.840.113549.1.9.20"]) == NAME
    digest_info, mac_salt, mac_iterations = mac_data.children()
    (digest_oid,) = digest_info.children()[0].children()  # AKV writes no NULL parameters
    assert asn1.decode_oid(digest_oid) == "1.3.14.3.2.26"
    assert (len(asn1.decode_octet_string(mac_salt)), asn1.decode_integer(mac_iterations)) == (20, 2000)


def test_openssl_style_profiles_put_certificates_first(
    rsa_key: rsa.RSAPrivateKey, chain: list[x509.Certificate]
) -> None:
    data = build_pfx(rsa_key, chain, friendly_name=NAME, password=PASSWORD, profile=PfxProfile.MODERN)
    _, auth_safe, mac_data = asn1.parse(data).children()
    safes = asn1.parse(asn1.decode_octet_string(auth_safe.children()[1].children()[0])).children()
    assert [asn1.decode_oid(s.children()[0]) for s in safes] == [
        "1.2.840.113549.1.7.6",
        "1.2.840.113549.1.7.1",
    ]
    digest_oid, params = mac_data.children()[0].children()[0].children()
    assert (asn1.decode_oid(digest_oid), params.encoded) == ("2.16.840.1.101.3.4.2.1", asn1.null())


# ---- determinism and speed ----


@pytest.mark.parametrize("profile", [PfxProfile.COMPAT, PfxProfile.MODERN, PfxProfile.LEGACY])
def test_salt_seed_makes_output_byte_identical(
    profile: PfxProfile, rsa_key: rsa.RSAPrivateKey, chain: list[x509.Certificate]
) -> None:
    def build(seed: bytes | None, name: str = NAME) -> bytes:
        return build_pfx(
            rsa_key, chain, friendly_name=name, password=PASSWORD, profile=profile, salt_seed=seed
        )

    assert build(b"seed-1") == build(b"seed-1")
    assert build(b"seed-1") != build(b"seed-2")
    assert build(None) != build(None)  # a real password without a seed gets random salts
    assert _mac_salt(build(b"seed-1")) != _mac_salt(build(b"seed-1", name="other"))  # salts follow content


def test_akv_profile_is_deterministic_and_cached(
    rsa_key: rsa.RSAPrivateKey, chain: list[x509.Certificate]
) -> None:
    first = build_pfx(rsa_key, chain, friendly_name=NAME)
    misses = pfx._cached_pkcs12_kdf.cache_info().misses
    assert build_pfx(rsa_key, chain, friendly_name=NAME) == first
    assert build_pfx(rsa_key, chain, friendly_name=NAME, salt_seed=b"ignored: nothing to protect") == first
    assert build_pfx(rsa_key, chain[:1], friendly_name="another") != first
    assert pfx._cached_pkcs12_kdf.cache_info().misses == misses  # every derivation came from the cache
    size = pfx._cached_pkcs12_kdf.cache_info().currsize
    build_pfx(rsa_key, chain, friendly_name=NAME, password=PASSWORD, profile=PfxProfile.COMPAT)
    assert pfx._cached_pkcs12_kdf.cache_info().currsize == size  # real passwords are never cached


# ---- refusals ----


def test_refuses_bad_arguments(rsa_key: rsa.RSAPrivateKey, chain: list[x509.Certificate]) -> None:
    with pytest.raises(ValueError, match="the akv profile has the empty password"):
        build_pfx(rsa_key, chain, friendly_name=None, password=PASSWORD)
    with pytest.raises(ValueError, match="does not belong to the first certificate"):
        build_pfx(rsa_key, chain[1:], friendly_name=None)
    with pytest.raises(ValueError, match="at least the leaf certificate"):
        build_pfx(rsa_key, [], friendly_name=None)
    with pytest.raises(ValueError, match="iterations must be positive"):
        build_pfx(rsa_key, chain, friendly_name=None, iterations=0)
    with pytest.raises(ValueError, match="must be UTF-8"):
        build_pfx(rsa_key, chain, friendly_name=None, password=b"\xff", profile=PfxProfile.COMPAT)
    with pytest.raises(TypeError):
        build_pfx(rsa_key, chain, friendly_name=None, password="text", profile="compat")  # type: ignore[arg-type]
    assert build_pfx(rsa_key, chain, friendly_name=None, profile="akv")  # type: ignore[arg-type]


# ---- primitives, checked against their specifications and against the reader's copies ----
