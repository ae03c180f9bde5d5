"""The JSON API under /api/v1 (DESIGN §5): Bearer tokens, marshmallow, OpenAPI 3, problem+json.

One blueprint, shared by the thin route modules of each feature (`app/<feature>/api.py`). Routes
are declared with `app.api.core.operation`, which also records them for the OpenAPI document, so
every route is documented by construction.
"""

from __future__ import annotations

from flask import Flask

from app.api.core import bp


def init_app(app: Flask) -> None:
    """Import every route module (they register on `bp`), then register the blueprint once."""
    # Imported here: each feature's api module imports app.api.core, which imports this package.
    from app.api import docs, tokens  # noqa: F401
    from app.audit import api as audit_api  # noqa: F401
    from app.barriers import api as barriers_api  # noqa: F401
    from app.extensions import csrf
    from app.followup import api as followup_api  # noqa: F401
    from app.meetings import api as meetings_api  # noqa: F401
    from app.pathways import api as pathways_api  # noqa: F401

    csrf.exempt(bp)  # no cookies here: Bearer tokens only, so no CSRF
    app.register_blueprint(bp)


__all__ = ["bp", "init_app"]
