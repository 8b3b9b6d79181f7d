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
from pipeline.store.fingerprints import load_minhash

from .broker import use_for_redis_urls
from .config import celery_config
from .delayed import Mover
from .resources import Resources

__all__ = ["create_app", "get_app", "resources_of", "settings_of"]


class NewsflowCelery(Celery):
    """A Celery app that keeps the settings it was made with and this process's resources.

    The settings travel when the app is pickled (a pool process that is spawned rather than
    forked, as on macOS, receives the app that way); the resources are made anew there.
    """

    settings: Settings
    resources: Resources

    def __init__(self, *args: Any, settings: Settings | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if settings is not None:
            self.settings = settings
            self.resources = Resources(settings)

    def __reduce_keys__(self) -> dict[str, Any]:
        return {**super().__reduce_keys__(), "settings": self.settings}


TASK_MODULES = ["workers.tasks", "workers.reprocess"]
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
    # The task modules are named as well as imported: an app unpickled in a spawned process
    # imports them from this list to learn its tasks.
    app = NewsflowCelery("newsflow", set_as_current=False, include=TASK_MODULES, settings=settings)
    app.config_from_object(celery_config(settings))
    # Every worker moves the delayed set's due messages onto their queues: no process to add.
    app.steps["worker"].add(Mover)
    # Importing the task modules declares their tasks to every app, this one included; the
    # settings module, the question commands ask the workers about their settings.
    from . import effective_settings, reprocess, tasks  # noqa: F401

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
def _prepare(sender: Any = None, **_: Any) -> None:
    # Migrate (or refuse) once, in the main process, before any task can touch the database.
    prepare_database(settings_of(sender.app))
    dispose_engines()
    # Everything else the tasks use is imported with them; these are built on first use, which
    # would cost each pool process seconds of CPU. Built here, for the stages this worker runs,
    # they are shared by every process the pool forks.
    stages = set(sender.app.amqp.queues.consume_from)
    if stages & {"clean", "extract"}:
        from pipeline.extract.article import load_models  # trafilatura and all: not at import

        load_models()
    if "store" in stages:
        load_minhash()


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    # A forked pool process must not share the parent's database connections, HTTP pool or
    # Redis connection: drop the inherited ones, and each is made again on first use. The
    # pool has made the worker's app current here.
    dispose_engines()
    resources_of(current_app).forget()
