"""Accent-insensitive search keys for people's names (stored in Beneficiary.search_name)."""
from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise(text: str | None) -> str:
    """'Émilie  D'Aubigné-Ségur' → 'emilie d aubigne segur'."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_only = ascii_only.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    return _NON_ALNUM.sub(" ", ascii_only.lower()).strip()


def search_key(last_name: str | None, first_name: str | None, birth_name: str | None = None) -> str:
    return " ".join(part for part in (normalise(last_name), normalise(first_name), normalise(birth_name)) if part)
