"""The shared PKCS#12 primitives: the RFC 7292 B.2 KDF (native and Python) and RC2 (RFC 2268)."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import RC2
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from certpipe import pkcs12crypto

RC2_VECTORS = [  # RFC 2268 section 5: key, effective bits, plaintext, ciphertext
    ("0000000000000000", 63, "0000000000000000", "ebb773f993278eff"),
    ("ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"),
    ("3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"),
    ("88", 64, "0000000000000000", "61a8a244adacccf0"),
    ("88bca90e90875a", 64, "0000000000000000", "6ccf4308974c267f"),
    ("88bca90e90875a7f0f79c384627bafb2", 64, "0000000000000000", "1a807d272bbe5db1"),
    ("88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"),
    (
        "88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e",
        129,
        "0000000000000000",
        "5b78d3a43dfff1f1",
    ),
]


@pytest.mark.parametrize(("key", "bits", "plain", "cipher"), RC2_VECTORS)
def test_rc2_round_trips_the_rfc2268_vectors(key: str, bits: int, plain: str, cipher: str) -> None:
    k, p, c = bytes.fromhex(key), bytes.fromhex(plain), bytes.fromhex(cipher)
    assert pkcs12crypto.rc2_cbc_encrypt(k, bits, bytes(8), p) == c
    assert pkcs12crypto.rc2_cbc_decrypt(k, bits, bytes(8), c) == p


def test_rc2_128_agrees_with_cryptography_both_ways() -> None:
    rng = random.Random(2268)
    for _ in range(20):
        key, iv, data = rng.randbytes(16), rng.randbytes(8), rng.randbytes(64)
        encryptor = Cipher(RC2(key), modes.CBC(iv)).encryptor()
        theirs = encryptor.update(data) + encryptor.finalize()
        assert pkcs12crypto.rc2_cbc_encrypt(key, 128, iv, data) == theirs
        assert pkcs12crypto.rc2_cbc_decrypt(key, 128, iv, theirs) == data


def test_pkcs12_kdf_matches_openssl() -> None:
    # Known answer from OpenSSL 3.0's PKCS12_key_gen_uni("pw", salt "12345678", id 1, 2000 iterations, SHA-1).
    bmp = "pw".encode("utf-16-be") + b"\x00\x00"
    for kdf in (pkcs12crypto.pkcs12_kdf, pkcs12crypto.python_pkcs12_kdf):
        got = kdf(bmp, b"12345678", 2000, 1, 24, "sha1")
        assert got.hex() == "1b9d9211d23ed63b5745dd1bc860451b480ad7b3c48bd58d"


@pytest.mark.parametrize("digest", ["sha1", "sha224", "sha256", "sha384", "sha512"])
@pytest.mark.parametrize(
    ("password", "salt"), [(b"", b""), (b"\x00\x00", b"s" * 8), (b"\x00p\x00w\x00\x00", b"x" * 70)]
)
def test_native_and_python_kdf_agree(digest: str, password: bytes, salt: bytes) -> None:
    for purpose, size in ((1, 32), (2, 16), (3, 64)):
        assert pkcs12crypto.pkcs12_kdf(password, salt, 5, purpose, size, digest) == (
            pkcs12crypto.python_pkcs12_kdf(password, salt, 5, purpose, size, digest)
        )
