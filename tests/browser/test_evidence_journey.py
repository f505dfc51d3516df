"""The evidence assistant, in a real browser: a scanned deliberation becomes a status change.

Julie (journalist) uploads a scanned deliberation — a PDF with no text layer, read by French OCR —
and Étienne (editor) publishes it. Julie opens "Passages à examiner": kb suggests, for the promise
on pellets, the passage that moves it; one click opens the status form with the passage and the
document's date; she sends it, Étienne approves it, and the promise's public page quotes the scan.
"""

import re

from playwright.sync_api import expect

from ..pdfs import scanned_pdf
from .conftest import watch_failures
from .test_newsroom_journey import ETIENNE, JULIE, log_in, log_out, newsroom_server  # noqa: F401 — a site of its own for this module
PROMISE_ID = "mel-achat-groupe-pellets"
SCANNED = ["La commune adhere au groupement de commandes", "pour l'achat de pellets a l'echelle metropolitaine,", "pour le chauffage des ecoles."]
TIMEOUT = 60_000  # OCR of a page, then a publication


def approve(page, site, summary) -> None:
    page.get_by_role("link", name="Relecture").first.click()
    page.get_by_role("link", name=re.compile(re.escape(summary))).first.click()
    page.get_by_role("button", name="Approuver et publier").click()
    expect(page.locator(".facts .state")).to_have_text("publiée", timeout=TIMEOUT)


def test_a_scanned_deliberation_becomes_a_status_change_through_a_suggested_passage(newsroom_server, page, screenshot, tmp_path):
    site = newsroom_server
    failures = watch_failures(page)
    scan = tmp_path / "deliberation-pellets-scannee.pdf"
    scan.write_bytes(scanned_pdf(*SCANNED))

    # 1. Julie uploads the scan; its text is read by OCR; she sends the new source for review.
    log_in(page, site, JULIE)
    page.get_by_role("link", name="Nouvelle source").click()
    page.locator("#title").fill("Délibération sur l'achat groupé de pellets")
    page.locator("#publisher").fill("Ville de Lomme")
    page.locator("#kind").select_option("deliberation")
    page.locator("#date").fill("2025-06-30")
    page.locator("#file").set_input_files(str(scan))
    page.get_by_role("button", name="Enregistrer et envoyer en relecture").click()
    expect(page.locator(".flash")).to_contain_text("Demande envoyée en relecture", timeout=TIMEOUT)
    log_out(page, site)

    # 2. Étienne publishes it.
    log_in(page, site, ETIENNE)
    approve(page, site, "Nouvelle source : Délibération sur l'achat groupé de pellets")
    log_out(page, site)

    # 3. Julie opens the passages to examine: the pellets promise is there, with the scan's sentence.
    log_in(page, site, JULIE)
    page.get_by_role("link", name="Sources et passages").click()
    page.locator("li", has_text="Délibération sur l'achat groupé de pellets").get_by_role("link", name="Passages à examiner").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Passages à examiner")
    section = page.locator(f"#promise-{PROMISE_ID}")
    expect(section).to_contain_text("achat de pellets")
    screenshot(page, "passages-a-examiner")
    section.get_by_role("link", name="Citer dans un nouveau statut").first.click()

    # 4. The status form holds the passage and the document's date; she picks the status and sends it.
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouveau statut")
    expect(page.locator("#quote-0")).to_have_value(re.compile("achat de pellets"))
    expect(page.locator("#date")).to_have_value("2025-06-30")
    expect(page.locator(".quote-check").first).to_contain_text("citation trouvée", timeout=TIMEOUT)
    page.locator("#status").select_option("in_progress")
    page.locator("#note").fill("La commune rejoint le groupement de commandes de pellets.")
    page.get_by_role("button", name="Enregistrer et envoyer en relecture").click()
    expect(page.locator(".flash")).to_contain_text("Demande envoyée en relecture", timeout=TIMEOUT)
    log_out(page, site)

    # 5. Étienne approves: the public page says "en cours" and quotes the scan.
    log_in(page, site, ETIENNE)
    approve(page, site, "Étudier un achat groupé de pellets")
    page.goto(f"{site}/promesses/{PROMISE_ID}")
    expect(page.locator(".badge").first).to_contain_text("en cours")
    expect(page.locator("section[aria-labelledby=historique]")).to_contain_text("achat de pellets")
    screenshot(page, "pellets-statut-publie")
    assert failures == []
