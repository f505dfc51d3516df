"""/recherche and /api/search, as citizens and programs use them."""

import pytest

from .conftest import DEMO_CONTENT

HOSTILE = ['"unbalanced', "*", "AND OR", "title:x", "x" * 10_000, "\x00\x07", "((", "-", "%", "<script>alert(1)</script>"]


@pytest.fixture
def demo_client(tmp_path):
    from kb.web import create_app

    app = create_app({"TESTING": True, "CONTENT_DIR": str(DEMO_CONTENT), "INSTANCE_DIR": str(tmp_path)})
    return app.test_client()


def test_results_page_shows_highlighted_hits_facets_and_pages(demo_client):
    page = demo_client.get("/recherche?q=mutualisation").get_data(as_text=True)
    assert "<mark>" in page
    assert "Statut" in page and "Territoire" in page
    assert 'rel="next"' in page


def test_facet_links_combine_with_the_query_and_each_other(demo_client):
    page = demo_client.get("/recherche?q=mutualisation&kind=promise").get_data(as_text=True)
    assert 'href="/recherche?q=mutualisation&amp;kind=promise&amp;status=planned"' in page
    assert 'aria-current="true" href="/recherche?q=mutualisation"' in page  # removes the kind filter


def test_a_misspelt_query_offers_the_correction(demo_client):
    page = demo_client.get("/recherche?q=mutualistion").get_data(as_text=True)
    assert "Vouliez-vous dire" in page and "mutualisation" in page


@pytest.mark.parametrize("query", HOSTILE)
def test_any_query_gives_a_normal_results_page(demo_client, query):
    response = demo_client.get("/recherche", query_string={"q": query, "page": "abc", "status": "n'importe"})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


@pytest.mark.parametrize("query", HOSTILE)
def test_any_query_gives_json_from_the_api(demo_client, query):
    response = demo_client.get("/api/search", query_string={"q": query, "page": "-2"})
    assert response.status_code == 200
    assert set(response.get_json()) == {"query", "total", "page", "results", "facets", "suggestion"}


def test_api_search_follows_the_contract(demo_client):
    response = demo_client.get("/api/search?q=balayeuses&kind=promise")
    data = response.get_json()
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert data["query"] == "balayeuses" and data["page"] == 1 and data["suggestion"] is None
    assert data["total"] == len(data["results"]) == 1
    hit = data["results"][0]
    assert hit == {
        "id": "marcq-la-madeleine-balayeuses",
        "kind": "promise",
        "title": hit["title"],
        "url": "/promesses/marcq-la-madeleine-balayeuses",
        "status": "done",
        "verdict": None,
        "snippet": hit["snippet"],
    }
    assert "<mark>balayeuses</mark>" in hit["snippet"]
    assert data["facets"]["kind"] == {"promise": 1, "source": 1}  # kind's own filter is not applied to its counts
    assert data["facets"]["status"] == {"done": 1}


def test_a_results_page_asked_again_is_drawn_once_while_its_results_hold(demo_client, monkeypatch):
    import kb.web.public.search as search_view

    drawn = []
    render = search_view.render_template
    monkeypatch.setattr(search_view, "render_template", lambda *args, **kwargs: drawn.append(args) or render(*args, **kwargs))
    first = demo_client.get("/recherche?q=mutualisation&kind=promise").get_data(as_text=True)
    assert demo_client.get("/recherche?q=mutualisation&kind=promise").get_data(as_text=True) == first
    assert len(drawn) == 1
    demo_client.get("/recherche?q=mutualisation&kind=claim")  # other arguments, another page
    assert len(drawn) == 2


def test_a_results_page_shows_a_new_status_label_though_its_results_hold(demo_copy, tmp_path):
    from kb.web import create_app

    app = create_app({"TESTING": True, "CONTENT_DIR": str(demo_copy), "INSTANCE_DIR": str(tmp_path / "instance"), "CONTENT_RECHECK_SECONDS": 0})
    client = app.test_client()
    assert "en partie réalisée" in client.get("/recherche?q=mutualisation").get_data(as_text=True)
    statuses = demo_copy / "statuses.yml"
    statuses.write_text(statuses.read_text(encoding="utf-8").replace("en partie réalisée", "à moitié faite"), encoding="utf-8")
    page = client.get("/recherche?q=mutualisation").get_data(as_text=True)
    assert "à moitié faite" in page and "en partie réalisée" not in page


def test_a_search_with_no_result_says_so_without_an_empty_refine_box(demo_client):
    html = demo_client.get("/recherche?q=zzzqqqxxy").get_data(as_text=True)
    assert "Aucun résultat</h2>" in html and "0 résultat" not in html and "Affiner" not in html
