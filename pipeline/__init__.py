"""newsflow's stage logic: plain typed Python, no Celery, runnable in-process or by workers."""

from pipeline.version import __version__, extractor_version

__all__ = ["__version__", "extractor_version"]
