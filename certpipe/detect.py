"""Decide what a file holds by its content; the extension only breaks ties."""

from __future__ import annotations

import base64
import binascii
import codecs
import re

from . import asn1
from .models import Detected, Format, Kind, SourceFile

_PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 #]+)-----")
_B64_TEXT = re.compile(rb"[A-Za-z0-9+/=\s]+")
_OID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")
_OID_DATA = bytes.fromhex("06092a864886f70d010701")


def detect(source: SourceFile) -> Detected:
    """Sniff one file: PEM (any encoding), AKV JSON, DER (PKCS#12, PKCS#7, certificate, key), base64 DER."""
    data = source.data
    if not data.strip(b"\x00 \t\r\n"):
        return Detected(source.path, Format.UNKNOWN, Kind.NONE, b"", "the file is empty")
    text = _decode_text(data)
    if text is not None:
        stripped = text.strip()
        # JSON first: an AKV secret of content type application/x-pem-file holds "-----BEGIN" in its value.
        if stripped.startswith("{") and _is_json(stripped):
            return Detected(source.path, Format.AKV_JSON, Kind.JSON, stripped.encode("utf-8"))
        if "-----BEGIN " in text:
            labels = set(_PEM_BEGIN.findall(text))
            fmt = Format.PKCS7 if labels and labels <= {"PKCS7", "CMS"} else Format.PEM
            return Detected(source.path, fmt, Kind.PEM_TEXT, text.encode("utf-8"))
        if stripped.startswith("{"):
            return Detected(source.path, Format.AKV_JSON, Kind.JSON, stripped.encode("utf-8"))
        raw = stripped.encode("ascii", "ignore")
        if len(raw) >= 16 and _B64_TEXT.fullmatch(raw):
            try:
                der = base64.b64decode(b"".join(raw.split()), validate=True)
            except (binascii.Error, ValueError):
                der = b""
            if der[:1] == b"\x30":
                return Detected(source.path, der_format(der), Kind.DER, der)
    if data[:1] == b"\x30":
        return Detected(source.path, der_format(data), Kind.DER, data)
    return Detected(
        source.path,
        Format.UNKNOWN,
        Kind.NONE,
        b"",
        "not PEM, DER, PKCS#12, PKCS#7 or AKV JSON" if text is None else "text without any PEM block",
    )


def _is_json(text: str) -> bool:
    import json

    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def der_format(der: bytes) -> Format:
    """Classify a DER blob by its first elements: PKCS#12 PFX, PKCS#7 SignedData, else plain DER."""
    body = asn1.sequence_contents(der)
    if body is None:
        return Format.DER
    if body.startswith(b"\x02\x01\x03") and _OID_DATA in body[3:20]:
        return Format.PKCS12  # PFX: version INTEGER 3, then a ContentInfo of type data (RFC 7292 4)
    if body.startswith(_OID_SIGNED_DATA):
        return Format.PKCS7
    return Format.DER


def _decode_text(data: bytes) -> str | None:
    """Text if the bytes are text: UTF-8 (BOM tolerated) or UTF-16 with a BOM; else None."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: FF FE 00 00 starts both
        try:
            return data.decode("utf-32")
        except UnicodeDecodeError:
            return None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if b"\x00" in data[:4096]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        if b"-----BEGIN " in data:
            return data.decode("latin-1")  # stray bytes around PEM blocks are tolerated
        return None
