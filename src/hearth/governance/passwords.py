"""User passwords: kept only as a salted scrypt hash, checked in constant time.

Unlike API keys (long random strings, see ``keys``), passwords are chosen by people and can
be guessed, so each check must be slow and memory-hard: scrypt from the standard library,
with its parameters stored beside the hash so they can be raised later without breaking
the passwords already set. A check for a user with no password runs the same hash against
a dummy, so timing does not tell a wrong password from an unknown user.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

MIN_LENGTH = 10
MAX_LENGTH = 1024  # bounds the work one sign-in can ask of the server
# One of OWASP's recommended scrypt settings: 32 MiB and about a tenth of a second a check.
_N, _R, _P = 2**15, 8, 3
_MAXMEM = 64 * 1024 * 1024
_SCHEME = "scrypt"


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM,
                          dklen=32)


def check_strength(password: str) -> None:
    """Refuse a password too short to resist guessing (or too long to hash cheaply)."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ValueError(f"A password has {MIN_LENGTH} to {MAX_LENGTH} characters.")


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (hex): everything needed to check it later."""
    salt = secrets.token_bytes(16)
    digest = _derive(password, salt, _N, _R, _P)
    return f"{_SCHEME}${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


@cache
def _dummy() -> str:
    """What a user without a password is checked against (made once, when first needed)."""
    return hash_password(secrets.token_urlsafe(16))


def password_matches(password: str, stored: str | None) -> bool:
    """Whether ``password`` is the one ``stored`` was made from; False, after the same
    work, when there is none."""
    scheme, n, r, p, salt, digest = (stored or _dummy()).split("$")
    if scheme != _SCHEME or len(password) > MAX_LENGTH:
        return False
    match = hmac.compare_digest(_derive(password, bytes.fromhex(salt), int(n), int(r), int(p)),
                                bytes.fromhex(digest))
    return match and stored is not None
