"""The projections this service keeps, by name, and their runners for one application.

A projection module registers a factory here (``register(name, factory)``) at import; the service
gets a runner per name from :func:`runners`, the CLI lists, rebuilds and catches them up
(``alpr-ledger projections status|rebuild NAME|catch-up``); :func:`catch_up_all` is the follower's
tick.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

from projections.base import Projection, ProjectionRunner

_FACTORIES: dict[str, Callable[[Any], Projection]] = {}
_MODULES = ("projections.reads", "projections.reports")
"""Modules that register projections; imported on first use (a missing one is skipped)."""
_loaded = False
_lock = threading.Lock()


def register(name: str, factory: Callable[[Any], Projection]) -> None:
    """``factory(app)`` makes the projection for one application (it may keep ``app.keystore``)."""
    _FACTORIES[name] = factory


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for module in _MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    _loaded = True


def names() -> list[str]:
    _load()
    return sorted(_FACTORIES)


def runners(app: Any) -> dict[str, ProjectionRunner]:
    """One runner per registered projection for ``app`` (kept on the app, made on first use)."""
    _load()
    with _lock:
        found: dict[str, ProjectionRunner] | None = getattr(app, "_projection_runners", None)
        if found is None:
            db = getattr(app, "projection_db", None)
            if db is None:
                raise RuntimeError("the composition root must set app.projection_db")
            found = {name: ProjectionRunner(app, factory(app), db) for name, factory in _FACTORIES.items()}
            app._projection_runners = found
        return found


def runner(app: Any, name: str) -> ProjectionRunner:
    found = runners(app).get(name)
    if found is None:
        raise KeyError(f"no projection {name!r}; known: {', '.join(names())}")
    return found


ORDER = ("reads", "public_statistics", "hits_by_source")
"""The views that read every capture, costliest first: handed out first when several processes
share the catch-up, so the longest one starts at once."""


def ordered_names() -> list[str]:
    """Every registered name, the costly views first (see :data:`ORDER`)."""
    every = names()
    return [n for n in ORDER if n in every] + [n for n in every if n not in ORDER]


def catch_up_all(app: Any, only: Sequence[str] | None = None) -> dict[str, int]:
    """Catch every view (or those named) up to the log's top, then run the rewrites that purges
    deferred (:meth:`projections.store.ProjectionDB.rewrite_pending`); events applied per view.

    What the service's follower runs every interval and ``alpr-ledger projections catch-up`` runs
    once. Each runner locks its position row per page, so other processes may do the same at once.
    """
    found = runners(app)
    try:
        return {name: found[name].catch_up() for name in (only or ordered_names())}
    finally:  # a view that fails to catch up must not keep a shredded row's bytes on disk
        app.projection_db.rewrite_pending()


__all__ = ["ORDER", "catch_up_all", "names", "ordered_names", "register", "runner", "runners"]
