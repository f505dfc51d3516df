"""`kb serve --production`: gunicorn, several processes with threads, on the production settings.

Everything that can be refused is refused here, in the master, before any worker starts: unfit
settings (the development secret key), a database behind the code (run `kb db upgrade`), an
address another server listens on already. Here too, once: publications a killed server left half
done are finished, and the search index is brought up to date, so the workers find it ready.
"""

from __future__ import annotations

import errno
import multiprocessing
import socket
import threading
import weakref
from pathlib import Path
from typing import Any, Callable

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication

from kb.catalog.update import Catalog
from kb.config import settings
from kb.config.i18n import gettext as _
from kb.config.settings import publish_lock_path
from kb.newsroom.publishing import Publisher
from kb.newsroom.workflow import finish_interrupted
from kb.ops import collector, scanner
from kb.search.index import SearchIndex
from kb.store.db import first_line, make_engine, open_database, safe_url
from kb.store.schema import SchemaOutdated, SchemaTooNew, known_revisions, state


class RefusedToStart(RuntimeError):
    """The production server would not be safe or would not work with these settings."""


def production_settings(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings with PRODUCTION on, checked; RefusedToStart says everything that is wrong at once."""
    try:
        values = settings.load()
        values.update(overrides or {})
        values["PRODUCTION"] = True
        settings.finish(values)
    except settings.SettingsError as error:
        raise RefusedToStart(str(error)) from None
    problems = settings.production_problems(values, secret_is_generated=not values.get("SECRET_KEY"))
    if (taken := _bind_taken(str(values["BIND"]))) is not None:
        problems.append(taken)
    url = values["DATABASE_URL"]
    engine = make_engine(url)
    try:
        revision, head = state(engine)
        if revision is not None and revision not in known_revisions():
            problems.append(
                _(
                    "la base %(url)s a été migrée par un kb plus récent (révision %(revision)s, ce code : %(head)s) : mettez kb à jour",
                    url=safe_url(url),
                    revision=revision,
                    head=head,
                )
            )
        elif revision is None:
            problems.append(_("la base %(url)s est à la révision vide, ce code attend %(head)s : lancez « kb db upgrade »", url=safe_url(url), head=head))
        elif revision != head:
            problems.append(
                _(
                    "la base %(url)s est à la révision %(revision)s, ce code attend %(head)s : lancez « kb db upgrade »",
                    url=safe_url(url),
                    revision=revision,
                    head=head,
                )
            )
    except (SchemaOutdated, SchemaTooNew) as error:
        problems.append(str(error))
    except Exception as error:  # noqa: BLE001 — unreachable server, bad credentials…: said, not a traceback
        problems.append(_("base de données %(url)s injoignable : %(error)s", url=safe_url(url), error=first_line(error)))
    finally:
        engine.dispose()
    if problems:
        raise RefusedToStart(_("refus de démarrer en production :\n- %(problems)s", problems="\n- ".join(problems)))
    return values


def _bind_taken(bind: str) -> str | None:
    """Why the workers could not listen on BIND, if they could not.

    Each worker listens on a socket of its own (SO_REUSEPORT, gunicorn_options): a second kb left
    running on the same address the same way would not fail to start, it would silently take its
    share of the connections. A plain socket cannot bind where anything listens, so it tells. The
    address is read as gunicorn reads it (IPv4 for any host but an IPv6 literal).
    """
    address = gunicorn_util.parse_address(bind)
    if not isinstance(address, tuple):
        return None  # unix:PATH, fd://N: gunicorn's to check
    host, port = address
    if port == 0:
        return _("BIND %(bind)s : le port 0 donnerait à chaque processus un port différent ; choisissez un port", bind=bind)
    family = socket.AF_INET6 if gunicorn_util.is_ipv6(host) else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn: closed connections do not count
            probe.bind((host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return _("BIND %(bind)s : un autre serveur y écoute déjà (arrêtez-le ou choisissez une autre adresse)", bind=bind)
        return _("BIND %(bind)s : impossible d'y écouter (%(error)s)", bind=bind, error=first_line(error))
    return None


def finish_interrupted_publications(values: dict[str, Any]) -> list[int]:
    """Finish the publications a killed process left written but unrecorded (see workflow.finish_interrupted)."""
    url = values["DATABASE_URL"]
    sessions = open_database(url, upgrade=not values.get("PRODUCTION"))
    engine = sessions.kw["bind"]
    publisher = Publisher.from_settings(values, engine)
    try:
        with sessions() as session:
            return finish_interrupted(session, publisher)
    finally:
        engine.dispose()


def prepare_index(values: dict[str, Any]) -> Any:
    """Build the catalog if it is missing, then build or catch up this machine's index, before the workers start.

    The workers then find both ready: none of them reads the whole tree. Done in a child process:
    the workers are forked from this one, and would each start with the memory a build of 10,000
    files leaves behind (Python keeps its heap), 400 MB and more of resident pages each.
    """
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_prepare_in_child, args=(values, sending), name="kb-prepare-index")
    child.start()
    sending.close()
    try:
        outcome, value = receiving.recv()
    except EOFError:
        outcome, value = "error", RuntimeError(_("la préparation du catalogue et de l'index s'est arrêtée (code %(code)s)", code=child.exitcode))
    child.join()
    if outcome == "error":
        raise value
    return value


def _prepare_in_child(values: dict[str, Any], sending) -> None:
    try:
        sending.send(("ok", _prepare(values)))
    except BaseException as error:  # noqa: BLE001 — told to the parent, which raises it
        try:
            sending.send(("error", error))
        except Exception:  # noqa: BLE001 — an error that cannot be pickled: its message
            sending.send(("error", RuntimeError(f"{type(error).__name__}: {error}")))
    finally:
        sending.close()


def _prepare(values: dict[str, Any]) -> Any:
    engine = make_engine(values["DATABASE_URL"])
    try:
        catalog = Catalog(engine, Path(values["CONTENT_DIR"]), publish_lock_path(values))
        if not catalog.ensure():
            catalog.scan()  # edits made while the server was down, before any worker reads the catalog
    finally:
        engine.dispose()
    return SearchIndex(Path(values["INDEX_DIR"]), Path(values["CONTENT_DIR"])).sync()


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any], load: Callable):
        self.options = options
        self._load = load
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # control_socket_disable is gunicorn 23's
                self.cfg.set(key, value)

    def load(self):
        return self._load()


def gunicorn_options(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "bind": values["BIND"],
        "workers": values["WORKERS"],
        "worker_class": "gthread",
        "threads": values["THREADS"],
        # Each worker listens on a socket of its own (SO_REUSEPORT), and the kernel spreads new
        # connections evenly over them. On one shared socket, the process awake first took each
        # connection: the few kept-alive connections of a proxy or a load test could all land in one
        # process while the others idled. Under `kb bench-live` all 32 of wrk's connections were once
        # served by one of two processes: 881 requests/s instead of 2,243. The price: a worker stuck
        # until TIMEOUT still gets its share of new connections, reset when it is killed
        # (docs/operations.md).
        "reuse_port": True,
        "timeout": values["TIMEOUT"],
        "graceful_timeout": 30,
        # kb logs each request itself (structured, with its request id): no second access log.
        "accesslog": None,
        "errorlog": "-",
        "loglevel": str(values["LOG_LEVEL"]).lower(),
        "proc_name": "kb",
        # Each worker opens its own database connections and index; nothing is shared by fork.
        "preload_app": False,
        # gunicorn's control socket sits in $HOME: two kb servers on one machine would share it.
        "control_socket_disable": True,
        # Each worker, once warm, keeps its long-lived objects out of the collector's full passes.
        "post_worker_init": _worker_ready,
        "pre_request": _ConnectionTurns(values["KEEPALIVE_REQUESTS"]),
    }


class _ConnectionTurns:
    """Close a kept-alive connection after `limit` requests (0: never), as nginx's keepalive_requests does.

    A gthread worker keeps every connection it accepted until the client closes it. Before each
    worker had a socket of its own, a proxy keeping a few connections alive could have all of them
    served by one process while the others idled (under `kb bench-live` on PostgreSQL one of five
    workers answered 40,526 requests, the other four 200 to 400 each). Connections are now spread
    when they are opened; this limit also spreads them again over time, for a proxy that keeps very
    few. Off by default: on SQLite the same limit cost a third of the throughput.
    """

    def __init__(self, limit: int):
        self.limit = limit
        # Requests answered so far, by connection (a connection's requests share its socket reader).
        self._answered: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, worker, request) -> None:
        if not self.limit:
            return
        with self._lock:
            answered = self._answered[request.unreader] = self._answered.get(request.unreader, 0) + 1
        if answered >= self.limit:
            request.force_close()  # answered with "Connection: close"


def _worker_ready(worker) -> None:
    collector.start()


def run(values: dict[str, Any]) -> None:
    """Serve until stopped (SIGTERM/SIGINT: workers finish their requests first)."""

    # One process scans the files for hand edits and indexes them, beside the workers (kb.ops.scanner).
    scanning = scanner.start(values) if float(values["CONTENT_RECHECK_SECONDS"]) > 0 else None

    def load():
        from kb.web import create_app

        overrides = {"CONTENT_SCANNER": "process" if scanning else "workers"}
        return create_app({"PRODUCTION": True, **{name: values[name] for name in settings.BY_NAME}, **overrides})

    try:
        _Gunicorn(gunicorn_options(values), load).run()
    finally:
        if scanning is not None:
            scanner.stop(scanning)
