"""« Mon compte » (issue 14, point 2): my open sessions (close one, or « Se déconnecter partout »),
my API tokens (revoke); another user's session or token is not found, whoever asks; audited."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from app.accounts.models import ApiToken, UserSession
from app.accounts.tokens import issue_token
from app.audit.models import AuditEvent
from app.extensions import db
from tests.accounts.test_sessions import other_client
from tests.web_helpers import login_as, text
from tests.world import World


def _open_sessions(user) -> list[UserSession]:
    return list(db.session.scalars(sa.select(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None)).order_by(UserSession.id)))


def _actions(user) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor_id == user.id)))


def test_my_account_lists_my_sessions_and_tokens_only(app: Flask, client, world: World) -> None:
    laptop = other_client(app)
    login_as(laptop, world.referent)
    issue_token(world.referent)
    issue_token(world.partner)  # someone else's
    login_as(client, world.referent)
    page = text(client.get("/compte"))
    assert "Mes sessions ouvertes (2)" in page and "Cette session" in page
    assert "Mes jetons d'API (1)" in page
    assert world.referent.email in page and world.partner.email not in page


def test_closing_one_of_my_sessions_ends_it_on_that_device(app: Flask, client, world: World) -> None:
    laptop = other_client(app)
    login_as(laptop, world.referent)
    login_as(client, world.referent)
    first, _mine = _open_sessions(world.referent)
    response = client.post(f"/compte/sessions/{first.id}/fermer")
    assert response.status_code == 302
    assert laptop.get("/portefeuille").status_code == 302  # back to the login page
    assert client.get("/portefeuille").status_code == 200  # this one stays open
    assert "user.session_closed" in _actions(world.referent)


def test_nobody_closes_another_users_session_or_token(app: Flask, client, world: World) -> None:
    victim = other_client(app)
    login_as(victim, world.partner)
    (theirs,) = _open_sessions(world.partner)
    token = issue_token(world.partner)
    record = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == world.partner.id)).one()
    for intruder in (world.referent, world.admin, world.stranger):
        login_as(client, intruder)
        assert client.post(f"/compte/sessions/{theirs.id}/fermer").status_code == 404
        assert client.post(f"/compte/jetons/{record.id}/revoquer").status_code == 404
    assert victim.get("/portefeuille").status_code == 200
    assert client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {token.token}"}).status_code == 200
    assert not [a for a in _actions(world.referent) if a in ("user.session_closed", "api_token.revoked")]


def test_revoking_my_token_stops_the_api_at_once(client, world: World) -> None:
    token = issue_token(world.referent)
    record = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == world.referent.id)).one()
    headers = {"Authorization": f"Bearer {token.token}"}
    assert client.get("/api/v1/alerts", headers=headers).status_code == 200
    login_as(client, world.referent)
    assert client.post(f"/compte/jetons/{record.id}/revoquer").status_code == 302
    assert client.get("/api/v1/alerts", headers=headers).status_code == 401
    assert client.post(f"/compte/jetons/{record.id}/revoquer").status_code == 404  # already revoked
    assert "api_token.revoked" in _actions(world.referent)


def test_logging_out_everywhere_closes_every_session_and_token(app: Flask, client, world: World) -> None:
    laptop = other_client(app)
    login_as(laptop, world.referent)
    token = issue_token(world.referent)
    login_as(client, world.referent)
    response = client.post("/compte/deconnexion-partout")
    assert response.status_code == 302 and response.headers["Location"].startswith("/connexion")
    assert "2 session(s) fermée(s), 1 jeton(s) d'API révoqué(s)" in text(client.get(response.headers["Location"]))
    assert _open_sessions(world.referent) == []
    for device in (client, laptop):
        assert device.get("/portefeuille").status_code == 302
    assert client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {token.token}"}).status_code == 401
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.logged_out_everywhere")).one()
    assert event.details == {"sessions": 2, "api_tokens": 1}


def test_the_header_leads_to_my_account(client, world: World) -> None:
    login_as(client, world.partner)
    assert 'href="/compte">Mon compte</a>' in text(client.get("/portefeuille"))
    assert client.get("/compte").status_code == 200
