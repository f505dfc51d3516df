"""Suggested passages a journalist set aside: hidden for everyone, on every server.

A suggestion is named by its source, its target and the fingerprint of its passage (sha256 of the
folded quote): the same passage suggested again after the source is re-read stays hidden, and a
passage whose words change is a new suggestion.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from kb.content.quotes import fold
from kb.store import audit
from kb.store.accounts import User
from kb.store.db import Base


class Dismissal(Base):
    __tablename__ = "suggestion_dismissals"
    __table_args__ = (UniqueConstraint("source_id", "target", "passage", name="uq_suggestion_dismissals"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(String(200), index=True)
    target: Mapped[str] = mapped_column(String(260))  # "promise:<id>" or "claim:<id>"
    passage: Mapped[str] = mapped_column(String(64))  # sha256 of the folded quote
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(default=lambda: datetime.now(timezone.utc).replace(tzinfo=None))


def fingerprint(quote: str) -> str:
    return hashlib.sha256(fold(quote).encode("utf-8")).hexdigest()


def dismiss(session: Session, source_id: str, target: str, quote: str, by: User | None) -> bool:
    """Hide this suggestion for everyone (and say so in the audit log); False when it was hidden already
    (two people, one click each)."""
    session.add(Dismissal(source_id=source_id, target=target, passage=fingerprint(quote), by_id=by.id if by else None))
    audit.record(session, "suggestion.dismiss", by, target=target, comment=f"source:{source_id} « {quote[:300]} »")
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def dismissed(session: Session, source_id: str) -> set[tuple[str, str]]:
    """(target, passage fingerprint) of every suggestion set aside for this source."""
    rows = session.execute(select(Dismissal.target, Dismissal.passage).where(Dismissal.source_id == source_id))
    return {(row.target, row.passage) for row in rows}
