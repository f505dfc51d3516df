"""Several servers, one database, one content tree: each keeps its own index, caught up from the publication log."""

from __future__ import annotations

import multiprocessing
import shutil
from pathlib import Path

import pytest

from kb.content.tree import read_tree
from kb.newsroom import workflow
from kb.newsroom.publishing import publish_lock
from kb.newsroom.workflow import ChangeRequest
from kb.search.index import SearchIndex
from kb.store import audit
from kb.store.accounts import find_user
from kb.store.db import make_engine, open_database
from kb.web import create_app

from .conftest import EMAILS, Newsroom, csrf_token

TARGET = "promise:balayeuses-communes"
NEW_TITLE = "Acheter deux balayeuses électriques en commun"
# A word of the new title found nowhere else in the tree: a search for it finds the publication.
NEW_WORD = "électriques"


def _server(content_dir: Path, instance: Path, database_url: str, **settings):
    """One app server: its own instance (index) directory, the shared database and files."""
    return create_app(
        {
            "TESTING": True,
            "CONTENT_DIR": str(content_dir),
            "INSTANCE_DIR": str(instance),
            "DATABASE_URL": database_url,
            "CONTENT_RECHECK_SECONDS": 3600,  # pages must not notice by looking at the files
            "INDEX_SYNC_SECONDS": 3600,  # nor searches by comparing hashes: only the log tells
            "PUBLICATION_POLL_SECONDS": 0,
            **settings,
        }
    )


@pytest.fixture
def servers(content_dir, tmp_path, database_url):
    first = _server(content_dir, tmp_path / "server-a", database_url)
    second = _server(content_dir, tmp_path / "server-b", database_url)
    return first, second


def _search(app, word: str) -> list[str]:
    response = app.test_client().get(f"/api/search?q={word}")
    assert response.status_code == 200
    return [hit["id"] for hit in response.get_json()["results"]]


def _publish_on(app) -> None:
    """A journalist's new title, submitted, then approved by an editor through this server's newsroom."""
    newsroom = Newsroom(app)
    content_dir = Path(app.config["CONTENT_DIR"])
    path = content_dir / "promises" / "balayeuses-communes.md"
    text = path.read_text(encoding="utf-8").replace("title: Acheter deux balayeuses en commun", f"title: {NEW_TITLE}")
    with newsroom.session() as session:
        journalist = find_user(session, EMAILS["journalist"])
        change = workflow.propose(session, read_tree(content_dir), journalist, "edit", TARGET, text, "Titre précisé")
        workflow.submit(session, read_tree(content_dir), change, journalist)
        number = change.id
    response = Newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{number}/approve")
    assert response.status_code == 302, response.get_data(as_text=True)
    with newsroom.session() as session:
        assert session.get(ChangeRequest, number).state == "published"


def test_a_publication_on_one_server_is_found_by_the_search_of_another(servers):
    first, second = servers
    assert _search(second, NEW_WORD) == []
    _publish_on(first)
    assert _search(second, NEW_WORD) == ["balayeuses-communes"]


def test_a_publication_on_one_server_shows_on_the_pages_of_another(servers):
    first, second = servers
    assert NEW_TITLE not in second.test_client().get("/promesses/balayeuses-communes").get_data(as_text=True)
    _publish_on(first)
    assert NEW_TITLE in second.test_client().get("/promesses/balayeuses-communes").get_data(as_text=True)


def test_a_server_that_was_down_catches_up_from_the_log_when_it_comes_back(content_dir, tmp_path, database_url):
    first = _server(content_dir, tmp_path / "server-a", database_url)
    second = _server(content_dir, tmp_path / "server-b", database_url)
    assert _search(second, NEW_WORD) == []  # its index is built and its place in the log saved
    del second
    _publish_on(first)
    back = _server(content_dir, tmp_path / "server-b", database_url)
    assert back.extensions["kb.follower"].poll(force=True) == 1
    with back.extensions["kb.search"].index.open().searcher() as searcher:
        assert searcher.document(key=TARGET)["title"] == NEW_TITLE


def test_a_saved_place_past_the_end_of_the_log_does_not_skip_the_next_publications(content_dir, tmp_path, database_url):
    second = _server(content_dir, tmp_path / "server-b", database_url)
    assert _search(second, NEW_WORD) == []
    del second
    # Its place was saved against another database: a newer one, before an older backup was restored.
    (tmp_path / "server-b" / "index.publications").write_text("1000\n")
    back = _server(content_dir, tmp_path / "server-b", database_url)
    back.extensions["kb.follower"].poll(force=True)
    _publish_on(_server(content_dir, tmp_path / "server-a", database_url))
    assert back.extensions["kb.follower"].poll(force=True) == 1
    assert _search(back, NEW_WORD) == ["balayeuses-communes"]


def test_servers_that_hear_of_a_publication_already_indexed_write_nothing(servers):
    first, second = servers
    assert _search(second, NEW_WORD) == []  # the second server is up before the publication
    _publish_on(first)
    # The publishing server indexed it itself: following the log finds the index current.
    assert first.extensions["kb.follower"].poll(force=True) == 0
    assert second.extensions["kb.follower"].poll(force=True) == 1
    assert second.extensions["kb.follower"].poll(force=True) == 0


def test_the_publication_log_lists_publications_only_in_order(newsroom, content_dir, tmp_path):
    with newsroom.session() as session:
        editor = find_user(session, EMAILS["editor"])
        before = audit.last_publication_id(session)
        audit.record(session, "change.comment", editor, target=TARGET)
        audit.record(session, "promise.publish", editor, target=TARGET)
        audit.record(session, "claim.publish", editor, target="claim:x")
        session.commit()
        rows = audit.publications_after(session, before)
    assert [target for _, target in rows] == [TARGET, "claim:x"]
    assert rows[0][0] < rows[1][0]


def _hold_lock_and_report(database_url: str, lock_path: str, holding, release) -> None:
    sessions = open_database(database_url)
    with publish_lock(Path(lock_path), sessions.kw["bind"]):
        holding.set()
        release.wait(30)
    sessions.kw["bind"].dispose()


def test_the_publish_lock_is_held_in_the_shared_database_on_postgresql(database_url, tmp_path):
    """Two servers have two lock files; with PostgreSQL they still wait for each other."""
    sessions = open_database(database_url)
    engine = sessions.kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite is one machine's database: the lock is a file lock there")
    context = multiprocessing.get_context("spawn")
    holding, release = context.Event(), context.Event()
    other = context.Process(target=_hold_lock_and_report, args=(database_url, str(tmp_path / "a.lock"), holding, release))
    other.start()
    try:
        assert holding.wait(30)
        from sqlalchemy import text

        from kb.newsroom.publishing import PUBLISH_LOCK_KEY

        with engine.connect() as connection:
            assert connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": PUBLISH_LOCK_KEY}).scalar() is False
        release.set()
        other.join(30)
        with publish_lock(tmp_path / "b.lock", engine):  # free again once the other server is done
            pass
    finally:
        release.set()
        other.join(30)
        engine.dispose()


def test_catching_up_reindexes_only_files_whose_hash_differs(content_dir, tmp_path):
    index = SearchIndex(tmp_path / "index", content_dir)
    index.rebuild()
    assert index.catch_up([TARGET]).changed is False
    path = content_dir / "promises" / "balayeuses-communes.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Acheter deux balayeuses en commun", NEW_TITLE), encoding="utf-8")
    assert index.catch_up([TARGET, TARGET]).updated == 1
    assert index.catch_up([TARGET]).changed is False  # the new hash is indexed now
    path.unlink()
    assert index.catch_up([TARGET]).removed == 1
    assert index.catch_up([TARGET]).changed is False  # nothing left to remove


def test_catching_up_reads_an_index_built_anew_since_the_last_time(content_dir, tmp_path):
    index = SearchIndex(tmp_path / "index", content_dir)
    index.rebuild()
    assert index.catch_up([TARGET]).changed is False
    # Another process finds the index unreadable and builds it aside, then renames it into place.
    shutil.rmtree(tmp_path / "index")
    (content_dir / "promises" / "balayeuses-communes.md").unlink()
    SearchIndex(tmp_path / "index", content_dir).rebuild()
    assert index.catch_up([TARGET]).changed is False  # the new index, which never held it


def test_pages_and_searches_still_answer_when_the_publication_log_cannot_be_read(content_dir, tmp_path, database_url):
    from sqlalchemy import text

    server = _server(content_dir, tmp_path / "server", database_url)
    with server.extensions["kb.db"]() as session:
        session.execute(text("DROP TABLE audit_log"))
        session.commit()
    client = server.test_client()
    page = client.get("/promesses/balayeuses-communes")
    assert page.status_code == 200 and "Acheter deux balayeuses en commun" in page.get_data(as_text=True)
    # Only the change record needs the database: it is said to be missing, and the page is not kept.
    assert "journal des modifications est momentanément indisponible" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert client.get("/api/search?q=balayeuses").get_json()["results"]


def test_the_newsroom_answers_503_not_500_when_the_database_is_unreachable(content_dir, tmp_path):
    # A PostgreSQL server that is not there (a closed port): the login page needs no database,
    # logging in does, and gets a page saying to try again.
    server = _server(content_dir, tmp_path / "server", f"sqlite:///{tmp_path / 'server' / 'kb.sqlite3'}")
    # The server started on a working database, which then went away.
    server.extensions["kb.db"].configure(bind=make_engine("postgresql://kb@127.0.0.1:9/kb"))
    client = server.test_client()
    token = csrf_token(client)
    response = client.post("/redaction/connexion", data={"csrf_token": token, "email": "a@b.fr", "password": "x" * 12})
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "ne répond pas" in response.get_data(as_text=True)


def test_a_publication_failing_under_the_postgresql_lock_leaves_it_free(database_url, tmp_path):
    from sqlalchemy import text

    from kb.newsroom.publishing import PUBLISH_LOCK_KEY

    engine = open_database(database_url).kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite is one machine's database: the lock is a file lock there")
    with pytest.raises(OSError):
        with publish_lock(tmp_path / "lock", engine):
            raise OSError("disque plein")
    other_server = make_engine(database_url)  # its own sessions: the lock is re-entrant within one
    with other_server.connect() as connection:
        assert connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": PUBLISH_LOCK_KEY}).scalar() is True
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PUBLISH_LOCK_KEY})
    other_server.dispose()
    engine.dispose()
