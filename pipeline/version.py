"""The extractor version: which code and which libraries produced an article.

Stored with every article, so that articles made by an older extractor can be found and
reprocessed. It changes when the cleaning or extraction code changes, or a library they use.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import metadata
from pathlib import Path

__version__ = "0.1.0"

# Everything that shapes a stored article from a raw page, duplicate detection included: whole
# stage folders, so that a module added to one is covered without being listed here.
_EXTRACTOR_SOURCES = (
    "fetch/encoding.py",
    "clean",
    "extract",
    "words.py",
    "urls.py",
    "store/fingerprints.py",
)
_EXTRACTOR_LIBRARIES = (
    "trafilatura",
    "htmldate",
    "py3langid",
    "lxml",
    "charset-normalizer",
    "python-dateutil",
    "datasketch",
)


@lru_cache(maxsize=1)
def extractor_version() -> str:
    """``<release>+<digest>``, the digest over the extractor's source and library versions."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for source in _EXTRACTOR_SOURCES:
        path = here / source
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(here).as_posix().encode())
            digest.update(file.read_bytes())
    for library in _EXTRACTOR_LIBRARIES:
        try:
            digest.update(f"{library}=={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library}==missing".encode())
    return f"{__version__}+{digest.hexdigest()[:10]}"
