"""Pages are rendered once per state of the content and revalidated with ETags."""

from sqlalchemy import update

from kb.catalog import tables
from kb.web.page_cache import rehearse


def test_an_unchanged_page_revalidates_with_304_and_no_body(client):
    first = client.get("/promesses/balayeuses-communes")
    assert first.status_code == 200 and first.headers["ETag"]
    again = client.get("/promesses/balayeuses-communes", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_editing_a_file_changes_the_page_and_its_etag_at_once(client, content_dir):
    first = client.get("/promesses/balayeuses-communes")
    path = content_dir / "promises" / "balayeuses-communes.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Acheter deux", "Acheter trois"), encoding="utf-8")
    after = client.get("/promesses/balayeuses-communes", headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200
    assert "Acheter trois balayeuses" in after.get_data(as_text=True)
    assert after.headers["ETag"] != first.headers["ETag"]


def test_cached_pages_keep_their_security_headers(client):
    client.get("/")
    response = client.get("/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"].startswith("public")


def test_errors_are_not_cached(client, content_dir):
    assert client.get("/promesses/nouvelle").status_code == 404
    source = (content_dir / "promises" / "balayeuses-communes.md").read_text(encoding="utf-8")
    (content_dir / "promises" / "nouvelle.md").write_text(source.replace("  - balayeuses\n", ""), encoding="utf-8")
    assert client.get("/promesses/nouvelle").status_code == 200


def test_a_forged_host_cannot_poison_what_others_get(client):
    client.get("/sitemap.xml", headers={"Host": "evil.example"})
    honest = client.get("/sitemap.xml", base_url="https://kb.example").get_data(as_text=True)
    assert "evil.example" not in honest and "https://kb.example/" in honest


def test_the_overdue_badge_follows_the_calendar_not_the_cache(client, content_dir, monkeypatch):
    import datetime

    import kb.web.page_cache as page_cache
    import kb.web.public.promises as public

    path = content_dir / "promises" / "balayeuses-communes.md"
    text = path.read_text(encoding="utf-8").replace("status: done", "status: in_progress")
    path.write_text(text, encoding="utf-8")  # due 2018-12-31, not final

    class Day(datetime.date):
        value = datetime.date(2018, 12, 1)

        @classmethod
        def today(cls):
            return cls.value

    for module in (public, page_cache):
        monkeypatch.setattr(module, "date", Day)
    assert "en retard" not in client.get("/promesses/balayeuses-communes").get_data(as_text=True)
    Day.value = datetime.date(2030, 1, 1)
    assert "en retard" in client.get("/promesses/balayeuses-communes").get_data(as_text=True)


def test_a_star_etag_does_not_hide_a_missing_page(client):
    response = client.get("/promesses/inexistante", headers={"If-None-Match": "*"})
    assert response.status_code == 404


def test_a_change_drops_the_pages_that_read_it_and_keeps_the_others(demo_copy, tmp_path):
    from kb.web import create_app

    app = create_app({"TESTING": True, "CONTENT_DIR": str(demo_copy), "INSTANCE_DIR": str(tmp_path / "instance"), "CONTENT_RECHECK_SECONDS": 0})
    client = app.test_client()
    edited, untouched = "aubry-mutualisation-lille-lomme-hellemmes", "marcq-la-madeleine-balayeuses"
    pages = {path: client.get(path).headers["ETag"] for path in (f"/promesses/{edited}", f"/promesses/{untouched}", "/", "/promesses")}
    cache = app.extensions["kb.pages"]
    kept = len(cache)
    path = demo_copy / "promises" / f"{edited}.md"
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: (modifiée) ", 1), encoding="utf-8")
    assert "(modifiée)" in client.get(f"/promesses/{edited}").get_data(as_text=True)  # the scan at the request's start
    assert client.get(f"/promesses/{untouched}").headers["ETag"] == pages[f"/promesses/{untouched}"]  # not rendered again
    assert client.get("/promesses").headers["ETag"] != pages["/promesses"]  # the list shows its title
    assert len(cache) <= kept


def test_a_page_rendered_across_a_change_is_not_kept():
    from kb.web.page_cache import Page, PageCache

    cache = PageCache()
    generation = cache.generation
    cache.invalidate({"promise:x"})  # a change arrived while the page was being rendered
    assert cache.put(("k",), Page(b"old", 200, {}, "e", frozenset({"promise:y"})), generation) is False
    assert cache.put(("k",), Page(b"new", 200, {}, "e", frozenset({"promise:y"})), cache.generation) is True
    assert cache.invalidate({"list:claim"}) == 0 and cache.invalidate({"promise:y"}) == 1 and len(cache) == 0
    assert cache.get(("k",)).stale  # kept only to be given while it is drawn again


def drawing_app():
    """A Flask app with one cached page whose drawing waits for the test to let it finish."""
    import threading

    from flask import Flask, abort

    from kb.web.page_cache import PageCache, cached_page

    app = Flask(__name__)
    app.extensions["kb.pages"] = PageCache()
    app.drawings, app.version, app.release = [], ["v1"], threading.Event()

    @app.get("/page")
    @cached_page
    def page():
        app.drawings.append(app.version[0])
        app.release.wait(10)
        if app.version[0] == "gone":
            abort(404)
        return app.version[0]

    return app


def test_while_one_request_draws_a_changed_page_the_others_get_the_previous_copy_not_to_be_kept():
    import threading

    app = drawing_app()
    app.release.set()
    assert app.test_client().get("/page").get_data(as_text=True) == "v1"
    app.extensions["kb.pages"].invalidate({"*"})
    app.version[0], answers = "v2", []
    app.release.clear()
    drawer = threading.Thread(target=lambda: answers.append(app.test_client().get("/page").get_data(as_text=True)))
    drawer.start()
    while not app.drawings[1:]:
        pass
    meanwhile = app.test_client().get("/page")
    assert (meanwhile.get_data(as_text=True), meanwhile.headers["Cache-Control"]) == ("v1", "no-cache")
    app.release.set()
    drawer.join()
    after = app.test_client().get("/page")
    assert answers == ["v2"] and after.get_data(as_text=True) == "v2" and "max-age=60" in after.headers["Cache-Control"]
    assert app.drawings == ["v1", "v2"]


def test_requests_for_a_page_nobody_has_drawn_yet_wait_for_one_drawing_of_it():
    import threading

    app = drawing_app()
    answers = []
    readers = [threading.Thread(target=lambda: answers.append(app.test_client().get("/page").get_data(as_text=True))) for _ in range(8)]
    for reader in readers:
        reader.start()
    while not app.drawings:
        pass
    app.release.set()
    for reader in readers:
        reader.join()
    assert answers == ["v1"] * 8 and app.drawings == ["v1"]


def test_a_page_that_is_gone_is_no_longer_given_from_its_previous_copy():
    app = drawing_app()
    app.release.set()
    assert app.test_client().get("/page").status_code == 200
    app.extensions["kb.pages"].invalidate({"*"})
    app.version[0] = "gone"
    assert app.test_client().get("/page").status_code == 404
    assert len(app.extensions["kb.pages"]._pages) == 0  # no copy left for a request arriving while it is drawn again


def test_pages_follow_a_change_even_while_another_process_holds_the_index(demo_copy, tmp_path):
    from kb.web import create_app

    app = create_app({"TESTING": True, "CONTENT_DIR": str(demo_copy), "INSTANCE_DIR": str(tmp_path / "instance"), "CONTENT_RECHECK_SECONDS": 0})
    client = app.test_client()
    promise = "aubry-mutualisation-lille-lomme-hellemmes"
    client.get(f"/promesses/{promise}")
    ix = app.extensions["kb.search"].index.open()
    writer = ix.writer()  # another process re-indexing: the index's lock is taken
    try:
        path = demo_copy / "promises" / f"{promise}.md"
        path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: (zqwrkx) ", 1), encoding="utf-8")
        assert "(zqwrkx)" in client.get(f"/promesses/{promise}").get_data(as_text=True)
    finally:
        writer.cancel()
    follower = app.extensions["kb.follower"]
    follower.poll(force=True)
    assert not follower._pending  # indexed once the lock was free
    assert client.get("/api/search?q=zqwrkx").get_json()["total"] == 1


def test_a_new_vocabulary_is_in_the_pages_drawn_after_its_change_even_between_rechecks(demo_copy, tmp_path):
    from kb.web import create_app

    app = create_app({"TESTING": True, "CONTENT_DIR": str(demo_copy), "INSTANCE_DIR": str(tmp_path / "instance"), "CONTENT_RECHECK_SECONDS": 3600})
    client = app.test_client()
    assert "en partie réalisée" in client.get("/statuts.css").get_data(as_text=True) or client.get("/").status_code == 200
    statuses = demo_copy / "statuses.yml"
    statuses.write_text(statuses.read_text(encoding="utf-8").replace("en partie réalisée", "à moitié faite"), encoding="utf-8")
    app.extensions["kb.content"].scan()  # the background scan's round
    assert "à moitié faite" in client.get("/").get_data(as_text=True)


def test_a_publication_that_moves_only_a_status_keeps_the_pages_of_its_territory_and_theme(demo_copy, tmp_path):
    """Related promises go in the order of ids: a page changes when its group does, not at every publication."""
    from kb.web import create_app

    app = create_app({"TESTING": True, "CONTENT_DIR": str(demo_copy), "INSTANCE_DIR": str(tmp_path / "instance"), "CONTENT_RECHECK_SECONDS": 0})
    client = app.test_client()
    page = client.get("/promesses/mel-achat-energie-habitants").get_data(as_text=True)
    assert "mel-pcaet-consommations-2030" not in page  # same territory and theme, past the five shown
    cache = app.extensions["kb.pages"]
    assert len(cache) == 1
    other = demo_copy / "promises" / "mel-pcaet-consommations-2030.md"
    other.write_text(other.read_text(encoding="utf-8") + "\nUn paragraphe ajouté.\n", encoding="utf-8")
    assert "Un paragraphe ajouté" in client.get("/promesses/mel-pcaet-consommations-2030").get_data(as_text=True)
    assert len(cache) == 2  # the first page still kept
    joining = demo_copy / "promises" / "mel-achat-energie-habitants-bis.md"
    joining.write_text(other.read_text(encoding="utf-8").replace("title: ", "title: Nouvelle promesse, ", 1), encoding="utf-8")
    assert "mel-achat-energie-habitants-bis" in client.get("/promesses/mel-achat-energie-habitants").get_data(as_text=True)


def test_a_page_s_key_follows_every_part_of_the_request_it_is_read_from():
    from werkzeug.test import EnvironBuilder

    from kb.web.page_cache import page_key_of

    def key(path="/promesses", query="", base="http://kb.example/", headers=None):
        return page_key_of(EnvironBuilder(path=path, query_string=query, base_url=base, headers=headers or {}).get_environ())

    first = key(query="status=done&theme=eau")
    assert first[:4] == ("http://kb.example/", "/promesses", "status=done&theme=eau", "fr")
    assert key(query="theme=eau&status=done") == first  # the same query, its arguments in another order
    assert key(query="status=done&theme=eau", base="https://kb.example/")[0] == "https://kb.example/"
    assert key(query="status=done&theme=eau", base="http://kb.example/suivi/")[0] == "http://kb.example/suivi/"
    assert key(path="/promesses/aubry")[1] == "/promesses/aubry"
    assert key(headers={"Accept-Language": "en-GB,en;q=0.8"})[3] == "en"
    assert key(headers={"Cookie": "kb_lang=en"})[3] == "en"
    assert key(query="lang=en")[3] == "en"
    assert key(query="status=done&theme=eau") == first  # asked again: the same key as the first time
    assert key(query="status=done&theme=eau", headers={"Cookie": "session=abc; suivi=1"}) == first  # other cookies: the same page
    assert key(query="status=done&theme=eau", headers={"Cookie": "session=abc; kb_lang=en"})[3] == "en"
    long_query = "status=done&theme=" + "eau" * 500  # not kept, still right
    assert key(query=long_query)[2] == long_query and key(query=long_query) == key(query=long_query)


def test_a_request_without_a_host_header_is_kept_under_its_server_s_name():
    from werkzeug.test import EnvironBuilder

    from kb.web.page_cache import page_key_of

    def key(server: str, port: str):
        environ = EnvironBuilder(path="/promesses", base_url="http://kb.example/").get_environ()
        del environ["HTTP_HOST"]
        environ.update(SERVER_NAME=server, SERVER_PORT=port)
        return page_key_of(environ)

    assert key("kb.example", "80")[0] == "http://kb.example/"
    assert key("kb.example", "8080")[0] == "http://kb.example:8080/"
    assert key("autre.example", "80")[0] == "http://autre.example/"


def test_the_sitemap_is_drawn_again_when_an_item_comes_or_goes_not_when_one_changes(demo_copy, tmp_path):
    from kb.web import create_app

    app = create_app({"TESTING": True, "CONTENT_DIR": str(demo_copy), "INSTANCE_DIR": str(tmp_path / "instance"), "CONTENT_RECHECK_SECONDS": 0})
    client = app.test_client()
    client.get("/sitemap.xml")
    cache = app.extensions["kb.pages"]
    assert len(cache) == 1
    promise = demo_copy / "promises" / "aubry-mutualisation-lille-lomme-hellemmes.md"
    promise.write_text(promise.read_text(encoding="utf-8").replace("title: ", "title: (modifiée) ", 1), encoding="utf-8")
    assert "(modifiée)" in client.get("/promesses").get_data(as_text=True)  # the change is followed
    assert len(cache) == 2  # the sitemap still kept: no item came or went
    added = demo_copy / "promises" / "aubry-mutualisation-bis.md"
    added.write_text(promise.read_text(encoding="utf-8"), encoding="utf-8")
    assert "/promesses/aubry-mutualisation-bis<" in client.get("/sitemap.xml").get_data(as_text=True)
    added.unlink()
    assert "/promesses/aubry-mutualisation-bis<" not in client.get("/sitemap.xml").get_data(as_text=True)
    promise.write_text(promise.read_text(encoding="utf-8").replace("title: ", "title:\n  - ", 1), encoding="utf-8")  # broken: not published
    assert "/promesses/aubry-mutualisation-lille-lomme-hellemmes<" not in client.get("/sitemap.xml").get_data(as_text=True)


def test_a_page_s_recorded_cost_is_the_least_of_its_drawings_allowed_to_grow_a_quarter_a_drawing():
    from kb.web.page_cache import Page, _cost

    before = Page(b"", 200, {}, "etag", frozenset(), cost_ms=15.0)
    assert _cost(30.0, before) == 18.75  # drawn once on a loaded machine: not taken for a slow page
    assert _cost(10.0, before) == 10.0
    assert _cost(30.0, None) == 30.0  # a first drawing: its own cost


def test_a_rehearsed_page_is_drawn_once_and_kept_nowhere(app, tmp_path):
    rehearse(app, ["/promesses"])
    assert app.extensions["kb.pages"].bytes == 0  # no copy in the process
    assert [path.name for path in (tmp_path / "instance" / "index.pages").glob("*") if not path.name.startswith(".")] == []
    store = app.extensions["kb.content"]
    with store.engine.begin() as connection:  # changed without a change logged: rows read by the rehearsal do not show it
        connection.execute(update(tables.items).where(tables.items.c.key == "promise:balayeuses-communes").values(title="Zq renommée"))
    assert "Zq renommée" not in {row.title for row in store.listed.rows()}

