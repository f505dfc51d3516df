"""The audit log: one append-only row per thing that happened in the newsroom.

Actions are namespaced (`change.submit`, `promise.publish`, `source.publish`…); a publication
row carries who proposed it, who approved it and the file's sha256 before and after. A change
request's discussion (comments, requests for changes, reasons for a refusal) is its rows.

Each row also becomes a `state_change` log line once its transaction commits: a step that is
rolled back (two editors acting at once) is not logged as if it had happened.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, event, func, select
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column, relationship

from kb.content.kinds import KINDS
from kb.content.registry import Key

# Every table an audit row refers to (users, change requests) must be known when one is written,
# whatever else the process imported: `kb source add` imports no workflow.
from kb.store import changes  # noqa: F401
from kb.store.accounts import User
from kb.store.db import Base, utcnow

log = logging.getLogger(__name__)
# Log fields of the rows added in a session's transaction, logged when it commits.
_PENDING = "kb.audit.pending"
LOGGED_FIELDS = ("action", "change_id", "target", "from_state", "to_state", "actor_id")


now = utcnow


class AuditEntry(Base):
    """Something that happened, by whom, when; never updated or deleted."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target_action", "target", "action"),)

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
    # Read now: after the commit, the row's attributes may be expired and unreadable.
    session.info.setdefault(_PENDING, []).append({name: getattr(entry, name) for name in LOGGED_FIELDS})
    return entry


@event.listens_for(Session, "after_commit")
def _log_committed(session: Session) -> None:
    for fields in session.info.pop(_PENDING, []):
        message = " ".join(filter(None, [fields["action"], fields["target"]]))
        if fields["change_id"] is not None:
            message += f" (demande n° {fields['change_id']})"
        if fields["to_state"]:
            message += f" : {fields['from_state'] or '∅'} → {fields['to_state']}"
        log.info(message, extra={"event": "state_change", "fields": fields})


@event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: rolled back, or logged above
        session.info.pop(_PENDING, None)


def entries(session: Session, action_prefix: str | None = None, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
    """The log, newest first, optionally only the actions starting with `action_prefix`."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    if action_prefix:
        query = query.where(AuditEntry.action.startswith(action_prefix))
    return list(session.scalars(query))


def publications(session: Session, target: str) -> list[AuditEntry]:
    """The publications of one file, newest first: the public change record of a promise or a claim."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.target == target, AuditEntry.action == f"{Key.split(target).kind}.publish")
        .order_by(AuditEntry.id.desc())
    )
    return list(session.scalars(query))


# The actions that wrote a content file, one per kind: the publication log other servers follow.
PUBLISH_ACTIONS = KINDS.publish_actions()


def publications_after(session: Session, after_id: int, limit: int = 1000) -> list[tuple[int, str]]:
    """(row id, target) of the publications logged after row `after_id`, oldest first.

    Publications are written and committed under the publish lock, one at a time, so their ids
    grow in the order they became visible: a reader that has seen id N has seen every earlier one.
    """
    query = (
        select(AuditEntry.id, AuditEntry.target)
        .where(AuditEntry.id > after_id, AuditEntry.action.in_(PUBLISH_ACTIONS))
        .order_by(AuditEntry.id)
        .limit(limit)
    )
    return [(row_id, target) for row_id, target in session.execute(query) if target]


def last_publication_id(session: Session) -> int:
    """The id of the latest publication row (0 when nothing was ever published)."""
    return session.scalar(select(func.max(AuditEntry.id)).where(AuditEntry.action.in_(PUBLISH_ACTIONS))) or 0
