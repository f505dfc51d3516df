"""The rows of an uploaded spreadsheet (CSV, XLSX, ODS), from real files, and the budget that refuses hostile ones."""

import io
import random
import time
import zipfile
from datetime import date, datetime

import pytest
from odf.opendocument import OpenDocumentSpreadsheet
from odf.table import Table as OdsTable
from odf.table import TableCell, TableRow
from odf.text import LineBreak, P, S
from openpyxl import Workbook

from kb.content.spreadsheets import MAX_COLUMNS, MAX_ROWS, SpreadsheetError, read_table


def xlsx(*rows, sheets=None) -> bytes:
    """An XLSX workbook written by openpyxl: one sheet of `rows`, or `sheets` as {title: rows}."""
    book = Workbook()
    book.remove(book.active)
    for title, sheet_rows in (sheets or {"Promesses": rows}).items():
        sheet = book.create_sheet(title)
        for row in sheet_rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def ods(*rows) -> bytes:
    """An ODS workbook written by odfpy; a row is a list of cells (text, or an odfpy TableCell) or an odfpy TableRow."""
    document = OpenDocumentSpreadsheet()
    table = OdsTable(name="Promesses")
    for row in rows:
        if not isinstance(row, list):
            table.addElement(row)
            continue
        element = TableRow()
        for cell in row:
            element.addElement(text_cell(cell) if isinstance(cell, str) else cell)
        table.addElement(element)
    document.spreadsheet.addElement(table)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def text_cell(*paragraphs) -> TableCell:
    cell = TableCell(valuetype="string")
    for paragraph in paragraphs:
        cell.addElement(P(text=paragraph) if isinstance(paragraph, str) else paragraph)
    return cell


def rewritten(data: bytes, member: str, content: bytes) -> bytes:
    """The same zip with one member's content replaced, as a hand-edited or hostile file would be."""
    source, buffer = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, content if info.filename == member else source.read(info))
    return buffer.getvalue()


# CSV


def test_a_comma_separated_utf8_file_gives_its_header_and_numbered_rows():
    table = read_table("promesses.csv", "titre,échéance\nBus gratuit,2026\nPiscine,2027\n".encode())
    assert table.name == "promesses.csv"
    assert table.header == ["titre", "échéance"]
    assert table.rows == [(2, ["Bus gratuit", "2026"]), (3, ["Piscine", "2027"])]


def test_the_byte_order_mark_of_a_utf8_file_is_not_part_of_the_first_column():
    table = read_table("promesses.csv", "\ufefftitre;thème\nBus;mobilité\n".encode())
    assert table.header == ["titre", "thème"]


def test_a_semicolon_file_from_french_excel_in_windows_1252_reads_its_accents_right():
    data = "Titre;Échéance;Thème\nMétro à Hellemmes;déc. 2026;Façades\n".encode("cp1252")
    table = read_table("export excel.csv", data)
    assert table.header == ["Titre", "Échéance", "Thème"]
    assert table.rows == [(2, ["Métro à Hellemmes", "déc. 2026", "Façades"])]


def test_a_tab_separated_file_is_read():
    table = read_table("promesses.tsv", b"titre\tstatut\nBus gratuit\ten cours\n")
    assert table.rows == [(2, ["Bus gratuit", "en cours"])]


def test_a_quoted_cell_keeps_its_line_break_and_semicolon_and_the_row_keeps_its_number():
    data = 'titre;détail\n"Bus gratuit";"ligne 1 ; ligne 2\ndeuxième ligne"\nPiscine;rénovée\n'.encode()
    table = read_table("promesses.csv", data)
    assert table.rows == [(2, ["Bus gratuit", "ligne 1 ; ligne 2\ndeuxième ligne"]), (3, ["Piscine", "rénovée"])]


def test_a_text_file_from_excels_unicode_export_is_read():
    table = read_table("promesses.txt", "titre\tthème\nBus\tmobilité œuvre\n".encode("utf-16"))
    assert table.rows == [(2, ["Bus", "mobilité œuvre"])]


# What every format shares


def test_empty_rows_are_skipped_and_the_next_row_keeps_the_number_the_spreadsheet_shows():
    table = read_table("promesses.csv", b"\ntitre;statut\nBus;fait\n;\n\nPiscine;en cours\n")
    assert table.header == ["titre", "statut"]
    assert table.rows == [(3, ["Bus", "fait"]), (6, ["Piscine", "en cours"])]


def test_short_rows_are_padded_and_long_rows_cut_to_the_header():
    table = read_table("promesses.csv", b"titre;statut;theme\nBus\nPiscine;fait;sport;en trop;encore\n")
    assert table.rows == [(2, ["Bus", "", ""]), (3, ["Piscine", "fait", "sport"])]


def test_cells_lose_their_surrounding_spaces_and_the_header_its_trailing_empty_cells():
    table = read_table("promesses.csv", b"  titre ; statut ;;\n  Bus gratuit  ;fait ;x;y\n")
    assert table.header == ["titre", "statut"]
    assert table.rows == [(2, ["Bus gratuit", "fait"])]


def test_the_apostrophe_kbs_export_puts_before_a_formula_sign_is_removed_and_no_other():
    data = "titre;formule;plus;moins;arobase;citation\nBus;'=A1;'+33 3 20;'-5 %;'@mairie;'abc\n".encode()
    assert read_table("export-kb.csv", data).rows == [(2, ["Bus", "=A1", "+33 3 20", "-5 %", "@mairie", "'abc"])]


# XLSX


def test_an_xlsx_date_reads_as_an_iso_date_even_with_a_time_of_day():
    table = read_table("promesses.xlsx", xlsx(["titre", "promis le", "vérifié le"], ["Bus", date(2026, 3, 15), datetime(2026, 4, 1, 9, 30)]))
    assert table.rows == [(2, ["Bus", "2026-03-15", "2026-04-01"])]


def test_xlsx_whole_numbers_read_without_a_decimal_point_and_others_as_written():
    table = read_table("promesses.xlsx", xlsx(["titre", "année", "budget", "taux"], ["Bus", 2026, 1500000.0, 3.5]))
    assert table.rows == [(2, ["Bus", "2026", "1500000", "3.5"])]


def test_xlsx_booleans_read_as_oui_and_non():
    table = read_table("promesses.xlsx", xlsx(["titre", "chiffrée", "tenue"], ["Bus", True, False]))
    assert table.rows == [(2, ["Bus", "oui", "non"])]


def test_an_xlsx_workbook_is_read_from_its_first_sheet():
    data = xlsx(sheets={"Promesses": [["titre"], ["Bus"]], "Notes": [["brouillon"], ["à ne pas importer"]]})
    table = read_table("promesses.xlsx", data)
    assert table.header == ["titre"] and table.rows == [(2, ["Bus"])]


def test_an_xlsx_row_after_empty_ones_keeps_its_number():
    table = read_table("promesses.xlsx", xlsx(["titre"], [], [None], ["Bus"]))
    assert table.rows == [(4, ["Bus"])]


def test_a_damaged_xlsx_is_refused_as_unreadable():
    data = rewritten(xlsx(["titre"], ["Bus"]), "xl/workbook.xml", b"<workbook pas fini")
    with pytest.raises(SpreadsheetError, match="promesses.xlsx : fichier XLSX illisible"):
        read_table("promesses.xlsx", data)


# ODS


def test_an_ods_date_reads_as_an_iso_date_and_a_whole_number_without_decimals():
    data = ods(
        ["titre", "échéance", "année"],
        ["Bus", TableCell(valuetype="date", datevalue="2026-03-15T00:00:00"), TableCell(valuetype="float", value="2026")],
    )
    assert read_table("promesses.ods", data).rows == [(2, ["Bus", "2026-03-15", "2026"])]


def test_ods_text_keeps_its_paragraphs_spaces_and_line_breaks():
    paragraph = P(text="deux")
    paragraph.addElement(S(c=2))
    paragraph.addText("espaces")
    paragraph.addElement(LineBreak())
    paragraph.addText("fin")
    data = ods(["titre", "détail"], ["Bus", text_cell("premier paragraphe", paragraph)])
    assert read_table("promesses.ods", data).rows == [(2, ["Bus", "premier paragraphe\ndeux  espaces\nfin"])]


def test_ods_runs_of_empty_cells_and_a_million_trailing_empty_rows_are_counted_not_built():
    started = time.monotonic()
    data = ods(
        ["titre", TableCell(numbercolumnsrepeated=3), "échéance", TableCell(numbercolumnsrepeated=1000)],
        ["Bus", TableCell(numbercolumnsrepeated=3), "2026", TableCell(numbercolumnsrepeated=1000)],
        TableRow(numberrowsrepeated=1048000),
        ["Piscine", TableCell(numbercolumnsrepeated=3), "2027"],
    )
    table = read_table("promesses.ods", data)
    assert table.header == ["titre", "", "", "", "échéance"]
    assert table.rows == [(2, ["Bus", "", "", "", "2026"]), (1048003, ["Piscine", "", "", "", "2027"])]
    assert time.monotonic() - started < 5


def test_a_filled_ods_row_repeated_counts_as_that_many_rows():
    data = ods(["titre"], repeated_row("Bus", 2), ["Piscine"])
    assert read_table("promesses.ods", data).rows == [(2, ["Bus"]), (3, ["Bus"]), (4, ["Piscine"])]


def repeated_row(text: str, times: int) -> TableRow:
    row = TableRow(numberrowsrepeated=times)
    row.addElement(text_cell(text))
    return row


# Files that are not tables


def test_an_empty_file_is_refused():
    with pytest.raises(SpreadsheetError, match="promesses.csv est vide"):
        read_table("promesses.csv", b"")


def test_a_file_of_blank_lines_is_refused_as_empty():
    with pytest.raises(SpreadsheetError, match="est vide"):
        read_table("promesses.csv", b"\n \n;;\n")


def test_random_bytes_are_refused_with_the_formats_accepted():
    noise = random.Random(2026).randbytes(4096)
    with pytest.raises(SpreadsheetError, match="promesses.xlsx : .*CSV, XLSX ou ODS"):
        read_table("promesses.xlsx", noise)


def test_an_old_xls_file_is_refused_with_what_to_do():
    with pytest.raises(SpreadsheetError, match=r"ancien format Excel \(\.xls\).*enregistrez-le en XLSX"):
        read_table("promesses.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.jpg", b"\xff\xd8\xff")
    with pytest.raises(SpreadsheetError, match="archive ZIP qui n'est pas un classeur ; formats acceptés : CSV, XLSX ou ODS"):
        read_table("promesses.zip", buffer.getvalue())


# The budget


def test_more_rows_than_an_import_takes_are_refused_at_the_first_one_too_many():
    data = b"titre\n" + b"".join(b"promesse %d\n" % n for n in range(MAX_ROWS + 1))
    with pytest.raises(SpreadsheetError, match=r"promesses.csv, ligne 5002 : plus de 5 000 lignes"):
        read_table("promesses.csv", data)


def test_exactly_as_many_rows_as_an_import_takes_are_read():
    data = b"titre\n" + b"".join(b"promesse %d\n" % n for n in range(MAX_ROWS))
    assert len(read_table("promesses.csv", data).rows) == MAX_ROWS


def test_an_ods_row_repeated_a_million_times_is_refused_without_building_them():
    started = time.monotonic()
    with pytest.raises(SpreadsheetError, match="plus de 5 000 lignes"):
        read_table("promesses.ods", ods(["titre"], repeated_row("Bus", 1_000_000)))
    assert time.monotonic() - started < 5


def test_a_header_wider_than_an_import_takes_is_refused():
    data = xlsx([f"colonne {n}" for n in range(MAX_COLUMNS + 1)], ["Bus"])
    with pytest.raises(SpreadsheetError, match="promesses.xlsx, ligne 1 : plus de 60 colonnes dans l'en-tête"):
        read_table("promesses.xlsx", data)


def test_a_zip_bomb_is_refused_from_its_directory_before_anything_is_unpacked():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(80):
                member.write(bytes(1024 * 1024))
    assert len(buffer.getvalue()) < 1024 * 1024
    started = time.monotonic()
    with pytest.raises(SpreadsheetError, match="promesses.xlsx : fichier trop gros une fois décompressé"):
        read_table("promesses.xlsx", buffer.getvalue())
    assert time.monotonic() - started < 1


def test_an_xlsx_sheet_running_past_fifty_thousand_rows_is_refused():
    book = Workbook()
    book.active.append(["titre"])
    book.active.cell(row=60_000, column=1, value="oublié tout en bas")
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(SpreadsheetError, match="plus de 50 000 lignes, même vides"):
        read_table("promesses.xlsx", buffer.getvalue())


def test_an_xlsx_with_more_styles_than_a_person_makes_is_refused_before_openpyxl_parses_them():
    styles = b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs>' + b'<xf numFmtId="0"/>' * 500_000
    data = rewritten(xlsx(["titre"], ["Bus"]), "xl/styles.xml", styles + b"</cellXfs></styleSheet>")
    started = time.monotonic()
    with pytest.raises(SpreadsheetError, match="fichier trop lourd à lire"):
        read_table("promesses.xlsx", data)
    assert time.monotonic() - started < 2


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)


def test_an_ods_with_xml_entities_is_refused():
    data = ods(["titre"], ["Bus"])
    content = zipfile.ZipFile(io.BytesIO(data)).read("content.xml").replace(b"Bus", b"&lol3;")
    content = LAUGHS + content[content.index(b"<office:document-content") :]
    with pytest.raises(SpreadsheetError, match=r"promesses.ods : fichier ODS illisible \(entités XML refusées\)"):
        read_table("promesses.ods", rewritten(data, "content.xml", content))


def test_an_xlsx_with_xml_entities_is_refused():
    data = xlsx(["titre"], ["Bus"])
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").replace(b">Bus<", b">&lol3;<")
    with pytest.raises(SpreadsheetError, match=r"promesses.xlsx : fichier XLSX illisible \(entités XML refusées\)"):
        read_table("promesses.xlsx", rewritten(data, "xl/worksheets/sheet1.xml", LAUGHS + sheet))
