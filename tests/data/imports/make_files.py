"""Writes the Carnet de bord test files of this folder (run once; the files are committed).

`python tests/data/imports/make_files.py` (openpyxl, a test dependency, writes the XLSX; the ODS
is written as LibreOffice Calc saves one: typed date and number cells, a cell's line break as two
paragraphs, empty cells and the rows below the data as « repeated » runs).
The rows are the awkward ones real extracts have; tests/imports/ asserts each line's fate.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

HERE = Path(__file__).parent
HEADERS = [
    "Identifiant dans le SI*", "Prénom*", "Nom*", "Date de naissance*", "NIR", "Lieu de naissance",
    "Téléphone", "Email", "Adresse", "Adresse (complément)", "Code postal", "Ville", "Situation",
    "Numéro allocataire CAF/MSA", "Identifiant Pôle emploi", "Droits RSA", "Droits ARE", "Droits ASS",
    "Prime d'activité", "RQTH", "Zone de mobilité", "Emploi recherché (code ROME)", "Niveau de formation",
    "Structure", "Accompagnateurs",
]


def row(ext, first, last, born, *, nir="", phone="", email="", address="", extra="", postal="", city="",
        caf="", ft="", rsa="", are="", ass="", prime="", rqth="", structure="", professionals=""):
    return [ext, first, last, born, nir, "Bobigny", phone, email, address, extra, postal, city, "Sans emploi",
            caf, ft, rsa, are, ass, prime, rqth, "Département", "K1302", "Niveau 3 (CAP, BEP)", structure,
            professionals]


# Line numbers as a spreadsheet shows them (header = 1); row 3 spans two lines (quoted line break).
MAIN = [
    row("A1", "Amina", "Diallo", "12/03/1985", phone="06 12 34 56 78", email="amina.diallo@example.org",
        caf="2345678", rsa="Oui", are="Non", structure="FT Bobigny", professionals="referent@ft.test"),  # 2
    row("A2", "Jean-Pierre", "Martin", "1990-07-14", address="12 rue de la Paix\nBâtiment B", extra="Appt 4",
        postal="93000", city="Bobigny", ft="1234567A", structure="CD 93, CAF 93"),  # 3-4
    row("A3", "Sarah", "Benali", "02/02/1988", phone="01 48 00 00 00", caf="1234567"),  # 5: updates Sarah
    row("A4", "Paul", "Impossible", "31/02/1980", structure="CD 93"),  # 6: impossible date
    row("A5", "", "Sansprenom", "01/01/1970", structure="CD 93"),  # 7: missing first name
    row("A6", "Inès", "Ailleurs", "01/01/1975", structure="Mission locale de Nulle Part"),  # 8: unknown agency
    row("A7", "Marc", "Inconnu", "01/01/1976", professionals="inconnu@nulle-part.test"),  # 9: unknown professional
    row("A1", "Amina", "Diallo", "12/03/1985", structure="FT Bobigny"),  # 10: same SI id as line 2
    row("A8", "AMINA", "DIALLO", "12/03/1985"),  # 11: same person as line 2 (name + birth date)
    row("A9", "<b>Léa</b>", "Dupont<script>alert(1)</script>", "1995-05-05", nir="2950593123456 78",
        rqth="Oui", structure="CCAS Pantin"),  # 12: markup kept as text; NIR never stored
    row("A10", "Noé", "Peutetre", "01/01/1980", are="peut-être", structure="CD 93"),  # 13: not Oui/Non
    row("A11", "Éloïse", "N'Guyen", "05-11-1978", ass="Oui", prime="oui",
        professionals="referent@ft.test, partenaire@caf.test"),  # 14: referent + CAF in the team
]

# Windows-1252, comma-separated, CRLF, no BOM (Excel's « CSV » on a French Windows).
LEGACY = [
    row("B1", "Hélène", "Lefèvre", "03/04/1982", city="Saint-Ouen-sur-Seine", caf="7654321",
        structure="CD 93"),  # 2
    row("B2", "François", "Cœur", "1979/02/30", structure="CD 93"),  # 3: unreadable date
    row("B3", "Zoé", "Mañez", "", structure="CD 93"),  # 4: missing birth date
]


def _csv(rows, *, sep, encoding, bom):
    def cell(value):
        text = str(value)
        if any(ch in text for ch in (sep, '"', "\n")):
            text = '"' + text.replace('"', '""') + '"'
        return text

    lines = [sep.join(cell(v) for v in r) for r in [HEADERS, *rows]]
    data = "\r\n".join(lines) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + data.encode(encoding)


def main():
    (HERE / "carnet_de_bord.csv").write_bytes(_csv(MAIN, sep=";", encoding="utf-8", bom=True))
    (HERE / "carnet_de_bord_windows.csv").write_bytes(_csv(LEGACY, sep=",", encoding="cp1252", bom=False))

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Bénéficiaires"
    sheet.append(HEADERS)
    for r in MAIN:
        values = list(r)
        if values[3] == "12/03/1985":
            values[3] = date(1985, 3, 12)  # a real date cell, as Excel stores typed dates
        if values[13].isdigit():
            values[13] = int(values[13])  # the CAF number as a number cell
        sheet.append(values)
    book.save(HERE / "carnet_de_bord.xlsx")

    typed = []
    for r in MAIN:
        values = list(r)
        if values[3] == "12/03/1985":
            values[3] = date(1985, 3, 12)  # a typed date, as Calc stores it
        if values[3] == "02/02/1988":
            values[3] = date(1988, 2, 2)
        if values[13].isdigit():
            values[13] = int(values[13])
        typed.append(values)
    _ods([HEADERS, *typed])


def _ods_cell(value):
    from xml.sax.saxutils import escape

    if isinstance(value, date):
        shown = value.strftime("%d/%m/%Y")
        return (f'<table:table-cell office:value-type="date" office:date-value="{value.isoformat()}" '
                f'calcext:value-type="date"><text:p>{shown}</text:p></table:table-cell>')
    if isinstance(value, int):
        return (f'<table:table-cell office:value-type="float" office:value="{value}" calcext:value-type="float">'
                f'<text:p>{value}</text:p></table:table-cell>')
    if value == "":
        return "<table:table-cell/>"
    paragraphs = "".join(f"<text:p>{escape(part)}</text:p>" for part in str(value).split("\n"))
    return f'<table:table-cell office:value-type="string" calcext:value-type="string">{paragraphs}</table:table-cell>'


def _ods_row(values):
    cells = list(values)
    while cells and cells[-1] == "":
        cells.pop()  # Calc writes the empty cells at the end of a row as one repeated run
    body = "".join(_ods_cell(v) for v in cells)
    rest = 1024 - len(cells)
    return f'<table:table-row>{body}<table:table-cell table:number-columns-repeated="{rest}"/></table:table-row>'


def _ods(rows):
    import zipfile

    ns = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0" '
          'office:version="1.3"')
    body = "".join(_ods_row(r) for r in rows)
    empty = ('<table:table-row table:number-rows-repeated="1048550">'
             '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>')
    content = (f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns}><office:body>'
               f'<office:spreadsheet><table:table table:name="Bénéficiaires">{body}{empty}</table:table>'
               f'<table:table table:name="Notes"><table:table-row><table:table-cell office:value-type="string">'
               f'<text:p>Extraction du 2 décembre</text:p></table:table-cell></table:table-row></table:table>'
               f'</office:spreadsheet></office:body></office:document-content>')
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
                '<manifest:file-entry manifest:full-path="/" manifest:version="1.3" '
                'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                '</manifest:manifest>')
    path = HERE / "carnet_de_bord.ods"
    with zipfile.ZipFile(path, "w") as archive:  # the mimetype first, stored uncompressed (ODF 1.3, §3.3)
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)


if __name__ == "__main__":
    main()
