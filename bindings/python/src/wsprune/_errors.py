"""The exceptions of a failed libwsprune call, one per C status, and the
turning of a status and its owned ``wsprune_error`` into one of them."""

from __future__ import annotations

import ctypes
from typing import Dict, Optional, Type

from ._lib import lib


class WsPruneError(Exception):
    """A failed wsprune call: ``status`` (the C status value), ``status_name``
    (e.g. ``"WSPRUNE_STATUS_NOT_FOUND"``) and the library's message."""

    status: int = -1

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.message = message

    @property
    def status_name(self) -> str:
        return str(lib.wsprune_status_name(self.status).decode())


class InvalidArgumentError(WsPruneError, ValueError):
    """A bad argument: empty root, NaN or negative hours, non-UTF-8 text."""

    status = 1


class InvalidSessionIdError(WsPruneError, ValueError):
    """The session id is not a UUID (every traversal attempt lands here)."""

    status = 2


class NotFoundError(WsPruneError, FileNotFoundError):
    """The session (or workspace root) does not exist."""

    status = 3


class AlreadyExistsError(WsPruneError, FileExistsError):
    """A session with that id already exists."""

    status = 4


class BusyError(WsPruneError):
    """The session is held exclusively by a prune deleting it; for
    :func:`delete_session`, it is leased; for :func:`prune_sessions`, another
    prune of the root ran for longer than ``lock_timeout``."""

    status = 5


class WsPruneIOError(WsPruneError, OSError):
    """An operating-system error."""

    status = 6


class PanicError(WsPruneError):
    """A bug inside libwsprune, caught at its boundary."""

    status = 7


_BY_STATUS: Dict[int, Type[WsPruneError]] = {
    c.status: c
    for c in (
        InvalidArgumentError,
        InvalidSessionIdError,
        NotFoundError,
        AlreadyExistsError,
        BusyError,
        WsPruneIOError,
        PanicError,
    )
}


def _raise(status: int, err: ctypes.c_void_p) -> None:
    """Turns a failed call's status and owned error into an exception (freeing the error)."""
    if err.value:
        message = (lib.wsprune_error_message(err) or b"").decode("utf-8", "replace")
        lib.wsprune_error_free(err)
    else:
        message = lib.wsprune_status_name(status).decode()
    cls = _BY_STATUS.get(status, WsPruneError)
    raise cls(message, status)


def _check(status: int, err: ctypes.c_void_p) -> None:
    if status != 0:
        _raise(status, err)
