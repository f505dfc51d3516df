"""Backups: one archive holding the content tree and every row of the workflow database.

`export` writes `manifest.json` (format, kb version, schema revision, counts, sha256 of every
file), `content/…` and `database/<table>.jsonl` (one portable JSON object per row: an export
from SQLite imports into PostgreSQL and back). It reads under the publish lock and in one
database transaction, so no publication lands between the files and the rows.

`import_archive` restores onto an empty installation only: the archive is checked whole
(manifest, hashes, counts, safe member names) in a staging directory, the rows are loaded in
one transaction, and the content tree is renamed into place last. The search index is derived
and not archived: it is rebuilt from the restored files.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import logging
import os
import shutil
import stat
import tarfile
import tempfile
import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as time_of_day
from datetime import timezone
from importlib.metadata import version
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Iterator

from sqlalchemy import Connection, Engine, MetaData, Table, func, inspect, select
from sqlalchemy import table as sql_table
from sqlalchemy import text
from sqlalchemy import types as sqltypes
from sqlalchemy.exc import SQLAlchemyError

from kb.config.i18n import gettext as _
from kb.config.paths import default_instance_dir
from kb.config.settings import publish_lock_path
from kb.newsroom.publishing import publish_lock
from kb.store import journal, schema
from kb.store.db import first_line, make_engine, safe_url

log = logging.getLogger(__name__)

FORMAT = "kb-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Kept out of the archive: the content's own git history (back it up with git, by pushing it).
EXCLUDED = (".git",)
# Tables whose rows make an installation "in use": an import never mixes two newsrooms.
IN_USE_TABLES = ("users", "change_requests", "audit_log")
# Login throttling counters: transient (15 minutes), replaced by the archive's on import.
TRANSIENT_TABLES = ("login_failures",)
CHUNK = 1 << 20
# A manifest lists every file: 256 MiB is millions of them, and no more is read into memory.
MANIFEST_LIMIT = 256 << 20
BATCH = 1000


class BackupError(Exception):
    """An export or import that cannot be carried out; the message is for people, in French."""


@dataclass
class ExportSummary:
    archive: Path
    files: int
    content_bytes: int
    rows: dict[str, int]
    revision: str
    archive_bytes: int
    seconds: float
    excluded: list[str] = field(default_factory=list)


@dataclass
class ImportSummary:
    archive: Path
    content_dir: Path
    files: int
    content_bytes: int
    rows: dict[str, int]
    archive_revision: str
    revision: str
    seconds: float
    # The search index is derived, never archived: the web app rebuilds a missing one on start.
    index_note: str = field(default_factory=lambda: _("l'index de recherche sera reconstruit (au démarrage du site, ou par « kb index »)"))


# -- portable rows ----------------------------------------------------------------------------


def _portable(value: Any) -> Any:
    """A column value as JSON: dates and times in ISO 8601, bytes in base64, JSON as JSON."""
    if isinstance(value, (datetime, date, time_of_day)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _from_portable(value: Any, column_type: sqltypes.TypeEngine) -> Any:
    """The Python value a column of `column_type` takes for an exported JSON value."""
    if value is None or isinstance(column_type, sqltypes.JSON):
        return value
    if isinstance(column_type, sqltypes.DateTime):
        return datetime.fromisoformat(value)
    if isinstance(column_type, sqltypes.Date):
        return date.fromisoformat(value)
    if isinstance(column_type, sqltypes.Time):
        return time_of_day.fromisoformat(value)
    if isinstance(column_type, (sqltypes.LargeBinary, sqltypes.BINARY, sqltypes.VARBINARY)):
        return base64.b64decode(value)
    return value


def _kb_tables(connection: Connection) -> list[Table]:
    """The workflow tables present in the database, reflected as they are, in foreign-key order."""
    known = set(schema.metadata().tables)
    present = MetaData()
    present.reflect(connection, only=lambda name, _: name in known)
    return list(present.sorted_tables)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- export -----------------------------------------------------------------------------------


def _content_entries(content_dir: Path) -> tuple[list[str], list[str], list[str]]:
    """(directories, files, excluded names) under the content tree, as sorted POSIX paths.

    Only directories and regular files: a link or a device is refused rather than half saved.
    """
    directories, files, excluded = [], [], []
    for top, dirnames, filenames in os.walk(content_dir):
        here = Path(top)
        relative_top = here.relative_to(content_dir)
        if here == content_dir:
            for name in EXCLUDED:
                if name in dirnames or name in filenames:
                    excluded.append(name)
            dirnames[:] = [name for name in dirnames if name not in EXCLUDED]
            filenames = [name for name in filenames if name not in EXCLUDED]
        dirnames.sort()
        for name in dirnames + filenames:
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                # The manifest and the PAX headers are UTF-8: a name in another encoding cannot be written.
                shown = str(here / name).encode("utf-8", "backslashreplace").decode("utf-8")
                raise BackupError(_("%(path)s : nom de fichier qui n'est pas en UTF-8 : renommez-le, puis relancez kb export", path=shown)) from None
            mode = os.lstat(here / name).st_mode
            if stat.S_ISLNK(mode):
                raise BackupError(_("%(path)s est un lien symbolique : kb export ne sauvegarde que des fichiers ordinaires", path=here / name))
            if name in filenames and not stat.S_ISREG(mode):
                raise BackupError(_("%(path)s n'est pas un fichier ordinaire : kb export ne sait pas le sauvegarder", path=here / name))
        directories.extend((relative_top / name).as_posix() for name in dirnames)
        files.extend((relative_top / name).as_posix() for name in sorted(filenames))
    return sorted(directories), sorted(files), excluded


class _HashingReader:
    """A file read through, its sha256 counted on the way (for tarfile.addfile)."""

    def __init__(self, handle: BinaryIO):
        self.handle, self.digest = handle, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        self.digest.update(chunk)
        return chunk


def _directory_info(name: str, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(mtime)
    return info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, int(mtime)
    tar.addfile(info, io.BytesIO(data))


def _add_content_file(tar: tarfile.TarFile, name: str, path: Path, expected_sha256: str) -> None:
    """Add one content file, proving it is still the version the manifest describes."""
    with open(path, "rb") as handle:
        status = os.fstat(handle.fileno())
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = status.st_size, 0o644, int(status.st_mtime)
        reader = _HashingReader(handle)
        try:
            tar.addfile(info, reader)
        except OSError:
            if os.fstat(handle.fileno()).st_size >= info.size:
                raise  # the archive's disk, not the file
            changed = True  # shorter than a moment ago: tarfile's "unexpected end of data"
        else:
            changed = handle.read(1) != b"" or reader.digest.hexdigest() != expected_sha256
    if changed:
        raise BackupError(_("%(path)s a changé pendant la sauvegarde (modifié à la main ?) : relancez kb export", path=path))


def _dump_table(connection: Connection, table: Table, path: Path) -> tuple[int, str]:
    """Write every row of `table` as one JSON object per line, by primary key; (rows, sha256)."""
    columns = [column.name for column in table.columns]
    order = list(table.primary_key.columns) or list(table.columns)
    digest, count = hashlib.sha256(), 0
    with open(path, "wb") as out:
        for row in connection.execute(select(table).order_by(*order).execution_options(yield_per=BATCH)):
            record = {name: _portable(value) for name, value in zip(columns, row)}
            line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
            out.write(line)
            digest.update(line)
            count += 1
    return count, digest.hexdigest()


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that sees one state of the whole database, whatever commits meanwhile."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                yield connection
        return
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            # pysqlite begins a transaction only before a write: without this BEGIN each SELECT
            # would read its own state, and an audit row could name a request not exported.
            connection.exec_driver_sql("BEGIN")
        try:
            yield connection
        finally:
            connection.rollback()


def _exported_revision(connection: Connection, tables: list[Table], url: str) -> str:
    revision = schema.current_revision(connection)
    if revision is None:
        # Tables without a version: a database from before migrations, at the first schema.
        return schema.FIRST_REVISION if tables else schema.head_revision()
    if revision not in schema.known_revisions():
        raise BackupError(
            _(
                "la base %(url)s est à la révision %(revision)s, inconnue de cette version de kb : "
                "exportez-la avec le kb plus récent qui l'a migrée",
                url=safe_url(url),
                revision=revision,
            )
        )
    return revision


def _fsync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def export(archive: Path, content_dir: Path, database_url: str, instance_dir: Path | None = None) -> ExportSummary:
    """Write the content tree and every workflow row into one `.tar.gz` archive.

    Reads under the publish lock (INSTANCE_DIR/publish.lock, or PostgreSQL's advisory lock)
    and in one transaction; writes a temporary file beside `archive`, then renames it.
    """
    started = time.perf_counter()
    archive, content_dir = Path(archive).absolute(), Path(content_dir).absolute()
    if not content_dir.is_dir():
        raise BackupError(_("dossier de contenu introuvable : %(path)s", path=content_dir))
    if content_dir in archive.parents:
        raise BackupError(_("l'archive %(archive)s ne peut pas être écrite dans le dossier de contenu qu'elle sauvegarde", archive=archive))
    if archive.is_dir():
        raise BackupError(_("%(archive)s est un dossier : donnez un nom de fichier (par exemple kb-sauvegarde.tar.gz)", archive=archive))
    if not archive.parent.is_dir():
        raise BackupError(_("dossier introuvable pour l'archive : %(path)s", path=archive.parent))
    lock_path = publish_lock_path({"INSTANCE_DIR": instance_dir or default_instance_dir()})
    engine = make_engine(database_url)
    try:
        with publish_lock(lock_path, engine), _snapshot(engine) as connection:
            journal.settle(content_dir, engine)  # a batch killed midway is put back before it is archived
            tables = _kb_tables(connection)
            revision = _exported_revision(connection, tables, database_url)
            fd, temporary = tempfile.mkstemp(prefix=f".{archive.name}.", suffix=".tmp", dir=archive.parent)
            try:
                with os.fdopen(fd, "wb") as raw:
                    summary = _write_archive(raw, connection, tables, revision, content_dir, archive)
                    raw.flush()
                    os.fsync(raw.fileno())
                os.replace(temporary, archive)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        _fsync_directory(archive.parent)
    except SQLAlchemyError as error:
        raise BackupError(_("base %(url)s : %(error)s", url=safe_url(database_url), error=first_line(error))) from None
    except OSError as error:  # disk full, unreadable file: said, never a traceback
        raise BackupError(
            _("sauvegarde %(archive)s impossible : %(error)s (%(path)s)", archive=archive, error=error.strerror or error, path=error.filename or archive)
        ) from None
    finally:
        engine.dispose()
    summary.archive_bytes = archive.stat().st_size
    summary.seconds = time.perf_counter() - started
    return summary


def _write_archive(
    raw: BinaryIO, connection: Connection, tables: list[Table], revision: str, content_dir: Path, archive: Path
) -> ExportSummary:
    created = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="kb-export-") as scratch:
        dumps, rows, table_manifest = {}, {}, {}
        for table in tables:
            dumps[table.name] = Path(scratch) / f"{table.name}.jsonl"
            count, digest = _dump_table(connection, table, dumps[table.name])
            rows[table.name] = count
            table_manifest[table.name] = {"rows": count, "sha256": digest}
        directories, files, excluded = _content_entries(content_dir)
        hashes = {name: _sha256_file(content_dir / name) for name in files}
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kb_version": version("kb"),
            "schema_revision": revision,
            "created_at": created.isoformat(timespec="seconds"),
            "database": connection.dialect.name,
            "tables": table_manifest,
            "content": {"files": hashes, "directories": directories, "excluded": excluded},
        }
        stamp = created.timestamp()
        # The gzip header names no temporary file; PAX headers carry accented file names.
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=int(stamp)) as compressed:
            with tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar:
                _add_bytes(tar, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"), stamp)
                tar.addfile(_directory_info("content", stamp))
                for name in directories:
                    tar.addfile(_directory_info(f"content/{name}", stamp))
                for name in files:
                    _add_content_file(tar, f"content/{name}", content_dir / name, hashes[name])
                tar.addfile(_directory_info("database", stamp))
                for name, path in dumps.items():
                    with open(path, "rb") as handle:
                        info = tarfile.TarInfo(f"database/{name}.jsonl")
                        info.size, info.mode, info.mtime = path.stat().st_size, 0o644, int(stamp)
                        tar.addfile(info, handle)
    content_bytes = sum((content_dir / name).stat().st_size for name in files)
    return ExportSummary(archive, len(files), content_bytes, rows, revision, 0, 0.0, excluded)


# -- import -----------------------------------------------------------------------------------


def _refuse_non_empty_content(content_dir: Path) -> None:
    if content_dir.is_symlink() or (content_dir.exists() and not content_dir.is_dir()):
        raise BackupError(_("%(path)s existe et n'est pas un dossier : kb import restaure dans un dossier neuf", path=content_dir))
    if content_dir.is_dir() and any(content_dir.iterdir()):
        raise BackupError(
            _(
                "le dossier de contenu %(path)s n'est pas vide : kb import ne remplace jamais un contenu existant ; "
                "donnez un dossier neuf (--content) ou videz celui-ci",
                path=content_dir,
            )
        )


def _refuse_database_in_use(connection: Connection, url: str) -> None:
    present = set(inspect(connection).get_table_names())
    counts = {
        name: connection.scalar(select(func.count()).select_from(sql_table(name)))
        for name in IN_USE_TABLES
        if name in present
    }
    used = {name: count for name, count in counts.items() if count}
    if used:
        listed = ", ".join(f"{name} : {count}" for name, count in used.items())
        raise BackupError(
            _(
                "la base %(url)s n'est pas vide (%(listed)s ligne(s)) : kb import ne restaure que sur une "
                "installation neuve, sans mélanger deux rédactions ; donnez une base vide (DATABASE_URL)",
                url=safe_url(url),
                listed=listed,
            )
        )


def _sqlite_file_missing(url: str) -> bool:
    return url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists()


def _safe_name(archive: Path, member: tarfile.TarInfo) -> str:
    """The member's path if it may be extracted: relative, no `..`, a plain file or directory."""
    path = PurePosixPath(member.name)
    if member.name.startswith("/") or path.is_absolute() or ".." in path.parts or "\\" in member.name:
        raise BackupError(
            _("%(archive)s : membre dangereux « %(name)s » (chemin absolu ou remontant par ..) : archive refusée", archive=archive, name=member.name)
        )
    if member.issym() or member.islnk():
        raise BackupError(_("%(archive)s : membre « %(name)s » : les liens ne sont pas admis : archive refusée", archive=archive, name=member.name))
    if not (member.isreg() or member.isdir()):
        raise BackupError(
            _("%(archive)s : membre « %(name)s » : périphérique ou fichier spécial : archive refusée", archive=archive, name=member.name)
        )
    name = path.as_posix()
    if name in ("", "."):
        raise BackupError(_("%(archive)s : membre sans nom : archive refusée", archive=archive))
    return name


def _read_manifest(archive: Path, raw: bytes) -> dict:
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BackupError(_("%(archive)s : manifest.json illisible (JSON invalide)", archive=archive)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(_("%(archive)s n'est pas une sauvegarde kb (manifest.json sans « format » %(format)s)", archive=archive, format=FORMAT))
    format_version = manifest.get("format_version")
    if not isinstance(format_version, int) or format_version > FORMAT_VERSION:
        raise BackupError(
            _(
                "%(archive)s : format de sauvegarde %(version)s inconnu de ce kb (qui lit le format %(known)s) : "
                "mettez kb à jour avant d'importer",
                archive=archive,
                version=repr(format_version),
                known=FORMAT_VERSION,
            )
        )
    revision, head = manifest.get("schema_revision"), schema.head_revision()
    # Not a string (a list, an object): refused like an unknown revision, not a TypeError.
    if not isinstance(revision, str) or revision not in schema.known_revisions():
        raise BackupError(
            _(
                "%(archive)s : la base sauvegardée est à la révision %(revision)s, inconnue de ce kb (dernière connue : %(head)s) : "
                "elle vient d'un kb plus récent ; mettez kb à jour avant d'importer",
                archive=archive,
                revision=revision,
                head=head,
            )
        )
    tables, content = manifest.get("tables"), manifest.get("content")
    if (
        not isinstance(tables, dict)
        or not all(isinstance(entry, dict) and isinstance(entry.get("rows"), int) for entry in tables.values())
        or not isinstance(content, dict)
        or not isinstance(content.get("files"), dict)
        or not all(isinstance(digest, str) for digest in content["files"].values())
    ):
        raise BackupError(_("%(archive)s : manifest.json incomplet (tables, content.files)", archive=archive))
    return manifest


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> tuple[str, int, int]:
    """Write a member's bytes to `target` (fsynced); (sha256, bytes, lines)."""
    source = tar.extractfile(member)
    digest, size, lines = hashlib.sha256(), 0, 0
    with open(target, "xb") as out:
        while chunk := source.read(CHUNK):
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
        out.flush()
        os.fsync(out.fileno())
    os.utime(target, (member.mtime, member.mtime))
    return digest.hexdigest(), size, lines


@dataclass
class _Unpacked:
    manifest: dict
    files: int
    content_bytes: int


def _unpack(archive: Path, staging: Path) -> _Unpacked:
    """Extract the archive into `staging` (content/, database/) and prove it whole, or refuse."""
    content_root, database_root = staging / "content", staging / "database"
    content_root.mkdir()
    database_root.mkdir()
    manifest, files, tables, names = None, {}, {}, set()
    try:
        with tarfile.open(archive, mode="r|gz") as tar:
            for member in tar:
                name = _safe_name(archive, member)
                if name in names:
                    raise BackupError(_("%(archive)s : membre « %(name)s » en double : archive refusée", archive=archive, name=name))
                names.add(name)
                parts = PurePosixPath(name).parts
                if parts[0] == "content" and len(parts) > 1 and parts[1] in EXCLUDED:
                    # Never exported: a .git restored from an archive would bring its config and
                    # hooks, which git runs at the next publication's commit.
                    raise BackupError(
                        _(
                            "%(archive)s : membre « %(name)s » : %(excluded)s n'est jamais sauvegardé par kb export : archive refusée",
                            archive=archive,
                            name=name,
                            excluded=parts[1],
                        )
                    )
                if member.isdir() and parts[0] == "content":
                    content_root.joinpath(*parts[1:]).mkdir(parents=True, exist_ok=True)
                elif member.isdir() and name == "database":
                    continue
                elif member.isreg() and name == MANIFEST:
                    if member.size > MANIFEST_LIMIT:
                        raise BackupError(_("%(archive)s : manifest.json de %(size)s octets : archive refusée", archive=archive, size=member.size))
                    manifest = _read_manifest(archive, tar.extractfile(member).read())
                elif member.isreg() and parts[0] == "content" and len(parts) > 1:
                    target = content_root.joinpath(*parts[1:])
                    target.parent.mkdir(parents=True, exist_ok=True)
                    files["/".join(parts[1:])] = _extract(tar, member, target)
                elif member.isreg() and len(parts) == 2 and parts[0] == "database" and parts[1].endswith(".jsonl"):
                    tables[parts[1].removesuffix(".jsonl")] = _extract(tar, member, database_root / parts[1])
                else:
                    raise BackupError(
                        _("%(archive)s : membre inattendu « %(name)s » (ni manifest.json, ni content/, ni database/)", archive=archive, name=name)
                    )
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise BackupError(_("%(archive)s : archive tronquée ou corrompue (%(error)s)", archive=archive, error=error)) from None
    except OSError as error:
        raise BackupError(_("%(archive)s : extraction impossible (%(error)s)", archive=archive, error=error.strerror or error)) from None
    if manifest is None:
        raise BackupError(_("%(archive)s n'est pas une sauvegarde kb : manifest.json manquant", archive=archive))
    _verify(archive, manifest, files, tables)
    return _Unpacked(manifest, len(files), sum(size for _digest, size, _lines in files.values()))


def _verify(archive: Path, manifest: dict, files: dict, tables: dict) -> None:
    """Every file and table the manifest lists is there, with its sha256 and its row count."""
    expected = manifest["content"]["files"]
    for name in sorted(set(expected) | set(files)):
        if name not in files:
            raise BackupError(_("%(archive)s : content/%(name)s manque (listé dans le manifeste) : archive incomplète", archive=archive, name=name))
        if name not in expected:
            raise BackupError(_("%(archive)s : content/%(name)s n'est pas dans le manifeste : archive altérée", archive=archive, name=name))
        if files[name][0] != expected[name]:
            raise BackupError(
                _(
                    "%(archive)s : content/%(name)s ne correspond pas à son empreinte sha256 du manifeste : archive altérée ou abîmée",
                    archive=archive,
                    name=name,
                )
            )
    for name in sorted(set(manifest["tables"]) | set(tables)):
        entry = manifest["tables"].get(name)
        if name not in tables:
            raise BackupError(
                _("%(archive)s : database/%(name)s.jsonl manque (listé dans le manifeste) : archive incomplète", archive=archive, name=name)
            )
        if entry is None:
            raise BackupError(_("%(archive)s : database/%(name)s.jsonl n'est pas dans le manifeste : archive altérée", archive=archive, name=name))
        digest, _size, lines = tables[name]
        if lines != entry["rows"] or entry.get("sha256", digest) != digest:
            raise BackupError(
                _(
                    "%(archive)s : database/%(name)s.jsonl : %(lines)s ligne(s), le manifeste en annonce %(rows)s "
                    "(ou son sha256 diffère) : archive altérée ou abîmée",
                    archive=archive,
                    name=name,
                    lines=lines,
                    rows=entry["rows"],
                )
            )


def _drop_kb_tables(engine: Engine) -> None:
    with engine.begin() as connection:
        present = MetaData()
        present.reflect(connection, only=lambda name, _: name in schema.metadata().tables or name == "alembic_version")
        present.drop_all(connection)


def _create_tables(engine: Engine, revision: str) -> None:
    """The workflow tables at `revision`, in a database whose tables (if any) hold no newsroom rows."""
    head = schema.head_revision()
    with engine.connect() as connection:
        current = schema.current_revision(connection)
        present = set(inspect(connection).get_table_names()) & set(schema.metadata().tables)
    if revision == head:
        schema.prepare(engine)  # created at the head; empty tables of an older revision upgraded
        return
    if current == revision:
        return
    if current is not None or present:
        # Empty tables at another revision (a first start, an earlier failed import): made again.
        _drop_kb_tables(engine)
    schema.upgrade_to(engine, revision)


def _load_table(connection: Connection, table: Table, path: Path, archive: Path) -> int:
    """Insert the rows of one jsonl file, ids included; the number of rows."""
    types = {column.name: column.type for column in table.columns}
    batch: list[dict] = []
    count = 0

    def flush() -> None:
        if batch:
            connection.execute(table.insert(), batch)
            batch.clear()

    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError(_("attendu un objet JSON"))
                unknown = sorted(set(record) - set(types))
                if unknown:
                    raise ValueError(_("colonne(s) inconnue(s) de la table : %(columns)s", columns=", ".join(unknown)))
                row = {name: _from_portable(value, types[name]) for name, value in record.items()}
            except (ValueError, TypeError) as error:
                raise BackupError(
                    _("%(archive)s : database/%(table)s.jsonl, ligne %(number)s : %(error)s", archive=archive, table=table.name, number=number, error=error)
                ) from None
            # One INSERT … VALUES shape per batch: rows made by hand may leave columns out.
            if batch and batch[0].keys() != row.keys() or len(batch) >= BATCH:
                flush()
            batch.append(row)
            count += 1
    flush()
    return count


def _reset_sequences(connection: Connection, tables: list[Table]) -> None:
    """PostgreSQL: each id sequence past the ids loaded, so new rows do not collide with them."""
    for table in tables:
        key = list(table.primary_key.columns)
        if len(key) != 1 or not isinstance(key[0].type, sqltypes.Integer):
            continue
        quote = connection.dialect.identifier_preparer
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column), max({quote.quote(key[0].name)})) "
                f"FROM {quote.format_table(table)}"
            ),
            {"table": table.name, "column": key[0].name},
        )


def _load(engine: Engine, url: str, archive: Path, manifest: dict, database_root: Path) -> dict[str, int]:
    """Every archived row into the database, in one transaction; tables at the archive's revision."""
    _create_tables(engine, manifest["schema_revision"])
    rows = {}
    with engine.begin() as connection:
        _refuse_database_in_use(connection, url)  # again: nobody started meanwhile
        present = _kb_tables(connection)
        unknown = sorted(set(manifest["tables"]) - {table.name for table in present})
        if unknown:
            raise BackupError(
                _(
                    "%(archive)s : table(s) inconnue(s) à la révision %(revision)s : %(tables)s",
                    archive=archive,
                    revision=manifest["schema_revision"],
                    tables=", ".join(unknown),
                )
            )
        for table in present:
            if table.name in TRANSIENT_TABLES and table.name in manifest["tables"]:
                connection.execute(table.delete())
        loaded = [table for table in present if table.name in manifest["tables"]]
        for table in loaded:  # foreign-key order: users before the requests and rows naming them
            rows[table.name] = _load_table(connection, table, database_root / f"{table.name}.jsonl", archive)
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection, loaded)
    return rows


def _empty_tables(engine: Engine) -> None:
    """Undo a committed load (best effort), so that a failed import can simply be run again."""
    try:
        with engine.begin() as connection:
            for table in reversed(_kb_tables(connection)):
                connection.execute(table.delete())
    except SQLAlchemyError:
        log.exception("import : lignes chargées non effacées après l'échec")


def import_archive(archive: Path, content_dir: Path, database_url: str) -> ImportSummary:
    """Restore an archive onto an empty installation: a new content directory and an empty database.

    Refuses, changing nothing, a non-empty content directory, a database holding newsroom rows,
    and any archive that is not whole and safe. The content appears under its name last.
    """
    started = time.perf_counter()
    archive, content_dir = Path(archive).absolute(), Path(content_dir).absolute()
    if not archive.is_file():
        raise BackupError(_("archive introuvable : %(archive)s", archive=archive))
    _refuse_non_empty_content(content_dir)
    engine = None
    try:
        if not _sqlite_file_missing(database_url):
            engine = make_engine(database_url)
            with engine.connect() as connection:
                _refuse_database_in_use(connection, database_url)
        content_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{content_dir.name}.import-", dir=content_dir.parent))
        try:
            unpacked = _unpack(archive, staging)
            engine = engine or make_engine(database_url)
            rows = _load(engine, database_url, archive, unpacked.manifest, staging / "database")
            try:
                schema.prepare(engine)  # an older revision's rows, brought to the head
                _refuse_non_empty_content(content_dir)
                os.rename(staging / "content", content_dir)
                _fsync_directory(content_dir.parent)
            except BaseException:
                _empty_tables(engine)
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except (schema.SchemaTooNew, schema.SchemaOutdated) as error:
        raise BackupError(str(error)) from None
    except SQLAlchemyError as error:
        raise BackupError(_("base %(url)s : %(error)s", url=safe_url(database_url), error=first_line(error))) from None
    except OSError as error:
        raise BackupError(
            _("import de %(archive)s impossible : %(error)s (%(path)s)", archive=archive, error=error.strerror or error, path=error.filename or content_dir)
        ) from None
    finally:
        if engine is not None:
            engine.dispose()
    return ImportSummary(
        archive,
        content_dir,
        unpacked.files,
        unpacked.content_bytes,
        rows,
        unpacked.manifest["schema_revision"],
        schema.head_revision(),
        time.perf_counter() - started,
    )
