"""Every rule certpipe can report: stable slug, default severity, one-line rationale.

Stages build findings through these objects so a slug is spelled once. The slugs are a contract
(CI configurations and SARIF consumers key on them): add rules, never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import Finding, Severity


@dataclass(frozen=True, slots=True)
class Rule:
    slug: str
    severity: Severity
    summary: str
    rationale: str
    group: str = "akv"  # "akv": AKV would refuse or alter it; "lint": a reviewer's rule; "input"

    def finding(self, message: str, source: str, line: int | None = None) -> Finding:
        return Finding(self.slug, self.severity, message, source, line)


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

UNREADABLE_INPUT = Rule(
    "unreadable-input",
    E,
    "not a recognised format, truncated or corrupt",
    "A file that cannot be read cannot be imported; nothing in it was checked.",
    "input",
)
PASSWORD_REQUIRED = Rule(
    "password-required",
    E,
    "PKCS#12 or encrypted key that no candidate password opened",
    "Without the password the key cannot be read, checked or uploaded.",
    "input",
)
NO_PRIVATE_KEY = Rule(
    "no-private-key",
    E,
    "end-entity certificate with no matching private key in the input",
    "AKV refuses a certificate import without its private key.",
)
KEY_MISMATCH = Rule(
    "key-mismatch",
    E,
    "a file holds a certificate and a key that don't belong together",
    "A key that does not match its certificate cannot serve it; AKV refuses the bundle.",
)
ORPHAN_KEY = Rule(
    "orphan-key",
    W,
    "a private key that matches no certificate",
    "A private key with no certificate cannot be imported and is likely left over.",
)
EXPIRED = Rule(
    "expired",
    E,
    "the certificate has expired",
    "AKV refuses expired certificates (X509 Certificate is already expired).",
)
NOT_YET_VALID = Rule(
    "not-yet-valid",
    E,
    "the certificate is not valid yet",
    "A certificate before its notBefore is rejected by every client that checks it.",
)
EXPIRING_SOON = Rule(
    "expiring-soon",
    W,
    "the certificate expires within --expiry-warn-days",
    "Importing a certificate about to expire only moves the outage.",
)
UNSUPPORTED_KEY = Rule(
    "unsupported-key",
    E,
    "AKV can't hold the key: not RSA 2048/3072/4096 or EC P-256/P-384/P-521/P-256K",
    "AKV supports only these key types and sizes; anything else is refused.",
)
WEAK_SIGNATURE = Rule(
    "weak-signature",
    W,
    "the certificate is signed with MD5 or SHA-1",
    "MD5 and SHA-1 signatures are forgeable and rejected by browsers.",
)
CHAIN_INCOMPLETE = Rule(
    "chain-incomplete",
    W,
    "the chain doesn't reach a self-signed or well-known root with what was given",
    "Clients that lack the missing intermediate cannot build a path to a trusted root.",
)
CHAIN_ORDER = Rule(
    "chain-order",
    I,
    "the chain was given out of order; emitted leaf first",
    "Some servers send certificates in file order; certpipe emits leaf, issuer, ..., root.",
)
KEY_FORMAT = Rule(
    "key-format",
    I,
    "the key was PKCS#1, SEC1 or encrypted; emitted as plain PKCS#8",
    "AKV accepts only unencrypted PKCS#8 keys in PEM.",
)
DUPLICATE = Rule(
    "duplicate",
    I,
    "the same certificate appears in several files",
    "Duplicates are merged into one item; the copies may drift apart later.",
)
SECRET_TOO_LARGE = Rule(
    "secret-too-large",
    E,
    "the secret value would exceed AKV's 25k-byte limit",
    "AKV stores the PFX or PEM as a secret, whose value is limited to 25k bytes.",
)
NAME_COLLISION = Rule(
    "name-collision",
    W,
    "two items wanted the same AKV name; one was given a suffix",
    "AKV names are unique per vault; the suffixed name may not be the one you expect.",
)
CHAIN_INVALID = Rule(
    "chain-invalid",
    E,
    "a link in the chain fails path validation",
    "A bad signature, a non-CA issuer, an expired intermediate or broken name chaining "
    "makes every RFC 5280 client reject the certificate.",
)
UNTRUSTED_ROOT = Rule(
    "untrusted-root",
    W,
    "the chain ends at a root that is not a trust anchor",
    "Clients that do not trust this root will reject the certificate.",
)

# Lint rules: what a reviewer would want beyond what AKV refuses.
MISSING_SAN = Rule(
    "missing-san",
    W,
    "the leaf has no subjectAltName extension",
    "Browsers ignore the common name (RFC 6125, CA/B BR 7.1.2.7); a TLS leaf needs SANs.",
    "lint",
)
LEAF_IS_CA = Rule(
    "leaf-is-ca",
    W,
    "an end-entity certificate is marked as a CA (basicConstraints CA:TRUE)",
    "A leaf that can issue certificates is a hazard if its key leaks.",
    "lint",
)
WEAK_KEY = Rule(
    "weak-key",
    E,
    "RSA below 2048 bits or EC below P-256",
    "Keys this small are breakable or refused by modern clients (NIST SP 800-131A).",
    "lint",
)
VALIDITY_TOO_LONG = Rule(
    "validity-too-long",
    W,
    "a publicly trusted TLS leaf valid for more than 398 days",
    "Browsers reject publicly trusted TLS certificates valid for more than 398 days.",
    "lint",
)
TLS_USAGE = Rule(
    "tls-usage",
    W,
    "key usage or extended key usage that does not fit a TLS server certificate",
    "A TLS server certificate needs serverAuth in EKU and digitalSignature/keyEncipherment.",
    "lint",
)
BAD_SERIAL = Rule(
    "bad-serial",
    W,
    "the serial number is not positive or is longer than 20 bytes",
    "RFC 5280 4.1.2.2 requires a positive serial of at most 20 octets.",
    "lint",
)
UNENCRYPTED_KEY = Rule(
    "unencrypted-key",
    W,
    "a private key stored without encryption",
    "A repository that holds keys should hold only encrypted ones.",
    "lint",
)
CONFLICTING_CERTS = Rule(
    "conflicting-certs",
    W,
    "several different certificates for the same name",
    "Which one is deployed depends on file order; keep one certificate per name.",
    "lint",
)

EXPORT_FAILED = Rule(
    "export-failed",
    E,
    "an output file could not be written or failed its re-check",
    "A file that does not read back as written must not be deployed; it was removed.",
    "output",
)

RULES: tuple[Rule, ...] = (
    UNREADABLE_INPUT,
    PASSWORD_REQUIRED,
    NO_PRIVATE_KEY,
    KEY_MISMATCH,
    ORPHAN_KEY,
    EXPIRED,
    NOT_YET_VALID,
    EXPIRING_SOON,
    UNSUPPORTED_KEY,
    WEAK_SIGNATURE,
    CHAIN_INCOMPLETE,
    CHAIN_ORDER,
    KEY_FORMAT,
    DUPLICATE,
    SECRET_TOO_LARGE,
    NAME_COLLISION,
    CHAIN_INVALID,
    UNTRUSTED_ROOT,
    MISSING_SAN,
    LEAF_IS_CA,
    WEAK_KEY,
    VALIDITY_TOO_LONG,
    TLS_USAGE,
    BAD_SERIAL,
    UNENCRYPTED_KEY,
    CONFLICTING_CERTS,
    EXPORT_FAILED,
)
BY_SLUG: dict[str, Rule] = {r.slug: r for r in RULES}
