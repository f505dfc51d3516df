"""Change requests: what journalists propose, editors review, and kb publishes.

The one place that lists the states, the transitions and who may take each. Every operation
checks the role (kb.permissions), the request's state and, for reviews, that the reviewer is
not its author; then it records the step in the audit log. Publishing happens under a lock and
only over the exact file the request was based on: otherwise the request goes to `conflict`
and its author rebases; nothing is ever overwritten.

    draft → submitted → (changes_requested → submitted)* → approved → published
                      ↘ rejected                                  ↘ conflict → draft (rebase)
    draft, submitted, changes_requested, conflict → withdrawn (by the author)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

from sqlalchemy import Engine, ForeignKey, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from . import audit, frontmatter
from .accounts import User
from .check import check_claim_text, check_promise_text, check_source_text
from .content import FOLDER_OF, ContentTree
from .db import Base
from .model import ID_PATTERN, Problem
from .permissions import NotAuthorized, can, require
from .files import leftover_temporaries
from .publishing import StaleBase, current_file, git_commit, publish_lock, sha256_text, write_over

log = logging.getLogger(__name__)

STATES = {
    "draft": "brouillon",
    "submitted": "en relecture",
    "changes_requested": "corrections demandées",
    "approved": "approuvée",
    "published": "publiée",
    "rejected": "refusée",
    "conflict": "en conflit",
    "withdrawn": "retirée",
}
KINDS = {
    "status": "nouveau statut",
    "edit": "modification",
    "create": "nouvelle promesse",
    "source": "nouvelle source",
    "claim": "nouvelle vérification",
    "verdict": "nouveau verdict",
    "revert": "retour à une version antérieure",
}
# Kinds that create a file: nothing published may exist under their id.
CREATIONS = frozenset({"create", "source", "claim"})
CHECKS = {"promise": check_promise_text, "source": check_source_text, "claim": check_claim_text}
# The front matter key whose change the audit log records (a promise's status, a claim's verdict).
STATE_KEYS = {"promise": "status", "claim": "verdict"}


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    by: str  # "author": only the request's author; "reviewer": an editor who is not its author
    comment: str = "optional"  # or "required"


TRANSITIONS: dict[str, Transition] = {
    "submit": Transition(frozenset({"draft", "changes_requested"}), "submitted", "author"),
    "withdraw": Transition(frozenset({"draft", "submitted", "changes_requested", "conflict"}), "withdrawn", "author"),
    "request_changes": Transition(frozenset({"submitted"}), "changes_requested", "reviewer", "required"),
    "reject": Transition(frozenset({"submitted"}), "rejected", "reviewer", "required"),
    "approve": Transition(frozenset({"submitted"}), "approved", "reviewer"),
    "publish": Transition(frozenset({"approved"}), "published", "reviewer"),
    "conflict": Transition(frozenset({"approved"}), "conflict", "reviewer"),
    "rebase": Transition(frozenset({"conflict"}), "draft", "author"),
}
# The author may still change the proposed file in these states (and only in these).
EDITABLE = frozenset({"draft", "changes_requested"})
OPEN = frozenset({"draft", "submitted", "changes_requested", "approved", "conflict"})


class WorkflowError(Exception):
    """An operation that cannot be carried out; the message is for people."""


class InvalidTransition(WorkflowError):
    """The request is not in a state that allows this step."""


class ChangeNotFound(WorkflowError):
    """No such change request."""


class ValidationFailed(WorkflowError):
    """The proposed file would not pass `kb check`; nothing was saved."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


class PublishFailed(WorkflowError):
    """Writing the file failed (disk full, permissions…); the request stays approved, the old file intact."""


class ChangeRequest(Base):
    """A proposed new version of one content file, and where it stands."""

    __tablename__ = "change_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(200), index=True)  # "promise:<id>" or "source:<id>"
    summary: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20), index=True, default="draft")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The file the proposal was made against: None when it did not exist (a creation).
    base_sha256: Mapped[str | None] = mapped_column(String(64))
    base_text: Mapped[str | None] = mapped_column(Text)
    proposed_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=audit.now)
    updated_at: Mapped[datetime] = mapped_column(default=audit.now)
    submitted_at: Mapped[datetime | None] = mapped_column(index=True)
    published_at: Mapped[datetime | None]
    published_sha256: Mapped[str | None] = mapped_column(String(64))

    author: Mapped[User] = relationship(lazy="joined")

    @property
    def target_kind(self) -> str:
        return self.target.partition(":")[0]

    @property
    def target_id(self) -> str:
        return self.target.partition(":")[2]

    @property
    def state_label(self) -> str:
        return STATES[self.state]

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


@dataclass
class Publisher:
    """Where and how approved files are published, and who hears of it afterwards."""

    content_root: Path
    lock_path: Path
    # Called with the target ("promise:<id>") once the file is written: re-index, static build…
    after_publish: list[Callable[[str], None]] = field(default_factory=list)
    git: bool = True
    # The shared database: with PostgreSQL the publish lock is held there, for every server.
    engine: Engine | None = None

    def path_of(self, target: str) -> Path:
        return file_of(self.content_root, target)


def file_of(content_root: Path, target: str) -> Path:
    """The file a target ("promise:<id>", "source:<id>", "claim:<id>") names under a content directory."""
    kind, _, item_id = target.partition(":")
    return Path(content_root) / FOLDER_OF[kind] / f"{item_id}.md"


def target_of(kind: str, item_id: str) -> str:
    """The target key of a content file; a WorkflowError for a malformed id."""
    if kind not in FOLDER_OF:
        raise WorkflowError(f"type de fiche inconnu : {kind}")
    if not isinstance(item_id, str) or not ID_PATTERN.match(item_id) or len(item_id) > 150:
        raise WorkflowError(
            f"identifiant invalide « {item_id} » : minuscules sans accents, chiffres et tirets (ex. « piscine-lomme-2026 »)"
        )
    return f"{kind}:{item_id}"


def validate(tree: ContentTree, target: str, text: str, today: date | None = None) -> list[Problem]:
    """The problems `kb check` would report for `text` published as `target`; errors block saving."""
    kind, _, item_id = target.partition(":")
    return CHECKS[kind](tree, item_id, text, today)


def _errors(problems: list[Problem]) -> list[Problem]:
    return [problem for problem in problems if problem.severity == "error"]


def _validated(tree: ContentTree, target: str, text: str) -> str:
    text = text.replace("\r\n", "\n")
    errors = _errors(validate(tree, target, text))
    if errors:
        raise ValidationFailed(errors)
    return text


# -- guards ---------------------------------------------------------------------------------


def check_transition(change: ChangeRequest, action: str, user: User) -> Transition:
    """The transition `action` on `change` by `user`, or the reason it is not allowed."""
    transition = TRANSITIONS[action]
    if not user.active:
        raise NotAuthorized("ce compte est désactivé")
    if transition.by == "author":
        require(user, "change.propose")
        if change.author_id != user.id:
            raise NotAuthorized("seul l'auteur de la demande peut faire cela")
    else:
        require(user, "change.review")
        if change.author_id == user.id:
            raise NotAuthorized("personne ne relit sa propre demande : un autre éditeur doit s'en charger")
    if change.state not in transition.sources:
        raise InvalidTransition(f"impossible depuis l'état « {STATES[change.state]} » (demande n° {change.id})")
    return transition


def can_view(change: ChangeRequest, user: User) -> bool:
    return change.author_id == user.id or can(user, "change.view_all")


def _move(session: Session, change: ChangeRequest, action: str, user: User, comment: str | None = None, **data) -> None:
    transition = check_transition(change, action, user)
    comment = (comment or "").strip() or None
    if transition.comment == "required" and not comment:
        raise WorkflowError("un commentaire est nécessaire pour dire à l'auteur ce qu'il faut changer ou pourquoi")
    audit.record(
        session,
        f"change.{action}",
        user,
        change_id=change.id,
        target=change.target,
        from_state=change.state,
        to_state=transition.target,
        comment=comment,
        **data,
    )
    _claim(session, change, change.state, transition.target)


def _claim(session: Session, change: ChangeRequest, expected: str, new: str) -> None:
    """Move the row from `expected` to `new` only if nobody moved it meanwhile (two editors, a double click)."""
    moved = session.execute(
        update(ChangeRequest)
        .where(ChangeRequest.id == change.id, ChangeRequest.state == expected)
        .values(state=new, updated_at=audit.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        session.rollback()
        raise InvalidTransition(f"la demande n° {change.id} a changé entre-temps : rechargez la page")
    change.state = new


# -- what journalists do ---------------------------------------------------------------------


def propose(
    session: Session, tree: ContentTree, author: User, kind: str, target: str, text: str, summary: str,
    base: tuple[str | None, str | None] | None = None,
) -> ChangeRequest:
    """Save a new draft proposing `text` as the whole new file for `target`.

    The base is the file as it is now (or `base`, the (text, sha256) the form was made from),
    so that publishing can tell whether somebody else changed it meanwhile.
    """
    require(author, "change.propose")
    if kind == "revert":
        require(author, "change.revert")
    if kind not in KINDS:
        raise WorkflowError(f"type de demande inconnu : {kind}")
    text = _validated(tree, target, text)
    base_text, base_sha = base if base is not None else current_file(file_of(tree.root, target))
    if kind in CREATIONS and base_sha is not None:
        raise WorkflowError(f"« {target.partition(':')[2]} » existe déjà : choisissez un autre identifiant")
    if kind not in CREATIONS and base_sha is None:
        raise ChangeNotFound(f"aucune fiche publiée pour {target}")
    if base_text == text:
        raise WorkflowError("la proposition est identique à la version publiée : rien à relire")
    change = ChangeRequest(
        kind=kind, target=target, summary=summary[:300], state="draft", author_id=author.id,
        base_sha256=base_sha, base_text=base_text, proposed_text=text,
    )  # fmt: skip
    session.add(change)
    session.flush()
    audit.record(session, "change.create", author, change_id=change.id, target=target, to_state="draft")
    session.commit()
    return change


def amend(session: Session, tree: ContentTree, change: ChangeRequest, user: User, text: str, summary: str | None = None) -> None:
    """Replace the proposed file of a draft (or a request sent back for changes)."""
    require(user, "change.propose")
    if change.author_id != user.id:
        raise NotAuthorized("seul l'auteur de la demande peut la modifier")
    if change.state not in EDITABLE:
        raise InvalidTransition(f"une demande « {STATES[change.state]} » ne se modifie plus")
    text = _validated(tree, change.target, text)
    _claim(session, change, change.state, change.state)
    change.proposed_text = text
    if summary:
        change.summary = summary[:300]
    change.updated_at = audit.now()
    audit.record(session, "change.amend", user, change_id=change.id, target=change.target, from_state=change.state, to_state=change.state)
    session.commit()


def submit(session: Session, tree: ContentTree, change: ChangeRequest, user: User, comment: str | None = None) -> None:
    """Send for review (again, after changes were requested). Checked once more: sources change too."""
    check_transition(change, "submit", user)
    _validated(tree, change.target, change.proposed_text)
    _move(session, change, "submit", user, comment)
    change.submitted_at = change.submitted_at or audit.now()
    session.commit()


def withdraw(session: Session, change: ChangeRequest, user: User, comment: str | None = None) -> None:
    _move(session, change, "withdraw", user, comment)
    session.commit()


def rebase(session: Session, tree: ContentTree, change: ChangeRequest, user: User) -> list[str]:
    """Bring a conflicting request onto the file as it is now: back to draft, to review and resubmit.

    The author's changes are merged field by field into the current file (kb.merge); returns the
    fields both sides changed, where the author's version was kept and should be checked.
    """
    from .merge import merge_files

    check_transition(change, "rebase", user)
    current_text, current_sha = current_file(file_of(tree.root, change.target))
    if change.kind in CREATIONS and current_text is not None:
        raise WorkflowError(
            f"« {change.target_id} » a été publié entre-temps par une autre demande : retirez celle-ci et "
            "proposez-la sous un autre identifiant (ou comme modification de la fiche publiée)"
        )
    merged, clashes = merge_files(change.base_text, change.proposed_text, current_text)
    _move(session, change, "rebase", user, data={"fields_in_conflict": clashes, "new_base": current_sha})
    change.base_text, change.base_sha256, change.proposed_text = current_text, current_sha, merged
    session.commit()
    return clashes


# -- what editors do -------------------------------------------------------------------------


def request_changes(session: Session, change: ChangeRequest, editor: User, comment: str) -> None:
    # The version reviewed is kept with the comment: the next review shows what changed since.
    _move(session, change, "request_changes", editor, comment, data={"proposed_text": change.proposed_text})
    session.commit()


def reject(session: Session, change: ChangeRequest, editor: User, reason: str) -> None:
    _move(session, change, "reject", editor, reason)
    session.commit()


def approve(session: Session, tree: ContentTree, change: ChangeRequest, editor: User, publisher: Publisher, comment: str | None = None) -> str:
    """Approve and publish at once; returns the final state ("published" or "conflict")."""
    with publish_lock(publisher.lock_path, publisher.engine):
        # Another editor may have acted on it while this one was reading: decide on the row as it is now.
        session.refresh(change)
        check_transition(change, "approve", editor)
        # Sources may have changed while the request waited: publish only what passes kb check now.
        _validated(tree, change.target, change.proposed_text)
        _move(session, change, "approve", editor, comment)
        session.commit()
        return _publish_locked(session, tree, change, editor, publisher)


def publish(session: Session, tree: ContentTree, change: ChangeRequest, editor: User, publisher: Publisher) -> str:
    """Publish an approved request whose publication failed earlier (disk full…)."""
    with publish_lock(publisher.lock_path, publisher.engine):
        session.refresh(change)
        check_transition(change, "publish", editor)
        return _publish_locked(session, tree, change, editor, publisher)


def _publish_locked(session: Session, tree: ContentTree | None, change: ChangeRequest, editor: User, publisher: Publisher) -> str:
    path = publisher.path_of(change.target)
    try:
        old_sha, new_sha = write_over(path, change.base_sha256, change.proposed_text)
    except StaleBase as stale:
        _move(session, change, "conflict", editor, data={"current_sha256": stale.current_sha256})
        session.commit()
        return "conflict"
    except OSError as error:
        session.rollback()
        log.error("publication de la demande %s impossible : %s", change.id, error)
        raise PublishFailed(
            f"la fiche n'a pas pu être écrite ({error.strerror or error}) ; l'ancienne version est intacte, "
            "la demande reste approuvée : réessayez la publication"
        ) from error
    state_key = STATE_KEYS.get(change.target_kind)
    old_status, new_status = _state(change.base_text, state_key), _state(change.proposed_text, state_key)
    _move(session, change, "publish", editor)
    audit.record(
        session,
        f"{change.target_kind}.publish",
        editor,
        change_id=change.id,
        target=change.target,
        proposer_id=change.author_id,
        old_sha256=old_sha,
        new_sha256=new_sha,
        data={"old_status": old_status, "new_status": new_status, "kind": change.kind, "summary": change.summary},
    )
    change.published_at, change.published_sha256 = audit.now(), new_sha
    session.commit()
    if publisher.git:
        message = f"{change.summary}\n\nDemande n° {change.id} ({KINDS[change.kind]}), approuvée par {editor.name} <{editor.email}>."
        git_commit(publisher.content_root, path, message, change.author.name, change.author.email)
    for hook in publisher.after_publish:
        try:
            hook(change.target)
        except Exception:  # the file is published: a derived copy lagging must not say otherwise
            log.exception("après publication de %s", change.target)
    return "published"


def finish_interrupted(session: Session, publisher: Publisher) -> list[int]:
    """Record the publications whose process died after writing the file, before the database heard of it.

    Such a request is still `approved` while its file already holds exactly its text: half done.
    The temporary files of writes killed before their rename are removed too.
    Finished here (state, audit row, git, hooks), in the name of the editor who approved it, so
    that on restart no request is left half-applied. A request whose file does not hold its text
    was not written at all: it stays approved, for an editor to publish again.
    """
    finished = []
    with publish_lock(publisher.lock_path, publisher.engine):
        # Under the lock no publication is writing: a temporary file now is a dead writer's.
        for folder in FOLDER_OF.values():
            for leftover in leftover_temporaries(publisher.content_root / folder):
                log.warning("fichier temporaire d'une écriture interrompue supprimé : %s", leftover)
                leftover.unlink(missing_ok=True)
        approved = list(session.scalars(select(ChangeRequest).where(ChangeRequest.state == "approved").order_by(ChangeRequest.id)))
        for change in approved:
            _, current = current_file(publisher.path_of(change.target))
            if current != sha256_text(change.proposed_text):
                continue
            approval = session.scalar(
                select(audit.AuditEntry)
                .where(audit.AuditEntry.change_id == change.id, audit.AuditEntry.action == "change.approve")
                .order_by(audit.AuditEntry.id.desc())
            )
            editor = approval.actor if approval is not None else None
            if editor is None:
                continue
            try:
                _publish_locked(session, None, change, editor, publisher)
            except (WorkflowError, NotAuthorized) as error:  # the editor was disabled since: left to another
                session.rollback()
                log.error("publication interrompue de la demande %s non terminée : %s", change.id, error)
                continue
            log.warning("publication interrompue de la demande %s terminée au redémarrage", change.id)
            finished.append(change.id)
    return finished


def _state(text: str | None, key: str | None) -> str | None:
    """The `status:` of a promise file's text, the `verdict:` of a claim's (None for sources and unreadable text)."""
    if not text or key is None:
        return None
    try:
        data = frontmatter.load(text).data
    except frontmatter.FrontMatterError:
        return None
    state = data.get(key) if isinstance(data, dict) else None
    return state if isinstance(state, str) else None


def propose_revert(session: Session, tree: ContentTree, editor: User, target: str, version_sha256: str) -> ChangeRequest:
    """A new request (through review, like any other) that puts back a version published earlier."""
    require(editor, "change.revert")
    text = next((text for sha, text, _ in versions(session, target) if sha == version_sha256), None)
    if text is None:
        raise ChangeNotFound("version inconnue pour cette fiche")
    return propose(session, tree, editor, "revert", target, text, f"Retour à la version {version_sha256[:10]}")


def versions(session: Session, target: str) -> list[tuple[str, str, datetime | None]]:
    """(sha256, text, published at) of each version of a file known to the newsroom, newest first.

    The texts of published requests, and the file each first request was based on (written
    before the newsroom, by hand or by git).
    """
    changes = session.scalars(
        select(ChangeRequest).where(ChangeRequest.target == target, ChangeRequest.state == "published")
        .order_by(ChangeRequest.published_at.desc(), ChangeRequest.id.desc())
    ).all()  # fmt: skip
    found: dict[str, tuple[str, str, datetime | None]] = {}
    for change in changes:
        found.setdefault(change.published_sha256, (change.published_sha256, change.proposed_text, change.published_at))
    for change in changes:
        if change.base_text is not None and change.base_sha256 not in found:
            found[change.base_sha256] = (change.base_sha256, change.base_text, None)
    return list(found.values())


# -- what people see -------------------------------------------------------------------------


def get_change(session: Session, change_id: int, user: User) -> ChangeRequest:
    """The request, if `user` may see it (their own, or anyone's for editors)."""
    require(user, "newsroom.enter")
    change = session.get(ChangeRequest, change_id)
    if change is None:
        raise ChangeNotFound(f"aucune demande n° {change_id}")
    if not can_view(change, user):
        raise NotAuthorized("cette demande est celle d'un autre journaliste")
    return change


def review_queue(session: Session, editor: User) -> list[ChangeRequest]:
    """Requests waiting for review, oldest first."""
    require(editor, "change.review")
    query = select(ChangeRequest).where(ChangeRequest.state == "submitted").order_by(ChangeRequest.submitted_at, ChangeRequest.id)
    return list(session.scalars(query))


def approved_unpublished(session: Session, editor: User) -> list[ChangeRequest]:
    """Approved requests whose publication failed (disk full…): to publish again."""
    require(editor, "change.review")
    return list(session.scalars(select(ChangeRequest).where(ChangeRequest.state == "approved").order_by(ChangeRequest.id)))


def own_requests(session: Session, user: User) -> list[ChangeRequest]:
    """The user's requests, those still open first, newest first."""
    require(user, "newsroom.enter")
    query = select(ChangeRequest).where(ChangeRequest.author_id == user.id).order_by(ChangeRequest.updated_at.desc())
    changes = list(session.scalars(query))
    return sorted(changes, key=lambda change: change.state not in OPEN)


def thread(session: Session, change: ChangeRequest) -> list[audit.AuditEntry]:
    """The request's steps and comments, oldest first."""
    query = select(audit.AuditEntry).where(audit.AuditEntry.change_id == change.id).order_by(audit.AuditEntry.id)
    return list(session.scalars(query))

