"""The text of an uploaded source document: PDF (text layer), plain text or Markdown.

The original file is not kept, only its text and sha256 (recorded in the source's front
matter so anyone holding the original can prove it is the same document).
"""

from __future__ import annotations

import hashlib
import io
import logging

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".text")


class UploadError(ValueError):
    """The upload cannot become a source; the message says why, for people."""


def extract_text(filename: str, data: bytes, limit: int = MAX_UPLOAD_BYTES) -> tuple[str, str]:
    """(text, sha256 of the original) of an uploaded document."""
    name = filename or "fichier"
    if not data:
        raise UploadError(f"{name} : fichier vide")
    if len(data) > limit:
        raise UploadError(f"{name} : fichier trop gros ({len(data) / 1e6:.1f} Mo ; limite {limit / 1e6:.0f} Mo)")
    digest = hashlib.sha256(data).hexdigest()
    lower = name.lower()
    if data.startswith(b"%PDF-"):
        return _pdf_text(name, data), digest
    if lower.endswith(".pdf"):
        raise UploadError(f"{name} : ce n'est pas un PDF (il ne commence pas par « %PDF- »)")
    if not lower.endswith(TEXT_SUFFIXES):
        raise UploadError(f"{name} : format non pris en charge (PDF, texte .txt ou Markdown .md)")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UploadError(f"{name} : le texte n'est pas en UTF-8 (ligne {line}) ; enregistrez-le en UTF-8") from None
    if "\x00" in text:
        raise UploadError(f"{name} : fichier binaire, pas du texte")
    if not text.strip():
        raise UploadError(f"{name} : le fichier ne contient pas de texte")
    return text.replace("\r\n", "\n"), digest


def _pdf_text(name: str, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    from kb.content.sources import MAX_BYTES as MAX_SOURCE_BYTES

    # pypdf logs recoverable oddities of real-world PDFs as warnings; they are not the user's business.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UploadError(f"{name} : PDF protégé par un mot de passe ; fournissez une version non chiffrée")
        pages, size = [], 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            size += len(pages[-1])
            if size > MAX_SOURCE_BYTES:
                raise UploadError(f"{name} : texte extrait trop long (plus de {MAX_SOURCE_BYTES // 1_000_000} Mo) ; découpez le document")
    except UploadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, MemoryError) as error:
        raise UploadError(f"{name} : PDF illisible ({error.__class__.__name__} : {error})") from None
    text = "\n\n".join(page.strip("\n") for page in pages if page.strip())
    if not text.strip():
        raise UploadError(
            f"{name} : ce PDF ne contient pas de texte (document scanné ?) ; collez le texte ou fournissez une version texte"
        )
    return text.replace("\r\n", "\n").replace("\x00", "") + "\n"
