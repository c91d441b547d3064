"""API key secrets: made once, shown once, kept only as a salted hash.

Keys are long random strings, not passwords, so one round of SHA-256 with a per-key salt is
enough to make a stolen table useless, and cheap enough to check on every request (a slow
password hash would cost more than the whole gateway does). The key's first characters are
its ``prefix``: stored in clear, indexed, and shown on screen so people can tell keys apart.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_MARK = "hth_"
PREFIX_LENGTH = len(KEY_MARK) + 8


def new_secret() -> str:
    return f"{KEY_MARK}{secrets.token_hex(4)}_{secrets.token_urlsafe(30)}"


def prefix_of(secret: str) -> str | None:
    """The stored prefix a secret would have, or None when it is not shaped like our keys."""
    if not secret.startswith(KEY_MARK) or len(secret) <= PREFIX_LENGTH + 1:
        return None
    return secret[:PREFIX_LENGTH]


def new_salt() -> str:
    return secrets.token_hex(16)


def hash_secret(secret: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def secret_matches(secret: str, salt: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret, salt), stored_hash)
