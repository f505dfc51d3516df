"""Shared fixtures: a small scratch content tree written from real files, the app, the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.web import create_app

REPO = Path(__file__).resolve().parent.parent
DEMO_CONTENT = REPO / "content"

SOURCE = """\
---
title: Délibération sur le schéma de mutualisation
publisher: Ville de Marcq-en-Barœul
kind: deliberation
date: 2022-11-08
reference: 059-2022-11-08-DE-1
---
Le conseil municipal approuve l’adhésion à la Centrale d’Achats Métropolitaine.
Entre Marcq-en-Barœul et La Madeleine, la mutualisation
est en marche : « achat de deux balayeuses » — une pour chaque commune.
"""

PROMISE = """\
---
title: Acheter deux balayeuses en commun
made_by: Bernard Gérard
party: Les Républicains (LR)
territory: Marcq-en-Barœul
theme: Propreté
made_on: 2017-04-11
due: 2018-12-31
status: done
history:
  - date: 2017-04-11
    status: planned
    note: Annonce.
    evidence:
      - source: deliberation-test
        quote: "achat de deux balayeuses"
  - date: 2022-11-08
    status: done
    note: Achat réalisé.
    evidence:
      - source: deliberation-test
        quote: "l'adhésion à la Centrale d'Achats Métropolitaine"
reply: La Ville précise que l'achat a été fait en groupement de commande.
aliases:
  - balayeuses
---
Les deux villes ont **acheté** deux balayeuses.
"""


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A valid content tree with one source and one promise."""
    root = tmp_path / "content"
    write(root / "sources" / "deliberation-test.md", SOURCE)
    write(root / "promises" / "balayeuses-communes.md", PROMISE)
    shutil.copy(DEMO_CONTENT / "statuses.yml", root / "statuses.yml")
    return root


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    """A scratch copy of the shipped demo corpus, safe to corrupt."""
    return Path(shutil.copytree(DEMO_CONTENT, tmp_path / "demo"))


@pytest.fixture
def app(content_dir: Path, tmp_path: Path):
    return create_app(
        {"TESTING": True, "CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "instance"), "CONTENT_RECHECK_SECONDS": 0}
    )


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
