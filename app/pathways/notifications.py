"""Telling a professional, by e-mail, that something about a pathway concerns them.

Sent after the write has committed: a mail that fails is logged and never undoes the write. The
mail carries the record number, the person's first name and initial, and who did what — never a
note (it may sit in a mailbox for years).
"""
from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage

from flask import current_app, has_request_context, url_for

from app.accounts.models import User
from app.core.mail import deliver
from app.pathways.models import Pathway, TeamJoinRequest

log = logging.getLogger(__name__)


def _record_link(pathway: Pathway) -> str:
    if has_request_context():
        return url_for("pathways.record", pathway_id=pathway.id, _external=True)
    return f"/parcours/{pathway.id}"


def _send(to: User, subject: str, lines: list[str]) -> bool:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to.email
    message.set_content("\n".join([f"Bonjour {to.first_name},", "", *lines, "", "— Parcours"]))
    try:
        deliver(message)
    except Exception:  # the write is done; a mail server down must not turn it into an error
        log.exception("notification mail not delivered (user %s)", to.id)
        return False
    return True


def notify_handover(previous: User, pathway: Pathway, *, new_referent: User, by: User, now: datetime) -> bool:
    """The previous referent learns that the pathway was handed over, to whom and by whom."""
    person = pathway.beneficiary
    who = f"{person.first_name} {person.last_name[:1]}."
    lines = [
        f"Le parcours n° {pathway.id} ({who}) dont vous étiez le référent a été confié à "
        f"{new_referent.first_name} {new_referent.last_name} ({new_referent.agency.name}) "
        f"par {by.first_name} {by.last_name}.",
        "",
        "Si ce changement vous surprend, parlez-en à votre responsable : il est tracé dans le dossier.",
        _record_link(pathway),
    ]
    return _send(previous, f"Parcours — le parcours n° {pathway.id} a changé de référent", lines)


def notify_new_referent(referent: User, pathway: Pathway, *, by: User, previous: User | None,
                        with_note: bool) -> bool:
    """The new referent learns that a pathway is now theirs, from whom, and that the handover note
    waits in the record (never the note itself: it may sit in a mailbox for years)."""
    person = pathway.beneficiary
    who = f"{person.first_name} {person.last_name[:1]}."
    lines = [
        f"Le parcours n° {pathway.id} ({who}) vous est confié par {by.first_name} {by.last_name}"
        + (f", à la suite de {previous.first_name} {previous.last_name}." if previous is not None else "."),
        "La note de passation vous attend dans l'onglet « Équipe » du dossier." if with_note
        else "Prenez connaissance du dossier :",
        _record_link(pathway),
    ]
    return _send(referent, f"Parcours — le parcours n° {pathway.id} vous est confié", lines)


def notify_join_request(referent: User, pathway: Pathway, request: TeamJoinRequest) -> bool:
    """The referent learns that an agency asks to join the team; the answer is given in the record."""
    agency = request.agency
    person = pathway.beneficiary
    lines = [
        f"{agency.name} demande à rejoindre l'équipe de suivi du parcours n° {pathway.id} "
        f"({person.first_name} {person.last_name[:1]}.).",
        "Acceptez ou refusez la demande dans l'onglet « Équipe » du dossier :",
        _record_link(pathway),
    ]
    return _send(referent, f"Parcours — demande pour rejoindre l'équipe du parcours n° {pathway.id}", lines)
