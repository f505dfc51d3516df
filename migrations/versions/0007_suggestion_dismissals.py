"""Suggested passages set aside (suggestion_dismissals): hidden for everyone, whoever dismissed them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suggestion_dismissals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("target", sa.String(260), nullable=False),
        sa.Column("passage", sa.String(64), nullable=False),
        sa.Column("by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("source_id", "target", "passage", name="uq_suggestion_dismissals"),
    )
    op.create_index("ix_suggestion_dismissals_source_id", "suggestion_dismissals", ["source_id"])


def downgrade() -> None:
    op.drop_index("ix_suggestion_dismissals_source_id", table_name="suggestion_dismissals")
    op.drop_table("suggestion_dismissals")
