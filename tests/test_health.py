"""/healthz: what a load balancer asks each process, and the 503 (never a 500) when something is wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker


@pytest.fixture
def indexed(app):
    """The app with its search index built (as `kb index` or `kb serve` leave it)."""
    app.extensions["kb.search"].index.rebuild()
    return app


def use_database(app, url: str):
    """Point the app's sessions at another database, as if it had gone away since startup."""
    engine = create_engine(url)
    app.extensions["kb.db"] = sessionmaker(engine)
    return engine


def test_healthz_reports_each_check_ok_and_timed(indexed):
    response = indexed.test_client().get("/healthz")
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "ok"
    assert set(body["checks"]) == {"database", "index", "content"}
    for check in body["checks"].values():
        assert check["ok"] is True and isinstance(check["ms"], float)


def test_healthz_counts_indexed_documents_and_content_files(indexed):
    checks = indexed.test_client().get("/healthz").get_json()["checks"]
    assert checks["index"]["documents"] == 5  # the promise, the source, its tracker, two people
    assert (checks["content"]["promises"], checks["content"]["sources"], checks["content"]["claims"]) == (1, 1, 0)


def test_healthz_is_never_cached(indexed):
    assert indexed.test_client().get("/healthz").headers["Cache-Control"] == "no-store"


def test_healthz_answers_head_requests(indexed):
    response = indexed.test_client().head("/healthz")
    assert response.status_code == 200 and response.get_data() == b""


def test_healthz_reports_503_when_the_index_is_missing(app):
    response = app.test_client().get("/healthz")
    body = response.get_json()
    assert response.status_code == 503 and body["status"] == "error"
    assert body["checks"]["index"]["ok"] is False and "kb index" in body["checks"]["index"]["error"]
    assert body["checks"]["database"]["ok"] and body["checks"]["content"]["ok"]


def test_healthz_does_not_build_a_missing_index(app):
    app.test_client().get("/healthz")
    assert not app.extensions["kb.search"].index.exists()


def test_healthz_reports_503_when_the_index_directory_is_deleted(indexed):
    shutil.rmtree(indexed.config["INDEX_DIR"])
    response = indexed.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["checks"]["index"]["ok"] is False


def test_healthz_reports_503_when_the_index_is_corrupt(indexed):
    for path in Path(indexed.config["INDEX_DIR"]).iterdir():
        path.write_bytes(b"\x00garbage")
    response = indexed.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["checks"]["index"]["ok"] is False


def test_healthz_reports_503_when_the_content_directory_is_removed(indexed, content_dir):
    shutil.rmtree(content_dir)
    response = indexed.test_client().get("/healthz")
    content = response.get_json()["checks"]["content"]
    assert response.status_code == 503
    assert content["ok"] is False and "dossier de contenu introuvable" in content["error"]


def test_healthz_reports_503_when_the_database_is_unreachable(indexed, tmp_path):
    engine = use_database(indexed, f"sqlite:///{tmp_path / 'nowhere' / 'kb.sqlite3'}")
    try:
        response = indexed.test_client().get("/healthz")
    finally:
        engine.dispose()
    database = response.get_json()["checks"]["database"]
    assert response.status_code == 503
    assert database["ok"] is False and "unable to open database file" in database["error"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_healthz_never_shows_the_database_password(indexed):
    pytest.importorskip("psycopg")
    # Port 1 on the loopback refuses at once: a server that is down.
    engine = use_database(indexed, "postgresql+psycopg://kb:mot-de-passe-secret@127.0.0.1:1/kb")
    try:
        response = indexed.test_client().get("/healthz")
    finally:
        engine.dispose()
    assert response.status_code == 503 and response.get_json()["checks"]["database"]["ok"] is False
    assert "mot-de-passe-secret" not in response.get_data(as_text=True)


def test_healthz_reports_503_when_a_table_is_missing(indexed):
    with indexed.extensions["kb.db"]() as session:
        session.execute(text("DROP TABLE login_failures"))
        session.commit()
    response = indexed.test_client().get("/healthz")
    database = response.get_json()["checks"]["database"]
    assert response.status_code == 503
    assert database["ok"] is False and "login_failures" in database["error"]


def test_healthz_reports_503_not_500_when_a_check_fails_unexpectedly(indexed):
    def broken():
        raise RuntimeError("panne imprévue")

    indexed.extensions["kb.content"].view = broken
    response = indexed.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["content"]["error"] == "RuntimeError: panne imprévue"



def test_healthz_reports_503_when_the_database_is_behind_this_code(indexed):
    with indexed.extensions["kb.db"]() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        session.commit()
    response = indexed.test_client().get("/healthz")
    database = response.get_json()["checks"]["database"]
    assert response.status_code == 503
    assert database["ok"] is False and "0001" in database["error"] and "kb db upgrade" in database["error"]


def test_healthz_stays_ok_with_a_warning_when_a_newer_kb_migrated_the_database(indexed):
    # A rolling upgrade: the database was upgraded from one server; the others, still on the old
    # code, keep serving (migrations only add) until they are restarted, instead of all draining at once.
    with indexed.extensions["kb.db"]() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        session.commit()
    response = indexed.test_client().get("/healthz")
    database = response.get_json()["checks"]["database"]
    assert response.status_code == 200
    assert database["ok"] is True and "9999" in database["warning"]


def test_healthz_names_the_database_revision(indexed):
    from kb.store.schema import head_revision

    assert indexed.test_client().get("/healthz").get_json()["checks"]["database"]["revision"] == head_revision()
