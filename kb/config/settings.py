"""Every setting of kb, declared once: name, default, type and meaning.

A setting comes, from lowest to highest precedence, from its default here, the instance
config file (`INSTANCE_DIR/kb.toml`, or the file `KB_CONFIG` names), then the environment
(`KB_<NAME>`; `DATABASE_URL` also without the prefix). docs/settings.md documents this table and
a test keeps the two in step, so a setting cannot exist without its documentation.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from kb.config import i18n
from kb.config.i18n import gettext as _
from kb.config.paths import default_content_dir, default_instance_dir

CONFIG_FILE = "kb.toml"
PREFIX = "KB_"


class SettingsError(ValueError):
    """A setting that cannot be used, said for the person who set it (where, which, why)."""


class _Expected(ValueError):
    """A value `_convert` refuses, the message saying what it expected."""


@dataclass(frozen=True)
class Setting:
    name: str
    value_type: str  # "str", "path", "int", "float", "bool"
    default: Any
    meaning: str
    shown_default: str | None = None  # the default as the documentation says it, when computed
    minimum: int = 0  # numbers only


def _cpus() -> int:
    return os.cpu_count() or 1


def default_workers() -> int:
    """One process per processor, two at least (one restarting leaves another).

    Not gunicorn's 2 × processors + 1, which suits processes that wait on I/O: each kb process
    does its own share of every publication (its lists, its searcher, the pages it draws), so
    more processes than processors multiply that work on cores already busy serving. Under
    `kb bench-live` on 2 processors, 5 processes × 4 threads answered at p99 300–500 ms while the
    newsroom published; 2 × 8, 160–180 ms on SQLite, 235–253 on PostgreSQL (docs/operations.md).
    """
    return max(2, _cpus())


SETTINGS: tuple[Setting, ...] = (
    Setting("CONTENT_DIR", "path", None, "the content tree (promises/, sources/, claims/)", "./content"),
    Setting("INSTANCE_DIR", "path", None, "this installation's own files: embedded database, index, secret key, kb.toml", "./instance"),
    Setting("INDEX_DIR", "path", None, "the search index of this machine (derived, rebuilt at will)", "INSTANCE_DIR/index"),
    Setting("DATABASE_URL", "str", None, "the workflow database, an SQLAlchemy URL (postgresql://user:password@host/name for several servers)", "sqlite:///INSTANCE_DIR/kb.sqlite3"),
    Setting("SECRET_KEY", "str", None, "signs session cookies; the same on every server; required in production (32 characters or more)", "random, kept in INSTANCE_DIR/secret_key (development only)"),
    Setting("SECURE_COOKIES", "bool", False, "cookies travel only over HTTPS (set when served over HTTPS)"),
    Setting("PROXY_HOPS", "int", 0, "how many reverse proxies stand in front of kb: their X-Forwarded-For/-Proto/-Host headers are trusted (client address for the login throttle, https links)"),
    Setting("MAX_UPLOAD_BYTES", "int", 20 * 1024 * 1024, "largest source upload (and pasted text) in bytes", "20971520 (20 MiB)"),
    Setting("EXTRACT_SECONDS", "float", 120.0, "time allowed to read one uploaded document, OCR of its scanned pages included; past it the upload is refused", minimum=1),
    Setting("EXTRACT_MEMORY_MB", "int", 1024, "memory allowed to each process reading one uploaded document (kb's reader, and each page's pdftoppm and tesseract)", minimum=128),
    Setting("EXTRACT_MAX_PAGES", "int", 500, "most pages an uploaded document may have", minimum=1),
    Setting("EXTRACT_OCR_PAGES", "int", 30, "most scanned pages (without a text layer) read by OCR in one upload", minimum=0),
    Setting("IMPORT_MAX_BYTES", "int", 4 * 1024 * 1024, "largest spreadsheet the newsroom imports (CSV, XLSX, ODS) in bytes; 2,000 rows at most whatever its size", "4194304 (4 MiB)", minimum=1024),
    Setting("PUBLISH_GIT_COMMIT", "bool", True, "commit each publication when the content directory is a git repository"),
    Setting("STATIC_BUILD_DIR", "path", None, "a `kb build` output re-rendered after each publication", "none"),
    Setting("STATIC_BUILD_BASE_URL", "str", None, "its --base-url", "http://127.0.0.1:5000/"),
    Setting("STATIC_BUILD_LIVE_URL", "str", None, "its --live-url", "none"),
    Setting("SITE_NAME", "str", "kb", "who publishes: the name in every page's header, the author of the feeds and of the fact-checks' ClaimReview metadata"),
    Setting("SITE_TAGLINE", "str", "promesses et vérifications", "the words beside the name in the header"),
    Setting("SITE_LOGO", "path", None, "a logo shown before the name in the header (PNG, SVG, JPEG or WebP, 512 KB at most)", "none"),
    Setting("SITE_COLOR", "str", "#0b5cad", "the accent colour of links and buttons, `#rrggbb` (checked for contrast on white: 4.5:1 at least)"),
    Setting("FOOTER_LINKS", "str", None, "links at the foot of every page, `Label <address>` separated by `;` (`Mentions légales <https://…>; Nous écrire <mailto:…>`); the pages of content/pages/ are listed there too", "none"),
    Setting("CONTACT_EMAIL", "str", None, "where readers report an error (the « Signaler une erreur » link of promise and fact-check pages, the footer)", "none"),
    Setting("TIME_ZONE", "str", "Europe/Paris", "the time zone of every date and time shown (the database keeps UTC)"),
    Setting("STALE_MONTHS", "int", 6, "the newsroom's worklist lists promises in progress not updated for this many months", minimum=1),
    Setting("SMTP_HOST", "str", None, "the mail server of the newsroom's notifications (editors: a request awaits review; authors: theirs was reviewed) and of readers following by e-mail; not set: no mail (and no « Suivre par e-mail »), said at start", "none"),
    Setting("SMTP_PORT", "int", None, "its port", "587 (465 with `ssl`, 25 with `none`)", minimum=1),
    Setting("SMTP_TLS", "str", "starttls", "`starttls`, `ssl` or `none`"),
    Setting("SMTP_USER", "str", None, "its login, when it asks for one", "none"),
    Setting("SMTP_PASSWORD", "str", None, "its password", "none"),
    Setting("MAIL_FROM", "str", None, "the sender of the newsroom's mail", "kb@SMTP_HOST"),
    Setting("LANGUAGE", "str", "fr", "the language of `kb`'s command messages: `fr` or `en` (the site answers each reader in theirs: `?lang=`, then a cookie, then the browser's language)"),
    Setting("SITE_URL", "str", None, "the public site's address (`https://promesses.example.org`): the links of the digests `kb notify` sends to readers who follow by e-mail", "the address each reader used to follow"),
    Setting("CONTENT_RECHECK_SECONDS", "float", 1.0, "how often the machine looks for files changed on disk (one process at a time: sizes and times, then hashes of what moved) to refresh the catalog; 0: at the start of every request"),
    Setting("CONTENT_SCANNER", "str", "workers", "who looks for those files: `workers` (the server's processes take turns) or `process` (a process of its own, which also indexes them; set by `kb serve --production`, which starts it — without one, the workers take over after five periods)"),
    Setting("INDEX_SYNC_SECONDS", "float", 0.0, "how often, at most, searches also compare every file's hash with the index; 0: never (the catalog's change log brings publications and edits by hand or by git)"),
    Setting("PREDRAW_PAGES", "int", 100, "under `kb serve --production`, how many of the pages a change makes stale that readers had asked for the scanner process draws again at once, so that the workers serving requests need not (0: the workers draw them when asked)", minimum=0),
    Setting("PREDRAW_LEAST_MS", "float", 20.0, "of those pages, the ones whose drawing takes less processor time than this many milliseconds are left to the worker asked for them: it draws one in a few milliseconds, while the scanner process, drawing the others one by one, would have it given stale until it reaches it", minimum=0),
    Setting("PUBLICATION_POLL_SECONDS", "float", 0.25, "how often, at most, each process reads the catalog's change log (at the start of a request) to index and show what other processes and servers changed"),
    Setting("LOG_FORMAT", "str", None, "`json` (one object per line) or `text`", "`json` in production, else `text`"),
    Setting("LOG_LEVEL", "str", "INFO", "DEBUG, INFO, WARNING or ERROR"),
    Setting("PRODUCTION", "bool", False, "refuse to start with development settings (set by `kb serve --production`)"),
    Setting("HOST", "str", "127.0.0.1", "where `kb serve` (development) listens; `kb user demo` prints its address"),
    Setting("PORT", "int", 5000, "the port of `kb serve` (development); `kb user demo` prints its address", minimum=1),
    Setting("BIND", "str", "127.0.0.1:8000", "where `kb serve --production` listens (host:port)"),
    Setting("WORKERS", "int", None, "processes of `kb serve --production`", "processors (2 at least)", minimum=1),
    Setting("THREADS", "int", 8, "threads per process of `kb serve --production`", minimum=1),
    Setting("TIMEOUT", "int", 60, "seconds before `kb serve --production` restarts a stuck worker", minimum=1),
    Setting("KEEPALIVE_REQUESTS", "int", 0, "requests `kb serve --production` answers on one kept-alive connection before closing it, so that a proxy keeping a few connections alive has them spread over the processes; 0: no limit", minimum=0),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}

_TRUE = {"1", "true", "yes", "on", "oui", "vrai"}
_FALSE = {"0", "false", "no", "off", "non", "faux", ""}


def _convert(setting: Setting, value: Any, where: str) -> Any:
    """`value` as the setting's type; a SettingsError naming `where` it came from."""
    if value is None:
        return None
    try:
        if setting.value_type == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise _Expected(_("attendu true ou false"))
        if setting.value_type == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise _Expected(_("attendu un nombre entier"))
            number = int(str(value).strip()) if isinstance(value, str) else int(value)
            if number < setting.minimum:
                raise _Expected(_("attendu un nombre entier d'au moins %(minimum)s", minimum=setting.minimum) if setting.minimum else _("attendu un nombre positif"))
            return number
        if setting.value_type == "float":
            if isinstance(value, bool):
                raise _Expected(_("attendu un nombre"))
            number = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)
            if number < 0 or number != number:
                raise _Expected(_("attendu un nombre positif"))
            return number
        if not isinstance(value, (str, Path)):
            raise _Expected(_("attendu du texte"))
        text = str(value)
        if setting.value_type == "path":
            return str(Path(text).expanduser().resolve()) if text else None
        return text or None
    except _Expected as error:
        message = str(error)
    except (TypeError, ValueError):
        message = _expected(setting.value_type)
    raise SettingsError(_("%(where)s : %(name)s = %(value)s : %(reason)s", where=where, name=setting.name, value=repr(value), reason=message))


def _expected(value_type: str) -> str:
    """What a setting of this type must be, for people."""
    return {
        "int": _("attendu un nombre entier"),
        "float": _("attendu un nombre"),
        "bool": _("attendu true ou false"),
        "str": _("attendu du texte"),
        "path": _("attendu un chemin"),
    }[value_type]


def _closest(name: str) -> str | None:
    close = difflib.get_close_matches(name.upper(), BY_NAME, n=1)
    return close[0] if close else None


def config_file(environ: Mapping[str, str], instance_dir: Path) -> Path:
    return Path(environ.get("KB_CONFIG") or instance_dir / CONFIG_FILE)


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings of an instance config file (TOML: `NAME = value`); {} when there is none."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise SettingsError(_("%(path)s : illisible (%(error)s)", path=path, error=error.strerror or error)) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SettingsError(_("%(path)s : le fichier n'est pas en UTF-8", path=path)) from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(_("%(path)s : TOML invalide : %(error)s", path=path, error=error)) from None
    values = {}
    for key, value in data.items():
        name = key.upper()
        if name not in BY_NAME:
            close = _closest(key)
            if close:
                raise SettingsError(_("%(path)s : réglage inconnu « %(key)s » (vouliez-vous dire %(close)s ?)", path=path, key=key, close=close))
            raise SettingsError(_("%(path)s : réglage inconnu « %(key)s »", path=path, key=key))
        if isinstance(value, (dict, list)):
            raise SettingsError(_("%(path)s : %(key)s : attendu une valeur simple, pas une table ou une liste", path=path, key=key))
        values[name] = _convert(BY_NAME[name], value, str(path))
    return values


def load(environ: Mapping[str, str] | None = None, instance_dir: str | Path | None = None) -> dict[str, Any]:
    """Every setting's value: defaults, then the instance config file, then the environment.

    `instance_dir`: the instance directory when the caller already chose it (its kb.toml is read).
    """
    environ = os.environ if environ is None else environ
    values = {setting.name: setting.default for setting in SETTINGS}
    from_environment = {}
    for setting in SETTINGS:
        for variable in (PREFIX + setting.name, *(("DATABASE_URL",) if setting.name == "DATABASE_URL" else ())):
            if environ.get(variable):
                from_environment[setting.name] = _convert(setting, environ[variable], _("variable d'environnement %(name)s", name=variable))
                break
    if instance_dir is not None:
        from_environment["INSTANCE_DIR"] = str(Path(instance_dir).resolve())
    instance = Path(from_environment.get("INSTANCE_DIR") or default_instance_dir())
    values.update(read_config_file(config_file(environ, instance)))
    values.update(from_environment)
    values["CONTENT_DIR"] = values["CONTENT_DIR"] or str(default_content_dir())
    values["INSTANCE_DIR"] = values["INSTANCE_DIR"] or str(default_instance_dir())
    return values


def finish(values: dict[str, Any]) -> dict[str, Any]:
    """Fill in the defaults that depend on other settings (after any override)."""
    values["INDEX_DIR"] = values.get("INDEX_DIR") or str(Path(values["INSTANCE_DIR"]) / "index")
    values["DATABASE_URL"] = values.get("DATABASE_URL") or f"sqlite:///{Path(values['INSTANCE_DIR']) / 'kb.sqlite3'}"
    values["LOG_FORMAT"] = values.get("LOG_FORMAT") or ("json" if values.get("PRODUCTION") else "text")
    if values["LOG_FORMAT"] not in ("json", "text"):
        raise SettingsError(_("LOG_FORMAT = %(value)s : attendu json ou text", value=repr(values["LOG_FORMAT"])))
    if str(values.get("LOG_LEVEL") or "INFO").upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(_("LOG_LEVEL = %(value)s : attendu DEBUG, INFO, WARNING ou ERROR", value=repr(values["LOG_LEVEL"])))
    values["WORKERS"] = values.get("WORKERS") or default_workers()
    _check_identity(values)
    return values


COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
MAX_LOGO_BYTES = 512 * 1024


def footer_links(text: str | None) -> list[tuple[str, str]]:
    """FOOTER_LINKS as (label, address) pairs; a SettingsError for a pair that is not one."""
    links = []
    for part in (text or "").split(";"):
        if not part.strip():
            continue
        found = re.fullmatch(r"\s*(?P<label>[^<>]+?)\s*<(?P<address>(?:https?://|mailto:|/)[^\s<>]+)>\s*", part)
        if found is None:
            raise SettingsError(_("FOOTER_LINKS : « %(link)s » : attendu « Libellé <adresse> » (https://…, mailto:… ou /chemin)", link=part.strip()))
        links.append((found["label"], found["address"]))
    return links


def _contrast(color: str) -> float:
    """The contrast ratio of a colour against white (WCAG's formula)."""
    channels = [int(color[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def _check_identity(values: dict[str, Any]) -> None:
    """The newsroom's identity settings hold what pages need: a real colour, zone, logo, links."""
    import zoneinfo

    color = values.get("SITE_COLOR") or "#0b5cad"
    if not COLOR.match(color):
        raise SettingsError(_("SITE_COLOR = %(value)s : attendu une couleur #rrggbb, par exemple #0b5cad", value=repr(color)))
    if _contrast(color) < 4.5:
        raise SettingsError(_("SITE_COLOR = %(value)s : trop clair sur fond blanc (contraste %(contrast)s:1, 4.5:1 au moins)", value=repr(color), contrast=format(_contrast(color), ".1f")))
    try:
        zoneinfo.ZoneInfo(values.get("TIME_ZONE") or "Europe/Paris")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(_("TIME_ZONE = %(value)s : fuseau inconnu (par exemple Europe/Paris, America/Montreal)", value=repr(values.get("TIME_ZONE")))) from None
    logo = values.get("SITE_LOGO")
    if logo:
        path = Path(logo)
        if path.suffix.lower() not in LOGO_TYPES:
            raise SettingsError(_("SITE_LOGO = %(path)s : attendu une image %(types)s", path=logo, types=", ".join(LOGO_TYPES)))
        if not path.is_file():
            raise SettingsError(_("SITE_LOGO = %(path)s : fichier introuvable", path=logo))
        if path.stat().st_size > MAX_LOGO_BYTES:
            raise SettingsError(_("SITE_LOGO = %(path)s : trop lourd (%(size)s Kio ; %(limit)s Kio au plus)", path=logo, size=path.stat().st_size // 1024, limit=MAX_LOGO_BYTES // 1024))
    footer_links(values.get("FOOTER_LINKS"))
    if (values.get("LANGUAGE") or "fr") not in i18n.LANGUAGES:
        raise SettingsError(_("LANGUAGE = %(value)s : attendu %(known)s", value=repr(values["LANGUAGE"]), known=", ".join(i18n.LANGUAGES)))
    if (values.get("SMTP_TLS") or "starttls") not in ("starttls", "ssl", "none"):
        raise SettingsError(_("SMTP_TLS = %(value)s : attendu starttls, ssl ou none", value=repr(values["SMTP_TLS"])))
    sender = values.get("MAIL_FROM")
    if sender and not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", sender):
        raise SettingsError(_("MAIL_FROM = %(value)s : attendu une adresse e-mail", value=repr(sender)))


def publish_lock_path(values: Mapping[str, Any]) -> Path:
    """The file every publication of this machine locks (with SQLite; PostgreSQL locks in the database)."""
    return Path(values["INSTANCE_DIR"]) / "publish.lock"


MIN_SECRET_LENGTH = 32
# The docs write a value to fill in with an ellipsis ("…64 caractères hexadécimaux…"): long
# enough to pass the length check when copied as it is, never part of a generated key.
PLACEHOLDER_MARK = "…"


def production_problems(values: Mapping[str, Any], secret_is_generated: bool) -> list[str]:
    """Why these settings are unfit to serve in production ([] when they are fit)."""
    problems = []
    secret = values.get("SECRET_KEY") or ""
    if secret_is_generated or not secret:
        problems.append(
            _(
                "KB_SECRET_KEY n'est pas réglé : la clé de développement (INSTANCE_DIR/secret_key) ne signe pas de "
                "sessions en production ; réglez la même clé aléatoire sur chaque serveur, par exemple "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`"
            )
        )
    elif PLACEHOLDER_MARK in secret:
        problems.append(_("KB_SECRET_KEY est l'exemple de la documentation : remplacez-le par une clé aléatoire"))
    elif len(secret) < MIN_SECRET_LENGTH or len(set(secret)) < 8:
        problems.append(_("KB_SECRET_KEY est trop faible : %(minimum)s caractères aléatoires au moins", minimum=MIN_SECRET_LENGTH))
    return problems

