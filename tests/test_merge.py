"""Rebasing after a conflict: each side's changes kept, clashes named."""

from pathlib import Path

from kb.content.promises import parse as parse_promise
from kb.newsroom.merge import merge_files

from .conftest import PROMISE


def meaning(text: str):
    promise, problems = parse_promise(Path("balayeuses-communes.md"), text)
    assert problems == []
    return promise


def test_changes_to_different_fields_are_both_kept():
    mine = PROMISE.replace("title: Acheter deux balayeuses en commun", "title: Acheter deux balayeuses")
    theirs = PROMISE.replace("theme: Propreté", "theme: Voirie")
    merged, clashes = merge_files(PROMISE, mine, theirs)
    expected = mine.replace("theme: Propreté", "theme: Voirie")
    assert clashes == [] and meaning(merged) == meaning(expected)


def test_the_same_field_changed_differently_keeps_mine_and_says_so():
    mine = PROMISE.replace("theme: Propreté", "theme: Propreté urbaine")
    theirs = PROMISE.replace("theme: Propreté", "theme: Voirie")
    merged, clashes = merge_files(PROMISE, mine, theirs)
    assert clashes == ["theme"] and "theme: Propreté urbaine" in merged


def test_history_entries_added_on_both_sides_are_all_kept_in_date_order():
    entry = "  - date: {day}\n    status: {status}\n    note: {note}\n"
    tail = "reply: La Ville"
    mine = PROMISE.replace(tail, entry.format(day="2023-05-01", status="partial", note="Mine.") + tail).replace("status: done\nhistory", "status: partial\nhistory")
    theirs = PROMISE.replace(tail, entry.format(day="2023-03-01", status="paused", note="Theirs.") + tail).replace("status: done\nhistory", "status: paused\nhistory")
    merged, clashes = merge_files(PROMISE, mine, theirs)
    assert merged.index("Theirs.") < merged.index("Mine.")
    assert "status: partial\nhistory" in merged  # the latest entry's status
    assert clashes == []  # status follows history: not a clash of its own


def test_a_file_deleted_meanwhile_leaves_my_version():
    assert merge_files(PROMISE, PROMISE + "x", None) == (PROMISE + "x", [])
