"""« Mes notifications » on « Mon compte »: the daily digest on or off, each notification event on or
off; validated (French messages, nothing changed on bad input); the digest and the outbox obey."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.barriers import services as barriers
from app.extensions import db
from app.followup.digest import send_daily_digest
from app.followup.models import DeliveryStatus, DigestDelivery
from app.followup.scan import scan_follow_ups
from app.notifications.models import Notification, NotificationEvent
from tests.factories import AgencyFactory, TerritoryFactory, UserFactory
from tests.followup.test_scan import new_pathway, paris
from tests.web_helpers import login_as, text
from tests.world import T0, World

ALL_EVENTS = [event.value for event in NotificationEvent if event != NotificationEvent.ALERT_RAISED]


def _reload(user):
    db.session.expire_all()
    return db.session.get(type(user), user.id)


def test_the_form_shows_my_choices(client, world: World) -> None:
    login_as(client, world.referent)
    page = client.get("/compte").get_data(as_text=True)
    assert "Mes notifications" in page
    assert 'name="alert_digest" value="daily" checked' in page
    assert page.count('name="events"') == len(ALL_EVENTS) and page.count('" checked>') >= len(ALL_EVENTS)


def test_i_turn_off_the_digest_and_some_notifications(client, world: World) -> None:
    login_as(client, world.referent)
    response = client.post("/compte/notifications",
                           data={"alert_digest": "none", "events": ["referral.sent", "pathway.handed_to"]})
    assert response.status_code == 302
    user = _reload(world.referent)
    assert user.alert_digest == "none"
    assert set(user.muted_notifications.split(",")) == set(ALL_EVENTS) - {"referral.sent", "pathway.handed_to"}
    assert _reload(world.colleague).muted_notifications == ""  # only my own account
    assert db.session.scalar(sa.select(AuditEvent.action).where(
        AuditEvent.actor_id == world.referent.id, AuditEvent.action == "user.notification_preferences_changed"))
    page = client.get("/compte").get_data(as_text=True)
    assert 'value="none" checked' in page and 'value="referral.answered">' in page  # shown unchecked


def test_bad_choices_are_refused_in_french_and_change_nothing(client, world: World) -> None:
    login_as(client, world.referent)
    response = client.post("/compte/notifications", data={"alert_digest": "weekly", "events": ["referral.sent"]})
    assert response.status_code == 422
    assert "Récapitulatif quotidien des alertes : choisissez" in text(response)
    response = client.post("/compte/notifications", data={"alert_digest": "daily", "events": ["bogus"]})
    assert response.status_code == 422
    assert "Messages à recevoir : choix inconnu." in text(response)
    response = client.post("/compte/notifications", data={})
    assert response.status_code == 422
    user = _reload(world.referent)
    assert (user.alert_digest, user.muted_notifications) == ("daily", "")


def test_a_muted_referral_is_not_recorded_for_me_but_is_for_my_colleagues(world: World) -> None:
    colleague = UserFactory(agency=world.ccas, email="collegue@ccas.test")
    world.outsider.muted_notifications = "referral.sent"
    db.session.flush()
    barriers.refer_barrier(world.referent, world.barrier, agency_id=world.ccas.id, now=T0 + timedelta(days=12))
    assert db.session.scalars(sa.select(Notification.user_id)).all() == [colleague.id]


def test_the_digest_skips_who_turned_it_off(app, tmp_path: Path) -> None:
    previous = app.config["MAIL_OUTBOX_DIR"], app.config["MAIL_SERVER"]
    app.config.update(MAIL_OUTBOX_DIR=str(tmp_path), MAIL_SERVER="")
    try:
        agency = AgencyFactory(territory=TerritoryFactory())
        wants, declines = UserFactory(agency=agency), UserFactory(agency=agency, alert_digest="none")
        for user in (wants, declines):
            new_pathway(user, paris(2026, 1, 5), orient=None)
        scan_follow_ups(paris(2026, 3, 1))
        assert send_daily_digest(paris(2026, 3, 2, 7, 30)).sent == 1
        sent_to = {eml.name for eml in tmp_path.glob("*.eml")}
        assert len(sent_to) == 1 and wants.email.replace("@", "_at_") in next(iter(sent_to))
        owed = db.session.scalars(sa.select(DigestDelivery.user_id).where(
            DigestDelivery.status == DeliveryStatus.SENT)).all()
        assert owed == [wants.id]
    finally:
        app.config["MAIL_OUTBOX_DIR"], app.config["MAIL_SERVER"] = previous


def test_immediate_alerts_mail_each_new_alert_once_and_skip_the_digest(app, smtp) -> None:
    """« Dès qu'une alerte apparaît »: each alert raised (by the scan or a write) is mailed once,
    without a note, and that referent gets no daily digest; « Chaque matin » gets only the digest."""
    from app.notifications.services import send_pending_notifications

    agency = AgencyFactory(territory=TerritoryFactory())
    at_once = UserFactory(agency=agency, alert_digest="immediate")
    each_morning = UserFactory(agency=agency)
    for user in (at_once, each_morning):
        new_pathway(user, paris(2026, 1, 5), orient=None)
    scan_follow_ups(paris(2026, 3, 1))  # « orientation late »… raised now
    first = send_pending_notifications(paris(2026, 3, 1, 0, 5))
    mails = smtp.to(at_once.email)
    assert first.sent == len(mails) >= 1 and smtp.to(each_morning.email) == []
    assert all("Parcours — alerte « " in str(m["Subject"]) for m in mails)
    body = smtp.texts()[0]
    assert "https://parcours.example.fr/alertes" in body and "/parcours/" in body
    assert send_pending_notifications(paris(2026, 3, 1, 0, 10)).sent == 0  # once only
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.event == NotificationEvent.ALERT_RAISED)) == len(mails)
    smtp.messages.clear()
    assert send_daily_digest(paris(2026, 3, 2, 7, 30)).sent == 1
    assert len(smtp.to(each_morning.email)) == 1 and smtp.to(at_once.email) == []


def test_choosing_immediate_alerts_on_my_account(client, world: World) -> None:
    login_as(client, world.referent)
    response = client.post("/compte/notifications", data={"alert_digest": "immediate", "events": ALL_EVENTS})
    assert response.status_code == 302
    user = _reload(world.referent)
    assert user.alert_digest == "immediate" and user.muted_notifications == ""
    assert 'value="immediate" checked' in client.get("/compte").get_data(as_text=True)
