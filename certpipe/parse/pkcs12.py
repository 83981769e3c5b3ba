"""Read PKCS#12 / PFX files (RFC 7292) bag by bag, so every key, certificate and friendly name is kept.

cryptography's `load_pkcs12` returns one key and hides the file's protection; this reader walks
PFX -> AuthenticatedSafe -> SafeContents -> SafeBags itself on top of certpipe.asn1, and uses
cryptography only for ciphers, PBKDF2 and loading the keys and certificates it finds.

Work is bounded before it is done: every iteration count the file shows is compared with
`max_iterations` before the first key derivation (a count hidden inside an encrypted safe is compared
before its own derivation), and the total across all derivations is capped too.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InternalError, UnsupportedAlgorithm
from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4, TripleDES
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from .. import asn1
from ..catalog import PASSWORD_REQUIRED, UNREADABLE_INPUT
from ..models import CertRecord, Finding, Format, KeyOrigin, KeyRecord, Parsed, Pkcs12Info, load_certificate
from ..pkcs12crypto import native_kdf_available, pkcs12_kdf, rc2_cbc_decrypt
from .common import LOAD_ERRORS, PASSWORD_HINT, check_certificate, tried_phrase
from .keycheck import check_rsa_consistency

DEFAULT_MAX_ITERATIONS = 2_000_000
_BUDGET_FACTOR = 8  # all derivations together may cost this many times the per-derivation limit
_RC2_MAX_BYTES = 256 * 1024
_DECRYPT_BUDGET = 32 * 1024 * 1024

# RFC 7292 / RFC 5652 object identifiers.
_DATA = "1.2.840.113549.1.7.1"
_SIGNED_DATA = "1.2.840.113549.1.7.2"
_ENVELOPED_DATA = "1.2.840.113549.1.7.3"
_ENCRYPTED_DATA = "1.2.840.113549.1.7.6"
_KEY_BAG = "1.2.840.113549.1.12.10.1.1"
_SHROUDED_KEY_BAG = "1.2.840.113549.1.12.10.1.2"
_CERT_BAG = "1.2.840.113549.1.12.10.1.3"
_SAFE_CONTENTS_BAG = "1.2.840.113549.1.12.10.1.6"
_X509_CERTIFICATE = "1.2.840.113549.1.9.22.1"
_FRIENDLY_NAME = "1.2.840.113549.1.9.20"
_LOCAL_KEY_ID = "1.2.840.113549.1.9.21"
_PBKDF2 = "1.2.840.113549.1.5.12"
_PBES2 = "1.2.840.113549.1.5.13"
_PBMAC1 = "1.2.840.113549.1.5.14"

# RFC 7292 Appendix C: PKCS#12 PBE schemes -> (name as OpenSSL prints it, cipher, key bytes).
_PKCS12_PBE = {
    "1.2.840.113549.1.12.1.1": ("pbeWithSHA1And128BitRC4", "rc4", 16),
    "1.2.840.113549.1.12.1.2": ("pbeWithSHA1And40BitRC4", "rc4", 5),
    "1.2.840.113549.1.12.1.3": ("pbeWithSHA1And3-KeyTripleDES-CBC", "3des", 24),
    "1.2.840.113549.1.12.1.4": ("pbeWithSHA1And2-KeyTripleDES-CBC", "3des", 16),
    "1.2.840.113549.1.12.1.5": ("pbeWithSHA1And128BitRC2-CBC", "rc2", 16),
    "1.2.840.113549.1.12.1.6": ("pbeWithSHA1And40BitRC2-CBC", "rc2", 5),
}
# PBES2 encryption schemes (RFC 8018 B.2, NIST CSOR) -> (name, cipher, key bytes).
_PBES2_CIPHERS = {
    "2.16.840.1.101.3.4.1.2": ("AES-128-CBC", "aes", 16),
    "2.16.840.1.101.3.4.1.22": ("AES-192-CBC", "aes", 24),
    "2.16.840.1.101.3.4.1.42": ("AES-256-CBC", "aes", 32),
    "1.2.840.113549.3.7": ("DES-EDE3-CBC", "3des", 24),
}
_BLOCK_BYTES = {"aes": 16, "3des": 8, "rc2": 8, "rc4": 0}
# MacData digests (RFC 7292 5.1 via RFC 8018 B.1) and PBKDF2 PRFs (RFC 8018 B.1.1-B.1.2).
_DIGESTS = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
_HMAC_PRFS = {
    "1.2.840.113549.2.7": "sha1",
    "1.2.840.113549.2.8": "sha224",
    "1.2.840.113549.2.9": "sha256",
    "1.2.840.113549.2.10": "sha384",
    "1.2.840.113549.2.11": "sha512",
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class _Limit(Exception):
    """The file asks for more key-derivation work than allowed; the message is for the user."""


class _Unsupported(Exception):
    """A well-formed structure this reader does not implement; the message names it."""


class _NoPassword(Exception):
    """No candidate password opened the file."""


class _WrongKey(Exception):
    """Decryption produced bad padding: the password (or key) is wrong."""


@dataclass(frozen=True, slots=True)
class _Secret:
    """One way of presenting a candidate password to the file."""

    bmp: bytes = field(repr=False)  # RFC 7292 B.1: BMPString with two trailing zero bytes (PKCS#12 KDF)
    raw: bytes = field(repr=False)  # the octets PBKDF2 takes (RFC 8018 and RFC 9579 use UTF-8)


def _secrets(passwords: Sequence[bytes | None]) -> tuple[_Secret, ...]:
    """Every encoding a candidate may have been used with, in the order to try them."""
    out: list[_Secret] = []
    for password in passwords:
        if not password:
            # OpenSSL semantics: no password is an empty KDF input, "" is the BMPString 00 00;
            # files made either way must open with either candidate.
            forms = [b"", b"\x00\x00"] if password is None else [b"\x00\x00", b""]
            variants = [_Secret(bmp, b"") for bmp in forms]
        else:
            variants = []
            with contextlib.suppress(UnicodeDecodeError):
                variants.append(_Secret(password.decode("utf-8").encode("utf-16-be") + b"\x00\x00", password))
            if not password.isascii():
                # OpenSSL before 1.1.0 widened each byte to a BMP character; its files still circulate.
                variants.append(
                    _Secret(password.decode("latin-1").encode("utf-16-be") + b"\x00\x00", password)
                )
        out.extend(v for v in variants if v not in out)
    return tuple(out)


def _distinct(secrets: Sequence[_Secret], *, pbkdf2: bool) -> list[_Secret]:
    """The secrets that differ in the form a scheme uses: PBKDF2 sees only the raw octets."""
    seen: set[bytes] = set()
    out = []
    for secret in secrets:
        form = secret.raw if pbkdf2 else secret.bmp
        if form not in seen:
            seen.add(form)
            out.append(secret)
    return out


@dataclass(frozen=True, slots=True)
class _Pbe:
    """An encryption scheme a safe or key bag declares, read (and its iterations checked) before use."""

    name: str
    iterations: int
    salt: bytes
    digest: str  # the PKCS#12 KDF hash, or the PBKDF2 PRF hash
    cipher: str  # "aes", "3des", "rc2" or "rc4"
    key_size: int
    iv: bytes | None  # PBES2 carries its IV; PKCS#12 PBE derives it (None)

    @property
    def derivations(self) -> int:
        return 1 if self.iv is not None or self.cipher == "rc4" else 2

    def check_ciphertext(self, ciphertext: bytes) -> None:
        block = _BLOCK_BYTES[self.cipher]
        if block and (not ciphertext or len(ciphertext) % block):
            raise ValueError(f"{self.name} ciphertext of {len(ciphertext)} bytes is not whole blocks")
        if self.cipher.startswith("rc2") and len(ciphertext) > _RC2_MAX_BYTES:
            # RC2 runs in Python (~3 s per MiB); real RC2 certificate safes are a few KiB.
            raise _Limit(
                f"an RC2-encrypted safe of {len(ciphertext)} bytes is above the {_RC2_MAX_BYTES}-byte limit"
            )

    def decrypt(self, ciphertext: bytes, secret: _Secret) -> bytes:
        """Decrypt and strictly unpad; _WrongKey if the padding is wrong."""
        if self.iv is not None:  # PBES2 (RFC 8018 6.2.2)
            kdf = PBKDF2HMAC(_HASHES[self.digest](), self.key_size, self.salt, self.iterations)
            key, iv = kdf.derive(secret.raw), self.iv
        else:  # PKCS#12 PBE (RFC 7292 Appendix B.2, C)
            key = pkcs12_kdf(secret.bmp, self.salt, self.iterations, 1, self.key_size, self.digest)
            iv = (
                b""
                if self.cipher == "rc4"
                else pkcs12_kdf(secret.bmp, self.salt, self.iterations, 2, 8, self.digest)
            )
        if self.cipher == "rc4":
            return Cipher(ARC4(key), None).decryptor().update(ciphertext)
        if self.cipher == "rc2":
            plain = rc2_cbc_decrypt(key, 8 * self.key_size, iv, ciphertext)
        else:
            if self.cipher == "3des":
                algorithm: algorithms.AES | TripleDES = TripleDES(key if len(key) == 24 else key + key[:8])
            else:
                algorithm = algorithms.AES(key)
            decryptor = Cipher(algorithm, modes.CBC(iv)).decryptor()
            plain = decryptor.update(ciphertext) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK_BYTES[self.cipher] or plain[-pad:] != bytes([pad]) * pad:
            raise _WrongKey
        return plain[:-pad]


@dataclass(frozen=True, slots=True)
class _Mac:
    """MacData (RFC 7292 4) or its PBMAC1 form (RFC 9579)."""

    name: str
    digest: str  # the HMAC hash
    expected: bytes = field(repr=False)
    salt: bytes
    iterations: int
    pbmac1_prf: str | None = None  # set for PBMAC1: the PBKDF2 PRF hash
    key_size: int = 0

    def verify(self, content: bytes, secret: _Secret) -> bool:
        if self.pbmac1_prf is not None:
            kdf = PBKDF2HMAC(_HASHES[self.pbmac1_prf](), self.key_size, self.salt, self.iterations)
            key = kdf.derive(secret.raw)
        else:
            size = hashlib.new(self.digest).digest_size
            key = pkcs12_kdf(secret.bmp, self.salt, self.iterations, 3, size, self.digest)
        return hmac.compare_digest(hmac.new(key, content, self.digest).digest(), self.expected)


@dataclass(frozen=True, slots=True)
class _Bag:
    kind: str  # "key", "shrouded" or "cert"
    friendly_name: str | None
    local_key_id: bytes | None
    payload: bytes = field(repr=False)  # key DER, certificate DER, or the shrouded key's ciphertext
    pbe: _Pbe | None = None
    encoded: bytes = field(default=b"", repr=False)  # a shrouded key's whole EncryptedPrivateKeyInfo


@dataclass(frozen=True, slots=True)
class _EncryptedSafe:
    pbe: _Pbe
    ciphertext: bytes = field(repr=False)


def _explicit0(tlv: asn1.Tlv, what: str) -> asn1.Tlv:
    """The single element inside a [0] EXPLICIT tag."""
    if not tlv.is_context(0) or not tlv.constructed:
        raise ValueError(f"{what}: expected [0], found {tlv.name}")
    inner = tlv.children()
    if len(inner) != 1:
        raise ValueError(f"{what}: [0] holds {len(inner)} elements, expected 1")
    return inner[0]


def _content_info(tlv: asn1.Tlv, what: str) -> tuple[str, asn1.Tlv | None]:
    """RFC 5652 3: (contentType, content) of a ContentInfo."""
    items = tlv.sequence(what, min_items=1, max_items=2)
    return asn1.decode_oid(items[0], f"{what} contentType"), (
        _explicit0(items[1], f"{what} content") if len(items) == 2 else None
    )


def _attributes(tlv: asn1.Tlv) -> tuple[str | None, bytes | None]:
    """friendlyName and localKeyId from a bag's attributes (RFC 7292 4.2, PKCS #9)."""
    name: str | None = None
    key_id: bytes | None = None
    for attribute in tlv.expect(asn1.SET, "bagAttributes").children():
        items = attribute.sequence("bag attribute", min_items=2, max_items=2)
        kind = asn1.decode_oid(items[0], "bag attribute type")
        values = items[1].expect(asn1.SET, "bag attribute values").children()
        if not values:
            continue
        if kind == _FRIENDLY_NAME:
            value = values[0]
            text = (
                asn1.decode_utf8_string(value, "friendlyName")
                if value.is_universal(asn1.UTF8_STRING)
                else asn1.decode_bmp_string(value, "friendlyName")
            )
            name = text.rstrip("\x00") or None  # some Windows and Java exports add a C terminator
        elif kind == _LOCAL_KEY_ID:
            key_id = asn1.decode_octet_string(values[0], "localKeyId")
    return name, key_id


class _Reader:
    """One parse of one file: the candidate passwords, the work budget and what was found."""

    def __init__(self, source: str, passwords: Sequence[bytes | None], max_iterations: int) -> None:
        self.source = source
        self.candidates = len(passwords)
        self.secrets = _secrets(passwords)
        self.chosen: _Secret | None = None
        self.max_iterations = max_iterations
        self.budget = max_iterations * _BUDGET_FACTOR
        self.spent = 0
        self.decrypted = 0  # bytes put through a cipher, over every candidate tried
        self.encryptions: list[str] = []
        self.iterations: list[int] = []
        self.names: list[str] = []
        self.certs: list[CertRecord] = []
        self.keys: list[KeyRecord] = []

    # ---- bounds ----

    def check(self, iterations: int, what: str) -> int:
        """Refuse an iteration count above the limit, before anything is derived with it."""
        if iterations < 1:
            raise ValueError(f"{what} iteration count {iterations} is not positive")
        if iterations > self.max_iterations:
            raise _Limit(
                f"{self.source}: PKCS#12 declares {iterations} KDF iterations, above the limit of "
                f"{self.max_iterations} (use --max-iterations)."
            )
        return iterations

    def spend(self, iterations: int) -> None:
        self.spent += iterations
        if self.spent > self.budget:
            raise _Limit(
                f"{self.source}: PKCS#12 needs more than {self.budget} KDF iterations in all, "
                f"above {_BUDGET_FACTOR} times the limit of {self.max_iterations} (use --max-iterations)."
            )

    # ---- structure ----

    def run(self, data: bytes) -> Parsed:
        if not data:
            raise ValueError("the file is empty")
        if data[0] != 0x30:
            raise ValueError("it does not start with a DER SEQUENCE")
        pfx = asn1.parse(data, ber=True).sequence("PFX", min_items=2, max_items=3)
        version = asn1.decode_integer(pfx[0], "PFX version")
        if version != 3:
            raise ValueError(f"PFX version is {version}, expected 3")
        kind, content = _content_info(pfx[1], "PFX authSafe")
        if kind == _SIGNED_DATA:
            raise _Unsupported("public-key integrity mode (signedData)")
        if kind != _DATA or content is None:
            raise ValueError(f"PFX authSafe has content type {kind}, expected data")
        auth_safe = asn1.decode_octet_string(content, "PFX authSafe content")
        mac = self.read_mac(pfx[2]) if len(pfx) == 3 else None
        safes = self.read_authenticated_safe(auth_safe)

        if mac is not None:
            for secret in _distinct(_recent_first(self.secrets), pbkdf2=mac.pbmac1_prf is not None):
                self.spend(mac.iterations)
                if mac.verify(auth_safe, secret):
                    self.chosen = secret
                    _remember(secret)
                    break
            else:
                raise _NoPassword
        for safe in safes:
            if isinstance(safe, _EncryptedSafe):
                self.note(safe.pbe)
                plain = self.decrypt(safe.pbe, safe.ciphertext, "SafeContents")
                self.take(self.read_safe_contents(asn1.parse(plain, ber=True)), plain_safe=False)
            else:
                self.take(safe, plain_safe=True)

        info = Pkcs12Info(
            mac_algorithm=mac.name if mac else None,
            mac_iterations=mac.iterations if mac else None,
            encryptions=tuple(self.encryptions),
            iterations=tuple(self.iterations),
            friendly_names=tuple(dict.fromkeys(self.names)),
        )
        return Parsed(self.source, Format.PKCS12, tuple(self.certs), tuple(self.keys), pkcs12=info)

    def read_mac(self, tlv: asn1.Tlv) -> _Mac:
        """MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }."""
        items = tlv.sequence("MacData", min_items=2, max_items=3)
        digest_info = items[0].sequence("MacData mac", min_items=2, max_items=2)
        algorithm = digest_info[0].sequence("MAC algorithm", min_items=1, max_items=2)
        oid = asn1.decode_oid(algorithm[0], "MAC algorithm")
        expected = asn1.decode_octet_string(digest_info[1], "MAC value")
        salt = asn1.decode_octet_string(items[1], "MAC salt")
        if oid == _PBMAC1:
            # RFC 9579 3: the PBKDF2 parameters carry salt and count; MacData's own are ignored.
            if len(algorithm) != 2:
                raise ValueError("PBMAC1 has no parameters")
            params = algorithm[1].sequence("PBMAC1-params", min_items=2, max_items=2)
            kdf = params[0].sequence("PBMAC1 keyDerivationFunc", min_items=2, max_items=2)
            if asn1.decode_oid(kdf[0], "PBMAC1 keyDerivationFunc") != _PBKDF2:
                raise _Unsupported("a PBMAC1 key derivation other than PBKDF2")
            pbkdf2_salt, iterations, key_size, prf = self.read_pbkdf2(kdf[1], "PBMAC1")
            scheme = params[1].sequence("PBMAC1 messageAuthScheme", min_items=1, max_items=2)
            scheme_oid = asn1.decode_oid(scheme[0], "PBMAC1 messageAuthScheme")
            if scheme_oid not in _HMAC_PRFS:
                raise _Unsupported(f"PBMAC1 with MAC algorithm {scheme_oid}")
            if key_size is None:
                raise ValueError("PBMAC1 PBKDF2 parameters lack the keyLength RFC 9579 requires")
            digest = _HMAC_PRFS[scheme_oid]
            name = f"PBMAC1/PBKDF2-HMAC-{prf.upper()}/HMAC-{digest.upper()}"
            mac = _Mac(name, digest, expected, pbkdf2_salt, iterations, prf, key_size)
        elif oid in _DIGESTS:
            iterations = asn1.decode_integer(items[2], "MAC iterations") if len(items) == 3 else 1
            self.check(iterations, "MAC")
            digest = _DIGESTS[oid]
            mac = _Mac(digest, digest, expected, salt, iterations)
        else:
            raise _Unsupported(f"a MAC with digest {oid}")
        if len(expected) != hashlib.new(mac.digest).digest_size:
            raise ValueError(f"the {mac.name} MAC value has {len(expected)} bytes")
        return mac

    def read_authenticated_safe(self, octets: bytes) -> list[_EncryptedSafe | list[_Bag]]:
        """AuthenticatedSafe ::= SEQUENCE OF ContentInfo (RFC 7292 5.1), read without decrypting."""
        safes: list[_EncryptedSafe | list[_Bag]] = []
        for info in asn1.parse(octets, ber=True).sequence("AuthenticatedSafe"):
            kind, content = _content_info(info, "AuthenticatedSafe ContentInfo")
            if content is None:
                raise ValueError("an AuthenticatedSafe ContentInfo has no content")
            if kind == _DATA:
                plain = asn1.decode_octet_string(content, "SafeContents")
                safes.append(self.read_safe_contents(asn1.parse(plain, ber=True)))
            elif kind == _ENCRYPTED_DATA:
                # RFC 5652 8: EncryptedData ::= SEQUENCE { version, EncryptedContentInfo, [1] attrs }
                items = content.sequence("EncryptedData", min_items=2, max_items=3)
                asn1.decode_integer(items[0], "EncryptedData version")
                eci = items[1].sequence("EncryptedContentInfo", min_items=2, max_items=3)
                pbe = self.read_pbe(eci[1], "encrypted safe")
                if len(eci) != 3 or not eci[2].is_context(0):
                    raise ValueError("an encrypted safe has no encryptedContent")
                ciphertext = asn1.octet_string_value(eci[2], "encryptedContent")
                pbe.check_ciphertext(ciphertext)
                safes.append(_EncryptedSafe(pbe, ciphertext))
            elif kind == _ENVELOPED_DATA:
                raise _Unsupported("public-key privacy mode (envelopedData)")
            else:
                raise ValueError(f"an AuthenticatedSafe ContentInfo has content type {kind}")
        return safes

    def read_safe_contents(self, tlv: asn1.Tlv) -> list[_Bag]:
        """SafeContents ::= SEQUENCE OF SafeBag (RFC 7292 4.2), nested safeContentsBags flattened."""
        bags: list[_Bag] = []
        for bag in tlv.sequence("SafeContents"):
            items = bag.sequence("SafeBag", min_items=2, max_items=3)
            bag_id = asn1.decode_oid(items[0], "SafeBag bagId")
            value = _explicit0(items[1], "SafeBag bagValue")
            name, key_id = _attributes(items[2]) if len(items) == 3 else (None, None)
            if bag_id == _KEY_BAG:
                bags.append(_Bag("key", name, key_id, value.expect(asn1.SEQUENCE, "keyBag").encoded))
            elif bag_id == _SHROUDED_KEY_BAG:
                # EncryptedPrivateKeyInfo (RFC 5958 3)
                epki = value.sequence("pkcs8ShroudedKeyBag", min_items=2, max_items=2)
                pbe = self.read_pbe(epki[0], "shrouded key bag")
                ciphertext = asn1.decode_octet_string(epki[1], "shrouded key")
                pbe.check_ciphertext(ciphertext)
                bags.append(_Bag("shrouded", name, key_id, ciphertext, pbe, value.encoded))
            elif bag_id == _CERT_BAG:
                cert_bag = value.sequence("certBag", min_items=2, max_items=2)
                if asn1.decode_oid(cert_bag[0], "certBag certId") == _X509_CERTIFICATE:
                    der = asn1.decode_octet_string(_explicit0(cert_bag[1], "certValue"), "certValue")
                    bags.append(_Bag("cert", name, key_id, der))
            elif bag_id == _SAFE_CONTENTS_BAG:
                bags.extend(self.read_safe_contents(value))
            # crlBag, secretBag and unknown bags hold nothing certpipe uses (RFC 7292 4.2.4-4.2.6).
        return bags

    def read_pbe(self, tlv: asn1.Tlv, what: str) -> _Pbe:
        """An encryption AlgorithmIdentifier: PKCS#12 PBE (RFC 7292 C) or PBES2 (RFC 8018 A.4)."""
        items = tlv.sequence(f"{what} algorithm", min_items=1, max_items=2)
        oid = asn1.decode_oid(items[0], f"{what} algorithm")
        if len(items) != 2:
            raise ValueError(f"{what} algorithm has no parameters")
        if oid in _PKCS12_PBE:
            name, cipher, key_size = _PKCS12_PBE[oid]
            params = items[1].sequence("pkcs-12PbeParams", min_items=2, max_items=2)
            salt = asn1.decode_octet_string(params[0], "PBE salt")
            iterations = self.check(asn1.decode_integer(params[1], "PBE iterations"), what)
            return _Pbe(name, iterations, salt, "sha1", cipher, key_size, None)
        if oid != _PBES2:
            raise _Unsupported(f"encryption algorithm {oid}")
        params = items[1].sequence("PBES2-params", min_items=2, max_items=2)
        kdf = params[0].sequence("PBES2 keyDerivationFunc", min_items=2, max_items=2)
        kdf_oid = asn1.decode_oid(kdf[0], "PBES2 keyDerivationFunc")
        if kdf_oid != _PBKDF2:
            raise _Unsupported(f"PBES2 with key derivation {kdf_oid}")
        salt, iterations, declared_size, prf = self.read_pbkdf2(kdf[1], what)
        scheme = params[1].sequence("PBES2 encryptionScheme", min_items=2, max_items=2)
        scheme_oid = asn1.decode_oid(scheme[0], "PBES2 encryptionScheme")
        if scheme_oid not in _PBES2_CIPHERS:
            raise _Unsupported(f"PBES2 with cipher {scheme_oid}")
        cipher_name, cipher, size = _PBES2_CIPHERS[scheme_oid]
        if declared_size is not None and declared_size != size:
            raise ValueError(f"PBKDF2 keyLength {declared_size} does not fit {cipher_name}")
        iv = asn1.decode_octet_string(scheme[1], f"{cipher_name} IV")
        if len(iv) != _BLOCK_BYTES[cipher]:
            raise ValueError(f"{cipher_name} IV has {len(iv)} bytes")
        return _Pbe(f"PBES2/PBKDF2-HMAC-{prf.upper()}/{cipher_name}", iterations, salt, prf, cipher, size, iv)

    def read_pbkdf2(self, tlv: asn1.Tlv, what: str) -> tuple[bytes, int, int | None, str]:
        """PBKDF2-params (RFC 8018 A.2): (salt, iterations, keyLength or None, PRF hash)."""
        items = tlv.sequence("PBKDF2-params", min_items=2, max_items=4)
        if not items[0].is_universal(asn1.OCTET_STRING):
            raise _Unsupported("a PBKDF2 salt from otherSource")
        salt = asn1.decode_octet_string(items[0], "PBKDF2 salt")
        iterations = self.check(asn1.decode_integer(items[1], "PBKDF2 iterations"), what)
        rest = list(items[2:])
        key_size: int | None = None
        if rest and rest[0].is_universal(asn1.INTEGER):
            key_size = asn1.decode_integer(rest.pop(0), "PBKDF2 keyLength")
            if not 0 < key_size <= 64:
                raise ValueError(f"PBKDF2 keyLength {key_size} is out of range")
        prf = "sha1"  # DEFAULT algid-hmacWithSHA1
        if rest:
            prf_items = rest.pop(0).sequence("PBKDF2 prf", min_items=1, max_items=2)
            prf_oid = asn1.decode_oid(prf_items[0], "PBKDF2 prf")
            if prf_oid not in _HMAC_PRFS:
                raise _Unsupported(f"PBKDF2 with PRF {prf_oid}")
            prf = _HMAC_PRFS[prf_oid]
        if rest:
            raise ValueError("PBKDF2-params has unexpected elements")
        return salt, iterations, key_size, prf

    # ---- decryption and results ----

    def note(self, pbe: _Pbe) -> None:
        self.encryptions.append(pbe.name)
        self.iterations.append(pbe.iterations)

    def decrypt(self, pbe: _Pbe, ciphertext: bytes, what: str) -> bytes:
        """Decrypt with the password that opened the MAC (or the first that works) into one element."""
        order = (
            self.secrets
            if self.chosen is None
            else (self.chosen, *(s for s in self.secrets if s != self.chosen))
        )
        for secret in _distinct(order, pbkdf2=pbe.iv is not None):
            self.spend(pbe.iterations * pbe.derivations)
            self.decrypted += len(ciphertext)
            if self.decrypted > _DECRYPT_BUDGET:
                raise _Limit(f"more than {_DECRYPT_BUDGET} bytes to decrypt across the candidate passwords")
            try:
                plain = pbe.decrypt(ciphertext, secret)
                asn1.parse(plain, ber=True).expect(asn1.SEQUENCE, what)
            except (_WrongKey, ValueError):
                continue
            self.chosen = secret
            return plain
        raise _NoPassword

    def take(self, bags: list[_Bag], *, plain_safe: bool) -> None:
        if plain_safe and any(b.kind != "shrouded" for b in bags):
            self.encryptions.append("none")
        for bag in bags:
            if bag.friendly_name is not None:
                self.names.append(bag.friendly_name)
            if bag.kind == "cert":
                self.add_cert(bag)
            elif bag.kind == "key":
                self.add_key(bag.payload, bag)
            elif bag.pbe is not None:  # a shrouded key bag
                self.note(bag.pbe)
                key = self.native_key(bag)
                if key is not None:
                    self.add_loaded_key(key, bag)
                else:
                    self.add_key(self.decrypt(bag.pbe, bag.payload, "PrivateKeyInfo"), bag)

    def native_key(self, bag: _Bag) -> PrivateKeyTypes | None:
        """The shrouded key decrypted by cryptography, or None to decrypt it here.

        Only without libcrypto's KDF, which is about twice as fast as cryptography's (0.6 against
        1.2 ms for a 2,000-round 3DES key bag); then only for the PKCS#12 PBE schemes with the
        password the MAC proved: cryptography encodes a non-empty password as the same BMPString, and
        anything it declines goes the Python way.
        """
        assert bag.pbe is not None
        secret = self.chosen
        if native_kdf_available() or secret is None or bag.pbe.iv is not None:
            return None
        if not secret.raw or not secret.raw.isascii():
            return None
        try:
            self.spend(bag.pbe.iterations * bag.pbe.derivations)
            return serialization.load_der_private_key(
                bag.encoded, secret.raw, unsafe_skip_rsa_key_validation=True
            )
        except (ValueError, TypeError, UnsupportedAlgorithm):
            return None

    def add_cert(self, bag: _Bag) -> None:
        try:
            der, cert = load_certificate(bag.payload)
            check_certificate(cert)
        except LOAD_ERRORS as exc:
            raise ValueError(f"certificate {len(self.certs) + 1} is not a valid X.509 certificate") from exc
        self.certs.append(CertRecord(der, cert, self.source, friendly_name=bag.friendly_name))

    def add_key(self, der: bytes, bag: _Bag) -> None:
        number = len(self.keys) + 1
        try:
            # The MAC (or the padding and structure checks) vouched for these bytes; the full RSA
            # check costs 38-264 ms per key, so only the arithmetic consistency is checked here.
            key = serialization.load_der_private_key(der, None, unsafe_skip_rsa_key_validation=True)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise ValueError(f"private key {number} is not a usable PKCS#8 key") from exc
        self.add_loaded_key(key, bag)

    def add_loaded_key(self, key: PrivateKeyTypes, bag: _Bag) -> None:
        number = len(self.keys) + 1
        reason = check_rsa_consistency(key)
        if reason is not None:
            raise ValueError(f"private key {number} is inconsistent: {reason}")
        spki = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.keys.append(KeyRecord(key, spki, self.source, KeyOrigin.PKCS12, friendly_name=bag.friendly_name))


# Candidates that opened earlier files are tried first, most recent first: an estate uses few
# passwords, and each wrong candidate costs a full KDF run on the MAC. The order never changes which
# candidate opens a file, only how many are tried before it.
_recent: list[_Secret] = []


def _recent_first(secrets: tuple[_Secret, ...]) -> tuple[_Secret, ...]:
    known = [s for s in _recent if s in secrets]
    return (*known, *(s for s in secrets if s not in known)) if known else secrets


def _remember(secret: _Secret) -> None:
    if secret in _recent:
        _recent.remove(secret)
    _recent.insert(0, secret)
    del _recent[16:]


def parse_pkcs12(
    data: bytes,
    source: str,
    passwords: Sequence[bytes | None],
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> Parsed:
    """Every certificate and key in a PKCS#12 file, or one finding saying why it could not be read."""
    if not isinstance(data, bytes):
        raise TypeError("data must be bytes")
    if any(p is not None and not isinstance(p, bytes) for p in passwords):
        raise TypeError("passwords must be bytes or None")
    if max_iterations < 1:
        raise ValueError("max_iterations must be positive")
    reader = _Reader(source, passwords, max_iterations)
    finding: Finding
    try:
        return reader.run(data)
    except _NoPassword:
        finding = PASSWORD_REQUIRED.finding(
            f"{source}: PKCS#12 needs a password; {tried_phrase(reader.candidates)} ({PASSWORD_HINT}).",
            source,
        )
    except _Limit as exc:
        message = str(exc)
        if not message.startswith(f"{source}:"):
            message = f"{source}: PKCS#12 refused: {message} (a safety limit; see --max-iterations)."
        finding = UNREADABLE_INPUT.finding(message, source)
    except _Unsupported as exc:
        finding = UNREADABLE_INPUT.finding(
            f"{source}: PKCS#12 uses {exc}, which certpipe does not read "
            "(re-export it with AES-256-CBC or 3DES).",
            source,
        )
    except (ValueError, TypeError, OverflowError, UnsupportedAlgorithm, InternalError) as exc:
        finding = UNREADABLE_INPUT.finding(f"{source}: not a readable PKCS#12 file ({exc}).", source)
    return Parsed(source, Format.PKCS12, findings=(finding,))
