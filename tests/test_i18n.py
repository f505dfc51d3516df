"""The interface in French and English: every template string goes through the catalog, and the catalog is complete."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2 import Environment

from kb.config import i18n

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "templates"
LETTERS = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿŒœ]")
# Attributes people read (or hear): their values are interface text too.
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-roledescription"}
HOLE = "\x00"  # where a Jinja expression or tag stood
# Written by templates but not words: a fragment of an address, a time of day in a feed.
NOT_WORDS = re.compile(r"#[\w-]*|T\d\d:\d\d:\d\dZ")


class Strings(HTMLParser):
    """Text nodes and read attributes of a template whose Jinja parts were replaced by HOLE."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "code", "pre"):
            self.skipping.append(tag)
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self.found += [part for part in value.split(HOLE)]

    def handle_endtag(self, tag):
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data):
        if not self.skipping:
            self.found += data.split(HOLE)


def literal_strings(source: str) -> list[str]:
    """The words a template writes itself, outside any {{ }} / {% %}: what escapes the catalog."""
    environment = Environment(extensions=["jinja2.ext.i18n"])
    pieces = []
    in_tag = False  # a Jinja part inside a tag (<blockquote{% if %} class="…"{% endif %}>) must leave the tag whole
    for _line, kind, value in environment.lex(source):
        if kind == "data":
            pieces.append(value)
            for match in re.finditer(r"<(?=[A-Za-z/!])|>", value):
                in_tag = match.group(0) == "<"
        elif kind in ("variable_begin", "block_begin", "comment_begin"):
            pieces.append(" " if in_tag else HOLE)
    parser = Strings()
    parser.feed("".join(pieces))
    return [text.strip() for text in parser.found if LETTERS.search(text) and not NOT_WORDS.fullmatch(text.strip())]


def all_templates() -> list[Path]:
    return sorted(path for path in TEMPLATES.rglob("*") if path.suffix in (".html", ".xml"))


@pytest.mark.parametrize("template", all_templates(), ids=lambda path: str(path.relative_to(TEMPLATES)))
def test_no_template_writes_interface_words_outside_the_catalog(template):
    assert literal_strings(template.read_text(encoding="utf-8")) == []


def test_the_checker_finds_words_in_text_and_in_read_attributes():
    source = '<p>Bonjour {{ name }}</p><a title="Voir" class="x{{ y }}">{{ _("Lire") }}</a><code>kb check</code>'
    assert literal_strings(source) == ["Bonjour", "Voir"]


# -- the catalog -------------------------------------------------------------------------------------


def extracted() -> dict[str, tuple]:
    """Every message the code and the templates hand to gettext, and the help of every `kb` command: msgid → where."""
    from kb.ops.cli import help_texts

    return {message.id: message.locations[:1] for message in i18n.extract(help_texts()) if message.id}


def english_catalog():
    with open(i18n.catalog_path("en"), "rb") as handle:
        return read_po(handle, locale="en")


def test_every_message_is_in_the_english_catalog_and_translated():
    catalog = english_catalog()
    missing, untranslated = [], []
    for msgid, where in extracted().items():
        message = catalog.get(msgid)
        if message is None:
            missing.append((msgid, where))
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings) or message.fuzzy:
            untranslated.append((msgid, where))
    assert missing == [], "kb i18n update, then translate them"
    assert untranslated == []


def test_placeholders_survive_translation():
    for message in english_catalog():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\((\w+)\)s", ids[-1]))
        for string in strings:
            assert set(re.findall(r"%\((\w+)\)s", string)) <= wanted | {"num"}, message.id


# -- choosing the language ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "asked, cookie, header, language",
    [
        ("en", "fr", "fr-FR", "en"),
        (None, "en", "fr-FR", "en"),
        (None, None, "en-GB,en;q=0.9,fr;q=0.8", "en"),
        (None, None, "de-DE,fr;q=0.5,en;q=0.3", "fr"),
        (None, None, "de-DE", "fr"),
        ("klingon", None, "en", "en"),
        (None, None, None, "fr"),
    ],
)
def test_the_language_is_asked_then_remembered_then_the_browsers_then_french(asked, cookie, header, language):
    assert i18n.choose(asked, cookie, header) == language


def test_dates_and_numbers_follow_the_language():
    from datetime import date

    with i18n.using("fr"):
        assert (i18n.day(date(2026, 1, 28)), i18n.number(1234), i18n.percent(12)) == ("28/01/2026", "1\u202f234", "12\u202f%")
    with i18n.using("en"):
        assert (i18n.day(date(2026, 1, 28)), i18n.number(1234), i18n.percent(12)) == ("Jan 28, 2026", "1,234", "12%")
