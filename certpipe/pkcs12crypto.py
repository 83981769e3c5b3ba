"""PKCS#12's own key derivation (RFC 7292 B.2) and RC2 (RFC 2268), shared by the reader and the writer.

cryptography has neither: its RC2 takes only 128-bit keys, and PKCS#12 files use 40-bit ones.
The KDF runs in OpenSSL's libcrypto (PKCS12_key_gen_uni) when the platform has one: a 2,000-round
derivation costs ~0.3 ms there and ~1.2 ms in Python, and a batch of PFX files does thousands.
The Python code is the fallback and the reference; the two are checked against each other on load.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hashlib
import struct
from collections.abc import Callable

HASH_BLOCK = {"sha1": 64, "sha224": 64, "sha256": 64, "sha384": 128, "sha512": 128}


def pkcs12_kdf(password: bytes, salt: bytes, iterations: int, purpose: int, size: int, digest: str) -> bytes:
    """RFC 7292 Appendix B.2: `size` bytes for purpose 1 (key), 2 (IV) or 3 (MAC key)."""
    native = _native_kdf()
    if native is not None:
        out = native(password, salt, iterations, purpose, size, digest)
        if out is not None:
            return out
    return python_pkcs12_kdf(password, salt, iterations, purpose, size, digest)


def native_kdf_available() -> bool:
    """Whether libcrypto's KDF is in use (it is about twice as fast as cryptography's own)."""
    return _native_kdf() is not None


NativeKdf = Callable[[bytes, bytes, int, int, int, str], "bytes | None"]


@functools.cache
def _native_kdf() -> NativeKdf | None:
    """OpenSSL's PKCS12_key_gen_uni through ctypes, or None when no libcrypto is usable."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
        gen = lib.PKCS12_key_gen_uni
        by_name = lib.EVP_get_digestbyname
    except (OSError, AttributeError):
        return None
    gen.argtypes = [
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_void_p,
    ]
    gen.restype = ctypes.c_int
    by_name.argtypes = [ctypes.c_char_p]
    by_name.restype = ctypes.c_void_p
    digests = {name: by_name(name.encode()) for name in HASH_BLOCK}

    def kdf(
        password: bytes, salt: bytes, iterations: int, purpose: int, size: int, digest: str
    ) -> bytes | None:
        md = digests.get(digest)
        if not md or size <= 0:
            return None
        out = ctypes.create_string_buffer(size)
        if gen(password or None, len(password), salt, len(salt), purpose, iterations, size, out, md) != 1:
            return None
        return out.raw

    # Known answers before trusting it; an input OpenSSL declines (empty salt and password) falls back.
    probes = (
        ("pw".encode("utf-16-be") + b"\x00\x00", b"saltsalt", 3, 1, 24, "sha1"),
        (b"", b"ab", 2, 3, 32, "sha256"),
    )
    if any(kdf(*case) != python_pkcs12_kdf(*case) for case in probes):
        return None
    return kdf


def python_pkcs12_kdf(
    password: bytes, salt: bytes, iterations: int, purpose: int, size: int, digest: str
) -> bytes:
    """The RFC 7292 B.2 derivation in Python (the reference, and the fallback without libcrypto)."""
    new = getattr(hashlib, digest)
    u = new().digest_size
    v = HASH_BLOCK[digest]

    def stretch(octets: bytes) -> bytes:
        length = v * -(-len(octets) // v)
        return (octets * (length // len(octets) + 1))[:length] if octets else b""

    d = bytes([purpose]) * v
    i = bytearray(stretch(salt) + stretch(password))
    out = b""
    while True:
        a: bytes = new(d + i).digest()
        for _ in range(iterations - 1):
            a = new(a).digest()
        out += a
        if len(out) >= size:
            return out[:size]
        b = int.from_bytes((a * (v // u + 1))[:v], "big") + 1
        for j in range(0, len(i), v):
            block = (int.from_bytes(i[j : j + v], "big") + b) & ((1 << (8 * v)) - 1)
            i[j : j + v] = block.to_bytes(v, "big")


# RC2 (RFC 2268), which cryptography offers only with 128-bit keys; PKCS#12 files use 40-bit ones.
PITABLE = bytes.fromhex(
    "d978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2"
    "179a59f587b34f1361456d8d09817d32bd8f40eb86b77b0bf09521225c6b4e82"
    "54d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626"
    "6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed7"
    "08e8eade8052eef784aa72ac354d6a2a961ad2715a1549744b9fd05e0418a4ec"
    "c2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731"
    "2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a9"
    "0d38341bab33ffb0bb480c5fb9b1cd2ec5f3db47e5a59c770aa62068fe7fc1ad"
)


def rc2_subkeys(key: bytes, effective_bits: int) -> tuple[int, ...]:
    """RFC 2268 section 2: the 64 16-bit subkeys for `key` at `effective_bits`."""
    t = len(key)
    t8 = (effective_bits + 7) // 8
    tm = 0xFF >> (8 * t8 - effective_bits)
    buf = bytearray(128)
    buf[:t] = key
    for i in range(t, 128):
        buf[i] = PITABLE[(buf[i - 1] + buf[i - t]) & 0xFF]
    buf[128 - t8] = PITABLE[buf[128 - t8] & tm]
    for i in range(127 - t8, -1, -1):
        buf[i] = PITABLE[buf[i + 1] ^ buf[i + t8]]
    return tuple(buf[2 * i] | buf[2 * i + 1] << 8 for i in range(64))


def rc2_cbc_decrypt(key: bytes, effective_bits: int, iv: bytes, data: bytes) -> bytes:
    """RC2-CBC decryption (RFC 2268 section 4), without unpadding."""
    k = rc2_subkeys(key, effective_bits)
    out = bytearray()
    previous = iv
    for offset in range(0, len(data), 8):
        block = data[offset : offset + 8]
        r0, r1, r2, r3 = struct.unpack("<4H", block)
        j = 63
        for round_ in range(16):  # five r-mixing rounds, r-mash, six r-mixing, r-mash, five r-mixing
            r3 = ((r3 >> 5) | (r3 << 11)) & 0xFFFF
            r3 = (r3 - k[j] - (r2 & r1) - (~r2 & r0)) & 0xFFFF
            r2 = ((r2 >> 3) | (r2 << 13)) & 0xFFFF
            r2 = (r2 - k[j - 1] - (r1 & r0) - (~r1 & r3)) & 0xFFFF
            r1 = ((r1 >> 2) | (r1 << 14)) & 0xFFFF
            r1 = (r1 - k[j - 2] - (r0 & r3) - (~r0 & r2)) & 0xFFFF
            r0 = ((r0 >> 1) | (r0 << 15)) & 0xFFFF
            r0 = (r0 - k[j - 3] - (r3 & r2) - (~r3 & r1)) & 0xFFFF
            j -= 4
            if round_ in (4, 10):
                r3 = (r3 - k[r2 & 63]) & 0xFFFF
                r2 = (r2 - k[r1 & 63]) & 0xFFFF
                r1 = (r1 - k[r0 & 63]) & 0xFFFF
                r0 = (r0 - k[r3 & 63]) & 0xFFFF
        plain = struct.pack("<4H", r0, r1, r2, r3)
        out += bytes(a ^ b for a, b in zip(plain, previous, strict=True))
        previous = block
    return bytes(out)


def rc2_cbc_encrypt(key: bytes, effective_bits: int, iv: bytes, data: bytes) -> bytes:
    """RC2-CBC encryption (RFC 2268 section 3) of already padded data."""
    k = rc2_subkeys(key, effective_bits)
    out = bytearray()
    previous = iv
    for offset in range(0, len(data), 8):
        block = bytes(a ^ b for a, b in zip(data[offset : offset + 8], previous, strict=True))
        r0, r1, r2, r3 = struct.unpack("<4H", block)
        j = 0
        for round_ in range(16):  # five mixing rounds, mash, six mixing, mash, five mixing
            r0 = (r0 + k[j] + (r3 & r2) + (~r3 & r1)) & 0xFFFF
            r0 = ((r0 << 1) | (r0 >> 15)) & 0xFFFF
            r1 = (r1 + k[j + 1] + (r0 & r3) + (~r0 & r2)) & 0xFFFF
            r1 = ((r1 << 2) | (r1 >> 14)) & 0xFFFF
            r2 = (r2 + k[j + 2] + (r1 & r0) + (~r1 & r3)) & 0xFFFF
            r2 = ((r2 << 3) | (r2 >> 13)) & 0xFFFF
            r3 = (r3 + k[j + 3] + (r2 & r1) + (~r2 & r0)) & 0xFFFF
            r3 = ((r3 << 5) | (r3 >> 11)) & 0xFFFF
            j += 4
            if round_ in (4, 10):
                r0 = (r0 + k[r3 & 63]) & 0xFFFF
                r1 = (r1 + k[r0 & 63]) & 0xFFFF
                r2 = (r2 + k[r1 & 63]) & 0xFFFF
                r3 = (r3 + k[r2 & 63]) & 0xFFFF
        previous = struct.pack("<4H", r0, r1, r2, r3)
        out += previous
    return bytes(out)
