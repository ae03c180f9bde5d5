"""The home page and the public legal pages of the footer (« Mentions légales », « Données
personnelles », « Gestion des cookies », « Accessibilité »), with the brand of the operator (config:
BRAND_KIND, OPERATOR_NAME…) for every page. Liveness and readiness are in app/core/observability.py."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app import access

bp = Blueprint("core", __name__)
log = logging.getLogger(__name__)


@bp.get("/")
def home() -> ResponseReturnValue:
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    if access.can_steer(current_user):  # managers start on « Pilotage »
        return redirect(url_for("followup.dashboard"))
    if access.can_administer(current_user):  # admins on « Comptes et paramètres »
        return redirect(url_for("admin.home"))
    if not current_user.is_admin:  # professionals on « Mon portefeuille »
        return redirect(url_for("pathways.portfolio"))
    return render_template("core/home.html", user=current_user)


# The public pages of the footer: no login, no personal data, the same for every visitor.
# endpoint → (URL, template, title)
LEGAL_PAGES: dict[str, tuple[str, str, str]] = {
    "legal_notice": ("/mentions-legales", "core/legal_notice.html", "Mentions légales"),
    "personal_data": ("/donnees-personnelles", "core/personal_data.html", "Données personnelles"),
    "cookies": ("/gestion-des-cookies", "core/cookies.html", "Gestion des cookies"),
    "accessibility": ("/accessibilite", "core/accessibility.html", "Accessibilité"),
}


def _legal_page(endpoint: str) -> ResponseReturnValue:
    _url, template, title = LEGAL_PAGES[endpoint]
    return render_template(template, page_title=title)


for _endpoint, (_url, _template, _title) in LEGAL_PAGES.items():
    bp.add_url_rule(_url, _endpoint, lambda _e=_endpoint: _legal_page(_e), methods=["GET"])


@bp.app_context_processor
def _brand() -> dict[str, object]:
    """Who runs the service, for the header, the footer and the legal pages (config.py)."""
    config = current_app.config
    return {
        "brand": {
            "state": config.get("BRAND_KIND", "operateur") == "etat",
            "operator": config.get("OPERATOR_NAME", ""),
            "address": config.get("OPERATOR_ADDRESS", ""),
            "director": config.get("PUBLICATION_DIRECTOR", ""),
            "host": config.get("HOSTING_PROVIDER", ""),
            "dpo": config.get("DPO_CONTACT", ""),
            "accessibility_contact": config.get("ACCESSIBILITY_CONTACT", ""),
        },
        "legal_pages": [(f"core.{endpoint}", title) for endpoint, (_u, _t, title) in LEGAL_PAGES.items()],
    }
