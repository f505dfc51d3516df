"""Reading and writing content files safely: atomic writes, and writes only over the expected version."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from kb.config.i18n import gettext as _
from kb.content.model import Problem


def atomic_write(path: Path, text: str | bytes) -> None:
    """Replace `path` with `text` (or bytes, written as they are) so that readers see the old file or the new one, never half.

    The temporary file lives in the same directory (a rename is only atomic within one
    file system) and is fsynced before the rename, and the directory after it, so that
    a crash or power cut cannot leave a truncated file under the real name.
    """
    path = Path(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        binary = isinstance(text, bytes)
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def leftover_temporaries(directory: Path) -> list[Path]:
    """Temporary files of atomic_write whose writer died before renaming them (`.<name>.<random>.tmp`)."""
    try:
        return sorted(path for path in Path(directory).glob(".*.tmp") if path.is_file() and path.name.count(".") >= 3)
    except OSError:
        return []


def display_path(path: Path) -> str:
    """A path as people should read it in messages: relative to where they stand."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def read_content_file(path: Path, limit: int) -> tuple[str | None, list[Problem]]:
    """A content file's text (UTF-8, BOM and CRLF tolerated), or None and why it cannot be read."""
    shown = display_path(path)
    try:
        size = path.stat().st_size
        if size > limit:
            message = _(
                "fichier trop gros (%(size)s octets ; limite %(limit)s)", size=f"{size:,}".replace(",", " "), limit=f"{limit:,}".replace(",", " ")
            )
            return None, [Problem(shown, None, None, message)]
        raw = path.read_bytes()
    except OSError as error:
        return None, [Problem(shown, None, None, _("fichier illisible (%(reason)s)", reason=error.strerror or error))]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        message = _("le fichier n'est pas en UTF-8 (octet 0x%(byte)s illisible)", byte=f"{raw[error.start]:02x}")
        return None, [Problem(shown, line, None, message)]
    return text.removeprefix("\ufeff").replace("\r\n", "\n"), []


class StaleBase(Exception):
    """The file is no longer the version the change was based on."""

    def __init__(self, current_sha256: str | None, target: str | None = None):
        super().__init__(current_sha256)
        self.current_sha256 = current_sha256
        self.target = target  # which file, when several were to be written (a batch)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def current_file(path: Path) -> tuple[str | None, str | None]:
    """(text, sha256) of the file as it is on disk now; (None, None) when it does not exist."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, None
    return raw.decode("utf-8", "replace"), hashlib.sha256(raw).hexdigest()


def write_over(path: Path, base_sha256: str | None, text: str) -> tuple[str | None, str]:
    """Write `text` to `path` if the file is still at `base_sha256` (None: must not exist yet).

    Call under the publish lock (kb.newsroom.publishing). Returns (old sha256, new sha256); raises StaleBase when the file
    changed since. A file already holding exactly `text` counts as written: a publication that
    died after its rename but before the database heard of it is finished, not redone.
    """
    _text, current = current_file(path)
    new = sha256_text(text)
    if current == new:
        return base_sha256, new
    if current != base_sha256:
        raise StaleBase(current)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)
    return current, new
