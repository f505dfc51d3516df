"""Publishing under crashes and races: the old file or the new one, never half, never lost."""

import multiprocessing
import os
import shutil
import signal
from pathlib import Path

import pytest

from kb.content.files import StaleBase, sha256_text, write_over
from kb.content.tree import read_tree
from kb.newsroom import workflow
from kb.newsroom.publishing import git_commit
from kb.newsroom.workflow import ChangeRequest, Publisher
from kb.store import audit
from kb.store.accounts import find_user
from kb.store.db import open_database

from .conftest import EMAILS, git_repository

PROMISE_ID = "balayeuses-communes"
TARGET = f"promise:{PROMISE_ID}"


def _text(path: Path, title: str) -> str:
    return path.read_text(encoding="utf-8").replace("title: Acheter deux balayeuses en commun", f"title: {title}")


def _submitted(session, content_dir: Path, author_email: str, title: str) -> int:
    tree = read_tree(content_dir)
    author = find_user(session, author_email)
    path = content_dir / "promises" / f"{PROMISE_ID}.md"
    change = workflow.propose(session, tree, author, "edit", TARGET, _text(path, title), title)
    workflow.submit(session, tree, change, author)
    return change.id


def test_write_over_refuses_a_stale_base(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("ancien\n")
    with pytest.raises(StaleBase):
        write_over(path, sha256_text("autre chose\n"), "nouveau\n")
    assert path.read_text() == "ancien\n"


def _approve_then_die_before_rename(database_url: str, content_dir: str, lock: str, change_id: int) -> None:
    """In a child process: approve, and be killed between the temporary file and the rename."""
    import kb.content.files

    def killed(*_args):
        os.kill(os.getpid(), signal.SIGKILL)

    kb.content.files.os.replace = killed
    with open_database(database_url)() as session:
        change = session.get(ChangeRequest, change_id)
        editor = find_user(session, EMAILS["editor"])
        workflow.approve(session, read_tree(Path(content_dir)), change, editor, Publisher(Path(content_dir), Path(lock), git=False))


def test_a_publish_killed_before_the_rename_leaves_the_old_file_intact(newsroom, content_dir, tmp_path, database_url):
    url = database_url
    path = content_dir / "promises" / f"{PROMISE_ID}.md"
    original = path.read_bytes()
    with newsroom.session() as session:
        change_id = _submitted(session, content_dir, EMAILS["journalist"], "Titre après le crash")
    child = multiprocessing.get_context("fork").Process(
        target=_approve_then_die_before_rename, args=(url, str(content_dir), str(tmp_path / "publish.lock"), change_id)
    )
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    assert path.read_bytes() == original
    assert read_tree(content_dir).promises[PROMISE_ID].title == "Acheter deux balayeuses en commun"
    # The request stays approved and its publication can be finished; the lock died with the process.
    with newsroom.session() as session:
        change = session.get(ChangeRequest, change_id)
        assert change.state == "approved"
        editor = find_user(session, EMAILS["editor"])
        publisher = Publisher(content_dir, tmp_path / "publish.lock", git=False)
        assert workflow.publish(session, read_tree(content_dir), change, editor, publisher) == "published"
    assert read_tree(content_dir).promises[PROMISE_ID].title == "Titre après le crash"


def _approve(args) -> str:
    database_url, content_dir, lock, change_id, editor_email, start = args
    start.wait(30)
    with open_database(database_url)() as session:
        change = session.get(ChangeRequest, change_id)
        editor = find_user(session, editor_email)
        return workflow.approve(session, read_tree(Path(content_dir)), change, editor, Publisher(Path(content_dir), Path(lock), git=False))


def test_two_editors_publishing_the_same_promise_at_once_one_gets_a_conflict(newsroom, content_dir, tmp_path, database_url):
    url = database_url
    with newsroom.session() as session:
        first = _submitted(session, content_dir, EMAILS["journalist"], "Version de Julie")
        second = _submitted(session, content_dir, EMAILS["admin"], "Version d'Alice")
    context = multiprocessing.get_context("fork")
    start = context.Manager().Event()
    lock = str(tmp_path / "publish.lock")
    jobs = [(url, str(content_dir), lock, first, EMAILS["editor"], start), (url, str(content_dir), lock, second, "paul@redaction.fr", start)]
    with context.Pool(2) as pool:
        pending = pool.map_async(_approve, jobs)
        start.set()
        outcomes = pending.get(60)
    assert sorted(outcomes) == ["conflict", "published"]
    winner = (first, second)[outcomes.index("published")]
    with newsroom.session() as session:
        published = session.get(ChangeRequest, winner)
        assert (content_dir / "promises" / f"{PROMISE_ID}.md").read_text(encoding="utf-8") == published.proposed_text
        assert len(audit.publications(session, TARGET)) == 1
        loser = session.get(ChangeRequest, second if winner == first else first)
        assert loser.state == "conflict"  # not lost: its author rebases it


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_publication_is_committed_with_the_journalist_as_author(newsroom, content_dir, tmp_path):
    git = git_repository(content_dir)
    with newsroom.session() as session:
        change_id = _submitted(session, content_dir, EMAILS["journalist"], "Titre versionné")
        change = session.get(ChangeRequest, change_id)
        editor = find_user(session, EMAILS["editor"])
        workflow.approve(session, read_tree(content_dir), change, editor, Publisher(content_dir, tmp_path / "lock"))
    author, message = git("log", "-1", "--format=%an <%ae>%n%B").split("\n", 1)
    assert author == f"Journalist Test <{EMAILS['journalist']}>"
    assert "Editor Test" in message and f"n° {change_id}" in message
    assert git("status", "--porcelain") == ""


def test_git_commit_is_skipped_outside_a_repository(content_dir):
    path = content_dir / "promises" / f"{PROMISE_ID}.md"
    assert git_commit(content_dir, path, "message", "A", "a@b.fr") is False


def _approve_then_die_after_the_rename(database_url: str, content_dir: str, lock: str, change_id: int) -> None:
    """In a child process: approve, and be killed once the file is written, before the database hears of it."""
    import kb.newsroom.publishing

    real_write_over = kb.newsroom.publishing.write_over

    def written_then_killed(*args):
        real_write_over(*args)
        os.kill(os.getpid(), signal.SIGKILL)

    kb.newsroom.publishing.write_over = written_then_killed
    with open_database(database_url)() as session:
        change = session.get(ChangeRequest, change_id)
        editor = find_user(session, EMAILS["editor"])
        workflow.approve(session, read_tree(Path(content_dir)), change, editor, Publisher(Path(content_dir), Path(lock), git=False))


def _killed_after_the_rename(newsroom, content_dir, tmp_path, database_url) -> int:
    with newsroom.session() as session:
        change_id = _submitted(session, content_dir, EMAILS["journalist"], "Titre écrit avant le crash")
    child = multiprocessing.get_context("fork").Process(
        target=_approve_then_die_after_the_rename, args=(database_url, str(content_dir), str(tmp_path / "publish.lock"), change_id)
    )
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    return change_id


def test_a_publication_killed_after_writing_its_file_is_finished_on_restart(newsroom, content_dir, tmp_path, database_url):
    change_id = _killed_after_the_rename(newsroom, content_dir, tmp_path, database_url)
    with newsroom.session() as session:
        assert session.get(ChangeRequest, change_id).state == "approved"  # half done: file written, nothing recorded
        assert audit.publications(session, TARGET) == []
        publisher = Publisher(content_dir, tmp_path / "publish.lock", git=False)
        assert workflow.finish_interrupted(session, publisher) == [change_id]
    with newsroom.session() as session:
        change = session.get(ChangeRequest, change_id)
        (publication,) = audit.publications(session, TARGET)
        assert change.state == "published" and publication.new_sha256 == sha256_text(change.proposed_text)
        assert publication.actor.email == EMAILS["editor"] and publication.proposer.email == EMAILS["journalist"]
        assert workflow.finish_interrupted(session, publisher) == []


def test_kb_serve_finishes_interrupted_publications_before_serving(newsroom, content_dir, tmp_path, database_url):
    from kb.ops.server import finish_interrupted_publications

    change_id = _killed_after_the_rename(newsroom, content_dir, tmp_path, database_url)
    values = {**newsroom.app.config, "DATABASE_URL": database_url, "PUBLISH_GIT_COMMIT": False}
    assert finish_interrupted_publications(values) == [change_id]


def test_an_approved_request_whose_file_was_never_written_is_left_for_an_editor(newsroom, content_dir, tmp_path):
    with newsroom.session() as session:
        change_id = _submitted(session, content_dir, EMAILS["journalist"], "Titre jamais écrit")
        change = session.get(ChangeRequest, change_id)
        workflow._move(session, change, "approve", find_user(session, EMAILS["editor"]))
        session.commit()
        assert workflow.finish_interrupted(session, Publisher(content_dir, tmp_path / "publish.lock", git=False)) == []
        assert session.get(ChangeRequest, change_id).state == "approved"


def test_restarting_removes_the_temporary_files_of_writes_killed_before_their_rename(newsroom, content_dir, tmp_path, database_url):
    child = multiprocessing.get_context("fork").Process(
        target=_approve_then_die_before_rename, args=(database_url, str(content_dir), str(tmp_path / "publish.lock"), _submitted_id(newsroom, content_dir))
    )
    child.start()
    child.join(60)
    leftovers = list((content_dir / "promises").glob(".*.tmp"))
    assert len(leftovers) == 1  # what the killed writer left
    with newsroom.session() as session:
        workflow.finish_interrupted(session, Publisher(content_dir, tmp_path / "publish.lock", git=False))
    assert list((content_dir / "promises").glob(".*.tmp")) == []
    assert read_tree(content_dir).promises[PROMISE_ID].title == "Acheter deux balayeuses en commun"


def _submitted_id(newsroom, content_dir) -> int:
    with newsroom.session() as session:
        return _submitted(session, content_dir, EMAILS["journalist"], "Titre jamais renommé")
