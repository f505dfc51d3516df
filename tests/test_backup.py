"""Backups: `kb export` writes one archive of the content and the database, `kb import` restores it.

The round trips run between a separate SQLite file and the test's own database (`database_url`),
so that the PostgreSQL run of the suite exports from SQLite into PostgreSQL and back.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import threading
from pathlib import Path

import pytest
from sqlalchemy import MetaData, inspect, select

from kb.content.kinds import KINDS
from kb.content.tree import read_tree
from kb.newsroom import workflow
from kb.newsroom.publishing import publish_lock
from kb.ops.backup import BackupError, export, import_archive
from kb.ops.cli import main
from kb.store import audit, schema, throttle
from kb.store.accounts import add_user
from kb.store.db import make_engine, open_database

from .conftest import DEMO_CONTENT, write

TARGET = "promise:aubry-mutualisation-lille-lomme-hellemmes"


def sqlite_url(tmp_path: Path, name: str) -> str:
    return f"sqlite:///{tmp_path / name / 'kb.sqlite3'}"


class Desk:
    """A newsroom's workflow on one database and one content tree."""

    def __init__(self, url: str, content: Path, lock: Path):
        self.url, self.content = url, content
        self.session = open_database(url)()
        self.publisher = workflow.Publisher(content, lock, git=False)

    def tree(self):
        return read_tree(self.content)

    def propose(self, author, title: str):
        path = KINDS.path(self.content, TARGET)
        text = re.sub(r"^title: .*$", f"title: {title}", path.read_text(encoding="utf-8"), count=1, flags=re.M)
        return workflow.propose(self.session, self.tree(), author, "edit", TARGET, text, f"Titre : « {title} »")

    def submitted(self, author, title: str):
        change = self.propose(author, title)
        workflow.submit(self.session, self.tree(), change, author, "Prête à relire, merci !")
        return change


def busy_newsroom(url: str, content: Path, lock: Path) -> Desk:
    """Accounts, requests in every usual state, a login failure and audit rows with French text and JSON data."""
    desk = Desk(url, content, lock)
    session = desk.session
    julie = add_user(session, "julie@redaction.fr", "mot-de-passe-journaliste", "journalist", "Julie Ébert")
    etienne = add_user(session, "etienne@redaction.fr", "mot-de-passe-editeur", "editor", "Étienne Lœwy")
    add_user(session, "paul@redaction.fr", "mot-de-passe-editeur", "editor", "Paul Second")
    admin = add_user(session, "alice@redaction.fr", "mot-de-passe-admin", "admin", "Alice Admin")
    workflow.approve(session, desk.tree(), desk.submitted(julie, "Mutualiser Lille, Lomme et Hellemmes"), etienne, desk.publisher, "Très bien.")
    workflow.request_changes(session, desk.submitted(julie, "Mutualiser davantage"), etienne, "Citez la délibération « exacte », s'il vous plaît.")
    workflow.reject(session, desk.submitted(julie, "Titre refusé"), etienne, "Hors sujet : la promesse porte sur l'état civil.")
    desk.propose(julie, "Brouillon en cours")
    desk.submitted(julie, "En relecture")
    audit.record(session, "note.test", admin, comment="Vérifié à la main — œuvre « complète »", data={"clé": "é", "liste": [1, 2.5, {"ü": None}], "vrai": True})
    session.commit()
    throttle.record_failure(session, {"account": "account:inconnu@redaction.fr", "client": "client:192.0.2.7"})
    return desk


def all_rows(url: str) -> dict[str, list[dict]]:
    """Every row of every workflow table, by primary key."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = MetaData()
            tables.reflect(connection, only=lambda name, _: name in schema.metadata().tables)
            return {
                table.name: [dict(row._mapping) for row in connection.execute(select(table).order_by(*table.primary_key.columns))]
                for table in tables.sorted_tables
            }
    finally:
        engine.dispose()


def files_of(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def rebuild(archive: Path, target: Path, manifest=None, change=None, extra=(), drop=()) -> Path:
    """A copy of `archive` with its manifest or members changed, `drop` members left out, and `extra` (TarInfo, bytes) members added."""
    with tarfile.open(archive, "r:gz") as tar:
        members = [(member, tar.extractfile(member).read() if member.isreg() else None) for member in tar.getmembers() if member.name not in drop]
    with tarfile.open(target, "w:gz") as out:
        for member, data in members:
            if member.name == "manifest.json" and manifest:
                data = json.dumps(manifest(json.loads(data))).encode("utf-8")
            elif data is not None and change:
                data = change(member.name, data)
            if data is not None:
                member.size = len(data)
            out.addfile(member, io.BytesIO(data) if data is not None else None)
        for info, data in extra:
            if data is not None:
                info.size = len(data)
            out.addfile(info, io.BytesIO(data) if data is not None else None)
    return target


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Desk:
    """A copy of the demo corpus and a busy newsroom in its own SQLite file (read-only: shared by the module)."""
    root = tmp_path_factory.mktemp("source")
    content = Path(shutil.copytree(DEMO_CONTENT, root / "demo"))
    desk = busy_newsroom(f"sqlite:///{root / 'kb.sqlite3'}", content, root / "publish.lock")
    desk.instance = root
    yield desk
    desk.session.close()
    desk.session.bind.dispose()


@pytest.fixture(scope="module")
def archive(source: Desk) -> Path:
    path = source.instance / "sauvegarde.tar.gz"
    export(path, source.content, source.url, source.instance)
    return path


def test_round_trip_from_sqlite_restores_every_file_byte_for_byte_and_every_row(source, archive, tmp_path, database_url):
    restored = tmp_path / "restored"
    summary = import_archive(archive, restored, database_url)
    assert files_of(restored) == files_of(source.content)
    assert all_rows(database_url) == all_rows(source.url)
    assert summary.rows == {name: len(rows) for name, rows in all_rows(source.url).items()}
    assert (summary.rows["users"], summary.rows["change_requests"], summary.rows["login_failures"]) == (4, 5, 2)
    assert "index de recherche sera reconstruit" in summary.index_note


def test_round_trip_into_sqlite_restores_the_test_database_exactly(source, tmp_path, database_url):
    # The reverse direction: the test's database (PostgreSQL in that run) exported, restored into SQLite.
    first = tmp_path / "first.tar.gz"
    export(first, source.content, source.url, source.instance)
    import_archive(first, tmp_path / "middle", database_url)
    second = tmp_path / "second.tar.gz"
    export(second, tmp_path / "middle", database_url, tmp_path / "instance")
    target = sqlite_url(tmp_path, "again")
    import_archive(second, tmp_path / "again-content", target)
    assert files_of(tmp_path / "again-content") == files_of(source.content)
    assert all_rows(target) == all_rows(source.url)


def test_after_import_a_new_request_is_created_and_approved_with_fresh_ids(source, archive, tmp_path, database_url):
    restored = tmp_path / "restored"
    import_archive(archive, restored, database_url)
    before = all_rows(database_url)
    desk = Desk(database_url, restored, tmp_path / "instance" / "publish.lock")
    julie, etienne = (desk.session.get(workflow.User, row["id"]) for row in before["users"][:2])
    change = desk.submitted(julie, "Après la restauration")
    assert workflow.approve(desk.session, desk.tree(), change, etienne, desk.publisher) == "published"
    assert change.id == max(row["id"] for row in before["change_requests"]) + 1
    assert workflow.thread(desk.session, change)[0].id > max(row["id"] for row in before["audit_log"])
    assert "title: Après la restauration" in KINDS.path(restored, TARGET).read_text(encoding="utf-8")
    desk.session.close()


def test_the_manifest_holds_format_revision_counts_and_the_hash_of_every_file(source, archive):
    with tarfile.open(archive, "r:gz") as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
        users = tar.extractfile("database/users.jsonl").read().decode("utf-8").splitlines()
    assert names[0] == "manifest.json"
    assert (manifest["format"], manifest["format_version"], manifest["schema_revision"]) == ("kb-backup", 1, schema.head_revision())
    assert manifest["kb_version"] and manifest["created_at"].endswith("+00:00")
    assert manifest["tables"]["change_requests"]["rows"] == 5
    assert set(manifest["content"]["files"]) == set(files_of(source.content))
    assert {"content/statuses.yml", "content/verdicts.yml", "database/audit_log.jsonl"} <= set(names)
    assert "alembic_version" not in manifest["tables"]
    assert json.loads(users[1])["name"] == "Étienne Lœwy" and "T" in json.loads(users[1])["created_at"]


def test_audit_data_is_archived_as_json_not_as_text(archive):
    with tarfile.open(archive, "r:gz") as tar:
        rows = [json.loads(line) for line in tar.extractfile("database/audit_log.jsonl").read().splitlines()]
    note = next(row for row in rows if row["action"] == "note.test")
    assert note["data"] == {"clé": "é", "liste": [1, 2.5, {"ü": None}], "vrai": True}


def test_export_leaves_out_the_content_git_directory_and_says_so(tmp_path, demo_copy, database_url):
    write(demo_copy / ".git" / "config", "[core]\n")
    summary = export(tmp_path / "a.tar.gz", demo_copy, database_url, tmp_path / "instance")
    with tarfile.open(tmp_path / "a.tar.gz", "r:gz") as tar:
        assert not [name for name in tar.getnames() if ".git" in name]
    assert summary.excluded == [".git"]


def test_export_waits_for_a_publication_in_progress(tmp_path, content_dir, database_url):
    open_database(database_url)
    instance = tmp_path / "instance"
    engine = make_engine(database_url)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (export(tmp_path / "a.tar.gz", content_dir, database_url, instance), done.set()))
    with publish_lock(instance / "publish.lock", engine):
        worker.start()
        assert not done.wait(0.5)
        assert not (tmp_path / "a.tar.gz").exists()
    worker.join(10)
    assert done.is_set() and (tmp_path / "a.tar.gz").exists()
    engine.dispose()


def test_a_failed_export_leaves_no_archive_under_its_name(tmp_path, content_dir, database_url):
    (content_dir / "promises" / "lien.md").symlink_to(content_dir / "promises" / "balayeuses-communes.md")
    with pytest.raises(BackupError, match="lien symbolique"):
        export(tmp_path / "a.tar.gz", content_dir, database_url, tmp_path / "instance")
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith((".a.tar.gz", "a.tar.gz"))] == []


def test_export_refuses_a_file_name_that_is_not_utf8_naming_it(tmp_path, content_dir, database_url):
    with open(os.fsencode(content_dir / "sources") + b"/caf\xe9.txt", "wb") as handle:
        handle.write(b"x")
    with pytest.raises(BackupError, match=r"caf\\udce9\.txt : nom de fichier qui n'est pas en UTF-8"):
        export(tmp_path / "a.tar.gz", content_dir, database_url, tmp_path / "instance")
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith((".a.tar.gz", "a.tar.gz"))] == []


def test_import_refuses_a_content_directory_that_is_not_empty_and_changes_nothing(archive, tmp_path, database_url):
    occupied = write(tmp_path / "occupied" / "notes.txt", "à garder").parent
    with pytest.raises(BackupError, match="n'est pas vide"):
        import_archive(archive, occupied, database_url)
    assert files_of(occupied) == {"notes.txt": "à garder".encode()}
    assert all(rows == [] for rows in all_rows(database_url).values())


def test_import_refuses_a_database_with_newsroom_rows_and_changes_nothing(archive, tmp_path, database_url):
    with open_database(database_url)() as session:
        add_user(session, "deja@redaction.fr", "mot-de-passe-existant", "admin", "Déjà Là")
    before = all_rows(database_url)
    with pytest.raises(BackupError, match="n'est pas vide.*users : 1"):
        import_archive(archive, tmp_path / "restored", database_url)
    assert all_rows(database_url) == before
    assert not (tmp_path / "restored").exists()
    assert not [path for path in tmp_path.iterdir() if ".import-" in path.name]


def test_import_refuses_a_file_that_does_not_match_its_sha256(archive, tmp_path, database_url):
    def tamper(name, data):
        return data.replace(b"Martine Aubry", b"Martine Aubri") if name.endswith("aubry-mutualisation-lille-lomme-hellemmes.md") else data

    tampered = rebuild(archive, tmp_path / "altered.tar.gz", change=tamper)
    with pytest.raises(BackupError, match=r"altered\.tar\.gz.*aubry-mutualisation-lille-lomme-hellemmes\.md.*sha256"):
        import_archive(tampered, tmp_path / "restored", database_url)
    assert not (tmp_path / "restored").exists()
    assert all(rows == [] for rows in all_rows(database_url).values())


def test_import_refuses_a_row_count_that_does_not_match_the_manifest(archive, tmp_path, database_url):
    def drop_a_row(name, data):
        return b"".join(data.splitlines(keepends=True)[1:]) if name == "database/audit_log.jsonl" else data

    shortened = rebuild(archive, tmp_path / "short.tar.gz", change=drop_a_row)
    with pytest.raises(BackupError, match="audit_log.jsonl : 14 ligne"):
        import_archive(shortened, tmp_path / "restored", database_url)


@pytest.mark.parametrize(
    "name, kind, match",
    [
        ("content/../../evil.md", tarfile.REGTYPE, "dangereux"),
        ("/etc/evil.md", tarfile.REGTYPE, "dangereux"),
        ("content/promises/lien.md", tarfile.SYMTYPE, "liens ne sont pas admis"),
        ("content/promises/dur.md", tarfile.LNKTYPE, "liens ne sont pas admis"),
        ("content/disque", tarfile.BLKTYPE, "périphérique"),
    ],
    ids=["dot-dot", "absolute", "symlink", "hardlink", "device"],
)
def test_import_refuses_an_unsafe_member(archive, tmp_path, database_url, name, kind, match):
    info = tarfile.TarInfo(name)
    info.type = kind
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        info.linkname = "/etc/passwd"
    unsafe = rebuild(archive, tmp_path / "unsafe.tar.gz", extra=[(info, b"x" if kind == tarfile.REGTYPE else None)])
    with pytest.raises(BackupError, match=rf"unsafe\.tar\.gz.*{match}"):
        import_archive(unsafe, tmp_path / "work" / "restored", database_url)
    assert not (tmp_path / "evil.md").exists()
    assert list((tmp_path / "work").iterdir()) == []


def test_import_refuses_a_truncated_archive_naming_it(archive, tmp_path, database_url):
    truncated = tmp_path / "tronquee.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(BackupError, match=r"tronquee\.tar\.gz : archive tronquée ou corrompue"):
        import_archive(truncated, tmp_path / "restored", database_url)
    assert not (tmp_path / "restored").exists()


def test_import_refuses_an_archive_from_a_newer_schema(archive, tmp_path, database_url):
    newer = rebuild(archive, tmp_path / "newer.tar.gz", manifest=lambda manifest: {**manifest, "schema_revision": "9999"})
    with pytest.raises(BackupError, match="révision 9999, inconnue de ce kb.*plus récent"):
        import_archive(newer, tmp_path / "restored", database_url)
    assert not (tmp_path / "restored").exists()


# Tables later revisions added: an archive of revision 0001 has none of them.
AFTER_0001 = ("user_sessions", "change_request_files", "suggestion_dismissals", "followers", "follows", "follow_changes", "follow_digests")
COLUMNS_AFTER_0001 = ("reviewer_id", "review_due")  # of change_requests


def at_revision_0001(archive: Path, target: Path) -> Path:
    """`archive` as kb wrote it at revision 0001, where change_requests.change_type was still `kind`."""
    renamed = {}

    def change(name: str, data: bytes) -> bytes:
        if name != "database/change_requests.jsonl":
            return data
        rows = [json.loads(line) for line in data.decode("utf-8").splitlines()]
        data = "".join(
            json.dumps({("kind" if key == "change_type" else key): value for key, value in row.items() if key not in COLUMNS_AFTER_0001}) + "\n"
            for row in rows
        ).encode()
        renamed["sha256"] = hashlib.sha256(data).hexdigest()
        return data

    staged = rebuild(archive, target.with_suffix(".stage"), change=change, drop={f"database/{name}.jsonl" for name in AFTER_0001})
    tables = lambda manifest: {
        **{name: table for name, table in manifest["tables"].items() if name not in AFTER_0001},
        "change_requests": {**manifest["tables"]["change_requests"], "sha256": renamed["sha256"]},
    }
    return rebuild(staged, target, manifest=lambda manifest: {**manifest, "schema_revision": "0001", "tables": tables(manifest)})


def test_an_archive_of_an_older_revision_imports_then_ends_at_the_head(source, archive, tmp_path, database_url, monkeypatch):
    older = at_revision_0001(archive, tmp_path / "older.tar.gz")
    upgrades = []
    upgrade_to = schema.upgrade_to
    monkeypatch.setattr(schema, "upgrade_to", lambda engine, revision: (upgrades.append(revision), upgrade_to(engine, revision)))
    summary = import_archive(older, tmp_path / "restored", database_url)
    assert upgrades == ["0001"] and (summary.archive_revision, summary.revision) == ("0001", schema.head_revision())
    engine = make_engine(database_url)
    assert schema.state(engine) == (schema.head_revision(), schema.head_revision())
    assert "ix_audit_log_target_action" in {index["name"] for index in inspect(engine).get_indexes("audit_log")}
    engine.dispose()
    assert all_rows(database_url) == all_rows(source.url)


def test_an_older_archive_imports_into_the_empty_tables_of_a_first_start(archive, tmp_path, database_url):
    open_database(database_url)  # the web app started once: empty tables at the head
    older = at_revision_0001(archive, tmp_path / "older.tar.gz")
    summary = import_archive(older, tmp_path / "restored", database_url)
    assert summary.rows["change_requests"] == 5
    engine = make_engine(database_url)
    assert schema.state(engine)[0] == schema.head_revision()
    engine.dispose()


def test_kb_export_and_kb_import_print_a_one_line_summary(runner, source, tmp_path):
    archive = tmp_path / "cli.tar.gz"
    result = runner.invoke(main, ["export", str(archive), "--content", str(source.content)], env={"DATABASE_URL": source.url})
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 1
    assert "69 fichiers" in result.output and "change_requests 5" in result.output and " s" in result.output
    target = sqlite_url(tmp_path, "cli-target")
    result = runner.invoke(main, ["import", str(archive), "--content", str(tmp_path / "cli-restored")], env={"DATABASE_URL": target})
    assert result.exit_code == 0, result.output
    assert "restaurée : 69 fichiers" in result.output and "index de recherche sera reconstruit" in result.output
    assert all_rows(target) == all_rows(source.url)


def test_kb_import_refuses_clearly_with_exit_code_1(runner, archive, tmp_path, content_dir):
    result = runner.invoke(main, ["import", str(archive), "--content", str(content_dir)], env={"KB_INSTANCE_DIR": str(tmp_path / "instance")})
    assert result.exit_code == 1
    assert "Error: le dossier de contenu" in result.output and "n'est pas vide" in result.output
    assert "Traceback" not in result.output


def test_kb_import_of_a_missing_archive_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(main, ["import", str(tmp_path / "absente.tar.gz"), "--content", str(tmp_path / "c")])
    assert result.exit_code == 1 and "archive introuvable" in result.output


def test_the_archive_is_readable_by_its_owner_only(archive):
    # It holds the password hashes of the newsroom.
    assert archive.stat().st_mode & 0o077 == 0
    assert os.access(archive, os.R_OK)


def test_import_refuses_a_content_git_directory_which_export_never_writes(archive, tmp_path, database_url):
    config = b"[core]\n\tfsmonitor = touch /tmp/kb-pwned\n"
    directory = tarfile.TarInfo("content/.git")
    directory.type = tarfile.DIRTYPE
    hostile = rebuild(
        archive,
        tmp_path / "git.tar.gz",
        manifest=lambda manifest: {
            **manifest,
            "content": {**manifest["content"], "files": {**manifest["content"]["files"], ".git/config": hashlib.sha256(config).hexdigest()}},
        },
        extra=[(directory, None), (tarfile.TarInfo("content/.git/config"), config)],
    )
    with pytest.raises(BackupError, match=r"git\.tar\.gz.*content/\.git.*jamais sauvegardé"):
        import_archive(hostile, tmp_path / "work" / "restored", database_url)
    assert not (tmp_path / "work" / "restored").exists()
    assert all(rows == [] for rows in all_rows(database_url).values())


def test_import_refuses_a_manifest_whose_revision_is_not_text(archive, tmp_path, database_url):
    odd = rebuild(archive, tmp_path / "odd.tar.gz", manifest=lambda manifest: {**manifest, "schema_revision": ["0002"]})
    with pytest.raises(BackupError, match=r"odd\.tar\.gz : la base sauvegardée est à la révision \['0002'\], inconnue"):
        import_archive(odd, tmp_path / "restored", database_url)
    assert not (tmp_path / "restored").exists()
