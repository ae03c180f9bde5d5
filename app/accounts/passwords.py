"""Password hashing with Argon2id (argon2-cffi), the OWASP-recommended default, and the strength
policy every new password meets (length, common-password list, zxcvbn score)."""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# The stored "hash" of an account invited by its admin (app/admin), until the person chooses a
# password through the invitation link: no password verifies against it.
NO_PASSWORD = "!invited"


def verify_password(password_hash: str, password: str) -> bool:
    if password_hash == NO_PASSWORD:  # as long as a real verification, so it does not show
        verify_password(DUMMY_HASH, password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# Hash of a password nobody has: verified against when the email is unknown, so a login attempt
# takes the same time whether or not the account exists.
DUMMY_HASH = _hasher.hash("no-such-account-placeholder")


# --- strength policy ---------------------------------------------------------------------------------

MIN_PASSWORD_SCORE = 3  # zxcvbn's 0–4 scale: 3 = "safely unguessable", ~10^8 guesses or more
PASSWORD_MAX_LENGTH = 1024
# zxcvbn's cost grows with the length (and it refuses more than 72 characters): only the prefix is scored.
_ZXCVBN_MAX_CHARS = 72  # zxcvbn refuses longer input
_COMMON_FILE = Path(__file__).with_name("common_passwords.txt")
_TRAILING_DECORATION = re.compile(r"[\d\W_]+$")

PASSWORD_REQUIRED = "Saisissez un mot de passe."
PASSWORD_TOO_SHORT = f"Le mot de passe doit comporter au moins {MIN_PASSWORD_LENGTH} caractères."
PASSWORD_TOO_LONG = f"Le mot de passe ne peut dépasser {PASSWORD_MAX_LENGTH} caractères."
PASSWORD_INVALID = "Le mot de passe contient des caractères non autorisés."
PASSWORD_TOO_COMMON = (
    "Ce mot de passe fait partie des plus courants : choisissez-en un autre, par exemple "
    "une phrase de plusieurs mots sans lien entre eux."
)
PASSWORD_TOO_WEAK = (
    "Ce mot de passe est trop facile à deviner : allongez-le ou mêlez plusieurs mots sans lien entre "
    "eux, sans votre nom ni votre adresse électronique."
)


@cache
def common_passwords() -> frozenset[str]:
    lines = _COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _is_common(password: str) -> bool:
    folded = password.strip().lower()
    common = common_passwords()
    return folded in common or _TRAILING_DECORATION.sub("", folded) in common


def password_problem(password: str | None, user_inputs: Iterable[str] = ()) -> str | None:
    """Why `password` may not be used (a French sentence), or None if it is strong enough.

    Refused: shorter than MIN_PASSWORD_LENGTH, one of the most common passwords (with or without
    trailing digits), or scored below MIN_PASSWORD_SCORE by zxcvbn given the person's own words
    (`user_inputs`: e-mail, names), so « Claire.Martin2026 » does not pass for Claire Martin.
    """
    if not password:
        return PASSWORD_REQUIRED
    if len(password) < MIN_PASSWORD_LENGTH:
        return PASSWORD_TOO_SHORT
    if len(password) > PASSWORD_MAX_LENGTH:
        return PASSWORD_TOO_LONG
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        return PASSWORD_INVALID
    if "\x00" in password:
        return PASSWORD_INVALID
    if _is_common(password):
        return PASSWORD_TOO_COMMON
    words: list[str] = []
    for value in user_inputs:
        value = (value or "").strip().lower()
        if value:
            words.append(value)
            words.extend(part for part in re.split(r"[@._\-+\s]+", value) if len(part) >= 3)
    scored = password[:_ZXCVBN_MAX_CHARS]
    if zxcvbn(scored, user_inputs=words)["score"] < MIN_PASSWORD_SCORE:
        return PASSWORD_TOO_WEAK
    # zxcvbn misses a name cut by punctuation (« claire.martin2026 »): what is left once the
    # person's own words are taken out must be strong on its own.
    rest = scored
    for word in sorted({w for w in words if len(w) >= 3}, key=len, reverse=True):
        rest = re.sub(re.escape(word), "", rest, flags=re.IGNORECASE)
    if rest != scored and (not rest or zxcvbn(rest, user_inputs=words)["score"] < MIN_PASSWORD_SCORE):
        return PASSWORD_TOO_WEAK
    return None
