"""WCAG 2.1 AA, measured: axe-core in real Chromium on every page type, and the newsroom by keyboard alone.

axe-core (the npm package, installed by the test command from tests/browser/package.json) is injected
into each page; a violation of impact "serious" or "critical" fails the test, with its rule, its help
and the elements at fault. The keyboard test takes the journalist → editor flow without a mouse:
the skip link first, a visible focus on every control reached, labelled fields, errors announced.
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kb.store.accounts import add_user
from kb.web import create_app

from ..conftest import DEMO_CONTENT, free_port, own_database
from .conftest import serving
from .test_newsroom_journey import log_in

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
AUBRY = "aubry-mutualisation-lille-lomme-hellemmes"
SOURCE = "mediacites-aubry-mutualisation-2026"
QUOTE = "unification de la paie entre Lille, Lomme et Hellemmes"
JULIE = ("julie@redaction.fr", "mot-de-passe-julie")
ETIENNE = ("etienne@redaction.fr", "mot-de-passe-etienne")
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

PUBLIC_PAGES = [
    "/",
    "/promesses",
    "/promesses?status=partial&tri=echeance",
    f"/promesses/{AUBRY}",
    f"/sources/{SOURCE}",
    "/affirmations",
    "/affirmations/mel-25-actions-mutualisation-depuis-2015",
    "/recherche?q=mutualisation",
    "/recherche?q=zzzzqqq",
    "/suivis",
    "/suivis/lille-2020-2026",
    "/suivis/marcq-la-madeleine-2014-2020?au=2018-01-01",
    "/elus",
    "/territoires",
    "/elus/martine-aubry",
    "/territoires/lille",
    "/pages/methodologie",
    "/page-qui-n-existe-pas",
    f"/integrer/promesses/{AUBRY}",
    "/integrer/elus/martine-aubry",
    "/integrer/suivis/lille-2020-2026",
    "/integrer/promesses/retiree",
]


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE} is missing: the test command installs it (npm ci in tests/browser)")
        pytest.skip("axe-core is not installed (sh scripts/dev test installs it)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory, postgres_admin):
    """The demo, with a mail server (so pages offer to follow by e-mail), a journalist and an editor."""
    from aiosmtpd.controller import Controller

    from ..conftest import Inbox

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    root = tmp_path_factory.mktemp("a11y")
    content = Path(shutil.copytree(DEMO_CONTENT, root / "content"))
    config = {
        "CONTENT_DIR": str(content), "INSTANCE_DIR": str(root / "instance"), "CONTENT_RECHECK_SECONDS": 0,
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": controller.port, "SMTP_TLS": "none", "MAIL_FROM": "suivi@example.org",
        "SITE_URL": "http://127.0.0.1",
    }  # fmt: skip
    try:
        with own_database(postgres_admin, root / "kb.sqlite3") as database_url:
            app = create_app({**config, "DATABASE_URL": database_url})
            with app.extensions["kb.db"]() as session:
                add_user(session, JULIE[0], JULIE[1], "journalist", "Julie Journaliste")
                add_user(session, ETIENNE[0], ETIENNE[1], "editor", "Étienne Éditeur")
            with serving(app) as url:
                yield url
    finally:
        controller.stop()


@pytest.fixture
def audited(browser, axe_source):
    """A page whose CSP lets the test inject axe (the site's own policy forbids any script it did not serve)."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.axe_source = axe_source
    yield page
    context.close()


def violations(page: Page) -> list[str]:
    """The serious and critical WCAG 2.1 A/AA violations axe finds on the page, said for a person."""
    page.add_script_tag(content=page.axe_source)
    found = page.evaluate("options => axe.run(document, options).then(result => result.violations)", {"runOnly": {"type": "tag", "values": WCAG_AA}})
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — " + " | ".join(node["target"][0] if isinstance(node["target"][0], str) else str(node["target"]) for node in violation["nodes"][:5])
        for violation in found
        if violation["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_and_cards_meet_wcag_aa(audited, site, path):
    audited.goto(site + path)
    assert violations(audited) == [], path


def test_the_follow_by_email_pages_meet_wcag_aa(audited, site):
    audited.goto(f"{site}/promesses/{AUBRY}")
    audited.locator("#suivre-email").fill("pas-une-adresse@")
    audited.locator("#suivre-email").evaluate("field => field.type = 'text'")  # past the browser's own check
    audited.locator("form.follow button").click()
    expect(audited.locator("h1")).to_have_text("Demande de suivi refusée")
    assert violations(audited) == []
    audited.goto(site + "/suivre/confirmer/lien-inconnu")
    assert violations(audited) == []


NEWSROOM_PAGES = [
    "/redaction/",
    "/redaction/promesses",
    "/redaction/relecture",
    f"/redaction/promesses/{AUBRY}/statut",
    f"/redaction/promesses/{AUBRY}/modifier",
    "/redaction/promesses/nouvelle",
    "/redaction/sources/nouvelle",
    "/redaction/affirmations/nouvelle",
    "/redaction/sources",
    f"/redaction/sources/{SOURCE}/passages",
    "/redaction/citations",
    "/redaction/import",
    "/redaction/journal",
    f"/redaction/promesses/{AUBRY}/versions",
    "/redaction/comptes",
]


def test_the_login_page_and_its_error_meet_wcag_aa(audited, site):
    audited.goto(site + "/redaction/connexion")
    assert violations(audited) == []
    audited.locator("#email").fill(JULIE[0])
    audited.locator("#password").fill("mauvais")
    audited.get_by_role("button", name="Se connecter").click()
    expect(audited.locator("[role=alert]")).to_be_visible()
    assert violations(audited) == []


def test_newsroom_pages_forms_and_the_review_page_meet_wcag_aa(audited, site):
    log_in(audited, site, ETIENNE)
    failures = {}
    for path in NEWSROOM_PAGES:
        audited.goto(site + path)
        found = violations(audited)
        if found:
            failures[path] = found
    # A form sent back with its errors, then a request under review.
    audited.goto(f"{site}/redaction/promesses/{AUBRY}/statut")
    audited.locator("#date").fill("2026-01-30")
    audited.locator("#status").select_option("done")
    audited.locator("#source-0").select_option(SOURCE)
    audited.locator("#quote-0").fill("une phrase qui n'est pas dans le document")
    audited.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(audited.locator("[role=alert]").first).to_be_visible()
    failures.update({"formulaire avec erreurs": found} if (found := violations(audited)) else {})
    audited.locator("#quote-0").fill(QUOTE)
    audited.get_by_role("button", name="Enregistrer et envoyer en relecture").click()
    expect(audited).to_have_url(re.compile(r"/redaction/demandes/\d+$"))
    failures.update({"page de relecture": found} if (found := violations(audited)) else {})
    audited.goto(audited.url + "/apercu")
    failures.update({"aperçu": found} if (found := violations(audited)) else {})
    audited.goto(site + "/redaction/demandes/999999")  # an error page
    failures.update({"erreur 404": found} if (found := violations(audited)) else {})
    assert failures == {}


# -- by keyboard alone ------------------------------------------------------------------------------


def focused(page: Page) -> dict:
    return page.evaluate(
        """() => { const el = document.activeElement; const style = getComputedStyle(el);
        const label = el.labels && el.labels.length ? el.labels[0].innerText : el.getAttribute('aria-label');
        return {tag: el.tagName.toLowerCase(), id: el.id, text: (el.innerText || el.value || '').trim().slice(0, 80), label: label,
                outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0, shadow: style.boxShadow !== 'none'}; }"""
    )


def tab_to(page: Page, matches, limit: int = 80) -> dict:
    """Press Tab until the focused element matches; every element reached on the way shows its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        element = focused(page)
        if element["tag"] == "body":
            continue  # past the last control: the browser's own bar, then the page's first control again
        assert element["outline"] or element["shadow"], f"focus invisible on {element}"
        if matches(element):
            return element
    raise AssertionError(f"never reached by Tab on {page.url}")


def type_into(page: Page, field_id: str, text: str) -> None:
    element = tab_to(page, lambda element: element["id"] == field_id)
    assert element["label"], f"#{field_id} has no label"
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def test_a_journalist_and_an_editor_work_by_keyboard_alone(browser, site):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        # The skip link is the first stop, visible, and leads to the content.
        page.goto(site + "/redaction/connexion")
        page.keyboard.press("Tab")
        assert focused(page)["text"] == "Aller au contenu"
        assert page.locator("a.skip").bounding_box()["x"] >= 0  # on screen once focused
        page.keyboard.press("Enter")
        assert focused(page)["id"] == "contenu"

        # A wrong password is announced, and said where the eyes and the screen reader are.
        type_into(page, "email", JULIE[0])
        type_into(page, "password", "mauvais")
        page.keyboard.press("Enter")
        expect(page.locator("[role=alert]")).to_contain_text("incorrect")
        type_into(page, "password", JULIE[1])
        page.keyboard.press("Enter")
        expect(page).to_have_url(site + "/redaction/")

        # Julie proposes a status: every field reached by Tab has its label; a quote not in the source is announced.
        page.goto(f"{site}/redaction/promesses/{AUBRY}/statut")
        type_into(page, "date", "30012026")
        tab_to(page, lambda element: element["id"] == "status")
        page.keyboard.type("réalisée")
        tab_to(page, lambda element: element["id"] == "source-0")
        page.keyboard.type("Approfondissement")  # the Mediacités article, by the first word of its title
        type_into(page, "quote-0", "une phrase absente du document")
        expect(page.locator("#quote-0 ~ output.quote-check")).to_contain_text("introuvable", timeout=10_000)
        type_into(page, "quote-0", QUOTE)
        expect(page.locator("#quote-0 ~ output.quote-check")).to_contain_text("citation trouvée", timeout=10_000)
        tab_to(page, lambda element: element["text"] == "Enregistrer et envoyer en relecture")
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/redaction/demandes/\d+$"))
        request_url = page.url
        tab_to(page, lambda element: element["text"] == "Se déconnecter")
        page.keyboard.press("Enter")
        expect(page).to_have_url(site + "/redaction/connexion")

        # Étienne approves it from the keyboard.
        type_into(page, "email", ETIENNE[0])
        type_into(page, "password", ETIENNE[1])
        page.keyboard.press("Enter")
        expect(page).to_have_url(site + "/redaction/")
        page.goto(request_url)
        type_into(page, "comment-approve", "Parfait.")
        tab_to(page, lambda element: element["text"] == "Approuver et publier")
        page.keyboard.press("Enter")
        expect(page.locator(".facts .state")).to_have_text("publiée", timeout=10_000)
        expect(page.locator(".flash")).to_contain_text("Approuvée et publiée")
    finally:
        context.close()
