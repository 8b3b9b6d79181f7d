"""newsflow's stage logic: plain typed Python, no Celery, runnable in-process or by workers."""

from pipeline.version import __version__, extractor_version

__all__ = ["STAGES", "__version__", "extractor_version"]

# The four stages, in the order an article goes through them; each is a task and a queue.
# Here, in the lightest module, so that the command line can name them without loading them.
STAGES = ("fetch", "clean", "extract", "store")
