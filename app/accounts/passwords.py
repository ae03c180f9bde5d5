"""Password hashing with Argon2id (argon2-cffi), the OWASP-recommended default."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# Hash of a password nobody has: verified against when the email is unknown, so a login attempt
# takes the same time whether or not the account exists.
DUMMY_HASH = _hasher.hash("no-such-account-placeholder")
