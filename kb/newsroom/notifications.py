"""Who hears of what in the newsroom, by e-mail: editors when a request awaits review, its author when it is reviewed.

The messages only; kb.newsroom.mailer sends them. Nobody is told of their own action, and the
address of one person is never shown to another (one message per recipient).
"""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.config.i18n import gettext as _
from kb.config.i18n import lazy_gettext
from kb.newsroom.mailer import Mailer
from kb.newsroom.permissions import can
from kb.store.accounts import User
from kb.store.changes import ChangeRequest

# What the author is told, by the state a review left the request in.
REVIEWED = {
    "changes_requested": lazy_gettext("des corrections sont demandées"),
    "rejected": lazy_gettext("elle est refusée"),
    "published": lazy_gettext("elle est publiée"),
    "approved": lazy_gettext("elle est approuvée"),
}


def awaiting_review(session: Session, mailer: Mailer, change: ChangeRequest, url: str, by: User) -> list[EmailMessage]:
    """A message to each active editor (but the author, and whoever sent it) that the request awaits review."""
    editors = [user for user in session.scalars(select(User).where(User.active.is_(True))) if can(user, "change.review")]
    subject = _("[%(site)s] À relire : demande n° %(number)s — %(summary)s", site=mailer.site_name, number=change.id, summary=change.summary)
    sent = _(
        "%(author)s a envoyé en relecture la demande n° %(number)s (%(change_type)s) :",
        author=change.author.name, number=change.id, change_type=change.change_type_label,
    )  # fmt: skip
    link = _("La relire : %(url)s", url=url)
    text = f"{sent}\n{change.summary}\n\n{link}\n"
    return [mailer.message(user.email, subject, text) for user in editors if user.id not in (change.author_id, by.id)]


def reviewed(mailer: Mailer, change: ChangeRequest, url: str, by: User, comment: str | None) -> list[EmailMessage]:
    """A message to the author that their request was reviewed, and what came of it (nothing when they did it themselves)."""
    outcome = REVIEWED.get(change.state)
    if outcome is None or change.author_id == by.id or not change.author.active:
        return []
    outcome = str(outcome)
    subject = _("[%(site)s] Demande n° %(number)s : %(outcome)s", site=mailer.site_name, number=change.id, outcome=outcome)
    text = _(
        "%(reviewer)s a relu votre demande n° %(number)s (%(summary)s) : %(outcome)s.",
        reviewer=by.name, number=change.id, summary=change.summary, outcome=outcome,
    ) + "\n"  # fmt: skip
    if comment:
        text += "\n" + _("Son message :") + f"\n{comment}\n"
    text += "\n" + _("La demande : %(url)s", url=url) + "\n"
    return [mailer.message(change.author.email, subject, text)]
