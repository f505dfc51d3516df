"""Scorecards by group, kept by a server process and moved by the rows each change touches, stay those counted anew."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from kb.catalog import tallies
from kb.catalog.listed import Listed
from kb.content import listing

TODAY = date(2026, 6, 1)
FINAL = {"done", "abandoned"}
STATUSES = ["planned", "started", "done", "abandoned"]


def row(number: int, status: str, authors: tuple[str, ...], territory: str | None, tracker: str | None, due: date | None) -> Listed:
    return Listed(
        id=f"p-{number:03d}", key=f"promise:p-{number:03d}", title=f"Promesse {number}", status=status, made_by=authors,
        party=None, list_name=None, territory=territory, territory_slug=listing.slug(territory) if territory else None,
        theme=None, tracker=tracker, updated_on=None, due=due,
    )  # fmt: skip


ROWS = st.builds(
    row,
    st.integers(min_value=0, max_value=40),
    st.sampled_from(STATUSES + ["hors-vocabulaire"]),
    st.lists(st.sampled_from(["aubry", "Martine Aubry", "MARTINE AUBRY", "baert", "Jean Dupont"]), max_size=3, unique=True).map(tuple),
    st.sampled_from([None, "Lille", "LILLE", "Lomme", "Hellemmes"]),  # two spellings of one slug
    st.sampled_from([None, "mandat-2020", "mandat-2014"]),
    st.sampled_from([None, date(2025, 1, 1), date(2027, 1, 1)]),
)


def by_id(rows) -> list[Listed]:
    return sorted({row.id: row for row in rows}.values(), key=lambda row: row.id)


CHANGES = st.lists(st.tuples(st.integers(min_value=0, max_value=40), st.none() | ROWS), max_size=5)  # one refresh's


@settings(max_examples=300, deadline=None)
@given(start=st.lists(ROWS, max_size=30), refreshes=st.lists(CHANGES, max_size=6))
def test_a_tally_moved_by_each_refresh_equals_the_tally_counted_anew(start, refreshes):
    rows = by_id(start)
    kept = {grouping: tallies.tally(rows, grouping, TODAY, FINAL) for grouping in tallies.GROUPINGS}
    for changes in refreshes:
        # Promises withdrawn (None), edited or published, several at once: the rows of those ids go, the new ones come.
        latest = {f"p-{number:03d}": new for number, new in changes}
        gone = [old for old in rows if old.id in latest]
        came = [replace(new, id=item_id, key=f"promise:{item_id}") for item_id, new in latest.items() if new is not None]
        rows = by_id([old for old in rows if old.id not in latest] + came)
        kept = {grouping: tallies.moved(tally, gone, came, grouping, TODAY, FINAL, rows) for grouping, tally in kept.items()}
    for grouping, tally in kept.items():
        assert tally == tallies.tally(rows, grouping, TODAY, FINAL), grouping


def test_a_group_s_scorecard_is_the_one_listing_counts_for_its_promises():
    rows = [
        row(1, "done", ("aubry",), "Lille", "mandat-2020", date(2025, 1, 1)),
        row(2, "planned", ("aubry", "baert"), "Lille", "mandat-2020", date(2025, 1, 1)),  # late
        row(3, "hors-vocabulaire", ("baert",), "Lomme", None, None),
    ]
    counted = tallies.tally(rows, "made_by", TODAY, FINAL)
    for author in ("aubry", "baert"):
        theirs = [promise for promise in rows if author in promise.made_by]
        assert tallies.scorecard(counted, author, STATUSES) == listing.scorecard(theirs, STATUSES, TODAY, FINAL)
    assert tallies.scorecard(counted, "personne", STATUSES) == listing.scorecard([], STATUSES, TODAY, FINAL)


def test_a_group_is_named_as_its_first_promise_by_id_writes_it_even_after_that_promise_goes():
    rows = [row(1, "done", (), "LILLE", None, None), row(2, "done", (), "Lille", None, None), row(3, "done", (), "Lille", None, None)]
    counted = tallies.tally(rows, "territory", TODAY, FINAL)
    assert counted.first["lille"] == ("p-001", 0, "LILLE")
    moved = tallies.moved(counted, [rows[0]], [], "territory", TODAY, FINAL, rows[1:])
    assert moved.first["lille"] == ("p-002", 0, "Lille")


def test_authors_written_two_ways_are_one_group_named_as_first_written():
    rows = [row(1, "done", ("MARTINE AUBRY",), None, None, None), row(2, "planned", ("Martine Aubry", "baert"), None, None, None)]
    counted = tallies.tally(rows, "made_by", TODAY, FINAL)
    merged = tallies.merged(counted, {author: listing.slug(author) for author in counted.totals})
    assert merged.totals == {"martine-aubry": 2, "baert": 1}
    assert merged.by_status["martine-aubry"] == {"done": 1, "planned": 1}
    assert merged.first["martine-aubry"] == ("p-001", 0, "MARTINE AUBRY")
