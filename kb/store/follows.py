"""Readers who follow a promise, a person or a tracker by e-mail: their address, what they follow, the digests.

No account: an address (`followers`), kept for this only and never shown, with a secret token that
its links carry (manage, unsubscribe, delete); what it follows (`follows`: pending until the link of
the confirmation e-mail is used, then active, with a cursor); the changes kb has seen and when it
first saw them (`follow_changes`: a change is due to a follow when it was first seen after the
follow's cursor); and every digest, written before it is sent (`follow_digests`), so that a digest is
never composed twice and never sent twice, even when `kb notify` dies between sending and recording.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kb.store.db import Base

# A digest's life: written (pending) → being sent (sending) → sent; a send that failed goes back to
# pending until MAX_ATTEMPTS; one found "sending" at the next run may have left: uncertain, never resent.
DIGEST_STATES = ("pending", "sending", "sent", "uncertain", "failed")


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Follower(Base):
    __tablename__ = "followers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # as typed, lower-cased
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)  # their links' secret
    created_at: Mapped[datetime] = mapped_column(default=now)
    language: Mapped[str] = mapped_column(String(8), default="fr")  # of its e-mails: the page's it followed from


class Follow(Base):
    __tablename__ = "follows"
    __table_args__ = (UniqueConstraint("follower_id", "target", name="uq_follows_follower_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    follower_id: Mapped[int] = mapped_column(ForeignKey("followers.id"), index=True)
    target: Mapped[str] = mapped_column(String(200))  # "promise:<id>", "person:<id>", "tracker:<id>"
    active: Mapped[bool] = mapped_column(default=False)
    confirm_token: Mapped[str | None] = mapped_column(String(64), unique=True, default=new_token)
    requested_at: Mapped[datetime] = mapped_column(default=now)
    confirmed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Changes first seen after this are due to this follow (its confirmation, then its last digest).
    cursor: Mapped[datetime | None] = mapped_column(nullable=True)
    # The site's address as the reader used it: the links of their e-mails when SITE_URL is not set.
    base_url: Mapped[str] = mapped_column(String(300))


class SeenChange(Base):
    __tablename__ = "follow_changes"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)  # kb.newsroom.follows.Change.key
    first_seen: Mapped[datetime] = mapped_column(index=True)


class Digest(Base):
    __tablename__ = "follow_digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    follower_id: Mapped[int] = mapped_column(ForeignKey("followers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now)
    state: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    changes: Mapped[str] = mapped_column(Text)  # the changes' keys, one per line
    base_url: Mapped[str] = mapped_column(String(300))
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)


def forget_follower(session: Session, follower: Follower) -> None:
    """Delete an address and everything kept for it (its follows, its digests, sent or not)."""
    session.execute(delete(Digest).where(Digest.follower_id == follower.id))
    session.execute(delete(Follow).where(Follow.follower_id == follower.id))
    session.delete(follower)


def follows_of(session: Session, follower: Follower) -> list[Follow]:
    return list(session.scalars(select(Follow).where(Follow.follower_id == follower.id).order_by(Follow.id)))


def mark_seen(session: Session, keys: list[str], at: datetime) -> None:
    """Record the changes not seen before as first seen `at` (one query to find them, then the new rows)."""
    known: set[str] = set()
    wanted = list(dict.fromkeys(keys))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        known.update(session.scalars(select(SeenChange.key).where(SeenChange.key.in_(chunk))))
    session.add_all(SeenChange(key=key, first_seen=at) for key in wanted if key not in known)


def first_seen(session: Session, keys: list[str]) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    wanted = list(dict.fromkeys(keys))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update((row.key, row.first_seen) for row in session.execute(select(SeenChange.key, SeenChange.first_seen).where(SeenChange.key.in_(chunk))))
    return found
