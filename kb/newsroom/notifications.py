"""Who hears of what in the newsroom, by e-mail: editors when a request awaits review, its author when it is reviewed.

The messages only; kb.newsroom.mailer sends them. Nobody is told of their own action, and the
address of one person is never shown to another (one message per recipient).
"""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.newsroom.mailer import Mailer
from kb.newsroom.permissions import can
from kb.store.accounts import User
from kb.store.changes import ChangeRequest

# What the author is told, by the state a review left the request in.
REVIEWED = {
    "changes_requested": "des corrections sont demandées",
    "rejected": "elle est refusée",
    "published": "elle est publiée",
    "approved": "elle est approuvée",
}


def awaiting_review(session: Session, mailer: Mailer, change: ChangeRequest, url: str, by: User) -> list[EmailMessage]:
    """A message to each active editor (but the author, and whoever sent it) that the request awaits review."""
    editors = [user for user in session.scalars(select(User).where(User.active.is_(True))) if can(user, "change.review")]
    subject = f"[{mailer.site_name}] À relire : demande n° {change.id} — {change.summary}"
    text = (
        f"{change.author.name} a envoyé en relecture la demande n° {change.id} ({change.change_type_label}) :\n"
        f"{change.summary}\n\nLa relire : {url}\n"
    )
    return [mailer.message(user.email, subject, text) for user in editors if user.id not in (change.author_id, by.id)]


def reviewed(mailer: Mailer, change: ChangeRequest, url: str, by: User, comment: str | None) -> list[EmailMessage]:
    """A message to the author that their request was reviewed, and what came of it (nothing when they did it themselves)."""
    outcome = REVIEWED.get(change.state)
    if outcome is None or change.author_id == by.id or not change.author.active:
        return []
    subject = f"[{mailer.site_name}] Demande n° {change.id} : {outcome}"
    text = f"{by.name} a relu votre demande n° {change.id} ({change.summary}) : {outcome}.\n"
    if comment:
        text += f"\nSon message :\n{comment}\n"
    text += f"\nLa demande : {url}\n"
    return [mailer.message(change.author.email, subject, text)]
