"""Reading a spreadsheet of people: CSV (separator and encoding detected), XLSX and ODS.

Every cell comes back as text, stripped, and every row with its line number as a spreadsheet shows
it (the header is line 1). A CSV field quoted over several lines counts as the line it starts on,
as LibreOffice and Excel number it. An unreadable file is an `UnreadableFile` with a French reason.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

SPREADSHEET_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


class UnreadableFile(Exception):
    """The file cannot be read as a table (the reason is in French, for the user)."""


@dataclass
class Row:
    line: int  # as a spreadsheet shows it: the header is line 1
    cells: list[str]


@dataclass
class Table:
    headers: list[str]
    rows: list[Row]

    def __len__(self) -> int:
        return len(self.rows)


def _text(value: object) -> str:
    """A cell as the person typed it: dates as JJ/MM/AAAA, whole numbers without « .0 »."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y") if value.time() == time(0) else value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value).strip()


def _decode(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")  # Excel's « CSV » on Windows


def _separator(text: str) -> str:
    """`;` (French Excel) or `,`: whichever the header line holds more of (outside quotes)."""
    first = text.split("\n", 1)[0]
    return ";" if first.count(";") >= first.count(",") else ","


def _read_csv(content: bytes) -> Iterator[tuple[int, list[str]]]:
    text = _decode(content)
    if "\x00" in text:
        raise UnreadableFile("Le fichier n'est pas un fichier texte (CSV) lisible.")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_separator(text))
    line = 1
    try:
        for record in reader:
            yield line, [cell.strip() for cell in record]
            line = reader.line_num + 1
    except csv.Error as exc:
        raise UnreadableFile(f"Le fichier CSV est mal formé près de la ligne {line} : guillemet non fermé ?") from exc


def _read_workbook(content: bytes) -> Iterator[tuple[int, list[str]]]:
    from python_calamine import CalamineWorkbook  # an optional speed-up would not change it: one reader

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        if not workbook.sheet_names:
            raise UnreadableFile("Le classeur ne contient aucune feuille.")
        sheet = workbook.get_sheet_by_index(0)
        values = sheet.to_python(skip_empty_area=False)
    except UnreadableFile:
        raise
    except Exception as exc:  # calamine raises its own errors for a damaged or protected file
        raise UnreadableFile("Le classeur est illisible (fichier endommagé ou protégé par un mot de passe ?).") from exc
    for index, record in enumerate(values, start=1):
        yield index, [_text(cell) for cell in record]


def read_table(content: bytes, filename: str = "") -> Table:
    """The first sheet (or the CSV) as headers and rows; empty rows are skipped."""
    if not content:
        raise UnreadableFile("Le fichier est vide.")
    name = filename.lower()
    if content.startswith((_ZIP_MAGIC, _OLE_MAGIC)) or name.endswith(SPREADSHEET_EXTENSIONS):
        records = _read_workbook(content)
    else:
        records = _read_csv(content)
    headers: list[str] | None = None
    rows: list[Row] = []
    for line, cells in records:
        if headers is None:
            if not any(cells):
                continue  # blank lines above the header
            headers = [cell.strip() for cell in cells]  # verbatim: the errors file repeats them
            header_line = line
            continue
        if not any(cells):
            continue
        if len(cells) < len(headers):
            cells = cells + [""] * (len(headers) - len(cells))
        rows.append(Row(line=line if line else header_line, cells=cells))
    if headers is None:
        raise UnreadableFile("Le fichier ne contient aucune ligne d'en-tête.")
    return Table(headers=headers, rows=rows)
