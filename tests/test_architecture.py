"""The layering the project depends on: ``pipeline`` is plain Python with no Celery in it."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_pipeline_imports_neither_celery_nor_workers() -> None:
    code = (
        "import sys, pipeline, pipeline.stages, pipeline.store.articles, pipeline.extract\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in {'celery', 'kombu', 'workers'}]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def _error_classes() -> list[type]:
    from pipeline import errors

    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.NewsflowError)
    ]


def test_every_error_is_either_transient_or_permanent() -> None:
    from pipeline import errors

    classes = _error_classes()
    assert set(errors.__all__) == {cls.__name__ for cls in classes}
    for cls in classes:
        if cls in (errors.NewsflowError, errors.TransientError, errors.PermanentError):
            continue
        assert issubclass(cls, errors.TransientError) != issubclass(cls, errors.PermanentError), cls


def test_every_error_survives_celerys_json_round_trip() -> None:
    from celery.backends.base import Backend

    from workers.app import app

    backend = Backend(app, serializer="json")
    for cls in _error_classes():
        error = cls("what went wrong")
        back = backend.exception_to_python(backend.prepare_exception(error, "json"))
        assert type(back) is cls and str(back) == "what went wrong", cls
