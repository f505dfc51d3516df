"""The content-kind registry: a kind declared once is read, checked, indexed, searched, listed and served.

A scratch kind, "dossier" (a newsroom's file on one subject, quoting its sources), is declared here
in a registry of its own beside the shipped kinds: no other module of kb is touched, and its page
is one template.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, DictLoader

from kb.content.check import check_text, check_tree
from kb.content.fields import EVIDENCE_KEYS, open_document, problem_at
from kb.content.kinds import KINDS
from kb.content.model import Evidence
from kb.content.registry import Indexed, InvalidKey, Key, Kind, Kinds
from kb.content.tree import read_tree
from kb.newsroom import workflow
from kb.search.index import SearchIndex
from kb.search.query import Search
from kb.web import create_app

from .conftest import write


class Dossier:
    """A dossier as its file says it: a title, quotes from sources, a text."""

    def __init__(self, item_id, title, quotes, body, path, lines):
        self.id, self.title, self.quotes, self.body, self.path, self.lines = item_id, title, quotes, body, path, lines


def parse_dossier(path: Path, text: str):
    document, fields, problems = open_document(path, text, ("id", "title", "evidence"))
    if document is None:
        return None, problems
    quotes = []
    for index, item in enumerate(fields.items(document.data, "evidence")):
        data = fields.mapping(item, f"evidence[{index}]", "une preuve")
        proof = fields.quote(data, f"evidence[{index}]", EVIDENCE_KEYS, position=index) if data is not None else None
        if proof is not None:
            quotes.append(proof)
    title = fields.text(document.data, "title", required=True)
    return Dossier(path.stem, title, quotes, document.body.strip(), path, document.lines), problems


def check_dossier(dossier, tree, today: date):
    return [] if dossier.body else [problem_at(dossier, "title", "dossier sans texte", "warning")]


def dossier_quotes(dossier) -> list[tuple[str, Evidence]]:
    return [(f"evidence[{proof.position}]", proof) for proof in dossier.quotes]


DOSSIER = Kind(
    name="dossier",
    folder="dossiers",
    label="Dossier",
    plural="dossiers",
    parse=parse_dossier,
    max_bytes=64 * 1024,
    url="/dossiers/{id}",
    indexed=lambda dossier: Indexed(title=dossier.title, texts=[dossier.body], snippet=dossier.body),
    check=check_dossier,
    quotes=dossier_quotes,
    keys=("title", "evidence"),
    optional=True,
)
WITH_DOSSIERS = Kinds([*KINDS, DOSSIER])

DOSSIER_FILE = """\
---
title: Les balayeuses de Marcq et La Madeleine
evidence:
  - source: deliberation-test
    quote: "achat de deux balayeuses"
---
Notre enquête sur l'achat groupé de balayeuses entre les deux villes.
"""
DOSSIER_TEMPLATE = '{% extends "base.html" %}{% block main %}<h1 class="dossier">{{ item.title }}</h1>{% endblock %}'


@pytest.fixture
def with_dossier(content_dir: Path) -> Path:
    write(content_dir / "dossiers" / "balayeuses.md", DOSSIER_FILE)
    return content_dir


def test_a_kind_declared_in_a_registry_is_read_from_its_folder(with_dossier):
    tree = read_tree(with_dossier, kinds=WITH_DOSSIERS)
    assert tree.items["dossier"]["balayeuses"].title == "Les balayeuses de Marcq et La Madeleine"
    assert set(tree.promises) == {"balayeuses-communes"}  # the shipped kinds are read as before


def test_the_shipped_registry_does_not_read_a_folder_it_does_not_declare(with_dossier):
    tree = read_tree(with_dossier)
    assert "dossier" not in tree.items and not [problem for problem in tree.problems if "dossiers" in problem.path]


def test_kb_check_applies_a_new_kinds_rules_and_verifies_its_quotes(with_dossier):
    write(with_dossier / "dossiers" / "vide.md", "---\ntitle: Vide\nevidence:\n  - source: deliberation-test\n    quote: une phrase absente\n---\n")
    report = check_tree(read_tree(with_dossier, kinds=WITH_DOSSIERS), today=date(2026, 1, 1))
    shown = [str(problem) for problem in report.problems]
    assert any("dossiers/vide.md:5: evidence[0].quote: citation introuvable dans la source « deliberation-test »" in line for line in shown)
    assert any("dossiers/vide.md:2: avertissement: title: dossier sans texte" in line for line in shown)
    assert not any("balayeuses.md" in line and "dossiers" in line for line in shown)
    assert report.counts["dossier"] == 2 and report.labels["dossier"] == "dossiers"
    assert report.verified_quotes == 3  # the promise's two quotes and the first dossier's


def test_a_proposed_file_of_a_new_kind_is_checked_like_kb_check_does(with_dossier):
    tree = read_tree(with_dossier, kinds=WITH_DOSSIERS)
    assert check_text(tree, Key("dossier", "nouveau"), DOSSIER_FILE) == []
    [problem] = workflow.validate(tree, "dossier:nouveau", DOSSIER_FILE.replace("achat de deux", "vente de trois"))
    assert problem.field == "evidence[0].quote" and "citation introuvable" in problem.message


def test_a_new_kind_is_indexed_and_found_by_search(with_dossier, tmp_path):
    index = SearchIndex(tmp_path / "index", with_dossier, WITH_DOSSIERS)
    assert index.rebuild() == 6  # the promise, the source, its tracker, two people and the dossier
    results = Search(index, sync_seconds=None).search("enquête balayeuses")
    assert [(hit.kind, hit.id) for hit in results.hits] == [("dossier", "balayeuses")]
    assert results.facets["kind"] == {"dossier": 1}


def test_the_site_serves_lists_and_links_a_new_kind_with_its_template_alone(with_dossier, tmp_path):
    app = create_app(
        {"TESTING": True, "CONTENT_DIR": str(with_dossier), "INSTANCE_DIR": str(tmp_path / "instance"), "CONTENT_RECHECK_SECONDS": 0},
        kinds=WITH_DOSSIERS,
    )
    app.jinja_env.loader = ChoiceLoader([DictLoader({"public/dossier.html": DOSSIER_TEMPLATE}), app.jinja_env.loader])
    client = app.test_client()
    page = client.get("/dossiers/balayeuses")
    assert page.status_code == 200 and '<h1 class="dossier">Les balayeuses de Marcq et La Madeleine</h1>' in page.get_data(as_text=True)
    assert client.get("/dossiers/inconnu").status_code == 404
    assert "http://localhost/dossiers/balayeuses" in client.get("/sitemap.xml").get_data(as_text=True)
    hits = client.get("/api/search?q=enquête").get_json()["results"]
    assert [(hit["kind"], hit["url"]) for hit in hits] == [("dossier", "/dossiers/balayeuses")]


def test_a_key_names_one_file_of_a_known_kind():
    assert KINDS.parse_key("promise:piscine-lomme") == Key("promise", "piscine-lomme")
    assert str(Key("claim", "mel-25-actions")) == "claim:mel-25-actions"
    assert KINDS.path(Path("/srv/content"), "source:deliberation-2026") == Path("/srv/content/sources/deliberation-2026.md")


@pytest.mark.parametrize(
    "text, message",
    [
        ("dossier:x", "type de fiche inconnu : dossier"),
        ("promise:Piscine", "identifiant invalide « Piscine »"),
        ("promise:../../etc/passwd", "identifiant invalide"),
        ("piscine-lomme", "clé invalide « piscine-lomme »"),
        ("promise:" + "a" * 151, "identifiant invalide"),
    ],
)
def test_a_key_that_names_no_possible_file_is_refused_with_a_message(text, message):
    with pytest.raises(InvalidKey, match=message):
        KINDS.parse_key(text)


def test_two_kinds_cannot_share_a_name_or_a_folder():
    with pytest.raises(ValueError, match="declared twice"):
        Kinds([*KINDS, DOSSIER, Kind(**{**DOSSIER.__dict__, "name": "autre"})])


def test_the_publication_log_follows_every_kind_of_the_registry():
    assert WITH_DOSSIERS.publish_actions() == ("promise.publish", "source.publish", "claim.publish", "tracker.publish", "person.publish", "page.publish", "dossier.publish")
