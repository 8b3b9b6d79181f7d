"""No real page of the development corpora (../shared/corpus) is taken for an interstitial:
every one is an article, a blog post or a site's page, and a false alarm would lose it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.corpora import load_corpus
from pipeline.clean.html import clean
from pipeline.clean.interstitials import classify
from pipeline.errors import EmptyDocument
from pipeline.models import CleanedDocument

pytestmark = pytest.mark.corpus


@pytest.mark.parametrize("name", ["article-body-dev", "snippets-dev", "metadata-dev"])
def test_no_corpus_page_is_taken_for_an_interstitial(corpus: Path, name: str) -> None:
    pages = taken = 0
    found = []
    for page in load_corpus(corpus / name):
        url = page.url or None
        try:
            document = clean(page.html, "html", url=url)
        except EmptyDocument:
            document = CleanedDocument(kind="html", url=url, page_id=None)
        pages += 1
        verdict = classify(page.html, "html", document)
        if verdict is not None:
            taken += 1
            found.append(f"{page.key} ({page.part}, {url}): {verdict.kind}: {verdict.evidence}")
    assert pages > 0, f"{name} holds no pages"
    assert not found, f"{taken} of {pages} pages taken for interstitials:\n" + "\n".join(found)
