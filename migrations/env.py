"""Alembic's entry point: kb passes the connection (kb/store/schema.py), so no URL is read here."""

from __future__ import annotations

from alembic import context

from kb.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata(),
    # SQLite cannot ALTER most things: Alembic copies the table instead ("batch" mode).
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
