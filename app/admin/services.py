"""Administration operations: structures, invitations and accounts, territory settings.

Each is one transaction with its audit event, asks `app.access` first (an admin of the object's
own territory, else NotFound: another territory's objects do not exist for them), and takes `now`.
No request objects: the views, the CLI and the tests call them alike.
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app import access
from app.accounts import sessions
from app.accounts.models import Agency, AgencyKind, Role, Territory, User
from app.accounts.passwords import NO_PASSWORD, hash_password, password_problem
from app.accounts.services import DUPLICATE_EMAIL, deactivate_user, find_user_by_email, normalise_email
from app.admin.models import Invitation
from app.admin.schemas import (
    AgencySchema,
    InvitationSchema,
    TerritorySettingsSchema,
    clean_agency,
)
from app.audit.services import record_event
from app.core.mail import deliver
from app.errors import Conflict, DomainError, NotFound, ValidationError
from app.extensions import db
from app.pathways.models import Pathway
from app.transaction import check_version, unit_of_work
from app.validation import load

log = logging.getLogger(__name__)

INVITATION_TTL = timedelta(days=7)

AGENCY_NOT_FOUND = "Cette structure est introuvable."
USER_NOT_FOUND = "Ce compte est introuvable."
DUPLICATE_AGENCY = "Une structure de ce territoire porte déjà ce nom."
AGENCY_INACTIVE = "Cette structure est désactivée : personne ne peut plus la rejoindre."
ALREADY_ACTIVATED = "Ce compte a déjà choisi son mot de passe : il n'a plus besoin d'invitation."
ACCOUNT_INACTIVE = "Ce compte est désactivé : réactivez-le avant de renvoyer une invitation."
OWN_ACCOUNT = "Vous ne pouvez pas désactiver votre propre compte."
INVITATION_INVALID = (
    "Ce lien d'invitation n'est plus valable : il a déjà servi, a expiré ou a été remplacé par un "
    "lien plus récent. Demandez une nouvelle invitation à l'administrateur·rice de votre territoire."
)


def _require_admin_of(actor: User, obj: Any, message: str) -> None:
    if not access.can_administer_object(actor, obj):
        raise NotFound(message)


# --- structures -----------------------------------------------------------------------------------------

def _agency_name_taken(territory_id: int, name: str, *, other_than: int | None = None) -> bool:
    stmt = sa.select(Agency.id).where(Agency.territory_id == territory_id, sa.func.lower(Agency.name) == name.lower())
    if other_than is not None:
        stmt = stmt.where(Agency.id != other_than)
    return db.session.scalar(stmt.limit(1)) is not None


def create_agency(actor: User, payload: dict[str, Any], *, now: datetime) -> Agency:
    """A new structure in the admin's territory (one transaction, audited)."""
    if not access.can_administer(actor):
        raise NotFound(AGENCY_NOT_FOUND)
    data = clean_agency(load(AgencySchema(), payload))
    if _agency_name_taken(actor.territory_id, data["name"]):
        raise Conflict(DUPLICATE_AGENCY, field="name", errors={"name": [DUPLICATE_AGENCY]})
    agency = Agency(territory_id=actor.territory_id, **data)
    with unit_of_work() as session:
        session.add(agency)
        session.flush()
        record_event(actor, "agency.create", object_type="agency", object_id=agency.id, at=now,
                     details={"kind": agency.kind.value})
    return agency


def update_agency(
    actor: User, agency: Agency, payload: dict[str, Any], *, expected_version: int | None, now: datetime
) -> list[str]:
    """Edit a structure; the names of the fields changed (audited, values of identification only)."""
    _require_admin_of(actor, agency, AGENCY_NOT_FOUND)
    data = clean_agency(load(AgencySchema(), payload))
    check_version(agency, expected_version)
    if _agency_name_taken(agency.territory_id, data["name"], other_than=agency.id):
        raise Conflict(DUPLICATE_AGENCY, field="name", errors={"name": [DUPLICATE_AGENCY]})
    changed = [name for name, value in data.items() if getattr(agency, name) != value]
    if not changed:
        return []
    with unit_of_work():
        for name in changed:
            setattr(agency, name, data[name])
        record_event(actor, "agency.update", object_type="agency", object_id=agency.id, at=now,
                     details={"fields": changed})
    return changed


def set_agency_active(actor: User, agency: Agency, active: bool, *, now: datetime) -> bool:
    """Deactivate (nobody new joins it; its pathways stay readable) or reactivate a structure.

    False when it was already in that state (nothing written)."""
    _require_admin_of(actor, agency, AGENCY_NOT_FOUND)
    if agency.is_active == active:
        return False
    with unit_of_work():
        agency.is_active = active
        record_event(actor, "agency.reactivated" if active else "agency.deactivated",
                     object_type="agency", object_id=agency.id, at=now)
    return True


# --- professionals: invitation, activation, deactivation ------------------------------------------------

@dataclass
class Invited:
    user: User
    invitation: Invitation
    mailed: bool  # False when the mail server refused: the admin can resend


def has_password(user: User) -> bool:
    return user.password_hash != NO_PASSWORD


def _new_invitation(actor: User | None, account: User, *, now: datetime) -> tuple[Invitation, str]:
    """Revoke the account's open invitations and add a new one (in the caller's transaction)."""
    _revoke_invitations(account, now=now)
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        user_id=account.id, territory_id=account.territory_id, invited_by_id=actor.id if actor else None,
        token_hash=sessions.hash_key(token), created_at=now, expires_at=now + INVITATION_TTL,
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation, token


def _revoke_invitations(account: User, *, now: datetime) -> None:
    db.session.execute(
        sa.update(Invitation)
        .where(Invitation.user_id == account.id, Invitation.used_at.is_(None), Invitation.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def invitation_message(user: User, link: str, inviter: User | None) -> EmailMessage:
    who = f"{inviter.full_name} ({inviter.agency.name})" if inviter else "L'administration de Parcours"
    message = EmailMessage()
    message["Subject"] = "Parcours : votre invitation"
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = user.email
    message.set_content(
        f"Bonjour {user.first_name},\n\n"
        f"{who} vous a ouvert un compte Parcours ({user.agency.name}, territoire "
        f"{user.territory.name}).\n"
        f"Pour choisir votre mot de passe, ouvrez ce lien dans les {INVITATION_TTL.days} jours :\n\n"
        f"{link}\n\n"
        "Le lien ne sert qu'une fois. Votre identifiant de connexion est cette adresse "
        f"électronique : {user.email}.\n"
        "Si vous ne vous attendiez pas à cette invitation, ignorez ce message.\n\n"
        "— Parcours\n"
    )
    return message


def _mail(message: EmailMessage, user: User) -> bool:
    try:
        deliver(message)
    except Exception:  # SMTP down: the account exists, the admin sees it and can resend
        log.exception("invitation mail to user %s could not be sent", user.id)
        return False
    return True


def _create_invited(
    actor: User | None, payload: dict[str, Any], territory_id: int, *, now: datetime
) -> tuple[User, Invitation, str]:
    """The account without a password and its invitation (one transaction, audited)."""
    data = load(InvitationSchema(), payload)
    email = normalise_email(data["email"])
    agency = db.session.get(Agency, data["agency_id"])
    if agency is None or agency.territory_id != territory_id:
        raise ValidationError("Choisissez une structure de la liste.", field="agency_id",
                              errors={"agency_id": ["Choisissez une structure de la liste."]})
    if not agency.is_active:
        raise ValidationError(AGENCY_INACTIVE, field="agency_id", errors={"agency_id": [AGENCY_INACTIVE]})
    if find_user_by_email(email) is not None:
        raise Conflict(DUPLICATE_EMAIL, field="email", errors={"email": [DUPLICATE_EMAIL]})
    account = User(
        agency_id=agency.id, territory_id=agency.territory_id, email=email,
        first_name=data["first_name"], last_name=data["last_name"], role=data["role"],
        password_hash=NO_PASSWORD,
    )
    try:
        with unit_of_work() as session:
            session.add(account)
            session.flush()  # a concurrent duplicate of the e-mail fails here
            invitation, token = _new_invitation(actor, account, now=now)
            record_event(actor, "user.invited", object_type="user", object_id=account.id,
                         territory_id=agency.territory_id, at=now,
                         details={"agency_id": agency.id, "role": account.role.value})
    except Conflict:
        raise Conflict(DUPLICATE_EMAIL, field="email", errors={"email": [DUPLICATE_EMAIL]}) from None
    return account, invitation, token


def invite_user(actor: User, payload: dict[str, Any], *, now: datetime, link_for: Callable[[str], str]) -> Invited:
    """Create an account without a password in the admin's territory and mail it a single-use
    invitation link (valid INVITATION_TTL). Raises ValidationError (a field) or Conflict (the
    e-mail is taken, whatever its case)."""
    if not access.can_administer(actor):
        raise NotFound(USER_NOT_FOUND)
    account, invitation, token = _create_invited(actor, payload, actor.territory_id, now=now)
    mailed = _mail(invitation_message(account, link_for(token), actor), account)
    return Invited(user=account, invitation=invitation, mailed=mailed)


ROLE_OR_AGENCY_OF_OWN_ACCOUNT = "Votre propre compte : son rôle et sa structure ne changent pas par un import."
REFERENT_OF_OPEN_PATHWAYS = (
    "Ce compte est référent·e de {count} parcours en cours : désignez d'abord un autre référent "
    "avant de changer sa structure ou d'en faire un·e administrateur·rice."
)


def open_pathways_as_referent(account: User) -> int:
    """How many open pathways have this account as referent."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Pathway)
        .where(Pathway.referent_id == account.id, Pathway.closed_at.is_(None))
    ) or 0


def account_changes(actor: User, account: User, payload: dict[str, Any]) -> dict[str, Any]:
    """What `update_account` would change ({field: new value}), checked as the invitation form
    checks it (same schema, a structure of the territory). Raises ValidationError or Conflict."""
    _require_admin_of(actor, account, USER_NOT_FOUND)
    data = load(InvitationSchema(), payload)
    agency = db.session.get(Agency, data["agency_id"])
    if agency is None or agency.territory_id != account.territory_id:
        raise ValidationError("Choisissez une structure de la liste.", field="agency_id",
                              errors={"agency_id": ["Choisissez une structure de la liste."]})
    wanted = {"first_name": data["first_name"], "last_name": data["last_name"], "role": data["role"],
              "agency_id": agency.id}
    changes = {name: value for name, value in wanted.items() if getattr(account, name) != value}
    if not changes:
        return {}
    if not account.is_active_account:
        raise Conflict(ACCOUNT_INACTIVE.replace("renvoyer une invitation", "le modifier"))
    if "agency_id" in changes and not agency.is_active:
        raise ValidationError(AGENCY_INACTIVE, field="agency_id", errors={"agency_id": [AGENCY_INACTIVE]})
    if ("role" in changes or "agency_id" in changes) and not access.can_change_role_or_agency(actor, account):
        raise Conflict(ROLE_OR_AGENCY_OF_OWN_ACCOUNT)
    leaves_referents = "agency_id" in changes or (
        "role" in changes and not access.role_may_be_referent(changes["role"])
    )
    if leaves_referents:
        count = open_pathways_as_referent(account)
        if count:
            raise Conflict(REFERENT_OF_OPEN_PATHWAYS.format(count=count))
    return changes


def update_account(actor: User, account: User, payload: dict[str, Any], *, now: datetime) -> list[str]:
    """Update an account of the territory from the fields of the invitation form (names, role,
    structure; the e-mail is its key): the names of the fields changed, audited (`user.updated`)."""
    changes = account_changes(actor, account, payload)
    if not changes:
        return []
    with unit_of_work():
        for name, value in changes.items():
            setattr(account, name, value)
        record_event(actor, "user.updated", object_type="user", object_id=account.id, at=now,
                     details={"fields": sorted(changes)})
    return sorted(changes)


def resend_invitation(actor: User, account: User, *, now: datetime, link_for: Callable[[str], str]) -> Invited:
    """A new link for an account that has not chosen its password yet; the previous link dies."""
    _require_admin_of(actor, account, USER_NOT_FOUND)
    if not account.is_active_account:
        raise Conflict(ACCOUNT_INACTIVE)
    if has_password(account):
        raise Conflict(ALREADY_ACTIVATED)
    with unit_of_work():
        invitation, token = _new_invitation(actor, account, now=now)
        record_event(actor, "user.invitation_resent", object_type="user", object_id=account.id, at=now)
    mailed = _mail(invitation_message(account, link_for(token), actor), account)
    return Invited(user=account, invitation=invitation, mailed=mailed)


def deactivate_account(actor: User, account: User, *, now: datetime) -> dict[str, int] | None:
    """Close an account: its sessions and API tokens end now, its invitation links die.

    None when it was already closed (nothing written)."""
    _require_admin_of(actor, account, USER_NOT_FOUND)
    if not access.can_deactivate_account(actor, account):
        raise Conflict(OWN_ACCOUNT)
    if not account.is_active_account:
        return None
    with unit_of_work():
        revoked = deactivate_user(account, now=now, actor=actor)  # audited there, in this transaction
        _revoke_invitations(account, now=now)
    return revoked


def reactivate_account(actor: User, user: User, *, now: datetime) -> bool:
    """Open a closed account again (it logs in with its password, or needs a new invitation)."""
    _require_admin_of(actor, user, USER_NOT_FOUND)
    if user.is_active_account:
        return False
    with unit_of_work():
        user.is_active_account = True
        record_event(actor, "user.reactivated", object_type="user", object_id=user.id, at=now)
    return True


class InvalidInvitation(DomainError):
    status = 400
    title = "Invitation expirée"

    def __init__(self) -> None:
        super().__init__(INVITATION_INVALID)


def find_invitation(token: object, *, now: datetime) -> Invitation | None:
    """The usable invitation of this link's secret (unused, unrevoked, unexpired, active account)."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    invitation = db.session.scalar(sa.select(Invitation).where(Invitation.token_hash == sessions.hash_key(token)))
    if invitation is None or not invitation.is_usable(now) or not invitation.user.is_active_account:
        return None
    return invitation


CONFIRMATION_REQUIRED = "Saisissez une seconde fois le mot de passe."
CONFIRMATION_MISMATCH = "La confirmation ne correspond pas au mot de passe."


def accept_invitation(token: object, *, password: str | None, confirmation: str | None, now: datetime) -> User:
    """The invited person chooses a password (policy of app/accounts/passwords.py); the link is spent."""
    invitation = find_invitation(token, now=now)
    if invitation is None:
        raise InvalidInvitation()
    user = invitation.user
    errors: dict[str, list[str]] = {}
    problem = password_problem(password, [user.email, user.first_name, user.last_name])
    if problem:
        errors["password"] = [problem]
    if not confirmation:
        errors["password_confirmation"] = [CONFIRMATION_REQUIRED]
    elif confirmation != password:
        errors["password_confirmation"] = [CONFIRMATION_MISMATCH]
    if errors:
        raise ValidationError(next(iter(errors.values()))[0], errors=errors)
    with unit_of_work():
        # Spent first, and only if still usable: two concurrent posts of one link cannot both win.
        spent = db.session.execute(
            sa.update(Invitation)
            .where(Invitation.id == invitation.id, Invitation.used_at.is_(None), Invitation.revoked_at.is_(None))
            .values(used_at=now)
        ).rowcount
        if spent != 1:
            raise InvalidInvitation()
        user.password_hash = hash_password(password or "")
        record_event(user, "user.invitation_accepted", object_type="user", object_id=user.id, at=now)
    return user


# --- territory settings ---------------------------------------------------------------------------------

SETTINGS_CHANGED = "territory.settings_changed"


def settings_of(territory: Territory) -> dict[str, Any]:
    """The current value of every setting of the form."""
    return {name: getattr(territory, name) for name in TerritorySettingsSchema.LABELS}


def update_settings(
    actor: User, territory: Territory, payload: dict[str, Any], *, expected_version: int | None, now: datetime
) -> dict[str, dict[str, Any]]:
    """Change the territory's settings; `{name: {"before", "after"}}` of what changed (audited).

    The territory's `version` goes up with the change: the next follow-up scan sees that its
    settings changed and re-examines every pathway of the territory (a full scan, app/followup/scan.py
    `_plan`), so alerts follow the new cadences and delays within one scan interval — without a
    full scan inside the admin's request.
    """
    _require_admin_of(actor, territory, "Ce territoire est introuvable.")
    data = load(TerritorySettingsSchema(), payload)
    check_version(territory, expected_version)
    before = settings_of(territory)
    changes = {
        name: {"before": before[name], "after": value} for name, value in data.items() if before[name] != value
    }
    if not changes:
        return {}
    with unit_of_work():
        for name, change in changes.items():
            setattr(territory, name, change["after"])
        record_event(actor, SETTINGS_CHANGED, object_type="territory", object_id=territory.id, at=now,
                     details={"changes": changes})
    return changes


# --- a new territory (CLI) ------------------------------------------------------------------------------

TERRITORY_CODE_TAKEN = "Un territoire existe déjà avec ce code."


def create_territory(
    *, code: str, name: str, admin_email: str, now: datetime, link_for: Callable[[str], str],
    admin_first_name: str, admin_last_name: str, agency_name: str | None = None,
) -> Invited:
    """A territory, its conseil départemental and its first admin, invited by e-mail.

    One transaction for the territory and its first structure; the invitation follows (its own).
    """
    code = (code or "").strip().upper()
    name = (name or "").strip()
    if not code or len(code) > 3 or not code.isalnum():
        raise ValidationError("Le code du territoire compte 1 à 3 caractères (par exemple 93 ou 2A).", field="code")
    if not name or len(name) > 120:
        raise ValidationError("Le nom du territoire compte 1 à 120 caractères.", field="name")
    if db.session.scalar(sa.select(Territory.id).where(Territory.code == code)) is not None:
        raise Conflict(TERRITORY_CODE_TAKEN, field="code")
    if find_user_by_email(admin_email) is not None:
        raise Conflict(DUPLICATE_EMAIL, field="email")
    with unit_of_work() as session:
        territory = Territory(code=code, name=name)
        session.add(territory)
        session.flush()
        agency = Agency(
            territory_id=territory.id, name=(agency_name or f"Conseil départemental — {name}")[:160],
            kind=AgencyKind.DEPARTMENTAL_COUNCIL,
        )
        session.add(agency)
        session.flush()
        record_event(None, "territory.create", object_type="territory", object_id=territory.id,
                     territory_id=territory.id, at=now, details={"code": code})
        account, invitation, token = _create_invited(
            None,
            {"first_name": admin_first_name, "last_name": admin_last_name, "email": admin_email,
             "role": Role.ADMIN.value,  # not an access rule: a territory's first account is its admin
             "agency_id": agency.id},
            territory.id, now=now,
        )
    mailed = _mail(invitation_message(account, link_for(token), None), account)
    return Invited(user=account, invitation=invitation, mailed=mailed)
