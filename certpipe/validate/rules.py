"""The item rules: one small object per rule, registered in one tuple.

Each rule looks at one item (leaf, key, ordered chain) at one instant and yields findings. Rules that
need the whole input (duplicates, collisions, orphan keys, mismatches) live in pair; unreadable input
lives in parse.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from .. import catalog
from ..catalog import Rule
from ..models import Finding, Item, KeyOrigin
from ..x509util import EC_CURVES, describe_key, dns_names, ext, is_ca, subject

if TYPE_CHECKING:
    from .trust import TrustStore

RSA_SIZES = frozenset({2048, 3072, 4096})
SECRET_LIMIT = 25 * 1024  # AKV: secret value at most 25k bytes (akv-reference.md 3)
PUBLIC_TLS_MAX_DAYS = 398


@dataclass(frozen=True, slots=True)
class Context:
    """What every rule may look at besides the item."""

    at: dt.datetime
    expiry_warn_days: int = 30
    content_type: str = "application/x-pkcs12"
    anchors: TrustStore | None = None  # --trust/--trust-system anchors plus the well-known roots
    explicit_trust: bool = False  # --trust or --trust-system given: an unknown root is worth a warning
    well_known: TrustStore | None = None
    all_anchors: TrustStore | None = None  # anchors merged with well_known, computed once per run


class ItemRule(Protocol):
    rule: Rule

    def check(self, item: Item, ctx: Context) -> Iterator[Finding]: ...


def _f(rule: Rule, item: Item, message: str) -> Finding:
    return rule.finding(message, item.leaf.source, item.leaf.line)


def _days(delta: dt.timedelta) -> int:
    return math.floor(delta.total_seconds() / 86400)


class NoPrivateKey:
    rule = catalog.NO_PRIVATE_KEY

    def check(self, item: Item, ctx: Context) -> Iterator[Finding]:
        if item.key is None and not any(f.rule == catalog.KEY_MISMATCH.slug for f in item.findings):
            yield _f(
                self.rule,
                item,
                f"{item.leaf.source}: no private key in the input matches "
                f"{subject(item.leaf.cert)}; AKV imports only certificates with their key.",
            )


class Validity:
    rule = catalog.EXPIRED

    def check(self, item: Item, ctx: Context) -> Iterator[Finding]:
        cert = item.leaf.cert
        nb, na = cert.not_valid_before_utc, cert.not_valid_after_utc
        who = subject(cert)
        if ctx.at > na:
            yield _f(
                catalog.EXPIRED,
                item,
                f"{item.leaf.source}: {who} expired on {na:%Y-%m-%d} "
                f"({_days(ctx.at - na)} days ago); AKV refuses expired certificates.",
            )
        elif ctx.at < nb:
            yield _f(
                catalog.NOT_YET_VALID, item, f"{item.leaf.source}: {who} is not valid until {nb:%Y-%m-%d}."
            )
        elif na - ctx.at <= dt.timedelta(days=ctx.expiry_warn_days):
            yield _f(
                catalog.EXPIRING_SOON,
                item,
                f"{item.leaf.source}: {who} expires on {na:%Y-%m-%d}, in {_days(na - ctx.at)} days.",
            )


class UnsupportedKey:
    rule = catalog.UNSUPPORTED_KEY

    def check(self, item: Item, ctx: Context) -> Iterator[Finding]:
        kty, size, crv = describe_key(item.leaf.cert.public_key())
        ok = (kty == "RSA" and size in RSA_SIZES) or (kty == "EC" and crv in EC_CURVES.values())
        if not ok:
            what = f"RSA {size}" if kty == "RSA" else f"EC {crv or size}" if kty == "EC" else (crv or kty)
            yield _f(
                self.rule,
                item,
                f"{item.leaf.source}: the key of {subject(item.leaf.cert)} is {what}; AKV "
                "holds only RSA 2048/3072/4096 and EC P-256/P-384/P-521/P-256K keys.",
            )


class WeakSignature:
    rule = catalog.WEAK_SIGNATURE

    def check(self, item: Item, ctx: Context) -> Iterator[Finding]:
        for rec in (item.leaf, *item.chain):
            cert = rec.cert
            if cert.issuer == cert.subject:
                continue  # a root's self-signature is not relied on
            try:
                algo = cert.signature_hash_algorithm
            except Exception:
                algo = None
            if isinstance(algo, hashes.MD5 | hashes.SHA1):
                yield _f(
                    self.rule,
                    item,
                    f"{rec.source}: {subject(cert)} is signed with {algo.name.upper()}, "
                    "which is forgeable and rejected by browsers.",
                )


class ChainRules:
    """chain-incomplete (what was given doesn't reach a root), chain-invalid and untrusted-root (OpenSSL)."""

    rule = catalog.CHAIN_INCOMPLETE

    def check(self, item: Item, ctx: Context) -> Iterator[Finding]:
        from .chain import verify_path
        from .trust import TrustStore, is_self_signed, name_key

        top = item.chain[-1].cert if item.chain else item.leaf.cert
        anchors = ctx.all_anchors or (ctx.anchors or TrustStore.empty()).merged(
            ctx.well_known or TrustStore.empty()
        )
        # A root whose own signature cannot be verified (MD5, an unsupported algorithm) still ends the
        # chain: completeness is about what is given, not about that signature.
        self_issued = name_key(top.subject) == name_key(top.issuer)
        if (
            not (self_issued or is_self_signed(top))
            and anchors.issuer_of(top) is None
            and not anchors.contains(top)
        ):
            where = f"stops at {subject(top)}, whose issuer" if item.chain else "has no issuer in the input:"
            yield _f(
                self.rule,
                item,
                f"{item.leaf.source}: the chain of {subject(item.leaf.cert)} {where} "
                f"{top.issuer.rfc4514_string()} is neither given nor a known root "
                "(add it, or pass its root with --trust).",
            )
        for slug, message in verify_path(
            item.leaf.cert,
            [c.cert for c in item.chain],
            at=ctx.at,
            anchors=anchors,
            explicit_trust=ctx.explicit_trust,
        ):
            if slug == catalog.UNTRUSTED_ROOT.slug and ctx.anchors is not None and ctx.anchors.contains(top):
                continue
            yield _f(catalog.BY_SLUG[slug], item, f"{item.leaf.source}: {message}")


class KeyFormat:
    rule = catalog.KEY_FORMAT
    _NAMES: ClassVar[dict[KeyOrigin, str]] = {
        KeyOrigin.PKCS1: "PKCS#1",
        KeyOrigin.SEC1: "SEC1",
        KeyOrigin.ENCRYPTED_PKCS8: "encrypted PKCS#8",
        KeyOrigin.LEGACY_ENCRYPTED: "legacy encrypted PEM",
    }

    def check(self, item: Item, ctx: Context) -> Iterator[Finding]:
        if item.key is not None and item.key.origin in self._NAMES:
            yield self.rule.finding(
                f"{item.key.source}: the key is {self._NAMES[item.key.origin]}; it is emitted as plain PKCS#8, "
                "the only form AKV accepts.",
                item.key.source,
                item.key.line,
            )


class SecretSize:
    rule = catalog.SECRET_TOO_LARGE

    def check(self, item: Item, ctx: Context) -> Iterator[Finding]:
        if item.key is None:
            return
        size = estimate_secret_size(item, ctx.content_type)
        if size > SECRET_LIMIT:
            yield _f(
                self.rule,
                item,
                f"{item.leaf.source}: the secret for {subject(item.leaf.cert)} would be about "
                f"{size} bytes, above AKV's {SECRET_LIMIT}-byte limit; shorten the chain or the certificate (fewer SANs).",
            )


def estimate_secret_size(item: Item, content_type: str) -> int:
    """The length of the secret value certpipe would emit (an upper bound for PKCS#12)."""
    assert item.key is not None
    key_der = item.key.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ders = [item.leaf.der, *(c.der for c in item.chain)]
    if content_type == "application/x-pem-file":
        return _pem_size(len(key_der)) + sum(_pem_size(len(d)) for d in ders)
    raw = len(key_der) + 8 + sum(len(d) + 120 for d in ders) + 600
    return 4 * math.ceil(raw / 3)


def _pem_size(der_len: int) -> int:
    """Bytes of a PEM block for der_len bytes of DER: base64 in 64-column lines plus the armour."""
    b64 = 4 * math.ceil(der_len / 3)
    return b64 + math.ceil(b64 / 64) + 60


# Lint rules (beyond what AKV refuses).
class MissingSan:
    rule = catalog.MISSING_SAN

    def check(self, item: Item, ctx: Context) -> Iterator[Finding]:
        cert = item.leaf.cert
        if ext(cert, ExtensionOID.SUBJECT_ALTERNATIVE_NAME) is None and not is_ca(cert):
            yield _f(
                self.rule,
                item,
                f"{item.leaf.source}: {subject(cert)} has no subjectAltName; clients match "
                "hostnames only against SANs.",
            )


def _has_server_auth(cert: x509.Certificate) -> bool:
    eku = ext(cert, ExtensionOID.EXTENDED_KEY_USAGE)
    return isinstance(eku, x509.ExtendedKeyUsage) and ExtendedKeyUsageOID.SERVER_AUTH in eku


class LeafIsCa:
    rule = catalog.LEAF_IS_CA

    def check(self, item: Item, ctx: Context) -> Iterator[Finding]:
        cert = item.leaf.cert
        if is_ca(cert) and (_has_server_auth(cert) or dns_names(cert)):
            yield _f(
                self.rule,
                item,
                f"{item.leaf.source}: {subject(cert)} serves hostnames but is marked CA:TRUE.",
            )


class WeakKey:
    rule = catalog.WEAK_KEY

    def check(self, item: Item, ctx: Context) -> Iterator[Finding]:
        kty, size, _ = describe_key(item.leaf.cert.public_key())
        if (kty in ("RSA", "DSA") and size is not None and size < 2048) or (
            kty == "EC" and (size or 0) < 256
        ):
            yield _f(
                self.rule,
                item,
                f"{item.leaf.source}: {subject(item.leaf.cert)} has a {kty} {size}-bit key, "
                "below the 2048-bit RSA / P-256 minimum.",
            )


class ValidityTooLong:
    rule = catalog.VALIDITY_TOO_LONG

    def check(self, item: Item, ctx: Context) -> Iterator[Finding]:
        cert = item.leaf.cert
        top = item.chain[-1].cert if item.chain else cert
        public = ctx.well_known is not None and (
            ctx.well_known.issuer_of(top) is not None or ctx.well_known.contains(top)
        )
        days = (cert.not_valid_after_utc - cert.not_valid_before_utc).days
        if public and _has_server_auth(cert) and days > PUBLIC_TLS_MAX_DAYS:
            yield _f(
                self.rule,
                item,
                f"{item.leaf.source}: {subject(cert)} is publicly trusted and valid for "
                f"{days} days; browsers reject TLS certificates valid over 398 days.",
            )


class TlsUsage:
    rule = catalog.TLS_USAGE

    def check(self, item: Item, ctx: Context) -> Iterator[Finding]:
        cert = item.leaf.cert
        if is_ca(cert) or not dns_names(cert):
            return  # not a TLS server certificate
        eku = ext(cert, ExtensionOID.EXTENDED_KEY_USAGE)
        if isinstance(eku, x509.ExtendedKeyUsage) and not (
            ExtendedKeyUsageOID.SERVER_AUTH in eku or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku
        ):
            yield _f(
                self.rule,
                item,
                f"{item.leaf.source}: {subject(cert)} names hosts but its extended key usage "
                "lacks serverAuth.",
            )
        ku = ext(cert, ExtensionOID.KEY_USAGE)
        if isinstance(ku, x509.KeyUsage):
            is_rsa = isinstance(cert.public_key(), rsa.RSAPublicKey)
            fits = (
                ku.digital_signature or (is_rsa and ku.key_encipherment) or (not is_rsa and ku.key_agreement)
            )
            if not fits:
                yield _f(
                    self.rule,
                    item,
                    f"{item.leaf.source}: {subject(cert)} names hosts but its key usage allows "
                    "neither digitalSignature nor key exchange.",
                )
            elif ku.key_cert_sign:
                yield _f(
                    self.rule, item, f"{item.leaf.source}: {subject(cert)} is a TLS leaf with keyCertSign."
                )


class BadSerial:
    rule = catalog.BAD_SERIAL

    def check(self, item: Item, ctx: Context) -> Iterator[Finding]:
        serial = item.leaf.cert.serial_number
        length = (serial.bit_length() + 8) // 8 if serial > 0 else 1  # DER INTEGER octets, sign bit included
        if serial <= 0 or length > 20:
            yield _f(
                self.rule,
                item,
                f"{item.leaf.source}: {subject(item.leaf.cert)} has serial {serial:#x}; "
                "RFC 5280 4.1.2.2 wants a positive serial of at most 20 octets.",
            )


ITEM_RULES: tuple[ItemRule, ...] = (
    NoPrivateKey(),
    Validity(),
    UnsupportedKey(),
    WeakSignature(),
    ChainRules(),
    KeyFormat(),
    SecretSize(),
    MissingSan(),
    LeafIsCa(),
    WeakKey(),
    ValidityTooLong(),
    TlsUsage(),
    BadSerial(),
)
