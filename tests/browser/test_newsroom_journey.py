"""The newsroom, in a real browser: a journalist proposes a status, an editor reviews, the public sees it.

Acceptance test of the newsroom: Julie (journalist) adds a "réalisée" status to a promise with a
quote checked as she types, Étienne (editor) asks for a correction, Julie amends, Étienne approves,
and the public page, its change record and the search show the new status at once.
"""

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kb.store.accounts import add_user
from kb.web import create_app

from ..conftest import DEMO_CONTENT, own_database
from .conftest import serving, watch_failures

PROMISE_ID = "aubry-mutualisation-lille-lomme-hellemmes"
PROMISE_TITLE = "Approfondir la mutualisation entre Lille, Lomme et Hellemmes"
SOURCE_ID = "mediacites-aubry-mutualisation-2026"
QUOTE = "unification de la paie entre Lille, Lomme et Hellemmes"
NOTE = "Le conseil municipal entérine la fusion intégrale des services de paie."
NOTE_AMENDED = NOTE + " Source : Mediacités, janvier 2026."

JULIE = ("julie@redaction.fr", "mot-de-passe-julie")
ETIENNE = ("etienne@redaction.fr", "mot-de-passe-etienne")

# Pages answer in milliseconds; publishing reindexes, so give the assertions some slack.
TIMEOUT = 10_000


@pytest.fixture(scope="module")
def newsroom_server(tmp_path_factory, postgres_admin):
    """A site of its own (publishing writes to its content, its own database), with a journalist and an editor."""
    root = tmp_path_factory.mktemp("newsroom")
    content = Path(shutil.copytree(DEMO_CONTENT, root / "content"))
    config = {"CONTENT_DIR": str(content), "INSTANCE_DIR": str(root / "instance"), "CONTENT_RECHECK_SECONDS": 0}
    with own_database(postgres_admin, root / "kb.sqlite3") as database_url:
        app = create_app({**config, "DATABASE_URL": database_url})
        with app.extensions["kb.db"]() as session:
            add_user(session, "julie@redaction.fr", "mot-de-passe-julie", "journalist", "Julie Journaliste")
            add_user(session, "etienne@redaction.fr", "mot-de-passe-etienne", "editor", "Étienne Éditeur")
        with serving(app) as url:
            yield url


def log_in(page: Page, site: str, account: tuple[str, str]) -> None:
    page.goto(site + "/redaction/connexion")
    page.locator("#email").fill(account[0])
    page.locator("#password").fill(account[1])
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(site + "/redaction/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Rédaction")


def log_out(page: Page, site: str) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(site + "/redaction/connexion")
    expect(page.locator(".flash")).to_have_text("Vous êtes déconnecté.")


def expect_state(page: Page, label: str) -> None:
    expect(page.locator(".facts .state")).to_have_text(label, timeout=TIMEOUT)


def test_a_status_goes_from_journalist_to_editor_to_the_public_page(newsroom_server, page, screenshot):
    site = newsroom_server
    request_url = re.compile(re.escape(site) + r"/redaction/demandes/(\d+)$")
    # Nothing along the way may fail quietly: no server error (the quote check is a background fetch), no script error.
    failures = watch_failures(page)

    # 1. Julie proposes a new status, with a quote the form checks as she types.
    log_in(page, site, JULIE)
    page.goto(site + "/redaction/promesses")
    promise_card = page.locator("ul.promises li", has=page.get_by_role("heading", name=PROMISE_TITLE))
    promise_card.get_by_role("link", name="Nouveau statut").click()
    expect(page).to_have_url(f"{site}/redaction/promesses/{PROMISE_ID}/statut")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nouveau statut")

    page.locator("#date").fill(date.today().isoformat())
    page.locator("#status").select_option("done")
    page.locator("#note").fill(NOTE)
    page.locator("#source-0").select_option(SOURCE_ID)
    check = page.locator("#quote-0 ~ output.quote-check")
    page.locator("#quote-0").press_sequentially("unification des cantines")
    expect(check).to_contain_text("introuvable", timeout=TIMEOUT)
    expect(check).to_have_class(re.compile(r"\bko\b"))
    page.locator("#quote-0").fill("")
    page.locator("#quote-0").press_sequentially(QUOTE)
    expect(check).to_contain_text("citation trouvée", timeout=TIMEOUT)
    expect(check).to_have_class(re.compile(r"\bok\b"))

    page.get_by_role("button", name="Enregistrer et envoyer en relecture").click()
    expect(page).to_have_url(request_url)
    request_path = page.url.removeprefix(site)
    expect_state(page, "en relecture")
    expect(page.locator(".flash")).to_have_text("Demande envoyée en relecture.")
    log_out(page, site)

    # 2. Étienne finds it in the review queue, reads the diff and asks for a correction.
    log_in(page, site, ETIENNE)
    page.goto(site + "/redaction/relecture")
    page.get_by_role("link", name=f"{PROMISE_TITLE} : réalisée").click()
    expect(page).to_have_url(site + request_path)
    expect_state(page, "en relecture")
    expect(page.locator(".diff ins", has_text="réalisée").first).to_be_visible()  # the status, by its French label
    expect(page.locator(".diff ins", has_text="entérine la fusion intégrale").first).to_be_visible()
    screenshot(page, "6-relecture-diff")

    page.locator("#comment-request_changes").fill("Merci de citer la source et sa date dans la note.")
    page.get_by_role("button", name="Demander des corrections").click()
    expect_state(page, "corrections demandées")
    log_out(page, site)

    # 3. Julie reads the comment from her requests, amends the note, sends it again.
    log_in(page, site, JULIE)
    mine = page.locator("section[aria-labelledby=mes-demandes]")
    expect(mine.locator(".state")).to_have_text("corrections demandées")
    mine.get_by_role("link", name=f"{PROMISE_TITLE} : réalisée").click()
    expect(page).to_have_url(site + request_path)
    expect(page.locator(".thread .comment")).to_contain_text("Merci de citer la source et sa date dans la note.")

    page.get_by_role("link", name="Modifier la demande").click()
    expect(page.locator("#note")).to_have_value(NOTE)  # the form comes back filled with her entry
    expect(page.locator("#source-0")).to_have_value(SOURCE_ID)
    expect(page.locator("#quote-0")).to_have_value(QUOTE)
    page.locator("#note").fill(NOTE_AMENDED)
    page.get_by_role("button", name="Enregistrer et envoyer en relecture").click()
    expect(page).to_have_url(site + request_path)
    expect_state(page, "en relecture")
    log_out(page, site)

    # 4. Étienne approves: publishing is immediate.
    log_in(page, site, ETIENNE)
    page.goto(site + request_path)
    expect(page.locator(".diff ins", has_text="Mediacités, janvier 2026").first).to_be_visible()
    screenshot(page, "7-relecture-avant-approbation")
    page.locator("#comment-approve").fill("Parfait, merci.")
    page.get_by_role("button", name="Approuver et publier").click()
    expect_state(page, "publiée")
    expect(page.locator(".flash")).to_contain_text("Approuvée et publiée")
    log_out(page, site)

    # 5. Anyone sees the new status, the note and who approved it on the public page.
    page.goto(f"{site}/promesses/{PROMISE_ID}")
    expect(page.locator(".verdict .badge")).to_have_text("réalisée", timeout=TIMEOUT)
    latest = page.locator(".timeline li").first
    expect(latest).to_contain_text(NOTE_AMENDED)
    expect(latest.locator("blockquote")).to_contain_text(QUOTE)
    changes = page.locator("section[aria-labelledby=modifications]")
    expect(changes.get_by_role("heading", name="Journal des modifications")).to_be_visible()
    expect(changes).to_contain_text("en partie réalisée → réalisée")
    expect(changes).to_contain_text("approuvé par Étienne Éditeur")
    screenshot(page, "8-promesse-publiee")

    # 6. The search finds the promise by the words of the new note.
    page.goto(site + "/recherche?q=entérine fusion intégrale")
    expect(page.locator(".hits")).to_contain_text(PROMISE_TITLE, timeout=TIMEOUT)

    assert failures == []
