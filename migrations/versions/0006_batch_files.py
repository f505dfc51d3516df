"""Batch change requests (imports from a spreadsheet): the files of a batch, one row each
(change_request_files), reviewed file by file and published all or nothing.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_request_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("change_type", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("base_sha256", sa.String(length=64), nullable=True),
        sa.Column("base_text", sa.Text(), nullable=True),
        sa.Column("proposed_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["change_id"], ["change_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_change_request_files_change_id", "change_request_files", ["change_id"])
    op.create_index("ix_change_request_files_target", "change_request_files", ["target"])


def downgrade() -> None:
    op.drop_index("ix_change_request_files_target", table_name="change_request_files")
    op.drop_index("ix_change_request_files_change_id", table_name="change_request_files")
    op.drop_table("change_request_files")
