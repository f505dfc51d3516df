"""kb build: the public site as files whose links work from any static server."""

import re
from pathlib import Path

import pytest

from kb.ops.cli import main
from kb.web import create_app
from kb.web.static_build import BuildError, build_site

from .conftest import DEMO_CONTENT

LINK = re.compile(r'(?:href|src|action)="([^"#]*)(?:#[^"]*)?"')


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("build")
    app = create_app({"TESTING": True, "CONTENT_DIR": str(DEMO_CONTENT), "INSTANCE_DIR": str(root / "instance")})
    report = build_site(app, root / "site", "https://promesses.example.org/", live_url="https://kb.example.org")
    return root / "site", report


def test_every_public_page_feed_api_document_and_the_csv_is_written(site):
    out, report = site
    assert report.failures == []
    for path in (
        "index.html",
        "promesses/index.html",
        "promesses/aubry-mutualisation-lille-lomme-hellemmes/index.html",
        "promesses/aubry-mutualisation-lille-lomme-hellemmes.atom",
        "sources/mediacites-aubry-mutualisation-2026/index.html",
        "elus/martine-aubry/index.html",
        "api/promises/aubry-mutualisation-lille-lomme-hellemmes.json",
        "api/sources/mediacites-aubry-mutualisation-2026.json",
        "export/promises.csv",
        "affirmations/index.html",
        "affirmations/mel-25-actions-mutualisation-depuis-2015/index.html",
        "affirmations.atom",
        "api/claims.json",
        "api/claims/mel-25-actions-mutualisation-depuis-2015.json",
        "export/claims.csv",
        "sitemap.xml",
        "statuts.css",
        "static/kb.css",
        "static/fonts/source-sans-3-latin-400-normal.woff2",  # named by kb.css, not by a page
        "integrer/promesses/aubry-mutualisation-lille-lomme-hellemmes/index.html",  # the cards articles frame
        "integrer/elus/martine-aubry/index.html",
        "integrer/suivis/lille-2020-2026/index.html",
        "static/embed.css",
    ):
        assert (out / path).is_file(), path
    assert len(list(out.glob("promesses/index--status-partial-*.html"))) == 1
    assert len(list(out.glob("flux--made-by-martine-aubry-*.atom"))) == 1
    assert len(list(out.glob("affirmations/index--verdict-needs-context-*.html"))) == 1


def test_every_link_of_every_page_leads_to_a_built_file_or_the_live_site(site):
    out, _ = site
    for page in out.rglob("*.html"):
        for link in LINK.findall(page.read_text(encoding="utf-8")):
            if link.startswith("https://") or not link:
                continue  # the live site (search, newsroom), an external source, or "#" in the page
            assert not link.startswith("/"), (page, link)
            assert (page.parent / link).resolve().is_file(), (page.relative_to(out), link)


def test_search_links_to_the_live_site(site):
    out, _ = site
    assert 'action="https://kb.example.org/recherche"' in (out / "index.html").read_text(encoding="utf-8")


def test_canonical_urls_use_the_public_address(site):
    out, _ = site
    assert "https://promesses.example.org/promesses/" in (out / "sitemap.xml").read_text(encoding="utf-8")


def test_a_directory_that_is_not_a_build_is_never_replaced(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("irremplaçable", encoding="utf-8")
    app = create_app({"TESTING": True, "CONTENT_DIR": str(DEMO_CONTENT), "INSTANCE_DIR": str(tmp_path / "i")})
    with pytest.raises(BuildError, match="n'est pas une construction"):
        build_site(app, precious, "https://x.org/")
    assert (precious / "thesis.txt").read_text(encoding="utf-8") == "irremplaçable"


def test_kb_build_rebuilds_over_its_own_previous_build(runner, tmp_path):
    target = tmp_path / "site"
    args = ["build", str(target), "--content", str(DEMO_CONTENT)]
    first = runner.invoke(main, args, env={"KB_INSTANCE_DIR": str(tmp_path / "i")})
    second = runner.invoke(main, args, env={"KB_INSTANCE_DIR": str(tmp_path / "i")})
    assert first.exit_code == 0 and second.exit_code == 0, second.output
    assert "pages HTML" in second.output and (target / "index.html").is_file()
    assert not [path for path in Path(tmp_path).iterdir() if path.name.startswith(".site.")]


def test_building_on_several_processes_gives_the_same_site(tmp_path):
    app = create_app({"TESTING": True, "CONTENT_DIR": str(DEMO_CONTENT), "INSTANCE_DIR": str(tmp_path / "i")})
    build_site(app, tmp_path / "one", "https://x.org/", processes=1)
    build_site(app, tmp_path / "two", "https://x.org/", processes=2)
    files = sorted(path.relative_to(tmp_path / "one") for path in (tmp_path / "one").rglob("*") if path.is_file())
    assert files == sorted(path.relative_to(tmp_path / "two") for path in (tmp_path / "two").rglob("*") if path.is_file())
    for name in files:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_the_pages_a_build_renders_are_not_logged_as_visits(content_dir, tmp_path, caplog):
    app = create_app({"CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "instance")})
    with caplog.at_level("INFO", logger="kb"):
        build_site(app, tmp_path / "site", "https://promesses.example.org/", processes=1)
    assert [record for record in caplog.records if getattr(record, "event", None) == "request"] == []
