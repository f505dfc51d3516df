"""Where kb finds its templates, static files and default directories."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # kb/


def _bundled(name: str) -> Path:
    # A wheel carries templates/ and static/ inside the package; a checkout has them at the top.
    inside = PACKAGE / name
    return inside if inside.is_dir() else PACKAGE.parent / name


TEMPLATES = _bundled("templates")
STATIC = _bundled("static")
MIGRATIONS = _bundled("migrations")


def default_content_dir() -> Path:
    """The content tree: $KB_CONTENT_DIR, else ./content."""
    return Path(os.environ.get("KB_CONTENT_DIR") or "content").resolve()


def default_instance_dir() -> Path:
    """Where the embedded database and the search index live: $KB_INSTANCE_DIR, else ./instance."""
    return Path(os.environ.get("KB_INSTANCE_DIR") or "instance").resolve()
