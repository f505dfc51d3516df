"""People and institutions: the index (`/elus`), a person's page, their photo; authors' names in every page."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flask import Response, abort, g, redirect, render_template, url_for
from markupsafe import Markup, escape

from kb.catalog import queries
from kb.content.listing import authors_of, record, scorecard, slug
from kb.content.people import KINDS, PHOTO_TYPES, photo_path
from kb.content.render import markdown_to_html
from kb.content.trackers import ordered
from kb.web.content_store import current_tree
from kb.web.list_request import as_of
from kb.web.public.charts import record_chart
from kb.web.page_cache import cached_page
from kb.web.pages import item_page, renders
from kb.web.public import bp
from kb.web.public.home import group_page
from kb.config.i18n import gettext as _


def _people() -> dict[str, str]:
    """Every published person's name by id, read once per request (a list names fifty promises' authors)."""
    if "kb_people" not in g:
        g.kb_people = {summary.id: summary.title for summary in current_tree().summaries("person")}
    return g.kb_people


def _names(authors) -> list[tuple[str, str, bool]]:
    """(id or words, name shown, has a page) of each author, in the file's order."""
    people = _people()
    return [(author, people.get(author, author), author in people) for author in authors_of(authors)]


def author_data(authors) -> list[dict]:
    """Authors as the API gives them: id, name, and their page (None for a name written in words)."""
    return [
        {"id": author, "name": name, "url": url_for("public.person", person_id=author, _external=True) if page else None}
        for author, name, page in _names(authors)
    ]


def _joined(names: list[str]) -> str:
    return names[0] if len(names) == 1 else _("%(first)s et %(last)s", first=", ".join(names[:-1]), last=names[-1]) if names else ""


@bp.app_template_global()
def author_names(authors) -> str:
    """Authors as words: "Bernard Gérard et Sébastien Leprêtre"."""
    return _joined([name for _author, name, _page in _names(authors)])


@bp.app_template_global()
def author_links(authors) -> Markup:
    """Authors as links to their pages (names written in words stay words)."""
    parts = [
        Markup('<a href="{}">{}</a>').format(url_for("public.person", person_id=author), name) if page else escape(name)
        for author, name, page in _names(authors)
    ]
    if len(parts) <= 1:
        return Markup("").join(parts)
    return Markup(_("%(first)s et %(last)s")) % {"first": Markup(", ").join(parts[:-1]), "last": parts[-1]}


@bp.get("/elus")
@cached_page
def people():
    """Every person, then every institution, with the count and scorecard of their promises."""
    tree = current_tree()
    cards = {row["slug"]: row["card"] for row in queries.groups(tree, "made_by", date.today())}
    everyone = sorted(tree.people.values(), key=lambda person: person.name.casefold())
    return render_template(
        "public/people.html",
        groups=[(label, [person for person in everyone if person.kind == kind]) for kind, label in (("person", _("Élus")), ("institution", _("Institutions")))],
        cards=cards,
        statuses=tree.statuses,
    )


@bp.get("/elus/<person_id>")
@cached_page
def person(person_id: str):
    tree = current_tree()
    if person_id in tree.people:
        return item_page("person", person_id)
    # An address from before people had files: /elus/<the name as written, as a slug>.
    for someone in tree.people.values():
        if person_id in {slug(alias) for alias in someone.aliases}:
            return redirect(url_for("public.person", person_id=someone.id), 301)
    written = next((author for author in queries.authors_written(tree) if slug(author) == person_id), None)
    if written is None:
        abort(404)
    return group_page("person", written, queries.group_members(tree, queries.by_author(written)), queries.by_author(written))


@renders("person")
def render_person_page(tree, found, preview_of=None) -> str:
    """A person's page: photo, roles, their promises tracker by tracker with a scorecard, their fact-checked claims."""
    today = date.today()
    day, ignored_day = as_of(today)  # ?au=AAAA-MM-JJ: every scorecard as the histories stood that day
    promises = queries.group_members(tree, queries.by_author(found.id))
    trackers = {tracker.id: tracker for tracker in ordered(tree.trackers.values())}
    by_tracker: dict[str | None, list] = {}
    for promise in promises:
        by_tracker.setdefault(promise.tracker if promise.tracker in trackers else None, []).append(promise)
    statuses, final = list(tree.statuses), tree.final_statuses

    def card(members: list):
        if day is None:
            return scorecard(members, statuses, today, final)

        def standing(promise):  # a closed term's record stops at its end: the total counts as its section does
            end = trackers[promise.tracker].record_day(today) if promise.tracker in trackers else None
            return promise.status_on(min(day, end) if end else day), promise.due

        return record([standing(promise) for promise in members], statuses, day, final)

    sections = [
        (trackers.get(tracker_id), members, card(members))
        for tracker_id, members in sorted(by_tracker.items(), key=lambda item: list(trackers).index(item[0]) if item[0] in trackers else len(trackers))
    ]
    first = queries.first_entry_day(tree, queries.by_author(found.id))
    series = queries.record_over_time(tree, queries.chart_days(first, day or today), queries.by_author(found.id)) if first else []
    return render_template(
        "public/person.html",
        person=found,
        chart=record_chart(series, tree.statuses),
        kind_label=KINDS.get(found.kind, found.kind),
        sections=sections,
        total=card(promises),
        day=day,
        ignored_day=ignored_day,
        claims=queries.claims_by(tree, found.id),
        statuses=tree.statuses,
        verdicts=tree.verdicts,
        today=today,
        final_statuses=tree.final_statuses,
        biography=markdown_to_html(found.body),
        has_photo=bool(found.photo and photo_path(tree.root, found).is_file()),
        preview_of=preview_of,
    )


@bp.get("/elus/<person_id>/photo")
@cached_page
def person_photo(person_id: str):
    """A person's photo, from the content tree's media/ folder (only the picture types a photo may be)."""
    tree = current_tree()
    found = tree.people.get(person_id)
    path = photo_path(tree.root, found) if found is not None else None
    if path is None or Path(path).suffix not in PHOTO_TYPES or not path.is_file():
        abort(404)
    return Response(path.read_bytes(), mimetype=PHOTO_TYPES[path.suffix])
