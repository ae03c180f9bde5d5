"""Writes the Carnet de bord test files of this folder (run once; the files are committed).

`python tests/data/imports/make_files.py` (openpyxl, a test dependency, writes the XLSX).
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


if __name__ == "__main__":
    main()
