"""The journal of a publication of several files (an import): published all of them, or none.

A batch writes its files one by one, then records them in one database transaction. The journal is
written (and fsynced) before the first file and holds every file's old bytes; it is removed once the
transaction committed. Whoever takes the publish lock next and still finds it knows its writer died
in between (a kill -9, a power cut): when the database recorded the publication, the new files are
the published truth and the journal just goes; when it did not, the old files are put back, so that
no half of a batch is ever served or taken by the scanner for an edit by hand.

The database decides because it is the commit point: the first file's publication row, logged after
the journal was written, exists if and only if the transaction committed.
"""

from __future__ import annotations

import base64
import json
import os
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from kb.config.i18n import gettext as _
from kb.content.files import atomic_write, leftover_temporaries
from kb.store.audit import AuditEntry

log = logging.getLogger(__name__)

JOURNAL_NAME = ".publication-journal.json"


class JournalUnreadable(RuntimeError):
    """A journal is there but cannot be read: nobody may publish or scan until someone looks at it."""


@dataclass(frozen=True)
class JournalFile:
    """One file of a batch: where it is (relative to the content tree), its bytes before, what it names."""

    path: str
    before: bytes | None  # None: the file did not exist
    target: str  # its key, "promise:<id>", as the publication row names it
    new_sha256: str


def journal_path(content_root: Path) -> Path:
    return Path(content_root) / JOURNAL_NAME


def begin(session: Session, content_root: Path, files: list[JournalFile]) -> None:
    """Write the journal of a batch about to be written (under the publish lock, before any file)."""
    mark = session.scalar(select(func.max(AuditEntry.id))) or 0
    document = {
        "mark": mark,
        "files": [
            {
                "path": entry.path,
                "before": base64.b64encode(entry.before).decode("ascii") if entry.before is not None else None,
                "target": entry.target,
                "new_sha256": entry.new_sha256,
            }
            for entry in files
        ],
    }
    atomic_write(journal_path(content_root), json.dumps(document))


def end(content_root: Path) -> None:
    """The batch is recorded (or was put back): the journal goes."""
    journal_path(content_root).unlink(missing_ok=True)


def put_back(content_root: Path, files: list[JournalFile]) -> None:
    """Every file of the batch as it was before (a file that did not exist is removed), on disk for good
    before the journal goes: after a power cut, no journal must mean no half batch."""
    root = Path(content_root)
    folders = set()
    for entry in files:
        path = root / entry.path
        if entry.before is None:
            path.unlink(missing_ok=True)
            folders.add(path.parent)
        else:
            atomic_write(path, entry.before)  # fsyncs the file and its folder
        for leftover in leftover_temporaries(path.parent):  # a write killed before its rename
            if leftover.name.startswith(f".{path.name}."):
                leftover.unlink(missing_ok=True)
                folders.add(path.parent)
    for folder in folders:
        _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def settle(content_root: Path, engine: Engine) -> str | None:
    """Finish what a dead batch writer left (to be called by whoever just took the publish lock).

    Returns None when there was no journal, "kept" when the batch had been recorded (its files stay),
    "put back" when it had not (the old files are back). Raises JournalUnreadable when the journal
    cannot be read: guessing would risk serving half a batch.
    """
    root = Path(content_root)
    path = journal_path(root)
    for leftover in leftover_temporaries(root):  # a journal whose writing was killed before its rename
        if leftover.name.startswith(f".{JOURNAL_NAME}."):
            leftover.unlink(missing_ok=True)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        document = json.loads(raw)
        mark = int(document["mark"])
        files = [
            JournalFile(
                path=item["path"],
                before=base64.b64decode(item["before"]) if item["before"] is not None else None,
                target=item["target"],
                new_sha256=item["new_sha256"],
            )
            for item in document["files"]
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise JournalUnreadable(_("journal de publication illisible (%(path)s) : %(error)s ; voyez docs/operations.md", path=path, error=error)) from error
    if files and _recorded(engine, mark, files[0]):
        for entry in files:  # the temporary file of a write killed before its rename, if any
            path = root / entry.path
            for leftover in leftover_temporaries(path.parent):
                if leftover.name.startswith(f".{path.name}."):
                    leftover.unlink(missing_ok=True)
        end(root)
        log.warning("publication groupée de %d fichiers terminée avant l'arrêt de son processus : journal retiré", len(files))
        return "kept"
    put_back(root, files)
    end(root)
    log.warning("publication groupée de %d fichiers interrompue avant son enregistrement : anciens fichiers remis", len(files))
    return "put back"


def _recorded(engine: Engine, mark: int, first: JournalFile) -> bool:
    query = select(AuditEntry.id).where(
        AuditEntry.id > mark,
        AuditEntry.target == first.target,
        AuditEntry.new_sha256 == first.new_sha256,
        AuditEntry.action.like("%.publish"),
    )
    with engine.connect() as connection:
        return connection.execute(query.limit(1)).first() is not None
