"""The referent's records in chromium (issue 13, points 5, 6 and 7): a past planned meeting recorded
in one click or through « Saisir un entretien » without a second meeting, a meeting moved; the
duplicate check that catches an accent variant and keeps the reason; scheduling warnings (Sunday,
evening, holiday, clash) that ask before planning; check-ins after a return to work on working
days at the chosen time. axe on each page."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from app.accounts.models import AgencyKind, User
from app.core.timefmt import PARIS
from app.extensions import db
from app.meetings import services as meeting_services
from app.meetings.models import Meeting, MeetingKind, MeetingStatus
from app.pathways import services
from app.pathways.models import Beneficiary, Orientation


def _next(weekday: int, after: date) -> date:
    """The first `weekday` (0 = Monday) at least a week after `after`."""
    day = after + timedelta(days=7)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _local(day: date, hour: int, minute: int = 0) -> str:
    return datetime.combine(day, time(hour, minute)).strftime("%Y-%m-%dT%H:%M")


def _setup(live_server):
    territory = live_server.create_territory()
    ft = live_server.create_agency(territory, name="France Travail Pantin", kind=AgencyKind.FRANCE_TRAVAIL)
    referent = live_server.create_user(first_name="Inès", last_name="Garnier", agency_id=ft)
    return territory, ft, referent


def test_past_meetings_are_recorded_in_one_click_or_through_the_interview_form_and_moved(
    live_server, browser_page, login, assert_accessible
) -> None:
    _territory, _ft, referent = _setup(live_server)
    now = datetime.now(timezone.utc)
    with live_server.app_context():
        actor = db.session.get(User, referent.id)
        pathway = services.create_beneficiary(actor, {"first_name": "Yanis", "last_name": "Perrot"},
                                              referent=actor, now=now - timedelta(days=40))
        services.orient(actor, pathway, Orientation.PROFESSIONAL, now=now - timedelta(days=39))
        first = meeting_services.plan_meeting(actor, pathway, scheduled_at=now - timedelta(days=10),
                                              now=now - timedelta(days=30))
        second = meeting_services.plan_meeting(actor, pathway, scheduled_at=now - timedelta(days=3),
                                               now=now - timedelta(days=30))
        later = meeting_services.plan_meeting(actor, pathway, scheduled_at=now + timedelta(days=20),
                                              now=now - timedelta(days=1))
        pathway_id, first_id, second_id, later_id = pathway.id, first.id, second.id, later.id
        db.session.remove()

    login(browser_page, referent.email, referent.password)
    browser_page.goto(f"/parcours/{pathway_id}?onglet=rendez-vous")
    assert browser_page.get_by_text("À renseigner").count() == 2
    assert_accessible(browser_page)
    # « Présent » on the older one, straight from the tab.
    browser_page.locator("tr", has=browser_page.locator(f"form[action='/rendez-vous/{first_id}/renseigner']")) \
        .get_by_role("button", name="Présent").click()
    browser_page.wait_for_load_state()
    assert browser_page.get_by_text("Le rendez-vous est renseigné : la personne était présente.").is_visible()
    assert browser_page.get_by_text("À renseigner").count() == 1

    # « Saisir un entretien » proposes the pending one instead of creating a second meeting.
    browser_page.get_by_role("link", name="Saisir un entretien").click()
    browser_page.wait_for_load_state()
    assert browser_page.get_by_role("heading", name="Un rendez-vous prévu est à renseigner").is_visible()
    assert_accessible(browser_page)
    browser_page.get_by_text("Oui, c'est ce rendez-vous : il sera renseigné").click()
    browser_page.get_by_role("button", name="Enregistrer l'entretien").click()
    browser_page.wait_for_load_state()
    assert browser_page.get_by_text("L'entretien est enregistré.").is_visible()
    assert browser_page.get_by_text("À renseigner").count() == 0

    # « Déplacer » the next one by a week.
    moved_to = (now + timedelta(days=27)).astimezone(PARIS).date()
    moved_to = moved_to + timedelta(days=(2 - moved_to.weekday()) % 7)  # a Wednesday, mid-morning
    browser_page.get_by_role("link", name="Déplacer le rendez-vous").click()
    browser_page.wait_for_load_state()
    assert_accessible(browser_page)
    browser_page.get_by_label("Nouvelle date et heure").fill(_local(moved_to, 10, 30))
    browser_page.get_by_role("button", name="Déplacer le rendez-vous").click()
    browser_page.wait_for_load_state()
    assert browser_page.get_by_text("Le rendez-vous est déplacé.").is_visible()

    with live_server.app_context():
        meetings = {m.id: m for m in db.session.scalars(sa.select(Meeting).where(Meeting.pathway_id == pathway_id))}
        assert set(meetings) == {first_id, second_id, later_id}  # no second meeting was created
        assert meetings[first_id].status == meetings[second_id].status == MeetingStatus.HELD
        assert meetings[later_id].scheduled_at.astimezone(PARIS).replace(tzinfo=None) == datetime.combine(
            moved_to, time(10, 30))
        db.session.remove()


def test_the_duplicate_check_catches_an_accent_variant_and_keeps_the_reason(
    live_server, browser_page, login, assert_accessible
) -> None:
    territory, ft, referent = _setup(live_server)
    # A colleague's record: readable, so a name alone may match it (an unshared record is never
    # matched on a name alone, nor named: tests/pathways/test_duplicates.py).
    colleague = live_server.create_user(first_name="Paul", last_name="Vidal", agency_id=ft)
    with live_server.app_context():
        other = db.session.get(User, colleague.id)
        services.create_beneficiary(other, {"first_name": "Clément", "last_name": "Lefèvre"}, referent=other)
        db.session.remove()

    login(browser_page, referent.email, referent.password)
    browser_page.goto("/personnes/nouvelle")
    browser_page.locator("#champ-first_name").fill("CLEMENT")
    browser_page.locator("#champ-last_name").fill("Lefevre")
    browser_page.get_by_role("button", name="Créer le dossier").click()
    browser_page.wait_for_load_state()
    assert browser_page.get_by_text("Cette personne a peut-être déjà un dossier dans le territoire").is_visible()
    assert browser_page.get_by_role("link", name="Ouvrir le dossier de Clément Lefèvre").is_visible()
    create_anyway = browser_page.get_by_role("button", name="Créer quand même")
    assert "fr-btn--secondary" in (create_anyway.get_attribute("class") or "")  # never the main action
    assert_accessible(browser_page)
    create_anyway.click()  # without a reason: refused, nothing created
    browser_page.wait_for_load_state()
    assert browser_page.locator("#erreurs-formulaire").is_visible()
    browser_page.get_by_label("Pourquoi s'agit-il d'une autre personne ?").fill(
        "Homonyme : né en 1961, l'autre dossier est celui de son fils.")
    browser_page.get_by_role("button", name="Créer quand même").click()
    browser_page.wait_for_load_state()
    assert browser_page.get_by_text("Le dossier de CLEMENT Lefevre est créé.").is_visible()
    with live_server.app_context():
        people = db.session.scalars(sa.select(Beneficiary).where(Beneficiary.territory_id == territory)
                                    .order_by(Beneficiary.id)).all()
        assert len(people) == 2
        assert people[1].duplicate_reason == "Homonyme : né en 1961, l'autre dossier est celui de son fils."
        db.session.remove()


def test_planning_warns_on_sundays_evenings_holidays_and_clashes_and_checkins_land_on_working_days(
    live_server, browser_page, login, assert_accessible
) -> None:
    _territory, _ft, referent = _setup(live_server)
    now = datetime.now(timezone.utc)
    today = now.astimezone(PARIS).date()
    monday = _next(0, today)
    with live_server.app_context():
        actor = db.session.get(User, referent.id)
        pathway = services.create_beneficiary(actor, {"first_name": "Maëlle", "last_name": "Roux"},
                                              referent=actor, now=now - timedelta(days=5))
        services.orient(actor, pathway, Orientation.PROFESSIONAL, now=now - timedelta(days=4))
        meeting_services.plan_meeting(actor, pathway, scheduled_at=datetime.combine(
            monday, time(9, 0), tzinfo=PARIS).astimezone(timezone.utc), now=now)
        pathway_id = pathway.id
        db.session.remove()

    login(browser_page, referent.email, referent.password)
    browser_page.goto(f"/parcours/{pathway_id}/rendez-vous/nouveau")
    sunday = _next(6, today)
    browser_page.get_by_label("Date et heure").fill(_local(sunday, 20, 0))
    browser_page.get_by_role("button", name="Planifier le rendez-vous").click()
    browser_page.wait_for_load_state()
    warnings = browser_page.locator("#avertissements-planning")
    assert warnings.get_by_text("est un dimanche").is_visible()
    assert warnings.get_by_text("hors des heures ouvrées").is_visible()
    assert_accessible(browser_page)
    # A clash with the Monday meeting of the same person: asked too.
    browser_page.get_by_label("Date et heure").fill(_local(monday, 9, 15))
    browser_page.get_by_role("button", name="Planifier le rendez-vous").click()
    browser_page.wait_for_load_state()
    assert warnings.get_by_text("a déjà un rendez-vous prévu le").is_visible()
    browser_page.get_by_role("button", name="Confirmer quand même").click()
    browser_page.wait_for_load_state()
    assert browser_page.get_by_text("Le rendez-vous est planifié.").is_visible()

    # A public holiday: 25 December.
    christmas = date(today.year if today < date(today.year, 12, 18) else today.year + 1, 12, 25)
    browser_page.goto(f"/parcours/{pathway_id}/rendez-vous/nouveau")
    browser_page.get_by_label("Date et heure").fill(_local(christmas, 10, 0))
    browser_page.get_by_role("button", name="Planifier le rendez-vous").click()
    browser_page.wait_for_load_state()
    assert warnings.get_by_text("est un jour férié (Noël)").is_visible()

    # Back to work: the check-ins land on working days, at the chosen time.
    hired = _next(5, today)  # a Saturday: one month later is often a weekend too
    browser_page.goto(f"/parcours/{pathway_id}/emploi")
    browser_page.get_by_label("Date d'embauche").fill(hired.isoformat())
    browser_page.get_by_label("Type de contrat").select_option("cdi")
    browser_page.get_by_label("Employeur").fill("Boulangerie Martin")
    browser_page.get_by_label("Heure des points de suivi dans l'emploi").fill("14:30")
    assert_accessible(browser_page)
    browser_page.get_by_role("button", name="Enregistrer le retour à l'emploi").click()
    browser_page.wait_for_load_state()
    with live_server.app_context():
        checkins = db.session.scalars(sa.select(Meeting).where(
            Meeting.pathway_id == pathway_id, Meeting.kind == MeetingKind.CHECKIN).order_by(Meeting.scheduled_at)).all()
        assert len(checkins) == 3
        for checkin in checkins:
            local = checkin.scheduled_at.astimezone(PARIS)
            assert local.weekday() < 5 and (local.hour, local.minute) == (14, 30), local
        db.session.remove()


def test_an_alert_disappears_as_soon_as_its_cause_is_removed_and_the_page_says_when_alerts_were_computed(
    live_server, browser_page, login, assert_accessible
) -> None:
    """Issue 13, point 4: the interview recorded resolves « Suivi en retard » in the same write —
    no scan between — and « Mes alertes » says when the scan last ran."""
    territory, _ft, referent = _setup(live_server)
    now = datetime.now(timezone.utc)
    with live_server.app_context():
        from app.followup.scan import scan_follow_ups

        actor = db.session.get(User, referent.id)
        pathway = services.create_beneficiary(actor, {"first_name": "Théo", "last_name": "Marchand"},
                                              referent=actor, now=now - timedelta(days=120))
        services.orient(actor, pathway, Orientation.PROFESSIONAL, now=now - timedelta(days=119))
        scan_follow_ups(now - timedelta(hours=1), territory_ids=[territory])
        pathway_id = pathway.id
        db.session.remove()

    login(browser_page, referent.email, referent.password)
    browser_page.goto("/alertes")
    assert browser_page.get_by_text("Alertes calculées le").is_visible()
    row = browser_page.locator("tbody tr", has_text="Théo Marchand").filter(has_text="Suivi en retard")
    assert row.count() == 1
    assert_accessible(browser_page)
    browser_page.goto(f"/parcours/{pathway_id}/entretien")
    browser_page.get_by_role("button", name="Enregistrer l'entretien").click()
    browser_page.wait_for_load_state()
    assert browser_page.get_by_text("L'entretien est enregistré.").is_visible()
    browser_page.goto("/alertes")
    assert browser_page.locator("tbody tr", has_text="Théo Marchand").filter(has_text="Suivi en retard").count() == 0


def test_the_record_is_downloaded_as_a_pdf_that_holds_what_the_referent_sees(
    live_server, browser_page, login, assert_accessible
) -> None:
    """Issue #15: « Télécharger le dossier (PDF) » from the record, in chromium: the file arrives
    with its name, and its text (pypdf) holds the identity, the plan with French dates and the
    journal."""
    import io

    import pypdf

    from app.barriers import services as barrier_services
    from app.barriers.models import BarrierCategory
    from app.pathways.models import Visibility

    _territory, _ft, referent = _setup(live_server)
    now = datetime.now(timezone.utc)
    due = (now + timedelta(days=30)).astimezone(PARIS).date()
    with live_server.app_context():
        actor = db.session.get(User, referent.id)
        pathway = services.create_beneficiary(actor, {"first_name": "Maëlle", "last_name": "Perrin",
                                                      "birth_date": date(1991, 4, 9)},
                                              referent=actor, now=now - timedelta(days=20))
        services.orient(actor, pathway, Orientation.PROFESSIONAL, now=now - timedelta(days=19))
        barrier_services.add_barrier(actor, pathway, category=BarrierCategory.MOBILITY, title="Permis B à financer",
                                     due_on=due, now=now - timedelta(days=18))
        services.add_entry(actor, pathway, body="Atelier CV fait ensemble.", visibility=Visibility.TEAM,
                           now=now - timedelta(days=5))
        pathway_id = pathway.id
        db.session.remove()

    login(browser_page, referent.email, referent.password)
    browser_page.goto(f"/parcours/{pathway_id}")
    assert_accessible(browser_page)
    with browser_page.expect_download() as waiting:
        browser_page.get_by_role("link", name="Télécharger le dossier de Maëlle Perrin (PDF)").click()
    download = waiting.value
    assert download.suggested_filename.startswith("dossier-perrin-maelle-")
    assert download.suggested_filename.endswith(".pdf")
    reader = pypdf.PdfReader(io.BytesIO(open(download.path(), "rb").read()))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Dossier de suivi de Maëlle PERRIN" in text
    assert "9 avril 1991" in text
    assert "Permis B à financer" in text
    assert f"{due.day} " in text and str(due.year) in text
    assert "Atelier CV fait ensemble." in text
    assert reader.trailer["/Root"]["/Lang"] == "fr"
