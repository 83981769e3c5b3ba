"""Chain building and RFC 5280 path validation over cryptography certificates (no file I/O)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import DNSName
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from OpenSSL import crypto

from .. import catalog
from .trust import TrustStore, is_self_signed, name_key, signed_by

Problem = tuple[str, str]  # (rule slug, one-sentence message)
_E = TypeVar("_E", bound=x509.ExtensionType)

# X509_V_FLAG_NO_CHECK_TIME from OpenSSL's x509_vfy.h; pyOpenSSL does not export it. Validity is
# checked here in Python instead, so the leaf's own dates (rules expired / not-yet-valid) never mask
# or turn into a chain-invalid, and every out-of-date link is named, not just the first.
_NO_CHECK_TIME = 0x200000
_FLAGS = crypto.X509StoreFlags.PARTIAL_CHAIN | _NO_CHECK_TIME

# X509_V_ERR_* codes, OpenSSL 3.0+ numbering (openssl/x509_vfy.h; 3.0 moved INVALID_CA from 24 to 79).
_UNABLE_TO_GET_ISSUER_CERT = 2
_UNABLE_TO_DECRYPT_CERT_SIGNATURE = 4
_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY = 6
_CERT_SIGNATURE_FAILURE = 7
_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
_UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21
_PATH_LENGTH_EXCEEDED = 25
_AKID_SKID_MISMATCH = 30
_KEYUSAGE_NO_CERTSIGN = 32
_UNHANDLED_CRITICAL_EXTENSION = 34
_INVALID_CA = 79
_NO_ISSUER = frozenset(
    {
        _UNABLE_TO_GET_ISSUER_CERT,
        _UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
        _UNABLE_TO_VERIFY_LEAF_SIGNATURE,
        _AKID_SKID_MISMATCH,
    }
)
_BAD_SIGNATURE = frozenset(
    {_UNABLE_TO_DECRYPT_CERT_SIGNATURE, _UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY, _CERT_SIGNATURE_FAILURE}
)


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The chain found above a leaf, whether it reaches a root, and what is wrong with it."""

    chain: tuple[x509.Certificate, ...]
    complete: bool
    anchor_subject: str | None
    problems: tuple[Problem, ...] = ()


MAX_CHAIN = 10  # certificates above a leaf; real chains have 1-3
MAX_CANDIDATES = 16  # issuers ranked per step when many share the issuer's name


class ChainIndex:
    """Issuer lookup over a pool of certificates, indexed once (a batch has thousands of leaves)."""

    def __init__(self, pool: Sequence[x509.Certificate], anchors: TrustStore | None = None) -> None:
        self._anchors = anchors
        self._by_name: dict[object, list[x509.Certificate]] = {}
        for cert in dict.fromkeys(pool):  # certificates compare (and hash) by their DER
            self._by_name.setdefault(name_key(cert.subject), []).append(cert)
        for candidates in self._by_name.values():
            candidates.sort(key=_der)  # ties between equal-ranked issuers break the same way every run
        self._above: dict[x509.Certificate, tuple[x509.Certificate, ...]] = {}

    def chain_of(self, leaf: x509.Certificate) -> tuple[x509.Certificate, ...]:
        """The certificates of the pool above leaf, its issuer first, up to a self-signed root."""
        issuer = self._issuer(leaf, {leaf})
        if issuer is None:
            return ()
        # Every leaf under one intermediate shares what lies above it: build that once.
        above = self._above.get(issuer)
        if above is None:
            above = self._above[issuer] = self._walk(issuer)
        if leaf in above:  # only a loop back through the leaf itself, which a walk from the leaf stops
            return self._walk(leaf)
        return (issuer, *above)[:MAX_CHAIN]

    def _issuer(self, cert: x509.Certificate, seen: set[x509.Certificate]) -> x509.Certificate | None:
        if is_self_signed(cert):
            return None
        candidates = [c for c in self._by_name.get(name_key(cert.issuer), ()) if c not in seen]
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0]  # nothing to rank; path validation judges its signature
        if len(candidates) > MAX_CANDIDATES:
            # Many certificates sharing one name (hostile, or a messy share): rank only those whose key
            # identifier fits, and a bounded number of them, so building stays linear.
            fitting = [c for c in candidates if _aki_matches(cert, c)]
            candidates = (fitting or candidates)[:MAX_CANDIDATES]
        return min(candidates, key=lambda c: _issuer_rank(cert, c, self._anchors))

    def _walk(self, leaf: x509.Certificate) -> tuple[x509.Certificate, ...]:
        seen = {leaf}
        chain: list[x509.Certificate] = []
        current: x509.Certificate | None = leaf
        while len(chain) < MAX_CHAIN and current is not None:
            current = self._issuer(current, seen)
            if current is not None:
                seen.add(current)
                chain.append(current)
        return tuple(chain)


def build_chain(
    leaf: x509.Certificate, pool: Sequence[x509.Certificate], anchors: TrustStore | None = None
) -> tuple[x509.Certificate, ...]:
    """The certificates of pool above leaf, its issuer first, up to a self-signed root when given."""
    return ChainIndex(pool, anchors).chain_of(leaf)


def _issuer_rank(
    child: x509.Certificate, cand: x509.Certificate, anchors: TrustStore | None
) -> tuple[bool, bool, bool, bool, bytes]:
    """Sort key: a proven issuer first, then a key-identifier match, then one that ends the path."""
    terminal = is_self_signed(cand) or (anchors is not None and anchors.contains(cand))
    return (
        not signed_by(child, cand),
        not _aki_matches(child, cand),
        not terminal,
        child.issuer.public_bytes() != cand.subject.public_bytes(),
        _der(cand),
    )


def check_chain(
    leaf: x509.Certificate,
    pool: Sequence[x509.Certificate],
    *,
    anchors: TrustStore,
    at: dt.datetime,
    explicit_trust: bool = False,
) -> ChainReport:
    """Build leaf's chain from pool, then validate it: completeness plus verify_path's problems."""
    chain = build_chain(leaf, pool, anchors)
    path = (leaf, *chain)
    anchored = _anchor(path, anchors)
    complete = anchored is not None or is_self_signed(path[-1])
    problems = verify_path(leaf, chain, at=at, anchors=anchors, explicit_trust=explicit_trust)
    if not complete:
        top = path[-1]
        problems = (
            (
                catalog.CHAIN_INCOMPLETE.slug,
                f"The chain stops at {_role(path, len(path) - 1)}, whose issuer "
                f"'{_name(top.issuer)}' is neither in the input nor a known root "
                "(add the issuing CA's certificate, or pass its root with --trust).",
            ),
            *problems,
        )
    return ChainReport(
        chain,
        complete,
        anchored[1].subject.rfc4514_string() if anchored else None,
        problems,
    )


def verify_path(
    leaf: x509.Certificate,
    chain: Sequence[x509.Certificate],
    *,
    at: dt.datetime,
    anchors: TrustStore,
    explicit_trust: bool,
) -> tuple[Problem, ...]:
    """RFC 5280 validation of leaf + chain (issuer first) at `at`; the leaf's own dates are not judged."""
    at = at.astimezone(dt.UTC) if at.tzinfo else at.replace(tzinfo=dt.UTC)
    full = (leaf, *chain)
    anchored = _anchor(full, anchors)
    problems: list[Problem] = []
    if anchored is not None:
        end, trusted = anchored
        path = full[: end + 1]
        # When a given certificate is itself an anchor, clients use their own copy: don't date it.
        dated = path[1:-1] if trusted is path[-1] else path[1:]
    else:
        path, trusted, dated = full, full[-1], full[1:]
        if is_self_signed(trusted):
            if explicit_trust:
                problems.append(
                    (
                        catalog.UNTRUSTED_ROOT.slug,
                        f"The chain ends at {_role(path, len(path) - 1)}, which is not one of the trust "
                        "anchors (--trust, --trust-system).",
                    )
                )
        elif len(path) == 1:
            return ()  # a lone leaf with an unknown issuer: chain-incomplete, nothing to validate
    for index, cert in enumerate(dated, start=1):
        problems.extend(_time_problems(path, index, cert, at))
    untrusted = [_openssl(c) for c in path[1:] if c is not trusted]
    store = crypto.X509Store()
    store.add_cert(_openssl(trusted))
    store.set_time(at.replace(tzinfo=None))
    store.set_flags(_FLAGS)  # after set_time, which replaces the store's verify parameters
    try:
        crypto.X509StoreContext(store, _openssl(leaf), untrusted).verify_certificate()
    except crypto.X509StoreContextError as exc:
        chain_path = path if trusted is path[-1] else (*path, trusted)
        problems.append((catalog.CHAIN_INVALID.slug, _explain(exc, chain_path)))
    return tuple(problems)


def verify_web_pki(
    leaf: x509.Certificate,
    chain: Sequence[x509.Certificate],
    *,
    at: dt.datetime,
    anchors: TrustStore,
    dns_name: str | None = None,
) -> tuple[Problem, ...]:
    """The stricter CA/Browser Forum profile (cryptography's verifier) for a TLS server leaf."""
    name = dns_name or _first_dns_name(leaf)
    full = (leaf, *chain)
    anchored = _anchor(full, anchors)
    if anchored is not None:
        end, root = anchored
        intermediates = [c for c in full[1 : end + 1] if c is not root]
    elif len(full) > 1 and is_self_signed(full[-1]):
        root, intermediates = full[-1], list(full[1:-1])
    else:
        return ()  # incomplete (chain-incomplete) or a lone self-signed leaf: no path to judge
    if name is None:
        return ()  # no DNS name to verify for; missing-san says why
    at = at.astimezone(dt.UTC) if at.tzinfo else at.replace(tzinfo=dt.UTC)
    # The leaf's own dates belong to the expired / not-yet-valid rules: judge inside its validity.
    when = min(max(at, leaf.not_valid_before_utc), leaf.not_valid_after_utc)
    builder = PolicyBuilder().store(Store([root])).time(when)
    try:
        builder.build_server_verifier(DNSName(name)).verify(leaf, intermediates)
    except VerificationError as exc:
        return ((catalog.CHAIN_INVALID.slug, f"The chain fails the web PKI profile for {name}: {exc}."),)
    return ()


def _first_dns_name(leaf: x509.Certificate) -> str | None:
    san = _extension(leaf, x509.SubjectAlternativeName)
    names = san.get_values_for_type(x509.DNSName) if san is not None else []
    if not names:
        return None
    # A wildcard SAN is checked through a concrete name it covers (RFC 6125 6.4.3).
    return "certpipe-check" + names[0][1:] if names[0].startswith("*.") else names[0]


def _anchor(path: Sequence[x509.Certificate], anchors: TrustStore) -> tuple[int, x509.Certificate] | None:
    """Where path first meets a trust anchor: (index, anchor), the anchor being a given cert or its issuer."""
    for index, cert in enumerate(path):
        if anchors.contains(cert):
            return index, cert
        issuer = anchors.issuer_of(cert)
        if issuer is None:
            # Named by the anchor and its key identifier, but the signature fails: still that anchor's
            # chain, so validation must report the bad signature rather than call the chain incomplete.
            issuer = next((a for a in anchors.named(cert.issuer) if _aki_matches(cert, a)), None)
        if issuer is not None:
            return index, issuer
    return None


def _time_problems(
    path: Sequence[x509.Certificate], index: int, cert: x509.Certificate, at: dt.datetime
) -> tuple[Problem, ...]:
    if at < cert.not_valid_before_utc:
        return (
            (
                catalog.CHAIN_INVALID.slug,
                f"{_cap(_role(path, index))} is not valid until {_when(cert.not_valid_before_utc)}, "
                f"after the validation time {_when(at)}.",
            ),
        )
    if at > cert.not_valid_after_utc:
        return (
            (
                catalog.CHAIN_INVALID.slug,
                f"{_cap(_role(path, index))} expired on {_when(cert.not_valid_after_utc)}, "
                f"before the validation time {_when(at)} (the server must send a current one).",
            ),
        )
    return ()


def _explain(exc: crypto.X509StoreContextError, path: Sequence[x509.Certificate]) -> str:
    """One sentence naming the failing link, from OpenSSL's error code and the certificates themselves."""
    code, depth, reason = int(exc.errors[0]), int(exc.errors[1]), str(exc.errors[2])
    failing = exc.certificate.to_cryptography()
    index = next((i for i, c in enumerate(path) if _der(c) == _der(failing)), min(depth, len(path) - 1))
    who = _role(path, index)
    above = path[index + 1] if index + 1 < len(path) else None
    if code in _BAD_SIGNATURE and above is not None:
        return f"The signature on {who} does not verify with the key of its issuer, {_role(path, index + 1)}."
    if code in _NO_ISSUER and above is not None:
        if name_key(failing.issuer) != name_key(above.subject):
            named, actual = _name(failing.issuer), _name(above.subject)
            if named == actual:  # same common name: show the whole names so the difference is visible
                named, actual = failing.issuer.rfc4514_string(), above.subject.rfc4514_string()
            return (
                f"The names don't chain: {who} names its issuer '{named}', but the next certificate "
                f"is '{actual}' (RFC 5280 6.1.3)."
            )
        return (
            f"{_cap(who)} names {_role(path, index + 1)} as issuer, but its authority key identifier or "
            "signature does not match that certificate's key."
        )
    if code in (_INVALID_CA, _KEYUSAGE_NO_CERTSIGN):
        return f"{_cap(who)} issues certificates but {_not_a_ca(failing, reason)}."
    if code == _PATH_LENGTH_EXCEEDED:
        limit = _path_len(failing)
        below = sum(1 for c in path[1:index] if name_key(c.subject) != name_key(c.issuer))
        return (
            f"{_cap(who)} allows {limit} intermediate CA certificate{'s' if limit != 1 else ''} below it "
            f"(pathLenConstraint, RFC 5280 4.2.1.9), but the chain has {below}."
        )
    if code == _UNHANDLED_CRITICAL_EXTENSION:
        oids = ", ".join(_unknown_critical(failing)) or "unknown"
        return (
            f"{_cap(who)} has a critical extension that is not understood ({oids}), so it must be rejected."
        )
    return f"{_cap(who)} fails path validation: {reason}."


def _not_a_ca(cert: x509.Certificate, reason: str) -> str:
    bc = _extension(cert, x509.BasicConstraints)
    if bc is None:
        return "has no basicConstraints extension (RFC 5280 4.2.1.9)"
    if not bc.ca:
        return "its basicConstraints say cA=FALSE (RFC 5280 4.2.1.9)"
    ku = _extension(cert, x509.KeyUsage)
    if ku is not None and not ku.key_cert_sign:
        return "its keyUsage lacks keyCertSign (RFC 5280 4.2.1.3)"
    return f"OpenSSL rejects it as a CA ({reason})"


def _path_len(cert: x509.Certificate) -> int:
    bc = _extension(cert, x509.BasicConstraints)
    return bc.path_length if bc is not None and bc.path_length is not None else 0


def _unknown_critical(cert: x509.Certificate) -> list[str]:
    try:
        return [
            e.oid.dotted_string
            for e in cert.extensions
            if e.critical and isinstance(e.value, x509.UnrecognizedExtension)
        ]
    except ValueError:
        return []


def _extension(cert: x509.Certificate, kind: type[_E]) -> _E | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def _aki_matches(child: x509.Certificate, cand: x509.Certificate) -> bool:
    aki = _extension(child, x509.AuthorityKeyIdentifier)
    ski = _extension(cand, x509.SubjectKeyIdentifier)
    return aki is not None and ski is not None and aki.key_identifier == ski.digest


def _role(path: Sequence[x509.Certificate], index: int) -> str:
    cert = path[index]
    label = f"'{_name(cert.subject)}'"
    if index == 0:
        return f"the leaf {label}"
    if index == len(path) - 1 and is_self_signed(cert):
        return f"the root {label}"
    return f"the intermediate {label}"


def _name(name: x509.Name) -> str:
    """The common name when there is one, else the RFC 4514 string."""
    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = cns[-1].value if cns else None
    return value if isinstance(value, str) and value else name.rfc4514_string()


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


@functools.lru_cache(maxsize=256)
def _openssl(cert: x509.Certificate) -> crypto.X509:
    # Converting costs a DER round trip; the same intermediates and anchors recur across items.
    return crypto.X509.from_cryptography(cert)
