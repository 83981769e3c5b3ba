"""Cheap consistency checks for private keys loaded with cryptography's validation skipped.

`load_der_private_key(..., unsafe_skip_rsa_key_validation=True)` saves 38-264 ms per RSA key by not
running OpenSSL's full check (which includes primality tests). What that check also catches, and what
makes a key unsafe to use (a CRT fault leaks the factors), is an inconsistent set of CRT values; those
arithmetic checks cost microseconds, so parsers run them here instead.
"""

from __future__ import annotations

import math

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


def check_rsa_consistency(key: PrivateKeyTypes) -> str | None:
    """Why an RSA private key's numbers disagree (RFC 8017 3.2), or None if consistent or not RSA."""
    if not isinstance(key, rsa.RSAPrivateKey):
        return None
    numbers = key.private_numbers()
    n = numbers.public_numbers.n
    e = numbers.public_numbers.e
    p, q, d = numbers.p, numbers.q, numbers.d
    if p < 3 or q < 3 or p == q:
        return "its primes p and q are not two distinct odd numbers"
    if p * q != n:
        return "p*q does not equal the modulus"
    if e < 3 or e % 2 == 0 or e >= n:
        return "its public exponent is not an odd number between 3 and the modulus"
    if not 0 < d < n:
        return "its private exponent is out of range"
    if (e * d) % math.lcm(p - 1, q - 1) != 1:
        return "e*d is not 1 modulo lcm(p-1, q-1)"
    if numbers.dmp1 != d % (p - 1):
        return "its CRT exponent dP is not d mod (p-1)"
    if numbers.dmq1 != d % (q - 1):
        return "its CRT exponent dQ is not d mod (q-1)"
    if not 0 < numbers.iqmp < p or (numbers.iqmp * q) % p != 1:
        return "its CRT coefficient qInv is not the inverse of q mod p"
    return None
