"""Finding 11 (double submit): the same rendered form posted twice is written once."""
from __future__ import annotations

import re
from datetime import timedelta

from app.core.idempotency import FormSubmission, purge_form_submissions
from app.db_types import utcnow
from app.extensions import db
from app.meetings.models import Meeting
from tests.db_helpers import count_rows
from tests.web_helpers import login_as
from tests.world import World


def _token(html: str) -> str:
    match = re.search(r'name="form_token" value="([^"]+)"', html)
    assert match, "the form carries no form_token"
    return match.group(1)


def test_a_double_submit_of_saisir_un_entretien_creates_one_meeting(client, world: World) -> None:
    login_as(client, world.referent)
    url = f"/parcours/{world.pathway.id}/entretien"
    token = _token(client.get(url).get_data(as_text=True))
    before = count_rows(Meeting, Meeting.pathway_id == world.pathway.id)
    held_at = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    data = {"status": "held", "held_at": held_at, "channel": "in_person", "notes": "Point",
            "notes_visibility": "agency", "form_token": token}
    first = client.post(url, data=data)
    assert first.status_code == 302
    second = client.post(url, data=data)
    assert second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]  # sent where the first one went
    assert count_rows(Meeting, Meeting.pathway_id == world.pathway.id) == before + 1
    follow = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "déjà été envoyé" in follow


def test_a_form_refused_for_errors_can_be_corrected_and_sent(client, world: World) -> None:
    login_as(client, world.referent)
    url = f"/parcours/{world.pathway.id}/entretien"
    token = _token(client.get(url).get_data(as_text=True))
    refused = client.post(url, data={"status": "held", "held_at": "", "form_token": token})
    assert refused.status_code == 422
    fresh = _token(refused.get_data(as_text=True))
    assert fresh != token
    held_at = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    sent = client.post(url, data={"status": "held", "held_at": held_at, "channel": "in_person",
                                  "notes_visibility": "agency", "form_token": fresh})
    assert sent.status_code == 302


def test_tokens_are_forgotten_after_two_days(world: World) -> None:
    db.session.add(FormSubmission(token_hash="a" * 64, user_id=world.referent.id,
                                  submitted_at=utcnow() - timedelta(days=3)))
    db.session.add(FormSubmission(token_hash="b" * 64, user_id=world.referent.id, submitted_at=utcnow()))
    db.session.flush()
    assert purge_form_submissions(utcnow()) == 1
    assert db.session.get(FormSubmission, "b" * 64) is not None
