"""A citizen, in a real browser: home, filtered list, a promise, its evidence in the source."""

import re

from playwright.sync_api import expect


def test_a_citizen_follows_a_promise_to_the_quoted_passage(live_server, page, screenshot):
    page.goto(live_server + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Les promesses sont-elles tenues ?")
    expect(page.locator(".counts")).to_contain_text("en partie réalisée")
    screenshot(page, "1-accueil")

    page.get_by_role("link", name="Toutes les promesses, avec filtres →").click()
    page.locator(".facets").get_by_role("link", name=re.compile("^en partie réalisée")).click()
    expect(page).to_have_url(re.compile(r"/promesses\?status=partial$"))
    expect(page.locator("#liste")).to_have_text("1 promesse")
    screenshot(page, "2-liste-filtree")

    page.get_by_role("link", name="Approfondir la mutualisation entre Lille, Lomme et Hellemmes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Approfondir la mutualisation entre Lille, Lomme et Hellemmes")
    expect(page.locator(".verdict")).to_contain_text("en partie réalisée")
    expect(page.locator(".reply")).to_contain_text("La Ville de Lille précise")
    screenshot(page, "3-promesse")

    quote = page.locator("blockquote", has_text="unification de la paie")
    quote.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/sources/mediacites-aubry-mutualisation-2026#citation-"))
    anchor = page.url.split("#", 1)[1]
    marked = page.locator(f"#{anchor} + mark")
    expect(marked).to_contain_text("unification de la paie entre Lille, Lomme et Hellemmes")
    expect(marked).to_be_in_viewport()
    screenshot(page, "4-source-passage-surligne")


def test_a_citizen_searches_with_a_typo_and_narrows_by_status(live_server, page, screenshot):
    page.goto(live_server + "/")
    page.get_by_label("Chercher une promesse, une vérification, un élu, un document").fill("mutualistion")
    page.get_by_label("Chercher une promesse, une vérification, un élu, un document").press("Enter")
    page.get_by_role("link", name="mutualisation").first.click()
    expect(page.locator("#resultats")).to_contain_text("résultats")
    page.locator(".facets").get_by_role("link", name=re.compile("^réalisée")).click()
    expect(page.locator(".hits mark").first).to_be_visible()
    expect(page.locator(".hits .badge").first).to_have_text("réalisée")
    screenshot(page, "5-recherche")


def test_pages_work_at_phone_width_without_horizontal_scroll(live_server, browser):
    context = browser.new_context(locale="fr-FR", viewport={"width": 375, "height": 800})
    page = context.new_page()
    for path in (
        "/", "/promesses", "/promesses/aubry-mutualisation-lille-lomme-hellemmes", "/recherche?q=mutualisation",
        "/affirmations", "/affirmations/mel-25-actions-mutualisation-depuis-2015",
    ):  # fmt: skip
        page.goto(live_server + path)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), path
    context.close()
