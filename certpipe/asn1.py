"""A minimal, strict DER reader and encoder (X.690), with the BER leniency real PKCS#12 files need.

The reader never copies more than it returns and never raises anything but ValueError on bad input:
a truncated, over-long or malformed element names what is wrong in a short reason. BER reading
(indefinite lengths, constructed strings, non-minimal lengths) is opt-in per parse, because
PKCS#12 files from Windows, Java and NSS use it; DER mode rejects all three. Nesting is bounded.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

# Tag classes (X.690 8.1.2.2).
UNIVERSAL = 0
APPLICATION = 1
CONTEXT = 2
PRIVATE = 3

# Universal tag numbers used by certpipe.
BOOLEAN = 1
INTEGER = 2
BIT_STRING = 3
OCTET_STRING = 4
NULL = 5
OBJECT_IDENTIFIER = 6
UTF8_STRING = 12
SEQUENCE = 16
SET = 17
BMP_STRING = 30

MAX_CHILDREN = 100_000  # bags, certificates or attributes in one structure; real files have a few
MAX_DEPTH = 48  # PKCS#12 needs about 12 levels per buffer; anything far deeper is hostile
_MAX_LENGTH_OCTETS = 4  # lengths above 4 GiB cannot describe a file certpipe reads

_NAMES = {
    BOOLEAN: "BOOLEAN",
    INTEGER: "INTEGER",
    BIT_STRING: "BIT STRING",
    OCTET_STRING: "OCTET STRING",
    NULL: "NULL",
    OBJECT_IDENTIFIER: "OBJECT IDENTIFIER",
    UTF8_STRING: "UTF8String",
    SEQUENCE: "SEQUENCE",
    SET: "SET",
    BMP_STRING: "BMPString",
}


def tag_name(tag_class: int, number: int) -> str:
    """A human name for a tag, e.g. "SEQUENCE" or "[0]"."""
    if tag_class == UNIVERSAL:
        return _NAMES.get(number, f"universal {number}")
    if tag_class == CONTEXT:
        return f"[{number}]"
    return f"{('application', 'private')[tag_class == PRIVATE]} {number}"


@dataclass(frozen=True, slots=True)
class Tlv:
    """One element of `data`: its tag and where its contents are; value_end excludes a BER end-of-contents."""

    data: bytes = field(repr=False)
    tag_class: int
    tag_number: int
    constructed: bool
    start: int
    value_start: int
    value_end: int
    end: int
    ber: bool = False
    depth: int = 0
    # An indefinite-length element is only found by reading its children; they are kept so that
    # walking a deeply nested BER file reads every element once, not once per enclosing level.
    scanned: tuple[Tlv, ...] | None = field(default=None, repr=False, compare=False)

    @property
    def value(self) -> bytes:
        """The contents octets."""
        return self.data[self.value_start : self.value_end]

    @property
    def encoded(self) -> bytes:
        """The whole element as it appears in the input."""
        return self.data[self.start : self.end]

    @property
    def indefinite(self) -> bool:
        """Whether the element used a BER indefinite length."""
        return self.end != self.value_end

    @property
    def name(self) -> str:
        """A human name for the element's tag."""
        return tag_name(self.tag_class, self.tag_number)

    def is_universal(self, number: int) -> bool:
        """Whether this is the universal tag `number` (either form)."""
        return self.tag_class == UNIVERSAL and self.tag_number == number

    def is_context(self, number: int) -> bool:
        """Whether this is the context-specific tag [number] (either form)."""
        return self.tag_class == CONTEXT and self.tag_number == number

    def expect(self, number: int, what: str, *, tag_class: int = UNIVERSAL) -> Tlv:
        """Return self if it carries the given tag, else raise ValueError naming `what`."""
        if self.tag_class != tag_class or self.tag_number != number:
            raise ValueError(f"{what}: expected {tag_name(tag_class, number)}, found {self.name}")
        # SEQUENCE and SET are always constructed (X.690 8.9.1, 8.11.1).
        if tag_class == UNIVERSAL and number in (SEQUENCE, SET) and not self.constructed:
            raise ValueError(f"{what}: {self.name} must be constructed")
        return self

    def children(self, most: int = MAX_CHILDREN) -> tuple[Tlv, ...]:
        """The elements inside a constructed element, in order (ValueError past `most` of them)."""
        if not self.constructed:
            raise ValueError(f"{self.name} is primitive and has no elements inside")
        if self.scanned is not None:
            if len(self.scanned) > most:
                raise ValueError(f"{self.name} has more than {most} elements")
            return self.scanned
        out: list[Tlv] = []
        pos = self.value_start
        while pos < self.value_end:
            if len(out) >= most:  # stop reading: a hostile file can declare millions of tiny elements
                raise ValueError(f"{self.name} has more than {most} elements")
            child = read(self.data, pos, end=self.value_end, ber=self.ber, depth=self.depth + 1)
            out.append(child)
            pos = child.end
        return tuple(out)

    def sequence(self, what: str, *, min_items: int = 0, max_items: int | None = None) -> tuple[Tlv, ...]:
        """The children of a SEQUENCE, checking their count; ValueError names `what` otherwise."""
        seq = self.expect(SEQUENCE, what)
        try:
            items = seq.children(MAX_CHILDREN if max_items is None else max_items)
        except ValueError:
            raise ValueError(f"{what}: more than {max_items or MAX_CHILDREN} elements") from None
        if len(items) < min_items or (max_items is not None and len(items) > max_items):
            wanted = f"{min_items}" if max_items == min_items else f"{min_items} to {max_items or 'any'}"
            raise ValueError(f"{what}: expected {wanted} elements, found {len(items)}")
        return items


def read(data: bytes, offset: int = 0, *, end: int | None = None, ber: bool = False, depth: int = 0) -> Tlv:
    """Read the element starting at `offset` (and ending by `end`); ValueError if it is malformed."""
    if not isinstance(data, bytes):
        raise TypeError("ASN.1 input must be bytes")
    limit = len(data) if end is None else end
    if depth > MAX_DEPTH:
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
    if offset < 0 or limit > len(data) or offset >= limit:
        raise ValueError(f"truncated: expected an element at offset {offset}")
    pos = offset
    first = data[pos]
    pos += 1
    if first == 0:
        raise ValueError(f"unexpected end-of-contents at offset {offset}")
    tag_class = first >> 6
    constructed = bool(first & 0x20)
    number = first & 0x1F
    if number == 0x1F:  # high-tag-number form (X.690 8.1.2.4)
        number = 0
        for count in range(_MAX_LENGTH_OCTETS + 1):
            if pos >= limit:
                raise ValueError(f"truncated tag at offset {offset}")
            octet = data[pos]
            pos += 1
            if count == 0 and octet == 0x80:
                raise ValueError(f"non-minimal tag at offset {offset}")
            number = (number << 7) | (octet & 0x7F)
            if not octet & 0x80:
                break
        else:
            raise ValueError(f"tag number too large at offset {offset}")
        if number < 0x1F:
            raise ValueError(f"non-minimal tag at offset {offset}")
    if pos >= limit:
        raise ValueError(f"truncated length at offset {offset}")
    octet = data[pos]
    pos += 1
    if octet == 0x80:  # indefinite length (X.690 8.1.3.6): BER only, constructed only
        if not ber:
            raise ValueError(f"indefinite length at offset {offset} is not DER")
        if not constructed:
            raise ValueError(f"indefinite length on a primitive element at offset {offset}")
        value_start = scan = pos
        children: list[Tlv] = []
        while True:
            if scan + 2 <= limit and data[scan] == 0 and data[scan + 1] == 0:
                return Tlv(
                    data,
                    tag_class,
                    number,
                    True,
                    offset,
                    value_start,
                    scan,
                    scan + 2,
                    ber,
                    depth,
                    tuple(children),
                )
            if scan >= limit:
                raise ValueError(f"truncated: no end-of-contents for the element at offset {offset}")
            children.append(read(data, scan, end=limit, ber=True, depth=depth + 1))
            scan = children[-1].end
    if octet < 0x80:
        length = octet
    else:
        count = octet & 0x7F
        if count == 0x7F:
            raise ValueError(f"reserved length octet at offset {offset}")
        if count > _MAX_LENGTH_OCTETS:
            raise ValueError(f"length of {count} octets at offset {offset} is too large")
        if pos + count > limit:
            raise ValueError(f"truncated length at offset {offset}")
        length_octets = data[pos : pos + count]
        pos += count
        length = int.from_bytes(length_octets, "big")
        if not ber and (length_octets[0] == 0 or length < 0x80):  # X.690 10.1: shortest form
            raise ValueError(f"non-minimal length at offset {offset}")
    if pos + length > limit:
        raise ValueError(
            f"truncated: element at offset {offset} needs {length} bytes, only {limit - pos} remain"
        )
    return Tlv(data, tag_class, number, constructed, offset, pos, pos + length, pos + length, ber, depth)


def parse(data: bytes, *, ber: bool = False) -> Tlv:
    """Read `data` as exactly one element; ValueError if malformed or followed by anything."""
    tlv = read(data, 0, ber=ber)
    if tlv.end != len(data):
        raise ValueError(f"{len(data) - tlv.end} bytes of trailing data after the {tlv.name}")
    return tlv


def _primitive(tlv: Tlv, number: int, what: str) -> bytes:
    tlv.expect(number, what)
    if tlv.constructed:
        raise ValueError(f"{what}: constructed {tlv.name} is not allowed")
    return tlv.value


def decode_integer(tlv: Tlv, what: str = "INTEGER") -> int:
    """The value of an INTEGER (X.690 8.3: non-empty, minimally encoded)."""
    value = _primitive(tlv, INTEGER, what)
    if not value:
        raise ValueError(f"{what}: empty INTEGER")
    if len(value) > 1 and ((value[0] == 0x00 and value[1] < 0x80) or (value[0] == 0xFF and value[1] >= 0x80)):
        raise ValueError(f"{what}: INTEGER is not minimally encoded")
    return int.from_bytes(value, "big", signed=True)


def decode_oid(tlv: Tlv, what: str = "OBJECT IDENTIFIER") -> str:
    """The dotted form of an OBJECT IDENTIFIER (X.690 8.19)."""
    value = _primitive(tlv, OBJECT_IDENTIFIER, what)
    if not value or value[-1] & 0x80:
        raise ValueError(f"{what}: malformed OBJECT IDENTIFIER")
    arcs: list[int] = []
    current = 0
    starting = True
    for octet in value:
        if starting and octet == 0x80:
            raise ValueError(f"{what}: OBJECT IDENTIFIER arc is not minimally encoded")
        current = (current << 7) | (octet & 0x7F)
        starting = not octet & 0x80
        if starting:
            arcs.append(current)
            current = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in (first, arcs[0] - 40 * first, *arcs[1:]))


def octet_string_value(tlv: Tlv, what: str = "OCTET STRING") -> bytes:
    """The octets of an OCTET STRING whatever its tag (for IMPLICIT tags), joining BER segments."""
    if not tlv.constructed:
        return tlv.value
    if not tlv.ber:
        raise ValueError(f"{what}: constructed string is not DER")
    # X.690 8.7.3.2: a constructed string is a series of OCTET STRING segments, possibly nested.
    parts: list[bytes] = []
    for child in tlv.children():
        if not child.is_universal(OCTET_STRING):
            raise ValueError(f"{what}: segment of a constructed string is a {child.name}")
        parts.append(octet_string_value(child, what))
    return b"".join(parts)


def decode_octet_string(tlv: Tlv, what: str = "OCTET STRING") -> bytes:
    """The octets of a universal OCTET STRING (constructed form accepted in BER mode)."""
    return octet_string_value(tlv.expect(OCTET_STRING, what), what)


def decode_bmp_string(tlv: Tlv, what: str = "BMPString") -> str:
    """The text of a BMPString (big-endian UTF-16; surrogate pairs accepted as Windows writes them)."""
    value = _primitive(tlv, BMP_STRING, what)
    if len(value) % 2:
        raise ValueError(f"{what}: BMPString has an odd number of bytes")
    try:
        return value.decode("utf-16-be")
    except UnicodeDecodeError:
        raise ValueError(f"{what}: BMPString is not valid UTF-16") from None


def decode_utf8_string(tlv: Tlv, what: str = "UTF8String") -> str:
    """The text of a UTF8String."""
    value = _primitive(tlv, UTF8_STRING, what)
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{what}: UTF8String is not valid UTF-8") from None


def decode_null(tlv: Tlv, what: str = "NULL") -> None:
    """Check that an element is NULL (X.690 8.8: no contents)."""
    if _primitive(tlv, NULL, what):
        raise ValueError(f"{what}: NULL has contents")


# ---- encoder: every helper returns the DER encoding of one element ----


def encode_length(length: int) -> bytes:
    """DER length octets (X.690 10.1: the shortest form)."""
    if length < 0:
        raise ValueError("a length cannot be negative")
    if length < 0x80:
        return bytes([length])
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def encode_tlv(tag_class: int, number: int, constructed: bool, contents: bytes) -> bytes:
    """One element with a low tag number (0-30)."""
    if not 0 <= number < 0x1F or not 0 <= tag_class <= 3:
        raise ValueError("only low tag numbers are supported")
    identifier = (tag_class << 6) | (0x20 if constructed else 0) | number
    return bytes([identifier]) + encode_length(len(contents)) + contents


def sequence(*items: bytes) -> bytes:
    """SEQUENCE of already-encoded elements."""
    return encode_tlv(UNIVERSAL, SEQUENCE, True, b"".join(items))


def set_of(*items: bytes) -> bytes:
    """SET OF already-encoded elements, sorted as DER requires (X.690 11.6)."""
    # X.690 compares encodings padded with trailing zeros; bytes ordering agrees (a prefix sorts first).
    return encode_tlv(UNIVERSAL, SET, True, b"".join(sorted(items)))


def integer(value: int) -> bytes:
    """INTEGER, two's complement in the fewest octets."""
    size = (value + (value < 0)).bit_length() // 8 + 1
    return encode_tlv(UNIVERSAL, INTEGER, False, value.to_bytes(size, "big", signed=True))


@functools.lru_cache(maxsize=256)  # the writer encodes the same dozen OIDs for every file
def oid(dotted: str) -> bytes:
    """OBJECT IDENTIFIER from its dotted form."""
    try:
        arcs = [int(arc) for arc in dotted.split(".")]
    except ValueError:
        raise ValueError(f"not a dotted OID: {dotted!r}") from None
    if len(arcs) < 2 or arcs[0] > 2 or min(arcs) < 0 or (arcs[0] < 2 and arcs[1] >= 40):
        raise ValueError(f"not a valid OID: {dotted!r}")
    out = bytearray()
    for arc in (40 * arcs[0] + arcs[1], *arcs[2:]):
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return encode_tlv(UNIVERSAL, OBJECT_IDENTIFIER, False, bytes(out))


def octet_string(value: bytes) -> bytes:
    """OCTET STRING (primitive)."""
    return encode_tlv(UNIVERSAL, OCTET_STRING, False, value)


def bmp_string(text: str) -> bytes:
    """BMPString, big-endian UTF-16."""
    return encode_tlv(UNIVERSAL, BMP_STRING, False, text.encode("utf-16-be"))


def utf8_string(text: str) -> bytes:
    """UTF8String."""
    return encode_tlv(UNIVERSAL, UTF8_STRING, False, text.encode("utf-8"))


def null() -> bytes:
    """NULL."""
    return b"\x05\x00"


def explicit(number: int, *items: bytes) -> bytes:
    """[number] EXPLICIT: a constructed context tag around already-encoded elements."""
    return encode_tlv(CONTEXT, number, True, b"".join(items))


def implicit(number: int, contents: bytes, *, constructed: bool = False) -> bytes:
    """[number] IMPLICIT: a context tag replacing the tag of an element with these contents."""
    return encode_tlv(CONTEXT, number, constructed, contents)


def sequence_contents(der: bytes) -> bytes | None:
    """What follows an outer SEQUENCE header (for sniffing a format by its first elements), or None.

    Only the header is checked; BER indefinite length is accepted (some PFX writers use it).
    """
    if len(der) < 2 or der[0] != 0x30:
        return None
    first = der[1]
    if first < 0x80:
        return der[2:]
    n = first & 0x7F
    if n == 0:
        return der[2:]
    if n > 4 or len(der) < 2 + n:
        return None
    return der[2 + n :]
