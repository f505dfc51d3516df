"""The record as of any date: `?au=` on the home, tracker and person pages, and /api/scorecard, from the histories."""

from datetime import date

import pytest

from kb.content import listing
from kb.content.tree import read_tree

from .conftest import DEMO_CONTENT

AUBRY = "aubry-mutualisation-lille-lomme-hellemmes"



@pytest.fixture
def demo_client(tmp_path):
    from kb.web import create_app

    return create_app({"TESTING": True, "CONTENT_DIR": str(DEMO_CONTENT), "INSTANCE_DIR": str(tmp_path)}).test_client()


def expected(day: date, tracker: str | None = None, author: str | None = None):
    """The record on `day` as the tree in memory counts it: each promise's status that day, those not made yet left out."""
    tree = read_tree(DEMO_CONTENT)
    promises = [
        promise for promise in tree.promises.values()
        if (tracker is None or promise.tracker == tracker) and (author is None or author in promise.made_by)
    ]  # fmt: skip
    return listing.final_record(promises, list(tree.statuses), day, tree.final_statuses)


def api(client, **args):
    response = client.get("/api/scorecard", query_string=args)
    return response.status_code, response.get_json()


def test_the_api_gives_the_record_on_a_day_inside_the_histories(demo_client):
    for day in (date(2016, 1, 1), date(2021, 6, 30), date(2026, 1, 27), date(2026, 1, 28)):
        card = expected(day)
        status, data = api(demo_client, au=day.isoformat())
        assert status == 200
        assert data == {"au": day.isoformat(), "total": card.total, "counts": card.counts, "overdue": card.overdue}


def test_a_promise_not_made_yet_is_not_counted(demo_client):
    _, eve = api(demo_client, au="2020-03-14", tracker="lille-2020-2026", made_by="martine-aubry")
    _, day = api(demo_client, au="2020-03-15", tracker="lille-2020-2026", made_by="martine-aubry")
    assert eve["total"] == 0 and day["total"] == expected(date(2020, 3, 15), "lille-2020-2026", "martine-aubry").total >= 1
    assert api(demo_client, au="2000-01-01")[1]["counts"] == {}


def test_the_aubry_promise_counts_as_planned_before_its_update_and_partial_after(demo_client):
    _, before = api(demo_client, au="2026-01-27", made_by="martine-aubry", tracker="lille-2020-2026")
    _, after = api(demo_client, au="2026-01-28", made_by="martine-aubry", tracker="lille-2020-2026")
    assert before["counts"] == {"planned": 1} and after["counts"] == {"partial": 1}


def test_the_api_filters_by_tracker_and_author(demo_client):
    day = date(2019, 12, 31)
    _, data = api(demo_client, au=day.isoformat(), tracker="mel-mutualisation-2015-2020")
    assert data["counts"] == expected(day, tracker="mel-mutualisation-2015-2020").counts


def test_a_bad_or_future_date_is_refused_by_the_api_saying_why(demo_client):
    status, data = api(demo_client, au="31/12/2019")
    assert status == 400 and "AAAA-MM-JJ" in data["message"]
    status, data = api(demo_client, au="2999-01-01")
    assert status == 400 and "futur" in data["message"]


def test_an_unknown_tracker_or_author_is_not_found(demo_client):
    assert api(demo_client, tracker="nulle-part")[0] == 404
    assert api(demo_client, made_by="personne")[0] == 404


def test_the_home_page_shows_every_scorecard_as_of_the_day_asked(demo_client):
    html = demo_client.get("/?au=2021-06-30").get_data(as_text=True)
    card = expected(date(2021, 6, 30))
    assert "Le bilan au <time datetime=\"2021-06-30\">30/06/2021</time>" in html
    assert f"{card.total} promesse" in html or str(card.total) in html
    assert 'value="2021-06-30"' in html and "revenir à aujourd'hui" in html


def test_a_bad_date_on_a_page_is_set_aside_with_a_notice(demo_client):
    response = demo_client.get("/?au=hier")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "date « hier » ignorée" in html and "<h2 id=\"bilan\">Le bilan</h2>" in html


def test_the_tracker_page_shows_its_record_on_the_day_asked(demo_client):
    day = date(2024, 1, 1)
    card = expected(day, tracker="mel-mutualisation-2022-2026")
    html = demo_client.get(f"/suivis/mel-mutualisation-2022-2026?au={day.isoformat()}").get_data(as_text=True)
    assert f"Le bilan au <time datetime=\"2024-01-01\">01/01/2024</time> : {card.total} promesse" in html


def test_the_person_page_shows_her_record_on_the_day_asked(demo_client):
    html = demo_client.get("/elus/martine-aubry?au=2026-01-27").get_data(as_text=True)
    assert "au <time datetime=\"2026-01-27\">27/01/2026</time>" in html


def test_the_scorecard_bar_fills_exactly_one_hundred_percent(demo_client):
    card = listing.Scorecard(total=45, counts={"planned": 17, "in_progress": 14, "done": 14}, overdue=0)
    assert sum(card.shares().values()) == 100 and card.share("planned") == 38


# -- pictures: the record over time, a promise's timeline ---------------------------------------


def chart_rows(html: str) -> list[list[str]]:
    """The rows of the table under the record-over-time chart: the chart's own figures."""
    import re

    figure = html[html.index('<figure class="chart">') :]
    table = figure[figure.index("<tbody>") : figure.index("</tbody>")]
    return [re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row) for row in table.split("<tr>")[1:]]


def test_the_record_over_time_counts_what_the_histories_say_on_each_date(demo_client):
    from kb.catalog import queries

    app = demo_client.application
    demo_client.get("/")
    tree = read_tree(DEMO_CONTENT)
    with app.test_request_context("/"):
        from kb.web.content_store import current_tree

        view = current_tree()
        days = queries.chart_days(date(2012, 1, 1), date(2026, 11, 30))
        for day, counts in queries.record_over_time(view, days):
            assert counts == listing.final_record(list(tree.promises.values()), list(tree.statuses), day, tree.final_statuses).counts, day


def test_the_home_charts_last_bar_is_todays_scorecard(demo_client):
    html = demo_client.get("/").get_data(as_text=True)
    card = expected(date.today())
    assert '<svg role="img" aria-labelledby="bilan-temps-titre bilan-temps-desc"' in html
    last = chart_rows(html)[-1]
    assert last[0] == date.today().strftime("%d/%m/%Y") and int(last[-1]) == card.total
    tree = read_tree(DEMO_CONTENT)
    shown = [key for key in tree.statuses if key in card.counts]
    assert [int(cell) for cell in last[1:-1]] == [card.counts[key] for key in shown]


def test_a_tracker_chart_ends_at_its_records_day_and_matches_its_final_record(demo_client):
    html = demo_client.get("/suivis/mel-mutualisation-2015-2020").get_data(as_text=True)
    last = chart_rows(html)[-1]
    tree = read_tree(DEMO_CONTENT)
    end = tree.trackers["mel-mutualisation-2015-2020"].term_end
    final = expected(end, tracker="mel-mutualisation-2015-2020")
    assert last[0] == end.strftime("%d/%m/%Y") and int(last[-1]) == final.total


def test_a_promise_page_draws_its_timeline_and_where_it_stands(demo_client):
    html = demo_client.get(f"/promesses/{AUBRY}").get_data(as_text=True)
    timeline = html[html.index('<figure class="chart timeline-chart">') : html.index("</figure>", html.index("timeline-chart"))]
    assert timeline.count("<circle") == 2 and "échéance" in timeline and "aujourd'hui" in timeline
    assert "<title>28/01/2026 : en partie réalisée</title>" in timeline
    assert 'role="img" aria-label="Statut : en partie réalisée"' in html and 'meter-current status-partial' in html


# -- report cards ---------------------------------------------------------------------------------


def report_cards(html: str) -> dict[str, dict]:
    """Each report card of a page: its counts as written, and its bar's parts as drawn (x, width, colour)."""
    import re

    cards = {}
    for block in html.split('<li class="report-card">')[1:]:
        slug = re.search(r'href="/elus/([^"]+)"', block).group(1)
        parts = [(int(x), int(width)) for x, width in re.findall(r'<rect x="(\d+)" y="0" width="(\d+)"', block)]
        counts = [int(count) for count in re.findall(r"</span> <strong>(\d+)</strong></li>", block)]
        cards[slug] = {"parts": parts, "counts": counts}
    return cards


def test_each_persons_report_card_draws_and_writes_their_scorecard(demo_client):
    cards = report_cards(demo_client.get("/").get_data(as_text=True))
    assert set(cards) == {"metropole-europeenne-de-lille", "bernard-gerard", "sebastien-lepretre", "lille-metropole", "martine-aubry"}
    for slug, drawn in cards.items():
        card = expected(date.today(), author=slug)
        shares = listing.Scorecard(total=card.total, counts=card.counts, overdue=0).shares()
        assert drawn["counts"] == list(card.counts.values()), slug
        assert [width for _, width in drawn["parts"]] == list(shares.values()), slug
        # The parts follow one another and fill the bar exactly.
        assert [x for x, _ in drawn["parts"]] == [sum(list(shares.values())[:n]) for n in range(len(shares))]
        assert sum(shares.values()) == 100


def test_report_cards_follow_the_day_asked(demo_client):
    day = date(2016, 1, 1)
    cards = report_cards(demo_client.get("/", query_string={"au": day.isoformat()}).get_data(as_text=True))
    for slug, drawn in cards.items():
        assert drawn["counts"] == list(expected(day, author=slug).counts.values()), slug
    assert "lille-metropole" in cards and "martine-aubry" not in cards  # her promise of 2020 was not made yet


def test_a_tracker_followed_for_several_people_gives_each_a_report_card(tmp_path):
    import shutil

    from kb.web import create_app

    content = shutil.copytree(DEMO_CONTENT, tmp_path / "content")
    promise = content / "promises" / f"{AUBRY}.md"
    promise.write_text(promise.read_text(encoding="utf-8").replace("made_by: martine-aubry", "made_by:\n  - martine-aubry\n  - lille-metropole"), encoding="utf-8")
    client = create_app({"TESTING": True, "CONTENT_DIR": str(content), "INSTANCE_DIR": str(tmp_path / "instance")}).test_client()
    html = client.get("/suivis/lille-2020-2026").get_data(as_text=True)
    assert 'id="par-elu"' in html
    cards = report_cards(html)
    assert set(cards) == {"martine-aubry", "lille-metropole"}
    assert cards["lille-metropole"]["counts"] == [1]  # a joint promise counts for each of its authors
