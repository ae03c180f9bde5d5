"""The shared record as a PDF, made to be handed to the person (issue 15, « Exports »).

What it holds is what the record page shows the reader — `load_record` decides, so a note the
reader may not see is not even selected — laid out for paper: identity and contact, the pathway,
the referent and the team, the plan (barriers with their status and due dates, the next meetings),
the contracts and the journal. WeasyPrint writes a tagged PDF (PDF/UA-1: headings, lists and tables
in the structure tree, the document's language), readable by a screen reader.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import render_template

from app.accounts.models import User
from app.barriers.models import BarrierStatus
from app.pathways.models import Pathway
from app.workspace.record import RecordView, load_record

OPEN_BARRIERS = (BarrierStatus.OPEN, BarrierStatus.IN_PROGRESS)


def record_html(actor: User, pathway: Pathway, *, now: datetime, right_labels: dict[str, str]) -> str:
    view = load_record(actor, pathway)
    return render_template(
        "pathways/record_pdf.html",
        view=view,
        pathway=view.pathway,
        person=view.pathway.beneficiary,
        open_barriers=_barriers(view, OPEN_BARRIERS),
        closed_barriers=_barriers(view, tuple(s for s in BarrierStatus if s not in OPEN_BARRIERS)),
        journal=[item for item in view.journal if item.kind in ("entry", "meeting")],
        actor=actor,
        now=now,
        right_labels=right_labels,
    )


def record_pdf(actor: User, pathway: Pathway, *, now: datetime, right_labels: dict[str, str]) -> bytes:
    import weasyprint  # loads Pango through cffi: only when a PDF is asked for

    html = record_html(actor, pathway, now=now, right_labels=right_labels)
    document: Any = weasyprint.HTML(string=html)
    return document.write_pdf(pdf_variant="pdf/ua-1")


def _barriers(view: RecordView, statuses: tuple[BarrierStatus, ...]) -> list[Any]:
    return [barrier for status in statuses for barrier in view.barriers_by_status.get(status, [])]
