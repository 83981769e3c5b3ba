"""Write PKCS#12 / PFX files (RFC 7292) in the shapes Azure Key Vault, Windows and OpenSSL produce.

cryptography's serializer refuses the empty password AKV uses for the secrets it stores, so the DER is
written here with certpipe.asn1. Profiles:

* AKV: what AKV returns as a certificate's secret: empty password (BMPString "" = 00 00), the key in a
  pkcs8ShroudedKeyBag first, then the certificates in an encryptedData safe, both
  pbeWithSHAAnd3-KeyTripleDES-CBC, HMAC-SHA1 MAC with a 20-byte salt, localKeyID 01 00 00 00.
* COMPAT: the same algorithms and layout with a real password (what Windows Server 2016 opens).
* MODERN: PBES2/PBKDF2-HMAC-SHA256/AES-256-CBC and an HMAC-SHA256 MAC, laid out as OpenSSL 3 does.
* LEGACY: RC2-40 certificate safe, 3DES key bag, HMAC-SHA1 MAC (OpenSSL 1.x `pkcs12 -export`).

Salts and IVs: with the empty password they are fixed (it protects nothing), so every key derivation
is computed once per process and cached; with a password and `salt_seed` they are derived from the
seed and the content they protect (same input, same bytes); otherwise they come from os.urandom.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from .. import asn1
from ..pkcs12crypto import pkcs12_kdf, rc2_cbc_encrypt


class PfxProfile(enum.StrEnum):
    """Which algorithms and layout build_pfx writes."""

    AKV = "akv"
    COMPAT = "compat"
    MODERN = "modern"
    LEGACY = "legacy"


# RFC 7292 / RFC 5652 / RFC 8018 object identifiers.
_DATA = "1.2.840.113549.1.7.1"
_ENCRYPTED_DATA = "1.2.840.113549.1.7.6"
_SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2"
_CERT_BAG = "1.2.840.113549.1.12.10.1.3"
_X509_CERTIFICATE = "1.2.840.113549.1.9.22.1"
_FRIENDLY_NAME = "1.2.840.113549.1.9.20"
_LOCAL_KEY_ID = "1.2.840.113549.1.9.21"
_PBE_SHA1_3DES = "1.2.840.113549.1.12.1.3"
_PBE_SHA1_RC2_40 = "1.2.840.113549.1.12.1.6"
_PBES2 = "1.2.840.113549.1.5.13"
_PBKDF2 = "1.2.840.113549.1.5.12"
_HMAC_SHA256 = "1.2.840.113549.2.9"
_AES_256_CBC = "2.16.840.1.101.3.4.1.42"
_MAC_DIGESTS = {"sha1": "1.3.14.3.2.26", "sha256": "2.16.840.1.101.3.4.2.1"}

_WINDOWS_LOCAL_KEY_ID = b"\x01\x00\x00\x00"  # what AKV and Windows write for the one key in a PFX
_EMPTY_PASSWORD_SEED = b"certpipe pfx: the empty password protects nothing"


@dataclass(frozen=True, slots=True)
class _Shape:
    key_scheme: str  # "3des" or "aes256"
    cert_scheme: str  # "3des", "aes256" or "rc2-40"
    mac_digest: str
    key_first: bool  # AKV/Windows put the key safe first; OpenSSL puts the certificates first
    windows_key_id: bool  # localKeyID 01 00 00 00 rather than the leaf's SHA-1 (OpenSSL)
    mac_null_params: bool  # OpenSSL writes NULL parameters in the MAC digest AlgorithmIdentifier; AKV none
    mac_salt_size: int


_SHAPES = {
    PfxProfile.AKV: _Shape("3des", "3des", "sha1", True, True, False, 20),
    PfxProfile.COMPAT: _Shape("3des", "3des", "sha1", True, True, False, 20),
    PfxProfile.MODERN: _Shape("aes256", "aes256", "sha256", False, False, True, 8),
    PfxProfile.LEGACY: _Shape("3des", "rc2-40", "sha1", False, False, True, 8),
}


def _pbkdf2_sha256(password: bytes, salt: bytes, iterations: int, size: int) -> bytes:
    return PBKDF2HMAC(hashes.SHA256(), size, salt, iterations).derive(password)


# Only empty-password derivations are cached (their salts are fixed): real passwords never sit in a cache.
_cached_pkcs12_kdf = functools.lru_cache(maxsize=64)(pkcs12_kdf)
_cached_pbkdf2_sha256 = functools.lru_cache(maxsize=16)(_pbkdf2_sha256)


def _pad(data: bytes, block: int) -> bytes:
    """PKCS#7 padding (RFC 5652 6.3)."""
    count = block - len(data) % block
    return data + bytes([count]) * count


class _Protector:
    """Salts, IVs and key derivations for one build, cached when the password is empty."""

    def __init__(self, password: bytes, salt_seed: bytes | None, iterations: int) -> None:
        try:
            # RFC 7292 B.1: the PKCS#12 KDF takes the password as a BMPString with a zero terminator.
            self.bmp = password.decode("utf-8").encode("utf-16-be") + b"\x00\x00"
        except UnicodeDecodeError:
            raise ValueError("a PFX password must be UTF-8 text") from None
        self.raw = password  # PBKDF2 takes the UTF-8 octets (RFC 8018 3)
        self.empty = not password
        self.seed = _EMPTY_PASSWORD_SEED if self.empty else salt_seed
        self.iterations = iterations

    def salt(self, purpose: str, size: int, content: bytes) -> bytes:
        """A salt or IV: fixed (empty password), derived from the seed and content, or random."""
        if self.seed is None:
            return os.urandom(size)
        material = self.seed + b"\x00" + purpose.encode()
        if not self.empty:  # mix in the content so one seed never repeats an IV across inputs
            material += hashlib.sha256(content).digest()
        return hashlib.sha256(material).digest()[:size]

    def pkcs12_kdf(self, salt: bytes, purpose: int, size: int, digest: str) -> bytes:
        kdf: Callable[..., bytes] = _cached_pkcs12_kdf if self.empty else pkcs12_kdf
        return kdf(self.bmp, salt, self.iterations, purpose, size, digest)

    def pbkdf2(self, salt: bytes, size: int) -> bytes:
        kdf: Callable[..., bytes] = _cached_pbkdf2_sha256 if self.empty else _pbkdf2_sha256
        return kdf(self.raw, salt, self.iterations, size)

    def encrypt(self, scheme: str, plaintext: bytes, purpose: str) -> tuple[bytes, bytes]:
        """(AlgorithmIdentifier, ciphertext) for `plaintext` under `scheme`."""
        if scheme == "aes256":
            # PBES2 (RFC 8018 6.2) with PBKDF2-HMAC-SHA256 and AES-256-CBC, as OpenSSL 3 writes it.
            salt = self.salt(purpose, 16, plaintext)
            iv = self.salt(purpose + " iv", 16, plaintext)
            encryptor = Cipher(algorithms.AES(self.pbkdf2(salt, 32)), modes.CBC(iv)).encryptor()
            ciphertext = encryptor.update(_pad(plaintext, 16)) + encryptor.finalize()
            pbkdf2 = asn1.sequence(
                asn1.oid(_PBKDF2),
                asn1.sequence(
                    asn1.octet_string(salt),
                    asn1.integer(self.iterations),
                    asn1.sequence(asn1.oid(_HMAC_SHA256), asn1.null()),
                ),
            )
            params = asn1.sequence(pbkdf2, asn1.sequence(asn1.oid(_AES_256_CBC), asn1.octet_string(iv)))
            return asn1.sequence(asn1.oid(_PBES2), params), ciphertext
        # PKCS#12 PBE (RFC 7292 Appendix C): key and IV both come from the PKCS#12 KDF.
        salt = self.salt(purpose, 8, plaintext)
        iv = self.pkcs12_kdf(salt, 2, 8, "sha1")
        if scheme == "3des":
            encryptor = Cipher(TripleDES(self.pkcs12_kdf(salt, 1, 24, "sha1")), modes.CBC(iv)).encryptor()
            ciphertext = encryptor.update(_pad(plaintext, 8)) + encryptor.finalize()
            algorithm = _PBE_SHA1_3DES
        else:
            ciphertext = rc2_cbc_encrypt(self.pkcs12_kdf(salt, 1, 5, "sha1"), 40, iv, _pad(plaintext, 8))
            algorithm = _PBE_SHA1_RC2_40
        params = asn1.sequence(asn1.octet_string(salt), asn1.integer(self.iterations))
        return asn1.sequence(asn1.oid(algorithm), params), ciphertext

    def mac(self, shape: _Shape, auth_safe: bytes) -> bytes:
        """MacData (RFC 7292 4, 5.1) over the AuthenticatedSafe octets."""
        salt = self.salt("mac", shape.mac_salt_size, auth_safe)
        digest = shape.mac_digest
        key = self.pkcs12_kdf(salt, 3, hashlib.new(digest).digest_size, digest)
        value = hmac.new(key, auth_safe, digest).digest()
        algorithm = asn1.oid(_MAC_DIGESTS[digest]) + (asn1.null() if shape.mac_null_params else b"")
        return asn1.sequence(
            asn1.sequence(asn1.sequence(algorithm), asn1.octet_string(value)),
            asn1.octet_string(salt),
            asn1.integer(self.iterations),
        )


def _attributes(friendly_name: str | None, local_key_id: bytes) -> bytes:
    """bagAttributes: localKeyID and, if given, friendlyName (PKCS #9, RFC 2985 5.5.1-5.5.2)."""
    attributes = [asn1.sequence(asn1.oid(_LOCAL_KEY_ID), asn1.set_of(asn1.octet_string(local_key_id)))]
    if friendly_name is not None:
        attributes.append(
            asn1.sequence(asn1.oid(_FRIENDLY_NAME), asn1.set_of(asn1.bmp_string(friendly_name)))
        )
    return asn1.set_of(*attributes)


def _content_info(content_type: str, content: bytes) -> bytes:
    """ContentInfo (RFC 5652 3) with [0] EXPLICIT content."""
    return asn1.sequence(asn1.oid(content_type), asn1.explicit(0, content))


def build_pfx(
    key: PrivateKeyTypes,
    certs: Sequence[x509.Certificate],
    *,
    friendly_name: str | None,
    password: bytes = b"",
    profile: PfxProfile = PfxProfile.AKV,
    iterations: int = 2000,
    salt_seed: bytes | None = None,
) -> bytes:
    """A PFX holding `key` and `certs` (leaf first, then its chain) in the given profile's shape."""
    profile = PfxProfile(profile)
    if not isinstance(password, bytes):
        raise TypeError("password must be bytes")
    if profile is PfxProfile.AKV and password:
        raise ValueError(
            "the akv profile has the empty password AKV uses; use the compat profile for a password"
        )
    if not certs:
        raise ValueError("a PFX needs at least the leaf certificate")
    if iterations < 1:
        raise ValueError("iterations must be positive")
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != certs[0].public_key().public_bytes(*spki):
        raise ValueError("the key does not belong to the first certificate")

    shape = _SHAPES[profile]
    protector = _Protector(password, salt_seed, iterations)
    ders = [cert.public_bytes(serialization.Encoding.DER) for cert in certs]
    local_key_id = _WINDOWS_LOCAL_KEY_ID if shape.windows_key_id else hashlib.sha1(ders[0]).digest()
    attributes = _attributes(friendly_name, local_key_id)

    pkcs8 = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_algorithm, key_ciphertext = protector.encrypt(shape.key_scheme, pkcs8, "key bag")
    shrouded = asn1.sequence(key_algorithm, asn1.octet_string(key_ciphertext))  # RFC 5958 3
    key_bag = asn1.sequence(asn1.oid(_SHROUDED_KEY_BAG), asn1.explicit(0, shrouded), attributes)
    key_safe = _content_info(_DATA, asn1.octet_string(asn1.sequence(key_bag)))

    cert_bags = [
        asn1.sequence(
            asn1.oid(_CERT_BAG),
            asn1.explicit(
                0, asn1.sequence(asn1.oid(_X509_CERTIFICATE), asn1.explicit(0, asn1.octet_string(der)))
            ),
            *([attributes] if index == 0 else []),
        )
        for index, der in enumerate(ders)
    ]
    cert_algorithm, cert_ciphertext = protector.encrypt(
        shape.cert_scheme, asn1.sequence(*cert_bags), "cert safe"
    )
    encrypted_data = asn1.sequence(  # RFC 5652 8: version 0, EncryptedContentInfo
        asn1.integer(0),
        asn1.sequence(asn1.oid(_DATA), cert_algorithm, asn1.implicit(0, cert_ciphertext)),
    )
    cert_safe = _content_info(_ENCRYPTED_DATA, encrypted_data)

    auth_safe = asn1.sequence(*((key_safe, cert_safe) if shape.key_first else (cert_safe, key_safe)))
    return asn1.sequence(
        asn1.integer(3),
        _content_info(_DATA, asn1.octet_string(auth_safe)),
        protector.mac(shape, auth_safe),
    )
