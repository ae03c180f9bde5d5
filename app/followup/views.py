"""« Mes alertes » for professionals and « Pilotage » for managers (HTML, thin)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from app import access
from app.audit.services import record_shown
from app.barriers.models import BarrierCategory
from app.core import csvexport, timefmt, xlsxexport
from app.core.urls import safe_next
from app.errors import DomainError
from app.followup import pilotage, queries
from app.followup import services as alerts
from app.followup.models import Alert, AlertKind
from app.labels import label
from app.pathways import services as pathways
from app.pathways.schemas import AssignReferentSchema
from app.transaction import unit_of_work
from app.validation import load, parse_id
from app.workspace import exports

bp = Blueprint("followup", __name__)

LISTS = pilotage.LISTS


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _int_arg(name: str) -> int | None:
    return parse_id(request.args.get(name, ""))  # None unless an id that can exist


def _enum_arg(name: str, enum_cls):  # type: ignore[no-untyped-def]
    try:
        return enum_cls(request.args[name]) if request.args.get(name) else None
    except ValueError:
        return None


# --- « Mes alertes » -----------------------------------------------------------------------------


@bp.get("/alertes")
@login_required
def my_alerts() -> ResponseReturnValue:
    kind = _enum_arg("type", AlertKind)
    rows = queries.my_alerts(current_user, kind, now=_now())
    # Who was shown whom (DESIGN §3.3): the ids, never the names. Committed after rendering, so the
    # commit does not expire the rows the template reads (they would reload one by one).
    with unit_of_work():
        record_shown(current_user, "alerts.list.read", pathway_ids=[row.alert.pathway_id for row in rows],
                     details={"filters": {"type": kind.value if kind else None}})
        return render_template("followup/alerts.html", rows=rows, kind=kind, kinds=list(AlertKind),
                               limit=queries.MY_ALERTS_LIMIT,
                               computed_at=queries.alerts_computed_at(current_user.territory_id))


@bp.post("/alertes/<id:alert_id>/vue")
@login_required
def acknowledge(alert_id: int) -> ResponseReturnValue:
    try:
        alert, _ = alerts.get_alert_or_404(current_user, alert_id)
        alerts.acknowledge_alert(current_user, alert)
    except DomainError as error:
        if error.status in (403, 404):
            raise  # refused: the 403 / 404 page, not a message on the next one
        flash(error.message, "error")
    else:
        flash("Alerte marquée comme vue : elle reste affichée jusqu'à ce que sa cause soit levée.", "success")
    return redirect(safe_next(request.form.get("next")) or url_for(".my_alerts"))


# --- « Pilotage » --------------------------------------------------------------------------------


def _scope() -> pilotage.Scope:
    if not access.can_steer(current_user):
        abort(403)
    agency_id = _int_arg("structure")
    if agency_id is not None and agency_id not in {a.id for a in pilotage.agencies_in_scope(current_user)}:
        agency_id = None  # an agency outside the manager's scope is ignored, never shown
    return pilotage.Scope(current_user, agency_id=agency_id, referent_id=_int_arg("referent"))


@bp.get("/pilotage")
@login_required
def dashboard() -> ResponseReturnValue:
    scope = _scope()
    # The referent filter: a list when the scope has few referents, a search by name otherwise.
    referents: list = []
    referent_search = None
    referent_name = (request.args.get("referent_nom") or "").strip()[:100] or None
    matches = None
    if pilotage.count_referents_in_scope(scope, cap=pilotage.REFERENT_CHOICES + 1) <= pilotage.REFERENT_CHOICES:
        referents = pilotage.referents_in_scope(scope)
    else:
        referent_search = pilotage.REFERENT_CHOICES
        if referent_name and scope.referent_id is None:
            matches = pilotage.referents_in_scope(scope, name=referent_name, limit=20)
            if len(matches) == 1:
                return redirect(url_for(".dashboard", structure=scope.agency_id, referent=matches[0].id))
    selected = pilotage.referents_in_scope(scope, referent_id=scope.referent_id) if scope.referent_id else []
    board = pilotage.dashboard(scope, _now())
    charts = {
        "alerts": {
            "labels": [label(k) for k in AlertKind if board.overdue_totals.get(k)],
            "data": [board.overdue_totals[k] for k in AlertKind if board.overdue_totals.get(k)],
        },
        "barriers": {
            "labels": [label(c) for c in BarrierCategory if board.barriers_by_category.get(c)],
            "data": [board.barriers_by_category[c] for c in BarrierCategory if board.barriers_by_category.get(c)],
        },
    }
    return render_template(
        "followup/pilotage.html",
        referent_search=referent_search,
        referent_name=referent_name,
        referent_matches=matches,
        selected_referent=selected[0] if selected else None,
        board=board,
        scope=scope,
        filtered=_filter_description(scope),
        computed_at=queries.alerts_computed_at(current_user.territory_id),
        charts=charts,
        agencies=pilotage.agencies_in_scope(current_user),
        referents=referents,
        kinds=list(AlertKind),
        follow_up_kinds=pilotage.FOLLOW_UP_KINDS,
        stages=pilotage.STAGES_SHOWN,
        categories=list(BarrierCategory),
    )


@bp.get("/pilotage/indicateurs")
@login_required
def indicators() -> ResponseReturnValue:
    """The legal-deadline indicators of the manager's scope over the last 12 months, on their own
    page: they count a year of pathways (0.6 s for a territory of 1 M), the dashboard what it shows."""
    scope = _scope()
    now = _now()
    orientation, contract = pilotage.legal_indicators(scope, now)
    return render_template("followup/indicators.html", indicators=[orientation, contract], scope=scope,
                           filtered=_filter_description(scope), now=now)


def _filter_description(scope: pilotage.Scope, extra: list[str] | None = None) -> list[str]:
    """What a view is filtered on, in French, for « Filtré : … »."""
    return pilotage.describe(scope) + (extra or [])


def _list_filters(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The filters of list `name`: as arguments of its query, and as facts for the audit trail."""
    if name == "alertes":
        kind = _enum_arg("type", AlertKind)
        return {"kind": kind}, {"type": kind.value if kind else None}
    if name == "freins":
        category = _enum_arg("categorie", BarrierCategory)
        return {"category": category}, {"categorie": category.value if category else None}
    return {}, {}


def _list_rows(name: str, scope: pilotage.Scope, filters: dict[str, Any]) -> list[pilotage.ListRow]:
    if name not in LISTS:
        abort(404)
    return pilotage.list_rows(name, scope, filters, _now())


def _list(name: str) -> tuple[pilotage.Scope, list[pilotage.ListRow], dict[str, Any]]:
    """List `name` in the manager's scope, with the facts its audit event records."""
    scope = _scope()
    if name not in LISTS:
        abort(404)
    filters, facts = _list_filters(name)
    rows = _list_rows(name, scope, filters)
    facts = {**facts, "structure": scope.agency_id, "referent": scope.referent_id}
    return scope, rows, {"list": name, "filters": facts}


def _record_list(action: str, rows: list[pilotage.ListRow], details: dict[str, Any]) -> None:
    """Who was shown which pathways (DESIGN §3.3). The caller commits it with the page it renders,
    after rendering: an earlier commit would expire the rows, which would then reload one by one."""
    record_shown(current_user, action, pathway_ids=[row.pathway.id for row in rows], details=details)


@bp.get("/pilotage/listes/<name>")
@login_required
def list_view(name: str) -> ResponseReturnValue:
    scope, rows, details = _list(name)
    now = _now()
    today = timefmt.paris_today(now)
    # Per row of an alert list: the next action and the days overdue (None elsewhere).
    actions = [
        (_steering_action(row), max(0, (today - timefmt.paris_date(row.due_at)).days)) if row.kind else (None, None)
        for row in rows
    ] if name in ("alertes", "suivis-en-retard") else None
    extra = [label(value) for value in _list_filters(name)[0].values() if value is not None]
    with unit_of_work():
        _record_list("pilotage.list.read", rows, details)
        return render_template(
            "followup/list.html",
            name=name,
            title=LISTS[name],
            rows=rows,
            scope=scope,
            actions=actions,
            filtered=_filter_description(scope, extra),
            args=request.args.to_dict(),
            computed_at=queries.alerts_computed_at(current_user.territory_id) if name in ALERT_LISTS else None,
            export_limit=_background_export_limit(rows),
        )


def _background_export_limit(rows: list[pilotage.ListRow]) -> int | None:
    """The rows a request exports at once, when the list has more (or was cut at its 500): the page
    then offers the full export in the background (« Mes exports »)."""
    limit = min(current_app.config["EXPORT_SYNC_LIMIT"], 500)
    return limit if len(rows) >= 500 or len(rows) > limit else None


ALERT_LISTS = ("alertes", "suivis-en-retard", "sans-referent")


def _steering_action(row: pilotage.ListRow) -> queries.Action:
    """The next action on an alert of a steered pathway: the alert's own (app/followup/queries.py)
    when the manager's agency leads the pathway, else the record (she reads it; the lead agency acts)
    — a pathway without referent is handed over from here in both cases."""
    alert = Alert(pathway_id=row.pathway.id, kind=row.kind, subject_key=row.subject_key, due_at=row.due_at)
    if row.kind == AlertKind.NO_REFERENT or access.can_manage_pathway(current_user, row.pathway):
        action = queries.next_action(alert)
        if action is not None:
            return action
    return queries.Action("Ouvrir le dossier", "pathways.record", {"pathway_id": row.pathway.id})


CSV_HEADER = exports.PILOTAGE_HEADER
BARRIER_CSV_HEADER = exports.BARRIER_HEADER


@bp.get("/pilotage/listes/<name>.csv", defaults={"fmt": "csv"}, endpoint="list_csv")
@bp.get("/pilotage/listes/<name>.xlsx", defaults={"fmt": "xlsx"}, endpoint="list_xlsx")
@login_required
def list_export(name: str, fmt: str) -> ResponseReturnValue:
    """The list's first rows (its limit, and EXPORT_SYNC_LIMIT); longer, the page offers the full
    export in the background (app/workspace/exports.py)."""
    _, rows, details = _list(name)
    rows = rows[:current_app.config["EXPORT_SYNC_LIMIT"]]
    header = exports.pilotage_header(name)
    lines = [exports.pilotage_line(name, row) for row in rows]
    filename = f"parcours-{name}-{timefmt.paris_date(_now()).isoformat()}.{fmt}"
    with unit_of_work():
        _record_list("pilotage.list.export", rows, {**details, "format": fmt})
        if fmt == "xlsx":
            return xlsxexport.xlsx_response(filename, header, lines, sheet=LISTS[name])
        return csvexport.csv_response(filename, header, lines)


@bp.post("/pilotage/parcours/<id:pathway_id>/referent")
@login_required
def reassign(pathway_id: int) -> ResponseReturnValue:
    scope = _scope()
    pathway = pilotage.steered_pathway(scope, pathway_id)
    if pathway is None:
        abort(404)
    try:
        form = {"user_id": request.form.get("referent_id"), "note": request.form.get("note")}
        data = load(AssignReferentSchema(), form)  # the schema of every referent change
        referent = pathways.get_user_in_territory(current_user, data["user_id"])
        pathways.assign_referent(current_user, pathway, referent, note=data.get("note"), require_note=True)
    except DomainError as error:
        if error.status in (403, 404):
            raise  # refused: the 403 / 404 page, not a message on the next one
        flash(" ".join(str(m) for ms in error.errors.values() for m in ms) or error.message, "error")
    else:
        flash(f"Le parcours est confié à {referent.full_name}.", "success")
    return redirect(safe_next(request.form.get("next")) or url_for(".dashboard"))
