"""The change-request state machine: every transition, every guard, and what publishing writes."""


import pytest
from sqlalchemy.exc import OperationalError

from kb.content.files import sha256_text
from kb.content.tree import read_tree
from kb.newsroom import workflow
from kb.newsroom.permissions import NotAuthorized
from kb.newsroom.workflow import TRANSITIONS, ChangeRequest, InvalidTransition, Publisher, ValidationFailed, WorkflowError
from kb.store import audit
from kb.store.accounts import disable, find_user

from .conftest import EMAILS

TARGET = "promise:balayeuses-communes"


@pytest.fixture
def desk(newsroom, content_dir, tmp_path):
    """A database session, the people, and a publisher on the scratch content tree."""
    session = newsroom.session()
    people = {role: find_user(session, email) for role, email in EMAILS.items()}
    people["editor2"] = find_user(session, "paul@redaction.fr")

    class Desk:
        pass

    desk = Desk()
    desk.session, desk.people, desk.content = session, people, content_dir
    desk.path = content_dir / "promises" / "balayeuses-communes.md"
    desk.publisher = Publisher(content_dir, tmp_path / "publish.lock", git=False)
    desk.tree = lambda: read_tree(content_dir)
    yield desk
    session.close()


def proposal(desk, title="Acheter deux balayeuses électriques en commun") -> str:
    return desk.path.read_text(encoding="utf-8").replace("title: Acheter deux balayeuses en commun", f"title: {title}")


def draft(desk, author="journalist", text=None) -> ChangeRequest:
    return workflow.propose(desk.session, desk.tree(), desk.people[author], "edit", TARGET, text or proposal(desk), "Titre précisé")


def submitted(desk, author="journalist", text=None) -> ChangeRequest:
    change = draft(desk, author, text)
    workflow.submit(desk.session, desk.tree(), change, desk.people[author])
    return change


def test_the_transitions_are_listed_in_one_table():
    assert set(TRANSITIONS) == {"submit", "withdraw", "request_changes", "reject", "approve", "publish", "conflict", "rebase"}
    assert TRANSITIONS["approve"].sources == {"submitted"} and TRANSITIONS["approve"].by == "reviewer"


def test_a_proposal_starts_as_a_draft_based_on_the_current_file(desk):
    change = draft(desk)
    assert change.state == "draft"
    assert change.base_sha256 == sha256_text(desk.path.read_text(encoding="utf-8"))
    assert change.base_text == desk.path.read_text(encoding="utf-8")


def test_submit_approve_publish_writes_the_proposed_file(desk):
    change = submitted(desk)
    outcome = workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher, "Bien.")
    assert outcome == "published" and change.state == "published"
    assert desk.path.read_text(encoding="utf-8") == change.proposed_text


def test_publication_is_recorded_with_proposer_approver_and_hashes(desk):
    change = submitted(desk)
    before = sha256_text(desk.path.read_text(encoding="utf-8"))
    workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher)
    [row] = audit.publications(desk.session, TARGET)
    assert row.action == "promise.publish"
    assert (row.proposer_id, row.actor_id) == (desk.people["journalist"].id, desk.people["editor"].id)
    assert (row.old_sha256, row.new_sha256) == (before, sha256_text(change.proposed_text))
    assert row.at is not None and row.data["new_status"] == "done"


def test_journalists_cannot_review(desk):
    change = submitted(desk)
    with pytest.raises(NotAuthorized):
        workflow.approve(desk.session, desk.tree(), change, desk.people["journalist"], desk.publisher)
    with pytest.raises(NotAuthorized):
        workflow.request_changes(desk.session, change, desk.people["journalist"], "non")


def test_editor_cannot_approve_own_change(desk):
    change = submitted(desk, author="editor")
    with pytest.raises(NotAuthorized, match="personne ne relit sa propre demande"):
        workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher)
    assert change.state == "submitted"
    assert workflow.approve(desk.session, desk.tree(), change, desk.people["editor2"], desk.publisher) == "published"


def test_admins_cannot_approve_their_own_change_either(desk):
    change = submitted(desk, author="admin")
    with pytest.raises(NotAuthorized):
        workflow.reject(desk.session, change, desk.people["admin"], "moi-même")


def test_only_the_author_submits_or_withdraws(desk):
    change = draft(desk)
    with pytest.raises(NotAuthorized):
        workflow.submit(desk.session, desk.tree(), change, desk.people["editor"])
    with pytest.raises(NotAuthorized):
        workflow.withdraw(desk.session, change, desk.people["editor"])


def test_a_disabled_account_can_do_nothing(desk):
    change = submitted(desk)
    disable(desk.session, EMAILS["editor"])
    with pytest.raises(NotAuthorized):
        workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher)
    assert change.state == "submitted"


def test_a_draft_cannot_be_approved(desk):
    change = draft(desk)
    with pytest.raises(InvalidTransition, match="brouillon"):
        workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher)


def test_requesting_changes_needs_a_comment(desk):
    change = submitted(desk)
    with pytest.raises(WorkflowError, match="commentaire"):
        workflow.request_changes(desk.session, change, desk.people["editor"], "  ")
    assert change.state == "submitted"


def test_changes_requested_then_amended_then_resubmitted(desk):
    change = submitted(desk)
    workflow.request_changes(desk.session, change, desk.people["editor"], "Précisez le titre.")
    assert change.state == "changes_requested"
    workflow.amend(desk.session, desk.tree(), change, desk.people["journalist"], proposal(desk, "Acheter deux balayeuses à Marcq"))
    workflow.submit(desk.session, desk.tree(), change, desk.people["journalist"])
    assert change.state == "submitted"
    assert [row.action for row in workflow.thread(desk.session, change)] == [
        "change.create", "change.submit", "change.request_changes", "change.amend", "change.submit",
    ]  # fmt: skip


def test_a_submitted_request_cannot_be_amended(desk):
    change = submitted(desk)
    with pytest.raises(InvalidTransition):
        workflow.amend(desk.session, desk.tree(), change, desk.people["journalist"], proposal(desk, "Autre"))


def test_rejected_is_final(desk):
    change = submitted(desk)
    workflow.reject(desk.session, change, desk.people["editor"], "Hors sujet.")
    assert change.state == "rejected"
    with pytest.raises(InvalidTransition):
        workflow.submit(desk.session, desk.tree(), change, desk.people["journalist"])


def test_a_proposal_that_would_fail_kb_check_is_not_saved(desk):
    text = desk.path.read_text(encoding="utf-8").replace('quote: "achat de deux balayeuses"', 'quote: "achat de trois balayeuses"')
    with pytest.raises(ValidationFailed) as failure:
        draft(desk, text=text)
    assert "citation introuvable" in str(failure.value)
    assert desk.session.query(ChangeRequest).count() == 0


def test_a_proposal_identical_to_the_published_file_is_refused(desk):
    with pytest.raises(WorkflowError, match="identique"):
        draft(desk, text=desk.path.read_text(encoding="utf-8"))


def test_stale_base_goes_to_conflict_and_overwrites_nothing(desk):
    change = submitted(desk)
    edited_by_hand = desk.path.read_text(encoding="utf-8").replace("theme: Propreté", "theme: Voirie")
    desk.path.write_text(edited_by_hand, encoding="utf-8")
    outcome = workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher)
    assert outcome == "conflict" and change.state == "conflict"
    assert desk.path.read_text(encoding="utf-8") == edited_by_hand
    assert audit.publications(desk.session, TARGET) == []


def test_rebase_carries_the_authors_change_onto_the_current_file(desk):
    change = submitted(desk)
    desk.path.write_text(desk.path.read_text(encoding="utf-8").replace("theme: Propreté", "theme: Voirie"), encoding="utf-8")
    workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher)
    clashes = workflow.rebase(desk.session, desk.tree(), change, desk.people["journalist"])
    assert clashes == [] and change.state == "draft"
    assert "theme: Voirie" in change.proposed_text and "balayeuses électriques" in change.proposed_text
    workflow.submit(desk.session, desk.tree(), change, desk.people["journalist"])
    assert workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher) == "published"
    assert "theme: Voirie" in desk.path.read_text(encoding="utf-8")


def test_a_creation_conflicts_when_the_file_appeared_meanwhile(desk):
    text = desk.path.read_text(encoding="utf-8").replace("aliases:\n  - balayeuses\n", "aliases: []\n")
    change = workflow.propose(desk.session, desk.tree(), desk.people["journalist"], "create", "promise:nouvelle", text, "Nouvelle")
    workflow.submit(desk.session, desk.tree(), change, desk.people["journalist"])
    (desk.content / "promises" / "nouvelle.md").write_text(text.replace("Propreté", "Voirie"), encoding="utf-8")
    assert workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher) == "conflict"


def test_revert_is_a_new_request_that_goes_through_review(desk):
    original = desk.path.read_text(encoding="utf-8")
    change = submitted(desk)
    workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher)
    revert = workflow.propose_revert(desk.session, desk.tree(), desk.people["editor"], TARGET, sha256_text(original))
    assert revert.change_type == "revert" and revert.state == "draft" and revert.proposed_text == original
    assert desk.path.read_text(encoding="utf-8") == change.proposed_text  # nothing published yet
    workflow.submit(desk.session, desk.tree(), revert, desk.people["editor"])
    workflow.approve(desk.session, desk.tree(), revert, desk.people["editor2"], desk.publisher)
    assert desk.path.read_text(encoding="utf-8") == original


def test_journalists_cannot_propose_reverts(desk):
    original = desk.path.read_text(encoding="utf-8")
    with pytest.raises(NotAuthorized):
        workflow.propose_revert(desk.session, desk.tree(), desk.people["journalist"], TARGET, sha256_text(original))


def test_journalists_see_only_their_own_requests(desk):
    change = draft(desk, author="editor")
    with pytest.raises(NotAuthorized):
        workflow.get_change(desk.session, change.id, desk.people["journalist"])
    assert workflow.get_change(desk.session, change.id, desk.people["editor2"]) is change


def test_the_review_queue_is_oldest_first(desk):
    first = submitted(desk)
    second = submitted(desk, author="admin", text=proposal(desk, "Autre titre"))
    assert [change.id for change in workflow.review_queue(desk.session, desk.people["editor"])] == [first.id, second.id]


def test_a_failed_write_keeps_the_request_approved_and_the_old_file(desk, monkeypatch):
    change = submitted(desk)
    original = desk.path.read_text(encoding="utf-8")

    def disk_full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("kb.content.files.atomic_write", disk_full)
    with pytest.raises(workflow.PublishFailed, match="No space left"):
        workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher)
    assert change.state == "approved" and desk.path.read_text(encoding="utf-8") == original
    monkeypatch.undo()
    assert workflow.publish(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher) == "published"


def test_a_publication_that_cannot_be_recorded_puts_the_file_back_and_stays_approved(desk, monkeypatch):
    original = desk.path.read_bytes()
    change = submitted(desk, text=proposal(desk, "Titre qui ne sera pas enregistré"))

    record = audit.record

    def database_gone_at_the_publication(session, action, *args, **kwargs):
        if action.endswith(".publish"):
            raise OperationalError("INSERT INTO audit_log", {}, Exception("server closed the connection unexpectedly"))
        return record(session, action, *args, **kwargs)

    monkeypatch.setattr(audit, "record", database_gone_at_the_publication)
    with pytest.raises(workflow.PublishFailed, match="n'a pas pu être enregistrée.*reste approuvée"):
        workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher)
    assert desk.path.read_bytes() == original
    desk.session.refresh(change)
    assert change.state == "approved"
    monkeypatch.undo()
    assert workflow.publish(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher) == "published"


def test_a_new_file_whose_publication_cannot_be_recorded_is_removed(desk, monkeypatch):
    from kb.content.kinds import KINDS
    from kb.newsroom.publishing import PublishFailed

    monkeypatch.setattr(audit, "record", lambda *args, **kwargs: 1 / 0)
    with pytest.raises(PublishFailed, match="ZeroDivisionError|division by zero"):
        desk.publisher.publish(desk.session, "source:nouvelle", "---\ntitle: x\n---\ntexte\n", None, by=None, summary="s", change_type="source")
    assert not KINDS.path(desk.publisher.content_root, "source:nouvelle").exists()


def test_hooks_hear_of_each_publication(desk):
    heard = []
    desk.publisher.after_publish.append(heard.append)
    workflow.approve(desk.session, desk.tree(), submitted(desk), desk.people["editor"], desk.publisher)
    assert heard == [TARGET]


def test_a_request_moved_by_someone_else_meanwhile_is_not_moved_again(desk, newsroom):
    change = submitted(desk)
    with newsroom.session() as other:  # a second editor's request, loaded before the first one acted
        seen = other.get(ChangeRequest, change.id)
        second_editor = find_user(other, "paul@redaction.fr")
        workflow.reject(desk.session, change, desk.people["editor"], "Hors sujet.")
        with pytest.raises(InvalidTransition, match="a changé entre-temps"):
            workflow.request_changes(other, seen, second_editor, "Trop tard.")
    desk.session.expire_all()
    assert desk.session.get(ChangeRequest, change.id).state == "rejected"


def test_approval_checks_the_proposal_again_against_the_sources_as_they_are_now(desk):
    change = submitted(desk, text=proposal(desk))
    source = desk.content / "sources" / "deliberation-test.md"
    source.write_text(source.read_text(encoding="utf-8").replace("achat de deux balayeuses", "achat de balayeuses"), encoding="utf-8")
    with pytest.raises(ValidationFailed, match="citation introuvable"):
        workflow.approve(desk.session, desk.tree(), change, desk.people["editor"], desk.publisher)
    assert change.state == "submitted"


def test_a_proposal_too_big_for_kb_to_read_is_refused(desk):
    with pytest.raises(ValidationFailed, match="fichier trop gros"):
        draft(desk, text=proposal(desk) + "x" * 600_000)
