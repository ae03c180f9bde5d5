"""The home page and the health check."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from app import access
from app.extensions import db

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


@bp.get("/sante")
def health() -> ResponseReturnValue:
    """For load balancers and monitoring: the app answers and reaches its database. No data."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        log.exception("health check: database unreachable")
        db.session.rollback()
        return jsonify(status="error"), 503
    response = jsonify(status="ok")
    response.headers["Cache-Control"] = "no-store"
    return response
