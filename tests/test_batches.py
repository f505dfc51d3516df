"""Batch change requests (imports): several files reviewed as one and published all or nothing, even when killed midway."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kb.content.files import sha256_text
from kb.content.tree import read_tree
from kb.newsroom import workflow
from kb.newsroom.publishing import BatchFile, PublishFailed, Publisher
from kb.newsroom.workflow import ProposedFile, WorkflowError
from kb.store import audit, journal
from kb.store.accounts import find_user

from .conftest import EMAILS, PROMISE, git_repository

TRACKER = "marcq-la-madeleine-2014-2020"


def new_promise(promise_id: str, title: str = "Rénover la piscine") -> str:
    return f"""---
title: {title}
tracker: {TRACKER}
made_by: bernard-gerard
territory: Marcq-en-Barœul
theme: Sport
made_on: 2014-03-01
status: planned
history:
  - date: 2014-03-01
    status: planned
aliases: []
---
"""


@pytest.fixture
def desk(newsroom, content_dir, tmp_path):
    session = newsroom.session()
    engine = newsroom.app.extensions["kb.db"].kw["bind"]

    class Desk:
        pass

    desk = Desk()
    desk.session, desk.content, desk.engine = session, content_dir, engine
    desk.people = {role: find_user(session, email) for role, email in EMAILS.items()}
    desk.people["editor2"] = find_user(session, "paul@redaction.fr")
    desk.publisher = Publisher(content_dir, tmp_path / "publish.lock", git=False, engine=engine)
    desk.tree = lambda: read_tree(content_dir)
    yield desk
    session.close()


def files(desk, count: int = 3, edit: bool = True) -> list[ProposedFile]:
    """`count` new promises, and an edit of the published one."""
    proposed = [ProposedFile("create", f"promise:piscine-{n}", new_promise(f"piscine-{n}"), f"ligne {n + 2} : nouvelle promesse", None, None) for n in range(count)]
    if edit:
        path = desk.content / "promises" / "balayeuses-communes.md"
        base = path.read_text(encoding="utf-8")
        proposed.append(ProposedFile("edit", "promise:balayeuses-communes", base.replace("theme: Propreté", "theme: Voirie"), "ligne 9 : theme modifié", base, sha256_text(base)))
    return proposed


def submitted_batch(desk, **options):
    change = workflow.propose_batch(desk.session, desk.tree(), desk.people["journalist"], "promesses 2026.xlsx", files(desk, **options), "Import de « promesses 2026.xlsx »")
    workflow.submit(desk.session, desk.tree(), change, desk.people["journalist"])
    return change


def test_a_batch_is_one_request_holding_each_file_in_the_sheets_order(desk):
    change = workflow.propose_batch(desk.session, desk.tree(), desk.people["journalist"], "promesses 2026.xlsx", files(desk), "Import")
    assert (change.state, change.change_type, change.target) == ("draft", "import", "import:promesses-2026")
    assert [part.target for part in change.files] == ["promise:piscine-0", "promise:piscine-1", "promise:piscine-2", "promise:balayeuses-communes"]


def test_approving_a_batch_publishes_every_file_with_a_publication_row_each(desk):
    change = submitted_batch(desk)
    assert workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher) == "published"
    for part in change.files:
        assert desk.publisher.path_of(part.target).read_text(encoding="utf-8") == part.proposed_text
        [row] = audit.publications(desk.session, part.target)
        assert (row.change_id, row.proposer_id, row.new_sha256) == (change.id, desk.people["journalist"].id, sha256_text(part.proposed_text))
    assert not journal.journal_path(desk.content).exists()


def test_a_batch_is_one_git_commit(desk):
    git = git_repository(desk.content)
    desk.publisher.git = True
    change = submitted_batch(desk)
    workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher)
    assert git("log", "--format=%s|%an", "-1").strip() == "Import de « promesses 2026.xlsx »|Journalist Test"
    assert git("show", "--name-only", "--format=", "HEAD").split() == sorted(f"promises/{name}.md" for name in ("balayeuses-communes", "piscine-0", "piscine-1", "piscine-2"))
    assert git("status", "--porcelain").strip() == ""


def test_a_batch_whose_file_changed_meanwhile_goes_to_conflict_and_writes_nothing(desk):
    change = submitted_batch(desk)
    path = desk.content / "promises" / "balayeuses-communes.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Propreté", "Environnement"), encoding="utf-8")
    assert workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher) == "conflict"
    assert not any((desk.content / "promises" / f"piscine-{n}.md").exists() for n in range(3))
    conflict = [row for row in workflow.thread(desk.session, change) if row.action == "change.conflict"]
    assert conflict[0].data["file"] == "promise:balayeuses-communes"


def test_a_conflicting_batch_is_rebased_file_by_file(desk):
    change = submitted_batch(desk)
    path = desk.content / "promises" / "balayeuses-communes.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Annonce.", "Annonce faite."), encoding="utf-8")
    workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher)
    assert workflow.rebase(desk.session, desk.tree(), change, desk.people["journalist"]) == []
    edited = change.files[-1].proposed_text
    assert change.state == "draft" and "Annonce faite." in edited and "theme: Voirie" in edited


def test_a_batch_that_fails_midway_puts_every_written_file_back(desk, monkeypatch):
    from kb.content import files as content_files

    change = submitted_batch(desk)
    before = (desk.content / "promises" / "balayeuses-communes.md").read_bytes()
    written = content_files.atomic_write

    def disk_full_at_the_third_file(path, text):
        if Path(path).name == "piscine-2.md":
            raise OSError(28, "No space left on device")
        written(path, text)

    monkeypatch.setattr(content_files, "atomic_write", disk_full_at_the_third_file)
    with pytest.raises(WorkflowError, match="No space left on device"):
        workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher)
    assert not any((desk.content / "promises" / f"piscine-{n}.md").exists() for n in range(3))
    assert (desk.content / "promises" / "balayeuses-communes.md").read_bytes() == before
    assert not journal.journal_path(desk.content).exists()
    desk.session.refresh(change)
    assert change.state == "approved" and audit.publications(desk.session, "promise:piscine-0") == []


def test_a_batch_whose_database_record_fails_puts_the_files_back(desk):
    change = submitted_batch(desk)
    before = (desk.content / "promises" / "balayeuses-communes.md").read_bytes()

    def failing(*_args):
        raise RuntimeError("base de données injoignable")

    with pytest.raises(PublishFailed, match="injoignable"):
        desk.publisher.publish_batch(
            desk.session, [BatchFile(p.target, p.proposed_text, p.base_sha256, p.base_text, p.change_type, p.summary) for p in change.files],
            by=desk.people["editor"], summary="x", before_commit=failing,
        )  # fmt: skip
    assert (desk.content / "promises" / "balayeuses-communes.md").read_bytes() == before
    assert not (desk.content / "promises" / "piscine-0.md").exists()


def test_a_batch_is_validated_against_the_tree_when_approved(desk):
    change = submitted_batch(desk)
    (desk.content / "trackers" / f"{TRACKER}.md").unlink()  # the tracker the new promises name is gone
    with pytest.raises(workflow.ValidationFailed, match="suivi inconnu"):
        workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher)
    assert not (desk.content / "promises" / "piscine-0.md").exists()


def test_a_batch_is_not_amended_through_the_file_forms(desk):
    change = workflow.propose_batch(desk.session, desk.tree(), desk.people["journalist"], "a.csv", files(desk), "Import")
    with pytest.raises(WorkflowError, match="important à nouveau"):
        workflow.amend(desk.session, desk.tree(), change, desk.people["journalist"], PROMISE)


def test_a_batch_sent_back_is_replaced_by_a_corrected_sheet(desk):
    change = submitted_batch(desk)
    workflow.request_changes(desk.session, change, desk.people["editor"], "La ligne 9 est de trop.")
    workflow.replace_batch(desk.session, desk.tree(), change, desk.people["journalist"], files(desk, edit=False), "Import corrigé")
    assert [part.target for part in change.files] == ["promise:piscine-0", "promise:piscine-1", "promise:piscine-2"]
    assert change.summary == "Import corrigé" and change.state == "changes_requested"


def test_files_an_import_published_are_versions_to_revert_to(desk):
    change = submitted_batch(desk)
    workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher)
    texts = [text for _, text, _ in workflow.versions(desk.session, "promise:balayeuses-communes")]
    assert texts == [change.files[-1].proposed_text, change.files[-1].base_text]


# -- the journal: what a killed publication leaves ------------------------------------------------


def journal_of(desk, *names) -> list[journal.JournalFile]:
    entries = []
    for name in names:
        path = desk.content / "promises" / f"{name}.md"
        entries.append(journal.JournalFile(f"promises/{name}.md", path.read_bytes() if path.exists() else None, f"promise:{name}", sha256_text("new " + name)))
    return entries


def test_a_journal_left_by_an_unrecorded_batch_puts_the_old_files_back(desk):
    old = (desk.content / "promises" / "balayeuses-communes.md").read_bytes()
    entries = journal_of(desk, "balayeuses-communes", "piscine-0")
    journal.begin(desk.session, desk.content, entries)
    (desk.content / "promises" / "balayeuses-communes.md").write_text("new balayeuses-communes", encoding="utf-8")
    (desk.content / "promises" / "piscine-0.md").write_text("new piscine-0", encoding="utf-8")
    assert journal.settle(desk.content, desk.engine) == "put back"
    assert (desk.content / "promises" / "balayeuses-communes.md").read_bytes() == old
    assert not (desk.content / "promises" / "piscine-0.md").exists() and not journal.journal_path(desk.content).exists()


def test_a_journal_left_by_a_recorded_batch_keeps_the_new_files(desk):
    entries = journal_of(desk, "balayeuses-communes")
    journal.begin(desk.session, desk.content, entries)
    (desk.content / "promises" / "balayeuses-communes.md").write_text("new balayeuses-communes", encoding="utf-8")
    audit.record(desk.session, "promise.publish", None, target="promise:balayeuses-communes", new_sha256=sha256_text("new balayeuses-communes"))
    desk.session.commit()
    assert journal.settle(desk.content, desk.engine) == "kept"
    assert (desk.content / "promises" / "balayeuses-communes.md").read_text(encoding="utf-8") == "new balayeuses-communes"


def test_an_unreadable_journal_stops_publications_rather_than_guess(desk):
    journal.journal_path(desk.content).write_text("{tronqué", encoding="utf-8")
    with pytest.raises(journal.JournalUnreadable):
        with desk.publisher.lock():
            pass


KILLED_WRITER = """
import sys, time
from pathlib import Path
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from kb.newsroom.publishing import BatchFile, PublishFailed, Publisher
from kb.content import files as content_files

content, lock, url, count = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
written = content_files.atomic_write
def slow_write(path, text):
    written(path, text)
    time.sleep(0.01)  # room for the test to kill this process between two files
content_files.atomic_write = slow_write
engine = create_engine(url)
publisher = Publisher(content, lock, git=False, engine=engine)
batch = [BatchFile(f"promise:lot-{n}", (content / "lot.txt").read_text().replace("lot-N", f"lot-{n}") , None, None, "create", "x") for n in range(count)]
with Session(engine) as session:
    publisher.publish_batch(session, batch, by=None, summary="lot")
"""


def test_a_batch_killed_midway_leaves_the_old_files(desk, tmp_path, database_url):
    """kill -9 while the files are being written: whoever takes the publish lock next puts the old files back."""
    (desk.content / "lot.txt").write_text(new_promise("lot-N", "Lot"), encoding="utf-8")
    script = tmp_path / "writer.py"
    script.write_text(KILLED_WRITER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    writer = subprocess.Popen([sys.executable, str(script), str(desk.content), str(tmp_path / "publish.lock"), database_url, "400"], env=env)
    try:
        deadline = time.monotonic() + 60
        while not (desk.content / "promises" / "lot-20.md").exists():
            assert writer.poll() is None and time.monotonic() < deadline, "the writer ended before it could be killed"
            time.sleep(0.005)
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait()
    assert journal.journal_path(desk.content).exists()  # half a batch is on disk…
    with desk.publisher.lock():  # …until the next holder of the lock settles it
        pass
    assert sorted(path.name for path in (desk.content / "promises").iterdir()) == ["balayeuses-communes.md"]
    assert not journal.journal_path(desk.content).exists()
    assert audit.publications(desk.session, "promise:lot-0") == []
