"""The one publishing operation: every content file kb writes goes through `Publisher.publish`.

Approval, revert (an approval like any other), the recovery of publications a killed process left
half done, and `kb source add` all call it, so each of them takes the same steps in the same order:

    lock → base check → atomic write → audit row (`<kind>.publish`) → git commit → unlock → hooks

The lock serializes publications across processes and servers; the base check refuses to
overwrite a file that changed since the change was made (StaleBase); the audit row is the
publication log other servers follow; the git commit (when the content tree is a repository)
keeps the history of the published truth; hooks re-index and re-render what is derived.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kb.catalog.update import Catalog
from kb.config.i18n import gettext as _
from kb.config.settings import publish_lock_path
from kb.content import frontmatter, originals
from kb.content.files import StaleBase, atomic_write, current_file, sha256_text, write_over
from kb.content.kinds import KINDS
from kb.content.registry import Key, Kinds
from kb.store import audit, journal
from kb.store.accounts import User
from kb.store.db import first_line
from kb.store.locks import PUBLISH_LOCK_KEY, exclusive

log = logging.getLogger(__name__)

# Who commits when nobody is named (GIT_AUTHOR_NAME / GIT_AUTHOR_EMAIL override it).
DEFAULT_AUTHOR = ("kb", "kb@localhost")
# A source file's fingerprint of its original (its front matter's `sha256:` line).
_SHA256_LINE = re.compile(r"^sha256: *[\"']?([0-9a-f]{64})", re.MULTILINE)


class PublishFailed(Exception):
    """Writing the file failed (disk full, permissions…); nothing was recorded, the old file is intact."""


@contextmanager
def publish_lock(lock_path: Path, engine: Engine | None = None) -> Iterator[None]:
    """Held while a publication checks and writes: one at a time, across processes and servers.

    A PostgreSQL advisory lock when `engine` is PostgreSQL's, else an flock on `lock_path`;
    released when its holder dies, so a killed publish never leaves the newsroom locked.
    """
    with exclusive(PUBLISH_LOCK_KEY, lock_path, engine):
        yield


@dataclass
class Publisher:
    """Where and how files are published, and who hears of it afterwards."""

    content_root: Path
    lock_path: Path
    # Called with the key ("promise:<id>") once the file is written: re-index, static build…
    after_publish: list[Callable[[str], None]] = field(default_factory=list)
    git: bool = True
    # The shared database: with PostgreSQL the publish lock is held there, for every server.
    engine: Engine | None = None
    kinds: Kinds = KINDS
    # The catalog pages read: refreshed in the transaction that records the publication.
    catalog: Catalog | None = None
    _held: threading.local = field(default_factory=threading.local, repr=False, compare=False)

    @classmethod
    def from_settings(cls, values: Mapping[str, Any], engine: Engine | None, after_publish=(), kinds: Kinds = KINDS) -> "Publisher":
        """The publisher of an installation, as its settings describe it."""
        content_root, lock_path = Path(values["CONTENT_DIR"]), publish_lock_path(values)
        return cls(
            content_root=content_root,
            lock_path=lock_path,
            after_publish=list(after_publish),
            git=bool(values["PUBLISH_GIT_COMMIT"]),
            engine=engine,
            kinds=kinds,
            catalog=Catalog(engine, content_root, lock_path, kinds) if engine is not None else None,
        )

    def path_of(self, key: Key | str) -> Path:
        return self.kinds.path(self.content_root, key)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """The publish lock; taken again by the same thread (an approval that publishes), it is already held."""
        depth = getattr(self._held, "depth", 0)
        if depth:
            self._held.depth = depth + 1
            try:
                yield
            finally:
                self._held.depth = depth
            return
        self._held.published = []
        try:
            with publish_lock(self.lock_path, self.engine):
                self._held.depth = 1
                try:
                    if self.engine is not None:
                        # A batch whose writer died midway is put back (or kept, if recorded) before anything else.
                        journal.settle(self.content_root, self.engine)
                    yield
                finally:
                    self._held.depth = 0
        finally:
            # The hooks (index, pages, static build) run once the lock is free: what they derive is
            # not the published truth, and a batch's thousand files must not hold every other publication.
            published, self._held.published = self._held.published, []
            for key in published:
                for hook in self.after_publish:
                    try:
                        hook(str(key))
                    except Exception:  # the file is published: a derived copy lagging must not say otherwise
                        log.exception("après publication de %s", key)

    def publish(
        self,
        session: Session,
        key: Key | str,
        text: str,
        base_sha256: str | None,
        *,
        by: User | None,
        summary: str,
        change_type: str,
        base_text: str | None = None,
        proposer: User | None = None,
        change_id: int | None = None,
        details: str | None = None,
        before_commit: Callable[[str | None, str], None] | None = None,
    ) -> tuple[str | None, str]:
        """Write `text` as the file `key` names, if that file is still at `base_sha256` (None: it must not exist).

        Raises StaleBase when the file changed since (nothing written, nothing recorded) and
        PublishFailed when it cannot be written (the old file intact). `before_commit(old, new)`
        adds the caller's own rows to the transaction that records the publication. Returns the
        file's sha256 before and after.
        """
        key = key if isinstance(key, Key) else self.kinds.parse_key(key)
        path = self.path_of(key)
        with self.lock():
            before_text, before_sha = current_file(path)
            before_bytes = path.read_bytes() if before_sha is not None else None
            if base_text is None:
                base_text = before_text
            try:
                old_sha, new_sha = write_over(path, base_sha256, text)
            except StaleBase:
                raise
            except OSError as error:
                session.rollback()
                log.error("publication de %s impossible : %s", key, error)
                raise PublishFailed(
                    _("la fiche n'a pas pu être écrite (%(reason)s) ; l'ancienne version est intacte", reason=error.strerror or error)
                ) from error
            try:
                if before_commit is not None:
                    before_commit(old_sha, new_sha)
                self._log(session, key, base_text, text, old_sha, new_sha, by, proposer, change_id, change_type, summary)
                if self.catalog is not None and self.catalog.ready(session.connection()):
                    self.catalog.refresh(session.connection(), [key])
                session.commit()
            except BaseException as error:
                # Not recorded, so not published: the file goes back to what it was, or a file
                # nobody logged would be served, and the next try would find it "already there".
                # BaseException too: a worker stopped by its timeout between the write and the commit.
                session.rollback()
                if before_sha != new_sha:  # else nothing was written (a publication finished at restart)
                    try:
                        _put_back(path, before_bytes)
                    except OSError as failure:
                        log.critical(
                            "publication de %s non enregistrée ET fichier non remis en l'état (%s) : il sera traité "
                            "comme une modification à la main ; la demande reste approuvée", key, failure,
                        )  # fmt: skip
                        raise PublishFailed(_(
                            "la publication n'a pas pu être enregistrée (%(reason)s) et le fichier n'a pas pu être remis en l'état (%(failure)s)",
                            reason=first_line(error), failure=failure,
                        )) from error
                if not isinstance(error, Exception):
                    raise
                log.error("publication de %s non enregistrée, fichier remis en l'état : %s", key, error)
                raise PublishFailed(
                    _("la publication n'a pas pu être enregistrée (%(reason)s) ; le fichier est resté tel qu'il était", reason=first_line(error))
                ) from error
            self._after(session, [key], [path], proposer, summary, details)
        return old_sha, new_sha

    def publish_batch(
        self,
        session: Session,
        files: list["BatchFile"],
        *,
        by: User | None,
        summary: str,
        proposer: User | None = None,
        change_id: int | None = None,
        details: str | None = None,
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        """Write several files as one publication: all of them, or none.

        Every base is checked before the first write (StaleBase names the first file that moved,
        nothing written); a journal of the old bytes is written first (kb.store.journal), so that a
        failure puts the old files back here, and a killed process has them put back by whoever
        takes the publish lock next. One database transaction records every file (an audit row
        each, the catalog's rows, `before_commit`'s rows), one git commit holds them all.
        """
        keys = [self.kinds.parse_key(item.target) for item in files]
        paths = [self.path_of(key) for key in keys]
        with self.lock():
            befores: list[bytes | None] = []
            for item, path in zip(files, paths):
                _text, current = current_file(path)
                if current != item.base_sha256:
                    raise StaleBase(current, item.target)
                befores.append(path.read_bytes() if current is not None else None)
            entries = [
                journal.JournalFile(str(path.relative_to(self.content_root)), before, item.target, sha256_text(item.text))
                for item, path, before in zip(files, paths, befores)
            ]
            try:
                journal.begin(session, self.content_root, entries)
            except OSError as error:
                session.rollback()
                raise PublishFailed(
                    _("le journal de publication n'a pas pu être écrit (%(reason)s) ; rien n'a été publié", reason=error.strerror or error)
                ) from error
            written = 0
            try:
                for item, key, path in zip(files, keys, paths):
                    old_sha, new_sha = write_over(path, item.base_sha256, item.text)
                    written += 1
                    self._log(session, key, item.base_text, item.text, old_sha, new_sha, by, proposer, change_id, item.change_type, item.summary)
                if before_commit is not None:
                    before_commit()
                if self.catalog is not None and self.catalog.ready(session.connection()):
                    self.catalog.refresh(session.connection(), keys)
                session.commit()
            except BaseException as error:
                session.rollback()
                try:
                    # The files written, and the one being written if its rename happened before the failure.
                    if written < len(entries) and current_file(paths[written])[1] == entries[written].new_sha256:
                        written += 1
                    journal.put_back(self.content_root, entries[:written])
                    journal.end(self.content_root)
                except OSError as failure:
                    # The journal stays: the next holder of the lock puts the old files back.
                    log.critical("publication groupée non enregistrée ET fichiers non remis en l'état (%s) : le journal les remettra", failure)
                if not isinstance(error, Exception):
                    raise
                log.error("publication groupée non enregistrée, anciens fichiers remis : %s", error)
                if isinstance(error, StaleBase):
                    raise
                reason = error.strerror if isinstance(error, OSError) and error.strerror else first_line(error)
                raise PublishFailed(
                    _("la publication groupée n'a pas pu être faite (%(reason)s) ; les fichiers sont restés tels qu'ils étaient", reason=reason)
                ) from error
            journal.end(self.content_root)
            self._after(session, keys, paths, proposer, summary, details)

    def _log(self, session: Session, key: Key, base_text: str | None, text: str, old_sha: str | None, new_sha: str,
             by: User | None, proposer: User | None, change_id: int | None, change_type: str, summary: str) -> None:  # fmt: skip
        """The publication row of one file: the publication log other servers follow and the public record reads."""
        kind = self.kinds[key.kind]
        audit.record(
            session,
            f"{kind.name}.publish",
            by,
            change_id=change_id,
            target=str(key),
            proposer_id=proposer.id if proposer else None,
            old_sha256=old_sha,
            new_sha256=new_sha,
            data={
                "old_status": _state(base_text, kind.state_key),
                "new_status": _state(text, kind.state_key),
                "change_type": change_type,
                "summary": summary,
            },
        )

    def _after(self, session: Session, keys: list[Key], paths: list[Path], proposer: User | None, summary: str, details: str | None) -> None:
        """Once recorded: the git commit of the files (under the lock: git serializes its index), then the
        hooks, once the lock is released (see `lock`)."""
        if self.git:
            author = (proposer.name, proposer.email) if proposer else _environment_author()
            message = f"{summary}\n\n{details}" if details else summary
            git_commit(self.content_root, paths + _originals_of(self.content_root, keys, paths), message, *author)
        self._held.published.extend(keys)


@dataclass(frozen=True)
class BatchFile:
    """One file of a batch publication: what to write where, over which version."""

    target: str
    text: str
    base_sha256: str | None
    base_text: str | None
    change_type: str
    summary: str


def _put_back(path: Path, content: bytes | None) -> None:
    """Undo a write whose publication could not be recorded: the old bytes back, or no file."""
    if content is None:
        path.unlink(missing_ok=True)
    else:
        atomic_write(path, content)


def _environment_author() -> tuple[str, str]:
    return os.environ.get("GIT_AUTHOR_NAME") or DEFAULT_AUTHOR[0], os.environ.get("GIT_AUTHOR_EMAIL") or DEFAULT_AUTHOR[1]


def _state(text: str | None, key: str | None) -> str | None:
    """The value of the kind's state key (a promise's `status:`, a claim's `verdict:`) in a file's text; None if none."""
    if not text or key is None:
        return None
    # The line kb writes (`status: done`, at the start of a line of the front matter), read without
    # parsing the whole file: a batch logs a thousand of them under the publish lock.
    front = text.split("\n---", 1)[0]
    found = re.findall(rf"^{re.escape(key)}:[ \t]*([A-Za-z0-9_-]+)[ \t]*$", front, re.M)
    if len(found) == 1:
        return found[0]
    try:
        data = frontmatter.load(text).data
    except frontmatter.FrontMatterError:
        return None
    state = data.get(key) if isinstance(data, dict) else None
    return state if isinstance(state, str) else None


def is_git_repository(root: Path) -> bool:
    """Whether the content directory is itself the top of a git repository."""
    return (root / ".git").exists() and shutil.which("git") is not None


def _originals_of(root: Path, keys: list[Key], paths: list[Path]) -> list[Path]:
    """The archived originals the published sources name (their sha256): committed with them."""
    found = []
    for key, path in zip(keys, paths):
        if key.kind != "source" or not path.is_file():
            continue
        named = _SHA256_LINE.search(path.read_text(encoding="utf-8", errors="replace")[:4096])
        original = originals.find(root, named.group(1) if named else None)
        if original is not None:
            found.append(original)
    return found


def git_commit(root: Path, paths: Path | list[Path], message: str, author_name: str, author_email: str) -> bool:
    """Commit published files (one, or a batch's), the journalist as author; False (logged) when git refuses.

    The file is already published: a failed commit must not undo it, only be reported.
    """
    if not is_git_repository(root):
        return False
    relative = [str(path.relative_to(root)) for path in ([paths] if isinstance(paths, Path) else paths)]
    shown = relative[0] if len(relative) == 1 else f"{len(relative)} fichiers"
    environment = dict(
        os.environ,
        GIT_AUTHOR_NAME=author_name,
        GIT_AUTHOR_EMAIL=author_email,
        GIT_COMMITTER_NAME=os.environ.get("GIT_COMMITTER_NAME", DEFAULT_AUTHOR[0]),
        GIT_COMMITTER_EMAIL=os.environ.get("GIT_COMMITTER_EMAIL", DEFAULT_AUTHOR[1]),
    )
    # `add --all` for a batch: a file it wrote may be new, and `commit -- paths` takes what is staged.
    for command in (["add", "--all", "--pathspec-from-file=-"], ["commit", "--quiet", "--no-verify", "-m", message, "--pathspec-from-file=-"]):
        try:
            result = subprocess.run(
                ["git", "-C", str(root), *command], env=environment, capture_output=True, text=True, timeout=120,
                input="\n".join(relative) + "\n",
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as error:
            log.error("git %s impossible pour %s : %s", command[0], shown, error)
            return False
        if result.returncode != 0:
            log.error("git %s a échoué pour %s : %s", command[0], shown, result.stderr.strip() or result.stdout.strip())
            return False
    return True
