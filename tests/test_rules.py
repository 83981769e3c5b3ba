"""Every rule fires on a small input that breaks it and stays silent on one that does not."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import AT, FIXTURES, fixtures_result
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from helpers import END, item, make_cert

from certpipe import catalog
from certpipe.validate import Context, file_findings, validate
from certpipe.validate.trust import TrustStore


def rules_of(it, ctx=None):
    ctx = ctx or Context(at=AT, well_known=TrustStore.empty())
    return {f.rule for f in validate([it], ctx)[0].findings}


def fixture_item_rules(rel: str) -> set[str]:
    path = f"{FIXTURES}/{rel}"
    found = [i for i in fixtures_result().items if path in i.sources]
    assert found, rel
    return {f.rule for i in found for f in i.findings}


def fixture_file_rules(rel: str) -> set[str]:
    path = f"{FIXTURES}/{rel}"
    return {f.rule for r in fixtures_result().files if r.path == path for f in r.findings}


# (rule, fixture that breaks it, fixture that does not) for rules judged on items.
ITEM_CASES = [
    ("no-private-key", "nokey/nokey.crt", "pem-pair/site.crt"),
    ("key-mismatch", "mismatch/mismatched.pem", "bundle/combined.pem"),
    ("expired", "expired/expired.pem", "pem-pair/site.crt"),
    ("not-yet-valid", "future/notyet.pem", "pem-pair/site.crt"),
    ("expiring-soon", "expiring/soon.pem", "pem-pair/site.crt"),
    ("unsupported-key", "ed25519/ed25519.pem", "der/leaf.cer"),
    ("unsupported-key", "weak/rsa1024.pem", "pem-pair/site.crt"),
    ("weak-signature", "sha1/sha1.pem", "pem-pair/site.crt"),
    ("chain-incomplete", "incomplete/unknown-issuer.pem", "bundle/combined.pem"),
    ("chain-order", "chainorder/reversed.pem", "bundle/combined.pem"),
    ("key-format", "pkcs1/rsa.crt", "pem-pair/site.crt"),
    ("key-format", "sec1/ec.crt", "der/leaf.cer"),
    ("key-format", "encrypted/enc.crt", "pem-pair/site.crt"),
    ("key-format", "encrypted/legacy-enc.pem", "pem-pair/site.crt"),
    ("duplicate", "duplicate/site-copy.crt", "bundle/combined.pem"),
    ("secret-too-large", "big/big.pem", "pem-pair/site.crt"),
    ("name-collision", "collision/b.pem", "wildcard/wildcard.pem"),
    ("conflicting-certs", "collision/a.pem", "wildcard/wildcard.pem"),
    ("weak-key", "weak/rsa1024.pem", "pem-pair/site.crt"),
]


@pytest.mark.parametrize(("rule", "bad", "good"), ITEM_CASES, ids=lambda v: str(v))
def test_item_rule_fires_and_stays_silent(rule, bad, good):
    assert rule in fixture_item_rules(bad)
    assert rule not in fixture_item_rules(good)


@pytest.mark.parametrize(
    ("rule", "bad", "good"),
    [
        ("unreadable-input", "broken/truncated.pem", "pem-pair/site.crt"),
        ("unreadable-input", "broken/garbage.pfx", "pfx/nopass.pfx"),
        ("unreadable-input", "broken/empty.crt", "der/leaf.cer"),
        ("unreadable-input", "hostile/iterations.p12", "pfx/legacy.p12"),
        ("password-required", "locked/locked.pfx", "pfx/modern.pfx"),
        ("orphan-key", "orphan/lonely.key", "pem-pair/site.key"),
    ],
    ids=lambda v: str(v),
)
def test_file_rule_fires_and_stays_silent(rule, bad, good):
    assert rule in fixture_file_rules(bad)
    assert rule not in fixture_file_rules(good)


def test_expiring_soon_respects_the_warning_window():
    cert, key = make_cert(end=AT + dt.timedelta(days=10))
    assert "expiring-soon" in rules_of(item(cert, key), Context(at=AT, expiry_warn_days=30))
    assert "expiring-soon" not in rules_of(item(cert, key), Context(at=AT, expiry_warn_days=5))


def test_expired_is_judged_at_the_given_instant():
    cert, key = make_cert()
    assert "expired" not in rules_of(item(cert, key), Context(at=AT))
    assert "expired" in rules_of(item(cert, key), Context(at=END + dt.timedelta(seconds=1)))


def test_missing_san():
    bare, key = make_cert(sans=())
    good, key2 = make_cert()
    assert "missing-san" in rules_of(item(bare, key))
    assert "missing-san" not in rules_of(item(good, key2))


def test_leaf_is_ca():
    ca_leaf, key = make_cert(ca=True)
    plain_ca, key2 = make_cert("Private CA", ca=True, sans=(), eku=())
    assert "leaf-is-ca" in rules_of(item(ca_leaf, key))
    assert "leaf-is-ca" not in rules_of(item(plain_ca, key2))


def test_weak_key_for_small_ec_curves():
    small, key = make_cert(key=ec.generate_private_key(ec.SECP192R1()))
    good, key2 = make_cert()
    assert {"weak-key", "unsupported-key"} <= rules_of(item(small, key))
    assert not {"weak-key", "unsupported-key"} & rules_of(item(good, key2))


def test_validity_too_long_only_for_publicly_trusted_tls_leaves():
    root, root_key = make_cert("Public Root", ca=True, sans=(), eku=())
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    long_, key = make_cert(issuer=root, issuer_key=root_key, start=start, end=start + dt.timedelta(days=500))
    short, key2 = make_cert(issuer=root, issuer_key=root_key, start=start, end=start + dt.timedelta(days=397))
    public = Context(at=AT, well_known=TrustStore.from_certs([root]))
    private = Context(at=AT, well_known=TrustStore.empty())
    assert "validity-too-long" in rules_of(item(long_, key, [root]), public)
    assert "validity-too-long" not in rules_of(item(short, key2, [root]), public)
    assert "validity-too-long" not in rules_of(item(long_, key, [root]), private)


def test_tls_usage():
    client, key = make_cert(eku=(ExtendedKeyUsageOID.CLIENT_AUTH,))
    no_sig, key2 = make_cert(key_usage={"key_encipherment": True})  # EC key: can't use keyEncipherment
    good, key3 = make_cert(key_usage={"digital_signature": True})
    assert "tls-usage" in rules_of(item(client, key))
    assert "tls-usage" in rules_of(item(no_sig, key2))
    assert "tls-usage" not in rules_of(item(good, key3))


def test_bad_serial():
    import warnings

    from conftest import vectors_dir
    from cryptography import x509

    # cryptography refuses to build such serials; the vectors ship a real certificate with a negative one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        negative = x509.load_pem_x509_certificate(
            (vectors_dir() / "x509/custom/negative_serial.pem").read_bytes()
        )
        assert negative.serial_number < 0
        assert "bad-serial" in rules_of(item(negative))
    good, key2 = make_cert(serial=(1 << 158))  # 20 octets: the most RFC 5280 allows
    assert "bad-serial" not in rules_of(item(good, key2))


def test_unencrypted_key_is_a_file_rule_off_by_default():
    from certpipe.validate import DEFAULT_DISABLED

    assert "unencrypted-key" in DEFAULT_DISABLED
    parsed = [p for p in fixtures_result().parsed if p.path.endswith(("site.key", "enc.key"))]
    found = {f.source.rsplit("/", 1)[-1] for f in file_findings(parsed)}
    assert found == {"site.key"}


def test_chain_invalid_names_the_failing_link():
    root, root_key = make_cert("Root", ca=True, sans=(), eku=())
    not_ca, mid_key = make_cert("Not A CA", issuer=root, issuer_key=root_key, sans=(), eku=())
    leaf, key = make_cert(issuer=not_ca, issuer_key=mid_key)
    found = validate([item(leaf, key, [not_ca, root])], Context(at=AT, well_known=TrustStore.empty()))[0]
    invalid = [f for f in found.findings if f.rule == "chain-invalid"]
    assert len(invalid) == 1 and "Not A CA" in invalid[0].message
    good_mid, good_key = make_cert("Good CA", ca=True, issuer=root, issuer_key=root_key, sans=(), eku=())
    leaf2, key2 = make_cert(issuer=good_mid, issuer_key=good_key)
    assert "chain-invalid" not in rules_of(item(leaf2, key2, [good_mid, root]))


def test_untrusted_root_only_when_anchors_are_given():
    root, root_key = make_cert("Root", ca=True, sans=(), eku=())
    other, _ = make_cert("Other Root", ca=True, sans=(), eku=())
    leaf, key = make_cert(issuer=root, issuer_key=root_key)
    it = item(leaf, key, [root])
    base = dict(at=AT, well_known=TrustStore.empty())
    assert "untrusted-root" in rules_of(
        it, Context(**base, anchors=TrustStore.from_certs([other]), explicit_trust=True)
    )
    assert "untrusted-root" not in rules_of(
        it, Context(**base, anchors=TrustStore.from_certs([root]), explicit_trust=True)
    )
    assert "untrusted-root" not in rules_of(it, Context(**base))


def test_every_catalogued_rule_is_covered_by_a_test_here():
    import inspect
    import sys

    text = inspect.getsource(sys.modules[__name__])
    missing = [r.slug for r in catalog.RULES if f'"{r.slug}"' not in text]
    assert missing == []


def test_export_failed_fires_on_a_conflicting_file_and_not_on_a_clean_export(run_cli, tmp_path):
    from conftest import NOW

    args = ("export", FIXTURES / "pem-pair", FIXTURES / "ca", "--to", "pem", "--now", NOW, "--format", "json")
    clean = tmp_path / "clean"
    code, out, _ = run_cli(*args, "--out", clean)
    assert code == 0 and "export-failed" not in out
    (clean / "site-example-com" / "leaf.pem").write_text("not the leaf\n")
    code, out, _ = run_cli(*args, "--out", clean)
    assert code == 1 and '"rule": "export-failed"' in out
