"""Addresses shared by the pages of several features, and where a form may send the user back to
(only a path of this site: no open redirect)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for


def record_url(pathway_id: int, tab: str = "synthese", anchor: str | None = None) -> str:
    """The shared record of a pathway, on one of its tabs (« Synthèse », « Freins »…)."""
    return url_for("pathways.record", pathway_id=pathway_id, onglet=tab, _anchor=anchor)


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site ("/x?y"), else None."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
