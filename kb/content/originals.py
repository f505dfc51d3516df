"""Uploaded source documents kept as they came: `content/originals/<sha256>.<ext>`.

A source's file holds its text and the sha256 of the original; the original itself is archived
beside the content, named by that fingerprint (the same document uploaded twice is kept once, and
no name can be forged), and offered for download on the source's page. It is written when the
upload is read, before any review: a file nobody's source names is inert, and `kb check` says so.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from kb.content.files import atomic_write

FOLDER = "originals"
EXTENSIONS = {"pdf": "pdf", "docx": "docx", "odt": "odt", "html": "html", "text": "txt"}
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "odt": "application/vnd.oasis.opendocument.text",
    "html": "text/html",
    "txt": "text/plain",
    "md": "text/markdown",
}
_NAME = re.compile(r"^([0-9a-f]{64})\.([a-z]{2,4})$")


def archive(content_root: Path, data: bytes, kind: str, filename: str = "") -> Path:
    """Keep `data` as content/originals/<sha256>.<ext> (atomically; once, whoever uploads it again)."""
    extension = "md" if kind == "text" and filename.lower().endswith((".md", ".markdown")) else EXTENSIONS.get(kind, "bin")
    folder = Path(content_root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()}.{extension}"
    if not path.exists():
        atomic_write(path, data)
    return path


def find(content_root: Path, sha256: str | None) -> Path | None:
    """The archived original with this fingerprint, if kb has it."""
    if not sha256 or not re.fullmatch(r"[0-9a-f]{64}", sha256):
        return None
    folder = Path(content_root) / FOLDER
    for extension in dict.fromkeys(EXTENSIONS.values()) | {"md": None}:
        path = folder / f"{sha256}.{extension}"
        if path.is_file():
            return path
    return None


def orphans(content_root: Path, named: set[str]) -> list[Path]:
    """Archived originals whose fingerprint no source names (an upload never published)."""
    folder = Path(content_root) / FOLDER
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        match = _NAME.match(path.name)
        if match and match.group(1) not in named:
            found.append(path)
    return found
