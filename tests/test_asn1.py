"""certpipe.asn1: strict DER reading, opt-in BER leniency, ValueError on every malformed input, DER output."""

from __future__ import annotations

import contextlib
import random
import time
from pathlib import Path

import cryptography_vectors
import pytest

from certpipe import asn1

VECTORS = Path(cryptography_vectors.__file__).parent


def _walk(tlv: asn1.Tlv) -> int:
    """Visit every element below `tlv` (as a reader would) and count them."""
    count = 1
    if tlv.constructed:
        for child in tlv.children():
            count += _walk(child)
    return count


def test_reads_a_sequence_of_an_integer() -> None:
    tlv = asn1.parse(bytes.fromhex("3003020105"))
    assert (tlv.tag_class, tlv.tag_number, tlv.constructed) == (asn1.UNIVERSAL, asn1.SEQUENCE, True)
    assert (tlv.start, tlv.value_start, tlv.value_end, tlv.end) == (0, 2, 5, 5)
    (child,) = tlv.children()
    assert asn1.decode_integer(child) == 5
    assert child.encoded == bytes.fromhex("020105")


@pytest.mark.parametrize(
    ("encoding", "value"),
    [
        ("020100", 0),
        ("02017f", 127),
        ("02020080", 128),
        ("0201ff", -1),
        ("020180", -128),
        ("0202ff7f", -129),
        ("02047fffffff", 2**31 - 1),
        ("0209008000000000000000", 2**63),
    ],
)
def test_decodes_integers(encoding: str, value: int) -> None:
    assert asn1.decode_integer(asn1.parse(bytes.fromhex(encoding))) == value
    assert asn1.integer(value).hex() == encoding


@pytest.mark.parametrize(
    ("encoding", "reason"),
    [
        ("0200", "empty INTEGER"),
        ("02020001", "not minimally encoded"),
        ("0202ff80", "not minimally encoded"),
        ("0401ff", "expected INTEGER, found OCTET STRING"),
        ("2203020100", "constructed INTEGER"),
    ],
)
def test_rejects_bad_integers(encoding: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        asn1.decode_integer(asn1.read(bytes.fromhex(encoding), ber=True))


@pytest.mark.parametrize(
    ("encoding", "dotted"),
    [
        ("06092a864886f70d010101", "1.2.840.113549.1.1.1"),
        ("06052b0e03021a", "1.3.14.3.2.26"),
        ("0603883703", "2.999.3"),
        ("060100", "0.0"),
    ],
)
def test_decodes_and_encodes_oids(encoding: str, dotted: str) -> None:
    assert asn1.decode_oid(asn1.parse(bytes.fromhex(encoding))) == dotted
    assert asn1.oid(dotted).hex() == encoding


@pytest.mark.parametrize("encoding", ["0600", "06022a86", "06032a8001"])
def test_rejects_malformed_oids(encoding: str) -> None:
    with pytest.raises(ValueError, match="OBJECT IDENTIFIER"):
        asn1.decode_oid(asn1.parse(bytes.fromhex(encoding)))


@pytest.mark.parametrize("dotted", ["1", "3.1", "1.40", "1.2.x", "1.-2"])
def test_refuses_to_encode_invalid_oids(dotted: str) -> None:
    with pytest.raises(ValueError, match="OID"):
        asn1.oid(dotted)


def test_bmp_and_utf8_strings_round_trip() -> None:
    assert asn1.bmp_string("☺ä").hex() == "1e04263a00e4"
    assert asn1.decode_bmp_string(asn1.parse(asn1.bmp_string("name2"))) == "name2"
    assert asn1.decode_utf8_string(asn1.parse(asn1.utf8_string("ç"))) == "ç"
    with pytest.raises(ValueError, match="odd number of bytes"):
        asn1.decode_bmp_string(asn1.parse(bytes.fromhex("1e0300e400")))
    with pytest.raises(ValueError, match="not valid UTF-16"):
        asn1.decode_bmp_string(asn1.parse(bytes.fromhex("1e02d800")))
    with pytest.raises(ValueError, match="not valid UTF-8"):
        asn1.decode_utf8_string(asn1.parse(bytes.fromhex("0c01ff")))


def test_null_and_lengths() -> None:
    asn1.decode_null(asn1.parse(asn1.null()))
    with pytest.raises(ValueError, match="NULL has contents"):
        asn1.decode_null(asn1.parse(bytes.fromhex("050100")))
    assert asn1.encode_length(127).hex() == "7f"
    assert asn1.encode_length(128).hex() == "8180"
    assert asn1.encode_length(300).hex() == "82012c"
    assert asn1.octet_string(bytes(300))[:4].hex() == "0482012c"


def test_set_of_is_sorted_as_der_requires() -> None:
    encoded = asn1.set_of(asn1.integer(256), asn1.integer(5), asn1.octet_string(b""))
    assert encoded.hex() == "3109020105020201000400"
    assert asn1.set_of(asn1.octet_string(b"ab"), asn1.octet_string(b"a")).hex() == "310704016104026162"


def test_context_tags() -> None:
    explicit = asn1.explicit(0, asn1.integer(1))
    assert explicit.hex() == "a003020101"
    tlv = asn1.parse(explicit)
    assert tlv.is_context(0) and tlv.constructed and tlv.name == "[0]"
    implicit = asn1.implicit(1, b"ab")
    assert implicit.hex() == "81026162"
    assert asn1.octet_string_value(asn1.parse(implicit)) == b"ab"


def test_high_tag_numbers() -> None:
    tlv = asn1.parse(bytes.fromhex("bf810000"))
    assert (tlv.tag_class, tlv.tag_number, tlv.constructed) == (asn1.CONTEXT, 128, True)
    with pytest.raises(ValueError, match="non-minimal tag"):
        asn1.parse(bytes.fromhex("9f800100"))
    with pytest.raises(ValueError, match="non-minimal tag"):
        asn1.parse(bytes.fromhex("9f0500"))
    with pytest.raises(ValueError, match="tag number too large"):
        asn1.parse(bytes.fromhex("9f8181818181"))


def test_der_mode_rejects_ber_forms_that_ber_mode_accepts() -> None:
    indefinite = bytes.fromhex("308002010124800402616204016300000000")
    with pytest.raises(ValueError, match="indefinite length at offset 0 is not DER"):
        asn1.parse(indefinite)
    tlv = asn1.parse(indefinite, ber=True)
    assert tlv.indefinite and (tlv.value_end, tlv.end) == (len(indefinite) - 2, len(indefinite))
    number, string = tlv.children()
    assert asn1.decode_integer(number) == 1
    assert asn1.decode_octet_string(string) == b"abc"

    long_form = bytes.fromhex("048103616263")
    with pytest.raises(ValueError, match="non-minimal length"):
        asn1.parse(long_form)
    assert asn1.decode_octet_string(asn1.parse(long_form, ber=True)) == b"abc"

    constructed = bytes.fromhex("240704016104026263")
    with pytest.raises(ValueError, match="constructed string is not DER"):
        asn1.decode_octet_string(asn1.parse(constructed))
    assert asn1.decode_octet_string(asn1.parse(constructed, ber=True)) == b"abc"


@pytest.mark.parametrize(
    ("encoding", "reason"),
    [
        ("", "truncated: expected an element"),
        ("30", "truncated length"),
        ("3005020101", "needs 5 bytes, only 3 remain"),
        ("3084", "truncated length"),
        ("3085000000000100", "length of 5 octets"),
        ("30ff", "reserved length octet"),
        ("0000", "unexpected end-of-contents"),
        ("048000", "indefinite length on a primitive"),
        ("30800201010000aa", "trailing data"),
        ("3080020101", "no end-of-contents"),
        ("3003020101ff", "1 bytes of trailing data"),
        ("2403020161", "segment of a constructed string is a INTEGER"),
    ],
)
def test_malformed_input_raises_value_error_with_a_reason(encoding: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        tlv = asn1.parse(bytes.fromhex(encoding), ber=True)
        asn1.decode_octet_string(tlv) if tlv.is_universal(asn1.OCTET_STRING) else _walk(tlv)


def test_expect_and_sequence_report_what_was_wanted() -> None:
    tlv = asn1.parse(bytes.fromhex("3003020105"))
    with pytest.raises(ValueError, match="PFX: expected SET, found SEQUENCE"):
        tlv.expect(asn1.SET, "PFX")
    with pytest.raises(ValueError, match="MacData: expected 2 to 3 elements, found 1"):
        tlv.sequence("MacData", min_items=2, max_items=3)
    with pytest.raises(ValueError, match="SEQUENCE must be constructed"):
        asn1.parse(bytes.fromhex("1000")).expect(asn1.SEQUENCE, "x")
    with pytest.raises(ValueError, match="primitive and has no elements"):
        asn1.parse(bytes.fromhex("0400")).children()
    with pytest.raises(TypeError):
        asn1.parse("30 00")  # type: ignore[arg-type]


def test_nesting_is_bounded() -> None:
    bomb = b"\x30\x80" * 10_000
    with pytest.raises(ValueError, match="nested more than 48 levels"):
        asn1.parse(bomb, ber=True)
    definite = b""
    for _ in range(60):
        definite = asn1.sequence(definite)
    with pytest.raises(ValueError, match="nested more than 48 levels"):
        _walk(asn1.parse(definite))


def test_reads_a_real_pkcs12_file() -> None:
    data = (VECTORS / "pkcs12" / "cert-none-key-none.p12").read_bytes()
    pfx = asn1.parse(data)  # OpenSSL writes DER
    version, auth_safe, mac_data = pfx.children()
    assert asn1.decode_integer(version) == 3
    content_type, content = auth_safe.children()
    assert asn1.decode_oid(content_type) == "1.2.840.113549.1.7.1"
    octets = asn1.decode_octet_string(content.children()[0])
    assert len(asn1.parse(octets).children()) == 2  # a certificate safe and a key safe
    assert asn1.decode_integer(mac_data.children()[2]) == 2048
    assert _walk(pfx) == 14


def test_every_truncation_and_mutation_of_a_real_file_raises_only_value_error() -> None:
    data = (VECTORS / "pkcs12" / "cert-rc2-key-3des.p12").read_bytes()
    for cut in range(len(data)):
        with pytest.raises(ValueError):
            _walk(asn1.parse(data[:cut], ber=True))
    rng = random.Random(7292)
    for _ in range(2000):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        with contextlib.suppress(ValueError):
            _walk(asn1.parse(bytes(mutated), ber=True))


def test_deep_and_wide_ber_is_read_in_linear_time() -> None:
    # Each element is read once however many indefinite-length levels enclose it.
    data = b"\x30\x80" * 46 + b"\x05\x00" * 50_000 + b"\x00\x00" * 46
    start = time.perf_counter()
    assert _walk(asn1.parse(data, ber=True)) == 50_046
    assert time.perf_counter() - start < 1.0
