"""parse(detected, passwords) -> Parsed: cryptography objects out, library errors turned into findings."""

from __future__ import annotations

from collections.abc import Sequence

from ..catalog import UNREADABLE_INPUT
from ..models import Detected, Format, Kind, Parsed
from .akvjson import parse_akv_json
from .der import parse_der
from .pem import parse_pem
from .pkcs7 import parse_pkcs7

DEFAULT_MAX_ITERATIONS = 2_000_000


def parse(
    detected: Detected, passwords: Sequence[bytes | None], max_iterations: int = DEFAULT_MAX_ITERATIONS
) -> Parsed:
    """Everything in one detected file; never raises for bad input."""
    path = detected.path
    try:
        if detected.kind == Kind.PEM_TEXT:
            return parse_pem(detected.data.decode("utf-8"), path, passwords, detected.format, max_iterations)
        if detected.kind == Kind.JSON:
            from .pkcs12 import parse_pkcs12

            return parse_akv_json(
                detected.data,
                path,
                passwords,
                lambda data, src, pw: parse_pkcs12(data, src, pw, max_iterations),
                lambda data, src, pw: parse_pem(
                    data.decode("utf-8", "replace"), src, pw, Format.PEM, max_iterations
                ),
            )
        if detected.kind == Kind.DER:
            if detected.format is Format.PKCS12:
                from .pkcs12 import parse_pkcs12

                return parse_pkcs12(detected.data, path, passwords, max_iterations)
            if detected.format is Format.PKCS7:
                return parse_pkcs7(detected.data, path)
            return parse_der(detected.data, path, passwords, max_iterations)
    except RecursionError:
        pass
    reason = detected.reason or "nested too deeply to be read"
    return Parsed(path, Format.UNKNOWN, findings=(UNREADABLE_INPUT.finding(f"{path}: {reason}.", path),))
