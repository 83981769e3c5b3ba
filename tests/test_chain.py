"""Chain building and path validation over certificates generated here (EC P-256, fixed dates)."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certpipe.validate import chain as chain_mod
from certpipe.validate.chain import ChainReport, build_chain, check_chain, verify_path, verify_web_pki
from certpipe.validate.trust import TrustStore, is_self_signed, name_key

AT = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
NO_ANCHORS = TrustStore.empty()


@dataclass(frozen=True, slots=True)
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey = field(repr=False)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certpipe tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make(
    cn: str,
    issuer: Issued | None = None,
    *,
    ca: bool | None = True,
    key_cert_sign: bool = True,
    path_length: int | None = None,
    not_before: dt.datetime = START,
    not_after: dt.datetime = END,
    issuer_name: x509.Name | None = None,
    extra: tuple[x509.ExtensionType, ...] = (),
    serial: int = 1000,
) -> Issued:
    """A certificate for cn signed by issuer (self-signed when None); ca=None omits basicConstraints."""
    key = ec.generate_private_key(ec.SECP256R1())
    signer_key = issuer.key if issuer else key
    signer_pub = issuer.cert.public_key() if issuer else key.public_key()  # AKI names the cert, not the key
    assert isinstance(signer_pub, ec.EllipticCurvePublicKey)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_name or (issuer.cert.subject if issuer else _name(cn)))
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_pub), critical=False)
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
    if ca:
        usage = dict.fromkeys(
            ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement"), False
        )
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=key_cert_sign,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
                **usage,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(f"{cn}.example.com")]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    for ext in extra:
        builder = builder.add_extension(ext, critical=True)
    return Issued(builder.sign(signer_key, hashes.SHA256()), key)


@pytest.fixture(scope="module")
def pki() -> dict[str, Issued]:
    root = make("Test Root")
    inter = make("Test Intermediate", root, path_length=0)
    leaf = make("leaf", inter, ca=False)
    return {"root": root, "inter": inter, "leaf": leaf, "other": make("Other Root")}


def _certs(*issued: Issued) -> tuple[x509.Certificate, ...]:
    return tuple(i.cert for i in issued)


def _slugs(problems: tuple[tuple[str, str], ...]) -> list[str]:
    return [slug for slug, _ in problems]


def test_build_chain_orders_issuer_first_from_any_pool_order(pki: dict[str, Issued]) -> None:
    pool = _certs(pki["root"], pki["other"], pki["inter"], pki["leaf"])
    for order in itertools.permutations(pool):
        assert build_chain(pki["leaf"].cert, order, None) == _certs(pki["inter"], pki["root"])


def test_complete_chain_to_own_root_has_no_problems(pki: dict[str, Issued]) -> None:
    report = check_chain(pki["leaf"].cert, _certs(pki["root"], pki["inter"]), anchors=NO_ANCHORS, at=AT)
    assert report == ChainReport(_certs(pki["inter"], pki["root"]), True, None, ())


def test_chain_missing_its_root_is_incomplete_not_invalid(pki: dict[str, Issued]) -> None:
    report = check_chain(pki["leaf"].cert, _certs(pki["inter"]), anchors=NO_ANCHORS, at=AT)
    assert (report.chain, report.complete, report.anchor_subject) == (_certs(pki["inter"]), False, None)
    assert _slugs(report.problems) == ["chain-incomplete"]
    assert "'Test Intermediate', whose issuer 'Test Root'" in report.problems[0][1]
    assert (
        verify_path(pki["leaf"].cert, _certs(pki["inter"]), at=AT, anchors=NO_ANCHORS, explicit_trust=True)
        == ()
    )


def test_lone_leaf_with_unknown_issuer_is_incomplete(pki: dict[str, Issued]) -> None:
    report = check_chain(pki["leaf"].cert, (), anchors=NO_ANCHORS, at=AT)
    assert (report.chain, report.complete, _slugs(report.problems)) == ((), False, ["chain-incomplete"])


def test_trust_anchor_completes_chain_without_being_appended(pki: dict[str, Issued]) -> None:
    anchors = TrustStore.from_certs([pki["root"].cert])
    report = check_chain(pki["leaf"].cert, _certs(pki["inter"]), anchors=anchors, at=AT, explicit_trust=True)
    assert report == ChainReport(_certs(pki["inter"]), True, "CN=Test Root,O=certpipe tests", ())


def test_intermediate_issued_by_a_well_known_store_member_is_complete(pki: dict[str, Issued]) -> None:
    anchors = TrustStore.well_known().merged(TrustStore.from_certs([pki["root"].cert]))
    report = check_chain(pki["leaf"].cert, _certs(pki["inter"]), anchors=anchors, at=AT)
    assert (report.complete, report.anchor_subject, report.problems) == (
        True,
        "CN=Test Root,O=certpipe tests",
        (),
    )


def test_root_outside_explicit_trust_is_untrusted_root(pki: dict[str, Issued]) -> None:
    chain = _certs(pki["inter"], pki["root"])
    anchors = TrustStore.from_certs([pki["other"].cert])
    problems = verify_path(pki["leaf"].cert, chain, at=AT, anchors=anchors, explicit_trust=True)
    assert _slugs(problems) == ["untrusted-root"]
    assert "the root 'Test Root'" in problems[0][1]
    assert verify_path(pki["leaf"].cert, chain, at=AT, anchors=anchors, explicit_trust=False) == ()


def test_root_among_explicit_trust_is_trusted(pki: dict[str, Issued]) -> None:
    chain = _certs(pki["inter"], pki["root"])
    anchors = TrustStore.from_certs([pki["root"].cert])
    assert verify_path(pki["leaf"].cert, chain, at=AT, anchors=anchors, explicit_trust=True) == ()


def test_intermediate_expired_at_validation_time_is_chain_invalid_naming_it(pki: dict[str, Issued]) -> None:
    old = make(
        "Old Intermediate",
        pki["root"],
        not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        not_after=dt.datetime(2021, 1, 1, tzinfo=dt.UTC),
    )
    leaf = make("leaf", old, ca=False)
    problems = verify_path(
        leaf.cert, _certs(old, pki["root"]), at=AT, anchors=NO_ANCHORS, explicit_trust=False
    )
    assert problems == (
        (
            "chain-invalid",
            "The intermediate 'Old Intermediate' expired on 2021-01-01 00:00 UTC, before the validation time "
            "2025-06-01 00:00 UTC (the server must send a current one).",
        ),
    )


def test_intermediate_not_yet_valid_is_chain_invalid(pki: dict[str, Issued]) -> None:
    early = make("Future Intermediate", pki["root"], not_before=dt.datetime(2025, 9, 1, tzinfo=dt.UTC))
    leaf = make("leaf", early, ca=False)
    problems = verify_path(
        leaf.cert, _certs(early, pki["root"]), at=AT, anchors=NO_ANCHORS, explicit_trust=False
    )
    assert _slugs(problems) == ["chain-invalid"]
    assert problems[0][1].startswith("The intermediate 'Future Intermediate' is not valid until 2025-09-01")


@pytest.mark.parametrize(
    "when", [dt.datetime(2024, 6, 1, tzinfo=dt.UTC), dt.datetime(2027, 6, 1, tzinfo=dt.UTC)]
)
def test_leaf_outside_its_validity_is_not_chain_invalid(pki: dict[str, Issued], when: dt.datetime) -> None:
    long_root = make(
        "Long Root",
        not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        not_after=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    )
    leaf = make("leaf", long_root, ca=False)
    assert not leaf.cert.not_valid_before_utc <= when <= leaf.cert.not_valid_after_utc
    assert verify_path(leaf.cert, _certs(long_root), at=when, anchors=NO_ANCHORS, explicit_trust=False) == ()


def test_issuer_without_key_cert_sign_is_chain_invalid(pki: dict[str, Issued]) -> None:
    weak = make("No CertSign CA", pki["root"], key_cert_sign=False)
    leaf = make("leaf", weak, ca=False)
    problems = verify_path(
        leaf.cert, _certs(weak, pki["root"]), at=AT, anchors=NO_ANCHORS, explicit_trust=False
    )
    assert problems == (
        (
            "chain-invalid",
            "The intermediate 'No CertSign CA' issues certificates but its keyUsage lacks keyCertSign "
            "(RFC 5280 4.2.1.3).",
        ),
    )


@pytest.mark.parametrize(("ca", "reason"), [(False, "cA=FALSE"), (None, "has no basicConstraints")])
def test_issuer_that_is_not_a_ca_is_chain_invalid(
    pki: dict[str, Issued], ca: bool | None, reason: str
) -> None:
    not_ca = make("Not A CA", pki["root"], ca=ca)
    leaf = make("leaf", not_ca, ca=False)
    problems = verify_path(
        leaf.cert, _certs(not_ca, pki["root"]), at=AT, anchors=NO_ANCHORS, explicit_trust=False
    )
    assert _slugs(problems) == ["chain-invalid"]
    assert problems[0][1].startswith("The intermediate 'Not A CA' issues certificates but")
    assert reason in problems[0][1]


def test_bad_leaf_signature_names_the_link(pki: dict[str, Issued]) -> None:
    impostor = Issued(pki["inter"].cert, make("Impostor").key)  # right issuer name, wrong key
    leaf = make("forged", impostor, ca=False)
    chain = _certs(pki["inter"], pki["root"])
    problems = verify_path(leaf.cert, chain, at=AT, anchors=NO_ANCHORS, explicit_trust=False)
    assert _slugs(problems) == ["chain-invalid"]
    assert "the leaf 'forged'" in problems[0][1] and "'Test Intermediate'" in problems[0][1]


def test_names_that_do_not_chain_are_chain_invalid(pki: dict[str, Issued]) -> None:
    stray = make("stray", pki["inter"], ca=False, issuer_name=_name("Someone Else"))
    problems = verify_path(
        stray.cert, _certs(pki["inter"], pki["root"]), at=AT, anchors=NO_ANCHORS, explicit_trust=False
    )
    assert problems == (
        (
            "chain-invalid",
            "The names don't chain: the leaf 'stray' names its issuer 'Someone Else', but the next "
            "certificate is 'Test Intermediate' (RFC 5280 6.1.3).",
        ),
    )


def test_path_length_exceeded_names_the_constraining_ca(pki: dict[str, Issued]) -> None:
    sub = make("Sub CA", pki["inter"])  # pki["inter"] has pathLenConstraint 0
    leaf = make("leaf", sub, ca=False)
    chain = _certs(sub, pki["inter"], pki["root"])
    problems = verify_path(leaf.cert, chain, at=AT, anchors=NO_ANCHORS, explicit_trust=False)
    assert _slugs(problems) == ["chain-invalid"]
    assert problems[0][1].startswith(
        "The intermediate 'Test Intermediate' allows 0 intermediate CA certificates"
    )


def test_unknown_critical_extension_is_chain_invalid_with_its_oid(pki: dict[str, Issued]) -> None:
    odd = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x05\x00")
    leaf = make("odd", pki["inter"], ca=False, extra=(odd,))
    problems = verify_path(
        leaf.cert, _certs(pki["inter"], pki["root"]), at=AT, anchors=NO_ANCHORS, explicit_trust=False
    )
    assert _slugs(problems) == ["chain-invalid"]
    assert "1.3.6.1.4.1.55555.1" in problems[0][1]


def test_build_chain_prefers_the_issuer_whose_key_signed(pki: dict[str, Issued]) -> None:
    twin = Issued(make("Test Intermediate", pki["root"], path_length=0).cert, make("x").key)
    for pool in (_certs(twin, pki["inter"]), _certs(pki["inter"], twin)):
        assert build_chain(pki["leaf"].cert, pool) == _certs(pki["inter"])


def test_build_chain_stops_on_cross_signed_loop() -> None:
    a = make("CA A", issuer_name=_name("CA B"))  # claims B as issuer; signature is its own
    b = make("CA B", a)
    leaf = make("leaf", b, ca=False)
    chain = build_chain(leaf.cert, _certs(a, b))
    assert chain == _certs(b, a)
    assert not is_self_signed(chain[-1])


def test_self_signed_leaf_has_an_empty_complete_chain() -> None:
    alone = make("alone", ca=False)
    report = check_chain(alone.cert, (), anchors=NO_ANCHORS, at=AT)
    assert report == ChainReport((), True, None, ())


def test_name_key_folds_case_and_whitespace_but_keeps_rdn_order() -> None:
    a = x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, "US"), x509.NameAttribute(NameOID.COMMON_NAME, "Good  CA")]
    )
    b = x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, "us"), x509.NameAttribute(NameOID.COMMON_NAME, " good ca ")]
    )
    reordered = x509.Name(list(reversed(list(a))))
    assert name_key(a) == name_key(b)
    assert name_key(a) != name_key(reordered)


def test_trust_store_issuer_of_requires_the_anchor_key(pki: dict[str, Issued]) -> None:
    store = TrustStore.from_certs([pki["root"].cert, pki["root"].cert])
    assert len(store) == 1 and store.contains(pki["root"].cert)
    assert store.issuer_of(pki["inter"].cert) == pki["root"].cert
    forged = make("Test Intermediate", Issued(pki["root"].cert, make("y").key))
    assert store.issuer_of(forged.cert) is None
    assert store.issuer_of(pki["leaf"].cert) is None


def test_well_known_is_certifi_loaded_once() -> None:
    store = TrustStore.well_known()
    assert store is TrustStore.well_known()
    subjects = {c.subject.rfc4514_string() for c in store.certs}
    assert "CN=ISRG Root X1,O=Internet Security Research Group,C=US" in subjects
    assert len(store) > 100


def test_system_store_includes_well_known() -> None:
    system, known = TrustStore.system(), TrustStore.well_known()
    assert all(system.contains(c) for c in known.certs)


def test_web_pki_profile_accepts_a_well_formed_chain(pki: dict[str, Issued]) -> None:
    anchors = TrustStore.from_certs([pki["root"].cert])
    assert verify_web_pki(pki["leaf"].cert, _certs(pki["inter"]), at=AT, anchors=anchors) == ()


def test_web_pki_profile_rejects_a_name_the_leaf_does_not_cover(pki: dict[str, Issued]) -> None:
    anchors = TrustStore.from_certs([pki["root"].cert])
    problems = verify_web_pki(
        pki["leaf"].cert, _certs(pki["inter"]), at=AT, anchors=anchors, dns_name="other.example.com"
    )
    assert _slugs(problems) == ["chain-invalid"]
    assert "web PKI profile for other.example.com" in problems[0][1]


def test_openssl_error_codes_match_the_linked_openssl() -> None:
    from OpenSSL._util import lib

    for const in (
        "INVALID_CA",
        "PATH_LENGTH_EXCEEDED",
        "KEYUSAGE_NO_CERTSIGN",
        "CERT_SIGNATURE_FAILURE",
        "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
        "UNHANDLED_CRITICAL_EXTENSION",
        "AKID_SKID_MISMATCH",
    ):
        assert getattr(chain_mod, f"_{const}") == getattr(lib, f"X509_V_ERR_{const}"), const
