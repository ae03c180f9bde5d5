"""GET /api/v1/openapi.json and the browsable docs page GET /api/v1/docs (Swagger UI, served from
the swagger-ui-dist npm package: no CDN; the page's script is an external file, CSP 'self')."""

from __future__ import annotations

from pathlib import Path

from flask import Response, current_app, jsonify, send_from_directory, url_for
from markupsafe import escape

from app.api.core import bp
from app.api.openapi import build_spec

STATIC_DIR = Path(__file__).parent / "static"
ONE_DAY = 24 * 3600
SWAGGER_FILES = {
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "favicon-32x32.png",
    "favicon-16x16.png",
}


@bp.get("/openapi.json")
def openapi_document() -> Response:
    spec = current_app.extensions.get("parcours_openapi")
    if spec is None:
        spec = current_app.extensions["parcours_openapi"] = build_spec(
            server_url=url_for("api.openapi_document").rsplit("/", 1)[0]
        )
    return jsonify(spec)


@bp.get("/docs")
def docs_page() -> Response:
    def asset(name: str) -> str:
        return str(escape(url_for("api.docs_asset", filename=name)))

    html = f"""<!doctype html>
<html lang="fr">
<head>
  <meta charset="utf-8">
  <title>Parcours — documentation de l'API</title>
  <link rel="stylesheet" href="{asset("swagger-ui.css")}">
  <link rel="icon" type="image/png" href="{asset("favicon-32x32.png")}">
</head>
<body>
  <main id="swagger-ui" data-spec-url="{escape(url_for("api.openapi_document"))}"></main>
  <script src="{asset("swagger-ui-bundle.js")}"></script>
  <script src="{asset("swagger-ui-standalone-preset.js")}"></script>
  <script src="{escape(url_for("api.docs_init"))}"></script>
</body>
</html>
"""
    return Response(html, mimetype="text/html")


@bp.get("/docs/assets/<path:filename>")
def docs_asset(filename: str) -> Response:
    if filename not in SWAGGER_FILES:
        from werkzeug.exceptions import NotFound

        raise NotFound()
    return send_from_directory(current_app.config["SWAGGER_UI_DIST_DIR"], filename, max_age=ONE_DAY)


@bp.get("/docs/init.js")
def docs_init() -> Response:
    return send_from_directory(STATIC_DIR, "swagger-init.js", max_age=ONE_DAY)
