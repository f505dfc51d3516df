"""Throttling: after repeated failed logins an address (or a client) must wait; so must a reader asking to
follow by e-mail too often (each request counts, kb.newsroom.follows).

Kept in the database so that every worker and every server counts the same failures.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kb.store.db import Base

WINDOW = timedelta(minutes=15)
# Per account: a person mistyping gets five tries; per client address, more (a shared newsroom NAT).
LIMITS = {"account": 5, "client": 30, "follow_address": 3, "follow_client": 20}


class LoginFailure(Base):
    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), index=True)  # "account:<email>" or "client:<address>"
    at: Mapped[datetime] = mapped_column(index=True)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def wait_seconds(session: Session, keys: dict[str, str]) -> int:
    """How long these (kind → key) must wait before trying again; 0 when they may try now."""
    since = _now() - WINDOW
    longest = 0
    for kind, key in keys.items():
        count, first = session.execute(
            select(func.count(LoginFailure.id), func.min(LoginFailure.at)).where(LoginFailure.key == key, LoginFailure.at > since)
        ).one()
        if count >= LIMITS[kind]:
            longest = max(longest, int((first + WINDOW - _now()).total_seconds()) + 1)
    return longest


def record_failure(session: Session, keys: dict[str, str]) -> None:
    """Count one more try against each key (a failed login; any request to follow)."""
    session.execute(delete(LoginFailure).where(LoginFailure.at < _now() - WINDOW))
    for key in keys.values():
        session.add(LoginFailure(key=key, at=_now()))
    session.commit()


def forget(session: Session, key: str) -> None:
    """A successful login clears the account's failures (not the client's)."""
    session.execute(delete(LoginFailure).where(LoginFailure.key == key))
    session.commit()
