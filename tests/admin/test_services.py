"""The administration services on a real database: structures, invitations, accounts, settings."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts import services as accounts
from app.accounts.models import Agency, AgencyKind, Territory, User, UserSession
from app.admin import services
from app.admin.models import Invitation
from app.admin.schemas import siret_is_valid
from app.audit.models import AuditEvent
from app.db_types import utcnow
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.followup.scan import scan_follow_ups
from tests.admin.conftest import mails
from tests.factories import ApiTokenFactory, UserSessionFactory

LINKS: list[str] = []


def link_for(token: str) -> str:
    LINKS.append(token)
    return f"http://parcours.test/invitation/{token}"


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def _invite(site, now, **overrides):
    payload = {"first_name": "Bruno", "last_name": "Petit", "email": "Bruno.Petit@Exemple.fr",
               "role": "professional", "agency_id": site.ft.id, **overrides}
    return services.invite_user(site.admin, payload, now=now, link_for=link_for)


# --- SIRET ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("siret", "valid"), [
    ("73282932000074", True),    # a real SIRET
    ("73282932000075", False),   # one digit off
    ("7328293200007", False),    # 13 digits
    ("7328293200007A", False),
    ("35600000000048", True),    # La Poste's head office (Luhn)
    ("35600000049837", True),    # a La Poste establishment: sum of digits multiple of 5
    ("35600000049838", False),
])
def test_siret_is_checked_by_its_luhn_key(siret, valid):
    assert siret_is_valid(siret) is valid


# --- structures -----------------------------------------------------------------------------------

def test_an_admin_creates_a_structure_in_their_territory(site, now):
    agency = services.create_agency(site.admin, {
        "name": "Mission locale de Bondy", "kind": "mission_locale", "siret": "732 829 320 00074",
        "address": "1 rue de la Paix, 93140 Bondy", "email": "Contact@ML-Bondy.fr", "phone": "01 23 45 67 89",
    }, now=now)
    assert agency.territory_id == site.territory.id
    assert (agency.siret, agency.email) == ("73282932000074", "contact@ml-bondy.fr")
    [event] = _events("agency.create")
    assert event.object_id == agency.id and event.actor_id == site.admin.id


@pytest.mark.parametrize(("payload", "field", "message"), [
    ({"name": "", "kind": "caf"}, "name", "Saisissez le nom de la structure."),
    ({"name": "X", "kind": "banque"}, "kind", "Choisissez un type de la liste."),
    ({"name": "X", "kind": "caf", "siret": "73282932000075"}, "siret", "Le SIRET compte 14 chiffres"),
    ({"name": "X", "kind": "france_travail", "safir_code": "1234"}, "safir_code", "Le code SAFIR compte 5 chiffres."),
    ({"name": "X", "kind": "caf", "safir_code": "12345"}, "safir_code", "ne concerne que les agences France Travail"),
    ({"name": "X", "kind": "caf", "email": "pas-une-adresse"}, "email", "adresse électronique valide"),
    ({"name": "X", "kind": "caf", "phone": "appelez-moi"}, "phone", "numéro de téléphone valide"),
    ({"name": "X" * 161, "kind": "caf"}, "name", "160 caractères au plus."),
])
def test_a_bad_structure_is_refused_naming_the_field(site, now, payload, field, message):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Agency))
    with pytest.raises(ValidationError) as refused:
        services.create_agency(site.admin, payload, now=now)
    assert message in " ".join(refused.value.errors[field])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agency)) == before


def test_a_structure_name_is_unique_in_the_territory_only(site, now):
    with pytest.raises(Conflict, match="porte déjà ce nom"):
        services.create_agency(site.admin, {"name": "france travail BOBIGNY", "kind": "caf"}, now=now)
    assert services.create_agency(site.other_admin, {"name": "France Travail Bobigny", "kind": "france_travail"},
                                  now=now).territory_id == site.other_territory.id


def test_editing_a_structure_checks_the_version_and_audits_the_fields(site, now):
    payload = {"name": "France Travail Bobigny", "kind": "france_travail", "safir_code": "93012"}
    with pytest.raises(Conflict):
        services.update_agency(site.admin, site.ft, payload, expected_version=site.ft.version + 1, now=now)
    assert site.ft.safir_code is None
    assert services.update_agency(site.admin, site.ft, payload, expected_version=site.ft.version, now=now) == [
        "safir_code"]
    assert site.ft.safir_code == "93012"
    [event] = _events("agency.update")
    assert event.details == {"fields": ["safir_code"]}


def test_an_admin_never_reaches_another_territorys_structure(site, now):
    with pytest.raises(NotFound):
        services.update_agency(site.admin, site.other_agency, {"name": "Pris", "kind": "caf"},
                               expected_version=None, now=now)
    with pytest.raises(NotFound):
        services.set_agency_active(site.admin, site.other_agency, False, now=now)
    assert site.other_agency.is_active and site.other_agency.name == "CCAS d'ailleurs"


@pytest.mark.parametrize("role", ["professional", "manager"])
def test_only_admins_administer(site, now, role):
    user = site.professional if role == "professional" else site.manager
    with pytest.raises(NotFound):
        services.create_agency(user, {"name": "Pirate", "kind": "caf"}, now=now)
    with pytest.raises(NotFound):
        services.set_agency_active(user, site.ft, False, now=now)
    with pytest.raises(NotFound):
        services.invite_user(user, {}, now=now, link_for=link_for)
    with pytest.raises(NotFound):
        services.update_settings(user, site.territory, {}, expected_version=None, now=now)


def test_nobody_new_joins_a_deactivated_structure(site, now, outbox):
    assert services.set_agency_active(site.admin, site.ft, False, now=now) is True
    assert services.set_agency_active(site.admin, site.ft, False, now=now) is False  # nothing to do
    assert [e.action for e in _events("agency.deactivated")] == ["agency.deactivated"]
    with pytest.raises(ValidationError, match="désactivée"):
        _invite(site, now)
    # its professionals keep their accounts; it is reactivated, and takes newcomers again
    assert site.professional.is_active_account
    services.set_agency_active(site.admin, site.ft, True, now=now)
    assert _invite(site, now).user.agency_id == site.ft.id


# --- invitations ----------------------------------------------------------------------------------

def test_an_invitation_creates_an_account_without_password_and_mails_a_link(site, now, outbox):
    invited = _invite(site, now)
    user = invited.user
    assert (user.email, user.territory_id) == ("bruno.petit@exemple.fr", site.territory.id)
    assert user.is_active_account
    assert not services.has_password(user)
    assert invited.mailed
    token = LINKS[-1]
    invitation = db.session.scalar(sa.select(Invitation).where(Invitation.user_id == user.id))
    assert invitation.token_hash != token and len(invitation.token_hash) == 64  # only its hash is kept
    assert invitation.expires_at == now + timedelta(days=7)
    [mail] = mails(outbox)
    assert mail["To"] == "bruno.petit@exemple.fr" and token in mail.get_body(("plain",)).get_content()
    # no password logs in before the person chose one
    assert accounts.authenticate("bruno.petit@exemple.fr", "!invited", now) is None
    [event] = _events("user.invited")
    assert event.actor_id == site.admin.id and event.details["role"] == "professional"


@pytest.mark.parametrize("email", ["pro@ft93.fr", "PRO@FT93.FR", "  Pro@Ft93.fr ", "pro@ailleurs.fr"])
def test_an_email_cannot_be_used_twice_whatever_its_case_or_territory(site, now, outbox, email):
    count = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    with pytest.raises(Conflict) as refused:
        _invite(site, now, email=email)
    assert refused.value.errors == {"email": ["Un compte existe déjà avec cette adresse électronique."]}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == count
    assert mails(outbox) == []


@pytest.mark.parametrize(("overrides", "field"), [
    ({"first_name": ""}, "first_name"),
    ({"last_name": None}, "last_name"),
    ({"email": "bruno"}, "email"),
    ({"role": "superadmin"}, "role"),
    ({"agency_id": "abc"}, "agency_id"),
])
def test_a_bad_invitation_is_refused_naming_the_field(site, now, outbox, overrides, field):
    with pytest.raises(ValidationError) as refused:
        _invite(site, now, **overrides)
    assert field in refused.value.errors
    assert mails(outbox) == []


def test_an_admin_cannot_invite_into_another_territorys_structure(site, now, outbox):
    with pytest.raises(ValidationError) as refused:
        _invite(site, now, agency_id=site.other_agency.id)
    assert refused.value.errors == {"agency_id": ["Choisissez une structure de la liste."]}
    assert db.session.scalar(sa.select(User).where(User.email == "bruno.petit@exemple.fr")) is None


def test_the_invited_person_chooses_a_password_once(site, now, outbox):
    user = _invite(site, now).user
    token = LINKS[-1]
    with pytest.raises(ValidationError) as weak:
        services.accept_invitation(token, password="court", confirmation="court", now=now)
    assert "password" in weak.value.errors
    with pytest.raises(ValidationError) as mismatch:
        services.accept_invitation(token, password="girafe-parapluie-tournesol-41", confirmation="autre", now=now)
    assert mismatch.value.errors == {"password_confirmation": ["La confirmation ne correspond pas au mot de passe."]}
    assert not services.has_password(user)
    services.accept_invitation(token, password="girafe-parapluie-tournesol-41",
                               confirmation="girafe-parapluie-tournesol-41", now=now)
    assert accounts.authenticate(user.email, "girafe-parapluie-tournesol-41", now) == user
    with pytest.raises(services.InvalidInvitation):  # single use
        services.accept_invitation(token, password="autre-phrase-secrete-tres-longue-9",
                                   confirmation="autre-phrase-secrete-tres-longue-9", now=now)
    with pytest.raises(Conflict, match="déjà choisi"):
        services.resend_invitation(site.admin, user, now=now, link_for=link_for)


def test_an_invitation_expires_after_seven_days(site, now, outbox):
    _invite(site, now)
    token = LINKS[-1]
    assert services.find_invitation(token, now=now + timedelta(days=7, seconds=-1)) is not None
    assert services.find_invitation(token, now=now + timedelta(days=7)) is None


def test_a_resent_invitation_kills_the_previous_link(site, now, outbox):
    user = _invite(site, now).user
    first = LINKS[-1]
    services.resend_invitation(site.admin, user, now=now + timedelta(days=8), link_for=link_for)
    second = LINKS[-1]
    later = now + timedelta(days=8, hours=1)
    assert services.find_invitation(first, now=later) is None
    assert services.find_invitation(second, now=later).user == user
    assert len(mails(outbox)) == 2
    assert len(_events("user.invitation_resent")) == 1


# --- deactivation ---------------------------------------------------------------------------------

def test_deactivation_revokes_sessions_tokens_and_invitations(site, now, outbox):
    session = UserSessionFactory(user=site.professional)
    token = ApiTokenFactory(user=site.professional)
    revoked = services.deactivate_account(site.admin, site.professional, now=now)
    assert revoked == {"sessions": 1, "api_tokens": 1}
    assert not site.professional.is_active_account
    assert db.session.get(UserSession, session.id).revoked_at is not None and token.revoked_at is not None
    assert services.deactivate_account(site.admin, site.professional, now=now) is None
    [event] = _events("user.deactivated")
    assert event.actor_id == site.admin.id
    # an invited account's link dies with it
    invited = _invite(site, now).user
    services.deactivate_account(site.admin, invited, now=now)
    assert services.find_invitation(LINKS[-1], now=now) is None
    with pytest.raises(Conflict, match="désactivé"):
        services.resend_invitation(site.admin, invited, now=now, link_for=link_for)
    # reactivated, the professional logs in again
    assert services.reactivate_account(site.admin, site.professional, now=now) is True
    assert site.professional.is_active_account


def test_an_admin_does_not_close_their_own_account_nor_another_territorys(site, now):
    with pytest.raises(Conflict, match="propre compte"):
        services.deactivate_account(site.admin, site.admin, now=now)
    with pytest.raises(NotFound):
        services.deactivate_account(site.admin, site.other_user, now=now)
    assert site.admin.is_active_account and site.other_user.is_active_account


# --- settings -------------------------------------------------------------------------------------

def _settings(territory: Territory, **changes):
    values = services.settings_of(territory)
    values["checkin_months"] = ", ".join(map(str, values["checkin_months"]))
    return {**values, **changes}


def test_a_settings_change_is_audited_with_before_and_after(site, now):
    territory = site.territory
    changes = services.update_settings(
        site.admin, territory, _settings(territory, cadence_social_days="45", checkin_months="6, 1, 3, 12"),
        expected_version=territory.version, now=now,
    )
    assert changes == {"cadence_social_days": {"before": 60, "after": 45},
                       "checkin_months": {"before": [1, 3, 6], "after": [1, 3, 6, 12]}}
    assert territory.cadence_social_days == 45 and territory.checkin_months == [1, 3, 6, 12]
    [event] = _events("territory.settings_changed")
    assert event.details == {"changes": changes} and event.object_id == territory.id
    # the same values again: nothing written
    assert services.update_settings(site.admin, territory, _settings(territory),
                                    expected_version=territory.version, now=now) == {}
    assert len(_events("territory.settings_changed")) == 1


@pytest.mark.parametrize(("field", "value", "message"), [
    ("cadence_professional_days", "0", "Saisissez un nombre de jours entre 1 et 365."),
    ("cadence_social_days", "366", "Saisissez un nombre de jours entre 1 et 365."),
    ("grace_days", "-1", "entre 0 et 30"),
    ("referral_answer_days", "dix", "Saisissez un nombre de jours entre 1 et 90."),
    ("no_referent_days", "", "Saisissez un nombre de jours entre 1 et 365."),
    ("audit_retention_months", "40", "Saisissez un nombre de mois entre 12 et 36."),
    ("retention_months", "0", "Saisissez un nombre de mois entre 1 et 120."),
    ("checkin_months", "1, 3, 99", "par exemple 1, 3, 6"),
    ("checkin_months", "", "par exemple 1, 3, 6"),
    ("checkin_months", "1,2,3,4,5,6,7", "par exemple 1, 3, 6"),
    ("checkin_months", "un", "par exemple 1, 3, 6"),
])
def test_bad_settings_are_refused_naming_the_field_and_change_nothing(site, now, field, value, message):
    territory = site.territory
    before = services.settings_of(territory)
    version = territory.version
    with pytest.raises(ValidationError) as refused:
        services.update_settings(site.admin, territory, _settings(territory, **{field: value}),
                                 expected_version=version, now=now)
    assert message in " ".join(refused.value.errors[field])
    db.session.expire_all()
    assert services.settings_of(db.session.get(Territory, territory.id)) == before
    assert _events("territory.settings_changed") == []


def test_a_stale_settings_form_is_refused(site, now):
    territory = site.territory
    with pytest.raises(Conflict):
        services.update_settings(site.admin, territory, _settings(territory, grace_days="5"),
                                 expected_version=territory.version - 1, now=now)
    assert territory.grace_days == 2


def test_a_followup_setting_change_makes_the_next_scan_full(site, now):
    territory = site.territory
    scan_follow_ups(now, territory_ids=[territory.id])
    assert not scan_follow_ups(now + timedelta(minutes=15), territory_ids=[territory.id]).full  # incremental
    services.update_settings(site.admin, territory, _settings(territory, cadence_professional_days="20"),
                             expected_version=territory.version, now=now)
    assert scan_follow_ups(now + timedelta(minutes=30), territory_ids=[territory.id]).full


def test_password_login_can_be_refused_for_a_territory(site, now):
    territory = site.territory
    services.update_settings(site.admin, territory, _settings(territory, password_login_allowed=False),
                             expected_version=territory.version, now=now)
    from tests.factories import PASSWORD
    with pytest.raises(accounts.PasswordLoginDisabled):
        accounts.authenticate(site.professional.email, PASSWORD, now)
    assert accounts.authenticate(site.professional.email, "mauvais", now) is None  # says nothing more
    assert accounts.authenticate(site.other_user.email, PASSWORD, now) == site.other_user  # other territory


# --- a new territory (CLI) ------------------------------------------------------------------------

def test_the_cli_creates_a_territory_and_invites_its_first_admin(runner, outbox):
    result = runner.invoke(args=["territory", "create", "--code", "2a", "--name", "Corse-du-Sud",
                                 "--admin-email", "Admin@Corse.fr"])
    assert result.exit_code == 0, result.output
    territory = db.session.scalar(sa.select(Territory).where(Territory.code == "2A"))
    admin = db.session.scalar(sa.select(User).where(User.email == "admin@corse.fr"))
    assert admin.territory_id == territory.id and admin.is_admin and not services.has_password(admin)
    assert admin.agency.kind == AgencyKind.DEPARTMENTAL_COUNCIL
    [mail] = mails(outbox)
    assert mail["To"] == "admin@corse.fr" and "/invitation/" in mail.get_body(("plain",)).get_content()
    again = runner.invoke(args=["territory", "create", "--code", "2A", "--name", "Corse",
                                "--admin-email", "autre@corse.fr"])
    assert again.exit_code != 0 and "existe déjà avec ce code" in again.output


def test_a_deactivated_structure_keeps_its_pathways_readable_but_takes_nobody_new(world, now):
    """The existing services keep `Agency.is_active`: no team membership, no referral to it."""
    from app import access
    from app.barriers.services import refer_barrier
    from app.pathways.services import add_team_agency

    assert services.set_agency_active(world.admin, world.ccas, False, now=now)
    assert services.set_agency_active(world.admin, world.ft, False, now=now)  # the lead agency
    assert access.can_read_record(world.referent, world.pathway)
    assert access.can_read_record(world.partner, world.pathway)
    with pytest.raises(ValidationError):
        add_team_agency(world.referent, world.pathway, world.ccas.id, now=now)
    with pytest.raises(ValidationError):
        refer_barrier(world.referent, world.barrier, agency_id=world.ccas.id, now=now)


def test_an_invited_account_signed_in_with_proconnect_is_no_longer_waiting(site, outbox) -> None:
    """An invitation can be completed by ProConnect instead of a password (the account is linked by
    its verified e-mail): it then counts as active, not as a pending invitation."""
    from app.admin import queries

    now = utcnow()
    user = _invite(site, now, email="nouvelle@ft93.fr").user
    before = queries.counts(site.admin, now=now)
    (row,) = [r for r in queries.users_page(site.admin, q="nouvelle@", page=1, now=now).items]
    assert row.status == "invited"
    user.proconnect_sub = "sub-nina-roy"  # as app.accounts.proconnect links it at her first sign-in
    db.session.flush()
    after = queries.counts(site.admin, now=now)
    assert after.pending_invitations == before.pending_invitations - 1
    assert after.active_users == before.active_users + 1
    (row,) = [r for r in queries.users_page(site.admin, q="nouvelle@", page=1, now=now).items]
    assert row.status == "active"
