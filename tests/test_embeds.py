"""Cards other sites embed (promise, person, tracker), the only framable pages, and oEmbed for a pasted link."""

import re
from html.parser import HTMLParser

import pytest

from kb.web import create_app

from .conftest import DEMO_CONTENT, corrupt

AUBRY = "aubry-mutualisation-lille-lomme-hellemmes"
HOST = "http://localhost"


@pytest.fixture
def demo_client(tmp_path):
    return create_app({"TESTING": True, "CONTENT_DIR": str(DEMO_CONTENT), "INSTANCE_DIR": str(tmp_path)}).test_client()


def frame_ancestors(response) -> str:
    return re.search(r"frame-ancestors ([^;]+)", response.headers["Content-Security-Policy"]).group(1)


def test_a_promise_card_shows_its_status_deadline_last_quote_and_a_link_back(demo_client):
    response = demo_client.get(f"/integrer/promesses/{AUBRY}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Approfondir la mutualisation entre Lille, Lomme et Hellemmes" in html
    assert '<span class="badge status-partial">en partie réalisée</span>' in html
    assert "échéance <time datetime=\"2026-03-31\">" in html
    assert "« Promesse en partie appliquée »" in html  # the quote behind its latest status
    assert f'href="{HOST}/promesses/{AUBRY}" target="_blank" rel="noopener"' in html


def test_cards_may_be_framed_by_any_site_and_carry_no_script(demo_client):
    for url in (f"/integrer/promesses/{AUBRY}", "/integrer/elus/martine-aubry", "/integrer/suivis/lille-2020-2026"):
        response = demo_client.get(url)
        assert response.status_code == 200, url
        assert frame_ancestors(response) == "*", url
        assert "X-Frame-Options" not in response.headers, url
        assert "script-src 'none'" in response.headers["Content-Security-Policy"]
        assert "<script" not in response.get_data(as_text=True)


def test_every_other_page_still_refuses_to_be_framed(demo_client):
    for url in ("/", f"/promesses/{AUBRY}", "/elus/martine-aubry", "/suivis/lille-2020-2026", "/redaction/connexion", "/promesses/absente"):
        response = demo_client.get(url)
        assert frame_ancestors(response) == "'none'", url
        assert response.headers["X-Frame-Options"] == "DENY", url


def test_a_kept_card_is_served_again_with_its_framing_policy(demo_client):
    demo_client.get(f"/integrer/promesses/{AUBRY}")
    again = demo_client.get(f"/integrer/promesses/{AUBRY}")
    assert again.status_code == 200 and frame_ancestors(again) == "*"


def test_a_card_revalidated_by_a_cache_stays_framable(demo_client):
    etag = demo_client.get(f"/integrer/promesses/{AUBRY}").headers["ETag"]
    again = demo_client.get(f"/integrer/promesses/{AUBRY}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and frame_ancestors(again) == "*" and "X-Frame-Options" not in again.headers


def test_a_person_card_counts_the_same_promises_as_their_page(demo_client):
    card = demo_client.get("/integrer/elus/martine-aubry").get_data(as_text=True)
    page = demo_client.get("/elus/martine-aubry").get_data(as_text=True)
    total = re.search(r'<h2 id="bilan">(\d+) promesses?', page).group(1)
    assert f"{total} promesse" in card
    assert "Dernier changement le" in card
    assert 'role="img"' in card and "Bulletin de Martine Aubry" in card  # the bar says itself to screen readers


def test_a_closed_tracker_card_shows_its_final_record(demo_client):
    html = demo_client.get("/integrer/suivis/marcq-la-madeleine-2014-2020").get_data(as_text=True)
    assert "bilan final au" in html
    assert "Marcq-en-Barœul et La Madeleine" in html


def test_a_withdrawn_promise_leaves_a_framable_notice_not_a_refused_frame(demo_client):
    response = demo_client.get("/integrer/promesses/retiree")
    assert response.status_code == 404
    assert frame_ancestors(response) == "*"
    assert "n'est plus publiée" in response.get_data(as_text=True)


def test_a_renamed_promise_card_moves_with_it(client):
    response = client.get("/integrer/promesses/balayeuses")  # the promise's alias
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/integrer/promesses/balayeuses-communes")


def test_a_card_follows_a_hand_edit_of_its_promise(client, content_dir):
    assert "réalisée" in client.get("/integrer/promesses/balayeuses-communes").get_data(as_text=True)
    corrupt(content_dir, "  - date: 2022-11-08\n    status: done", "  - date: 2022-11-08\n    status: in_progress")
    corrupt(content_dir, "status: done\nhistory", "status: in_progress\nhistory")
    html = client.get("/integrer/promesses/balayeuses-communes").get_data(as_text=True)
    assert 'class="badge status-in_progress"' in html


# -- the pages offer their card ---------------------------------------------------------------------


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        if tag == "link":
            self.links.append(dict(attrs))


def test_pages_announce_their_oembed_document(demo_client):
    for page, kind in ((f"/promesses/{AUBRY}", "promesses"), ("/elus/martine-aubry", "elus"), ("/suivis/lille-2020-2026", "suivis")):
        parser = Links()
        parser.feed(demo_client.get(page).get_data(as_text=True))
        found = [link for link in parser.links if link.get("type") == "application/json+oembed"]
        assert len(found) == 1, page
        response = demo_client.get(found[0]["href"].removeprefix(HOST))
        assert response.status_code == 200, page
        assert f"/integrer/{kind}/" in response.get_json()["html"]


def test_a_promise_page_gives_the_code_to_copy(demo_client):
    html = demo_client.get(f"/promesses/{AUBRY}").get_data(as_text=True)
    box = html[html.index('class="embed-box"') :]
    assert '<label for="code-integration">' in box
    assert f"&lt;iframe src=&#34;{HOST}/integrer/promesses/{AUBRY}&#34;" in box


# -- oEmbed -----------------------------------------------------------------------------------------


def oembed(client, **args):
    return client.get("/oembed", query_string=args)


def test_oembed_gives_a_rich_iframe_for_a_pasted_promise_link(demo_client):
    response = oembed(demo_client, url=f"{HOST}/promesses/{AUBRY}", format="json")
    document = response.get_json()
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    assert (document["version"], document["type"]) == ("1.0", "rich")
    assert document["title"] == "Approfondir la mutualisation entre Lille, Lomme et Hellemmes"
    assert document["author_name"] == "Martine Aubry"
    assert (document["width"], document["height"]) == (560, 240)
    assert document["html"].startswith(f'<iframe src="{HOST}/integrer/promesses/{AUBRY}"')


def test_oembed_accepts_the_card_address_too_and_fits_maxwidth(demo_client):
    document = oembed(demo_client, url=f"{HOST}/integrer/suivis/lille-2020-2026", maxwidth="400").get_json()
    assert document["width"] == 400 and 'width="400"' in document["html"]


@pytest.mark.parametrize(
    "args, status",
    [
        ({}, 400),
        ({"url": f"{HOST}/promesses/{AUBRY}", "format": "xml"}, 501),
        ({"url": f"https://ailleurs.example.org/promesses/{AUBRY}"}, 404),
        ({"url": f"{HOST}/promesses"}, 404),
        ({"url": f"{HOST}/promesses/absente"}, 404),
        ({"url": "javascript:alert(1)"}, 404),
        ({"url": "http://[::1"}, 404),
        ({"url": f"{HOST}/promesses/{AUBRY}", "maxwidth": "large"}, 400),
        ({"url": f"{HOST}/promesses/{AUBRY}", "maxwidth": "50"}, 404),
    ],
)
def test_oembed_answers_bad_requests_with_a_json_error(demo_client, args, status):
    response = oembed(demo_client, **args)
    assert response.status_code == status
    assert response.get_json()["error"]
