"""CSV exports for spreadsheets: the one helper behind every CSV the application serves.

- **Formula injection** (CSV / DDE injection, OWASP): a spreadsheet runs a cell that starts with
  `=`, `+`, `-`, `@` (and, in some, `|` or `%`) as a formula — a beneficiary named
  `=HYPERLINK("http://x")` must stay a name. `defusedcsv` prefixes such a cell with a single quote
  (`'`), which spreadsheets show as text; it does not treat a leading tab or carriage return, nor a
  trigger hidden behind leading blanks, so `neutralise` prefixes those too. Plain numbers (`-2`,
  `3,5`) and Python numbers are left as they are.
- **Dialect** (French spreadsheets): `;` separator (the comma is the decimal separator), CRLF line
  ends, UTF-8 with a BOM so that Excel reads the accents.
- **Dates** are stored in UTC and shown on Paris time, as on the pages (`app.core.timefmt`): a
  `date` as `JJ/MM/AAAA`, a `datetime` as `JJ/MM/AAAA HH:MM`; a column that holds a datetime's
  Paris day is given `timefmt.paris_date(value)`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from enum import Enum
from numbers import Number
from typing import Any

from defusedcsv import csv as defusedcsv
from flask import Response

from app.core.timefmt import short_date, short_datetime
from app.labels import label

DELIMITER = ";"
BOM = "\ufeff"
_TRIGGERS = ("=", "+", "-", "@", "|", "%", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^-?[0-9][0-9,.\s]*$")


def neutralise(text: str) -> str:
    """`text`, made inert for a spreadsheet (see the module docstring); defusedcsv then does the rest."""
    if text[:1] in ("\t", "\r") or (text.lstrip()[:1] in _TRIGGERS and text[:1].isspace()):
        if not _PLAIN_NUMBER.match(text.strip()):
            return "'" + text
    return text


def cell(value: Any) -> Any:
    """One value as a cell: numbers as is, dates in French format and Paris time, labels in French."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, Number):
        return value
    if isinstance(value, datetime):
        return short_datetime(value)
    if isinstance(value, date):
        return short_date(value)
    if isinstance(value, Enum):
        return neutralise(label(value))
    return neutralise(str(value))


def to_csv(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """The whole document (BOM included), every cell through `cell` and defusedcsv."""
    buffer = io.StringIO()
    writer = defusedcsv.writer(buffer, delimiter=DELIMITER, lineterminator="\r\n")
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return BOM + buffer.getvalue()


def csv_chunks(header: Iterable[str], rows: Iterable[Iterable[Any]], *, size: int = 1 << 20) -> Iterator[bytes]:
    """`to_csv(header, rows)` encoded in UTF-8, in pieces of about `size` bytes: a long export is
    written as it is read, never whole in memory (the background exports, app/workspace/exports.py)."""
    buffer = io.StringIO()
    writer = defusedcsv.writer(buffer, delimiter=DELIMITER, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(value) for value in row])
        if buffer.tell() >= size:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def csv_response(filename: str, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Response:
    """An attachment download of `to_csv(header, rows)`; `filename` is ASCII, chosen by the code."""
    return Response(
        to_csv(header, rows),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
