"""Index the audit log by (target, action): a promise's change record and the publication log.

Every promise and claim page reads its publications (`target = … AND action = '….publish'`),
and each server catches its search index up from the publications; after years of comments
and reviews, the single-column index on target alone makes both scan every row of a target.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_target_action", "audit_log", ["target", "action"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_target_action", table_name="audit_log")
