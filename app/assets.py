"""Serves the DSFR npm package's `dist/` folder locally (never a CDN), with long cache headers.

The files are versioned by the package (package-lock.json pins it), so browsers may keep them a
year; a DSFR upgrade changes `?v=` in base.html (`dsfr_version`) to bust the cache.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app, send_from_directory

bp = Blueprint("assets", __name__)

ONE_YEAR = 365 * 24 * 3600


@bp.get("/static/dsfr/<path:filename>")
def dsfr(filename: str) -> Response:
    # send_from_directory refuses paths escaping the directory (404), so no traversal.
    response = send_from_directory(current_app.config["DSFR_DIST_DIR"], filename, max_age=ONE_YEAR)
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response


# Other front-end packages from npm (package.json), each folder served under /static/vendor/<name>/.
# (Swagger UI is served by the API's docs page, app/api/docs.py.)
VENDOR_DIRS = {
    "chartjs": ("chart.js", "dist"),
}


@bp.get("/static/vendor/<name>/<path:filename>")
def vendor(name: str, filename: str) -> Response:
    if name not in VENDOR_DIRS:
        return Response("Introuvable", status=404)
    package, subdir = VENDOR_DIRS[name]
    node_modules = Path(current_app.config["DSFR_DIST_DIR"]).parents[2]
    response = send_from_directory(node_modules / package / subdir, filename, max_age=ONE_YEAR)
    response.cache_control.public = True
    return response


@cache
def _package_version(dist_dir: str) -> str:
    try:
        package = json.loads((Path(dist_dir).parent / "package.json").read_text(encoding="utf-8"))
        return str(package.get("version", "0"))
    except (OSError, ValueError):
        return "0"


@bp.app_context_processor
def _inject_dsfr_version() -> dict[str, str]:
    return {"dsfr_version": _package_version(current_app.config["DSFR_DIST_DIR"])}
