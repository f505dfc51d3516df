"""The reviewer's diff: field by field, word by word, statuses by their label."""

from kb.newsroom.diff import file_diff, word_diff

from .conftest import PROMISE


def test_word_diff_marks_only_the_words_that_changed():
    assert word_diff("la paie est unifiée", "la paie sera unifiée") == [
        ("equal", "la paie "), ("delete", "est"), ("insert", "sera"), ("equal", " unifiée"),
    ]  # fmt: skip


def test_unchanged_fields_are_not_listed():
    changed = PROMISE.replace("theme: Propreté", "theme: Voirie")
    assert [change.name for change in file_diff(PROMISE, changed)] == ["theme"]


def test_a_status_change_reads_as_labels():
    changed = PROMISE.replace("status: done\nhistory", "status: partial\nhistory")
    labels = {"done": "réalisée", "partial": "en partie réalisée"}
    [change] = [change for change in file_diff(PROMISE, changed, labels.get) if change.name == "status"]
    assert change.segments == [("insert", "en partie "), ("equal", "réalisée")]


def test_a_new_file_is_all_added():
    changes = file_diff(None, PROMISE)
    assert {change.change for change in changes} == {"added"}
    assert any(change.name == "body" for change in changes)


def test_the_analysis_is_diffed_word_by_word():
    changed = PROMISE.replace("ont **acheté** deux", "ont **loué** deux")
    [change] = file_diff(PROMISE, changed)
    assert change.name == "body" and ("insert", "**loué**") in change.segments


def test_a_long_text_falls_back_to_lines():
    old = "\n".join(f"ligne {n} du document" for n in range(5_000))
    new = old.replace("ligne 2500 du", "ligne 2500 modifiée du")
    segments = word_diff(old, new)
    assert ("insert", "ligne 2500 modifiée du document\n") in segments


def test_unchanged_history_entries_are_folded_into_one_line():
    entry = "  - date: 2023-05-01\n    status: partial\n    note: Nouvelle étape.\n"
    changed = PROMISE.replace("reply: La Ville", entry + "reply: La Ville").replace("status: done\nhistory", "status: partial\nhistory")
    [history] = [change for change in file_diff(PROMISE, changed) if change.name == "history"]
    assert history.segments == [("equal", "[2 entrées inchangées]\n"), ("insert", "2023-05-01 · partial — Nouvelle étape.\n")]


def test_a_huge_text_is_summarised_not_compared():
    segments = word_diff("a\n" * 300_000, "b\n" * 300_000)
    assert [kind for kind, _ in segments] == ["delete", "insert"] and "trop long" in segments[1][1]
