"""The import of a new term's promises, in a real browser: a spreadsheet of 300 rows, three refused, fixed, reviewed, published.

Étienne (editor) uploads an XLSX of 300 campaign promises for the new 2026-2032 tracker; the
preview refuses three rows (an unknown status, an unknown person, a bad date) naming the row and
the column; he fixes them in the sheet, uploads it again and makes one batch request; Paul (another
editor) approves it, and the tracker's public page counts 300 promises "prévue".
"""

import io
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from kb.store.accounts import add_user
from kb.web import create_app

from ..conftest import DEMO_CONTENT, own_database
from .conftest import serving, watch_failures
from .test_newsroom_journey import log_in, log_out

ETIENNE = ("etienne@redaction.fr", "mot-de-passe-etienne")
PAUL = ("paul@redaction.fr", "mot-de-passe-paul")
TRACKER = "lille-2026-2032"
TIMEOUT = 30_000  # 300 files checked, then published at once

NEW_TRACKER = """\
---
title: Lille, mandat 2026-2032
territory: Lille
office: Mairie de Lille
term_start: 2026-03-22
term_end: 2032-03-31
closed: false
---
Les engagements de campagne des municipales de mars 2026, recensés un par un.
"""
NEW_MAYOR = """\
---
name: Arnaud Deslandes
kind: person
party: Parti socialiste (PS)
roles:
  - title: Maire de Lille
    from: 2025-03-21
---
"""
HEADER = ["id", "titre", "suivi", "statut", "auteur_ids", "territoire", "theme", "promis_le", "echeance"]
THEMES = ["Logement", "Transports", "Propreté", "Écoles", "Sport", "Culture"]
# Rows of the sheet (row 1 is the header) that the first upload gets wrong, and how.
WRONG = {51: ("statut", "réalisé"), 121: ("auteur_ids", "arnaud-deslande"), 251: ("promis_le", "32/03/2026")}


def spreadsheet(wrong: bool) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for number in range(1, 301):
        row = {
            "id": f"lille-2026-engagement-{number:03d}", "titre": f"Engagement de campagne n° {number}", "suivi": TRACKER,
            "statut": "prévue", "auteur_ids": "arnaud-deslandes", "territoire": "Lille", "theme": THEMES[number % len(THEMES)],
            "promis_le": "15/03/2026", "echeance": "2032-03-31",
        }  # fmt: skip
        if wrong and number + 1 in WRONG:
            column, value = WRONG[number + 1]
            row[column] = value
        sheet.append([row[column] for column in HEADER])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def import_server(tmp_path_factory, postgres_admin):
    root = tmp_path_factory.mktemp("import")
    content = Path(shutil.copytree(DEMO_CONTENT, root / "content"))
    (content / "trackers" / f"{TRACKER}.md").write_text(NEW_TRACKER, encoding="utf-8")
    (content / "people" / "arnaud-deslandes.md").write_text(NEW_MAYOR, encoding="utf-8")
    config = {"CONTENT_DIR": str(content), "INSTANCE_DIR": str(root / "instance"), "CONTENT_RECHECK_SECONDS": 0}
    with own_database(postgres_admin, root / "kb.sqlite3") as database_url:
        app = create_app({**config, "DATABASE_URL": database_url})
        with app.extensions["kb.db"]() as session:
            add_user(session, ETIENNE[0], ETIENNE[1], "editor", "Étienne Éditeur")
            add_user(session, PAUL[0], PAUL[1], "editor", "Paul Relecteur")
        with serving(app) as url:
            yield url, root


def upload(page: Page, site: str, path: Path) -> None:
    page.goto(site + "/redaction/import")
    page.locator("#file").set_input_files(str(path))
    page.get_by_role("button", name="Voir l'aperçu").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(path.name, timeout=TIMEOUT)


def test_an_editor_imports_a_terms_promises_and_another_publishes_them(import_server, page, screenshot):
    site, root = import_server
    failures = watch_failures(page)
    first, fixed = root / "engagements-2026.xlsx", root / "engagements-2026-corrige.xlsx"
    first.write_bytes(spreadsheet(wrong=True))
    fixed.write_bytes(spreadsheet(wrong=False))

    # 1. Étienne uploads the sheet: 297 rows would be new promises, three are refused with their row and column.
    log_in(page, site, ETIENNE)
    page.get_by_role("link", name="Importer un tableur").click()
    upload(page, site, first)
    counts = page.get_by_role("list", name="Bilan")
    expect(counts).to_contain_text("297 nouvelles")
    expect(counts).to_contain_text("3 refusées")
    errors = page.locator(".import-error")
    expect(errors).to_have_count(3)
    expect(errors.nth(0)).to_contain_text("ligne 51, colonne statut : statut inconnu « réalisé »")
    expect(errors.nth(1)).to_contain_text("ligne 121, colonne auteur_ids : personne inconnue « arnaud-deslande »")
    expect(errors.nth(1)).to_contain_text("vouliez-vous dire « arnaud-deslandes »")
    expect(errors.nth(2)).to_contain_text("ligne 251, colonne promis_le : date invalide « 32/03/2026 »")
    screenshot(page, "import-apercu-refus")

    # 2. He fixes the three rows in the sheet and uploads it again: 300 new, none refused; one request.
    page.get_by_role("link", name="Importer un autre fichier").click()
    upload(page, site, fixed)
    expect(counts).to_contain_text("300 nouvelles")
    expect(counts).to_contain_text("0 refusée")
    page.get_by_role("button", name="Créer la demande (300 fiches)").click()
    expect(page.locator(".flash")).to_contain_text("Demande d'import créée : 300 fiches", timeout=TIMEOUT)
    number = re.search(r"/redaction/demandes/(\d+)$", page.url).group(1)
    expect(page.locator(".facts")).to_contain_text("300 nouvelles")
    page.get_by_role("button", name="Envoyer en relecture").click()
    expect(page.locator(".facts .state")).to_have_text("en relecture", timeout=TIMEOUT)
    log_out(page, site)

    # 3. Paul, another editor, finds it in his queue, reads a diff per file, and approves: all 300 are published at once.
    log_in(page, site, PAUL)
    page.get_by_role("link", name="Relecture").first.click()
    page.get_by_role("link", name=re.compile("Import de « engagements-2026-corrige.xlsx »")).click()
    expect(page).to_have_url(f"{site}/redaction/demandes/{number}")
    expect(page.locator("details.batch-file")).to_have_count(50)
    expect(page.locator(".pagination")).to_contain_text("Fiches 1 à 50 sur 300")
    page.get_by_role("button", name="Approuver et publier").click()
    expect(page.locator(".facts .state")).to_have_text("publiée", timeout=TIMEOUT)

    # 4. The new tracker's public page counts 300 promises, all "prévue".
    page.goto(f"{site}/suivis/{TRACKER}")
    expect(page.locator("#bilan")).to_have_text("Le bilan : 300 promesses")
    scorecard = page.locator("ul.counts li")
    expect(scorecard).to_have_count(1)
    expect(scorecard).to_contain_text("prévue")
    expect(scorecard).to_contain_text("300")
    expect(page.locator("#liste")).to_contain_text("300 promesses")
    expect(page.locator("ul.promises > li")).to_have_count(50)  # the first page of the list
    screenshot(page, "import-suivi-publie")
    assert failures == []
