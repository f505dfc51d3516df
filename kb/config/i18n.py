"""The interface's languages: French as written in the code and templates, English from a gettext catalog.

Every interface string is written in French and goes through `gettext` (`_` in templates); the
catalog `kb/translations/en/LC_MESSAGES/messages.po` gives its English. The language is chosen per
request by the web layer (`?lang=`, then the `kb_lang` cookie, then Accept-Language; French by
default) and kept in a context variable, so the content layer, the newsroom and the e-mails
translate with the same catalog whoever calls them. The catalog is read from its .po once per
process: no compiled file to forget. Content (promises, sources, fact-checks) stays as written.

Update the catalog after changing strings: `kb i18n update` (extract, merge), then translate what it
lists; tests fail on a string missing from the catalog or left untranslated.
"""

from __future__ import annotations

import functools
import gettext as gettext_module
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from io import BytesIO
from pathlib import Path

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import LazyProxy, Translations

TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"
DEFAULT = "fr"
# Each language, named in itself (the switch shows them so).
LANGUAGES = {"fr": "Français", "en": "English"}
COOKIE = "kb_lang"
_current: ContextVar[str] = ContextVar("kb_language", default=DEFAULT)


def catalog_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"


# Where messages are written, and the functions that hand them to gettext (N_ only marks them).
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "N_": None}


def extract(extra=()):
    """Every message the code and the templates hand to gettext, as a Babel catalog (with where each is);
    `extra`: (message, (file, line)) found otherwise (the help of `kb`'s commands, kb.ops.cli.help_texts)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    from kb.config.paths import TEMPLATES

    catalog = Catalog(project="kb", locale=None, charset="utf-8")
    package = Path(__file__).resolve().parents[1]
    sources = [(package, [("**.py", "python")], {}), (TEMPLATES, [("**.html", "jinja2"), ("**.xml", "jinja2")], {"**.html": {"extensions": "jinja2.ext.i18n"}, "**.xml": {"extensions": "jinja2.ext.i18n"}})]
    for root, method_map, options in sources:
        for filename, line, message, comments, context in extract_from_dir(root, method_map, options, keywords=KEYWORDS, strip_comment_tags=True):
            where = (f"{root.name}/{filename}", line)
            catalog.add(message, None, [where], auto_comments=comments, context=context)
    for message, where in extra:
        catalog.add(message, None, [where])
    return catalog


def update_catalog(language: str, extra=()) -> tuple[int, int]:
    """Bring `language`'s .po up to the code's messages: new ones added untranslated, gone ones dropped.
    Returns (messages, left to translate)."""
    from babel.messages.pofile import write_po

    template = extract(extra)
    path = catalog_path(language)
    if path.exists():
        with open(path, "rb") as handle:
            catalog = read_po(handle, locale=language)
    else:
        from babel.messages.catalog import Catalog

        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=language, project="kb", charset="utf-8")
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    with open(path, "wb") as handle:
        write_po(handle, catalog, width=0, omit_header=False, ignore_obsolete=True, include_previous=False)
    translations.cache_clear()
    left = sum(1 for message in catalog if message.id and not all(message.string if isinstance(message.string, tuple) else (message.string,)))
    return len([message for message in catalog if message.id]), left


class _French(gettext_module.NullTranslations):
    """The strings as written; French counts 0 and 1 in the singular (« 0 promesse »), unlike gettext's default."""

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n <= 1 else plural


@functools.cache
def translations(language: str) -> gettext_module.NullTranslations:
    """The catalog of `language`, compiled in memory from its .po (French: the strings themselves)."""
    if language == DEFAULT or language not in LANGUAGES:
        return _French()
    with open(catalog_path(language), "rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def language() -> str:
    """The language of what is being answered now."""
    return _current.get()


def set_language(wanted: str | None):
    """Answer in `wanted` from now on in this context (a request, a command); the token resets it."""
    return _current.set(wanted if wanted in LANGUAGES else DEFAULT)


def reset_language(token) -> None:
    """Back to the language before `set_language` gave this token (French when it was given elsewhere)."""
    try:
        _current.reset(token)
    except ValueError:  # set in another context (a copied one): this context goes back to the default
        _current.set(DEFAULT)


@contextmanager
def using(wanted: str | None):
    token = set_language(wanted)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str, **variables) -> str:
    """`message` in the current language; `%(name)s` placeholders filled from `variables`."""
    text = translations(_current.get()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, count: int, **variables) -> str:
    """The singular or the plural as the current language counts `count` (given as `num` too)."""
    text = translations(_current.get()).ngettext(singular, plural, count)
    return text % {"num": count, **variables}


def translate(message: str) -> str:
    """`message` in the current language, placeholders left as they are (Jinja's newstyle gettext fills them)."""
    return translations(_current.get()).gettext(message)


def translate_plural(singular: str, plural: str, count: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, count)


def lazy_gettext(message: str, **variables) -> LazyProxy:
    """A string translated when it is used (labels declared at import, before any request)."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


_ = gettext


def N_(message: str) -> str:
    """Marks a string for the catalog where it is declared (a table of labels); `gettext` translates it where shown."""
    return message


def choose(asked: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The language to answer in: asked in the address, else remembered, else the browser's first we speak."""
    for wanted in (asked, cookie):
        if wanted in LANGUAGES:
            return wanted
    for wanted, _quality in _accepted(accept_language or ""):
        base = wanted.split("-")[0].lower()
        if base in LANGUAGES:
            return base
    return DEFAULT


def _accepted(header: str) -> list[tuple[str, float]]:
    """Accept-Language's languages, most wanted first ("en-GB,en;q=0.8,fr;q=0.5")."""
    found = []
    for index, part in enumerate(header.split(",")[:20]):
        name, _, parameters = part.strip().partition(";")
        quality = 1.0
        if parameters.strip().startswith("q="):
            try:
                quality = float(parameters.strip()[2:])
            except ValueError:
                quality = 0.0
        if name and quality > 0:
            found.append((name, quality, -index))
    return [(name, quality) for name, quality, _order in sorted(found, key=lambda row: (row[1], row[2]), reverse=True)]


def day(value: date | datetime | None) -> str:
    """A date as people of the current language write it: 28/01/2026, Jan 28, 2026."""
    if value is None:
        return ""
    if _current.get() == DEFAULT:
        return value.strftime("%d/%m/%Y")
    return _months(_current.get())[value.month - 1].join(("", f" {value.day}, {value.year}"))


@functools.cache
def _months(wanted: str) -> tuple[str, ...]:
    """The language's abbreviated month names, read once (Babel's date formatting costs 1 ms a date)."""
    return tuple(format_date(date(2000, month, 1), "MMM", locale=wanted) for month in range(1, 13))


def month(value: date) -> str:
    """A month on a chart's axis: 01/2026, 1/2026."""
    return value.strftime("%m/%Y") if _current.get() == DEFAULT else f"{value.month}/{value.year}"


def number(value: int | float) -> str:
    """A number as the current language writes it (1 234 ; 1,234)."""
    return format_decimal(value, locale=_current.get())


def percent(value: int | float) -> str:
    """A percentage: « 12 % » in French (a narrow no-break space), "12%" in English."""
    return f"{value}\u202f%" if _current.get() == DEFAULT else f"{value}%"
