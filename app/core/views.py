"""The home page (liveness and readiness are in app/core/observability.py)."""
from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, url_for
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
    if not current_user.is_admin:  # professionals on « Mon portefeuille »
        return redirect(url_for("pathways.portfolio"))
    return render_template("core/home.html", user=current_user)
