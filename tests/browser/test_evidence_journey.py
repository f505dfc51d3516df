"""The evidence assistant, in a real browser: a scanned deliberation becomes a status change.

Julie (journalist) uploads a scanned deliberation — a PDF with no text layer, read by French OCR —
and Étienne (editor) publishes it. Julie opens "Passages à examiner": kb suggests, for the promise
on pellets, the passage that moves it; one click opens the status form with the passage and the
document's date; she sends it, Étienne approves it, and the promise's public page quotes the scan.
"""

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from kb.store.accounts import add_user
from kb.web import create_app

from ..conftest import DEMO_CONTENT, own_database
from ..pdfs import scanned_pdf
from .conftest import serving, watch_failures
from .test_newsroom_journey import log_in, log_out

JULIE = ("julie@redaction.fr", "mot-de-passe-julie")
ETIENNE = ("etienne@redaction.fr", "mot-de-passe-etienne")
PROMISE_ID = "mel-achat-groupe-pellets"
SCANNED = ["La commune adhere au groupement de commandes", "pour l'achat de pellets a l'echelle metropolitaine,", "pour le chauffage des ecoles."]
TIMEOUT = 60_000  # OCR of a page, then a publication


@pytest.fixture(scope="module")
def evidence_server(tmp_path_factory, postgres_admin):
    root = tmp_path_factory.mktemp("evidence")
    content = Path(shutil.copytree(DEMO_CONTENT, root / "content"))
    config = {"CONTENT_DIR": str(content), "INSTANCE_DIR": str(root / "instance"), "CONTENT_RECHECK_SECONDS": 0}
    with own_database(postgres_admin, root / "kb.sqlite3") as database_url:
        app = create_app({**config, "DATABASE_URL": database_url})
        with app.extensions["kb.db"]() as session:
            add_user(session, JULIE[0], JULIE[1], "journalist", "Julie Journaliste")
            add_user(session, ETIENNE[0], ETIENNE[1], "editor", "Étienne Éditeur")
        with serving(app) as url:
            yield url, root


def approve(page, site, summary) -> None:
    page.get_by_role("link", name="Relecture").first.click()
    page.get_by_role("link", name=re.compile(re.escape(summary))).first.click()
    page.get_by_role("button", name="Approuver et publier").click()
    expect(page.locator(".facts .state")).to_have_text("publiée", timeout=TIMEOUT)


def test_a_scanned_deliberation_becomes_a_status_change_through_a_suggested_passage(evidence_server, page, screenshot):
    site, root = evidence_server
    failures = watch_failures(page)
    scan = root / "deliberation-pellets-scannee.pdf"
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
