"""The layering the project depends on: ``pipeline`` is plain Python with no Celery in it."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_pipeline_imports_neither_celery_nor_workers() -> None:
    code = (
        "import sys, pipeline, pipeline.stages, pipeline.store.repository, pipeline.extract\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in {'celery', 'kombu', 'workers'}]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_every_error_is_either_transient_or_permanent() -> None:
    from pipeline import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        if cls in (errors.NewsflowError, errors.TransientError, errors.PermanentError):
            continue
        assert issubclass(cls, errors.TransientError) != issubclass(cls, errors.PermanentError), (
            name
        )
