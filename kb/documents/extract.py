"""The door: an uploaded file becomes a source's text, or a refusal that says why.

Accepted: PDF with a text layer, scanned PDF (French OCR), Word .docx, OpenDocument .odt, a web
page saved as .html, text and Markdown. The text keeps the document's pages (a form feed between
two) and, for PDFs, the paragraphs the layout broke into lines. The sha256 of the original is
recorded so anyone holding the file can prove it is the same document.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Mapping

from kb.documents import formats, layout, sandbox
from kb.documents.errors import UploadError, _
from kb.documents.formats import Limits

MAX_UPLOAD_BYTES = 20 * 1024 * 1024

__all__ = ["Budget", "Document", "UploadError", "read_document"]


@dataclass(frozen=True)
class Budget:
    """What reading one upload may cost (settings EXTRACT_*): a hostile file is refused within it."""

    max_bytes: int = MAX_UPLOAD_BYTES
    seconds: float = 120.0
    memory_mb: int = 1024
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_settings(cls, values: Mapping[str, Any]) -> "Budget":
        return cls(
            max_bytes=int(values["MAX_UPLOAD_BYTES"]),
            seconds=float(values["EXTRACT_SECONDS"]),
            memory_mb=int(values["EXTRACT_MEMORY_MB"]),
            limits=Limits(max_pages=int(values["EXTRACT_MAX_PAGES"]), ocr_pages=int(values["EXTRACT_OCR_PAGES"])),
        )


@dataclass(frozen=True)
class Document:
    text: str  # pages separated by a form feed on a line of its own
    sha256: str  # of the original bytes
    kind: str  # pdf, docx, odt, html, text
    pages: int
    ocr_pages: tuple[int, ...] = ()  # page numbers read by OCR


def read_document(filename: str, data: bytes, budget: Budget | None = None) -> Document:
    """The text of an uploaded document, read within `budget`; UploadError says why it cannot be."""
    budget = budget or Budget()
    name = filename or _("fichier")
    if not data:
        raise UploadError(_("%(name)s : fichier vide", name=name))
    if len(data) > budget.max_bytes:
        raise UploadError(_("%(name)s : fichier trop gros (%(size)s Mo ; limite %(limit)s Mo)", name=name, size=format(len(data) / 1e6, ".1f"), limit=format(budget.max_bytes / 1e6, ".0f")))
    kind = formats.detect(name, data)
    if kind == "text":
        # Text is taken exactly as written (no child process needed: decoding is linear and bounded by the size).
        pages, scanned = formats.text_pages(name, data, budget.limits), []
        text = "\f".join(pages)
    else:
        pages, scanned = sandbox.run(name, data, kind, budget.limits, budget.seconds, budget.memory_mb)
        text = layout.join_pages(pages)
    if not text.strip():
        if kind == "pdf":
            raise UploadError(_("%(name)s : ce PDF ne contient pas de texte, même par reconnaissance de caractères", name=name))
        raise UploadError(_("%(name)s : le fichier ne contient pas de texte", name=name))
    return Document(text=text, sha256=hashlib.sha256(data).hexdigest(), kind=kind, pages=len(pages), ocr_pages=tuple(scanned))
