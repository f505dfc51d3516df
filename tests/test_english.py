"""The English interface: switched with ?lang=en (and remembered), or asked by the browser; no French left around the content."""

import re
from html.parser import HTMLParser

import pytest

from kb.web import create_app

from .conftest import DEMO_CONTENT, Newsroom

AUBRY = "aubry-mutualisation-lille-lomme-hellemmes"
# French words and letters no English interface text holds (names of places and people are content, kept apart below).
FRENCH = re.compile(r"[éèêàùçôîœ]|\b(le|la|les|des|du|une|et|pour|avec|sur|par|dans|aux|est|sont|vos|votre|aucun|aucune)\b", re.IGNORECASE)
# Interface elements: what people read around the content (a heading that is a link is a content title).
INTERFACE = {"h2", "label", "button", "th", "dt", "summary", "legend", "caption", "nav"}

PUBLIC_PAGES = [
    "/",
    "/promesses",
    "/promesses?status=partial",
    f"/promesses/{AUBRY}",
    "/sources/mediacites-aubry-mutualisation-2026",
    "/affirmations",
    "/affirmations/mel-25-actions-mutualisation-depuis-2015",
    "/recherche?q=mutualisation",
    "/recherche?q=zzzqqq",
    "/suivis",
    "/suivis/lille-2020-2026",
    "/suivis/marcq-la-madeleine-2014-2020",
    "/elus",
    "/territoires",
    "/elus/martine-aubry",
    "/territoires/lille",
    "/page-absente",
    f"/integrer/promesses/{AUBRY}",
    "/integrer/elus/martine-aubry",
    "/integrer/suivis/lille-2020-2026",
]
NEWSROOM_PAGES = [
    "/redaction/",
    "/redaction/promesses",
    "/redaction/relecture",
    f"/redaction/promesses/{AUBRY}/statut",
    f"/redaction/promesses/{AUBRY}/modifier",
    "/redaction/promesses/nouvelle",
    "/redaction/sources/nouvelle",
    "/redaction/affirmations",
    "/redaction/affirmations/nouvelle",
    "/redaction/sources",
    "/redaction/citations",
    "/redaction/pistes",
    "/redaction/import",
    "/redaction/journal",
    "/redaction/comptes",
    f"/redaction/promesses/{AUBRY}/versions",
    "/redaction/fiches/nouvelle/tracker",
]


CONTENT_TAGS = {"a", "option", "blockquote", "q", "code", "textarea", "time", "script", "style"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class InterfaceText(HTMLParser):
    """The text of interface elements and of the attributes people read, with the content inside them left out."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, inside content)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in ("aria-label", "placeholder", "title", "alt"):
            if attributes.get(name) and tag not in ("link", "a"):
                self.found.append(attributes[name])
        if tag in VOID:
            return
        inside = bool(self.stack and self.stack[-1][1]) or tag in CONTENT_TAGS or (tag == "th" and attributes.get("scope") == "row")
        self.stack.append((tag, inside))

    def handle_endtag(self, tag):
        if any(open_tag == tag for open_tag, _ in self.stack):
            while self.stack and self.stack.pop()[0] != tag:
                pass

    def handle_data(self, data):
        if data.strip() and self.stack and not self.stack[-1][1] and INTERFACE & {tag for tag, _ in self.stack}:
            self.found.append(data.strip())


def french_left(html: str, content: set[str]) -> list[str]:
    parser = InterfaceText()
    parser.feed(html)
    return [text for text in parser.found if FRENCH.search(text) and text not in content and not any(known in text for known in content)]


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory):
    root = tmp_path_factory.mktemp("english")
    app = create_app({"TESTING": True, "CONTENT_DIR": str(DEMO_CONTENT), "INSTANCE_DIR": str(root / "instance")})
    return Newsroom(app)


@pytest.fixture(scope="module")
def content_words(newsroom) -> set[str]:
    """What the demo's content says (titles, names, territories, themes…): French, and rightly so."""
    from kb.content.tree import read_tree

    tree = read_tree(DEMO_CONTENT)
    words = set()
    for kind in tree.items.values():
        for item in kind.values():
            for name in ("title", "name", "territory", "theme", "office", "publisher", "party", "list_name"):
                value = getattr(item, name, None)
                if isinstance(value, str) and value:
                    words.add(value)
            for role in getattr(item, "roles", []) or []:
                words.add(role.title)
    return words


def test_lang_en_switches_the_page_and_a_cookie_remembers_it(newsroom):
    client = newsroom.app.test_client()
    response = client.get("/?lang=en")
    assert '<html lang="en">' in response.get_data(as_text=True)
    assert "kb_lang=en" in response.headers["Set-Cookie"]
    assert '<html lang="en">' in client.get("/promesses").get_data(as_text=True)  # the cookie, no ?lang= any more
    back = client.get("/promesses?lang=fr").get_data(as_text=True)
    assert '<html lang="fr">' in back and "Toutes les promesses" in back


def test_switching_remembers_the_language_even_when_the_page_is_kept(newsroom):
    english = newsroom.app.test_client()
    english.set_cookie("kb_lang", "en")
    english.get("/promesses?lang=en")  # kept, by someone who had switched already
    newcomer = newsroom.app.test_client()
    assert "kb_lang=en" in newcomer.get("/promesses?lang=en").headers.get("Set-Cookie", "")
    assert '<html lang="en">' in newcomer.get("/").get_data(as_text=True)


def test_the_switch_keeps_the_sites_sub_path(newsroom):
    html = newsroom.app.test_client().get("/promesses", environ_overrides={"SCRIPT_NAME": "/kb"}).get_data(as_text=True)
    assert 'href="/kb/promesses?lang=en"' in html


def test_the_browsers_language_is_followed_and_the_switch_offers_the_other(newsroom):
    client = newsroom.app.test_client()
    english = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert 'hreflang="fr"' in english.get_data(as_text=True)
    assert "Accept-Language" in english.headers["Vary"]
    french = client.get("/", headers={"Accept-Language": "de-DE,fr;q=0.5"}).get_data(as_text=True)
    assert '<html lang="fr">' in french and 'hreflang="en"' in french


def test_the_page_cache_keeps_each_language_apart(newsroom):
    client = newsroom.app.test_client()
    french = client.get(f"/promesses/{AUBRY}").get_data(as_text=True)
    english = client.get(f"/promesses/{AUBRY}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Historique" in french and "Historique" not in english
    assert "Historique" in client.get(f"/promesses/{AUBRY}").get_data(as_text=True)


def test_dates_and_vocabulary_labels_are_in_english(newsroom):
    html = newsroom.app.test_client().get(f"/promesses/{AUBRY}?lang=en").get_data(as_text=True)
    assert "Jan 28, 2026" in html and "28/01/2026" not in html
    assert 'class="badge status-partial">partly done</span>' in html  # the vocabulary's English label
    assert 'status-partial">en partie réalisée<' not in html and ">en partie réalisée</span>" not in html


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_have_no_french_left_in_their_interface(newsroom, content_words, path):
    response = newsroom.app.test_client().get(path, headers={"Accept-Language": "en"})
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert french_left(html, content_words) == []


def test_newsroom_pages_have_no_french_left_in_their_interface(newsroom, content_words):
    client = newsroom.client("editor")
    left = {}
    for path in NEWSROOM_PAGES:
        html = client.get(path + ("&" if "?" in path else "?") + "lang=en").get_data(as_text=True)
        if found := french_left(html, content_words):
            left[path] = found
    assert left == {}


def test_the_login_page_and_its_error_are_in_english(newsroom, content_words):
    client = newsroom.app.test_client()
    html = client.get("/redaction/connexion?lang=en").get_data(as_text=True)
    assert french_left(html, content_words) == []
    from .conftest import csrf_token

    token = csrf_token(client)
    refused = client.post("/redaction/connexion", data={"csrf_token": token, "email": "personne@exemple.fr", "password": "non"}).get_data(as_text=True)
    assert 'role="alert"' in refused and french_left(refused, content_words) == []


def test_a_requests_language_does_not_outlive_it(newsroom):
    from kb.config import i18n

    newsroom.app.test_client().get("/?lang=en")
    assert i18n.language() == "fr"  # the thread's next work (another request, a command) starts in French


def test_kb_commands_speak_the_language_setting(runner, content_dir, monkeypatch):
    from kb.ops.cli import main

    from .conftest import corrupt

    corrupt(content_dir, "territory: Marcq-en-Barœul\n", "")
    french = runner.invoke(main, ["check", "--content", str(content_dir)])
    assert french.exit_code == 1 and "obligatoire" in french.output
    monkeypatch.setenv("KB_LANGUAGE", "en")
    english = runner.invoke(main, ["check", "--content", str(content_dir)])
    assert english.exit_code == 1 and "obligatoire" not in english.output
    assert "territory" in english.output and "required" in english.output


def test_a_language_kb_does_not_speak_is_refused_at_start(monkeypatch, tmp_path):
    from kb.config import settings

    monkeypatch.setenv("KB_LANGUAGE", "de")
    with pytest.raises(settings.SettingsError, match="LANGUAGE"):
        settings.finish(settings.load())


def test_kb_help_speaks_the_language_setting(runner, monkeypatch):
    from kb.ops.cli import main

    assert "Vérifie tout le contenu" in runner.invoke(main, ["check", "--help"]).output
    monkeypatch.setenv("KB_LANGUAGE", "en")
    english = runner.invoke(main, ["check", "--help"]).output
    assert "--strict" in english and not FRENCH.search(english.replace("kb", ""))
    listing = runner.invoke(main, ["--help"]).output
    assert "Vérifie" not in listing and "check" in listing
