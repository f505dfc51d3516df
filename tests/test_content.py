from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.content.kinds import PROMISE as PROMISE_KIND
from kb.content.kinds import SOURCE as SOURCE_KIND
from kb.content.model import Evidence, HistoryEntry, Promise
from kb.content.promises import to_text as promise_to_text
from kb.content.promises import write as write_promise
from kb.content.render import markdown_to_html
from kb.content.tree import ContentError, read_tree

from .conftest import DEMO_CONTENT


def test_promise_file_is_parsed_into_plain_objects(content_dir):
    promise, problems = PROMISE_KIND.read(content_dir / "promises" / "balayeuses-communes.md")
    assert problems == []
    assert promise.id == "balayeuses-communes"
    assert promise.made_on == date(2017, 4, 11)
    assert promise.due == date(2018, 12, 31)
    assert promise.list_name is None and promise.party == "Les Républicains (LR)"
    assert promise.history[1] == HistoryEntry(
        date(2022, 11, 8),
        "done",
        "Achat réalisé.",
        [Evidence("deliberation-test", "l'adhésion à la Centrale d'Achats Métropolitaine")],
    )
    assert promise.aliases == ["balayeuses"]
    assert promise.body == "Les deux villes ont **acheté** deux balayeuses."
    assert promise.updated_on == date(2022, 11, 8)


def test_source_text_is_kept_exactly(content_dir):
    source, problems = SOURCE_KIND.read(content_dir / "sources" / "deliberation-test.md")
    assert problems == []
    assert source.document_type == "deliberation" and source.reference == "059-2022-11-08-DE-1"
    assert source.text.startswith("Le conseil municipal approuve l’adhésion")
    assert source.text.endswith("une pour chaque commune.\n")


def test_reading_a_tree_gives_vocabulary_promises_and_sources(content_dir):
    tree = read_tree(content_dir)
    assert list(tree.promises) == ["balayeuses-communes"]
    assert list(tree.sources) == ["deliberation-test"]
    assert tree.statuses["partial"].label == "en partie réalisée"
    assert tree.final_statuses == {"done", "abandoned"}
    assert tree.problems == []


def test_round_trip_of_every_demo_promise_gives_the_same_object(tmp_path):
    for path in sorted((DEMO_CONTENT / "promises").glob("*.md")):
        original, _ = PROMISE_KIND.read(path)
        copy = tmp_path / "promises" / path.name
        copy.parent.mkdir(exist_ok=True)
        copy.write_text(promise_to_text(original), encoding="utf-8")
        again, problems = PROMISE_KIND.read(copy)
        assert problems == [], path.name
        assert again == original, path.name


def test_a_file_written_by_kb_is_stable(content_dir):
    path = content_dir / "promises" / "balayeuses-communes.md"
    promise, _ = PROMISE_KIND.read(path)
    write_promise(content_dir, promise)
    first = path.read_text(encoding="utf-8")
    write_promise(content_dir, PROMISE_KIND.read(path)[0])
    assert path.read_text(encoding="utf-8") == first


def test_a_file_written_by_kb_is_yaml_a_person_can_edit(content_dir):
    path = content_dir / "promises" / "balayeuses-communes.md"
    promise, _ = PROMISE_KIND.read(path)
    promise.reply = "Première ligne.\nDeuxième ligne : avec deux-points."
    text = promise_to_text(promise)
    assert "made_on: 2017-04-11\n" in text
    assert "history:\n  - date: 2017-04-11\n    status: planned\n" in text
    assert "reply: |-\n  Première ligne.\n  Deuxième ligne : avec deux-points.\n" in text
    assert "Barœul" in text  # written as UTF-8, not as \u escapes


def test_writing_leaves_no_temporary_file(content_dir):
    promise, _ = PROMISE_KIND.read(content_dir / "promises" / "balayeuses-communes.md")
    write_promise(content_dir, promise)
    assert sorted(p.name for p in (content_dir / "promises").iterdir()) == ["balayeuses-communes.md"]


texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60
).filter(lambda value: value.strip() == value and value)
lines = st.lists(texts, min_size=1, max_size=3).map("\n".join)
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2026, 1, 1))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=texts, note=lines, reply=lines, quote=texts, day=dates, body=lines)
def test_round_trip_keeps_any_text(tmp_path_factory, title, note, reply, quote, day, body):
    promise = Promise(
        id="p",
        title=title,
        tracker="lille-2020-2026",
        made_by=["elue"],
        territory="Lille",
        theme="Gouvernance",
        made_on=day,
        status="planned",
        history=[HistoryEntry(day, "planned", note, [Evidence("s", quote)])],
        reply=reply,
        body=body.strip("\n"),
    )
    root = tmp_path_factory.mktemp("round")
    (root / "promises").mkdir()
    again, problems = PROMISE_KIND.read(write_promise(root, promise))
    assert problems == []
    assert again == promise


def test_markdown_is_rendered_then_sanitized():
    html = markdown_to_html(
        "**gras** [lien](https://example.org) <script>alert(1)</script>"
        ' <img src=x onerror="alert(1)"> [piège](javascript:alert(1))'
    )
    assert "<strong>gras</strong>" in html
    assert 'href="https://example.org"' in html
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html


def test_writing_refuses_an_id_that_is_not_a_file_name(content_dir):
    promise, _ = PROMISE_KIND.read(content_dir / "promises" / "balayeuses-communes.md")
    promise.id = "../ailleurs"
    with pytest.raises(ContentError, match="identifiant"):
        write_promise(content_dir, promise)
    assert not (content_dir / "ailleurs.md").exists()


def test_writing_refuses_a_promise_that_would_not_read_back(content_dir):
    path = content_dir / "promises" / "balayeuses-communes.md"
    before = path.read_bytes()
    promise, _ = PROMISE_KIND.read(path)
    promise.title = None
    with pytest.raises(ContentError, match="title"):
        write_promise(content_dir, promise)
    assert path.read_bytes() == before


def test_every_shipped_content_file_is_already_in_the_layout_kb_writes():
    # So the first publish of a promise changes only what the journalist changed.
    for path in sorted((DEMO_CONTENT / "promises").glob("*.md")):
        promise, _ = PROMISE_KIND.read(path)
        assert promise_to_text(promise) == path.read_text(encoding="utf-8"), path.name


def test_markdown_is_reduced_to_its_words_for_snippets():
    from kb.content.render import markdown_to_text

    text = "## Titre\n\nLa **Ville** de _Lille_ [précise](https://x.fr) que `rien`.\n- un point\n1. deux &amp; trois"
    assert markdown_to_text(text) == "Titre\n\nLa Ville de Lille précise que rien.\nun point\ndeux & trois"


def test_related_promises_share_territory_and_theme_first():
    tree = read_tree(DEMO_CONTENT)
    promise = tree.promises["mel-centrale-achats-metropolitaine"]
    related = tree.related(promise)
    assert len(related) == 5 and promise not in related
    pairs = [(other.territory, other.theme) == (promise.territory, promise.theme) for other in related]
    assert pairs == sorted(pairs, reverse=True)  # same territory and theme before the others
