"""Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP), standard library only.

The second factor of interactive log-on. Pure functions: the caller passes the secret and the
time, so tests run the RFC 6238 Appendix B vectors directly.

    >>> totp(b"12345678901234567890", 59, digits=8)
    '94287082'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from datetime import datetime
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
WINDOW_STEPS = 1
"""Codes of the previous and the next step are accepted too: clocks drift and people type slowly
(RFC 6238 section 5.2 recommends at most one step of skew)."""

_DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def time_step(at: datetime | float, *, step: int = STEP_SECONDS) -> int:
    """The RFC 6238 counter T for ``at`` (a timezone-aware datetime or Unix seconds)."""
    seconds = at.timestamp() if isinstance(at, datetime) else float(at)
    return int(seconds // step)


def hotp(secret: bytes, counter: int, *, digits: int = DIGITS, algorithm: str = "sha1") -> str:
    """RFC 4226 HOTP value of ``counter`` (dynamic truncation, zero-padded to ``digits``)."""
    mac = hmac.new(secret, struct.pack(">Q", counter), _DIGESTS[algorithm]).digest()
    offset = mac[-1] & 0x0F
    binary = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def totp(
    secret: bytes,
    at: datetime | float,
    *,
    digits: int = DIGITS,
    step: int = STEP_SECONDS,
    algorithm: str = "sha1",
) -> str:
    """RFC 6238 TOTP value at time ``at``."""
    return hotp(secret, time_step(at, step=step), digits=digits, algorithm=algorithm)


def matching_step(
    secret: bytes,
    code: str,
    at: datetime | float,
    *,
    window: int = WINDOW_STEPS,
    digits: int = DIGITS,
    step: int = STEP_SECONDS,
) -> int | None:
    """The time step whose code equals ``code`` within ``window`` steps of ``at``, else None.

    The step is returned so the caller can refuse a code of a step already used (RFC 6238 section
    5.2: a verifier must not accept the same one-time password twice).
    """
    if len(code) != digits or not code.isascii() or not code.isdigit():
        return None
    now = time_step(at, step=step)
    found: int | None = None
    for counter in range(now - window, now + window + 1):
        # compare_digest on every candidate: timing must not reveal which step matched
        if hmac.compare_digest(hotp(secret, counter, digits=digits), code) and found is None:
            found = counter
    return found


def encode_secret(secret: bytes) -> str:
    """Base32 without padding, the form authenticator apps expect."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def decode_secret(text: str) -> bytes:
    """Inverse of :func:`encode_secret` (accepts lower case, spaces and missing padding)."""
    cleaned = text.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def provisioning_uri(secret: str, login: str, *, issuer: str = "alpr-ledger") -> str:
    """``otpauth://`` URI (Key Uri Format) for enrolling ``secret`` in an authenticator app."""
    label = quote(f"{issuer}:{login}", safe=":@")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        }
    )
    return f"otpauth://totp/{label}?{query}"


__all__ = [
    "DIGITS",
    "STEP_SECONDS",
    "WINDOW_STEPS",
    "decode_secret",
    "encode_secret",
    "hotp",
    "matching_step",
    "provisioning_uri",
    "time_step",
    "totp",
]
