"""Change requests: what journalists propose, editors review, and kb publishes.

The one place that lists the states, the transitions and who may take each. Every operation
checks the role (kb.newsroom.permissions), the request's state and, for reviews, that the reviewer is
not its author; then it records the step in the audit log. Publishing happens under a lock and
only over the exact file the request was based on: otherwise the request goes to `conflict`
and its author rebases; nothing is ever overwritten.

    draft → submitted → (changes_requested → submitted)* → approved → published
                      ↘ rejected                                  ↘ conflict → draft (rebase)
    draft, submitted, changes_requested, conflict → withdrawn (by the author)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kb.config.i18n import gettext as _
from kb.content.check import check_text
from kb.content.files import current_file, leftover_temporaries, sha256_text
from kb.content.model import Problem
from kb.content.registry import InvalidKey, Key
from kb.content.tree import ContentTree
from kb.newsroom.permissions import NotAuthorized, can, require
from kb.newsroom.publishing import BatchFile, Publisher
from kb.newsroom.publishing import PublishFailed as _PublishFailed
from kb.newsroom.publishing import StaleBase
from kb.store import audit
from kb.store.accounts import User
from kb.store.changes import BATCH_KIND, CHANGE_TYPES, STATES, ChangeFile, ChangeRequest

log = logging.getLogger(__name__)

# Change types that create a file: nothing published may exist under their id.
CREATIONS = frozenset({"create", "source", "claim", "file"})


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

    def __init__(self, failure: _PublishFailed):
        super().__init__(_("%(failure)s ; la demande reste approuvée : réessayez la publication", failure=failure))


def key_of(tree: ContentTree, target: str) -> Key:
    """The key a request's target names ("promise:<id>"); a WorkflowError when it names no possible file."""
    try:
        return tree.kinds.parse_key(target)
    except InvalidKey as error:
        raise WorkflowError(str(error)) from None


def target_of(tree: ContentTree, kind: str, item_id: str) -> str:
    """The target of a new file of `kind` called `item_id`; a WorkflowError, said for people, for a malformed id."""
    try:
        return str(tree.kinds.key(kind, item_id))
    except InvalidKey as error:
        raise WorkflowError(str(error)) from None


def validate(tree: ContentTree, target: str, text: str, today: date | None = None) -> list[Problem]:
    """The problems `kb check` would report for `text` published as `target`; errors block saving."""
    return check_text(tree, key_of(tree, target), text, today)


def _errors(problems: list[Problem]) -> list[Problem]:
    return [problem for problem in problems if problem.severity == "error"]


def _validated(tree: ContentTree, target: str, text: str) -> str:
    text = text.replace("\r\n", "\n")
    errors = _errors(validate(tree, target, text))
    if errors:
        raise ValidationFailed(errors)
    return text


def _validated_request(tree: ContentTree, change: ChangeRequest) -> None:
    """The request's file — or every file of a batch — passes kb check against the tree as it is now."""
    if not change.is_batch:
        _validated(tree, change.target, change.proposed_text)
        return
    errors = [problem for part in change.files for problem in _errors(validate(tree, part.target, part.proposed_text))]
    if errors:
        raise ValidationFailed(errors)


# -- guards ---------------------------------------------------------------------------------


def check_transition(change: ChangeRequest, action: str, user: User) -> Transition:
    """The transition `action` on `change` by `user`, or the reason it is not allowed."""
    transition = TRANSITIONS[action]
    if not user.active:
        raise NotAuthorized(_("ce compte est désactivé"))
    if transition.by == "author":
        require(user, "change.propose")
        if change.author_id != user.id:
            raise NotAuthorized(_("seul l'auteur de la demande peut faire cela"))
    else:
        require(user, "change.review")
        if change.author_id == user.id:
            raise NotAuthorized(_("personne ne relit sa propre demande : un autre éditeur doit s'en charger"))
    if change.state not in transition.sources:
        raise InvalidTransition(_("impossible depuis l'état « %(state)s » (demande n° %(number)s)", state=_(STATES[change.state]), number=change.id))
    return transition


def can_view(change: ChangeRequest, user: User) -> bool:
    return change.author_id == user.id or can(user, "change.view_all")


def _move(session: Session, change: ChangeRequest, action: str, user: User, comment: str | None = None, **data) -> None:
    transition = check_transition(change, action, user)
    comment = (comment or "").strip() or None
    if transition.comment == "required" and not comment:
        raise WorkflowError(_("un commentaire est nécessaire pour dire à l'auteur ce qu'il faut changer ou pourquoi"))
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
        raise InvalidTransition(_("la demande n° %(number)s a changé entre-temps : rechargez la page", number=change.id))
    change.state = new


# -- what journalists do ---------------------------------------------------------------------


def propose(
    session: Session, tree: ContentTree, author: User, change_type: str, target: str, text: str, summary: str,
    base: tuple[str | None, str | None] | None = None,
) -> ChangeRequest:
    """Save a new draft proposing `text` as the whole new file for `target`.

    The base is the file as it is now (or `base`, the (text, sha256) the form was made from),
    so that publishing can tell whether somebody else changed it meanwhile.
    """
    require(author, "change.propose")
    if change_type == "revert":
        require(author, "change.revert")
    if change_type not in CHANGE_TYPES:
        raise WorkflowError(_("type de demande inconnu : %(change_type)s", change_type=change_type))
    text = _validated(tree, target, text)
    base_text, base_sha = base if base is not None else current_file(tree.kinds.path(tree.root, key_of(tree, target)))
    if change_type in CREATIONS and base_sha is not None:
        raise WorkflowError(_("« %(id)s » existe déjà : choisissez un autre identifiant", id=target.partition(":")[2]))
    if change_type not in CREATIONS and base_sha is None:
        raise ChangeNotFound(_("aucune fiche publiée pour %(target)s", target=target))
    if base_text == text:
        raise WorkflowError(_("la proposition est identique à la version publiée : rien à relire"))
    change = ChangeRequest(
        change_type=change_type, target=target, summary=summary[:300], state="draft", author_id=author.id,
        base_sha256=base_sha, base_text=base_text, proposed_text=text,
    )  # fmt: skip
    session.add(change)
    session.flush()
    audit.record(session, "change.create", author, change_id=change.id, target=target, to_state="draft")
    session.commit()
    return change


@dataclass(frozen=True)
class ProposedFile:
    """One file of a batch being proposed: its new text, over the version it was read from."""

    change_type: str  # create, edit, status
    target: str
    text: str
    summary: str
    base_text: str | None
    base_sha256: str | None


def propose_batch(
    session: Session, tree: ContentTree, author: User, name: str, files: list[ProposedFile], summary: str, checked: bool = False
) -> ChangeRequest:
    """Save a new draft proposing several files at once (an import): reviewed as one, published all or nothing.

    `name` (the spreadsheet's) becomes the request's target, "import:<name as an id>". `checked`:
    the caller has just checked every file against this same tree (an import's preview, read in
    the same request): they are not checked twice — submitting and approving check them again.
    """
    require(author, "change.propose")
    change = ChangeRequest(
        change_type=BATCH_KIND, target=f"{BATCH_KIND}:{_batch_name(name)}", summary=summary[:300], state="draft",
        author_id=author.id, base_sha256=None, base_text=None, proposed_text="",
    )  # fmt: skip
    change.files = _batch_files(tree, files, checked)
    session.add(change)
    session.flush()
    audit.record(session, "change.create", author, change_id=change.id, target=change.target, to_state="draft", data={"files": len(files)})
    session.commit()
    return change


def replace_batch(
    session: Session, tree: ContentTree, change: ChangeRequest, user: User, files: list[ProposedFile], summary: str, checked: bool = False
) -> None:
    """Replace a batch's files by those of a corrected spreadsheet (a draft, or a batch sent back for changes; `checked` as for propose_batch)."""
    require(user, "change.propose")
    if change.author_id != user.id:
        raise NotAuthorized(_("seul l'auteur de la demande peut la modifier"))
    if change.state not in EDITABLE:
        raise InvalidTransition(_("une demande « %(state)s » ne se modifie plus", state=_(STATES[change.state])))
    if not change.is_batch:
        raise WorkflowError(_("la demande n° %(number)s n'est pas un import", number=change.id))
    new_files = _batch_files(tree, files, checked)
    _claim(session, change, change.state, change.state)
    change.files = new_files
    change.summary = summary[:300]
    change.updated_at = audit.now()
    audit.record(session, "change.amend", user, change_id=change.id, target=change.target, from_state=change.state, to_state=change.state, data={"files": len(files)})
    session.commit()


def _batch_files(tree: ContentTree, files: list[ProposedFile], checked: bool) -> list[ChangeFile]:
    """The rows of a batch, each file checked as a request of its own would be (unless just `checked`)."""
    if not files:
        raise WorkflowError(_("aucune ligne à importer : rien à relire"))
    seen: set[str] = set()
    errors: list[Problem] = []
    rows = []
    for position, item in enumerate(files):
        if item.target in seen:
            raise WorkflowError(_("%(target)s figure deux fois dans l'import", target=item.target))
        seen.add(item.target)
        if item.change_type not in CHANGE_TYPES or item.change_type == BATCH_KIND:
            raise WorkflowError(_("type de demande inconnu : %(change_type)s", change_type=item.change_type))
        text = item.text.replace("\r\n", "\n")
        if not checked:
            errors += _errors(validate(tree, item.target, text))
        if item.change_type in CREATIONS and item.base_sha256 is not None:
            raise WorkflowError(_("« %(id)s » existe déjà : choisissez un autre identifiant", id=Key.split(item.target).id))
        if item.change_type not in CREATIONS and item.base_sha256 is None:
            raise ChangeNotFound(_("aucune fiche publiée pour %(target)s", target=item.target))
        rows.append(ChangeFile(
            position=position, change_type=item.change_type, target=item.target, summary=item.summary[:300],
            base_sha256=item.base_sha256, base_text=item.base_text, proposed_text=text,
        ))  # fmt: skip
    if errors:
        raise ValidationFailed(errors)
    return rows


def _batch_name(name: str) -> str:
    from kb.newsroom.proposals import slugify

    return slugify(name.rsplit(".", 1)[0])[:150] or "tableur"


def amend(session: Session, tree: ContentTree, change: ChangeRequest, user: User, text: str, summary: str | None = None) -> None:
    """Replace the proposed file of a draft (or a request sent back for changes)."""
    require(user, "change.propose")
    if change.author_id != user.id:
        raise NotAuthorized(_("seul l'auteur de la demande peut la modifier"))
    if change.state not in EDITABLE:
        raise InvalidTransition(_("une demande « %(state)s » ne se modifie plus", state=_(STATES[change.state])))
    if change.is_batch:
        raise WorkflowError(_("une demande d'import se corrige en important à nouveau le tableur corrigé"))
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
    _validated_request(tree, change)
    _move(session, change, "submit", user, comment)
    change.submitted_at = change.submitted_at or audit.now()
    session.commit()


def withdraw(session: Session, change: ChangeRequest, user: User, comment: str | None = None) -> None:
    _move(session, change, "withdraw", user, comment)
    session.commit()


def rebase(session: Session, tree: ContentTree, change: ChangeRequest, user: User) -> list[str]:
    """Bring a conflicting request onto the file as it is now: back to draft, to review and resubmit.

    The author's changes are merged field by field into the current file (kb.newsroom.merge); returns the
    fields both sides changed, where the author's version was kept and should be checked.
    """
    from kb.newsroom.merge import merge_files

    check_transition(change, "rebase", user)
    if change.is_batch:
        return _rebase_batch(session, tree, change, user, merge_files)
    key = key_of(tree, change.target)
    current_text, current_sha = current_file(tree.kinds.path(tree.root, key))
    if change.change_type in CREATIONS and current_text is not None:
        raise WorkflowError(_(
            "« %(id)s » a été publié entre-temps par une autre demande : retirez celle-ci et "
            "proposez-la sous un autre identifiant (ou comme modification de la fiche publiée)",
            id=change.target_id,
        ))
    merged, clashes = merge_files(change.base_text, change.proposed_text, current_text, tree.kinds[key.kind].keys)
    _move(session, change, "rebase", user, data={"fields_in_conflict": clashes, "new_base": current_sha})
    change.base_text, change.base_sha256, change.proposed_text = current_text, current_sha, merged
    session.commit()
    return clashes


def _rebase_batch(session: Session, tree: ContentTree, change: ChangeRequest, user: User, merge_files) -> list[str]:
    """Each file of a batch brought onto the file as it is now; the fields both sides changed, "id: field"."""
    clashes_all: list[str] = []
    for part in change.files:
        key = key_of(tree, part.target)
        current_text, current_sha = current_file(tree.kinds.path(tree.root, key))
        if current_sha == part.base_sha256:
            continue
        if part.change_type in CREATIONS:
            raise WorkflowError(_(
                "« %(id)s » a été publié entre-temps par une autre demande : retirez cet import et "
                "importez à nouveau le tableur (la ligne deviendra une modification de la fiche publiée)",
                id=key.id,
            ))
        merged, clashes = merge_files(part.base_text, part.proposed_text, current_text, tree.kinds[key.kind].keys)
        part.base_text, part.base_sha256, part.proposed_text = current_text, current_sha, merged
        clashes_all += [f"{key.id} : {field}" for field in clashes]
    _move(session, change, "rebase", user, data={"fields_in_conflict": clashes_all})
    session.commit()
    return clashes_all


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
    if change.is_batch:
        # A batch's thousand files are checked before the lock, not under it: every other publication
        # and the scanner would wait meanwhile. Under the lock, each file's base is checked again.
        check_transition(change, "approve", editor)
        _validated_request(tree, change)
    with publisher.lock():
        # Another editor may have acted on it while this one was reading: decide on the row as it is now.
        session.refresh(change)
        check_transition(change, "approve", editor)
        # Sources may have changed while the request waited: publish only what passes kb check now.
        if not change.is_batch:
            _validated_request(tree, change)
        _move(session, change, "approve", editor, comment)
        session.commit()
        return _publish(session, change, editor, publisher)


def publish(session: Session, tree: ContentTree, change: ChangeRequest, editor: User, publisher: Publisher) -> str:
    """Publish an approved request whose publication failed earlier (disk full…)."""
    with publisher.lock():
        session.refresh(change)
        check_transition(change, "publish", editor)
        return _publish(session, change, editor, publisher)


def _publish(session: Session, change: ChangeRequest, editor: User, publisher: Publisher) -> str:
    """Publish an approved request through the one publishing operation; "published" or "conflict"."""

    def record(_old_sha: str | None, new_sha: str) -> None:
        _move(session, change, "publish", editor)
        change.published_at, change.published_sha256 = audit.now(), new_sha

    check_transition(change, "publish", editor)
    if change.is_batch:
        return _publish_batch(session, change, editor, publisher, record)
    try:
        publisher.publish(
            session, change.target, change.proposed_text, change.base_sha256,
            by=editor, proposer=change.author, change_id=change.id, summary=change.summary,
            change_type=change.change_type, base_text=change.base_text, before_commit=record,
            details=f"Demande n° {change.id} ({CHANGE_TYPES[change.change_type]}), approuvée par {editor.name} <{editor.email}>.",
        )  # fmt: skip
    except StaleBase as stale:
        _move(session, change, "conflict", editor, data={"current_sha256": stale.current_sha256})
        session.commit()
        return "conflict"
    except _PublishFailed as failure:
        raise PublishFailed(failure) from failure
    return "published"


def _publish_batch(session: Session, change: ChangeRequest, editor: User, publisher: Publisher, record) -> str:
    """Publish every file of a batch, or none (kb.newsroom.publishing.publish_batch); "published" or "conflict"."""
    files = [
        BatchFile(part.target, part.proposed_text, part.base_sha256, part.base_text, part.change_type, part.summary)
        for part in change.files
    ]
    try:
        publisher.publish_batch(
            session, files, by=editor, proposer=change.author, change_id=change.id, summary=change.summary,
            before_commit=lambda: record(None, None),
            details=f"Demande n° {change.id} ({CHANGE_TYPES[change.change_type]}, {len(files)} fichiers), approuvée par {editor.name} <{editor.email}>.",
        )  # fmt: skip
    except StaleBase as stale:
        session.refresh(change)
        _move(session, change, "conflict", editor, data={"current_sha256": stale.current_sha256, "file": stale.target})
        session.commit()
        return "conflict"
    except _PublishFailed as failure:
        raise PublishFailed(failure) from failure
    return "published"


def finish_interrupted(session: Session, publisher: Publisher) -> list[int]:
    """Record the publications whose process died after writing the file, before the database heard of it.

    Such a request is still `approved` while its file already holds exactly its text: half done.
    The temporary files of writes killed before their rename are removed too.
    Finished here through the one publishing operation (state, audit row, git, hooks), in the name
    of the editor who approved it, so that on restart no request is left half-applied. A request
    whose file does not hold its text was not written at all: it stays approved, for an editor to
    publish again.
    """
    finished = []
    with publisher.lock():
        # Under the lock no publication is writing: a temporary file now is a dead writer's.
        for kind in publisher.kinds:
            for leftover in leftover_temporaries(publisher.content_root / kind.folder):
                log.warning("fichier temporaire d'une écriture interrompue supprimé : %s", leftover)
                leftover.unlink(missing_ok=True)
        approved = list(session.scalars(select(ChangeRequest).where(ChangeRequest.state == "approved").order_by(ChangeRequest.id)))
        for change in approved:
            if change.is_batch:  # a batch is put back by its journal when the lock is taken: an editor publishes it again
                continue
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
                _publish(session, change, editor, publisher)
            except (WorkflowError, NotAuthorized) as error:  # the editor was disabled since: left to another
                session.rollback()
                log.error("publication interrompue de la demande %s non terminée : %s", change.id, error)
                continue
            log.warning("publication interrompue de la demande %s terminée au redémarrage", change.id)
            finished.append(change.id)
    return finished


def propose_revert(session: Session, tree: ContentTree, editor: User, target: str, version_sha256: str) -> ChangeRequest:
    """A new request (through review, like any other) that puts back a version published earlier."""
    require(editor, "change.revert")
    text = next((text for sha, text, _ in versions(session, target) if sha == version_sha256), None)
    if text is None:
        raise ChangeNotFound(_("version inconnue pour cette fiche"))
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
    # The file as imports published it (a batch's row), and the version each import was based on.
    parts = session.execute(
        select(ChangeFile, ChangeRequest.published_at).join(ChangeRequest, ChangeFile.change_id == ChangeRequest.id)
        .where(ChangeFile.target == target, ChangeRequest.state == "published")
    ).all()  # fmt: skip
    for part, published_at in parts:
        found.setdefault(sha256_text(part.proposed_text), (sha256_text(part.proposed_text), part.proposed_text, published_at))
        if part.base_text is not None:
            found.setdefault(part.base_sha256, (part.base_sha256, part.base_text, None))
    return sorted(found.values(), key=lambda version: version[2].timestamp() if version[2] else float("-inf"), reverse=True)


# -- what people see -------------------------------------------------------------------------


def get_change(session: Session, change_id: int, user: User) -> ChangeRequest:
    """The request, if `user` may see it (their own, or anyone's for editors)."""
    require(user, "newsroom.enter")
    change = session.get(ChangeRequest, change_id)
    if change is None:
        raise ChangeNotFound(_("aucune demande n° %(number)s", number=change_id))
    if not can_view(change, user):
        raise NotAuthorized(_("cette demande est celle d'un autre journaliste"))
    return change


def take_review(session: Session, change: ChangeRequest, editor: User) -> None:
    """An editor takes the review of a submitted request: the others see it is theirs."""
    check_transition(change, "approve", editor)  # who may review it, from which state
    if change.state != "submitted":
        raise InvalidTransition(_("seule une demande envoyée en relecture se prend (demande n° %(number)s)", number=change.id))
    if change.reviewer_id not in (None, editor.id) and change.reviewer is not None and change.reviewer.active:
        raise InvalidTransition(_("relecture déjà prise par %(name)s : voyez avec elle ou lui", name=change.reviewer.name))
    change.reviewer_id = editor.id
    audit.record(session, "change.assign", editor, change_id=change.id, target=change.target, comment=f"relecture prise par {editor.name}")
    session.commit()


def set_review_due(session: Session, change: ChangeRequest, editor: User, due: date | None) -> None:
    """The day a submitted request's review is due (None: no date)."""
    check_transition(change, "approve", editor)  # an editor, not its author
    if change.state != "submitted":
        raise InvalidTransition(_("seule une demande envoyée en relecture reçoit une échéance (demande n° %(number)s)", number=change.id))
    change.review_due = due
    audit.record(session, "change.due", editor, change_id=change.id, target=change.target, comment=due.isoformat() if due else "sans échéance")
    session.commit()


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

