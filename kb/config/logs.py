"""kb's log lines: one JSON object per line for log collectors, or one readable line for people.

Every logger under `kb` (the web app's own logger included) writes through one handler on
stderr. A line names its `event` ("request", "state_change"…, "log" for plain messages) and
carries that event's fields, passed as `extra={"event": "request", "fields": {...}}`. Fields
bound with `bind()` (the request id, during a request) are added to every line of that context.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

NAMESPACE = "kb"
FORMATS = ("text", "json")
# The keys every JSON line has; an event's own fields never replace them.
STANDARD_KEYS = ("time", "level", "logger", "event", "message")
_HANDLER_NAME = "kb.logs"
_context: ContextVar[dict[str, Any] | None] = ContextVar("kb_log_context", default=None)


def bind(**fields: Any) -> None:
    """Add these fields to every line logged from now on in this context (thread, request)."""
    _context.set({**(_context.get() or {}), **fields})


def unbind() -> None:
    """Forget the fields bound in this context."""
    _context.set(None)


def line_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The line as a mapping: the standard keys, the bound fields, the event's fields, the exception."""
    line: dict[str, Any] = {
        "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": record.levelname,
        "logger": record.name,
        "event": getattr(record, "event", None) or "log",
        "message": record.getMessage(),
    }
    own = getattr(record, "fields", None)
    for extra in (_context.get() or {}, own if isinstance(own, dict) else {}):
        for key, value in extra.items():
            if key not in STANDARD_KEYS:
                line[key] = value
    return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a traceback is the `exception` string field."""

    def format(self, record: logging.LogRecord) -> str:
        line = line_fields(record)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message key=value…` on one line (a traceback follows on its own lines)."""

    def format(self, record: logging.LogRecord) -> str:
        line = line_fields(record)
        head = f"{line['time']} {line['level']} {line['logger']}: {line['message']}"
        extra = " ".join(f"{key}={_text_value(value)}" for key, value in line.items() if key not in STANDARD_KEYS)
        text = f"{head}  {extra}" if extra else head
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return text


def _text_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return json.dumps(text, ensure_ascii=False) if not text or any(ch.isspace() or ch == '"' for ch in text) else text


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of the line (test runners swap it)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass

    def handle(self, record: logging.LogRecord) -> bool:
        # Formatted before the lock, written under it: the threads of a busy worker each log a line
        # per request, and formatting JSON under the one lock made them queue for it.
        if not self.filter(record):
            return False
        try:
            text = self.format(record) + self.terminator
        except RecursionError:  # as logging.StreamHandler.emit: not a line's fault
            raise
        except Exception:  # noqa: BLE001 — as logging.StreamHandler.emit: a bad line must not fail the request
            self.handleError(record)
            return True
        with self.lock:
            try:
                stream = self.stream
                stream.write(text)
                stream.flush()
            except RecursionError:
                raise
            except Exception:  # noqa: BLE001
                self.handleError(record)
        return True


def parse_level(level: str | int) -> int:
    """A level name ("INFO", "debug") or number as logging's number; a ValueError for anything else."""
    if isinstance(level, int):
        return level
    number = logging.getLevelName(str(level).strip().upper())
    if not isinstance(number, int):
        raise ValueError(f"LOG_LEVEL inconnu : {level!r} (DEBUG, INFO, WARNING, ERROR ou CRITICAL)")
    return number


def configure(fmt: str = "text", level: str | int = "INFO") -> logging.Handler:
    """Send the `kb` loggers' lines to stderr in `fmt` ("text" or "json") from `level` up.

    Idempotent: called again (each create_app does), it updates the one handler it attached.
    Lines still reach the root logger's handlers (pytest's caplog among them).
    """
    if fmt not in FORMATS:
        raise ValueError(f"LOG_FORMAT inconnu : {fmt!r} (text ou json)")
    logger = logging.getLogger(NAMESPACE)
    handler = next((handler for handler in logger.handlers if handler.name == _HANDLER_NAME), None)
    if handler is None:
        handler = _StderrHandler()
        handler.name = _HANDLER_NAME
        logger.addHandler(handler)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger.setLevel(parse_level(level))
    return handler
