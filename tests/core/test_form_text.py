"""What every form of the workspace says, before and after a refusal: dates in French only
(« JJ/MM/AAAA HH:MM », never « AAAA-MM-JJTHH:MM » as text), the format of date fields and the
schema's length limits announced before any refusal (« 500 caractères maximum » + maxlength)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.pathways.test_workspace_routes_access import RECORD_ROUTES, Ids
from tests.web_helpers import login_as, text

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?\b")
BAD_DATE = "2026-02-30T25:61"


class _Page(HTMLParser):
    """The visible text of a page (no attribute values, no script), and its form fields."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.fields: list[dict[str, str]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        if tag in ("input", "textarea", "select"):
            self.fields.append({"tag": tag, **{k: v or "" for k, v in attrs}})

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _form_pages(world) -> list[str]:
    ids = Ids(referral=0, join=0)
    urls = [build(world, ids) for (endpoint, method), build in RECORD_ROUTES.items()
            if method == "GET" and (endpoint, "POST") in RECORD_ROUTES and "orientations" not in build(world, ids)]
    return [*urls, "/personnes/nouvelle"]


def test_every_form_says_dates_in_french_and_its_limits_before_a_refusal(client, world) -> None:
    login_as(client, world.referent)
    checked_dates = checked_limits = 0
    for url in _form_pages(world):
        response = client.get(url)
        assert response.status_code == 200, url
        page = _parse(text(response))
        visible = " ".join(page.text)
        assert not ISO_DATE.search(visible), f"{url} shows an ISO date: {ISO_DATE.search(visible).group()}"
        for field in page.fields:
            if field.get("type") in ("datetime-local", "date"):
                expected = "JJ/MM/AAAA HH:MM" if field["type"] == "datetime-local" else "JJ/MM/AAAA"
                label = visible[: visible.find(expected) + 1] if expected in visible else ""
                assert label, f"{url}: no « Format : {expected} » hint for {field.get('name')}"
                checked_dates += 1
            if field["tag"] == "textarea":
                assert field.get("maxlength"), f"{url}: textarea {field.get('name')} without maxlength"
                limit = f"{int(field['maxlength']):,}".replace(",", "\u202f")
                assert f"{limit} caractères maximum" in visible, f"{url}: no length hint for {field.get('name')}"
                checked_limits += 1

        # A refusal (impossible dates in every date field, too long texts) echoes no ISO date either.
        data = {f["name"]: BAD_DATE for f in page.fields if f.get("type") in ("datetime-local", "date")}
        data |= {f["name"]: "x" * 10_001 for f in page.fields if f["tag"] == "textarea"}
        if not data:
            continue
        refused = client.post(url, data=data)
        assert refused.status_code in (200, 422, 409), f"{url} answered {refused.status_code}"
        visible = " ".join(_parse(text(refused)).text)
        assert "Rien n'a été enregistré" in visible or "Modification impossible" in visible, url
        assert not ISO_DATE.search(visible), f"{url} refusal shows an ISO date: {ISO_DATE.search(visible).group()}"
    assert checked_dates >= 6 and checked_limits >= 6
