"""JSON that Azure Key Vault returns or accepts: SecretBundle, CertificateBundle, import request."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ..catalog import UNREADABLE_INPUT
from ..errors import InputError
from ..models import Format, Parsed
from .common import cert_record

PKCS12_TYPE = "application/x-pkcs12"
PEM_TYPE = "application/x-pem-file"

# (data, source, passwords) -> Parsed, for the formats a secret value can hold.
Reader = Callable[[bytes, str, Sequence[bytes | None]], Parsed]


def parse_akv_json(
    text: bytes, source: str, passwords: Sequence[bytes | None], read_pkcs12: Reader, read_pem: Reader
) -> Parsed:
    """The certificate material inside an AKV JSON document; other JSON is skipped, not an error."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return _skip(source, "JSON that is not an Azure Key Vault document")
    if not isinstance(doc, dict):
        return _skip(source, "JSON that is not an Azure Key Vault document")
    try:
        if isinstance(doc.get("value"), str):
            content_type = _content_type(doc)
            value: str = doc["value"]
            if content_type not in (None, PEM_TYPE, PKCS12_TYPE) and "-----BEGIN" not in value:
                # A secret AKV holds for something else (a connection string, a token): not an input.
                return _skip(
                    source, f"an AKV secret of content type {content_type!r}, not certificate material"
                )
            if content_type == PEM_TYPE or "-----BEGIN" in value:
                pem = value if "-----BEGIN" in value else _b64(value).decode("utf-8", "replace")
                if "-----BEGIN" not in pem:
                    raise InputError(f"its contentType is {PEM_TYPE} but its value holds no PEM block")
                parsed = read_pem(pem.encode("utf-8"), source, passwords)
                content_type = PEM_TYPE
            else:
                extra = [doc["pwd"].encode("utf-8")] if isinstance(doc.get("pwd"), str) else []
                parsed = read_pkcs12(_b64(value), source, (*passwords, *extra))
                content_type = PKCS12_TYPE
            return replace(parsed, format=Format.AKV_JSON, content_type=content_type, pkcs12=parsed.pkcs12)
        if isinstance(doc.get("cer"), str):
            return Parsed(source, Format.AKV_JSON, certs=(cert_record(_b64(doc["cer"]), source),))
    except InputError as exc:
        finding = UNREADABLE_INPUT.finding(
            f"{source}: Azure Key Vault JSON with unreadable content: {exc}.", source
        )
        return Parsed(source, Format.AKV_JSON, findings=(finding,))
    if "key" in doc and isinstance(doc["key"], dict):
        return _skip(source, "an AKV key bundle (public key only, nothing to import)")
    return _skip(source, "JSON that is not an Azure Key Vault document")


def _content_type(doc: dict[str, Any]) -> str | None:
    """The secret's media type, lower case without parameters (AKV stores whatever the caller set)."""
    ct = doc.get("contentType")
    if not isinstance(ct, str):
        policy = doc.get("policy")
        props = policy.get("secret_props") if isinstance(policy, dict) else None
        ct = props.get("contentType") if isinstance(props, dict) else None
    if not isinstance(ct, str) or not ct.strip():
        return None
    return ct.split(";", 1)[0].strip().lower()


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        try:
            padded = value.strip() + "=" * (-len(value.strip()) % 4)
            return base64.urlsafe_b64decode(padded)
        except (binascii.Error, ValueError) as exc:
            raise InputError("its value is not base64") from exc


def _skip(source: str, why: str) -> Parsed:
    return Parsed(source, Format.AKV_JSON, skipped=why)
