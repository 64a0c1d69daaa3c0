"""Structured logging: one JSON object per line, never a property value.

Callers pass only names, ids, templates and counts; request lines carry the route template,
not the raw path, because raw paths and query strings can hold values (``idProperty`` lookups).
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType
from typing import Any

import orjson


class JsonFormatter(logging.Formatter):
    # The time is to the second: formatted once a second, not per line (localtime and
    # strftime were a tenth of a request line). One tuple, so threads never see a torn pair.
    _stamp: tuple[int, str] = (-1, "")

    def _time(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        held = self._stamp
        if held[0] != second:
            held = self._stamp = (second, self.formatTime(record, "%Y-%m-%dT%H:%M:%S"))
        return held[1]

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            # The type and where it was raised only: an exception's text, a traceback's source
            # lines and a frame's locals may all quote a value.
            entry["exception"] = record.exc_info[0].__name__
            entry["where"] = _where(record.exc_info[2])
        return orjson.dumps(entry).decode()


def _where(tb: TracebackType | None) -> list[str]:
    frames = traceback.extract_tb(tb)[-5:] if tb is not None else []
    return [f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}:{f.name}" for f in frames]


# Libraries that log statements, parameters or payloads when the root logger is at DEBUG.
_QUIET = ("sqlalchemy", "alembic", "multipart", "httpcore", "httpx", "asyncio", "psycopg")


def _uncaught(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    logging.getLogger("localspot.crash").critical("uncaught", exc_info=(exc_type, exc, tb))


def _uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is not SystemExit:
        _uncaught(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log prints raw paths and query strings; we log requests ourselves.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    # The formatter above uses none of what these gather for every record (the caller's file
    # and line, thread, process): skipping them, as the logging HOWTO suggests, takes about a
    # twentieth off a request answered from memory.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # Crash output goes through the same formatter: no message, no source line, no locals.
    sys.excepthook = _uncaught
    threading.excepthook = _uncaught_in_thread
