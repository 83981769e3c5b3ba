"""certpipe.parse.pkcs12: real PKCS#12 files in; every certificate, key and name out; bounded work."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import random
import shutil
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import cryptography_vectors
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.ciphers.algorithms import AES
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from certpipe import asn1
from certpipe.models import Format, KeyOrigin, Parsed
from certpipe.parse import pkcs12 as reader
from certpipe.parse.keycheck import check_rsa_consistency
from certpipe.parse.pkcs12 import parse_pkcs12

VECTORS = Path(cryptography_vectors.__file__).parent
P12 = VECTORS / "pkcs12"
PKCS8 = VECTORS / "asymmetric" / "PKCS8"
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl CLI not installed")

DER = serialization.Encoding.DER
SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
TDES = "pbeWithSHA1And3-KeyTripleDES-CBC"
RC2_40 = "pbeWithSHA1And40BitRC2-CBC"
AES_SHA1 = "PBES2/PBKDF2-HMAC-SHA1/AES-256-CBC"
CANDIDATES = (b"not-it", b"cryptography", b"password", None)


# file -> (password, cert names, key names, MAC digest, MAC iterations, encryptions, iterations)
Expectation = tuple[
    bytes | None, list[str | None], list[str | None], str, int, tuple[str, ...], tuple[int, ...]
]
EXPECTED: dict[str, Expectation] = {
    "cert-aes256cbc-no-key.p12": (b"cryptography", [None], [], "sha1", 2048, (AES_SHA1,), (2048,)),
    "cert-key-aes256cbc.p12": (
        b"cryptography",
        [None],
        [None],
        "sha1",
        2048,
        (AES_SHA1, AES_SHA1),
        (2048, 2048),
    ),
    "cert-none-key-none.p12": (b"cryptography", [None], [None], "sha1", 2048, ("none", "none"), ()),
    "cert-rc2-key-3des.p12": (b"cryptography", [None], [None], "sha1", 2048, (RC2_40, TDES), (2048, 2048)),
    "java-truststore.p12": (None, ["cert1", None], [], "sha256", 2048, ("none",), ()),
    "no-password.p12": (None, ["cryptography CA"], ["6BC162DA"], "sha1", 1, (RC2_40, TDES), (2048, 2048)),
    "no-cert-key-aes256cbc.p12": (b"cryptography", [], [None], "sha1", 2048, (AES_SHA1,), (2048,)),
}
_NAMES: dict[
    str, list[str | None]
] = {  # the name-*.p12 family: cert names (key cert, cryptography.io, Let's Encrypt X3)
    "name-1": ["name", None, None],
    "name-2": [None, "name2", None],
    "name-3": [None, None, "name3"],
    "name-2-3": [None, "name2", "name3"],
    "name-all": ["name", "name2", "name3"],
    "name-unicode": ["☺", "ä", "ç"],
    "no-name": [None, None, None],
}
_NO_CERT_NAMES: dict[str, list[str | None]] = {  # the no-cert-*.p12 family: two certificates, no key
    "no-cert-name-2": ["name2", None],
    "no-cert-name-3": [None, "name3"],
    "no-cert-name-all": ["name2", "name3"],
    "no-cert-name-unicode": ["☹", "ï"],
    "no-cert-no-name": [None, None],
}
for _stem, _names in _NAMES.items():
    EXPECTED[f"{_stem}-pwd.p12"] = (b"password", _names, [_names[0]], "sha1", 1, (TDES, TDES), (20000, 20000))
    EXPECTED[f"{_stem}-no-pwd.p12"] = (None, _names, [_names[0]], "sha1", 1, ("none", "none"), ())
for _stem, _names in _NO_CERT_NAMES.items():
    EXPECTED[f"{_stem}-pwd.p12"] = (b"password", _names, [], "sha1", 1, (TDES,), (20000,))
    EXPECTED[f"{_stem}-no-pwd.p12"] = (None, _names, [], "sha1", 1, ("none",), ())


def _vector(name: str) -> bytes:
    return (P12 / name).read_bytes()


def _load_pkcs12(data: bytes, password: bytes | None) -> pkcs12.PKCS12KeyAndCertificates:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # some vectors need cryptography's BER fallback
        return pkcs12.load_pkcs12(data, password)


def _pkcs8(key: PrivateKeyTypes) -> bytes:
    return key.private_bytes(DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _only_finding(parsed: Parsed) -> tuple[str, str]:
    assert parsed.certs == () and parsed.keys == () and parsed.pkcs12 is None
    (finding,) = parsed.findings
    assert finding.source == parsed.path
    return finding.rule, finding.message


# ---- hand-built PFX pieces (structure only; the crypto inside comes from real tools or vectors) ----


def _attrs(name: str | None) -> list[bytes]:
    if name is None:
        return []
    attribute = asn1.sequence(asn1.oid("1.2.840.113549.1.9.20"), asn1.set_of(asn1.bmp_string(name)))
    return [asn1.set_of(attribute)]


def _bag(kind: int, value: bytes, name: str | None = None) -> bytes:
    """SafeBag of type 1.2.840.113549.1.12.10.1.<kind>."""
    return asn1.sequence(asn1.oid(f"1.2.840.113549.1.12.10.1.{kind}"), asn1.explicit(0, value), *_attrs(name))


def _cert_bag(cert: x509.Certificate, name: str | None = None) -> bytes:
    value = asn1.sequence(
        asn1.oid("1.2.840.113549.1.9.22.1"), asn1.explicit(0, asn1.octet_string(cert.public_bytes(DER)))
    )
    return _bag(3, value, name)


def _data(content: bytes) -> bytes:
    return asn1.sequence(asn1.oid("1.2.840.113549.1.7.1"), asn1.explicit(0, asn1.octet_string(content)))


def _pfx(*safe_contents: bytes, mac: bytes = b"") -> bytes:
    """A PFX of plain data safes, each given as SafeContents DER, and an optional MacData."""
    auth_safe = asn1.sequence(*(_data(s) for s in safe_contents))
    return asn1.sequence(asn1.integer(3), _data(auth_safe), mac)


def _pem_der(path: Path) -> bytes:
    text = path.read_text()  # some vectors carry a dumpasn1 listing before the PEM block
    body = text[text.index("-----BEGIN") :].splitlines()[1:]
    return base64.b64decode(
        "".join(body[: next(i for i, line in enumerate(body) if line.startswith("-----"))])
    )


def _with_mac_iterations(data: bytes, iterations: int) -> bytes:
    version, auth_safe, mac_data = asn1.parse(data).children()
    digest, salt = mac_data.children()[:2]
    mac = asn1.sequence(digest.encoded, salt.encoded, asn1.integer(iterations))
    return asn1.sequence(version.encoded, auth_safe.encoded, mac)


def _ber(tlv: asn1.Tlv, *, inner: Callable[[bytes], bytes] | None = None) -> bytes:
    """Re-encode with indefinite lengths and 8-byte string segments, as NSS and Java write PFX files."""
    if tlv.constructed:
        identifier = tlv.data[tlv.start : tlv.start + 1]
        return identifier + b"\x80" + b"".join(_ber(c, inner=inner) for c in tlv.children()) + b"\x00\x00"
    if tlv.is_universal(asn1.OCTET_STRING) or tlv.is_context(0):
        value = inner(tlv.value) if inner is not None and tlv.is_universal(asn1.OCTET_STRING) else tlv.value
        identifier = b"\x24" if tlv.is_universal(asn1.OCTET_STRING) else b"\xa0"
        segments = b"".join(asn1.octet_string(value[i : i + 8]) for i in range(0, len(value), 8))
        return identifier + b"\x80" + segments + b"\x00\x00"
    return tlv.encoded


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key((PKCS8 / "unenc-rsa-pkcs8.pem").read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@pytest.fixture(scope="module")
def ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key((P12 / "ca" / "ca_key.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key, x509.load_pem_x509_certificate((P12 / "ca" / "ca.pem").read_bytes())


@pytest.fixture(scope="module")
def leaf(
    rsa_key: rsa.RSAPrivateKey, ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate]
) -> x509.Certificate:
    ca_key, ca_cert = ca
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf.example")]))
        .issuer_name(ca_cert.subject)
        .public_key(rsa_key.public_key())
        .serial_number(0x7292)
        .not_valid_before(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        .sign(ca_key, hashes.SHA256())
    )


# ---- the cryptography-vectors PKCS#12 files ----


def test_every_vector_file_is_described() -> None:
    assert sorted(EXPECTED) == sorted(p.name for p in P12.glob("*.p12"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_vector_parses_with_expected_contents(name: str) -> None:
    _, cert_names, key_names, mac, mac_iterations, encryptions, iterations = EXPECTED[name]
    parsed = parse_pkcs12(_vector(name), name, CANDIDATES)
    assert parsed.findings == ()
    assert (parsed.path, parsed.format) == (name, Format.PKCS12)
    assert [c.friendly_name for c in parsed.certs] == cert_names
    assert [k.friendly_name for k in parsed.keys] == key_names
    assert all(c.source == name and c.line is None for c in parsed.certs)
    assert all(k.source == name and k.line is None for k in parsed.keys)
    assert all(k.origin is KeyOrigin.PKCS12 for k in parsed.keys)
    assert parsed.pkcs12 is not None
    assert (parsed.pkcs12.mac_algorithm, parsed.pkcs12.mac_iterations) == (mac, mac_iterations)
    assert parsed.pkcs12.encryptions == encryptions
    assert parsed.pkcs12.iterations == iterations
    assert parsed.pkcs12.friendly_names == tuple(dict.fromkeys(n for n in cert_names + key_names if n))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_vector_matches_cryptography_load_pkcs12(name: str) -> None:
    password = EXPECTED[name][0]
    theirs = _load_pkcs12(_vector(name), password)
    ours = parse_pkcs12(_vector(name), name, [password])
    their_certs = ([theirs.cert] if theirs.cert else []) + list(theirs.additional_certs)
    assert [c.der for c in ours.certs] == [c.certificate.public_bytes(DER) for c in their_certs]
    assert [c.cert for c in ours.certs] == [c.certificate for c in their_certs]
    assert [c.friendly_name for c in ours.certs] == [
        c.friendly_name.decode() if c.friendly_name else None for c in their_certs
    ]
    assert [_pkcs8(k.key) for k in ours.keys] == ([_pkcs8(theirs.key)] if theirs.key else [])
    for record in ours.keys:
        assert record.spki == record.key.public_key().public_bytes(DER, SPKI)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_vector_reads_the_same_without_libcrypto_kdf(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # With libcrypto's KDF the reader decrypts shrouded keys itself; without it, cryptography does.
    password = EXPECTED[name][0]
    fast = parse_pkcs12(_vector(name), name, [password])
    monkeypatch.setattr(reader, "native_kdf_available", lambda: False)
    slow = parse_pkcs12(_vector(name), name, [password])
    assert [c.der for c in slow.certs] == [c.der for c in fast.certs]
    assert [_pkcs8(k.key) for k in slow.keys] == [_pkcs8(k.key) for k in fast.keys]
    assert slow.pkcs12 == fast.pkcs12


def test_rc2_and_3des_vector_key_matches_its_certificate() -> None:
    parsed = parse_pkcs12(_vector("cert-rc2-key-3des.p12"), "cert-rc2-key-3des.p12", [b"cryptography"])
    (cert,) = parsed.certs
    (key,) = parsed.keys
    assert key.spki == cert.cert.public_key().public_bytes(DER, SPKI)
    assert cert.cert.subject.rfc4514_string() == "CN=cryptography CA,C=US"
    assert isinstance(key.key, ec.EllipticCurvePrivateKey)


def test_key_only_and_truststore_vectors() -> None:
    key_only = parse_pkcs12(_vector("no-cert-key-aes256cbc.p12"), "k.p12", [b"cryptography"])
    assert (len(key_only.certs), len(key_only.keys)) == (0, 1)
    truststore = parse_pkcs12(_vector("java-truststore.p12"), "t.p12", [None])
    assert (len(truststore.certs), len(truststore.keys)) == (2, 0)


@pytest.mark.parametrize(
    "name", ["no-password.p12", "java-truststore.p12", "name-all-no-pwd.p12", "no-cert-no-name-no-pwd.p12"]
)
@pytest.mark.parametrize("candidate", [None, b""])
def test_password_less_files_open_with_none_and_empty(name: str, candidate: bytes | None) -> None:
    parsed = parse_pkcs12(_vector(name), name, [candidate])
    assert parsed.findings == ()
    assert len(parsed.certs) == len(EXPECTED[name][1])


def test_name_all_vector_friendly_names() -> None:
    parsed = parse_pkcs12(_vector("name-all-pwd.p12"), "name-all-pwd.p12", [b"password"])
    assert [c.friendly_name for c in parsed.certs] == ["name", "name2", "name3"]
    assert [k.friendly_name for k in parsed.keys] == ["name"]
    assert parsed.keys[0].spki == parsed.certs[0].cert.public_key().public_bytes(DER, SPKI)


# ---- passwords ----


def test_wrong_password_gives_one_password_required_finding() -> None:
    parsed = parse_pkcs12(_vector("cert-rc2-key-3des.p12"), "legacy.p12", [b"hunter2", b"letmein", None])
    rule, message = _only_finding(parsed)
    assert rule == "password-required"
    assert message == (
        "legacy.p12: PKCS#12 needs a password; none of the 3 candidates opened it "
        "(use --password-file, --password-env or --passwords)."
    )
    assert "hunter2" not in repr(parsed) and "letmein" not in repr(parsed)


@pytest.mark.parametrize(
    ("candidates", "tried"),
    [([], "no candidate passwords were given"), ([b"nope"], "the 1 candidate did not open it")],
)
def test_password_required_wording(candidates: list[bytes | None], tried: str) -> None:
    rule, message = _only_finding(parse_pkcs12(_vector("name-1-pwd.p12"), "a.p12", candidates))
    assert (rule, message) == (
        "password-required",
        f"a.p12: PKCS#12 needs a password; {tried} (use --password-file, --password-env or --passwords).",
    )


def test_password_variants() -> None:
    none, empty = reader._secrets([None]), reader._secrets([b""])
    assert [s.bmp for s in none] == [b"", b"\x00\x00"] and [s.bmp for s in empty] == [b"\x00\x00", b""]
    assert reader._secrets([None, b""]) == none  # the same two encodings, tried once
    (ascii_,) = reader._secrets([b"pw"])
    assert (ascii_.bmp, ascii_.raw) == (b"\x00p\x00w\x00\x00", b"pw")
    utf8, latin1 = reader._secrets(["é".encode()])
    assert (utf8.bmp, latin1.bmp) == (b"\x00\xe9\x00\x00", b"\x00\xc3\x00\xa9\x00\x00")
    (invalid,) = reader._secrets([b"\xe9"])
    assert invalid.bmp == b"\x00\xe9\x00\x00"
    assert "pw" not in repr(ascii_)


# ---- bounded work ----


def test_hostile_mac_iteration_count_fails_fast() -> None:
    hostile = _with_mac_iterations(_vector("cert-rc2-key-3des.p12"), 2**31 - 1)
    start = time.perf_counter()
    parsed = parse_pkcs12(hostile, "hostile.p12", [b"cryptography", None])
    elapsed = time.perf_counter() - start
    assert _only_finding(parsed) == (
        "unreadable-input",
        "hostile.p12: PKCS#12 declares 2147483647 KDF iterations, above the limit of 2000000 "
        "(use --max-iterations).",
    )
    assert elapsed < 0.5


def test_hostile_encryption_iteration_count_is_checked_before_any_derivation() -> None:
    data = _vector("cert-rc2-key-3des.p12")
    hostile = data.replace(b"\x02\x02\x08\x00", b"\x02\x02\x7f\xff", 1)  # the certificate safe's count
    start = time.perf_counter()
    parsed = parse_pkcs12(hostile, "h.p12", [b"cryptography"], max_iterations=30_000)
    assert time.perf_counter() - start < 0.5
    assert _only_finding(parsed)[1] == (
        "h.p12: PKCS#12 declares 32767 KDF iterations, above the limit of 30000 (use --max-iterations)."
    )
    assert parse_pkcs12(data, "ok.p12", [b"cryptography"], max_iterations=2048).findings == ()


def test_iteration_count_hidden_in_an_encrypted_safe_is_checked_before_its_derivation() -> None:
    hostile_params = asn1.sequence(asn1.octet_string(b"saltsalt"), asn1.integer(2**31 - 1))
    hostile_key = asn1.sequence(
        asn1.sequence(asn1.oid("1.2.840.113549.1.12.1.3"), hostile_params), asn1.octet_string(bytes(16))
    )
    inner = asn1.sequence(_bag(2, hostile_key))
    # Encrypt the safe with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) using cryptography directly.
    salt, iv = b"0123456789abcdef", b"fedcba9876543210"
    key = PBKDF2HMAC(hashes.SHA256(), 32, salt, 1000).derive(b"pw")
    padded = inner + bytes([16 - len(inner) % 16]) * (16 - len(inner) % 16)
    encryptor = Cipher(AES(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    pbkdf2 = asn1.sequence(
        asn1.oid("1.2.840.113549.1.5.12"),
        asn1.sequence(
            asn1.octet_string(salt),
            asn1.integer(1000),
            asn1.sequence(asn1.oid("1.2.840.113549.2.9"), asn1.null()),
        ),
    )
    scheme = asn1.sequence(asn1.oid("2.16.840.1.101.3.4.1.42"), asn1.octet_string(iv))
    algorithm = asn1.sequence(asn1.oid("1.2.840.113549.1.5.13"), asn1.sequence(pbkdf2, scheme))
    encrypted = asn1.sequence(
        asn1.integer(0),
        asn1.sequence(asn1.oid("1.2.840.113549.1.7.1"), algorithm, asn1.implicit(0, ciphertext)),
    )
    safe = asn1.sequence(asn1.oid("1.2.840.113549.1.7.6"), asn1.explicit(0, encrypted))
    pfx = asn1.sequence(asn1.integer(3), _data(asn1.sequence(safe)))
    start = time.perf_counter()
    rule, message = _only_finding(parse_pkcs12(pfx, "hidden.p12", [b"wrong", b"pw"]))
    assert time.perf_counter() - start < 0.5
    assert (rule, message) == (
        "unreadable-input",
        "hidden.p12: PKCS#12 declares 2147483647 KDF iterations, above the limit of 2000000 "
        "(use --max-iterations).",
    )


def test_total_key_derivation_work_is_bounded() -> None:
    candidates = [f"wrong-{i}".encode() for i in range(40)]
    parsed = parse_pkcs12(_vector("cert-rc2-key-3des.p12"), "many.p12", candidates, max_iterations=2048)
    assert _only_finding(parsed) == (
        "unreadable-input",
        "many.p12: PKCS#12 needs more than 16384 KDF iterations in all, above 8 times the limit of 2048 "
        "(use --max-iterations).",
    )


# ---- malformed input ----


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty"),
        (b"hello", "it does not start with a DER SEQUENCE"),
        ((VECTORS / "x509" / "cryptography.io.pem").read_bytes(), "it does not start with a DER SEQUENCE"),
        (
            x509.load_pem_x509_certificate(
                (VECTORS / "x509" / "cryptography.io.pem").read_bytes()
            ).public_bytes(DER),
            "PFX version: expected INTEGER, found SEQUENCE",
        ),
        (
            (P12 / "cert-rc2-key-3des.p12").read_bytes()[:500],
            "truncated: element at offset 0 needs 850 bytes, only 496 remain",
        ),
        (asn1.sequence(asn1.integer(2), _data(asn1.sequence())), "PFX version is 2, expected 3"),
        (
            asn1.sequence(asn1.integer(3), _data(asn1.sequence(asn1.integer(1)))),
            "AuthenticatedSafe ContentInfo: expected SEQUENCE, found INTEGER",
        ),
        (_pfx(asn1.sequence(asn1.integer(1))), "SafeBag: expected SEQUENCE, found INTEGER"),
        (
            _pfx(
                asn1.sequence(
                    _bag(
                        3,
                        asn1.sequence(
                            asn1.oid("1.2.840.113549.1.9.22.1"), asn1.explicit(0, asn1.octet_string(b"junk"))
                        ),
                    )
                )
            ),
            "certificate 1 is not a valid X.509 certificate",
        ),
        (
            _pfx(asn1.sequence(_bag(1, asn1.sequence(asn1.integer(0))))),
            "private key 1 is not a usable PKCS#8 key",
        ),
    ],
)
def test_malformed_input_gives_one_unreadable_finding(data: bytes, reason: str) -> None:
    assert _only_finding(parse_pkcs12(data, "bad.p12", [None])) == (
        "unreadable-input",
        f"bad.p12: not a readable PKCS#12 file ({reason}).",
    )


def test_no_exception_escapes_for_truncated_or_mutated_files() -> None:
    data = _vector("name-all-no-pwd.p12")
    for cut in range(0, len(data), 7):
        assert _only_finding(parse_pkcs12(data[:cut], "t.p12", [None]))[0] == "unreadable-input"
    rng = random.Random(7292)
    rules: set[str] = set()
    for name in ("name-all-no-pwd.p12", "cert-rc2-key-3des.p12", "cert-key-aes256cbc.p12"):
        original = _vector(name)
        for _ in range(150):
            mutated = bytearray(original)
            for _ in range(rng.randint(1, 3)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            parsed = parse_pkcs12(bytes(mutated), name, CANDIDATES)
            rules.update(f.rule for f in parsed.findings)
            assert len(parsed.findings) <= 1
    assert rules == {"unreadable-input", "password-required"}


def test_wrong_argument_types_raise_type_error() -> None:
    with pytest.raises(TypeError):
        parse_pkcs12("not bytes", "x.p12", [None])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_pkcs12(b"0", "x.p12", ["str password"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("patch", "feature"),
    [
        (  # pbeWithSHAAnd40BitRC2-CBC -> an unassigned PKCS#12 PBE arc
            (bytes.fromhex("2a864886f70d010c0106"), bytes.fromhex("2a864886f70d010c0107")),
            "encryption algorithm 1.2.840.113549.1.12.1.7",
        ),
        (  # the MAC's SHA-1 -> MD5
            (bytes.fromhex("06052b0e03021a"), bytes.fromhex("06052b0e030219")),
            "a MAC with digest 1.3.14.3.2.25",
        ),
    ],
)
def test_unsupported_algorithms_are_named(patch: tuple[bytes, bytes], feature: str) -> None:
    data = _vector("cert-rc2-key-3des.p12").replace(*patch)
    assert _only_finding(parse_pkcs12(data, "u.p12", [b"cryptography"]))[1] == (
        f"u.p12: PKCS#12 uses {feature}, which certpipe does not read "
        "(re-export it with AES-256-CBC or 3DES)."
    )


def test_public_key_modes_are_unsupported() -> None:
    signed = asn1.sequence(
        asn1.integer(3), asn1.sequence(asn1.oid("1.2.840.113549.1.7.2"), asn1.explicit(0, asn1.sequence()))
    )
    message = _only_finding(parse_pkcs12(signed, "s.p12", [None]))[1]
    assert message.startswith("s.p12: PKCS#12 uses public-key integrity mode (signedData), which")
    enveloped = asn1.sequence(asn1.oid("1.2.840.113549.1.7.3"), asn1.explicit(0, asn1.sequence()))
    pfx = asn1.sequence(asn1.integer(3), _data(asn1.sequence(enveloped)))
    assert "public-key privacy mode (envelopedData)" in _only_finding(parse_pkcs12(pfx, "e.p12", [None]))[1]


# ---- BER, several keys, nesting: files NSS, Java and Windows write ----


def test_ber_indefinite_lengths_and_constructed_strings_read_like_der() -> None:
    data = _vector("cert-rc2-key-3des.p12")
    ber = _ber(asn1.parse(data))
    assert ber[:2] == b"\x30\x80" and len(ber) > len(data)
    ours = parse_pkcs12(ber, "ber.p12", [b"cryptography"])
    der = parse_pkcs12(data, "der.p12", [b"cryptography"])
    assert ours.findings == () and ours.pkcs12 == der.pkcs12
    assert [c.der for c in ours.certs] == [c.der for c in der.certs]
    assert [_pkcs8(k.key) for k in ours.keys] == [_pkcs8(k.key) for k in der.keys]
    assert _load_pkcs12(ber, b"cryptography").cert is not None  # the re-encoding is valid BER


def test_ber_all_the_way_down() -> None:
    # Drop the MAC so the inner structures can be re-encoded too (certificate DER stays untouched).
    version, auth_safe = asn1.parse(_vector("no-cert-name-all-no-pwd.p12")).children()[:2]

    def safe_contents(octets: bytes) -> bytes:
        return _ber(asn1.parse(octets), inner=lambda certificate: certificate)

    def authenticated_safe(octets: bytes) -> bytes:
        return _ber(asn1.parse(octets), inner=safe_contents)

    ber = b"\x30\x80" + version.encoded + _ber(auth_safe, inner=authenticated_safe) + b"\x00\x00"
    parsed = parse_pkcs12(ber, "deep.p12", [])
    assert parsed.findings == ()
    assert [c.friendly_name for c in parsed.certs] == ["name2", "name3"]
    assert parsed.pkcs12 is not None and parsed.pkcs12.mac_algorithm is None


PKCS8_VECTORS = [  # encrypted PKCS#8 from cryptography-vectors: file, password, the scheme it uses
    ("rsa-40bitrc2.pem", b"baz", RC2_40),
    ("enc-ec-sha1-128-rc4.pem", b"password", "pbeWithSHA1And128BitRC4"),
    ("rsa_pkcs8_pbes2_pbkdf2_2048_3des_sha224.pem", b"PolarSSLTest", "PBES2/PBKDF2-HMAC-SHA224/DES-EDE3-CBC"),
    ("rsa_pkcs8_pbes2_pbkdf2_2048_3des_sha384.pem", b"PolarSSLTest", "PBES2/PBKDF2-HMAC-SHA384/DES-EDE3-CBC"),
    ("rsa_pkcs8_pbes2_pbkdf2_2048_3des_sha512.pem", b"PolarSSLTest", "PBES2/PBKDF2-HMAC-SHA512/DES-EDE3-CBC"),
    ("rsa-aes-192-cbc.pem", b"PolarSSLTest", "PBES2/PBKDF2-HMAC-SHA384/AES-192-CBC"),
    ("enc-rsa-pkcs8.pem", b"foobar", TDES),
    ("enc2-rsa-pkcs8.pem", b"baz", "PBES2/PBKDF2-HMAC-SHA1/AES-128-CBC"),
    ("rsa-pbe-3des-long-salt.pem", b"password", TDES),
    *(
        (f"pkcs12_s2k_pem-X_{n}.pem", b"123456", TDES)
        for n in (9607, 9671, 9925, 9926, 9927, 9928, 9929, 9930, 9931, 9932)
    ),
]


@pytest.mark.parametrize(("name", "password", "scheme"), PKCS8_VECTORS)
def test_shrouded_key_bags_decrypt_every_scheme(name: str, password: bytes, scheme: str) -> None:
    pem = (PKCS8 / name).read_bytes()
    pfx = _pfx(asn1.sequence(_bag(2, _pem_der(PKCS8 / name), "k")))  # no MAC: candidates tried by decrypting
    parsed = parse_pkcs12(pfx, name, [b"wrong", None, password])
    assert parsed.findings == ()
    (key,) = parsed.keys
    assert _pkcs8(key.key) == _pkcs8(serialization.load_pem_private_key(pem, password))
    assert (key.friendly_name, parsed.pkcs12.encryptions if parsed.pkcs12 else None) == ("k", (scheme,))
    rule, _ = _only_finding(parse_pkcs12(pfx, name, [b"wrong"]))
    assert rule == "password-required"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("rsa-rc2-cbc.pem", "PKCS#12 uses PBES2 with cipher 1.2.840.113549.3.2, which"),
        ("rsa-pbewithmd5anddescbc.pem", "PKCS#12 uses encryption algorithm 1.2.840.113549.1.5.3, which"),
        ("ed25519-scrypt.pem", "PKCS#12 uses PBES2 with key derivation 1.3.6.1.4.1.11591.4.11, which"),
        ("enc-rsa-pkcs8-pbkdf2-0iter.pem", "(shrouded key bag iteration count 0 is not positive)"),
    ],
)
def test_unsupported_or_invalid_key_encryption_vectors(name: str, reason: str) -> None:
    pfx = _pfx(asn1.sequence(_bag(2, _pem_der(PKCS8 / name))))
    rule, message = _only_finding(parse_pkcs12(pfx, "k.p12", [b"hunter2"]))
    assert rule == "unreadable-input" and reason in message


def test_every_key_is_returned_in_order(ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate]) -> None:
    ca_key, ca_cert = ca
    first = _bag(2, _pem_der(PKCS8 / "rsa-40bitrc2.pem"), "first")
    second = _bag(1, _pkcs8(ca_key), "second")
    third = _bag(2, _pem_der(PKCS8 / "enc2-rsa-pkcs8.pem"), "third")
    pfx = _pfx(asn1.sequence(first, _cert_bag(ca_cert, "ca")), asn1.sequence(second, third))
    parsed = parse_pkcs12(pfx, "multi.p12", [b"baz"])
    assert parsed.findings == ()
    assert [k.friendly_name for k in parsed.keys] == ["first", "second", "third"]
    assert _pkcs8(parsed.keys[0].key) == _pkcs8(
        serialization.load_pem_private_key((PKCS8 / "rsa-40bitrc2.pem").read_bytes(), b"baz")
    )
    assert parsed.keys[1].spki == ca_cert.public_key().public_bytes(DER, SPKI)
    assert [c.friendly_name for c in parsed.certs] == ["ca"]
    assert parsed.pkcs12 is not None
    assert parsed.pkcs12.encryptions == ("none", RC2_40, "none", "PBES2/PBKDF2-HMAC-SHA1/AES-128-CBC")
    assert parsed.pkcs12.friendly_names == ("first", "ca", "second", "third")


def test_nested_safe_contents_bags_are_flattened(
    ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate], leaf: x509.Certificate
) -> None:
    _, ca_cert = ca
    inner = asn1.sequence(_cert_bag(ca_cert, "inner"))
    nested = asn1.sequence(
        _cert_bag(leaf, "outer"), _bag(6, inner), _bag(5, asn1.sequence())
    )  # + a secretBag
    parsed = parse_pkcs12(_pfx(nested), "nested.p12", [])
    assert [(c.friendly_name, c.cert) for c in parsed.certs] == [("outer", leaf), ("inner", ca_cert)]


def test_friendly_name_terminators_are_dropped() -> None:
    parsed = parse_pkcs12(_vector("no-password.p12"), "n.p12", [None])
    assert [k.friendly_name for k in parsed.keys] == ["6BC162DA"]  # stored as "6BC162DA\0"


# ---- PBMAC1 (RFC 9579) ----


def _pbmac1(data: bytes, password: bytes, iterations: int = 2048, tamper: bool = False) -> bytes:
    version, auth_safe = asn1.parse(data).children()[:2]
    content = asn1.decode_octet_string(auth_safe.children()[1].children()[0])
    salt = b"pbmac1 salt 0123"
    key = PBKDF2HMAC(hashes.SHA256(), 32, salt, min(iterations, 2048)).derive(password)
    value = hmac.new(key, content + (b"x" if tamper else b""), hashlib.sha512).digest()
    kdf = asn1.sequence(
        asn1.oid("1.2.840.113549.1.5.12"),
        asn1.sequence(
            asn1.octet_string(salt),
            asn1.integer(iterations),
            asn1.integer(32),
            asn1.sequence(asn1.oid("1.2.840.113549.2.9"), asn1.null()),
        ),
    )
    scheme = asn1.sequence(asn1.oid("1.2.840.113549.2.11"), asn1.null())
    algorithm = asn1.sequence(asn1.oid("1.2.840.113549.1.5.14"), asn1.sequence(kdf, scheme))
    mac = asn1.sequence(
        asn1.sequence(algorithm, asn1.octet_string(value)), asn1.octet_string(b"ignored"), asn1.integer(1)
    )
    return asn1.sequence(version.encoded, auth_safe.encoded, mac)


def test_pbmac1_files_open_like_cryptography_opens_them() -> None:
    data = _pbmac1(_vector("cert-key-aes256cbc.p12"), b"cryptography")
    assert _load_pkcs12(data, b"cryptography").key is not None
    with pytest.raises(ValueError):  # proves cryptography checks the PBMAC1 value we computed
        _load_pkcs12(
            _pbmac1(_vector("cert-key-aes256cbc.p12"), b"cryptography", tamper=True), b"cryptography"
        )
    parsed = parse_pkcs12(data, "pbmac1.p12", [b"nope", b"cryptography"])
    assert parsed.findings == () and (len(parsed.certs), len(parsed.keys)) == (1, 1)
    assert parsed.pkcs12 is not None
    assert parsed.pkcs12.mac_algorithm == "PBMAC1/PBKDF2-HMAC-SHA256/HMAC-SHA512"
    assert parsed.pkcs12.mac_iterations == 2048
    assert _only_finding(parse_pkcs12(data, "pbmac1.p12", [b"nope"]))[0] == "password-required"
    hostile = _pbmac1(_vector("cert-key-aes256cbc.p12"), b"cryptography", iterations=2**31 - 1)
    assert "declares 2147483647 KDF iterations" in _only_finding(parse_pkcs12(hostile, "h.p12", [b"x"]))[1]


# ---- RSA consistency ----


def _tampered(key: rsa.RSAPrivateKey, **changes: int) -> rsa.RSAPrivateKey:
    n = key.private_numbers()
    fields = {"p": n.p, "q": n.q, "d": n.d, "dmp1": n.dmp1, "dmq1": n.dmq1, "iqmp": n.iqmp}
    fields.update(changes)
    return rsa.RSAPrivateNumbers(**fields, public_numbers=n.public_numbers).private_key(
        unsafe_skip_rsa_key_validation=True
    )


def test_rsa_consistency_check(
    rsa_key: rsa.RSAPrivateKey, ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate]
) -> None:
    n = rsa_key.private_numbers()
    assert check_rsa_consistency(rsa_key) is None
    assert check_rsa_consistency(ca[0]) is None
    assert (
        check_rsa_consistency(_tampered(rsa_key, dmp1=n.dmp1 ^ 2)) == "its CRT exponent dP is not d mod (p-1)"
    )
    assert (
        check_rsa_consistency(_tampered(rsa_key, dmq1=n.dmq1 ^ 2)) == "its CRT exponent dQ is not d mod (q-1)"
    )
    assert check_rsa_consistency(_tampered(rsa_key, iqmp=n.iqmp ^ 2)) == (
        "its CRT coefficient qInv is not the inverse of q mod p"
    )
    assert check_rsa_consistency(_tampered(rsa_key, d=n.d ^ 2)) == "e*d is not 1 modulo lcm(p-1, q-1)"
    with pytest.raises(ValueError, match="p\\*q must equal modulus"):  # cryptography itself refuses this one
        _tampered(rsa_key, p=n.p + 2)


def test_inconsistent_rsa_key_in_a_pfx_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    bad = _tampered(rsa_key, dmp1=rsa_key.private_numbers().dmp1 ^ 2)
    pfx = _pfx(asn1.sequence(_bag(1, _pkcs8(bad))))
    assert _only_finding(parse_pkcs12(pfx, "crt.p12", [])) == (
        "unreadable-input",
        "crt.p12: not a readable PKCS#12 file "
        "(private key 1 is inconsistent: its CRT exponent dP is not d mod (p-1)).",
    )


# ---- RC2 (RFC 2268) ----


# ---- files made by the OpenSSL CLI ----


@pytest.fixture(scope="module")
def pem_files(
    tmp_path_factory: pytest.TempPathFactory,
    rsa_key: rsa.RSAPrivateKey,
    leaf: x509.Certificate,
    ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
) -> Path:
    directory = tmp_path_factory.mktemp("openssl")
    (directory / "key.pem").write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (directory / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (directory / "ca.pem").write_bytes(ca[1].public_bytes(serialization.Encoding.PEM))
    return directory


def _openssl_export(directory: Path, password: bytes, *args: str) -> bytes:
    out = directory / "out.p12"
    assert OPENSSL is not None
    subprocess.run(
        [
            OPENSSL,
            "pkcs12",
            "-export",
            "-in",
            directory / "leaf.pem",
            "-inkey",
            directory / "key.pem",
            "-certfile",
            directory / "ca.pem",
            "-name",
            "exported",
            "-out",
            out,
            "-passout",
            b"pass:" + password,
            *args,
        ],
        check=True,
        capture_output=True,
    )
    return out.read_bytes()


@needs_openssl
@pytest.mark.parametrize(
    ("args", "mac", "encryptions"),
    [
        ((), "sha256", ("PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC",) * 2),
        (("-legacy",), "sha1", (RC2_40, TDES)),
        (
            ("-legacy", "-certpbe", "PBE-SHA1-RC4-40", "-keypbe", "PBE-SHA1-RC4-128"),
            "sha1",
            ("pbeWithSHA1And40BitRC4", "pbeWithSHA1And128BitRC4"),
        ),
        (
            ("-legacy", "-certpbe", "PBE-SHA1-RC2-128", "-keypbe", "PBE-SHA1-2DES", "-macalg", "sha224"),
            "sha224",
            ("pbeWithSHA1And128BitRC2-CBC", "pbeWithSHA1And2-KeyTripleDES-CBC"),
        ),
        (
            ("-certpbe", "AES-192-CBC", "-keypbe", "AES-128-CBC", "-macalg", "sha384"),
            "sha384",
            ("PBES2/PBKDF2-HMAC-SHA256/AES-192-CBC", "PBES2/PBKDF2-HMAC-SHA256/AES-128-CBC"),
        ),
        (
            ("-certpbe", "PBE-SHA1-3DES", "-keypbe", "DES-EDE3-CBC", "-macalg", "sha512", "-iter", "5000"),
            "sha512",
            (TDES, "PBES2/PBKDF2-HMAC-SHA256/DES-EDE3-CBC"),
        ),
        (("-certpbe", "NONE", "-keypbe", "NONE"), "sha256", ("none", "none")),
        (("-nomac",), None, ("none", "PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC")),  # -nomac leaves certs plain
    ],
)
def test_openssl_made_files(
    pem_files: Path,
    rsa_key: rsa.RSAPrivateKey,
    leaf: x509.Certificate,
    ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
    args: tuple[str, ...],
    mac: str | None,
    encryptions: tuple[str, ...],
) -> None:
    data = _openssl_export(pem_files, b"s3cret", *args)
    parsed = parse_pkcs12(data, "openssl.p12", [b"wrong", b"s3cret"])
    assert parsed.findings == ()
    assert [c.cert for c in parsed.certs] == [leaf, ca[1]]
    assert [c.friendly_name for c in parsed.certs] == ["exported", None]
    assert [(k.friendly_name, _pkcs8(k.key)) for k in parsed.keys] == [("exported", _pkcs8(rsa_key))]
    assert parsed.pkcs12 is not None
    assert (parsed.pkcs12.mac_algorithm, parsed.pkcs12.encryptions) == (mac, encryptions)


@needs_openssl
@pytest.mark.parametrize(
    ("made_with", "opened_with"),
    [
        ("café".encode(), "café".encode()),  # UTF-8, as OpenSSL 1.1+ and Windows encode it
        (b"caf\xe9", b"caf\xe9"),  # not UTF-8: OpenSSL widens each byte
        ("cafÃ©".encode(), "café".encode()),  # what OpenSSL 1.0 made of the UTF-8 bytes of "café"
    ],
)
def test_non_ascii_passwords(pem_files: Path, made_with: bytes, opened_with: bytes) -> None:
    data = _openssl_export(pem_files, made_with, "-legacy")
    assert parse_pkcs12(data, "p.p12", [opened_with]).findings == ()
