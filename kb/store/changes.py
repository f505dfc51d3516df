"""Change requests as stored: a proposed new version of one content file, and where it stands.

The table and the words people read for its states and types; the state machine that moves a
request from one state to another is kb.newsroom.workflow's.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.config.i18n import N_, gettext as _
from kb.content.registry import Key
from kb.store.accounts import User
from kb.store.db import Base, utcnow

# Labels for people: N_ marks them for the catalog; shown translated (state_label, change_type_label).
STATES = {
    "draft": N_("brouillon"),
    "submitted": N_("en relecture"),
    "changes_requested": N_("corrections demandées"),
    "approved": N_("approuvée"),
    "published": N_("publiée"),
    "rejected": N_("refusée"),
    "conflict": N_("en conflit"),
    "withdrawn": N_("retirée"),
}
CHANGE_TYPES = {
    "status": N_("nouveau statut"),
    "edit": N_("modification"),
    "create": N_("nouvelle promesse"),
    "source": N_("nouvelle source"),
    "claim": N_("nouvelle vérification"),
    "verdict": N_("nouveau verdict"),
    "revert": N_("retour à une version antérieure"),
    "file": N_("nouvelle fiche"),  # a new file of a kind the forms do not cover (a tracker, a person)
    "import": N_("import d'un tableur"),  # a batch: several files (ChangeFile rows), published all or nothing
}
# The target of a batch names no file: "import:<the spreadsheet's name, as an id>".
BATCH_KIND = "import"


class _Targeted:
    """What a request and a batch's file say of the file they target ("promise:<id>")."""

    target: str
    change_type: str

    @property
    def key(self) -> Key:
        return Key.split(self.target)

    @property
    def target_kind(self) -> str:
        return self.key.kind

    @property
    def target_id(self) -> str:
        return self.key.id

    @property
    def change_type_label(self) -> str:
        return _(CHANGE_TYPES[self.change_type])


class ChangeRequest(_Targeted, Base):
    """A proposed new version of one content file, and where it stands."""

    __tablename__ = "change_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    change_type: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(200), index=True)  # "promise:<id>" or "source:<id>"
    summary: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20), index=True, default="draft")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The file the proposal was made against: None when it did not exist (a creation).
    base_sha256: Mapped[str | None] = mapped_column(String(64))
    base_text: Mapped[str | None] = mapped_column(Text)
    proposed_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(index=True)
    published_at: Mapped[datetime | None]
    published_sha256: Mapped[str | None] = mapped_column(String(64))
    # The editor who took the review (seen by the others) and the day it is due.
    reviewer_id: Mapped[int | None] = mapped_column(default=None)
    review_due: Mapped[date | None] = mapped_column(default=None)

    author: Mapped[User] = relationship(lazy="joined")
    # A batch's files (a single-file request has none: its file is the columns above).
    files: Mapped[list["ChangeFile"]] = relationship(
        back_populates="change", order_by="ChangeFile.position", cascade="all, delete-orphan", lazy="select"
    )
    # No foreign key in the database (migration 0005 adds a plain column): the join is said here.
    reviewer: Mapped[User | None] = relationship(primaryjoin="foreign(ChangeRequest.reviewer_id) == User.id", lazy="joined", viewonly=True)

    @property
    def is_batch(self) -> bool:
        return self.change_type == "import"

    @property
    def state_label(self) -> str:
        return _(STATES[self.state])


class ChangeFile(_Targeted, Base):
    """One file of a batch request (an import): the proposed new version of that file and its base.

    A batch is reviewed file by file (a diff each) and published all or nothing; its files are
    these rows, in the order of the spreadsheet's rows.
    """

    __tablename__ = "change_request_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("change_requests.id"), index=True)
    position: Mapped[int]
    change_type: Mapped[str] = mapped_column(String(20))  # create, edit, status: what the row does to the file
    target: Mapped[str] = mapped_column(String(200), index=True)
    summary: Mapped[str] = mapped_column(String(300))
    base_sha256: Mapped[str | None] = mapped_column(String(64))
    base_text: Mapped[str | None] = mapped_column(Text)
    proposed_text: Mapped[str] = mapped_column(Text)

    change: Mapped[ChangeRequest] = relationship(back_populates="files")
