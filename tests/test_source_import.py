"""Uploaded documents become source text: PDF text layers, UTF-8 text and Markdown; errors said plainly."""

import hashlib

import pytest

from kb.content.extract import UploadError, extract_text

from .pdfs import blank_pdf, pdf_with_text


def test_a_pdf_gives_its_text_and_the_originals_sha256():
    data = pdf_with_text("Le conseil approuve la mutualisation.", "Deuxieme ligne.")
    text, digest = extract_text("deliberation.pdf", data)
    assert "Le conseil approuve la mutualisation." in text and "Deuxieme ligne." in text
    assert digest == hashlib.sha256(data).hexdigest()


def test_a_text_file_is_taken_as_utf8_without_bom_or_crlf():
    text, _ = extract_text("communique.txt", "\ufeffLigne un\r\nLigne deux — œuvre\r\n".encode())
    assert text == "Ligne un\nLigne deux — œuvre\n"


def test_markdown_is_taken_as_it_is():
    assert extract_text("article.md", "# Titre\n\nTexte.\n".encode())[0] == "# Titre\n\nTexte.\n"


def test_a_pdf_without_text_is_refused_with_a_reason():
    with pytest.raises(UploadError, match="ne contient pas de texte.*scanné"):
        extract_text("scan.pdf", blank_pdf())


def test_a_file_named_pdf_that_is_not_one_is_refused():
    with pytest.raises(UploadError, match="ce n'est pas un PDF"):
        extract_text("faux.pdf", b"<html>pas un pdf</html>")


def test_a_damaged_pdf_is_refused_not_crashed_on():
    with pytest.raises(UploadError, match="PDF illisible|ne contient pas de texte"):
        extract_text("abime.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")


def test_other_formats_are_refused():
    with pytest.raises(UploadError, match="format non pris en charge"):
        extract_text("tableau.xlsx", b"PK\x03\x04...")


def test_text_that_is_not_utf8_names_its_line():
    with pytest.raises(UploadError, match="UTF-8 \\(ligne 2\\)"):
        extract_text("latin1.txt", "première ligne\n".encode() + "deuxième".encode("latin-1"))


def test_an_empty_or_oversized_file_is_refused():
    with pytest.raises(UploadError, match="fichier vide"):
        extract_text("vide.txt", b"")
    with pytest.raises(UploadError, match="trop gros"):
        extract_text("gros.txt", b"a" * 2000, limit=1000)
