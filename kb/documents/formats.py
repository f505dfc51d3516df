"""Each document format read into its pages of text: PDF, DOCX, ODT, HTML, plain text.

Runs inside the sandbox child (kb.documents.sandbox), which bounds time and memory; the readers
still refuse what no honest document needs (a ZIP member expanding past MAX_XML_BYTES, more pages
than the budget) so the refusal names the cause instead of a killed process.
"""

from __future__ import annotations

import io
import logging
import re
import signal
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser

from kb.documents.errors import N_, UploadError, _

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
# Expanded size of the XML inside a DOCX or ODT: a 400-page report is a few MB; a ZIP bomb is GBs.
MAX_XML_BYTES = 200 * 1024 * 1024
FORMAT_NAMES = N_("PDF (avec ou sans couche texte), Word .docx, OpenDocument .odt, page web .html, texte .txt ou Markdown .md")


@dataclass(frozen=True)
class Limits:
    """What the child may spend on one document (kb.documents.extract.Budget, as the child sees it)."""

    max_pages: int = 500
    page_seconds: float = 3.0  # CPU for one page's text layer; an honest page takes milliseconds
    ocr_pages: int = 30  # 2-4 s a page: within the default 120 s
    ocr_page_seconds: float = 60.0
    max_text: int = 20 * 1024 * 1024


def detect(name: str, data: bytes) -> str:
    """The format of an upload from its first bytes (and its name where bytes cannot tell)."""
    lower = name.lower()
    head = data[:1024]
    if data.startswith(b"%PDF-") or (b"%PDF-" in head and not lower.endswith(TEXT_SUFFIXES)):
        return "pdf"
    if lower.endswith(".pdf"):
        raise UploadError(_("%(name)s : ce n'est pas un PDF (il ne commence pas par « %%PDF- »)", name=name))
    if data.startswith(b"PK\x03\x04"):
        return _zip_format(name, data)
    if lower.endswith((".docx", ".odt")):
        raise UploadError(_("%(name)s : fichier abîmé (un .docx ou un .odt est une archive ZIP)", name=name))
    sniff = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lower.endswith(HTML_SUFFIXES) or sniff.startswith((b"<!doctype html", b"<html")):
        return "html"
    if lower.endswith(TEXT_SUFFIXES):
        return "text"
    raise UploadError(_("%(name)s : format non pris en charge (%(formats)s)", name=name, formats=_(FORMAT_NAMES)))


def _zip_format(name: str, data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" in names:
                return "docx"
            if "content.xml" in names and "mimetype" in names:
                # Read no more than a mimetype can be: this runs in the server's process, not the sandbox.
                if archive.getinfo("mimetype").file_size > 100:
                    raise UploadError(_("%(name)s : archive OpenDocument abîmée (type de document illisible)", name=name))
                with archive.open("mimetype") as stream:
                    mimetype = stream.read(100)
                if mimetype == b"application/vnd.oasis.opendocument.text":
                    return "odt"
                raise UploadError(
                    _("%(name)s : document OpenDocument qui n'est pas un texte (%(mimetype)s) ; enregistrez-le en .odt ou en PDF", name=name, mimetype=mimetype.decode(errors="replace"))
                )
    except UploadError:
        raise
    except Exception as error:  # noqa: BLE001 — a damaged, encrypted or odd archive is the file's fault: said, never a 500
        if name.lower().endswith((".docx", ".odt")):
            raise UploadError(_("%(name)s : fichier abîmé, archive illisible (%(error)s : %(detail)s)", name=name, error=error.__class__.__name__, detail=error)) from None
    raise UploadError(_("%(name)s : format non pris en charge (%(formats)s)", name=name, formats=_(FORMAT_NAMES)))


# -- PDF ------------------------------------------------------------------------------------------


class _PageTooCostly(BaseException):
    """Raised by the CPU timer inside pypdf: a BaseException, which pypdf's `except Exception` (around
    form objects) cannot swallow."""


def _interrupt(signum, frame):
    raise _PageTooCostly


def pdf_pages(name: str, data: bytes, limits: Limits) -> tuple[list[str], list[int]]:
    """(text of each page, numbers of the pages without a text layer) of a PDF."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    # pypdf logs recoverable oddities of real-world PDFs as warnings; they are not the user's business.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    pages: list[str] = []
    blank: list[int] = []
    size = 0
    # A page's drawing instructions can be made to cost minutes (one stream of 300,000 operators that
    # every page reuses): each page gets its own CPU allowance, measured by a profiling timer.
    previous = signal.signal(signal.SIGPROF, _interrupt)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UploadError(_("%(name)s : PDF protégé par un mot de passe ; fournissez une version non chiffrée", name=name))
        count = len(reader.pages)
        if count > limits.max_pages:
            raise UploadError(_("%(name)s : %(count)s pages, plus que les %(limit)s acceptées ; découpez le document", name=name, count=count, limit=limits.max_pages))
        for number, page in enumerate(reader.pages, start=1):
            signal.setitimer(signal.ITIMER_PROF, limits.page_seconds)
            try:
                text = page.extract_text() or ""
            except _PageTooCostly:
                raise UploadError(
                    _(
                        "%(name)s : la page %(number)s demande trop de calcul pour en lire le texte "
                        "(plus de %(seconds)s s) ; ce PDF est abîmé ou piégé",
                        name=name, number=number, seconds=format(limits.page_seconds, "g"),
                    )
                ) from None
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
            text = text.replace("\x00", "").replace("\f", "\n")
            if sum(ch.isalnum() for ch in text) < 3:
                blank.append(number)
            pages.append(text)
            size += len(text)
            if size > limits.max_text:
                raise UploadError(_("%(name)s : texte extrait trop long (plus de %(size)s Mo) ; découpez le document", name=name, size=limits.max_text // 1_000_000))
    except UploadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, MemoryError, OSError) as error:
        raise UploadError(_("%(name)s : PDF illisible (%(error)s : %(detail)s)", name=name, error=error.__class__.__name__, detail=error)) from None
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
    return pages, blank


# -- DOCX and ODT ---------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_T = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


def _member(name: str, data: bytes, member: str):
    archive = zipfile.ZipFile(io.BytesIO(data))
    info = archive.getinfo(member)
    if info.file_size > MAX_XML_BYTES:
        raise UploadError(
            _(
                "%(name)s : %(member)s se décompresse en %(size)s Mo, plus que les %(limit)s Mo acceptés",
                name=name, member=member, size=format(info.file_size / 1e6, ".0f"), limit=MAX_XML_BYTES // 1_000_000,
            )
        )
    return archive.open(info)


class _Pages:
    """Paragraphs gathered into pages, for the formats that mark page breaks inside their XML."""

    def __init__(self, limits: Limits, name: str):
        self.pages: list[list[str]] = [[]]
        self.paragraph: list[str] = []
        self.limits, self.name, self.size = limits, name, 0

    def text(self, text: str | None) -> None:
        if text:
            self.paragraph.append(text)
            self.size += len(text)
            if self.size > self.limits.max_text:
                raise UploadError(_("%(name)s : texte trop long (plus de %(size)s Mo) ; découpez le document", name=self.name, size=self.limits.max_text // 1_000_000))

    def end_paragraph(self) -> None:
        text = re.sub(r"[ \t]+", " ", "".join(self.paragraph)).strip()
        if text:
            self.pages[-1].append(text)
        self.paragraph = []

    def page_break(self) -> None:
        """A new page from here; a paragraph it falls in is split there, as the pages show it."""
        if not "".join(self.paragraph).strip() and not self.pages[-1]:
            return  # nothing on this page yet: the break is the one before it
        self.end_paragraph()
        self.pages.append([])
        if len(self.pages) > self.limits.max_pages:
            raise UploadError(_("%(name)s : plus de %(limit)s pages ; découpez le document", name=self.name, limit=self.limits.max_pages))

    def result(self) -> list[str]:
        self.end_paragraph()
        return ["\n\n".join(paragraphs) for paragraphs in self.pages]


def docx_pages(name: str, data: bytes, limits: Limits) -> list[str]:
    """A Word document's paragraphs, pages split where Word last laid them out (or a page break)."""
    from defusedxml.ElementTree import iterparse

    pages = _Pages(limits, name)
    depth = 0
    try:
        with _member(name, data, "word/document.xml") as stream:
            for event, element in iterparse(stream, events=("start", "end")):
                tag = element.tag
                if event == "start":
                    if tag == f"{_W}p":
                        depth += 1
                    elif tag == f"{_W}lastRenderedPageBreak" or (tag == f"{_W}br" and element.get(f"{_W}type") == "page"):
                        pages.page_break()
                    continue
                if tag == f"{_W}t":
                    pages.text(element.text)
                elif tag == f"{_W}tab":
                    pages.text("\t")
                elif tag == f"{_W}br" and element.get(f"{_W}type") != "page":
                    pages.text(" ")
                elif tag == f"{_W}p":
                    depth -= 1
                    pages.end_paragraph()
                    element.clear()
    except UploadError:
        raise
    except Exception as error:  # noqa: BLE001 — any parse failure of an uploaded file is the file's
        raise UploadError(_("%(name)s : document Word illisible (%(error)s : %(detail)s)", name=name, error=error.__class__.__name__, detail=error)) from None
    return pages.result()


def odt_pages(name: str, data: bytes, limits: Limits) -> list[str]:
    """An OpenDocument text's paragraphs and headings, pages split at its soft page breaks."""
    from defusedxml.ElementTree import iterparse

    pages = _Pages(limits, name)
    try:
        with _member(name, data, "content.xml") as stream:
            stack: list[str] = []
            for event, element in iterparse(stream, events=("start", "end")):
                tag = element.tag
                if event == "start":
                    if tag == f"{_T}soft-page-break" and f"{_T}p" not in stack and f"{_T}h" not in stack:
                        pages.page_break()  # between paragraphs; inside one, _odt_paragraph splits it there
                    stack.append(tag)
                    continue
                stack.pop()
                in_paragraph = f"{_T}p" in stack or f"{_T}h" in stack
                if tag in (f"{_T}p", f"{_T}h") and not in_paragraph:
                    _odt_paragraph(element, pages)
                    pages.end_paragraph()
                    element.clear()
    except UploadError:
        raise
    except Exception as error:  # noqa: BLE001
        raise UploadError(_("%(name)s : document OpenDocument illisible (%(error)s : %(detail)s)", name=name, error=error.__class__.__name__, detail=error)) from None
    return pages.result()


def _odt_paragraph(element, pages: _Pages) -> None:
    """The text of one paragraph: its spans, spaces (text:s), tabs and line breaks; notes left out."""
    pages.text(element.text)
    for child in element:
        tag = child.tag
        if tag == f"{_T}s":
            pages.text(" " * int(child.get(f"{_T}c", "1")))
        elif tag == f"{_T}tab" or tag == f"{_T}line-break":
            pages.text(" ")
        elif tag == f"{_T}soft-page-break":
            pages.page_break()
        elif tag != f"{_T}note":
            _odt_paragraph(child, pages)
        pages.text(child.tail)


# -- HTML -----------------------------------------------------------------------------------------

_SKIPPED = {"script", "style", "noscript", "template", "head", "svg", "nav", "aside", "footer", "form", "button", "iframe", "select"}
_BLOCKS = {
    "p", "div", "section", "article", "main", "header", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol",
    "blockquote", "pre", "tr", "table", "dt", "dd", "dl", "figcaption", "figure", "hr", "br", "address", "caption",
}
_VOID = {"br", "hr", "img", "input", "meta", "link", "wbr", "source", "area", "base", "col", "embed", "param", "track"}


class _Reader(HTMLParser):
    """Blocks of text of a web page, each marked with whether it stands inside <article> / <main>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, bool, bool]] = []
        self.current: list[str] = []
        self.skipping = 0
        self.article = 0
        self.main = 0
        self.open: list[str] = []

    def _flush(self) -> None:
        text = re.sub(r"\s+", " ", "".join(self.current)).strip()
        if text:
            self.blocks.append((text, self.article > 0, self.main > 0))
        self.current = []

    def handle_starttag(self, tag, attrs):
        if tag in _VOID:
            if tag in _BLOCKS and not self.skipping:
                self._flush()
            return
        self.open.append(tag)
        if tag in _SKIPPED or self.skipping:
            self.skipping += 1
            return
        if tag in _BLOCKS:
            self._flush()
        if tag == "article":
            self.article += 1
        elif tag == "main":
            self.main += 1

    def handle_endtag(self, tag):
        if tag in _VOID or tag not in self.open:
            return
        # Close what the page left open inside this element (HTML forgives unclosed <p> and <li>).
        while self.open:
            opened = self.open.pop()
            if self.skipping:
                self.skipping -= 1
            else:
                if opened in _BLOCKS:
                    self._flush()
                if opened == "article":
                    self.article -= 1
                elif opened == "main":
                    self.main -= 1
            if opened == tag:
                break

    def handle_data(self, data):
        if not self.skipping:
            self.current.append(data)


def _html_text(name: str, data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    declared = re.search(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_-]+)""", data[:4096], re.I)
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def html_pages(name: str, data: bytes, limits: Limits) -> list[str]:
    """The text of a saved web page: its article (or main part, or body), without menus and scripts."""
    reader = _Reader()
    reader.feed(_html_text(name, data))
    reader.close()
    reader._flush()
    blocks = reader.blocks
    if any(in_article for _text, in_article, _main in blocks):
        blocks = [block for block in blocks if block[1]]
    elif any(in_main for _text, _article, in_main in blocks):
        blocks = [block for block in blocks if block[2]]
    text = "\n\n".join(block[0] for block in blocks)
    if len(text) > limits.max_text:
        raise UploadError(_("%(name)s : texte trop long (plus de %(size)s Mo) ; découpez le document", name=name, size=limits.max_text // 1_000_000))
    return [text]


# -- plain text -----------------------------------------------------------------------------------


def text_pages(name: str, data: bytes, limits: Limits) -> list[str]:
    """A text file as it is (UTF-8); form feeds, where it has them, separate its pages."""
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UploadError(_("%(name)s : le texte n'est pas en UTF-8 (ligne %(line)s) ; enregistrez-le en UTF-8", name=name, line=line)) from None
    if "\x00" in text:
        raise UploadError(_("%(name)s : fichier binaire, pas du texte", name=name))
    return text.replace("\r\n", "\n").split("\f")
