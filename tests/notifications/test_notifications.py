"""Notifications to professionals (issue 14, point 4): recorded with the write, sent by the job.

Each event: the rows are committed with the write (pending, before any job), for the right
recipients, and a refused write records nothing. The job sends each row once, through a real SMTP
server, as multipart/alternative (text + HTML) with a link on PUBLIC_BASE_URL; a mail server that
fails is retried with a backoff; one refused recipient does not stop the others; no mail carries a
note or a message typed by a user.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts.models import Role, User
from app.barriers import services as barriers
from app.barriers.models import DeclineReason, Referral
from app.errors import DomainError
from app.extensions import db
from app.notifications.models import Notification, NotificationEvent, NotificationStatus
from app.notifications.services import BACKOFF, MAX_ATTEMPTS, notify, send_pending_notifications
from app.pathways import services as pathways
from tests.factories import UserFactory
from tests.web_helpers import login_as
from tests.world import T0, World

NOW = T0 + timedelta(days=12)
MARKER = "SECRET-NOTE-7f3a"  # typed by a user: must never reach a mailbox


def _rows(event: NotificationEvent | None = None) -> list[Notification]:
    db.session.expire_all()
    query = sa.select(Notification).order_by(Notification.id)
    if event is not None:
        query = query.where(Notification.event == event)
    return list(db.session.scalars(query))


def _email(user_id: int) -> str:
    return db.session.get(User, user_id).email


def _no_marker(smtp) -> None:
    assert smtp.messages, "no mail was received"
    for whole in smtp.texts():
        assert MARKER not in whole
        assert "Benali" not in whole  # the person's first name and initial only


def _assert_multipart(message, link: str) -> None:
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert link in plain and f'href="{link}"' in html
    assert "Sarah B." in plain and "Sarah B." in html


# --- a referral sent to my agency ------------------------------------------------------------------

@pytest.fixture
def ccas_team(world: World):
    """The CCAS: its professional (world.outsider), a manager, an inactive account and an admin."""
    manager = UserFactory(agency=world.ccas, email="responsable@ccas.test", role=Role.MANAGER)
    UserFactory(agency=world.ccas, email="parti@ccas.test", is_active_account=False)
    UserFactory(agency=world.ccas, email="admin@ccas.test", role=Role.ADMIN)
    return manager


def test_a_referral_tells_the_active_professionals_of_the_partner_agency(world: World, ccas_team, smtp) -> None:
    referral = barriers.refer_barrier(world.referent, world.barrier, agency_id=world.ccas.id, message=MARKER, now=NOW)
    rows = _rows(NotificationEvent.REFERRAL_SENT)
    assert {_email(r.user_id) for r in rows} == {"horsequipe@ccas.test", "responsable@ccas.test"}
    assert {r.key for r in rows} == {f"referral.sent:{referral.id}:{r.user_id}" for r in rows}
    assert all(r.status == NotificationStatus.PENDING and r.created_at == NOW for r in rows)
    assert smtp.messages == []  # nothing is mailed by the write itself

    result = send_pending_notifications(NOW)
    assert result.sent == 2
    [message] = smtp.to("horsequipe@ccas.test")
    _assert_multipart(message, f"https://parcours.example.fr/orientations/{referral.id}/reponse")
    assert "Le message vous attend dans Parcours" in message.get_body(("plain",)).get_content()
    assert f"n° {world.pathway.id}" in message["Subject"]
    _no_marker(smtp)
    assert {r.status for r in _rows()} == {NotificationStatus.SENT}


def test_a_refused_referral_records_no_notification(world: World, ccas_team) -> None:
    with pytest.raises(DomainError):  # to one's own agency
        barriers.refer_barrier(world.referent, world.barrier, agency_id=world.ft.id, message=MARKER, now=NOW)
    barriers.refer_barrier(world.referent, world.barrier, agency_id=world.ccas.id, now=NOW)
    with pytest.raises(DomainError):  # already one pending
        barriers.refer_barrier(world.referent, world.barrier, agency_id=world.caf.id, now=NOW)
    assert {_email(r.user_id) for r in _rows()} == {"horsequipe@ccas.test", "responsable@ccas.test"}


# --- a referral answered -------------------------------------------------------------------------

def test_an_answer_tells_the_referent_who_sent_the_referral(world: World, smtp) -> None:
    referral = barriers.refer_barrier(world.referent, world.barrier, agency_id=world.caf.id, now=NOW)
    send_pending_notifications(NOW)
    smtp.messages.clear()
    with pytest.raises(DomainError):  # only the agency asked may answer: nothing recorded
        barriers.answer_referral(world.colleague, referral, accept=True, now=NOW)
    assert _rows(NotificationEvent.REFERRAL_ANSWERED) == []

    barriers.answer_referral(world.partner, db.session.get(Referral, referral.id), accept=False,
                             decline_reason=DeclineReason.NO_CAPACITY, comment=MARKER, now=NOW)
    [row] = _rows(NotificationEvent.REFERRAL_ANSWERED)
    assert _email(row.user_id) == "referent@ft.test" and row.key == f"referral.answered:{referral.id}:{row.user_id}"
    send_pending_notifications(NOW)
    [message] = smtp.messages
    assert str(message["To"]) == "referent@ft.test"
    _assert_multipart(message, f"https://parcours.example.fr/parcours/{world.pathway.id}?onglet=freins")
    assert "CAF 93 a refusé" in message.get_body(("plain",)).get_content()
    assert "Pas de place ou délai trop long" in message.get_body(("plain",)).get_content()
    _no_marker(smtp)


# --- a pathway handed to me / taken from me --------------------------------------------------------

def test_a_handover_tells_the_new_and_the_previous_referent_never_the_actor(world: World, smtp) -> None:
    with pytest.raises(DomainError):  # already the referent: refused, nothing recorded
        pathways.assign_referent(world.manager_ft, world.pathway, world.referent, now=NOW)
    assert _rows() == []

    pathways.assign_referent(world.manager_ft, world.pathway, world.colleague, note=MARKER, now=NOW)
    [taken] = _rows(NotificationEvent.PATHWAY_TAKEN_FROM)
    [handed] = _rows(NotificationEvent.PATHWAY_HANDED_TO)
    assert _email(taken.user_id) == "referent@ft.test" and _email(handed.user_id) == "collegue@ft.test"
    assert len(_rows()) == 2  # not the manager who did it

    send_pending_notifications(NOW)
    [mine] = smtp.to("collegue@ft.test")
    assert "vous est confié" in mine["Subject"]
    _assert_multipart(mine, f"https://parcours.example.fr/parcours/{world.pathway.id}")
    assert "La note de passation vous attend" in mine.get_body(("plain",)).get_content()
    [previous] = smtp.to("referent@ft.test")
    assert "a été confié à" in previous.get_body(("plain",)).get_content()
    _no_marker(smtp)


def test_taking_charge_oneself_tells_nobody(world: World) -> None:
    pathway = pathways.create_beneficiary(world.colleague, {"first_name": "Inès", "last_name": "Roux"}, now=NOW)
    pathways.assign_referent(world.colleague, pathway, world.colleague, now=NOW)
    assert _rows() == []


# --- a request to join a team --------------------------------------------------------------------

def test_a_join_request_tells_the_referent(world: World, smtp) -> None:
    pathways.check_duplicates(world.outsider, {"caf_number": "1234567"})
    request = pathways.request_to_join(world.outsider, world.pathway, message=MARKER, now=NOW)
    with pytest.raises(DomainError):  # a second request while one waits: refused, nothing more
        pathways.request_to_join(world.outsider, world.pathway, now=NOW)
    [row] = _rows()
    assert row.event == NotificationEvent.TEAM_JOIN_REQUESTED
    assert _email(row.user_id) == "referent@ft.test" and row.key == f"team.join_requested:{request.id}:{row.user_id}"

    send_pending_notifications(NOW)
    [message] = smtp.messages
    _assert_multipart(message, f"https://parcours.example.fr/parcours/{world.pathway.id}?onglet=equipe")
    assert "CCAS Pantin demande à rejoindre" in message.get_body(("plain",)).get_content()
    assert "Le message vous attend dans Parcours" in message.get_body(("html",)).get_content()
    _no_marker(smtp)


def test_a_muted_event_is_not_recorded(world: World) -> None:
    world.referent.muted_notifications = "team.join_requested"
    db.session.flush()
    pathways.check_duplicates(world.outsider, {"caf_number": "1234567"})
    pathways.request_to_join(world.outsider, world.pathway, now=NOW)
    assert _rows() == []


def test_notify_belongs_inside_the_writes_transaction(world: World) -> None:
    with pytest.raises(RuntimeError):
        notify(NotificationEvent.PATHWAY_HANDED_TO, [world.colleague], pathway=world.pathway, object_id=1,
               actor=world.referent, now=NOW)
    assert _rows() == []


# --- the job: retries, once-only, one failure blocks nothing ----------------------------------------

def test_a_failed_mail_is_retried_and_sent_once(world: World, smtp) -> None:
    pathways.check_duplicates(world.outsider, {"caf_number": "1234567"})
    pathways.request_to_join(world.outsider, world.pathway, now=NOW)
    smtp.fail_next = 1  # the server answers 451 once

    first = send_pending_notifications(NOW)
    assert (first.sent, first.retried) == (0, 1)
    [row] = _rows()
    assert row.status == NotificationStatus.PENDING and row.attempts == 1
    assert row.last_error == "SMTPDataError" and row.next_attempt_at == NOW + BACKOFF[0]
    assert send_pending_notifications(NOW + timedelta(seconds=30)).sent == 0  # not due yet

    assert send_pending_notifications(NOW + BACKOFF[0]).sent == 1
    assert len(smtp.messages) == 1
    [row] = _rows()
    assert row.status == NotificationStatus.SENT and row.attempts == 2 and row.sent_at == NOW + BACKOFF[0]
    assert row.last_error is None
    send_pending_notifications(NOW + timedelta(days=1))  # a later run sends nothing more
    assert len(smtp.messages) == 1


def test_one_refused_recipient_does_not_block_the_others(world: World, ccas_team, smtp) -> None:
    smtp.refuse = {"horsequipe@ccas.test"}
    barriers.refer_barrier(world.referent, world.barrier, agency_id=world.ccas.id, now=NOW)
    result = send_pending_notifications(NOW)
    assert (result.sent, result.retried) == (1, 1)
    assert [str(m["To"]) for m in smtp.messages] == ["responsable@ccas.test"]

    at = NOW
    for wait in BACKOFF:  # every retry fails; after MAX_ATTEMPTS the row is given up
        at += wait
        send_pending_notifications(at)
    [refused] = [r for r in _rows() if _email(r.user_id) == "horsequipe@ccas.test"]
    assert refused.status == NotificationStatus.FAILED and refused.attempts == MAX_ATTEMPTS
    assert refused.last_error == "SMTPRecipientsRefused"  # the class, never the server's message
    assert send_pending_notifications(at + timedelta(days=1)).sent == 0
    assert len(smtp.messages) == 1


def test_a_notification_to_a_deactivated_account_is_not_sent(world: World, smtp) -> None:
    pathways.check_duplicates(world.outsider, {"caf_number": "1234567"})
    pathways.request_to_join(world.outsider, world.pathway, now=NOW)
    world.referent.is_active_account = False
    db.session.flush()
    assert send_pending_notifications(NOW).failed == 1
    assert smtp.messages == []


def test_the_cli_sends_what_is_due(runner, world: World, smtp) -> None:
    pathways.check_duplicates(world.outsider, {"caf_number": "1234567"})
    pathways.request_to_join(world.outsider, world.pathway, now=NOW)
    result = runner.invoke(args=["notifications", "send", "--now", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output and len(smtp.messages) == 1
    assert runner.invoke(args=["notifications", "send", "--now", "2026-01-01T08:00:00"]).exit_code != 0  # no zone


def test_a_join_request_posted_through_the_page_is_recorded_with_it(client, world: World) -> None:
    login_as(client, world.outsider)
    client.post("/personnes/nouvelle", data={"first_name": "X", "last_name": "Y", "caf_number": "1234567"})
    response = client.post(f"/parcours/{world.pathway.id}/equipe/demande", data={"message": MARKER})
    assert response.status_code == 302
    [row] = _rows()
    assert (row.event, _email(row.user_id)) == (NotificationEvent.TEAM_JOIN_REQUESTED, "referent@ft.test")
    client.post(f"/parcours/{world.pathway.id}/equipe/demande", data={})  # refused: one is pending
    assert len(_rows()) == 1
