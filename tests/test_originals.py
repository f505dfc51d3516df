"""The original of an uploaded source is archived under its fingerprint and downloadable from its page."""

import hashlib

from kb.content.check import ORPHAN, check_tree
from kb.content.tree import read_tree
from kb.ops.cli import main

from .pdfs import pdf_with_pages
from .test_newsroom_pages import change_number


def add_source(runner, content_dir, path, source_id="deliberation-paginee"):
    result = runner.invoke(
        main,
        ["source", "add", str(path), "--id", source_id, "--title", "Délibération paginée", "--publisher", "Ville de Lille",
         "--kind", "deliberation", "--date", "2026-02-03", "--content", str(content_dir)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_kb_source_add_archives_the_original_and_the_page_offers_it(runner, content_dir, client):
    pdf = content_dir.parent / "deliberation.pdf"
    pdf.write_bytes(pdf_with_pages(["Article premier."], ["Article 2."]))
    add_source(runner, content_dir, pdf)
    digest = hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert (content_dir / "originals" / f"{digest}.pdf").read_bytes() == pdf.read_bytes()
    page = client.get("/sources/deliberation-paginee").get_data(as_text=True)
    assert 'href="/sources/deliberation-paginee/original.pdf" download>Télécharger le fichier (PDF, 1 Ko)</a>' in page
    response = client.get("/sources/deliberation-paginee/original.pdf")
    assert response.status_code == 200 and response.data == pdf.read_bytes()
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment") and "deliberation-paginee.pdf" in response.headers["Content-Disposition"]


def test_a_saved_web_page_is_downloaded_never_shown(runner, content_dir, client):
    page = content_dir.parent / "article.html"
    page.write_bytes(b"<html><body><article><p>La mutualisation avance bien.</p><script>alert(1)</script></article></body></html>")
    add_source(runner, content_dir, page, "article-web")
    response = client.get("/sources/article-web/original.html")
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_static_build_offers_a_pdf_original_but_never_a_saved_web_page(runner, content_dir, tmp_path):
    pdf = content_dir.parent / "deliberation.pdf"
    pdf.write_bytes(pdf_with_pages(["Article premier."]))
    add_source(runner, content_dir, pdf)
    page = content_dir.parent / "article.html"
    page.write_bytes(b"<html><body><article><p>La mutualisation avance bien.</p><script>alert(1)</script></article></body></html>")
    add_source(runner, content_dir, page, "article-web")
    out = tmp_path / "site"
    result = runner.invoke(main, ["build", str(out), "--content", str(content_dir)])
    assert result.exit_code == 0, result.output
    assert (out / "sources" / "deliberation-paginee" / "original.pdf").read_bytes() == pdf.read_bytes()
    assert not list((out / "sources" / "article-web").rglob("original*"))
    assert "original.html" not in (out / "sources" / "article-web" / "index.html").read_text(encoding="utf-8")


def test_no_original_no_link_and_a_404(client):
    assert "original." not in client.get("/sources/deliberation-test").get_data(as_text=True)
    assert client.get("/sources/deliberation-test/original.pdf").status_code == 404


def test_the_newsroom_upload_archives_the_original_published_with_its_source(newsroom, content_dir):
    from .test_newsroom_pages import upload

    data = pdf_with_pages(["Le conseil approuve la convention."])
    journalist = newsroom.client("journalist")
    number = change_number(upload(newsroom, journalist, "convention.pdf", data, then="submit"))
    digest = hashlib.sha256(data).hexdigest()
    assert (content_dir / "originals" / f"{digest}.pdf").exists()
    # Not yet published: an original nobody's source names, which kb check points out.
    assert any(problem.message == ORPHAN for problem in check_tree(read_tree(content_dir)).problems)
    response = newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{number}/approve")
    assert response.status_code == 302
    assert not any(problem.message == ORPHAN for problem in check_tree(read_tree(content_dir)).problems)
    download = newsroom.app.test_client().get("/sources/deliberation-du-3-fevrier-2026/original.pdf")
    assert download.status_code == 200 and download.data == data
