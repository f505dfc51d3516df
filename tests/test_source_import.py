"""Uploaded documents become source text: every format a council publishes, pages kept, paragraphs
joined back, a hostile file refused within its budget; errors said plainly."""

import hashlib
import io
import time
import zipfile

import pytest

from kb.documents.extract import Budget, UploadError, read_document
from kb.documents.formats import Limits

from .pdfs import blank_pdf, hostile_pdf, pdf_with_pages, pdf_with_text, scanned_pdf


def docx(*paragraphs: str, page_break_before: int | None = None) -> bytes:
    """A Word document as Word writes its main part (the other parts do not hold text)."""
    body = []
    for number, paragraph in enumerate(paragraphs):
        runs = [f'<w:r><w:t xml:space="preserve">{part}</w:t></w:r>' for part in paragraph.split("|")]
        if number == page_break_before:
            runs.insert(0, "<w:r><w:lastRenderedPageBreak/></w:r>")
        body.append(f"<w:p>{''.join(runs)}</w:p>")
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{''.join(body)}</w:body></w:document>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        archive.writestr("word/document.xml", document)
    return out.getvalue()


def odt(*paragraphs: str, page_break_before: int | None = None) -> bytes:
    """An OpenDocument text written by odfpy, as LibreOffice would save it."""
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P, SoftPageBreak, Span

    document = OpenDocumentText()
    for number, paragraph in enumerate(paragraphs):
        if number == page_break_before:
            document.text.addElement(SoftPageBreak())
        element = H(outlinelevel=1) if number == 0 else P()
        head, _, rest = paragraph.partition("|")
        element.addText(head)
        if rest:
            element.addElement(Span(text=rest))
        document.text.addElement(element)
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


# -- PDF ------------------------------------------------------------------------------------------


def test_a_pdf_gives_its_text_and_the_originals_sha256():
    data = pdf_with_text("Le conseil approuve la mutualisation.", "Deuxieme ligne.")
    document = read_document("deliberation.pdf", data)
    assert "Le conseil approuve la mutualisation." in document.text and "Deuxieme ligne." in document.text
    assert document.sha256 == hashlib.sha256(data).hexdigest()
    assert document.kind == "pdf" and document.ocr_pages == ()


def test_a_pdf_keeps_its_pages_separated_by_a_form_feed():
    document = read_document("deliberation.pdf", pdf_with_pages(["Article premier."], ["Article 2."], ["Article 3."]))
    assert document.pages == 3
    assert document.text == "Article premier.\n\f\nArticle 2.\n\f\nArticle 3.\n"


def test_lines_broken_by_the_layout_become_one_paragraph():
    lines = ["Le conseil municipal approuve le schema de mutualisation des", "services entre la ville et la metropole europeenne de Lille."]
    assert read_document("d.pdf", pdf_with_text(*lines)).text == " ".join(lines) + "\n"


def test_a_word_cut_at_a_line_end_is_joined_back():
    document = read_document("d.pdf", pdf_with_text("Le conseil approuve la mutuali-", "sation des services communs."))
    assert "la mutualisation des services" in document.text


def test_a_compound_cut_at_its_own_hyphen_keeps_it():
    lines = ["Le maire de Villeneuve-", "d'Ascq et Lille-", "Lomme.", "La réunion de l'après-", "midi, au rez-de-", "chaussée, après le repas."]
    text = read_document("d.pdf", pdf_with_text(*lines)).text
    assert "Villeneuve-d'Ascq" in text and "Lille-Lomme." in text
    assert "l'après-midi, au rez-de-chaussée" in text  # "après" and "de" are words of the document: compounds


def test_a_scanned_pdf_is_read_by_french_ocr():
    document = read_document("scan.pdf", scanned_pdf("Le conseil approuve la mutualisation", "des services de la commune."))
    assert document.ocr_pages == (1,)
    assert "Le conseil approuve la mutualisation des services de la commune." in document.text


def test_a_pdf_without_any_text_even_by_ocr_is_refused_with_a_reason():
    with pytest.raises(UploadError, match="ne contient pas de texte, même par reconnaissance"):
        read_document("scan.pdf", blank_pdf())


def test_too_many_scanned_pages_are_refused_before_any_ocr():
    budget = Budget(limits=Limits(ocr_pages=0))
    with pytest.raises(UploadError, match="1 pages scannées.*plus que les 0"):
        read_document("scan.pdf", blank_pdf(), budget)


def test_a_hostile_pdf_is_refused_in_seconds_not_minutes():
    """200 pages replaying one stream of 300,000 operators: minutes of CPU before the budget existed."""
    started = time.monotonic()
    with pytest.raises(UploadError, match="la page 1 demande trop de calcul"):
        read_document("piege.pdf", hostile_pdf(), Budget(limits=Limits(page_seconds=0.5)))
    assert time.monotonic() - started < 30  # generous: the machine is shared; without a budget, minutes


def test_a_hostile_pdf_hiding_its_cost_in_a_form_object_is_refused_too():
    """pypdf reads form objects under its own `except Exception`: the timer must not be swallowed there."""
    started = time.monotonic()
    with pytest.raises(UploadError, match="la page 1 demande trop de calcul"):
        read_document("piege.pdf", hostile_pdf(form=True), Budget(limits=Limits(page_seconds=0.5)))
    assert time.monotonic() - started < 30


def test_a_document_past_its_time_budget_is_refused_and_its_process_killed():
    with pytest.raises(UploadError, match="trop longue \\(plus de 1 s\\)"):
        read_document("piege.pdf", hostile_pdf(), Budget(seconds=1, limits=Limits(page_seconds=60)))


def test_a_pdf_with_more_pages_than_allowed_is_refused():
    with pytest.raises(UploadError, match="3 pages, plus que les 2"):
        read_document("long.pdf", pdf_with_pages(["a"], ["b"], ["c"]), Budget(limits=Limits(max_pages=2)))


def test_a_file_named_pdf_that_is_not_one_is_refused():
    with pytest.raises(UploadError, match="ce n'est pas un PDF"):
        read_document("faux.pdf", b"<html>pas un pdf</html>")


def test_a_damaged_pdf_is_refused_not_crashed_on():
    with pytest.raises(UploadError, match="PDF illisible|ne contient pas de texte"):
        read_document("abime.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")


# -- Word, OpenDocument, web pages ----------------------------------------------------------------


def test_a_word_document_gives_its_paragraphs():
    document = read_document("deliberation.docx", docx("Délibération n° 22/58", "Le conseil |approuve le schéma."))
    assert document.kind == "docx"
    assert document.text == "Délibération n° 22/58\n\nLe conseil approuve le schéma.\n"


def test_a_word_document_keeps_the_pages_word_laid_out():
    text = read_document("d.docx", docx("Page un.", "Page deux.", page_break_before=1)).text
    assert text == "Page un.\n\f\nPage deux.\n"


def test_an_opendocument_text_gives_its_headings_and_paragraphs_and_pages():
    document = read_document("deliberation.odt", odt("Délibération", "Le conseil |approuve.", "Article 2.", page_break_before=2))
    assert document.kind == "odt"
    assert document.text == "Délibération\n\nLe conseil approuve.\n\f\nArticle 2.\n"


def test_an_opendocument_whose_type_would_expand_without_end_is_refused_unread():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", b"a" * (50 * 1024 * 1024))  # read in the server's own process: never whole
        archive.writestr("content.xml", b"<x/>")
    with pytest.raises(UploadError, match="archive OpenDocument abîmée"):
        read_document("bombe.odt", out.getvalue())


def test_an_encrypted_or_odd_archive_is_refused_not_crashed_on():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("mimetype", b"application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", b"<x/>")
    data = bytearray(out.getvalue())
    data[6] |= 0x01  # the first entry says it is encrypted, in its header and in the archive's directory
    directory = data.find(b"PK\x01\x02")
    data[directory + 8] |= 0x01
    with pytest.raises(UploadError, match="bombe.odt : fichier abîmé"):
        read_document("bombe.odt", bytes(data))


def test_an_opendocument_page_break_inside_a_paragraph_splits_it_there():
    from odf.opendocument import OpenDocumentText
    from odf.text import P, SoftPageBreak

    document = OpenDocumentText()
    paragraph = P(text="Fin de la page un,")
    paragraph.addElement(SoftPageBreak())
    paragraph.addText(" début de la page deux.")
    document.text.addElement(paragraph)
    out = io.BytesIO()
    document.write(out)
    assert read_document("d.odt", out.getvalue()).text == "Fin de la page un,\n\f\ndébut de la page deux.\n"


def test_a_markdown_file_mentioning_the_pdf_header_stays_text():
    text = "# Note\n\nUn fichier PDF commence par « %PDF- ».\n"
    assert read_document("note.md", text.encode()).text == text


def test_a_zip_bomb_in_a_word_document_is_refused_before_it_expands():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<" + b" " * (300 * 1024 * 1024) + b">")
    with pytest.raises(UploadError, match="se décompresse en 315 Mo"):
        read_document("bombe.docx", out.getvalue())


def test_a_saved_web_page_gives_its_article_without_menus_or_scripts():
    page = (
        b'<!doctype html><html><head><meta charset="windows-1252"><title>Titre</title>'
        b'<script>var x = "menu";</script></head><body><nav><a href="/">Accueil</a></nav>'
        b"<article><h1>La mutualisation avance</h1><p>Le conseil a approuv\xe9 le sch\xe9ma.<p>Deuxi\xe8me paragraphe.</article>"
        b"<footer>Mentions l\xe9gales</footer></body></html>"
    )
    document = read_document("article.html", page)
    assert document.text == "La mutualisation avance\n\nLe conseil a approuvé le schéma.\n\nDeuxième paragraphe.\n"


# -- text -----------------------------------------------------------------------------------------


def test_a_text_file_is_taken_as_utf8_without_bom_or_crlf():
    assert read_document("communique.txt", "\ufeffLigne un\r\nLigne deux — œuvre\r\n".encode()).text == "Ligne un\nLigne deux — œuvre\n"


def test_markdown_is_taken_as_it_is():
    assert read_document("article.md", "# Titre\n\nTexte.\n".encode()).text == "# Titre\n\nTexte.\n"


def test_other_formats_are_refused_with_the_list_of_accepted_ones():
    with pytest.raises(UploadError, match="format non pris en charge \\(PDF.*Word .docx.*OpenDocument .odt"):
        read_document("tableau.xlsx", b"PK\x03\x04...")


def test_text_that_is_not_utf8_names_its_line():
    with pytest.raises(UploadError, match="UTF-8 \\(ligne 2\\)"):
        read_document("latin1.txt", "première ligne\n".encode() + "deuxième".encode("latin-1"))


def test_an_empty_or_oversized_file_is_refused():
    with pytest.raises(UploadError, match="fichier vide"):
        read_document("vide.txt", b"")
    with pytest.raises(UploadError, match="trop gros"):
        read_document("gros.txt", b"a" * 2000, Budget(max_bytes=1000))
