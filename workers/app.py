"""The Celery app, built from settings when asked for, never at import.

``create_app(settings)`` makes an app; ``get_app()`` is the process's app. Tasks, signal
handlers and per-process resources read the settings the app was made with
(:func:`settings_of`), so a worker pointed at another broker or database needs no change to
the environment. ``celery -A workers.app`` (Flower, Celery's own commands) still finds an
app: the module's ``app`` attribute is ``get_app()``, made on first use.
"""

from __future__ import annotations

import threading
from typing import Any

from celery import Celery, current_app
from celery.signals import worker_init, worker_process_init

from pipeline.settings import Settings, get_settings
from pipeline.store.db import dispose_engines, prepare_database

from .broker import use_for_redis_urls
from .config import celery_config
from .resources import Resources

__all__ = ["create_app", "get_app", "resources_of", "settings_of"]


class NewsflowCelery(Celery):
    """A Celery app that keeps the settings it was made with and this process's resources."""

    settings: Settings
    resources: Resources


_app: NewsflowCelery | None = None
_app_lock = threading.Lock()


def create_app(settings: Settings) -> Celery:
    """A Celery app configured from ``settings``, with every task registered.

    It becomes the current and default app, and the process's app (what :func:`get_app`
    returns from then on), so that tasks sent or run in this process use it.
    """
    global _app
    # The broker's transport must be mended before the app opens any connection.
    use_for_redis_urls()
    app = NewsflowCelery("newsflow", set_as_current=False)
    app.config_from_object(celery_config(settings))
    app.settings = settings
    app.resources = Resources(settings)
    # Importing the task modules declares their tasks to every app, this one included.
    from . import reprocess, tasks  # noqa: F401

    app.set_current()
    app.set_default()
    with _app_lock:
        _app = app
    return app


def get_app() -> Celery:
    """The process's app: the last one :func:`create_app` made, or one made now from
    :func:`pipeline.settings.get_settings`."""
    with _app_lock:
        app = _app
    return app if app is not None else create_app(get_settings())


def settings_of(app: Any) -> Settings:
    """The settings ``app`` was made with."""
    settings = getattr(app, "settings", None)
    if not isinstance(settings, Settings):
        raise TypeError(f"{app!r} was not made by workers.app.create_app")
    return settings


def resources_of(app: Any) -> Resources:
    """The HTTP client and politeness of this process, for ``app``'s tasks."""
    resources = getattr(app, "resources", None)
    if not isinstance(resources, Resources):
        raise TypeError(f"{app!r} was not made by workers.app.create_app")
    return resources


def __getattr__(name: str) -> Any:
    # `celery -A workers.app` looks for a module attribute named `app`: make it on demand.
    if name == "app":
        return get_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@worker_init.connect
def _check_schema(sender: Any = None, **_: Any) -> None:
    # Migrate (or refuse) once, in the main process, before any task can touch the database.
    prepare_database(settings_of(sender.app))
    dispose_engines()


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    # A forked pool process must not share the parent's database connections, HTTP pool or
    # Redis connection: drop the inherited ones, and each is made again on first use. The
    # pool has made the worker's app current here.
    dispose_engines()
    resources_of(current_app).forget()
