"""XLSX exports, the twin of `csvexport` for people who open lists in Excel or LibreOffice.

- **No formula, ever**: every text is written with `write_string`, which stores it as a string
  cell: a beneficiary named `=HYPERLINK("http://x")` stays a name, whatever its first character
  (no quote to add, nothing to strip). Numbers are numbers; booleans « oui » / « non ».
- **Dates** are real spreadsheet dates (sortable, filterable), on Paris time as on the pages: a
  `date` shown `jj/mm/aaaa`, a `datetime` `jj/mm/aaaa hh:mm`.
- French headers in bold, frozen, with filters; columns sized to their header.
- Written in XlsxWriter's constant-memory mode: memory stays flat whatever the number of rows.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum
from numbers import Number
from typing import Any

import xlsxwriter
from flask import Response

from app.core.timefmt import to_paris
from app.labels import label

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def to_xlsx(header: list[str], rows: Iterable[Iterable[Any]], *, sheet: str = "Export") -> bytes:
    buffer = io.BytesIO()
    write_xlsx(buffer, header, rows, sheet=sheet)
    return buffer.getvalue()


def write_xlsx(target: Any, header: list[str], rows: Iterable[Iterable[Any]], *, sheet: str = "Export") -> int:
    """The workbook written to `target` (a path or a binary file); returns the number of rows.
    With a path, nothing is held whole in memory (the background exports write to a temporary file)."""
    workbook = xlsxwriter.Workbook(target, {"constant_memory": True, "in_memory": False, "strings_to_formulas": False,
                                            "strings_to_urls": False, "strings_to_numbers": False})
    bold = workbook.add_format({"bold": True, "bg_color": "#E3E3FD"})
    day = workbook.add_format({"num_format": "dd/mm/yyyy"})
    moment = workbook.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    worksheet = workbook.add_worksheet(sheet[:31])
    for column, title in enumerate(header):
        worksheet.set_column(column, column, max(12, min(40, len(title) + 4)))
        worksheet.write_string(0, column, title, bold)
    worksheet.freeze_panes(1, 0)
    count = 0
    for count, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            _write(worksheet, count, column, value, day, moment)
    worksheet.autofilter(0, 0, max(count, 1), max(len(header) - 1, 0))
    workbook.set_properties({"title": sheet, "comments": "Exporté de Parcours"})
    workbook.close()
    return count


def _write(worksheet: Any, row: int, column: int, value: Any, day: Any, moment: Any) -> None:
    if value is None:
        worksheet.write_blank(row, column, None)
    elif isinstance(value, bool):
        worksheet.write_string(row, column, "oui" if value else "non")
    elif isinstance(value, Number):
        worksheet.write_number(row, column, value)
    elif isinstance(value, datetime):
        worksheet.write_datetime(row, column, to_paris(value).replace(tzinfo=None), moment)
    elif isinstance(value, date):
        worksheet.write_datetime(row, column, datetime(value.year, value.month, value.day), day)
    elif isinstance(value, Enum):
        worksheet.write_string(row, column, label(value))
    else:
        worksheet.write_string(row, column, str(value))


def xlsx_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]], *, sheet: str) -> Response:
    """An attachment download; `filename` is ASCII, chosen by the code."""
    return Response(
        to_xlsx(header, rows, sheet=sheet),
        mimetype=MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
