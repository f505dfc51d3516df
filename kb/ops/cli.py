"""The `kb` command line."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from importlib.metadata import version
from pathlib import Path

import click

from kb.config.i18n import gettext as _
from kb.config.i18n import lazy_gettext, ngettext
from kb.config import settings
from kb.config.settings import SettingsError
from kb.content.check import check_content
from kb.content.sources import DOCUMENT_TYPES
from kb.content.tree import ContentError

CONTENT_OPTION = click.option(
    "--content",
    "content_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Dossier de contenu (défaut : réglage CONTENT_DIR — $KB_CONTENT_DIR ou kb.toml —, sinon ./content).",
)


def _progress(label: str):
    """A progress bar on the terminal; silent when output is piped (CI logs, scripts)."""

    def wrap(items):
        if not sys.stderr.isatty():
            yield from items
            return
        with click.progressbar(items, label=label, file=sys.stderr) as bar:
            yield from bar

    return wrap


class _Speaking(click.Group):
    """`kb`, speaking the LANGUAGE setting from before its arguments are read (--help included), and giving
    the language back when done (a test or a program running commands in-process)."""

    def main(self, *args, **kwargs):
        from kb.config import i18n

        try:
            wanted = settings.load().get("LANGUAGE")
        except Exception:  # noqa: BLE001 — kb.toml unreadable, a bad value…: the command itself says it
            wanted = i18n.DEFAULT
        token = i18n.set_language(wanted)
        try:
            for holder, text in _HELP:  # click prints these with --help: in the language of this run
                holder.help = i18n.gettext(text)
            return super().main(*args, **kwargs)
        finally:
            i18n.reset_language(token)


@click.group(cls=_Speaking, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version("kb"), prog_name="kb")
def main() -> None:
    """kb : suivi des promesses politiques et vérification des faits.

    Les fichiers de content/ sont la vérité publiée ; la base de données porte le
    travail de la rédaction ; l'index de recherche se reconstruit à partir des fichiers.
    Les messages sont en français, ou en anglais avec LANGUAGE=en (KB_LANGUAGE).
    """


@main.command()
@CONTENT_OPTION
@click.option("--strict", is_flag=True, help="Échoue aussi sur les avertissements.")
def check(content_dir: Path | None, strict: bool) -> None:
    """Vérifie tout le contenu et liste chaque problème (fichier, ligne, champ).

    Contrôle le YAML, les champs obligatoires, les statuts et verdicts, les dates, l'ordre de
    l'historique, les sources citées, la présence exacte de chaque citation dans sa
    source (preuves des promesses, affirmations et preuves des vérifications), les
    promesses liées, les identifiants et alias. Code de sortie 1 s'il y a au moins une erreur.
    """
    root = _content_root(content_dir)
    started = time.perf_counter()
    try:
        report = check_content(root, progress=_progress(_("Lecture du contenu")))
    except ContentError as error:
        raise click.ClickException(str(error)) from None
    elapsed = time.perf_counter() - started
    for problem in report.problems:
        click.echo(str(problem))
    errors, warnings = len(report.errors), len(report.warnings)
    click.echo(
        _(
            "%(counts)s, %(history)s entrées d'historique, %(quotes)s citations vérifiées — %(errors)s erreur(s), "
            "%(warnings)s avertissement(s) en %(seconds)s s",
            counts=", ".join(f"{count} {report.labels[name]}" for name, count in report.counts.items()),
            history=report.history_entries,
            quotes=report.verified_quotes,
            errors=errors,
            warnings=warnings,
            seconds=format(elapsed, ".2f"),
        )
    )
    if errors or (strict and warnings):
        sys.exit(1)


@main.command()
@CONTENT_OPTION
@click.option("--host", help="Adresse d'écoute (développement ; défaut : réglage HOST, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port d'écoute (développement ; défaut : réglage PORT, 5000).")
@click.option("--debug/--no-debug", default=False, help="Rechargement automatique et débogueur (développement).")
@click.option("--production", is_flag=True, help="Serveur de production : gunicorn, plusieurs processus, réglages vérifiés.")
@click.option("--bind", help="Production : adresse host:port (défaut : réglage BIND, 127.0.0.1:8000).")
@click.option("--workers", type=click.IntRange(1, 256), help="Production : nombre de processus (défaut : réglage WORKERS).")
@click.option("--threads", type=click.IntRange(1, 256), help="Production : fils par processus (défaut : réglage THREADS).")
def serve(
    content_dir: Path | None, host: str | None, port: int | None, debug: bool, production: bool, bind: str | None, workers: int | None, threads: int | None
) -> None:
    """Sert le site, la rédaction et l'API.

    Sans option : serveur de développement sur les réglages embarqués (base SQLite et index
    dans ./instance, clé secrète aléatoire), tables créées ou migrées au besoin.

    --production : gunicorn avec plusieurs processus. Refuse de démarrer avec la clé secrète
    de développement ou une base en retard sur le code (lancez d'abord « kb db upgrade »).
    Réglages : variables KB_*, fichier INSTANCE/kb.toml (voir docs/settings.md).
    """
    overrides = {"CONTENT_DIR": str(content_dir.resolve())} if content_dir else {}
    if production:
        from kb.ops.server import RefusedToStart, finish_interrupted_publications, prepare_index, production_settings, run

        overrides.update({key: value for key, value in (("BIND", bind), ("WORKERS", workers), ("THREADS", threads)) if value})
        try:
            values = production_settings(overrides)
        except RefusedToStart as error:
            raise click.ClickException(str(error)) from None
        _say_finished(finish_interrupted_publications(values))
        started = time.perf_counter()
        report = prepare_index(values)
        _say_indexed(report.rebuilt, time.perf_counter() - started, values["INDEX_DIR"])
        click.echo(
            _(
                "kb : production, %(workers)s processus × %(threads)s fils sur http://%(bind)s/ (%(content)s)",
                workers=values["WORKERS"],
                threads=values["THREADS"],
                bind=values["BIND"],
                content=values["CONTENT_DIR"],
            ),
            err=True,
        )
        run(values)
        return
    from kb.ops.server import finish_interrupted_publications
    from kb.web import create_app

    overrides.update({key: value for key, value in (("HOST", host), ("PORT", port)) if value})
    try:
        app = create_app(overrides or None)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    host, port = app.config["HOST"], int(app.config["PORT"])
    _say_finished(finish_interrupted_publications(dict(app.config)))
    # Build or catch up the search index now, not during the first visitor's search.
    started = time.perf_counter()
    report = app.extensions["kb.search"].index.sync()
    _say_indexed(report.rebuilt, time.perf_counter() - started, app.config["INDEX_DIR"])
    click.echo(_("kb : %(content)s servi sur %(address)s/", content=app.config["CONTENT_DIR"], address=_address(host, port)), err=True)
    # kb logs each request itself (kb.web.request_log): werkzeug's own line would say it twice.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.extensions["kb.content"].background = True  # a server: edits by hand are looked for in the background
    app.run(host=host, port=port, debug=debug)


def _address(host: str, port: int) -> str:
    """The address people type to reach a server listening on host:port."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _say_indexed(rebuilt: bool, seconds: float, index_dir) -> None:
    if rebuilt:
        said = _("kb : index de recherche construit en %(seconds)s s (%(index)s)", seconds=format(seconds, ".1f"), index=index_dir)
    else:
        said = _("kb : index de recherche à jour en %(seconds)s s (%(index)s)", seconds=format(seconds, ".1f"), index=index_dir)
    click.echo(said, err=True)


def _say_finished(numbers: list[int]) -> None:
    if numbers:
        listed = ", ".join(_("n° %(number)s", number=number) for number in numbers)
        click.echo(_("kb : publication(s) interrompue(s) terminée(s) : demande(s) %(listed)s", listed=listed), err=True)


@main.group()
def db() -> None:
    """Schéma de la base de la rédaction (migrations Alembic).

    La base est DATABASE_URL (ou KB_DATABASE_URL, ou le fichier INSTANCE/kb.toml), sinon
    INSTANCE/kb.sqlite3.
    """


@db.command("upgrade")
@click.option("--to", "revision", default="head", show_default=True, help="Révision visée.")
def db_upgrade(revision: str) -> None:
    """Crée les tables ou les migre jusqu'à la dernière révision (une fois, depuis un seul serveur)."""
    from kb.store.db import first_line, make_engine, safe_url
    from kb.store.schema import SchemaTooNew, known_revisions, prepare, state, upgrade_to

    url = _database_url()
    engine = make_engine(url)
    try:
        before, head = state(engine)
        if revision != "head" and revision not in known_revisions():
            raise click.ClickException(
                _("révision inconnue : %(revision)s (connues : %(known)s)", revision=revision, known=", ".join(sorted(known_revisions())))
            )
        if revision == "head":
            prepare(engine, upgrade=True)
        else:
            upgrade_to(engine, revision)
        after, _head = state(engine)
    except SchemaTooNew as error:
        raise click.ClickException(str(error)) from None
    except click.ClickException:
        raise
    except Exception as error:  # noqa: BLE001 — unreachable server, refused migration: a message
        raise click.ClickException(_("base %(url)s : %(error)s", url=safe_url(url), error=first_line(error))) from None
    finally:
        engine.dispose()
    if before == after:
        click.echo(_("%(url)s : déjà à la révision %(revision)s", url=safe_url(url), revision=after))
    elif before:
        click.echo(_("%(url)s : révision %(before)s → %(after)s", url=safe_url(url), before=before, after=after))
    else:
        click.echo(_("%(url)s : révision vide → %(after)s", url=safe_url(url), after=after))


@db.command("status")
def db_status() -> None:
    """Affiche la révision de la base et celle qu'attend ce code ; code de sortie 1 si elles diffèrent."""
    from kb.store.db import first_line, make_engine, safe_url
    from kb.store.schema import known_revisions, state

    url = _database_url()
    engine = make_engine(url)
    try:
        revision, head = state(engine)
    except Exception as error:  # noqa: BLE001
        raise click.ClickException(_("base %(url)s : %(error)s", url=safe_url(url), error=first_line(error))) from None
    finally:
        engine.dispose()
    if revision:
        click.echo(_("%(url)s : révision %(revision)s ; ce code attend %(head)s", url=safe_url(url), revision=revision, head=head))
    else:
        click.echo(_("%(url)s : révision aucune ; ce code attend %(head)s", url=safe_url(url), head=head))
    if revision != head:
        newer = revision is not None and revision not in known_revisions()
        click.echo(_("base migrée par un kb plus récent : mettez kb à jour") if newer else _("lancez « kb db upgrade »"))
        sys.exit(1)


@main.command()
@CONTENT_OPTION
@click.option(
    "--index-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Dossier de l'index (défaut : réglage INDEX_DIR, sinon INSTANCE/index).",
)
@click.option("--changed-only", is_flag=True, help="Ne réindexe que les fichiers modifiés (par empreinte sha256).")
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=None,
    help="Processus qui construisent l'index, chacun une part (défaut : un par cœur, quatre au plus ; un seul pour un petit corpus).",
)
def index(content_dir: Path | None, index_dir: Path | None, changed_only: bool, processes: int | None) -> None:
    """Reconstruit l'index de recherche et le catalogue (ce que lisent les pages) à partir des fichiers.

    Tous deux sont dérivés : les supprimer puis les reconstruire donne les mêmes résultats.
    Les fichiers en erreur (voir kb check) ne sont ni indexés ni publiés. --changed-only ne
    reprend que les fichiers modifiés (par empreinte sha256).
    """
    from kb.content.tree import read_tree
    from kb.search.index import SearchIndex

    root = _content_root(content_dir)
    target = index_dir or Path(_settings()["INDEX_DIR"])
    search_index = SearchIndex(target, root)
    started = time.perf_counter()
    try:
        if changed_only:
            if index_dir is None:
                scanned = _catalog(root).scan()
                click.echo(
                    _("catalogue à jour : %(files)s fichier(s) relu(s) en %(seconds)s s", files=len(scanned.changed), seconds=format(scanned.seconds, ".2f"))
                )
            report = search_index.sync()
            click.echo(
                _(
                    "Index à jour : %(added)s ajouté(s), %(updated)s mis à jour, %(removed)s retiré(s) en %(seconds)s s",
                    added=report.added,
                    updated=report.updated,
                    removed=report.removed,
                    seconds=format(time.perf_counter() - started, ".2f"),
                )
            )
            return
        tree = read_tree(root, _progress(_("Lecture du contenu")))
    except ContentError as error:
        raise click.ClickException(str(error)) from None
    if index_dir is None:  # the installation's own index: its catalog is rebuilt with it
        catalog_started = time.perf_counter()
        files = _catalog(root).rebuild()
        click.echo(_("catalogue reconstruit : %(files)s fichiers en %(seconds)s s", files=files, seconds=format(time.perf_counter() - catalog_started, ".2f")))
    count = search_index.rebuild(tree, _progress(_("Indexation")), processes=processes or min(len(os.sched_getaffinity(0)), 4))
    unpublished = len(tree.broken_promises) + len(tree.broken_sources) + len(tree.broken_claims)
    seconds = f"{time.perf_counter() - started:.2f}"
    if unpublished:
        click.echo(
            _(
                "%(count)s documents indexés dans %(target)s en %(seconds)s s (%(unpublished)s fichier(s) en erreur non indexé(s) : voir kb check)",
                count=count,
                target=target,
                seconds=seconds,
                unpublished=unpublished,
            )
        )
    else:
        click.echo(_("%(count)s documents indexés dans %(target)s en %(seconds)s s", count=count, target=target, seconds=seconds))


@main.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Dossier de travail : corpus synthétique (réutilisé d'une fois sur l'autre), index, base FTS5. "
    "Défaut : INSTANCE/bench.",
)
@click.option("--promises", default=10_000, show_default=True, help="Nombre de promesses synthétiques.")
@click.option("--sources", default=1_000, show_default=True, help="Nombre de documents sources synthétiques.")
@click.option("--source-kb", default=40, show_default=True, help="Taille de chaque document source, en Ko.")
@click.option("--rounds", default=3, show_default=True, help="Tours de l'ensemble des requêtes.")
@click.option("--processes", default=2, show_default=True, help="Processus pour construire l'index Whoosh.")
@click.option("--seed", default=1, show_default=True, help="Graine du corpus synthétique (déterministe).")
@click.option("--scale-to", type=int, default=None, help="Mesurer aussi à ce nombre de promesses (sources en proportion), dans la même exécution, et comparer.")
def bench(workdir: Path | None, promises: int, sources: int, source_kb: int, rounds: int, processes: int, seed: int, scale_to: int | None) -> None:
    """Mesure la recherche à grande échelle : Whoosh et SQLite FTS5 côte à côte.

    Construit un corpus synthétique déterministe (mots tirés du corpus de démonstration),
    puis affiche dans la même exécution : temps de construction de l'index, latences
    p50/p95 des recherches avec facettes et extraits, mémoire du processus qui cherche,
    délai entre la réindexation d'une promesse et sa découverte, et les rapports à FTS5.
    """
    from kb.bench.search import run_benchmark, run_scaling

    target = workdir or Path(_settings()["INSTANCE_DIR"]) / "bench"
    if scale_to:
        run_scaling(target, promises, sources, source_kb * 1000, scale_to, seed, rounds, processes, say=lambda line: click.echo(line))
        return
    run_benchmark(
        target, promises, sources, source_kb * 1000, seed, rounds, processes, say=lambda line: click.echo(line)
    )


@main.command("bench-import")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Dossier de travail (le corpus de « kb bench » y est réutilisé). Défaut : INSTANCE/bench.")
@click.option("--promises", default=10_000, show_default=True, help="Promesses du corpus synthétique.")
@click.option("--sources", default=1_000, show_default=True, help="Sources du corpus synthétique.")
@click.option("--rows", default=1_000, show_default=True, help="Lignes du tableur importé.")
def bench_import(workdir: Path | None, promises: int, sources: int, rows: int) -> None:
    """Mesure l'import d'un tableur à l'échelle d'une rédaction : aperçu, demande, relecture, publication, ligne de commande.

    Chaque étape est affichée avec son objectif ; le tableur mêle nouvelles promesses et
    changements de statut cités, importés dans une copie du corpus synthétique de « kb bench ».
    """
    from kb.bench.imports import run_import_benchmark

    target = workdir or Path(_settings()["INSTANCE_DIR"]) / "bench"
    run_import_benchmark(target, promises, sources, rows, say=lambda line: click.echo(line))


@main.command("bench-suggest")
@CONTENT_OPTION
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Dossier de travail (le corpus de « kb bench » y est réutilisé). Défaut : INSTANCE/bench.")
@click.option("--promises", default=10_000, show_default=True, help="Promesses du corpus synthétique.")
@click.option("--sources", default=1_000, show_default=True, help="Sources du corpus synthétique.")
def bench_suggest(content_dir: Path | None, workdir: Path | None, promises: int, sources: int) -> None:
    """Mesure les passages suggérés : leur qualité sur le contenu (rappel@3) et leur coût à l'échelle d'une rédaction.

    Chaque citation qu'une promesse ou une vérification prend à une source est retirée, puis
    redemandée : elle compte si elle revient parmi les 3 premiers passages proposés.
    """
    from kb.bench.suggestions import run_suggest_benchmark

    target = workdir or Path(_settings()["INSTANCE_DIR"]) / "bench"
    run_suggest_benchmark(_content_root(content_dir).resolve(), target, promises, sources, say=lambda line: click.echo(line))


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@CONTENT_OPTION
@click.option(
    "--base-url",
    default="http://127.0.0.1:5000/",
    show_default=True,
    help="Adresse publique du site : elle figure dans les flux, le plan du site et les métadonnées des pages.",
)
@click.option("--live-url", default=None, help="Site dynamique (recherche, rédaction, filtres combinés) vers lequel pointer.")
def build(directory: Path, content_dir: Path | None, base_url: str, live_url: str | None) -> None:
    """Écrit tout le site public en fichiers statiques dans DIRECTORY.

    Pages, flux Atom, documents de l'API de lecture et export CSV, rendus par les mêmes
    gabarits que le site dynamique, avec des liens relatifs : le dossier se sert tel quel
    par n'importe quel serveur statique ou CDN. La recherche et la rédaction restent
    dynamiques (--live-url). Le dossier est remplacé d'un bloc à la fin.
    """
    from kb.web import create_app
    from kb.web.static_build import BuildError, build_site

    config = {"CONTENT_DIR": str(content_dir.resolve())} if content_dir else None
    app = create_app(config)
    counted = 0

    def progress(url: str) -> None:
        nonlocal counted
        counted += 1
        if sys.stderr.isatty() and counted % 50 == 0:
            click.echo("\r" + _("%(count)s adresses rendues…", count=counted), err=True, nl=False)

    try:
        report = build_site(app, directory, base_url, live_url, progress)
    except BuildError as error:
        raise click.ClickException(str(error)) from None
    if sys.stderr.isatty():
        click.echo("", err=True)
    for failure in report.failures:
        click.echo(_("non rendu : %(failure)s", failure=failure), err=True)
    click.echo(
        _(
            "%(files)s fichiers (%(pages)s pages HTML, %(megabytes)s Mo) écrits dans %(directory)s en %(seconds)s s",
            files=report.files,
            pages=report.pages,
            megabytes=format(report.bytes / 1_000_000, ".1f"),
            directory=directory,
            seconds=format(report.seconds, ".2f"),
        )
    )
    if report.failures:
        sys.exit(1)


@main.command("bench-web")
@CONTENT_OPTION
@click.option("--seconds", default=10, show_default=True, help="Durée de chaque charge.")
@click.option("--connections", default=64, show_default=True, help="Connexions simultanées (wrk -c).")
@click.option("--workers", default=2, show_default=True, help="Processus gunicorn.")
@click.option("--threads", default=8, show_default=True, help="Fils par processus gunicorn.")
def bench_web(content_dir: Path | None, seconds: int, connections: int, workers: int, threads: int) -> None:
    """Mesure une page de promesse sous charge : site vivant et construction statique côte à côte.

    Sert la page par gunicorn (site vivant, avec son cache) et par nginx (construction
    kb build), la charge avec wrk sur 127.0.0.1, et affiche requêtes/s, p50, p99 et le
    rapport. Demande les paquets Debian nginx et wrk.
    """
    from kb.bench.web import BenchError, run_web_benchmark

    try:
        run_web_benchmark(
            _content_root(content_dir).resolve(), seconds, connections, workers, threads, say=click.echo
        )
    except BenchError as error:
        raise click.ClickException(str(error)) from None


@main.command("bench-live")
@click.option("--database", default="sqlite", show_default=True, help="« sqlite », ou une URL postgresql://… (un schéma neuf y est créé puis supprimé).")
@click.option("--promises", default=10_000, show_default=True, help="Promesses synthétiques (0 : le corpus de démonstration).")
@click.option("--sources", default=1_000, show_default=True, help="Documents sources synthétiques.")
@click.option("--source-kb", default=40, show_default=True, help="Taille de chaque document source, en Ko.")
@click.option("--seconds", default=120, show_default=True, help="Durée de la charge pendant les publications.")
@click.option("--connections", default=32, show_default=True, help="Connexions simultanées (wrk -c).")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Processus (défaut : réglage WORKERS, comme kb serve --production).")
@click.option("--threads", type=click.IntRange(1, 256), default=None, help="Fils par processus (défaut : réglage THREADS, comme kb serve --production).")
@click.option("--publish-every", default=5.0, show_default=True, help="Secondes entre deux publications.")
@click.option("--growth", default=200, show_default=True, help="Publications de plus pour mesurer la croissance de la mémoire.")
@click.option("--seed", default=1, show_default=True, help="Graine du corpus et du hasard.")
@click.option("--keep", is_flag=True, help="Garder l'installation de l'essai pour l'examiner (et, dans publications.json, chaque sondage de chaque publication).")
def bench_live(database, promises, sources, source_kb, seconds, connections, workers, threads, publish_every, growth, seed, keep) -> None:
    """Mesure le site vivant à l'échelle d'une rédaction pendant qu'elle publie ; chaque chiffre à côté de sa cible.

    Sert un corpus synthétique par kb serve --production, le charge avec wrk (accueil, listes
    filtrées, pages, flux, recherches) pendant qu'un éditeur publie un changement de statut toutes
    les 5 s, et mesure : erreurs, p99, délai avant qu'une publication soit visible sur chaque
    processus (page, compteurs, accueil, recherche), mémoire et sa croissance sur 200 publications,
    première page d'un processus neuf, 100 fichiers modifiés à la main, débit à chaud. Demande wrk.
    """
    from kb.bench.live import run_live_benchmark

    run_live_benchmark(
        database, promises, sources, source_kb * 1000, seconds, connections, workers, threads, publish_every, growth, seed, keep,
        say=click.echo,
    )  # fmt: skip


def _content_root(content_dir: Path | None) -> Path:
    """--content when given, else the CONTENT_DIR setting (environment, kb.toml, ./content)."""
    return content_dir or Path(_settings()["CONTENT_DIR"])


def _settings() -> dict:
    """kb's settings as the web app reads them (kb.toml, then the environment)."""
    from kb.config import settings

    try:
        return settings.finish(settings.load())
    except settings.SettingsError as error:
        raise click.ClickException(str(error)) from None


def _catalog(root: Path):
    """The catalog of `root` in the configured database (its tables made or migrated first)."""
    from kb.catalog.update import Catalog
    from kb.config.settings import publish_lock_path

    sessions = _sessions()
    return Catalog(sessions.kw["bind"], root, publish_lock_path(_settings()))


def _database_url() -> str:
    return _settings()["DATABASE_URL"]


def _sessions():
    """Sessions on the configured database, its connections closed when the command ends."""
    from sqlalchemy.exc import SQLAlchemyError

    from kb.store.db import first_line, open_database, safe_url
    from kb.store.schema import SchemaOutdated, SchemaTooNew

    url = _database_url()
    try:
        sessions = open_database(url)
    except (SchemaOutdated, SchemaTooNew) as error:
        raise click.ClickException(str(error)) from None
    except SQLAlchemyError as error:  # unreachable server, bad credentials: said as kb db says it, no traceback
        raise click.ClickException(_("base %(url)s : %(error)s", url=safe_url(url), error=first_line(error))) from None
    click.get_current_context().call_on_close(sessions.kw["bind"].dispose)
    return sessions


@main.group()
def user() -> None:
    """Gère les comptes de la rédaction (journalistes, éditeurs, administrateurs).

    Aucun compte n'existe par défaut. La base est $DATABASE_URL, sinon INSTANCE/kb.sqlite3.
    """


@user.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["journalist", "editor", "admin"]), required=True, help="Rôle du compte.")
@click.option("--name", help="Nom affiché (publiquement : « approuvé par … ») ; par défaut, le début de l'adresse.")
@click.password_option("--password", help="Mot de passe (demandé sans écho s'il n'est pas donné).", prompt=lazy_gettext("Mot de passe"))
def user_add(email: str, role: str, name: str | None, password: str) -> None:
    """Crée un compte ; le mot de passe est demandé deux fois, sans écho."""
    from kb.store.accounts import AccountError, add_user

    with _sessions()() as session:
        try:
            created = add_user(session, email, password, role, name)
        except AccountError as error:
            raise click.ClickException(str(error)) from None
    click.echo(_("compte créé : %(email)s (%(role)s)", email=created.email, role=created.role))


@user.command("list")
def user_list() -> None:
    """Liste les comptes, leur rôle et s'ils sont actifs."""
    from kb.store.accounts import list_users

    with _sessions()() as session:
        users = list_users(session)
    for account in users:
        state = _("actif") if account.active else _("désactivé")
        click.echo(f"{account.email}\t{account.name}\t{account.role}\t{state}")
    if not users:
        click.echo(_("aucun compte (kb user add EMAIL --role …)"))


@user.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(["journalist", "editor", "admin"]))
def user_set_role(email: str, role: str) -> None:
    """Change le rôle d'un compte."""
    from kb.store.accounts import AccountError, set_role

    with _sessions()() as session:
        try:
            changed = set_role(session, email, role)
        except AccountError as error:
            raise click.ClickException(str(error)) from None
    click.echo(f"{changed.email} : {changed.role}")


@user.command("disable")
@click.argument("email")
def user_disable(email: str) -> None:
    """Désactive un compte : il ne peut plus se connecter, son historique reste."""
    from kb.store.accounts import AccountError, disable

    with _sessions()() as session:
        try:
            changed = disable(session, email)
        except AccountError as error:
            raise click.ClickException(str(error)) from None
    click.echo(_("%(email)s : désactivé", email=changed.email))


@user.command("set-password")
@click.argument("email")
@click.password_option("--password", help="Nouveau mot de passe (demandé sans écho s'il n'est pas donné).", prompt=lazy_gettext("Nouveau mot de passe"))
def user_set_password(email: str, password: str) -> None:
    """Change le mot de passe d'un compte ; toutes ses sessions ouvertes sont fermées."""
    from kb.store.accounts import AccountError, set_password

    with _sessions()() as session:
        try:
            changed = set_password(session, email, password)
        except AccountError as error:
            raise click.ClickException(str(error)) from None
    click.echo(_("%(email)s : mot de passe changé, sessions fermées", email=changed.email))


@user.command("sessions")
@click.argument("email")
@click.option("--end", "end_them", is_flag=True, help="Ferme toutes ces sessions (le compte devra se reconnecter).")
def user_sessions(email: str, end_them: bool) -> None:
    """Liste les sessions ouvertes d'un compte ; --end les ferme toutes."""
    from kb.store import sessions
    from kb.store.accounts import AccountError, find_user

    with _sessions()() as session:
        try:
            account = find_user(session, email)
        except AccountError as error:
            raise click.ClickException(str(error)) from None
        if account is None:
            raise click.ClickException(_("aucun compte pour %(email)s", email=email))
        if end_them:
            count = sessions.end_all(session, account.id, "admin")
            session.commit()
            click.echo(_("%(email)s : %(count)s session(s) fermée(s)", email=account.email, count=count))
            return
        found = sessions.open_sessions(session, account.id)
        for row in found:
            seen = row.last_seen_at.strftime("%Y-%m-%d %H:%M")
            click.echo(
                _(
                    "%(id)s\touverte %(opened)s\tvue %(seen)s\t%(address)s\t%(agent)s",
                    id=row.id,
                    opened=row.created_at.strftime("%Y-%m-%d %H:%M"),
                    seen=seen,
                    address=row.remote_addr or "-",
                    agent=row.user_agent or "-",
                )
            )
        if not found:
            click.echo(_("%(email)s : aucune session ouverte", email=account.email))


DEMO_ACCOUNTS = (
    ("journaliste@demo.kb", "journalist", "Julie Journaliste"),
    ("editeur@demo.kb", "editor", "Étienne Éditeur"),
    ("editrice@demo.kb", "editor", "Emma Éditrice"),
    ("admin@demo.kb", "admin", "Alex Admin"),
)


@user.command("demo")
@click.option("--host", help="Adresse du serveur à afficher (défaut : réglage HOST).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port du serveur à afficher (défaut : réglage PORT).")
def user_demo(host: str | None, port: int | None) -> None:
    """Crée des comptes de démonstration (un par rôle, deux éditeurs) et affiche leurs mots de passe.

    Seulement sur demande : aucun compte n'existe sinon. Les mots de passe sont tirés au
    hasard à chaque fois ; ne l'utilisez pas sur un site en production.
    """
    import secrets

    from kb.store.accounts import add_user, find_user

    with _sessions()() as session:
        for email, role, name in DEMO_ACCOUNTS:
            if find_user(session, email) is not None:
                click.echo(_("%(email)s\t(existe déjà, inchangé)", email=email))
                continue
            password = secrets.token_urlsafe(12)
            add_user(session, email, password, role, name)
            click.echo(f"{email}\t{password}\t{role}")
    values = _settings()
    click.echo(_("Connexion : %(address)s/redaction/connexion", address=_address(host or values["HOST"], port or int(values["PORT"]))))


@main.group()
def people() -> None:
    """Gère les fiches des élus et des institutions (content/people/)."""


@people.command("migrate")
@CONTENT_OPTION
@click.option("--dry-run", is_flag=True, help="Dit ce qui serait écrit, sans rien écrire.")
def people_migrate(content_dir: Path | None, dry_run: bool) -> None:
    """Donne une fiche à chaque auteur écrit en toutes lettres et met son identifiant à sa place.

    Les promesses (made_by) et les vérifications (claimed_by) d'avant les fiches nommaient leurs
    auteurs en toutes lettres (« Bernard Gérard et Sébastien Leprêtre ») : chaque nom devient un
    fichier content/people/<id>.md (genre deviné, à relire ; le nom gardé en alias, pour que les
    anciennes adresses /elus/<nom> y mènent), puis seule la ligne made_by / claimed_by de chaque
    fichier change. Les fichiers sont écrits comme une modification à la main : un site en marche
    les voit à son prochain passage.
    """
    from kb.content.authors import apply, plan

    root = _content_root(content_dir)
    try:
        migration = plan(root)
        if not dry_run:
            apply(root, migration)
    except ContentError as error:
        raise click.ClickException(_("%(error)s ; rien n'a été écrit", error=error)) from None
    for person in migration.people.values():
        if dry_run:
            click.echo(_("people/%(id)s.md à créer : %(name)s (%(kind)s)", id=person.id, name=person.name, kind=person.kind))
        else:
            click.echo(_("people/%(id)s.md créée(s) : %(name)s (%(kind)s)", id=person.id, name=person.name, kind=person.kind))
    for path, ids in migration.files.items():
        click.echo(f"{path.parent.name}/{path.name} : {', '.join(ids)}")
    for reason in migration.skipped:
        click.echo(_("laissé tel quel : %(reason)s", reason=reason), err=True)
    if dry_run:
        click.echo(_("%(people)s fiche(s) de personnes et %(files)s fichier(s) seraient écrits", people=len(migration.people), files=len(migration.files)))
    else:
        click.echo(_("%(people)s fiche(s) de personnes et %(files)s fichier(s) écrits", people=len(migration.people), files=len(migration.files)))


@main.group()
def source() -> None:
    """Gère les documents sources."""


@source.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--id", "source_id", help="Identifiant (par défaut, tiré du titre).")
@click.option("--title", required=True, help="Titre du document.")
@click.option("--publisher", required=True, help="Qui publie le document.")
@click.option("--kind", type=click.Choice(DOCUMENT_TYPES), required=True)
@click.option("--date", "when", required=True, help="Date du document (AAAA-MM-JJ).")
@click.option("--reference", help="Référence officielle.")
@click.option("--url", help="Adresse en ligne.")
@click.option("--content", "content_dir", type=click.Path(file_okay=False, path_type=Path), help="Dossier du contenu.")
def source_add(file: Path, source_id, title, publisher, kind, when, reference, url, content_dir) -> None:
    """Ajoute un document source (PDF, même scanné, Word .docx, OpenDocument .odt, page web .html, texte ou Markdown) au contenu, texte extrait et sha256 du fichier noté.

    Écrit directement content/sources/<id>.md, sous le verrou de publication, et l'inscrit au
    journal des publications (les autres serveurs l'indexent aussitôt) ; dans la rédaction,
    passez par « Nouvelle source » pour qu'un éditeur relise.
    """
    from kb.content import originals
    from kb.content.check import check_text
    from kb.documents.extract import Budget, UploadError, read_document
    from kb.content.files import StaleBase
    from kb.content.registry import InvalidKey
    from kb.content.tree import read_tree
    from kb.newsroom.proposals import FormError, slugify
    from kb.newsroom.proposals import source as source_file
    from kb.newsroom.publishing import Publisher, PublishFailed

    values = _settings()
    root = (content_dir or Path(values["CONTENT_DIR"])).resolve()
    try:
        data = file.read_bytes()
        uploaded = read_document(file.name, data, Budget.from_settings(values))
        text, digest = uploaded.text, uploaded.sha256
        source_id = source_id or slugify(title)
        fields = {"title": title, "publisher": publisher, "kind": kind, "date": when, "reference": reference, "url": url}
        document = source_file(source_id, fields, text, digest)
        tree = read_tree(root)
        key = tree.kinds.key("source", source_id)
    except (UploadError, FormError, InvalidKey, ContentError) as error:
        raise click.ClickException(str(error)) from None
    path = tree.kinds.path(root, key)
    if path.exists():
        raise click.ClickException(_("%(path)s existe déjà : choisissez un autre --id", path=path))
    errors = [problem for problem in check_text(tree, key, document) if problem.severity == "error"]
    if errors:
        raise click.ClickException(_("source non écrite : %(problems)s", problems="; ".join(str(problem) for problem in errors)))
    originals.archive(root, data, uploaded.kind, file.name)  # committed with the source, offered on its page
    sessions = _sessions()
    publishing = Publisher.from_settings({**values, "CONTENT_DIR": str(root)}, sessions.kw["bind"])
    with sessions() as session:
        try:
            publishing.publish(
                session, key, document, None, by=None, summary=f"Nouvelle source : {title}", change_type="source",
                details=f"Ajoutée par « kb source add {file.name} ».",
            )  # fmt: skip
        except StaleBase:
            raise click.ClickException(_("%(path)s existe déjà : choisissez un autre --id", path=path)) from None
        except PublishFailed as error:
            raise click.ClickException(_("%(path)s : %(error)s ; rien n'a été écrit", path=path, error=error)) from None
    said = {"path": path, "characters": f"{len(text):,}".replace(",", " "), "digest": digest[:12]}
    ocr = len(uploaded.ocr_pages)
    if not ocr:
        read = ngettext(
            "%(path)s : %(num)s page, %(characters)s caractères, sha256 %(digest)s…",
            "%(path)s : %(num)s pages, %(characters)s caractères, sha256 %(digest)s…",
            uploaded.pages,
            **said,
        )
    elif uploaded.pages <= 1:
        read = _("%(path)s : 1 page dont 1 lue par reconnaissance de caractères, %(characters)s caractères, sha256 %(digest)s…", **said)
    else:
        read = ngettext(
            "%(path)s : %(pages)s pages dont %(num)s lue par reconnaissance de caractères, %(characters)s caractères, sha256 %(digest)s…",
            "%(path)s : %(pages)s pages dont %(num)s lues par reconnaissance de caractères, %(characters)s caractères, sha256 %(digest)s…",
            ocr,
            pages=uploaded.pages,
            **said,
        )
    click.echo(read)


def _megabytes(size: int) -> str:
    if size >= 100_000:
        return _("%(size)s Mo", size=format(size / 1_000_000, ".1f"))
    return _("%(size)s Ko", size=format(size / 1000, ".1f"))


def _rows(rows: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in rows.items()) or _("aucune table")


@main.command("export")
@click.argument("archive", metavar="FICHIER", type=click.Path(dir_okay=False, path_type=Path))
@CONTENT_OPTION
def export_command(archive: Path, content_dir: Path | None) -> None:
    """Sauvegarde le contenu et toute la base de la rédaction dans une archive .tar.gz.

    Lit sous le verrou de publication et dans une seule transaction : aucune publication ne
    se glisse entre les fichiers et les lignes. Sans le dépôt git du contenu (.git) ni l'index
    de recherche (dérivé). Voir docs/backups.md.
    """
    from kb.ops.backup import BackupError, export

    values = _settings()
    root = content_dir or Path(values["CONTENT_DIR"])
    try:
        summary = export(archive, root, _database_url(), Path(values["INSTANCE_DIR"]))
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    said = {
        "archive": summary.archive,
        "files": summary.files,
        "size": _megabytes(summary.content_bytes),
        "rows": _rows(summary.rows),
        "revision": summary.revision,
        "archive_size": _megabytes(summary.archive_bytes),
        "seconds": f"{summary.seconds:.2f}",
    }
    if summary.excluded:
        click.echo(
            _(
                "%(archive)s : %(files)s fichiers (%(size)s), lignes : %(rows)s, révision %(revision)s — archive de %(archive_size)s "
                "en %(seconds)s s ; non inclus : %(excluded)s",
                excluded=", ".join(summary.excluded),
                **said,
            )
        )
    else:
        click.echo(
            _(
                "%(archive)s : %(files)s fichiers (%(size)s), lignes : %(rows)s, révision %(revision)s — archive de %(archive_size)s "
                "en %(seconds)s s",
                **said,
            )
        )


@main.command("import")
@click.argument("archive", metavar="FICHIER", type=click.Path(dir_okay=False, path_type=Path))
@CONTENT_OPTION
def import_command(archive: Path, content_dir: Path | None) -> None:
    """Restaure une archive de « kb export » sur une installation neuve.

    Le dossier de contenu doit être absent ou vide, la base sans compte, demande ni journal ;
    sinon rien n'est changé. L'archive est vérifiée entière (empreintes, nombres de lignes)
    avant que rien ne soit écrit. L'index de recherche est reconstruit ensuite.
    """
    from kb.ops.backup import BackupError, import_archive

    values = _settings()
    root = content_dir or Path(values["CONTENT_DIR"])
    try:
        summary = import_archive(archive, root, _database_url())
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    revision = summary.revision if summary.archive_revision == summary.revision else f"{summary.archive_revision} → {summary.revision}"
    click.echo(
        _(
            "%(archive)s restaurée : %(files)s fichiers (%(size)s) dans %(content)s, lignes : %(rows)s, révision %(revision)s "
            "en %(seconds)s s ; %(index_note)s",
            archive=summary.archive,
            files=summary.files,
            size=_megabytes(summary.content_bytes),
            content=summary.content_dir,
            rows=_rows(summary.rows),
            revision=revision,
            seconds=format(summary.seconds, ".2f"),
            index_note=summary.index_note,
        )
    )


@main.command("import-promises")
@click.argument("file", metavar="FICHIER", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@CONTENT_OPTION
@click.option("--dry-run", is_flag=True, help="Vérifie chaque ligne et dit ce qu'elle ferait, sans rien écrire.")
@click.option("--as", "author_email", metavar="EMAIL", help="Crée une demande d'import au nom de ce compte, envoyée en relecture, au lieu de publier.")
def import_promises(file: Path, content_dir: Path | None, dry_run: bool, author_email: str | None) -> None:
    """Importe un tableur de promesses (CSV, XLSX ou ODS) : mêmes colonnes et mêmes règles que /redaction/import.

    Chaque ligne est vérifiée (statut, suivi, personnes, dates, identifiants en double, citations
    introuvables…). Une seule erreur, et rien n'est écrit : chaque erreur est dite avec sa ligne et
    sa colonne, et la commande sort avec le code 1. Sinon les fichiers sont publiés tous ensemble
    ou aucun, sous le verrou de publication (comme « kb source add ») ; avec --as, ils deviennent
    une demande d'import à relire dans la rédaction.
    """
    from kb.content.spreadsheets import SpreadsheetError, read_table
    from kb.newsroom import workflow
    from kb.newsroom.imports import ImportRefused, read_sheet
    from kb.newsroom.publishing import BatchFile, Publisher, PublishFailed, StaleBase
    from kb.store.accounts import find_user

    started = time.perf_counter()
    values = _settings()
    root = _content_root(content_dir).resolve()
    try:
        data = file.read_bytes()
        if len(data) > int(values["IMPORT_MAX_BYTES"]):
            raise click.ClickException(
                _(
                    "%(file)s : fichier trop gros (%(size)s octets ; IMPORT_MAX_BYTES %(limit)s)",
                    file=file,
                    size=format(len(data), ",").replace(",", " "),
                    limit=format(int(values["IMPORT_MAX_BYTES"]), ",").replace(",", " "),
                )
            )
        table = read_table(file.name, data)
        sessions = _sessions()
        tree = _content_view(values, root, sessions.kw["bind"])
        preview = read_sheet(tree, table)
    except (SpreadsheetError, ImportRefused, ContentError, OSError) as error:
        raise click.ClickException(_("%(file)s : %(error)s ; rien n'a été écrit", file=file, error=error)) from None
    for warning in preview.warnings:
        click.echo(f"{file.name} : {warning}", err=True)
    for row, column, reason in preview.errors:
        if column:
            click.echo(_("%(file)s, ligne %(row)s, colonne %(column)s : %(reason)s", file=file.name, row=row, column=column, reason=reason), err=True)
        else:
            click.echo(_("%(file)s, ligne %(row)s : %(reason)s", file=file.name, row=row, reason=reason), err=True)
    counts = ", ".join(
        (
            _("%(count)s nouvelle(s)", count=preview.count("new")),
            _("%(count)s modifiée(s)", count=preview.count("changed")),
            _("%(count)s inchangée(s)", count=preview.count("unchanged")),
            _("%(count)s refusée(s)", count=preview.count("error")),
        )
    )
    click.echo(
        _(
            "%(file)s : %(rows)s ligne(s) — %(counts)s (%(seconds)s s)",
            file=file.name,
            rows=len(preview.rows),
            counts=counts,
            seconds=format(time.perf_counter() - started, ".1f"),
        )
    )
    if preview.errors:
        click.echo(_("rien n'a été écrit : corrigez les lignes refusées et recommencez"), err=True)
        sys.exit(1)
    if dry_run or not preview.files:
        click.echo(_("rien n'a été écrit (--dry-run)") if dry_run else _("rien n'a été écrit : aucune ligne ne change le contenu"))
        return
    with sessions() as session:
        if author_email:
            author = find_user(session, author_email)
            if author is None:
                raise click.ClickException(_("aucun compte %(email)s ; rien n'a été écrit", email=author_email))
            try:
                change = workflow.propose_batch(session, tree, author, file.name, preview.files, preview.summary(), checked=True)
                workflow.submit(session, tree, change, author)
            except workflow.WorkflowError as error:
                raise click.ClickException(_("%(error)s ; rien n'a été écrit", error=error)) from None
            click.echo(_("demande n° %(number)s envoyée en relecture : %(count)s fiche(s)", number=change.id, count=len(preview.files)))
            return
        publishing = Publisher.from_settings({**values, "CONTENT_DIR": str(root)}, sessions.kw["bind"])
        batch = [BatchFile(item.target, item.text, item.base_sha256, item.base_text, item.change_type, item.summary) for item in preview.files]
        try:
            publishing.publish_batch(session, batch, by=None, summary=preview.summary(), details=f"Publié par « kb import-promises {file.name} ».")
        except StaleBase as stale:
            raise click.ClickException(_("%(target)s a changé pendant l'import ; rien n'a été écrit : recommencez", target=stale.target)) from None
        except PublishFailed as error:
            raise click.ClickException(f"{error}") from None
    click.echo(_("%(count)s fiche(s) publiée(s) ensemble (%(seconds)s s)", count=len(batch), seconds=format(time.perf_counter() - started, ".1f")))


@main.command("suggest")
@click.argument("source_id", metavar="SOURCE")
@click.option("--promise", "promise_id", metavar="ID", help="Les passages pour cette promesse seulement.")
@click.option("--claim", "claim_id", metavar="ID", help="Les passages pour cette vérification seulement.")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="Nombre de passages, en tout.")
@click.option("--json", "as_json", is_flag=True, help="Une liste JSON : target, quote, score, page ; la meilleure d'abord.")
@CONTENT_OPTION
def suggest_passages(source_id: str, promise_id: str | None, claim_id: str | None, limit: int, as_json: bool, content_dir: Path | None) -> None:
    """Les passages d'une source qui pourraient servir de preuve : à chaque promesse ouverte et à chaque vérification.

    Chaque passage est une citation exacte de la source (kb check la vérifie telle quelle) ; ceux
    qu'on a écartés dans la rédaction ne reviennent pas. Rien n'est écrit.
    """
    from kb.search.suggestions import claim_target, open_targets, promise_target, suggest
    from kb.store import dismissals

    if promise_id and claim_id:
        raise click.ClickException(_("--promise ou --claim, pas les deux"))
    values = _settings()
    root = _content_root(content_dir).resolve()
    sessions = _sessions()
    tree = _content_view(values, root, sessions.kw["bind"])
    source = tree.sources.get(source_id)
    if source is None:
        raise click.ClickException(_("source inconnue « %(id)s » (fichier %(path)s)", id=source_id, path=root / "sources" / (source_id + ".md")))
    if promise_id or claim_id:
        item = tree.promises.get(promise_id) if promise_id else tree.claims.get(claim_id)
        if item is None and promise_id:
            raise click.ClickException(_("promesse inconnue « %(id)s »", id=promise_id))
        if item is None:
            raise click.ClickException(_("vérification inconnue « %(id)s »", id=claim_id))
        targets, per_target = [promise_target(item) if promise_id else claim_target(item)], limit
    else:
        targets, per_target = open_targets(tree), 3
    with sessions() as session:
        hidden = dismissals.dismissed(session, source.id)
    found = [s for s in suggest(source.id, source.text, targets, per_target + 2) if (s.target, dismissals.fingerprint(s.quote)) not in hidden]
    kept: dict[str, int] = {}
    shown = []
    for suggestion in found:
        if kept.get(suggestion.target, 0) < per_target:
            kept[suggestion.target] = kept.get(suggestion.target, 0) + 1
            shown.append(suggestion)
    shown = shown[:limit]
    if as_json:
        click.echo(json.dumps([suggestion.as_json() for suggestion in shown], ensure_ascii=False, indent=2))
        return
    if not shown:
        click.echo(_("%(source)s : aucun passage à proposer", source=source.id))
    for suggestion in shown:
        said = {"target": suggestion.target, "score": f"{suggestion.score:.2f}", "quote": suggestion.quote}
        if suggestion.page:
            click.echo(_("%(target)s (%(score)s, page %(page)s) : « %(quote)s »", page=suggestion.page, **said))
        else:
            click.echo(_("%(target)s (%(score)s) : « %(quote)s »", **said))


@main.group()
def i18n() -> None:
    """Les langues de l'interface : le français tel qu'écrit, l'anglais de kb/translations/en."""


@i18n.command("update")
def i18n_update() -> None:
    """Met le catalogue anglais à jour avec les messages du code et des gabarits : les nouveaux y entrent à traduire.

    Traduisez ensuite les entrées vides de kb/translations/en/LC_MESSAGES/messages.po ; les tests
    échouent sur un message absent ou non traduit.
    """
    from kb.config.i18n import update_catalog

    messages, left = update_catalog("en", help_texts())
    click.echo(_("%(messages)s messages, %(left)s à traduire", messages=messages, left=left))


@main.command("notify")
@CONTENT_OPTION
def notify(content_dir: Path | None) -> None:
    """Envoie aux lecteurs qui suivent une fiche par e-mail le résumé de ce qui a changé depuis le précédent.

    Un résumé par adresse : chaque nouveau statut avec sa citation, chaque nouvelle vérification. Jamais deux
    fois le même changement : un résumé est écrit avant d'être envoyé, et une exécution interrompue reprend là
    où elle s'était arrêtée. Les demandes non confirmées depuis 7 jours sont oubliées. À lancer par cron ou un
    timer systemd (docs/operations.md), avec les réglages SMTP_* et SITE_URL.
    """
    from kb.catalog.reader import CatalogView, ItemCache, Vocabularies
    from kb.catalog.update import Catalog
    from kb.config.settings import publish_lock_path
    from kb.content.kinds import KINDS
    from kb.newsroom.follows import NotifyBusy, notify as send_digests
    from kb.newsroom.mailer import Mailer

    values = _settings()
    mailer = Mailer.from_settings(values)
    if mailer is None:
        raise click.ClickException(_("aucun serveur d'e-mail n'est réglé (SMTP_HOST) : rien n'est envoyé"))
    root = _content_root(content_dir).resolve()
    sessions = _sessions()
    engine = sessions.kw["bind"]
    catalog = Catalog(engine, root, publish_lock_path(values), KINDS)
    if catalog.ready():
        catalog.scan()  # edits by hand since the servers last looked
    else:
        catalog.rebuild()
    view = CatalogView(engine, root, KINDS, Vocabularies(root), ItemCache())
    with sessions() as session:
        try:
            run = send_digests(session, view, mailer, values.get("SITE_URL"), Path(values["INSTANCE_DIR"]) / "notify.lock")
        except NotifyBusy as busy:
            click.echo(str(busy))
            return
    click.echo(_("%(composed)s résumé(s) préparé(s), %(sent)s envoyé(s)", composed=run.composed, sent=run.sent))
    if run.uncertain:
        click.echo(_("%(count)s résumé(s) laissé(s) par une exécution interrompue : peut-être déjà partis, pas renvoyés", count=run.uncertain))
    if run.failed:
        raise click.ClickException(
            _(
                "%(count)s résumé(s) non envoyé(s) (%(host)s:%(port)s) : ils repartiront au prochain passage",
                count=run.failed,
                host=mailer.host,
                port=mailer.port,
            )
        )


@main.command("contradictions")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="Nombre de pistes.")
@click.option("--json", "as_json", is_flag=True, help="Une liste JSON : subject, score, a et b (source, quote, value) ; la meilleure d'abord.")
@CONTENT_OPTION
def contradictions(limit: int, as_json: bool, content_dir: Path | None) -> None:
    """Les chiffres des sources qui semblent compter la même chose avec deux valeurs : des pistes de vérification.

    Chaque chiffre est cité mot pour mot avec sa phrase (« 85 communes » en 2012, « 90 communes » en
    2019). kb propose, ne conclut pas. Rien n'est écrit.
    """
    from kb.search.figures import contradictions as find_leads

    values = _settings()
    root = _content_root(content_dir).resolve()
    tree = _content_view(values, root, _sessions().kw["bind"])
    found = find_leads(list(tree.sources.values()), limit)
    if as_json:
        click.echo(json.dumps([lead.as_json() for lead in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo(_("aucune piste : les chiffres des sources ne se contredisent pas, ou ne disent pas ce qu'ils comptent"))
    for lead in found:
        click.echo(f"{lead.score:.2f} {lead.subject} : {lead.a.written} ({lead.a.source}) / {lead.b.written} ({lead.b.source})")


def _content_view(values: dict, root: Path, engine):
    """The content as a command checks a proposal against it: the catalog the servers keep (brought up to
    date with the files first), or, without one, the whole tree read into memory (40 s at 10,000 promises)."""
    from kb.catalog.reader import CatalogView, ItemCache, Vocabularies
    from kb.catalog.update import Catalog
    from kb.config.settings import publish_lock_path
    from kb.content.kinds import KINDS
    from kb.content.tree import read_tree

    catalog = Catalog(engine, root, publish_lock_path(values), KINDS)
    if not catalog.ready():
        return read_tree(root)
    catalog.scan()  # edits by hand since the servers last looked
    return CatalogView(engine, root, KINDS, Vocabularies(root), ItemCache())


# -- the help of every command, in the language of the moment ----------------------------------------


def _helped(command: click.Command = main, path: str = "kb"):
    """(where, the object holding a help text, its text) for every command, group and option of `kb`."""
    import inspect

    if command.help:
        yield path, command, inspect.cleandoc(str(command.help)).partition("\f")[0]
    for param in command.params:
        if getattr(param, "help", None):
            yield f"{path} {param.name}", param, inspect.cleandoc(str(param.help))
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _helped(sub, f"{path} {name}")


def help_texts() -> list[tuple[str, tuple[str, int]]]:
    """Every help text of `kb` as written (French), for the catalog (`kb i18n update`; tests check each is translated)."""
    return [(text, (f"kb/ops/cli.py ({where})", 0)) for where, _holder, text in _WRITTEN_HELP]


# Docstrings and help= are written in French, read once here; each run of `kb` looks them up in the
# catalog and puts them where click prints them (_Speaking).
_WRITTEN_HELP = list(_helped())
_HELP = [(holder, text) for _where, holder, text in _WRITTEN_HELP]
