"""The workflow database's schema: created at the head, migrated revision by revision, refused when it does not fit."""

from __future__ import annotations

import multiprocessing
from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect, select, text

from kb.ops.cli import main
from kb.store import schema
from kb.store.db import make_engine, open_database
from kb.store.schema import FIRST_REVISION, SchemaOutdated, SchemaTooNew, head_revision, metadata, upgrade_to

NEWER_REVISION = "9999"
AT = datetime(2024, 3, 5, 9, 30)


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def cli(runner, monkeypatch, database_url):
    """`kb …` on this test's database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    return lambda *arguments: runner.invoke(main, list(arguments))


def revision_of(engine) -> str | None:
    with engine.connect() as connection:
        return schema.current_revision(connection)


def tables_of(engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def differences(engine) -> list:
    """What separates the database's tables from the models' (Alembic's autogenerate comparison)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, metadata())


def rows_of(engine) -> dict[str, list[tuple]]:
    """Every row of the first schema's tables, as they read now."""
    with engine.connect() as connection:
        tables = MetaData()
        tables.reflect(connection, only=sorted(schema.FIRST_TABLES))
        return {name: [tuple(row) for row in connection.execute(select(table).order_by(table.c.id))] for name, table in tables.tables.items()}


def as_before(now: dict[str, list[tuple]], before: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """The rows now, with as many columns as they had before (later revisions add columns at the end, empty)."""
    return {name: [row[: len(before[name][0])] if before[name] else row for row in rows] for name, rows in now.items()}


def at_first_revision_with_rows(engine) -> dict[str, list[tuple]]:
    """The database as a kb of the first schema left it: a user, a change request, its audit rows, a login failure."""
    upgrade_to(engine, FIRST_REVISION)
    with engine.begin() as connection:
        tables = MetaData()
        tables.reflect(connection, only=sorted(schema.FIRST_TABLES))
        users, changes, audit, failures = (tables.tables[name] for name in ("users", "change_requests", "audit_log", "login_failures"))
        connection.execute(
            users.insert(),
            [{"id": 1, "email": "julie@redaction.fr", "name": "Julie", "password_hash": "scrypt:x", "role": "journalist", "active": True, "created_at": AT}],
        )
        connection.execute(
            changes.insert(),
            [{
                "id": 1, "kind": "edit", "target": "promise:balayeuses-communes", "summary": "Titre précisé", "state": "submitted",
                "author_id": 1, "base_sha256": "a" * 64, "base_text": "avant", "proposed_text": "après",
                "created_at": AT, "updated_at": AT, "submitted_at": AT,
            }],
        )  # fmt: skip
        for number, (action, before, after, data) in enumerate(
            [("change.create", None, "draft", {}), ("change.submit", "draft", "submitted", {"note": "é"})], start=1
        ):
            connection.execute(
                audit.insert(),
                {"id": number, "at": AT, "action": action, "actor_id": 1, "change_id": 1, "target": "promise:balayeuses-communes",
                 "from_state": before, "to_state": after, "data": data},
            )  # fmt: skip
        connection.execute(failures.insert(), [{"id": 1, "key": "client:192.0.2.1", "at": AT}])
    rows = rows_of(engine)
    assert all(rows.values())
    return rows


def from_before_migrations(engine) -> dict[str, list[tuple]]:
    """The database as kb made it before it had migrations: the first schema's tables, no version table."""
    rows = at_first_revision_with_rows(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    assert revision_of(engine) is None
    return rows


def newer(database_url: str, engine) -> None:
    """The database as a newer kb's `kb db upgrade` left it: a revision this code does not know."""
    open_database(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :newer"), {"newer": NEWER_REVISION})


# -- creating and migrating ---------------------------------------------------------------------


def test_an_empty_database_is_created_at_the_head_revision(database_url, engine):
    open_database(database_url)
    assert revision_of(engine) == head_revision()
    assert tables_of(engine) == set(metadata().tables) | {"alembic_version"}


def test_an_empty_database_created_at_once_has_the_schema_of_the_models(database_url, engine):
    open_database(database_url)
    assert differences(engine) == []


def test_the_migrations_alone_give_the_schema_of_the_models(engine):
    upgrade_to(engine, "head")
    assert revision_of(engine) == head_revision()
    assert differences(engine) == []


def test_opening_a_database_at_the_first_schema_upgrades_it_keeping_every_row(database_url, engine):
    rows = at_first_revision_with_rows(engine)
    open_database(database_url)
    assert revision_of(engine) == head_revision()
    assert as_before(rows_of(engine), rows) == rows
    assert differences(engine) == []


def test_kb_db_upgrade_upgrades_a_database_at_the_first_schema_keeping_every_row(engine, cli):
    rows = at_first_revision_with_rows(engine)
    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"révision {FIRST_REVISION} → {head_revision()}" in result.output
    assert revision_of(engine) == head_revision()
    assert as_before(rows_of(engine), rows) == rows


def test_a_database_from_before_migrations_is_stamped_then_upgraded_keeping_every_row(database_url, engine):
    rows = from_before_migrations(engine)
    open_database(database_url)
    assert revision_of(engine) == head_revision()
    assert as_before(rows_of(engine), rows) == rows
    assert differences(engine) == []


def test_kb_db_upgrade_to_a_revision_then_to_the_head(engine, cli):
    first = cli("db", "upgrade", "--to", FIRST_REVISION)
    assert first.exit_code == 0, first.output
    assert f"révision vide → {FIRST_REVISION}" in first.output
    assert revision_of(engine) == FIRST_REVISION
    second = cli("db", "upgrade")
    assert second.exit_code == 0, second.output
    assert f"révision {FIRST_REVISION} → {head_revision()}" in second.output
    assert revision_of(engine) == head_revision()
    assert differences(engine) == []


def test_kb_db_upgrade_at_the_head_says_so_and_changes_nothing(database_url, engine, cli):
    open_database(database_url)
    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"déjà à la révision {head_revision()}" in result.output


def test_kb_db_upgrade_refuses_an_unknown_revision(engine, cli):
    result = cli("db", "upgrade", "--to", NEWER_REVISION)
    assert result.exit_code == 1
    assert f"révision inconnue : {NEWER_REVISION}" in result.output
    assert tables_of(engine) == set()


# -- refusing -----------------------------------------------------------------------------------


def test_in_production_a_database_behind_the_code_is_refused_with_the_command_to_run(database_url, engine):
    upgrade_to(engine, FIRST_REVISION)
    with pytest.raises(SchemaOutdated, match="kb db upgrade"):
        open_database(database_url, upgrade=False)
    assert revision_of(engine) == FIRST_REVISION


def test_in_production_a_database_from_before_migrations_is_refused_without_being_stamped(database_url, engine):
    # Stamping it at the first revision would be a change made by a server that must change nothing.
    rows = from_before_migrations(engine)
    tables = tables_of(engine)
    with pytest.raises(SchemaOutdated, match="kb db upgrade"):
        open_database(database_url, upgrade=False)
    assert (revision_of(engine), tables_of(engine), rows_of(engine)) == (None, tables, rows)


def test_in_production_an_empty_database_is_refused_with_the_command_to_run(database_url, engine):
    with pytest.raises(SchemaOutdated, match="kb db upgrade"):
        open_database(database_url, upgrade=False)
    assert tables_of(engine) == set()


@pytest.mark.parametrize("upgrade", [True, False], ids=["development", "production"])
def test_a_database_migrated_by_a_newer_kb_is_refused_and_left_as_it_is(database_url, engine, upgrade):
    newer(database_url, engine)
    tables, rows = tables_of(engine), rows_of(engine)
    with pytest.raises(SchemaTooNew, match=f"révision {NEWER_REVISION}"):
        open_database(database_url, upgrade=upgrade)
    assert (revision_of(engine), tables_of(engine), rows_of(engine)) == (NEWER_REVISION, tables, rows)


def test_kb_db_upgrade_refuses_a_database_migrated_by_a_newer_kb(database_url, engine, cli):
    newer(database_url, engine)
    result = cli("db", "upgrade")
    assert result.exit_code == 1
    assert "plus récent" in result.output and "Traceback" not in result.output
    assert revision_of(engine) == NEWER_REVISION


# -- kb db status -------------------------------------------------------------------------------


def test_kb_db_status_of_a_database_behind_the_code_exits_1_and_says_to_upgrade(engine, cli):
    upgrade_to(engine, FIRST_REVISION)
    result = cli("db", "status")
    assert result.exit_code == 1
    assert f"révision {FIRST_REVISION} ; ce code attend {head_revision()}" in result.output
    assert "kb db upgrade" in result.output


def test_kb_db_status_of_an_empty_database_exits_1_and_says_to_upgrade(engine, cli):
    result = cli("db", "status")
    assert result.exit_code == 1
    assert "révision aucune" in result.output and "kb db upgrade" in result.output
    assert tables_of(engine) == set()


def test_kb_db_status_of_a_database_migrated_by_a_newer_kb_says_to_update_kb(database_url, engine, cli):
    newer(database_url, engine)
    result = cli("db", "status")
    assert result.exit_code == 1
    assert "plus récent" in result.output and "kb db upgrade" not in result.output


def test_kb_db_status_at_the_head_exits_0(database_url, cli):
    open_database(database_url)
    result = cli("db", "status")
    assert result.exit_code == 0, result.output
    assert f"révision {head_revision()} ; ce code attend {head_revision()}" in result.output
    assert "kb db upgrade" not in result.output


# -- several processes at once ------------------------------------------------------------------


def _open_when_all_are_ready(database_url: str, ready, results) -> None:
    ready.wait(60)
    try:
        sessions = open_database(database_url)
        sessions.kw["bind"].dispose()
        results.put("ok")
    except Exception as error:  # noqa: BLE001 — the parent reports what went wrong
        results.put(f"{type(error).__name__}: {error}")


def test_two_processes_opening_one_empty_database_at_once_both_succeed(database_url, engine):
    context = multiprocessing.get_context("spawn")
    ready, results = context.Barrier(2), context.Queue()
    processes = [context.Process(target=_open_when_all_are_ready, args=(database_url, ready, results)) for _ in range(2)]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=60) for _ in processes]
    finally:
        for process in processes:
            process.join(30)
    assert outcomes == ["ok", "ok"]
    assert [process.exitcode for process in processes] == [0, 0]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
    assert differences(engine) == []
