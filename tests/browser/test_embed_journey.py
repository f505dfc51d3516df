"""A newsroom's article on another site frames kb's cards: they show, fit the frame, and other pages refuse."""

import pytest

from .conftest import serving, watch_failures

AUBRY = "aubry-mutualisation-lille-lomme-hellemmes"


def article_site(kb_url: str):
    """A news site of another origin whose article frames a promise card, a person card, and (wrongly) a whole page."""

    def app(environ, start_response):
        body = f"""<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Article</title></head><body>
<h1>Mutualisation : où en est la promesse ?</h1>
<iframe id="carte" src="{kb_url}/integrer/promesses/{AUBRY}" title="La promesse" width="560" height="240" style="width:100%;max-width:560px;border:0"></iframe>
<iframe id="elu" src="{kb_url}/integrer/elus/martine-aubry" title="L'élue" width="560" height="250" style="width:100%;max-width:560px;border:0"></iframe>
<iframe id="page" src="{kb_url}/promesses/{AUBRY}" title="La page" width="560" height="240"></iframe>
</body></html>"""
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body.encode()]

    return app


@pytest.fixture
def article(live_server):
    with serving(article_site(live_server)) as url:
        yield url.replace("127.0.0.1", "localhost")  # another origin than kb's 127.0.0.1


def frame_at(page, path: str):
    return next(frame for frame in page.frames if path in frame.url)


def test_an_article_on_another_site_shows_the_cards_and_not_the_pages(page, article, screenshot):
    failures = watch_failures(page)
    page.goto(article)
    page.wait_for_load_state("networkidle")
    card = frame_at(page, "/integrer/promesses/")
    assert card.locator("h1").inner_text() == "Approfondir la mutualisation entre Lille, Lomme et Hellemmes"
    assert card.locator(".badge").first.inner_text().endswith("en partie réalisée")
    assert card.locator(".back a").get_attribute("target") == "_blank"
    person = frame_at(page, "/integrer/elus/")
    assert person.locator("svg.report-bar").count() == 1
    # The whole page refuses the frame: the browser shows its own error instead.
    refused = page.frame_locator("#page").locator("body")
    assert "Historique" not in refused.inner_text()
    assert any(frame.url.startswith("chrome-error://") for frame in page.frames)
    screenshot(page, "embed-article")
    assert failures == []


def test_a_card_fits_a_narrow_frame_without_scrolling_sideways(page, article):
    page.set_viewport_size({"width": 320, "height": 700})
    page.goto(article)
    page.wait_for_load_state("networkidle")
    for path in ("/integrer/promesses/", "/integrer/elus/"):
        frame = frame_at(page, path)
        width, scroll = frame.evaluate("[document.documentElement.clientWidth, document.documentElement.scrollWidth]")
        assert scroll <= width, (path, width, scroll)
        assert frame.locator(".back a").is_visible(), path  # the way back stays in sight
