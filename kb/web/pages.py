"""The public page of one item, whatever its kind: the site's view and the newsroom's preview share it.

A kind's page is its template, `public/<kind>.html`, given the item as `item`; a kind whose page
needs more (the promise page's related promises, the source page's highlighted passages) registers
its own renderer with `@renders("<kind>")`. A kind without a view of its own is served at its
registry URL by `item_view`.
"""

from __future__ import annotations

from typing import Callable

from flask import abort, render_template

from kb.content.tree import ContentTree
from kb.web.content_store import current_tree
from kb.web.database import change_record

RENDERERS: dict[str, Callable] = {}


def renders(kind: str):
    """Register the function that renders the page of an item of `kind` (tree, item, preview_of) → HTML."""

    def register(function: Callable) -> Callable:
        RENDERERS[kind] = function
        return function

    return register


def render_item_page(tree: ContentTree, kind: str, item, preview_of=None) -> str:
    """An item's public page; also the newsroom's preview of a proposed version (`preview_of` the request)."""
    renderer = RENDERERS.get(kind)
    if renderer is not None:
        return renderer(tree, item, preview_of=preview_of)
    return render_template(
        f"public/{kind}.html", item=item, kind=tree.kinds[kind], changes=change_record(f"{kind}:{item.id}"), preview_of=preview_of
    )


def item_page(kind: str, item_id: str) -> str:
    """The public page of the published item `kind:item_id`; 404 when there is none."""
    tree = current_tree()
    found = tree.items[kind].get(item_id)
    if found is None:
        abort(404)
    return render_item_page(tree, kind, found)


def item_view(kind: str) -> Callable:
    """The view of a kind's pages at its registry URL, for kinds without a view of their own."""

    def view(item_id: str):
        return item_page(kind, item_id)

    view.__name__ = f"{kind}_page"
    return view
