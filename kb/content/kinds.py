"""The content kinds kb ships, each declared once: promises, source documents, claims (fact-checks), trackers, people, the newsroom's own pages.

Everything that depends on a kind reads this registry (see kb.content.registry); to add a kind,
write its module (parse, checks, what search indexes), add its entry here, and its templates.
"""

from __future__ import annotations

from kb.content import claims, pages, people, promises, sources, trackers
from kb.content.model import Claim, Page, Person, Promise, Source, Tracker
from kb.content.registry import Kind, Kinds
from kb.config.i18n import N_

PROMISE = Kind(
    name="promise",
    folder="promises",
    label=N_("Promesse"),
    plural="promesses",
    parse=promises.parse,
    to_text=promises.to_text,
    max_bytes=promises.MAX_BYTES,
    keys=promises.KEYS,
    check=promises.check,
    check_together=promises.check_together,
    quotes=promises.quotes,
    indexed=promises.indexed,
    state_key="status",
    url="/promesses/{id}",
    item_type=Promise,
)
SOURCE = Kind(
    name="source",
    folder="sources",
    label=N_("Document source"),
    plural="sources",
    parse=sources.parse,
    to_text=sources.to_text,
    max_bytes=sources.MAX_BYTES,
    keys=sources.KEYS,
    check=sources.check,
    indexed=sources.indexed,
    url="/sources/{id}",
    item_type=Source,
)
CLAIM = Kind(
    name="claim",
    folder="claims",
    label=N_("Vérification"),
    plural="vérifications",
    parse=claims.parse,
    to_text=claims.to_text,
    max_bytes=claims.MAX_BYTES,
    keys=claims.KEYS,
    check=claims.check,
    quotes=claims.quotes,
    indexed=claims.indexed,
    state_key="verdict",
    url="/affirmations/{id}",
    optional=True,  # came after the first trees
    item_type=Claim,
)

TRACKER = Kind(
    name="tracker",
    folder="trackers",
    label=N_("Suivi"),
    plural="suivis",
    parse=trackers.parse,
    to_text=trackers.to_text,
    max_bytes=trackers.MAX_BYTES,
    keys=trackers.KEYS,
    check=trackers.check,
    indexed=trackers.indexed,
    url="/suivis/{id}",
    optional=True,  # came after the first trees (their promises then say which tracker is missing)
    item_type=Tracker,
    example=trackers.EXAMPLE,
)

PERSON = Kind(
    name="person",
    folder="people",
    label=N_("Élu ou institution"),
    plural="élus et institutions",
    parse=people.parse,
    to_text=people.to_text,
    max_bytes=people.MAX_BYTES,
    keys=people.KEYS,
    check=people.check,
    check_together=people.check_together,
    indexed=people.indexed,
    url="/elus/{id}",
    optional=True,  # came after the first trees (`kb people migrate` writes it from their promises)
    item_type=Person,
    example=people.EXAMPLE,
)

PAGE = Kind(
    name="page",
    folder="pages",
    label=N_("Page"),
    plural="pages",
    parse=pages.parse,
    to_text=pages.to_text,
    max_bytes=pages.MAX_BYTES,
    keys=pages.KEYS,
    indexed=pages.indexed,
    url="/pages/{id}",
    optional=True,
    item_type=Page,
    example=pages.EXAMPLE,
)

KINDS = Kinds([PROMISE, SOURCE, CLAIM, TRACKER, PERSON, PAGE])
