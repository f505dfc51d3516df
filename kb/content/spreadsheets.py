"""The rows of a spreadsheet a journalist uploads to import promises: CSV, XLSX or ODS, told apart by their bytes.

The file comes from outside, so reading it has a budget, checked before the costly work: a zip whose
members would unpack past MAX_UNPACKED_BYTES is refused from its directory, before anything is
decompressed; an XLSX's XML parts are counted in tags before openpyxl parses them; rows stop at
MAX_ROWS as soon as the next one appears, and the runs of empty cells and rows that spreadsheets
write repeated a million times are counted, never built. A zip bomb, an entity bomb or a million
rows are refused in a second or less; the heaviest file accepted (5 000 rows of 60 cells, every
cell a string of its own) takes some twenty seconds in openpyxl, seven as ODS. Every refusal says
why, in French, naming the file and, when it can, the row."""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from kb.config.i18n import gettext as _

MAX_ROWS = 5000
MAX_COLUMNS = 60
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 10_000

ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
# Cells further right than this are never looked at: past MAX_COLUMNS only "there are too many" matters,
# and a run of repeated cells (ODS) must not be built out to column XFD (16 384).
_COLUMN_LIMIT = 1024
# The most rows or columns a spreadsheet has (1 048 576 rows); a repeat count above it is a hostile file.
_REPEAT_LIMIT = 1_048_576
# Rows as the file writes them, empty ones included, and the XML elements of an ODS sheet: each costs
# parsing, empty or not. Ten times the rows an import takes, and four elements (cell, paragraph, span…)
# for each cell it can hold, leave room for any sheet a person made.
_ROW_LIMIT = 10 * MAX_ROWS
_ELEMENT_LIMIT = 4 * MAX_ROWS * MAX_COLUMNS
# openpyxl parses a workbook's shared strings, styles and sheets before the first row comes out, at
# some 25 µs a string and 50 µs a style: its XML parts are counted in tags (`<`) first. A full import,
# every cell a string of its own, is about 2.4 million tags of sheets and strings; what describes the
# workbook (styles, names, properties, charts) is a few thousand.
_XLSX_DATA_TAGS = 10 * MAX_ROWS * MAX_COLUMNS
_XLSX_OTHER_TAGS = 100_000
# The export (opendata._cell) writes an apostrophe before these so that no spreadsheet runs a cell as a formula.
_PROTECTED = ("=", "+", "-", "@", "\t", "\r")

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_ODS_CELLS = (_TABLE + "table-cell", _TABLE + "covered-table-cell")


class SpreadsheetError(ValueError):
    """The file cannot be read as a table; the message is for people (French), names the file and, when it can, the row."""


@dataclass
class Table:
    """A spreadsheet's header and filled rows, every cell as text."""

    name: str  # the uploaded file's name, as given
    header: list[str]  # the header cells as written (stripped): the first non-empty row of the file
    rows: list[tuple[int, list[str]]]  # (row number as a spreadsheet shows it, cells padded or cut to the header)


def read_table(name: str, data: bytes) -> Table:
    """The table in `data`, by its format as its bytes say; the file name's extension only words the error."""
    label = name or _("fichier")
    if data.startswith(b"PK\x03\x04"):
        rows, text = _zip_rows(label, data)
    else:
        rows, text = _csv_rows(label, data), str
    with closing(rows):
        return _table(name, label, rows, text)


def _table(name: str, label: str, rows: Iterator[tuple[int, Sequence]], text: Callable[[object], str]) -> Table:
    """The header and the filled rows; `text` turns a cell's value into its text, only for the cells kept."""
    table = None
    for number, cells in rows:
        if table is None:
            header = [_clean(text(cell)) for cell in cells[:_COLUMN_LIMIT]]
            while header and not header[-1]:
                header.pop()
            if not header:
                continue
            if len(header) > MAX_COLUMNS:
                raise SpreadsheetError(
                    _(
                        "%(file)s, ligne %(row)s : plus de %(max)s colonnes dans l'en-tête ; gardez seulement les colonnes à importer",
                        file=label,
                        row=number,
                        max=MAX_COLUMNS,
                    )
                )
            table = Table(name, header, [])
            continue
        width = len(table.header)
        row = [_clean(text(cell)) for cell in cells[:width]]
        if not any(row):
            continue
        if len(table.rows) == MAX_ROWS:
            raise SpreadsheetError(
                _("%(file)s, ligne %(row)s : plus de %(max)s lignes ; découpez le fichier", file=label, row=number, max=_thousands(MAX_ROWS))
            )
        table.rows.append((number, row + [""] * (width - len(row))))
    if table is None:
        raise SpreadsheetError(_("%(file)s est vide : aucune ligne d'en-tête", file=label))
    return table


def _thousands(number: int) -> str:
    return f"{number:,}".replace(",", " ")


def _clean(cell: str) -> str:
    """The cell without surrounding spaces nor the apostrophe kb's CSV export puts before a would-be formula."""
    cell = cell.strip()
    if cell[:1] == "'" and cell[1:2] in _PROTECTED:
        cell = cell[1:].strip()
    return cell


def _number(value: int | float) -> str:
    """A number as a person writes it: 2026, not 2026.0."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return str(value)


# CSV


def _csv_rows(label: str, data: bytes) -> Iterator[tuple[int, list[str]]]:
    text = _decode(label, data)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    number = 0
    try:
        # A record is a spreadsheet row, even when a quoted cell spans several lines of the file.
        for number, cells in enumerate(reader, start=1):
            yield number, cells
    except csv.Error:
        # With strict=False the csv module complains of one thing only: a cell past its size limit,
        # which is what a quote opened and never closed makes of the rest of the file.
        raise SpreadsheetError(
            _(
                "%(file)s, ligne %(row)s : guillemet ouvert jamais refermé, ou cellule de plus de %(max)s caractères",
                file=label,
                row=number + 1,
                max=_thousands(csv.field_size_limit()),
            )
        ) from None


def _decode(label: str, data: bytes) -> str:
    """The text of a CSV file: UTF-8 (with or without BOM), UTF-16 with BOM, or else Windows-1252 (French Excel's "CSV")."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Texte Unicode" export; its NUL bytes would otherwise look binary.
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SpreadsheetError(_("%(file)s : texte UTF-16 abîmé ; enregistrez-le en « CSV UTF-8 »", file=label)) from None
    if _looks_binary(data):
        raise SpreadsheetError(_not_a_table(label, data))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SpreadsheetError(_("%(file)s, ligne %(row)s : encodage non reconnu ; enregistrez-le en « CSV UTF-8 »", file=label, row=line)) from None


def _looks_binary(data: bytes) -> bool:
    """NUL bytes, or control characters no text file holds in any number (tab, newline and form feed aside)."""
    if b"\x00" in data:
        return True
    head = data[:8192]
    controls = sum(1 for byte in head if byte < 32 and byte not in b"\t\n\r\f\v")
    return controls > len(head) // 100


def _delimiter(text: str) -> str:
    """The one of `;` `,` tab that cuts the header into the most cells, quotes respected.

    csv.Sniffer guesses wrong on files of a few lines. On a tie the semicolon wins: French Excel
    writes it, and a French header holds a comma ("Date, lieu") more often than a semicolon.
    """
    best, most = ",", 0
    for delimiter in (";", ",", "\t"):
        try:
            header = next((cells for cells in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if any(cells)), [])
        except csv.Error:
            continue
        if len(header) > most:
            best, most = delimiter, len(header)
    return best


def _not_a_table(label: str, data: bytes) -> str:
    extension = label.rsplit(".", 1)[-1].lower() if "." in label else ""
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return _(
            "%(file)s : ancien format Excel (.xls) ou classeur protégé par un mot de passe ; "
            "enregistrez-le en XLSX sans mot de passe, ou en CSV (formats acceptés : CSV, XLSX ou ODS)",
            file=label,
        )
    if extension in ("xlsx", "ods"):
        return _(
            "%(file)s : ce n'est pas un fichier %(format)s valide (formats acceptés : CSV, XLSX ou ODS)", file=label, format=extension.upper()
        )
    return _("%(file)s : fichier binaire, pas un tableau (formats acceptés : CSV, XLSX ou ODS)", file=label)


# Zip: XLSX and ODS


def _zip_rows(label: str, data: bytes) -> tuple[Iterator[tuple[int, Sequence]], Callable[[object], str]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as error:
        raise SpreadsheetError(_("%(file)s : archive abîmée (%(error)s) ; formats acceptés : CSV, XLSX ou ODS", file=label, error=error)) from None
    # zipfile never unpacks a member past the size its directory declares, so this sum bounds all the work.
    if len(members) > MAX_MEMBERS or sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
        raise SpreadsheetError(
            _(
                "%(file)s : fichier trop gros une fois décompressé (plus de %(size)s Mo) ; gardez seulement la feuille à importer",
                file=label,
                size=MAX_UNPACKED_BYTES // (1024 * 1024),
            )
        )
    names = {member.filename for member in members}
    if "xl/workbook.xml" in names:
        _weigh_xlsx(label, archive)
        return _xlsx_rows(label, data), _xlsx_text
    if "mimetype" in names and _read_small(archive, "mimetype").strip() == ODS_MIMETYPE.encode():
        return _ods_rows(label, archive), str
    raise SpreadsheetError(_("%(file)s : archive ZIP qui n'est pas un classeur ; formats acceptés : CSV, XLSX ou ODS", file=label))


def _weigh_xlsx(label: str, archive: zipfile.ZipFile):
    """Refuses a workbook whose XML parts hold more tags than openpyxl can parse in seconds."""
    tags = {True: 0, False: 0}  # data (sheets, shared strings) or not
    try:
        for member in archive.infolist():
            if not member.filename.endswith((".xml", ".rels")):
                continue
            data = member.filename.startswith("xl/worksheets/") or member.filename.lower().endswith("sharedstrings.xml")
            limit = _XLSX_DATA_TAGS if data else _XLSX_OTHER_TAGS
            with archive.open(member) as handle:
                while chunk := handle.read(1024 * 1024):
                    tags[data] += chunk.count(b"<")
                    if tags[data] > limit:
                        raise SpreadsheetError(_too_heavy(label))
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError) as error:
        raise _unreadable(label, "XLSX", error) from None


def _unreadable(label: str, kind: str, error: Exception) -> SpreadsheetError:
    """The refusal of a file a parser gave up on, with the parser's reason in short (openpyxl wraps it in English prose)."""
    cause = error.__cause__ or error
    if isinstance(cause, DefusedXmlException):
        reason = _("entités XML refusées")
    else:
        reason = f"{cause.__class__.__name__} : {next(iter(str(cause).splitlines()), '')}"[:160]
    return SpreadsheetError(_("%(file)s : fichier %(format)s illisible (%(reason)s)", file=label, format=kind, reason=reason))


def _too_heavy(label: str) -> str:
    return _(
        "%(file)s : fichier trop lourd à lire (trop de cellules ou de styles) ; copiez les lignes à importer dans un nouveau fichier",
        file=label,
    )


def _read_small(archive: zipfile.ZipFile, member: str) -> bytes:
    try:
        with archive.open(member) as handle:
            return handle.read(200)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError):
        return b""


# openpyxl raises whatever its parsers meet in a damaged file: all of them mean "unreadable"
# (defusedxml's refusals of entities are ValueErrors; an encrypted member is a RuntimeError).
_XLSX_ERRORS = (
    InvalidFileException, zipfile.BadZipFile, zlib.error, ParseError, KeyError, ValueError, TypeError,
    AttributeError, IndexError, OSError, EOFError, RuntimeError, MemoryError,
)  # fmt: skip


def _xlsx_rows(label: str, data: bytes) -> Iterator[tuple[int, tuple]]:
    try:
        # openpyxl warns about what it ignores in real files (data validation, conditional formats):
        # not the journalist's business, and the tests turn warnings into errors.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module="openpyxl")
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                if not book.worksheets:
                    raise SpreadsheetError(_("%(file)s : le classeur ne contient aucune feuille", file=label))
                # The first sheet, as in ODS: the active one is wherever the journalist last clicked.
                sheet = book.worksheets[0]
                # The dimension a file declares can be A1:XFD1048576: forgotten, rows are as long as their cells
                # (up to _COLUMN_LIMIT), and the empty rows a file skips are filled in only up to the next one.
                sheet.reset_dimensions()
                rows = sheet.iter_rows(values_only=True, max_col=_COLUMN_LIMIT, max_row=_ROW_LIMIT + 1)
                for number, values in enumerate(rows, start=1):
                    if number > _ROW_LIMIT:
                        raise SpreadsheetError(_too_long(label))
                    yield number, values
            finally:
                book.close()
    except SpreadsheetError:
        raise
    except _XLSX_ERRORS as error:
        raise _unreadable(label, "XLSX", error) from None


def _too_long(label: str) -> str:
    return _(
        "%(file)s : la feuille s'étend sur plus de %(max)s lignes, même vides (mise en forme "
        "appliquée jusqu'en bas ?) ; copiez les lignes à importer dans un nouveau fichier",
        file=label,
        max=_thousands(_ROW_LIMIT),
    )


def _xlsx_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, datetime):
        # An import holds dates, never times of day.
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return _number(value)
    return str(value)


def _ods_rows(label: str, archive: zipfile.ZipFile) -> Iterator[tuple[int, list[str]]]:
    """The rows of the first table of content.xml, read as a stream.

    odfpy's load() builds the whole document first (five seconds for 5 000 rows of ten cells, about
    a minute at the zip budget) and prints a part it cannot parse to stdout, so content.xml is read
    here with ElementTree's iterparse (through defusedxml, against entity bombs), each row dropped once read.
    """
    try:
        with archive, archive.open("content.xml") as content:
            yield from _ods_table(label, content)
    except SpreadsheetError:
        raise
    except (ParseError, KeyError, ValueError, TypeError, zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError) as error:
        raise _unreadable(label, "ODS", error) from None


def _ods_table(label: str, content) -> Iterator[tuple[int, list[str]]]:
    number = written_rows = elements = 0
    path: list[Element] = []  # the open elements, from the root
    row: _OdsRow | None = None
    row_at = cell_at = table_at = None  # where in `path` the current row, cell and first table are
    for event, element in iterparse(content, events=("start", "end")):
        tag = element.tag
        if event == "start":
            if tag == _TABLE + "table" and table_at is None:
                table_at = len(path)
            elif tag == _TABLE + "table-row" and table_at is not None and row_at is None:
                row, row_at = _OdsRow(), len(path)
            elif tag in _ODS_CELLS and row_at is not None and cell_at is None:
                cell_at = len(path)
            path.append(element)
            continue
        path.pop()
        elements += 1
        if elements > _ELEMENT_LIMIT:
            raise SpreadsheetError(_too_heavy(label))
        # Elements at the depth of the current cell, row or table are that cell, row or table:
        # a table nested in a cell has rows and cells of its own, read only as the cell's text.
        if len(path) == cell_at:
            row.add(_ods_text(element), _repeat(element, _TABLE + "number-columns-repeated"))
            cell_at = None
        elif len(path) == row_at:
            written_rows += 1
            if written_rows > _ROW_LIMIT:
                raise SpreadsheetError(_too_long(label))
            repeat = _repeat(element, _TABLE + "number-rows-repeated")
            if any(row.cells):
                for _copy in range(repeat):
                    number += 1
                    yield number, row.cells
            else:
                # Empty rows, a million of them at the end of a LibreOffice sheet: counted, not built.
                number += repeat
            row = row_at = None
        elif len(path) == table_at:
            return
        # What is read is dropped, so memory holds one row, whatever the length of the file;
        # inside a cell, the elements wait for the cell (its text is read when it ends).
        if path and cell_at is None:
            path[-1].remove(element)


class _OdsRow:
    """The cells of a row as they come, runs of empty cells kept as a count until a filled cell follows them."""

    def __init__(self):
        self.cells: list[str] = []
        self.pending = 0

    def add(self, text: str, repeat: int):
        if not text:
            self.pending += repeat
            return
        room = _COLUMN_LIMIT - len(self.cells)
        self.cells += [""] * min(self.pending, room)
        self.pending = 0
        room = _COLUMN_LIMIT - len(self.cells)
        self.cells += [text] * min(repeat, room)


def _repeat(element: Element, attribute: str) -> int:
    try:
        return min(max(int(element.get(attribute, "1")), 1), _REPEAT_LIMIT)
    except ValueError:
        return 1


def _ods_text(cell: Element) -> str:
    kind = cell.get(_OFFICE + "value-type")
    if kind == "date":
        return (cell.get(_OFFICE + "date-value") or "")[:10]
    if kind == "boolean":
        return "oui" if cell.get(_OFFICE + "boolean-value") == "true" else "non"
    if kind in ("float", "percentage", "currency"):
        try:
            return _number(float(cell.get(_OFFICE + "value", "")))
        except ValueError:
            pass
    # Only the cell's own paragraphs: a comment (office:annotation) has paragraphs of its own.
    return "\n".join(_paragraph(child) for child in cell if child.tag == _TEXT + "p")


def _paragraph(element: Element) -> str:
    parts = [element.text or ""]
    for child in element:
        if child.tag == _TEXT + "s":
            # Runs of spaces are written as <text:s text:c="n"/>; a hostile n must not cost memory.
            parts.append(" " * min(_repeat(child, _TEXT + "c"), 100))
        elif child.tag == _TEXT + "tab":
            parts.append("\t")
        elif child.tag == _TEXT + "line-break":
            parts.append("\n")
        elif child.tag != _OFFICE + "annotation":
            parts.append(_paragraph(child))
        parts.append(child.tail or "")
    return "".join(parts)
