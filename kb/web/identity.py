"""The newsroom's identity in every page: its name and logo, its colour, its footer, its time zone.

Settings (SITE_NAME, SITE_TAGLINE, SITE_LOGO, SITE_COLOR, FOOTER_LINKS, CONTACT_EMAIL, TIME_ZONE)
checked at start (kb.config.settings), given to templates as `site`; the newsroom's own pages
(content/pages/) are listed in the footer. Times are kept in UTC and shown in TIME_ZONE.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from flask import Flask, Response, abort, current_app

from kb.config.settings import LOGO_TYPES, footer_links
from kb.config import i18n
from kb.web.content_store import current_tree
from kb.config.i18n import gettext as _, lazy_gettext

DEFAULT_TAGLINE = "promesses et vérifications"  # SITE_TAGLINE's default (kb.config.settings)


@dataclass(frozen=True)
class Identity:
    name: str
    tagline: str | None
    color: str
    has_logo: bool
    contact: str | None
    links: list[tuple[str, str]] = field(default_factory=list)

    def report_url(self, title: str, page_url: str) -> str | None:
        """Where a reader reports an error on a page: an e-mail to the newsroom, subject and page filled in."""
        if not self.contact:
            return None
        subject = quote(_("Signaler une erreur : %(title)s", title=title))
        body = quote(_("Page : %(url)s", url=page_url) + "\n\n" + _("Ce qui me semble inexact (et le document qui le montre) :") + "\n")
        return f"mailto:{self.contact}?subject={subject}&body={body}"


def init_app(app: Flask) -> None:
    config = app.config
    identity = Identity(
        name=config["SITE_NAME"] or "kb",
        # kb's own tagline speaks the reader's language; a newsroom's own is theirs, as written.
        tagline=lazy_gettext("promesses et vérifications") if config["SITE_TAGLINE"] == DEFAULT_TAGLINE else config["SITE_TAGLINE"],
        color=config["SITE_COLOR"] or "#0b5cad",
        has_logo=bool(config["SITE_LOGO"]),
        contact=config["CONTACT_EMAIL"],
        links=footer_links(config["FOOTER_LINKS"]),
    )
    zone = zoneinfo.ZoneInfo(config["TIME_ZONE"] or "Europe/Paris")
    app.extensions["kb.identity"] = identity
    app.add_template_global(identity, "site")
    app.add_template_global(_site_pages, "site_pages")

    @app.template_filter("local")
    def local(moment: datetime | None, pattern: str = "%d/%m/%Y %H:%M") -> str:
        """A time of the database (UTC) as people of the newsroom read it, in TIME_ZONE."""
        if moment is None:
            return ""
        aware = (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(zone)
        if i18n.language() != i18n.DEFAULT:  # the date as the language writes it (the pattern is French)
            return i18n.day(aware) + (aware.strftime(", %H:%M") if "%H" in pattern else "")
        return aware.strftime(pattern)

    @app.template_filter("local_day")
    def local_day(moment: datetime):
        """The day a time of the database (UTC) falls on in TIME_ZONE (a publication at 23:30 UTC is the next day in Paris)."""
        aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        return aware.astimezone(zone).date()

    app.add_url_rule("/logo", "logo", _logo)


def _site_pages() -> list:
    """The newsroom's own pages, by title, for the footer (none when the catalog cannot be read: an error page still draws)."""
    try:
        return current_tree().summaries("page")
    except Exception:  # noqa: BLE001 — the footer of the "database unavailable" page must not fail in turn
        return []


def _logo():
    path = current_app.config["SITE_LOGO"]
    if not path:
        abort(404)
    return Response(_logo_bytes(path), mimetype=LOGO_TYPES[Path(path).suffix.lower()], headers={"Cache-Control": "public, max-age=3600"})


@functools.cache
def _logo_bytes(path: str) -> bytes:
    return Path(path).read_bytes()
