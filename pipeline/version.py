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

# Everything that shapes a stored article from a raw page, duplicate detection included.
_EXTRACTOR_MODULES = (
    "encoding.py",
    "clean.py",
    "plaintext.py",
    "body.py",
    "words.py",
    "extract.py",
    "metadata.py",
    "titles.py",
    "markup.py",
    "dates.py",
    "timestamps.py",
    "bylines.py",
    "agencies.py",
    "urls.py",
    "dedup.py",
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
    for name in _EXTRACTOR_MODULES:
        digest.update(name.encode())
        digest.update((here / name).read_bytes())
    for library in _EXTRACTOR_LIBRARIES:
        try:
            digest.update(f"{library}=={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{library}==missing".encode())
    return f"{__version__}+{digest.hexdigest()[:10]}"
