"""`kb bench-import`: a spreadsheet of 1,000 rows imported into a newsroom-sized tree, step by step, each beside its target.

What a journalist and an editor wait for, through the newsroom's own pages (Flask's test client
on the real app, over the synthetic corpus of `kb bench`): the preview of the upload, the batch
request made, its review page, the approval that publishes every file at once — and the same
import from the command line (`kb import-promises --dry-run`). The sheet mixes new promises for
one tracker and status changes of published promises, each with a verified quote.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Callable

from kb.bench.search import corpus_in
from kb.content.tree import read_tree
from kb.search.index import SearchIndex
from kb.store.accounts import add_user
from kb.store.changes import ChangeRequest
from kb.web import create_app

# What a newsroom can wait for on 1,000 rows (seconds): a page after an upload, a click.
TARGETS = {"preview": 10.0, "request": 10.0, "review page": 2.0, "publication": 15.0, "command line": 30.0}
PASSWORD = "mot-de-passe-du-banc"
HEADER = ["id", "titre", "suivi", "statut", "auteur_ids", "territoire", "theme", "promis_le", "echeance", "date_statut", "source", "citation", "note"]


def import_sheet(content: Path, rows: int, today: date) -> tuple[bytes, int, int]:
    """A CSV of `rows` rows: 70 % new promises of one tracker, 30 % status changes quoting a source already quoted;
    with the number of each."""
    tree = read_tree(content)
    tracker = sorted(tree.trackers)[0]
    person = sorted(tree.file_ids("person"))[0]
    statuses = list(tree.statuses)
    changes = [promise for _, promise in sorted(tree.promises.items()) if promise.history and promise.history[-1].evidence][: rows * 3 // 10]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    for promise in changes:
        proof = promise.history[-1].evidence[0]
        status = next(status for status in statuses if status != promise.status)
        # As an export edited in a spreadsheet: every column as published, the status changed, its evidence added.
        writer.writerow([
            promise.id, promise.title, promise.tracker, status, " ; ".join(promise.made_by), promise.territory, promise.theme,
            promise.made_on.isoformat(), promise.due.isoformat() if promise.due else "", today.isoformat(), proof.source, proof.quote,
            "Banc d'essai.",
        ])  # fmt: skip
    new = rows - len(changes)
    for number in range(1, new + 1):
        writer.writerow([
            f"banc-import-{number:05d}", f"Promesse importée numéro {number}", tracker, "planned", person, "Lille", "Gouvernance",
            "2026-03-20", "2032-03-31", "", "", "", "",
        ])  # fmt: skip
    return buffer.getvalue().encode("utf-8"), new, len(changes)


def _token(client, url: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)


def _login(app, email: str):
    client = app.test_client()
    token = _token(client, "/redaction/connexion")
    response = client.post("/redaction/connexion", data={"csrf_token": token, "email": email, "password": PASSWORD})
    assert response.status_code == 302, "connexion refusée"
    return client


def _timed(step: Callable):
    started = time.perf_counter()
    result = step()
    return result, time.perf_counter() - started


def run_import_benchmark(workdir: Path, promises: int = 10_000, sources: int = 1_000, rows: int = 1_000, seed: int = 1, say: Callable[[str], None] = print) -> dict:
    """Import `rows` rows into a copy of the synthetic corpus; print and return each step's seconds."""
    base = corpus_in(workdir, promises, sources, 40_000, seed, say)
    run = workdir / "import-run"
    shutil.rmtree(run, ignore_errors=True)
    content = run / "content"
    shutil.copytree(base, content)
    data, new, changed = import_sheet(content, rows, date.today())
    say(f"tableur : {rows} lignes ({new} nouvelles promesses, {changed} changements de statut cités), {len(data) / 1000:.0f} Ko")

    started = time.perf_counter()
    # A server starts with its catalog and index built (kb serve prepares both): so does this one.
    settings = {"CONTENT_DIR": str(content), "INSTANCE_DIR": str(run / "instance"), "PUBLISH_GIT_COMMIT": False}
    logging.getLogger("kb").setLevel(logging.WARNING)  # one line per published file would drown the figures
    app = create_app(settings)
    app.test_client().get("/")  # builds the catalog
    SearchIndex(Path(app.config["INDEX_DIR"]), content).sync()
    with app.extensions["kb.db"]() as session:
        add_user(session, "import@banc.fr", PASSWORD, "editor", "Importatrice")
        add_user(session, "relecture@banc.fr", PASSWORD, "editor", "Relectrice")
    author, reviewer = _login(app, "import@banc.fr"), _login(app, "relecture@banc.fr")
    say(f"installation prête en {time.perf_counter() - started:.1f} s (catalogue et index de {promises} promesses)")

    # The command line, on the same installation: a dry run checks every row against the catalog.
    sheet = run / "import.csv"
    sheet.write_bytes(data)
    environment = {"KB_CONTENT_DIR": str(content), "KB_INSTANCE_DIR": str(run / "instance"), "PATH": "/usr/bin:/bin"}
    command = [str(Path(sys.executable).parent / "kb"), "import-promises", str(sheet), "--dry-run"]
    result, cli_seconds = _timed(lambda: subprocess.run(command, env=environment, capture_output=True, text=True, timeout=900))
    if result.returncode != 0:
        raise RuntimeError(f"kb import-promises --dry-run a échoué : {result.stderr[-2000:]}")

    token = _token(author, "/redaction/import")
    response, preview = _timed(lambda: author.post(
        "/redaction/import", data={"csrf_token": token, "file": (io.BytesIO(data), "import.csv")}, content_type="multipart/form-data"
    ))  # fmt: skip
    html = response.get_data(as_text=True)
    if response.status_code != 200 or "refusée" in html and "<strong>0</strong> refusée" not in html:
        raise RuntimeError(f"aperçu inattendu ({response.status_code}) : des lignes refusées ?")
    form = {name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1) for name in ("name", "data", "sha256", "errors", "valid", "summary")}
    response, request_seconds = _timed(lambda: author.post("/redaction/import/demande", data={"csrf_token": token, **form}))
    number = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    author.post(f"/redaction/demandes/{number}/submit", data={"csrf_token": token})
    _, review_page = _timed(lambda: reviewer.get(f"/redaction/demandes/{number}"))
    reviewer_token = _token(reviewer, f"/redaction/demandes/{number}")
    response, publication = _timed(lambda: reviewer.post(f"/redaction/demandes/{number}/approve", data={"csrf_token": reviewer_token}))
    with app.extensions["kb.db"]() as session:
        state = session.get(ChangeRequest, number).state
    if state != "published":
        raise RuntimeError(f"la demande n° {number} est « {state} », pas publiée")
    figures = {"preview": preview, "request": request_seconds, "review page": review_page, "publication": publication, "command line": cli_seconds}
    labels = {
        "preview": "aperçu ligne par ligne (POST /redaction/import)",
        "request": "demande d'import créée (POST /redaction/import/demande)",
        "review page": "page de la demande pour l'éditeur (GET, 50 fiches)",
        "publication": f"approbation : {rows} fiches publiées ensemble",
        "command line": "kb import-promises --dry-run (sur le catalogue)",
    }
    for name, seconds in figures.items():
        verdict = "ok" if seconds <= TARGETS[name] else "AU-DESSUS"
        say(f"  {labels[name]:<58} {seconds:7.2f} s   objectif ≤ {TARGETS[name]:.0f} s   {verdict}")
    shutil.rmtree(run, ignore_errors=True)
    return figures
