"""Rename change_requests.kind to change_type: in kb, "kind" names a content kind (promise, source,
claim) and nothing else; what a request does (status, edit, create…) is its change type.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


# A plain RENAME COLUMN, which PostgreSQL and SQLite (3.25 and later) both do in place: Alembic's
# batch mode would copy the table on SQLite, and dropping the old copy fails while audit_log's
# foreign keys point at it.


def upgrade() -> None:
    op.execute("ALTER TABLE change_requests RENAME COLUMN kind TO change_type")


def downgrade() -> None:
    op.execute("ALTER TABLE change_requests RENAME COLUMN change_type TO kind")
