"""Checks against the shared corpus (../shared/corpus): real pages, real encodings, real junk.

Skipped with a reason where the corpus is absent (a user's clone); required in CI.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.clean.html import clean
from pipeline.errors import PermanentError
from pipeline.extract.article import extract
from pipeline.fetch.download import read_file
from pipeline.fetch.encoding import decode
from pipeline.settings import Settings
from tests.conftest import ROOT

pytestmark = pytest.mark.corpus


def test_the_seed_from_the_corpus_by_the_documented_command(
    corpus: Path, env: dict[str, str]
) -> None:
    seed = corpus / "seed" / "000_be79753bff2f498b.txt"
    result = subprocess.run(
        [sys.executable, "-m", "workers.cli", "extract", os.path.relpath(seed, ROOT), "--json"],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (
        json.loads(result.stdout)["title"]
        == "Libya Talks in Russia Progress but Fail to Sign Ceasefire"
    )


def test_tricky_files_give_a_page_or_a_permanent_error_and_decode_right(corpus: Path) -> None:
    folder = corpus / "tricky"
    rows = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]
    settings = Settings()
    right = known = 0
    for row in rows:
        path = folder / row["path"]
        try:
            page = read_file(str(path), settings)
        except PermanentError:
            continue  # a clear, recorded reason: binaries, bombs, empty files
        text = decode(page.content, page.encoding)
        if row.get("true_encoding"):
            try:
                truth = path.read_bytes().decode(row["true_encoding"])
            except (UnicodeDecodeError, LookupError):
                continue
            known += 1
            right += text.lstrip("\ufeff") == truth.lstrip("\ufeff")
    assert known > 300
    # Single-byte Latin pages without a declaration are ambiguous (ISO-8859-2 or cp1250?);
    # the rest must decode exactly as their true encoding does.
    assert right / known >= 0.95, f"{right}/{known} decoded exactly"


@pytest.mark.parametrize("folder", ["article-body-dev", "metadata-dev"])
def test_every_development_page_extracts_without_error(corpus: Path, folder: str) -> None:
    pages = sorted((corpus / folder / "html").glob("*.html.gz"))
    assert len(pages) > 100
    empty = []
    for path in pages:
        content = gzip.decompress(path.read_bytes())
        html = content.decode("utf-8", errors="replace")
        document = clean(html, "html", url=f"https://example.org/{path.stem}")
        article = extract(document)
        if not article.body or not article.title:
            empty.append(path.name)
    assert len(empty) <= len(pages) // 20, empty
