"""Readers following a promise, a person or a tracker by e-mail: addresses, follows, changes seen, digests.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "followers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
    )
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("follower_id", sa.Integer(), sa.ForeignKey("followers.id"), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("confirm_token", sa.String(64), nullable=True, unique=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("cursor", sa.DateTime(), nullable=True),
        sa.Column("base_url", sa.String(300), nullable=False),
        sa.UniqueConstraint("follower_id", "target", name="uq_follows_follower_target"),
    )
    op.create_index("ix_follows_follower_id", "follows", ["follower_id"])
    op.create_table(
        "follow_changes",
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_follow_changes_first_seen", "follow_changes", ["first_seen"])
    op.create_table(
        "follow_digests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("follower_id", sa.Integer(), sa.ForeignKey("followers.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("base_url", sa.String(300), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_follow_digests_follower_id", "follow_digests", ["follower_id"])
    op.create_index("ix_follow_digests_state", "follow_digests", ["state"])


def downgrade() -> None:
    for index, table in (("ix_follow_digests_state", "follow_digests"), ("ix_follow_digests_follower_id", "follow_digests"),
                         ("ix_follow_changes_first_seen", "follow_changes"), ("ix_follows_follower_id", "follows")):
        op.drop_index(index, table_name=table)
    for table in ("follow_digests", "follow_changes", "follows", "followers"):
        op.drop_table(table)
