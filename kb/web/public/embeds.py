"""Cards other sites embed: a promise, a person, a tracker, in an iframe of a newsroom's article.

`/integrer/promesses/<id>`, `/integrer/elus/<id>`, `/integrer/suivis/<id>` are small pages with no
JavaScript (status or scorecard, the last change, a link back), the only pages any site may frame:
their policy says `frame-ancestors *`, every other page keeps `'none'` (kb.web.errors). `/oembed`
turns a pasted address of one of those three pages into the card's iframe, for a CMS that speaks
oEmbed (https://oembed.com/); the pages announce it with a discovery link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from flask import abort, current_app, jsonify, render_template, request, url_for
from werkzeug.routing import RequestRedirect
from werkzeug.exceptions import MethodNotAllowed, NotFound

from kb.catalog import queries, tables
from kb.web.content_store import current_tree, find_promise
from kb.web.errors import EMBED_POLICY
from kb.web.page_cache import cached_page
from kb.web.public import bp
from kb.web.public.charts import report_cards
from kb.web.public.people import author_names
from kb.config.i18n import gettext as _



@dataclass(frozen=True)
class CardSize:
    """The iframe a card asks for: as wide as the article allows up to `width`, `height` tall (px)."""

    width: int
    height: int


# Heights that fit each card's content at 320 px wide and up (a long title wraps on three lines).
SIZES = {"promise": CardSize(560, 240), "person": CardSize(560, 250), "tracker": CardSize(560, 250)}
# Which public page each card stands for: the endpoint of the page, and of its card.
PAGES = {"public.promise": "promise", "public.person": "person", "public.tracker": "tracker"}
CARD_ENDPOINTS = {"promise": "public.embed_promise", "person": "public.embed_person", "tracker": "public.embed_tracker"}
ARGUMENTS = {"promise": "promise_id", "person": "person_id", "tracker": "tracker_id"}
MIN_WIDTH, MIN_HEIGHT = 200, 120


def _framable(html: str):
    response = current_app.make_response(html)
    response.headers["Content-Security-Policy"] = EMBED_POLICY
    return response


@bp.get("/integrer/promesses/<promise_id>")
@cached_page
def embed_promise(promise_id: str):
    tree, found, moved = find_promise(promise_id, "public.embed_promise")
    if found is None:
        return moved or abort(404)
    last = found.history[-1] if found.history else None
    return _framable(render_template(
        "embeds/promise.html", promise=found, last=last, statuses=tree.statuses, today=date.today(),
        final_statuses=tree.final_statuses, authors=author_names(found.made_by),
        page_url=url_for("public.promise", promise_id=found.id, _external=True),
    ))  # fmt: skip


@bp.get("/integrer/elus/<person_id>")
@cached_page
def embed_person(person_id: str):
    tree = current_tree()
    found = tree.people.get(person_id)
    if found is None:
        abort(404)
    where = queries.by_author(found.id)
    card = queries.scorecard(tree, date.today(), where)
    return _record_card(tree, found.name, found.id, _role(found), card, where, None, url_for("public.person", person_id=found.id, _external=True))


@bp.get("/integrer/suivis/<tracker_id>")
@cached_page
def embed_tracker(tracker_id: str):
    tree = current_tree()
    found = tree.trackers.get(tracker_id)
    if found is None:
        abort(404)
    today = date.today()
    where = tables.items.c.tracker == found.id
    # A closed term shows its final record, as its page does.
    card = queries.final_record(tree, found, today) or queries.scorecard(tree, today, where)
    page_url = url_for("public.tracker", tracker_id=found.id, _external=True)
    return _record_card(tree, found.title, found.id, _("Suivi"), card, where, found.record_day(today), page_url)


def _record_card(tree, title: str, item_id: str, kicker: str, card, where, closed_on, page_url: str):
    """A person's or a tracker's card: its report-card bar and counts, its last change, the way back."""
    return _framable(render_template(
        "embeds/record.html", title=title, kicker=kicker,
        report=report_cards([{"name": title, "slug": item_id, "card": card}], tree.statuses)[0],
        closed_on=closed_on, last=_last_change(tree, where), statuses=tree.statuses, page_url=page_url,
    ))  # fmt: skip


@bp.app_template_global()
def embed_url(kind: str, item_id: str) -> str:
    """The address of an item's card (`kind`: promise, person or tracker)."""
    return url_for(CARD_ENDPOINTS[kind], **{ARGUMENTS[kind]: item_id}, _external=True)


@bp.app_template_global()
def embed_snippet(kind: str, item_id: str, title: str, size: CardSize | None = None) -> str:
    """The HTML a newsroom pastes in an article to show this item's card (the "Intégrer" box, oEmbed's `html`)."""
    return render_template("embeds/snippet.html", card_url=embed_url(kind, item_id), title=title, size=size or SIZES[kind]).strip()


def _role(person) -> str:
    """What a person's card says they are: their current role ("Maire de Lille"), else elected or institution."""
    current = [role.title for role in person.roles if not role.end] or [role.title for role in person.roles]
    return current[0] if current else _("Élu") if person.kind == "person" else _("Institution")


def _last_change(tree, where):
    changes = queries.status_changes(tree, 1, [where])
    return changes[0] if changes else None


@bp.get("/oembed")
def oembed():
    """oEmbed's JSON for a promise's, a person's or a tracker's page (or its card) on this site."""
    given = request.args.get("url", "").strip()
    if request.args.get("format", "json") != "json":
        return _oembed_error(501, _("seul le format json est servi"))
    if not given:
        return _oembed_error(400, _("paramètre url manquant"))
    kind, item_id = _page_of(given)
    if kind is None:
        return _oembed_error(404, _("cette adresse n'est pas une promesse, un élu ou un suivi de ce site"))
    tree = current_tree()
    if kind == "promise":
        _tree, found, _moved = find_promise(item_id, "public.promise")
        title, author = (found.title, author_names(found.made_by)) if found else (None, None)
    elif kind == "person":
        found = tree.people.get(item_id)
        title, author = (found.name, None) if found else (None, None)
    else:
        found = tree.trackers.get(item_id)
        title, author = (found.title, None) if found else (None, None)
    if found is None:
        return _oembed_error(404, _("rien n'est publié à cette adresse"))
    try:
        size = _fitted(SIZES[kind])
    except ValueError:
        return _oembed_error(400, _("maxwidth et maxheight sont des nombres entiers de pixels"))
    if size is None:
        return _oembed_error(404, _("aucune carte ne tient dans maxwidth × maxheight"))
    site = current_app.extensions["kb.identity"].name
    document = {
        "version": "1.0",
        "type": "rich",
        "title": title,
        "provider_name": site,
        "provider_url": url_for("public.home", _external=True),
        "cache_age": 3600,
        "width": size.width,
        "height": size.height,
        "html": embed_snippet(kind, found.id, title, size),
    }
    if author:
        document["author_name"] = author
    response = jsonify(document)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _page_of(address: str) -> tuple[str | None, str | None]:
    """(kind, id) of a page or card of this site named by an absolute address; (None, None) otherwise."""
    try:
        parts = urlsplit(address)
        host = parts.netloc.lower()
    except ValueError:  # "http://[::1": not an address at all
        return None, None
    if parts.scheme not in ("http", "https") or host != request.host.lower():
        return None, None
    root = request.script_root
    path = parts.path[len(root):] if root and parts.path.startswith(root) else parts.path
    adapter = current_app.url_map.bind(request.host, script_name=root or None, url_scheme=parts.scheme)
    try:
        endpoint, arguments = adapter.match(path, method="GET")
    except (NotFound, MethodNotAllowed, RequestRedirect):
        return None, None
    kind = PAGES.get(endpoint) or next((name for name, card in CARD_ENDPOINTS.items() if card == endpoint), None)
    return (kind, arguments[ARGUMENTS[kind]]) if kind else (None, None)


def _fitted(size: CardSize) -> CardSize | None:
    """The card's size within the consumer's maxwidth/maxheight (oEmbed's rule); None when it cannot fit;
    ValueError when one is not a number."""
    width, height = size.width, size.height
    for name, value, floor in (("maxwidth", width, MIN_WIDTH), ("maxheight", height, MIN_HEIGHT)):
        asked = request.args.get(name, "").strip()
        if not asked:
            continue
        if not asked.isdigit():
            raise ValueError(name)
        if int(asked) < floor:
            return None
        if name == "maxwidth":
            width = min(width, int(asked))
        else:
            height = min(height, int(asked))
    return CardSize(width, height)


def _oembed_error(status: int, message: str):
    response = jsonify({"error": message})
    response.status_code = status
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
