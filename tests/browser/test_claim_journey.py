"""Fact-checks in a real browser: a citizen reads a verdict and its evidence; a verdict change goes through review.

Acceptance test of claims: a citizen filters the fact-checks by verdict, reads the claim beside
what the documents say and follows an evidence link to the highlighted passage. Then Julie
(journalist) proposes a new verdict with one more quote, checked as she types; Étienne (editor)
reads the diff (verdicts by their labels) and approves; the public page, its change record and
the search by verdict show it at once.
"""

import re

from playwright.sync_api import expect

from .conftest import watch_failures
from .test_newsroom_journey import ETIENNE, JULIE, TIMEOUT, expect_state, log_in, log_out, newsroom_server  # noqa: F401

CLAIM_ID = "mel-25-actions-mutualisation-depuis-2015"
CLAIM_TITLE = "« 25 actions de mutualisation déployées depuis 2015 » : un décompte à nuancer face aux « 18 dispositifs » de 2022"
SOURCE_ID = "villeneuve-dascq-deliberation-mutualisation-2022"
NEW_QUOTE = "près de 60 agents de la MEL et de certaines communes"
EXPLANATION = "Relecture : le rapport de 2022 chiffre aussi les moyens engagés, près de 60 agents."


def test_a_citizen_reads_a_verdict_beside_its_evidence(live_server, page, screenshot):
    page.goto(live_server + "/")
    latest = page.locator("section[aria-labelledby=verifications]")
    expect(latest.get_by_role("heading", name="Dernières vérifications")).to_be_visible()
    latest.get_by_role("link", name=re.compile(r"^Les \d+ vérifications")).click()
    page.locator(".facets").get_by_role("link", name=re.compile("^à nuancer")).click()
    expect(page).to_have_url(re.compile(r"/affirmations\?verdict=needs_context$"))
    expect(page.locator("ul.promises .badge").first).to_have_text("à nuancer")

    page.get_by_role("link", name=CLAIM_TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CLAIM_TITLE)
    expect(page.locator(".verdict .badge")).to_have_text("à nuancer")
    claimed, evidence = page.locator(".side-by-side .claim-column"), page.locator(".side-by-side .evidence-column")
    expect(claimed.locator("blockquote")).to_contain_text("25 actions de mutualisation ont été déployées depuis 2015")
    # Side by side on a wide screen: the evidence column starts level with the claim's.
    assert abs(claimed.bounding_box()["y"] - evidence.bounding_box()["y"]) < 2
    assert evidence.bounding_box()["x"] > claimed.bounding_box()["x"] + 200
    screenshot(page, "9-verification")

    evidence.locator("blockquote", has_text="Depuis 2015, 18 dispositifs").get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/sources/{SOURCE_ID}#affirmation-{CLAIM_ID}-evidence-\d+$"))
    anchor = page.url.split("#", 1)[1]
    # A promise quotes the same passage: both anchors stand before its mark.
    marked = page.locator(f"xpath=//span[@id='{anchor}']/following-sibling::mark[1]")
    expect(marked).to_contain_text("Depuis 2015, 18 dispositifs ont été déployés")
    expect(marked).to_be_in_viewport()
    expect(page.locator("section[aria-labelledby=verifications]")).to_contain_text(CLAIM_TITLE)


def test_a_verdict_change_goes_from_journalist_to_editor_to_the_public_page(newsroom_server, page, screenshot):
    site = newsroom_server
    request_url = re.compile(re.escape(site) + r"/redaction/demandes/(\d+)$")
    failures = watch_failures(page)

    # 1. Julie proposes "trompeur", adds a quote (checked as she types) and rewrites the explanation.
    log_in(page, site, JULIE)
    page.get_by_role("navigation", name="Rédaction").get_by_role("link", name="Vérifications").click()
    card = page.locator("ul.promises li", has=page.get_by_role("heading", name=CLAIM_TITLE))
    card.get_by_role("link", name="Changer le verdict ou modifier").click()
    expect(page).to_have_url(f"{site}/redaction/affirmations/{CLAIM_ID}/modifier")
    expect(page.locator("#claim-quote")).to_have_value("25 actions de mutualisation ont été déployées depuis 2015")
    expect(page.locator("#claim-quote ~ output.quote-check")).to_contain_text("citation trouvée", timeout=TIMEOUT)

    page.locator("#verdict").select_option("misleading")
    row = page.locator("textarea[name=evidence_quote]").count() - 1  # the form ends with an empty row
    expect(page.locator(f"#quote-{row}")).to_have_value("")
    page.locator(f"#source-{row}").select_option(SOURCE_ID)
    check = page.locator(f"#quote-{row} ~ output.quote-check")
    page.locator(f"#quote-{row}").press_sequentially("près de 600 agents")
    expect(check).to_contain_text("introuvable", timeout=TIMEOUT)
    page.locator(f"#quote-{row}").fill("")
    page.locator(f"#quote-{row}").press_sequentially(NEW_QUOTE)
    expect(check).to_contain_text("citation trouvée", timeout=TIMEOUT)
    page.locator(f"#note-{row}").fill("Les moyens humains des 18 dispositifs.")
    page.locator("#body").fill(page.locator("#body").input_value() + "\n\n" + EXPLANATION)
    page.get_by_role("button", name="Enregistrer et envoyer en relecture").click()
    expect(page).to_have_url(request_url)
    request_path = page.url.removeprefix(site)
    expect_state(page, "en relecture")
    log_out(page, site)

    # 2. Étienne reads the diff — the verdict by its labels, the new quote — and approves.
    log_in(page, site, ETIENNE)
    page.goto(site + "/redaction/relecture")
    page.get_by_role("link", name=re.compile("trompeur$")).click()
    expect(page).to_have_url(site + request_path)
    diff = page.locator(".diff")
    expect(diff.locator("del", has_text="à nuancer").first).to_be_visible()
    expect(diff.locator("ins", has_text="trompeur").first).to_be_visible()
    expect(diff.locator("ins", has_text="près de 60 agents").first).to_be_visible()
    screenshot(page, "10-relecture-verdict")
    page.get_by_role("button", name="Approuver et publier").click()
    expect_state(page, "publiée")
    log_out(page, site)

    # 3. The public page shows the new verdict, the new evidence and the change record.
    page.goto(f"{site}/affirmations/{CLAIM_ID}")
    expect(page.locator(".verdict .badge")).to_have_text("trompeur", timeout=TIMEOUT)
    expect(page.locator(".side-by-side .evidence-column")).to_contain_text(NEW_QUOTE)
    expect(page.locator(".analysis")).to_contain_text("chiffre aussi les moyens engagés")
    record = page.locator("section[aria-labelledby=modifications]")
    expect(record).to_contain_text("verdict à nuancer → trompeur")
    expect(record).to_contain_text("approuvé par Étienne Éditeur")
    screenshot(page, "11-verification-publiee")

    # 4. Searching by verdict finds it: the facet counts it under its new label.
    page.goto(site + "/recherche?q=mutualisation")
    page.locator(".facets").get_by_role("link", name=re.compile("^trompeur")).click()
    expect(page).to_have_url(re.compile(r"verdict=misleading"))
    expect(page.locator(".hits li")).to_have_count(1)
    expect(page.locator(".hits")).to_contain_text(CLAIM_TITLE)
    expect(page.locator(".hits .badge")).to_have_text("trompeur")

    assert failures == []
