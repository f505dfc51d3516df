"""The workflow database's schema over time: Alembic revisions in migrations/, applied here.

Three cases when kb opens a database: empty — the latest tables are created at once and
stamped at the head revision (Alembic's own advice for new installations); made by a kb from
before migrations (tables, no version) — stamped at the first revision, then upgraded; behind
— upgraded, revision by revision, in development; refused with `kb db upgrade` to run, in
production, where several servers must not race to migrate one database.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, inspect

from kb.config.i18n import gettext as _
from kb.config.paths import MIGRATIONS
from kb.store.db import safe_url
from kb.store.locks import exclusive

FIRST_REVISION = "0001"
# Tables of the first schema: a database holding them but no version is from before migrations.
FIRST_TABLES = {"users", "change_requests", "audit_log", "login_failures"}
# An arbitrary constant naming kb's migration lock among PostgreSQL advisory locks.
MIGRATION_LOCK_KEY = 0x6B620001


class SchemaOutdated(RuntimeError):
    """The database is at an older revision than this code expects."""


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer kb than this one."""


def metadata() -> MetaData:
    """Every workflow table, as the models declare them."""
    from kb.store import changes  # noqa: F401
    from kb.store import accounts, audit, dismissals, follows, sessions, throttle  # noqa: F401 — register their tables on Base
    from kb.store.db import Base

    return Base.metadata


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@functools.cache
def head_revision() -> str:
    """The latest revision of migrations/ (read once per process: the files change with the code)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def _migration_lock(engine: Engine):
    """One process migrates at a time: the others wait, then find the work done."""
    database = engine.url.database
    lock_path = Path(database).with_suffix(".migration.lock") if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:") else None
    return exclusive(MIGRATION_LOCK_KEY, lock_path, engine)


def state(engine: Engine) -> tuple[str | None, str]:
    """(the database's revision — None when empty or from before migrations —, the code's head)."""
    with engine.connect() as connection:
        return current_revision(connection), head_revision()


def prepare(engine: Engine, upgrade: bool = True) -> str:
    """Bring the database to the head revision (or refuse, see the module's doc); return it."""
    head = head_revision()
    with engine.connect() as connection:
        revision = current_revision(connection)
    if revision == head:
        return head  # the common case, without taking any lock
    if revision is not None and revision not in known_revisions():
        raise SchemaTooNew(
            _(
                "la base %(url)s est à la révision %(revision)s, inconnue de cette version de kb "
                "(dernière connue : %(head)s) : elle a été migrée par un kb plus récent",
                url=safe_url(str(engine.url)), revision=revision, head=head,
            )
        )
    with _migration_lock(engine):
        with engine.begin() as connection:
            revision = current_revision(connection)
            tables = set(inspect(connection).get_table_names())
            if revision is None and not (tables & FIRST_TABLES):
                if not upgrade:
                    raise SchemaOutdated(
                        _("la base %(url)s est vide : créez ses tables avec « kb db upgrade »", url=safe_url(str(engine.url)))
                    )
                metadata().create_all(connection)
                command.stamp(alembic_config(connection), "head")
                return head
            if revision is None:
                revision = FIRST_REVISION  # its tables are the first schema's
                if upgrade:  # refused below otherwise: a server that must not migrate writes nothing
                    command.stamp(alembic_config(connection), FIRST_REVISION)
            if revision == head:
                return head
            if not upgrade:
                raise SchemaOutdated(
                    _(
                        "la base %(url)s est à la révision %(revision)s, ce code attend %(head)s : "
                        "lancez « kb db upgrade » (une fois, depuis un seul serveur)",
                        url=safe_url(str(engine.url)), revision=revision, head=head,
                    )
                )
            command.upgrade(alembic_config(connection), "head")
    return head


def upgrade_to(engine: Engine, revision: str) -> None:
    """Migrate an existing database to `revision` (tests of old schemas, `kb db upgrade --to`)."""
    with _migration_lock(engine), engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
