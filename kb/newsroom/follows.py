"""Following a promise, a person or a tracker by e-mail, without an account: asking, confirming, leaving, digests.

A reader gives an address on a page; the address receives a link (double opt-in) and nothing else
until it is used. From then on `kb notify` (run by cron or a timer) sends each address one digest of
what changed in what it follows since its last one — each new status with its quote, each new
fact-check or verdict — with a one-click unsubscribe (RFC 8058) and a link that deletes the address.

What changed is read from the catalog (kb.catalog): a promise's dated entries and the claims about
it, or about any promise of a person or a tracker. Each change is named by a stable key and the time
kb first saw it (kb.store.follows.SeenChange), so a change is due to a follow when first seen after
the follow's cursor. A digest is written, and the cursors moved, in one transaction before anything
is sent; it is marked "sending" before the SMTP conversation and "sent" after: a run that dies
between the two leaves it "sending", and the next run never sends it again (at most once).
"""

from __future__ import annotations

import hashlib
import logging
import re
import smtplib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.catalog import tables
from kb.catalog.queries import by_author
from kb.config.i18n import day, gettext as _, language, ngettext, using
from kb.content.opendata import status_label, verdict_label
from kb.newsroom.mailer import Mailer
from kb.store import throttle
from kb.store.locks import NOTIFY_LOCK_KEY, attempt
from kb.store.follows import Digest, Follow, Follower, SeenChange, first_seen, follows_of, forget_follower, mark_seen, now

log = logging.getLogger(__name__)

TARGET_KINDS = ("promise", "person", "tracker")
# What a follow's links lead to on the site (the target's page).
PAGES = {"promise": "/promesses/{id}", "person": "/elus/{id}", "tracker": "/suivis/{id}"}
# Failures after which the server may have taken the message: the conversation cut off or timed out.
# Any other failure (refused connection, login, sender, recipient or data) means it was not sent.
AMBIGUOUS = (TimeoutError, smtplib.SMTPServerDisconnected)
MAX_ATTEMPTS = 5  # a digest the mail server keeps refusing is given up after this many runs
UNCONFIRMED_KEPT = timedelta(days=7)  # a request to follow never confirmed is forgotten after this
MAX_CHANGES_SHOWN = 50  # a digest lists this many changes, then says how many more the site shows
EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[^@\s<>\"',;]+\.[^@\s<>\"',;]{2,}$")
items_c, history_c, links_c = tables.items.c, tables.history.c, tables.links.c


class FollowError(Exception):
    """A request to follow that cannot be taken: a bad address, an unknown target, an unknown link."""


class FollowThrottled(FollowError):
    def __init__(self, seconds: int):
        super().__init__(_("trop de demandes : réessayez dans %(minutes)s min", minutes=max(1, seconds // 60)))
        self.seconds = seconds


@dataclass(frozen=True)
class Target:
    kind: str  # promise | person | tracker
    id: str
    title: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    def path(self) -> str:
        return PAGES[self.kind].format(id=self.id)


@dataclass(frozen=True)
class Change:
    """One thing a follower hears of: a status entry of a promise, or a claim's verdict."""

    key: str  # "status:<promise>:<date>:<status>" or "claim:<claim>:<verdict>"
    kind: str  # status | claim
    item_id: str


@dataclass
class Composed:
    subject: str
    body: str
    keys: list[str] = field(default_factory=list)


# -- asking, confirming, leaving -------------------------------------------------------------------


def normalized(email: str) -> str:
    """The address as kept: trimmed, lower-cased; FollowError when it is not an e-mail address."""
    address = (email or "").strip().lower()
    if len(address) > 254 or not EMAIL.match(address):
        raise FollowError(_("adresse e-mail invalide : écrivez-la en entier, par exemple prenom@exemple.fr"))
    return address


def target_of(view, key: str) -> Target:
    """The published promise, person or tracker named "kind:id"; FollowError otherwise."""
    kind, _colon, item_id = (key or "").partition(":")
    if kind not in TARGET_KINDS or not item_id:
        raise FollowError(_("on ne peut suivre qu'une promesse, un élu ou un suivi"))
    found = view.items[kind].get(item_id)
    if found is None and kind == "promise" and view.alias_target(item_id):  # renamed: followed under its new id
        found = view.items[kind].get(view.alias_target(item_id))
    if found is None:
        raise FollowError(_("cette fiche n'est pas (ou plus) publiée"))
    return Target(kind, found.id, getattr(found, "title", None) or getattr(found, "name", found.id))


def ask(session: Session, view, email: str, target_key: str, client: str, base_url: str) -> Follow | None:
    """A reader asks to follow: the pending follow whose confirmation link must be mailed, or None when
    the address already follows it (the page says the same either way: who follows what stays private).
    Every request counts against the address and the client (FollowThrottled)."""
    address = normalized(email)
    target = target_of(view, target_key)
    # The address is counted under its fingerprint: the throttle's rows must not keep it.
    keys = {"follow_address": "follow-address:" + hashlib.sha256(address.encode()).hexdigest(), "follow_client": f"follow-client:{client}"}
    wait = throttle.wait_seconds(session, keys)
    if wait:
        raise FollowThrottled(wait)
    throttle.record_failure(session, keys)
    follower = session.scalar(select(Follower).where(Follower.email == address))
    if follower is None:
        follower = Follower(email=address)
        session.add(follower)
        session.flush()
    follower.language = language()  # its e-mails speak the language of the page it followed from
    follow = session.scalar(select(Follow).where(Follow.follower_id == follower.id, Follow.target == target.key))
    if follow is not None and follow.active:
        session.commit()
        return None
    if follow is None:
        follow = Follow(follower_id=follower.id, target=target.key, base_url=base_url)
        session.add(follow)
    follow.base_url = base_url
    follow.requested_at = now()  # asked again: the link mailed now must live its full week
    session.commit()
    return follow


def confirmation_message(mailer: Mailer, follow: Follow, follower: Follower, target: Target, base_url: str) -> EmailMessage:
    with using(follower.language):
        subject = _("[%(site)s] Confirmez votre suivi : %(title)s", site=mailer.site_name, title=target.title)
        what = {
            "promise": _("la promesse « %(title)s »", title=target.title),
            "person": _("les promesses de « %(title)s »", title=target.title),
            "tracker": _("le suivi « %(title)s »", title=target.title),
        }[target.kind]
        text = "\n".join([
            _("Bonjour,"), "",
            _("Quelqu'un, sans doute vous, a demandé à suivre %(what)s sur %(site)s par e-mail.", what=what, site=mailer.site_name), "",
            _("Pour confirmer, ouvrez ce lien et validez :"),
            f"{base_url}/suivre/confirmer/{follow.confirm_token}", "",
            _("Sans confirmation, vous ne recevrez rien d'autre. Votre adresse ne sert qu'à ce suivi et n'est jamais affichée."),
            _("Pour la supprimer tout de suite : %(url)s", url=f"{base_url}/suivre/{follower.token}"),
        ]) + "\n"  # fmt: skip
    return mailer.message(follower.email, subject, text)


def pending(session: Session, token: str) -> Follow:
    follow = session.scalar(select(Follow).where(Follow.confirm_token == token)) if token else None
    if follow is None:
        raise FollowError(_("ce lien de confirmation n'est pas (ou plus) valable : demandez à suivre de nouveau"))
    return follow


def confirm(session: Session, view, token: str) -> Follow:
    """The follow of this confirmation link becomes active: what its target says now is known, only what
    changes from now on will be sent."""
    follow = pending(session, token)
    at = now()
    mark_seen(session, [change.key for change in changes_of(view, follow.target)], at)
    follow.active, follow.confirmed_at, follow.cursor, follow.confirm_token = True, at, at, None
    session.commit()
    return follow


def follower_of(session: Session, token: str) -> Follower:
    follower = session.scalar(select(Follower).where(Follower.token == token)) if token else None
    if follower is None:
        raise FollowError(_("ce lien n'est pas (ou plus) valable : l'adresse a peut-être déjà été supprimée"))
    return follower


def stop(session: Session, follower: Follower, follow_id: int) -> None:
    """Stop one follow; an address that follows nothing any more is deleted."""
    for follow in follows_of(session, follower):
        if follow.id == follow_id:
            session.delete(follow)
    session.flush()
    if not follows_of(session, follower):
        forget_follower(session, follower)
    session.commit()


def forget(session: Session, follower: Follower) -> None:
    """Unsubscribe from everything and delete the address (the one-click unsubscribe and the delete link)."""
    forget_follower(session, follower)
    session.commit()


def masked(email: str) -> str:
    """An address as its own page shows it: enough to recognise, not to read ("j…@exemple.fr")."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}…@{domain}"


# -- what changed ----------------------------------------------------------------------------------


def _promise_keys(view, target: str) -> list[str]:
    kind, _colon, item_id = target.partition(":")
    if kind == "promise":
        current = item_id if view.items["promise"].get(item_id) is not None else view.alias_target(item_id)
        return [f"promise:{current}"] if current else []
    where = by_author(item_id) if kind == "person" else items_c.tracker == item_id
    return [row.key for row in view.query(select(items_c.key).where(items_c.kind == "promise", items_c.state == "published", where))]


def changes_of(view, target: str) -> list[Change]:
    """Every change a follow of `target` would hear of, as the catalog says now (oldest first)."""
    keys = _promise_keys(view, target)
    found: list[Change] = []
    rows: list = []
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows += view.query(select(history_c.key, history_c.date, history_c.status).where(history_c.key.in_(chunk)))
    for row in sorted(rows, key=lambda row: (row.date or date.min, row.key)):
        promise_id = row.key.partition(":")[2]
        found.append(Change(f"status:{promise_id}:{row.date}:{row.status}", "status", promise_id))
    promise_ids = [key.partition(":")[2] for key in keys]
    claim_keys: set[str] = set()
    for start in range(0, len(promise_ids), 500):
        chunk = promise_ids[start : start + 500]
        claim_keys.update(row.key for row in view.query(select(links_c.key).where(links_c.relation == "about", links_c.target.in_(chunk))))
    if target.startswith("person:"):
        claim_keys.update(row.key for row in view.query(select(links_c.key).where(links_c.relation == "made_by", links_c.target == target.partition(":")[2], links_c.key.like("claim:%"))))
    if claim_keys:
        for row in view.query(select(items_c.item_id, items_c.verdict, items_c.sort_date).where(items_c.key.in_(sorted(claim_keys)), items_c.state == "published")):
            found.append(Change(f"claim:{row.item_id}:{row.verdict}", "claim", row.item_id))
    return found


# -- digests ---------------------------------------------------------------------------------------


@dataclass
class Run:
    """What one `kb notify` did."""

    composed: int = 0
    sent: int = 0
    failed: int = 0
    uncertain: int = 0
    given_up: int = 0


def compose_due(session: Session, view, site_name: str, site_url: str | None, at: datetime | None = None) -> int:
    """Write one digest per address with news since its follows' cursors, moving the cursors in the same
    transaction (a change is never composed twice). The number of digests written."""
    at = at or now()
    written = 0
    known: dict[str, tuple[list[Change], dict[str, datetime]]] = {}  # a target many follow is read once a run

    def changes_and_seen(target: str):
        if target not in known:
            changes = changes_of(view, target)
            _carry_over_renames(session, view, changes, at)
            mark_seen(session, [change.key for change in changes], at)
            session.flush()
            known[target] = (changes, first_seen(session, [change.key for change in changes]))
        return known[target]

    followers = list(session.scalars(select(Follower).order_by(Follower.id)))
    for follower in followers:
        follows = [follow for follow in follows_of(session, follower) if follow.active]
        follows = _renamed(session, view, follows)
        sections = []
        due_keys: list[str] = []
        for follow in follows:
            changes, seen = changes_and_seen(follow.target)
            due = [change for change in changes if seen.get(change.key, at) > (follow.cursor or at) and change.key not in due_keys]
            follow.cursor = at
            if due:
                sections.append((follow, due))
                due_keys += [change.key for change in due]
        if sections:
            base_url = (site_url or sections[0][0].base_url).rstrip("/")
            with using(follower.language):
                composed = _digest_text(view, site_name, base_url, follower, sections)
            if composed is not None:  # None: what changed is no longer published (its section would be empty)
                session.add(Digest(follower_id=follower.id, subject=composed.subject, body=composed.body, changes="\n".join(due_keys), base_url=base_url))
                written += 1
        session.commit()
    return written


def _renamed(session: Session, view, follows: list[Follow]) -> list[Follow]:
    """Follows of a promise renamed since (its old id now an alias) moved to its new id; a second follow of it dropped."""
    kept = []
    for follow in follows:
        kind, _colon, item_id = follow.target.partition(":")
        current = view.alias_target(item_id) if kind == "promise" and view.items["promise"].get(item_id) is None else None
        if current:
            if any(other.target == f"promise:{current}" for other in follows):
                session.delete(follow)
                continue
            follow.target = f"promise:{current}"
        kept.append(follow)
    return kept


def _carry_over_renames(session: Session, view, changes: list[Change], at: datetime) -> None:
    """A renamed promise's entries are no news: each is recorded as first seen when it was under an old id."""
    promise_ids = sorted({change.item_id for change in changes if change.kind == "status"})
    if not promise_ids:
        return
    aliases: dict[str, list[str]] = {}
    for start in range(0, len(promise_ids), 500):
        chunk = [f"promise:{item_id}" for item_id in promise_ids[start : start + 500]]
        for row in view.query(select(links_c.key, links_c.target).where(links_c.relation == "alias", links_c.key.in_(chunk))):
            aliases.setdefault(row.key.partition(":")[2], []).append(row.target)
    if not aliases:
        return
    keys = [change.key for change in changes if change.kind == "status" and change.item_id in aliases]
    known = first_seen(session, keys)
    olds = {
        change.key: [f"status:{old}:" + change.key.removeprefix(f"status:{change.item_id}:") for old in aliases[change.item_id]]
        for change in changes if change.kind == "status" and change.item_id in aliases and change.key not in known
    }  # fmt: skip
    before = first_seen(session, [old for names in olds.values() for old in names])
    for key, names in olds.items():
        seen = [before[old] for old in names if old in before]
        if seen:
            session.add(SeenChange(key=key, first_seen=min(seen)))
    session.flush()


def _digest_text(view, site_name: str, base_url: str, follower: Follower, sections: list) -> Composed | None:
    lines: list[str] = []
    titles = []
    count = 0
    for follow, due in sections:
        try:
            target = target_of(view, follow.target)
        except FollowError:
            continue
        count += len(due)
        titles.append(target.title)
        lines += [f"== {target.title} ==", f"{base_url}{target.path()}", ""]
        for change in due[:MAX_CHANGES_SHOWN]:
            lines += _change_lines(view, base_url, change) + [""]
        if len(due) > MAX_CHANGES_SHOWN:
            lines += [_("… et %(count)s autres changements, sur le site.", count=len(due) - MAX_CHANGES_SHOWN), ""]
    if not titles:
        return None
    if len(titles) == 1:
        subject = _("[%(site)s] Du nouveau : %(title)s", site=site_name, title=titles[0])
    else:
        subject = ngettext("[%(site)s] %(num)s changement dans vos suivis", "[%(site)s] %(num)s changements dans vos suivis", count, site=site_name)
    lines += [
        "—",
        _("Vous recevez ce message parce que vous suivez ces fiches sur %(site)s.", site=site_name),
        _("Gérer vos suivis : %(url)s", url=f"{base_url}/suivre/{follower.token}"),
        _("Ne plus rien recevoir et supprimer votre adresse : %(url)s", url=f"{base_url}/suivre/{follower.token}/desabonner"),
    ]
    return Composed(subject, "\n".join(lines) + "\n")


def _change_lines(view, base_url: str, change: Change) -> list[str]:
    if change.kind == "status":
        promise = view.items["promise"].get(change.item_id)
        rest = change.key.partition(":")[2]
        day, status = rest.removeprefix(change.item_id + ":").split(":", 1)
        entry = next((entry for entry in (promise.history if promise else []) if str(entry.date) == day and entry.status == status), None)
        label = status_label(view.statuses, status)
        title = promise.title if promise else change.item_id
        lines = [f"{_day(day)} — {title} : {label}"]  # a date, a title, a status: no words of ours
        if entry is not None:
            if entry.note:
                lines.append(entry.note)
            for proof in entry.evidence[:2]:
                source = view.titles("source", [proof.source]).get(proof.source)
                lines.append(f"« {proof.quote} » ({source.title if source else proof.source})")
        lines.append(f"{base_url}/promesses/{change.item_id}")
        return lines
    claim = view.items["claim"].get(change.item_id)
    if claim is None:
        return [_("Vérification : %(title)s", title=change.item_id)]
    return [
        f"{_day(str(claim.reviewed_on))} — " + _("Vérification : %(title)s", title=claim.title) + f" : {verdict_label(view.verdicts, claim.verdict)}",
        f"{base_url}/affirmations/{claim.id}",
    ]


def _day(iso: str) -> str:
    try:
        return day(date.fromisoformat(iso))
    except ValueError:
        return iso


def digest_message(mailer: Mailer, digest: Digest, follower: Follower) -> EmailMessage:
    message = mailer.message(follower.email, digest.subject, digest.body)
    unsubscribe = f"{digest.base_url}/suivre/{follower.token}/desabonner"
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058: one POST, no page to visit
    message.replace_header("Message-ID", make_msgid(idstring=f"digest-{digest.id}", domain=mailer.sender.rpartition("@")[2] or None))
    return message


def send_due(session: Session, mailer: Mailer, on_sent=None) -> Run:
    """Send every digest not sent yet. One left "sending" by a run that died may have left: it is marked
    uncertain and never sent again. `on_sent(digest)` runs between the send and its record (tests)."""
    run = Run()
    for digest in session.scalars(select(Digest).where(Digest.state == "sending")):
        digest.state = "uncertain"
        run.uncertain += 1
        log.warning("résumé n° %s peut-être envoyé par une exécution interrompue : pas renvoyé (jamais deux fois)", digest.id)
    session.commit()
    for digest_id in list(session.scalars(select(Digest.id).where(Digest.state == "pending").order_by(Digest.id))):
        digest = session.get(Digest, digest_id)
        follower = session.get(Follower, digest.follower_id)
        if follower is None:
            session.delete(digest)
            session.commit()
            continue
        digest.state = "sending"
        digest.attempts += 1
        session.commit()  # before the SMTP conversation: a crash from here on never sends it twice
        try:
            mailer.send(digest_message(mailer, digest, follower))
        except AMBIGUOUS as error:
            # Cut off or timed out: the server may have taken it. At most once: not sent again.
            digest.state = "uncertain"
            run.uncertain += 1
            log.warning("résumé n° %s peut-être envoyé (%s:%s) : %s ; pas renvoyé (jamais deux fois)", digest.id, mailer.host, mailer.port, error)
            session.commit()
            continue
        except (OSError, smtplib.SMTPException) as error:
            digest.state = "failed" if digest.attempts >= MAX_ATTEMPTS else "pending"
            run.failed += 1
            run.given_up += digest.state == "failed"
            log.warning("résumé n° %s non envoyé (%s:%s), essai %s : %s", digest.id, mailer.host, mailer.port, digest.attempts, error)
            session.commit()
            continue
        if on_sent is not None:
            on_sent(digest)
        digest.state, digest.sent_at = "sent", now()
        session.commit()
        run.sent += 1
    return run


def forget_unconfirmed(session: Session, older_than: timedelta = UNCONFIRMED_KEPT) -> int:
    """Requests never confirmed are dropped after a while, and addresses left following nothing with them:
    an address is kept only to send what its owner asked for."""
    limit = now() - older_than
    dropped = 0
    for follow in list(session.scalars(select(Follow).where(Follow.active.is_(False), Follow.requested_at < limit))):
        session.delete(follow)
        dropped += 1
    session.flush()
    for follower in list(session.scalars(select(Follower))):
        if not follows_of(session, follower):
            forget_follower(session, follower)
    session.commit()
    return dropped


class NotifyBusy(Exception):
    """Another `kb notify` is running (an overlapping cron run): this one does nothing."""


def notify(session: Session, view, mailer: Mailer, site_url: str | None, lock_path: Path | None, on_sent=None) -> Run:
    """`kb notify`: forget stale requests, compose the digests now due, then send every digest not sent yet —
    one run at a time across the machine (and across servers on PostgreSQL)."""
    with attempt(NOTIFY_LOCK_KEY, lock_path, session.get_bind()) as taken:
        if not taken:
            raise NotifyBusy(_("un autre « kb notify » est en cours : rien n'est fait"))
        forget_unconfirmed(session)
        composed = compose_due(session, view, mailer.site_name, site_url)
        run = send_due(session, mailer, on_sent)
        run.composed = composed
        return run
