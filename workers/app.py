"""The Celery app. Configuration comes from the environment through ``pipeline.settings``."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init

from pipeline.settings import get_settings
from pipeline.store.db import dispose_engines, prepare_database

from .broker import use_for_redis_urls
from .config import celery_config

use_for_redis_urls()
app = Celery("newsflow", include=["workers.tasks", "workers.reprocess"])
app.config_from_object(celery_config(get_settings()))


@worker_init.connect
def _check_schema(**_: Any) -> None:
    # Migrate (or refuse) once, in the main process, before any task can touch the database.
    prepare_database(get_settings())
    dispose_engines()


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    # A forked pool process must not share the parent's database connections.
    dispose_engines()
