"""The development corpora, read as pages with their truth, and split by site.

Every corpus is split into a *tuning* part and a *validation* part by a fixed hash of the
page's site, so that no site is on both sides. Rules and models are tuned on the tuning part
only; the validation part says whether they generalise to sites that were not looked at. The
split never changes: a page's part depends on its site's name alone.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pipeline.fetch.encoding import decode, detect_encoding

Part = Literal["tuning", "validation"]
PARTS: tuple[Part, ...] = ("tuning", "validation")
CORPORA = ("article-body-dev", "snippets-dev", "dates-dev", "metadata-dev")
# Changing the salt would reshuffle the parts, and every figure measured before with them.
_SALT = b"newsflow-split-1:"
# The corpora's folder beside the repository's, where CI and a developer's checkout have it.
DEFAULT_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
# Second-level labels under which a country's sites register ("bbc.co.uk", "abc.net.au").
_SECOND_LEVEL = {"co", "com", "org", "net", "ac", "gov", "edu", "go", "ne", "or"}


@dataclass(frozen=True)
class CorpusPage:
    """One page of a development corpus: its HTML, decoded, and what it should give."""

    corpus: str
    key: str
    url: str
    html: str
    truth: dict[str, Any] = field(repr=False)

    @property
    def part(self) -> Part:
        # A few pages come without their address; their file name starts with the site's.
        return part_of(self.url or f"http://{self.key}")

    @property
    def doubtful(self) -> bool:
        """The corpus marks this page's annotation as known to be doubtful."""
        return bool(self.truth.get("gt_warning"))


def site_key(url: str) -> str:
    """The site a page belongs to: its registered domain, as far as a short list can tell."""
    host = (urlsplit(url).hostname or url).lower().rstrip(".")
    labels = [label for label in host.split(".") if label]
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def part_of(url: str) -> Part:
    """``"validation"`` for about half of all sites, fixed by a hash of the site's name."""
    digest = hashlib.sha256(_SALT + site_key(url).encode("utf-8")).digest()
    return "validation" if digest[0] % 2 else "tuning"


def load_corpus(folder: Path) -> Iterator[CorpusPage]:
    """The pages of one corpus folder, in either of the two layouts the corpora use.

    ``ground-truth.json`` beside ``html/<key>.html.gz`` (the article-extraction benchmark), or
    ``manifest.jsonl`` with one row per page naming its ``html_path``. Rows marked
    ``gt_warning`` (a doubtful annotation) are kept and marked :attr:`CorpusPage.doubtful`:
    which fields the warning concerns differs from corpus to corpus.
    """
    name = folder.name
    truth_file = folder / "ground-truth.json"
    if truth_file.is_file():
        truth = json.loads(truth_file.read_text(encoding="utf-8"))
        for key in sorted(truth):
            row = truth[key]
            html = _read(folder / "html" / f"{key}.html.gz")
            yield CorpusPage(name, key, row.get("url", ""), html, row)
        return
    manifest = folder / "manifest.jsonl"
    if not manifest.is_file():
        raise FileNotFoundError(f"{folder} has neither ground-truth.json nor manifest.jsonl")
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        key = Path(row["html_path"]).name.removesuffix(".html.gz")
        yield CorpusPage(name, key, row.get("url", ""), _read(folder / row["html_path"]), row)


def _read(path: Path) -> str:
    raw = gzip.decompress(path.read_bytes())
    # The pipeline's own charset handling: some pages declare one charset and use another.
    return decode(raw, detect_encoding(raw, None))


def add_corpus_argument(parser: argparse.ArgumentParser) -> None:
    """``--corpus DIR``, the folder that holds article-body-dev/, for the benchmarks that use it."""
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_ROOT,
        help="the corpus folder, holding article-body-dev/ (default: ../shared/corpus beside "
        "the repository)",
    )
