"""The layers of kb/ as docs/architecture.md draws them: a lower package never imports a higher one,
and Flask stays in kb/web."""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import REPO, write

# Which packages each package of kb/ may import (itself aside). The order of the layers:
# config → content → search, store → catalog → newsroom → web → bench → ops.
ALLOWED = {
    "config": set(),
    "content": {"config"},
    "search": {"config", "content"},
    "store": {"config", "content"},
    "documents": {"config", "content"},
    "catalog": {"config", "content", "store"},
    "newsroom": {"config", "content", "store", "catalog"},
    "web": {"config", "content", "documents", "search", "store", "catalog", "newsroom"},
    "bench": {"config", "content", "documents", "search", "store", "catalog", "newsroom", "web"},
    "ops": {"config", "content", "documents", "search", "store", "catalog", "newsroom", "web", "bench"},
}
# Top-level modules: the package's docstring, and the WSGI entry point (it builds the web app).
TOP_LEVEL = {"__init__": set(), "wsgi": {"config", "web"}}
WEB_FRAMEWORKS = ("flask", "flask_login")


def imported(path: Path, package: str) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, relative ones made absolute."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # `from kb import web` imports a package by name.
            if module == "kb":
                found += [(node.lineno, f"kb.{alias.name}") for alias in node.names]
    return found


def violations(root: Path) -> list[str]:
    """Every import in the kb/ package under `root` that breaks the layers, said with its file and line."""
    found = []
    for path in sorted((root / "kb").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts  # ("kb", "web", "public")
        layer = parts[1]
        allowed = TOP_LEVEL[layer] if len(parts) == 2 else ALLOWED.get(layer)
        shown = path.relative_to(root)
        if allowed is None:
            found.append(f"{shown}: package « {layer} » is in no layer (add it to docs/architecture.md and ALLOWED)")
            continue
        package = ".".join(parts[:-1]) if parts[-1] != "__init__" else ".".join(parts)
        for line, module in imported(path, package):
            names = module.split(".")
            if names[0] in WEB_FRAMEWORKS and layer != "web":
                found.append(f"{shown}:{line}: imports {module}: Flask belongs to kb/web")
            if names[0] == "kb" and len(names) > 1 and names[1] != layer and names[1] not in allowed:
                found.append(f"{shown}:{line}: {layer} imports kb.{names[1]}, a layer above it or beside it ({module})")
    return found


def test_no_package_of_kb_imports_a_layer_above_it_and_flask_stays_in_web():
    assert violations(REPO) == []


def test_every_package_of_kb_is_a_known_layer():
    packages = {path.name for path in (REPO / "kb").iterdir() if path.is_dir() and (path / "__init__.py").exists()}
    assert packages == set(ALLOWED)


def test_an_import_from_a_lower_layer_to_a_higher_one_is_reported_with_its_file_and_line(tmp_path):
    write(tmp_path / "kb" / "__init__.py", "")
    write(tmp_path / "kb" / "content" / "__init__.py", "")
    write(tmp_path / "kb" / "content" / "tree.py", '"""x"""\n\nfrom kb.newsroom.workflow import approve\n')
    write(tmp_path / "kb" / "store" / "db.py", "def f():\n    from ..web import create_app\n")
    assert violations(tmp_path) == [
        "kb/content/tree.py:3: content imports kb.newsroom, a layer above it or beside it (kb.newsroom.workflow)",
        "kb/store/db.py:2: store imports kb.web, a layer above it or beside it (kb.web)",
    ]


def test_flask_imported_outside_web_is_reported(tmp_path):
    write(tmp_path / "kb" / "newsroom" / "forms.py", "from flask import request\n")
    write(tmp_path / "kb" / "web" / "views.py", "from flask import request\n")
    assert violations(tmp_path) == ["kb/newsroom/forms.py:1: imports flask: Flask belongs to kb/web"]


def test_a_package_outside_the_layers_is_reported(tmp_path):
    write(tmp_path / "kb" / "helpers" / "misc.py", "")
    assert violations(tmp_path) == ["kb/helpers/misc.py: package « helpers » is in no layer (add it to docs/architecture.md and ALLOWED)"]
