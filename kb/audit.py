"""The audit log: one append-only row per thing that happened in the newsroom.

Actions are namespaced (`change.submit`, `promise.publish`, `source.publish`…); a publication
row carries who proposed it, who approved it and the file's sha256 before and after. A change
request's discussion (comments, requests for changes, reasons for a refusal) is its rows.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .accounts import User
from .db import Base


def now() -> datetime:
    return datetime.now(timezone.utc)


class AuditEntry(Base):
    """Something that happened, by whom, when; never updated or deleted."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now, index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    change_id: Mapped[int | None] = mapped_column(ForeignKey("change_requests.id"), index=True)
    target: Mapped[str | None] = mapped_column(String(200), index=True)  # "promise:<id>", "source:<id>"
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    # Publications: who proposed, and the file before and after (None: the file did not exist).
    proposer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    old_sha256: Mapped[str | None] = mapped_column(String(64))
    new_sha256: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id], lazy="joined")
    proposer: Mapped[User | None] = relationship(foreign_keys=[proposer_id], lazy="joined")


def record(session: Session, action: str, actor: User | None, **fields) -> AuditEntry:
    """Add a row to the log (committed with the caller's transaction)."""
    entry = AuditEntry(action=action, actor_id=actor.id if actor else None, at=now(), **fields)
    session.add(entry)
    return entry


def entries(session: Session, action_prefix: str | None = None, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
    """The log, newest first, optionally only the actions starting with `action_prefix`."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    if action_prefix:
        query = query.where(AuditEntry.action.startswith(action_prefix))
    return list(session.scalars(query))


def publications(session: Session, target: str) -> list[AuditEntry]:
    """The publications of one file, newest first: the public change record of a promise or a claim."""
    kind = target.partition(":")[0]
    query = (
        select(AuditEntry)
        .where(AuditEntry.target == target, AuditEntry.action == f"{kind}.publish")
        .order_by(AuditEntry.id.desc())
    )
    return list(session.scalars(query))
