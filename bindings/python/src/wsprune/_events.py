"""Structured events: the process-wide C log callback and the loggers
(callables, :class:`logging.Logger`, the reference ``SandboxLogger``) it
feeds, process-wide (:func:`set_logger`) or for one call."""

from __future__ import annotations

import json
import logging
import threading
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, Optional, Union

from ._lib import LOG_FN, lib
from ._sandbox_logger import SandboxLoggerAdapter as _SandboxLoggerAdapter
from ._sandbox_logger import is_sandbox_logger as _is_sandbox_logger

_LEVELS = {0: "debug", 1: "info", 2: "warning", 3: "error"}
_LOGGING_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


@dataclass(frozen=True)
class Event:
    """A structured event, e.g. ``session.prune.deleted`` with its fields."""

    level: str
    name: str
    fields: Dict[str, Any]


#: A callable taking an :class:`Event`, a :class:`logging.Logger`, or an
#: object with the reference implementation's ``SandboxLogger`` methods
#: (``log_prune_started``, ``log_prune_deleted``, ...; see docs/events.md).
Logger = Union[Callable[[Event], None], logging.Logger, Any]


def _dispatch(logger: Logger, event: Event) -> None:
    if _is_sandbox_logger(logger):
        _SandboxLoggerAdapter(logger)(event)
    elif isinstance(logger, logging.Logger):
        logger.log(
            _LOGGING_LEVELS[event.level],
            "%s %s",
            event.name,
            json.dumps(event.fields, sort_keys=True),
            extra={"event": event.name, "fields": event.fields},
        )
    else:
        logger(event)


_log_lock = threading.RLock()
_global_logger: Optional[Logger] = None
_call_logger: Optional[Logger] = None
_c_callback: Any = None  # keeps the CFUNCTYPE object alive while installed


def _on_event(_user_data: Optional[int], level: int, name: bytes, fields_json: bytes) -> None:
    target = _call_logger if _call_logger is not None else _global_logger
    if target is None:
        return
    try:
        event = Event(_LEVELS.get(level, "info"), name.decode(), json.loads(fields_json.decode()))
        _dispatch(target, event)
    except Exception:  # an exception must never unwind into C
        _report_failure(target)


# Loggers that raised once: reported then, not on each later event.
_failed_loggers: "weakref.WeakSet[Any]" = weakref.WeakSet()
_failed_ids: "set[int]" = set()  # for loggers that cannot be weakly referenced


def _report_failure(logger: Logger) -> None:
    # The caller's logger, inside the package's own wrappers.
    while isinstance(logger, _SandboxLoggerAdapter) or hasattr(logger, "_wsprune_wrapped"):
        logger = logger.target if isinstance(logger, _SandboxLoggerAdapter) else logger._wsprune_wrapped
    key = logger
    try:
        if key in _failed_loggers:
            return
        _failed_loggers.add(key)
    except TypeError:
        if id(key) in _failed_ids:
            return
        _failed_ids.add(id(key))
    logging.getLogger("wsprune").exception(
        "wsprune: logger %r raised on an event; further errors from it are not reported", key
    )


@contextmanager
def _events_to(logger: Optional[Logger]) -> Iterator[None]:
    """Sends the events of the calls made inside to ``logger`` (as well as
    the ones other threads cause meanwhile: the C callback is process-wide).
    Calls with a logger take turns, so each sees its own events."""
    global _call_logger
    if logger is None:
        yield
        return
    with _log_lock:
        previous, _call_logger = _call_logger, logger
        _reinstall()
        try:
            yield
        finally:
            _call_logger = previous
            _reinstall()


def _reinstall() -> None:
    global _c_callback
    if _global_logger is None and _call_logger is None:
        # wsprune_set_log_callback waits for running callbacks before returning,
        # so the old CFUNCTYPE object may be dropped right after.
        lib.wsprune_set_log_callback(LOG_FN(), None)
        _c_callback = None
    elif _c_callback is None:
        _c_callback = LOG_FN(_on_event)
        lib.wsprune_set_log_callback(_c_callback, None)


def set_logger(logger: Optional[Logger]) -> None:
    """Sends events from every wsprune call (create, touch, prune) to
    ``logger``: a callable taking an :class:`Event`, a :class:`logging.Logger`
    (events are logged at their level as ``"<name> <fields JSON>"`` with
    ``extra={"event": name, "fields": fields}``), or an object with the
    reference implementation's ``SandboxLogger`` methods (called with the
    reference's arguments). ``None`` turns events off. A logger that raises
    is reported once (``logging.getLogger("wsprune")``), not per event.
    A prune of the same root started from the logger of a running prune
    raises the busy error at once (it would wait for that prune's lock)."""
    global _global_logger
    with _log_lock:
        _global_logger = logger
        _reinstall()
