"""Writes the test files of imports of structures and professionals (run once; the files are committed).

`python tests/data/admin/make_files.py` (openpyxl, a test dependency, writes the XLSX).
tests/admin/test_directory_import.py asserts each line's fate, against the site of tests/admin/conftest.py
(« Conseil départemental », « France Travail Bobigny », admin@cd93.fr, pro@ft93.fr; pro@ailleurs.fr
in another territory).
"""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent

AGENCY_HEADERS = ["Nom*", "Type", "SIRET", "Code SAFIR", "Adresse", "Code postal", "Ville", "E-mail", "Téléphone",
                  "Remarque"]
# Line numbers as a spreadsheet shows them (header = 1); line 11 spans two lines (quoted line break).
AGENCIES = [
    ["Mission locale de Bondy", "Mission locale", "73282932000074", "", "1 rue de la République", "93140", "Bondy",
     "Contact@ML-Bondy.fr", "01 48 00 00 01", "à créer"],  # 2: created
    ["france travail bobigny", "FRANCE TRAVAIL", "", "93012", "", "", "", "", "", "SAFIR ajouté"],  # 3: updated
    ["CCAS de Pantin", "ccas", "12345678901234", "", "", "", "", "", "", "SIRET faux"],  # 4: invalid SIRET
    ["", "Association", "", "", '=HYPERLINK("http://x")', "", "", "", "", "sans nom"],  # 5: missing name
    ["Association <b>Élan</b>", "association", "", "", "", "", "", "", "", "balises"],  # 6: created, markup as text
    ["Régie de quartier", "Entreprise", "", "", "", "", "", "", "", "type inconnu"],  # 7: unknown type
    ["Mission Locale de BONDY", "Mission locale", "", "", "", "", "", "", "", "doublon"],  # 8: same as line 2
    ["Nouvelle structure", "", "", "", "", "", "", "", "", "sans type"],  # 9: no type for a new one
    ["CAF 93", "CAF", "", "12345", "", "", "", "", "", "SAFIR hors FT"],  # 10: SAFIR of a non-FT agency
    ["Cap emploi 93", "Cap emploi", "44221061000006", "", "12 avenue Jean Jaurès\nBâtiment A", "93000", "Bobigny",
     "", "", "adresse sur deux lignes"],  # 11-12: created, one-line address
    ["Association Pour Tous", "Association", "", "", "", "", "", "pas-une-adresse", "", "e-mail faux"],  # 13
    ["Centre social", "association", "", "", "", "931", "Bobigny", "", "", "code postal faux"],  # 14
]

# Windows-1252, comma-separated, CRLF, no BOM (Excel's « CSV » on a French Windows).
AGENCIES_LEGACY = [
    ["Épicerie solidaire de Montreuil", "Association", "80000000000003", "", "", "93100", "Montreuil", "", "", ""],  # 2
    ["Maison de l'emploi", "Conseil départemental", "", "", "", "", "", "", "", ""],  # 3: created, French label
    ["Cœur de ville", "Sans type connu", "", "", "", "", "", "", "", ""],  # 4: unknown type
]

USER_HEADERS = ["Prénom*", "Nom*", "E-mail*", "Structure*", "Rôle", "Téléphone"]
USERS = [
    ["Nina", "Roux", "nina.roux@exemple.fr", "Mission locale de Bondy", "Référente", "06 12 34 56 78"],  # 2: created
    ["Karim", "Haddad", "KARIM.HADDAD@exemple.fr", "732 829 320 00074", "Responsable", ""],  # 3: created (SIRET)
    ["Paul", "Martin", "pro@ft93.fr", "France Travail Bobigny", "", ""],  # 4: updated (names)
    ["", "Sansprenom", "sans.prenom@exemple.fr", "Conseil départemental", "", ""],  # 5: missing first name
    ["Léa", "Invalide", "lea@", "Conseil départemental", "", ""],  # 6: invalid e-mail
    ["Marc", "Inconnu", "marc@exemple.fr", "Mission locale de Nulle Part", "", ""],  # 7: unknown structure
    ["Sophie", "Directrice", "sophie@exemple.fr", "Conseil départemental", "Directrice", ""],  # 8: unknown role
    ["Nina", "Roux", "Nina.Roux@exemple.fr", "Mission locale de Bondy", "", ""],  # 9: same as line 2
    ["Autre", "Territoire", "pro@ailleurs.fr", "Conseil départemental", "", ""],  # 10: another territory's
    ["<b>Zoé</b>", "Durand<script>alert(1)</script>", "zoe.durand@exemple.fr", "conseil departemental",
     "administratrice", ""],  # 11: created (admin), markup as text
    ["Alice", "Admin", "admin@cd93.fr", "Conseil départemental", "Professionnel", ""],  # 12: own role
]

# Windows-1252, semicolon-separated, no BOM.
USERS_LEGACY = [
    ["Hélène", "Lefèvre", "helene.lefevre@exemple.fr", "France Travail Bobigny", "Professionnel·le", ""],  # 2
    ["François", "Cœur", "francois.coeur@exemple.fr", "CCAS inexistant", "", ""],  # 3: unknown structure
]


def _csv(headers, rows, *, sep, encoding, bom):
    def cell(value):
        text = str(value)
        if any(ch in text for ch in (sep, '"', "\n")):
            text = '"' + text.replace('"', '""') + '"'
        return text

    lines = [sep.join(cell(v) for v in r) for r in [headers, *rows]]
    data = "\r\n".join(lines) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + data.encode(encoding)


def main():
    (HERE / "structures.csv").write_bytes(_csv(AGENCY_HEADERS, AGENCIES, sep=";", encoding="utf-8", bom=True))
    (HERE / "structures_windows.csv").write_bytes(
        _csv(AGENCY_HEADERS, AGENCIES_LEGACY, sep=",", encoding="cp1252", bom=False))
    (HERE / "professionnels.csv").write_bytes(_csv(USER_HEADERS, USERS, sep=",", encoding="utf-8", bom=False))
    (HERE / "professionnels_windows.csv").write_bytes(
        _csv(USER_HEADERS, USERS_LEGACY, sep=";", encoding="cp1252", bom=False))

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Professionnels"
    sheet.append(USER_HEADERS)
    for r in USERS:
        sheet.append(list(r))
    book.save(HERE / "professionnels.xlsx")


if __name__ == "__main__":
    main()
