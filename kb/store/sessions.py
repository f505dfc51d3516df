"""Newsroom sessions, kept server-side: a cookie opens the newsroom only while its session row is open.

Flask's session cookie is signed, not stored: copied before a logout, it would still open the
newsroom until it expired. The cookie now carries a random token whose hash names a row here;
logging out, changing a password or a role, and disabling an account end every row of that
user, and an admin can see and end them one by one or all at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kb.config.i18n import N_
from kb.store.db import Base

# How often a session's "last seen" is written: every request would be a write per page view.
TOUCH_EVERY = timedelta(minutes=1)
# How long a session lasts after its login (the cookie's lifetime too: kb.web sets it from this).
MAX_AGE = timedelta(hours=12)
# Why a session ended, for people: N_ marks them for the catalog; shown through gettext.
REASONS = {
    "logout": N_("déconnexion"),
    "password": N_("mot de passe changé"),
    "role": N_("rôle changé"),
    "disabled": N_("compte désactivé"),
    "admin": N_("fermée par un administrateur"),
}


class UserSession(Base):
    """One login of one user, open until it is ended."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # the cookie's token is never stored
    created_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()
    user_agent: Mapped[str | None] = mapped_column(String(200))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_reason: Mapped[str | None] = mapped_column(String(20), default=None)

    @property
    def open(self) -> bool:
        return self.ended_at is None


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(session: Session, user_id: int, user_agent: str | None = None, remote_addr: str | None = None) -> str:
    """Open a session for a user who just logged in; the token to put in their cookie."""
    token = secrets.token_urlsafe(32)
    now = _now()
    session.add(
        UserSession(
            user_id=user_id, token_hash=_hash(token), created_at=now, last_seen_at=now,
            user_agent=(user_agent or "")[:200] or None, remote_addr=(remote_addr or "")[:64] or None,
        )
    )  # fmt: skip
    session.flush()
    return token


def find_open(session: Session, user_id: int, token: str) -> UserSession | None:
    """The open session this token names for this user, its last-seen time kept roughly current."""
    found = session.scalar(select(UserSession).where(UserSession.token_hash == _hash(token), UserSession.user_id == user_id))
    now = _now()
    if found is None or not found.open or now - found.created_at > MAX_AGE:
        return None
    if now - found.last_seen_at >= TOUCH_EVERY:
        found.last_seen_at = now
        session.commit()
    return found


def end(session: Session, session_id: int, reason: str) -> UserSession | None:
    """End one session (None when there is none by that number)."""
    found = session.get(UserSession, session_id)
    if found is not None and found.open:
        found.ended_at, found.ended_reason = _now(), reason
    return found


def end_all(session: Session, user_id: int, reason: str) -> int:
    """End every open session of a user; how many there were. The caller commits."""
    ended = 0
    for found in open_sessions(session, user_id):
        found.ended_at, found.ended_reason = _now(), reason
        ended += 1
    return ended


def open_sessions(session: Session, user_id: int) -> list[UserSession]:
    """A user's open sessions (ended by no one, younger than MAX_AGE), the most recently seen first."""
    return list(
        session.scalars(
            select(UserSession)
            .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None), UserSession.created_at >= _now() - MAX_AGE)
            .order_by(UserSession.last_seen_at.desc())
        )
    )
