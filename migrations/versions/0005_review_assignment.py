"""Review assignment: an editor takes a submitted request (change_requests.reviewer_id, shown to the
others) and sets the date its review is due (review_due).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


# Plain ADD COLUMN (and no foreign key constraint added to the existing table on SQLite, which
# cannot add one without copying the table): the model declares the relation, the database keeps ids.


def upgrade() -> None:
    op.add_column("change_requests", sa.Column("reviewer_id", sa.Integer(), nullable=True))
    op.add_column("change_requests", sa.Column("review_due", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("change_requests", "review_due")
    op.drop_column("change_requests", "reviewer_id")
