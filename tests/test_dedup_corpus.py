"""Duplicate detection on real pages: the development corpus holds 129 distinct articles,
some of them different outlets' stories on the same event, and no duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.evaluation import load_pages
from pipeline.clean.html import clean
from pipeline.extract.article import extract
from pipeline.models import Article
from pipeline.settings import Settings
from pipeline.store.articles import upsert_article
from pipeline.store.db import session_scope
from tests.test_dedup import edited

pytestmark = pytest.mark.corpus


def dev_articles(corpus: Path) -> list[Article]:
    articles = []
    for page in load_pages(corpus / "article-body-dev"):
        document = clean(page.html, "html", url=page.url, page_id=None)
        found = extract(document)
        # The page's own URL, so that no two share a row whatever their canonical links say.
        articles.append(found.model_copy(update={"canonical_url": page.url, "url": page.url}))
    return articles


def test_the_129_development_pages_give_no_false_duplicates(
    corpus: Path, settings: Settings
) -> None:
    articles = dev_articles(corpus)
    assert len(articles) == 129
    with session_scope(settings) as session:
        stored = [upsert_article(session, article=item) for item in articles]
    linked = [(ref.canonical_url, ref.duplicate_of) for ref in stored if ref.duplicate_of]
    assert linked == []
    # The same pages again under other URLs (a mirror, a re-post): each one is found.
    with session_scope(settings) as session:
        mirrored = [
            upsert_article(
                session,
                article=item.model_copy(update={"canonical_url": f"https://mirror.example/{n}"}),
            )
            for n, item in enumerate(articles)
        ]
    originals = {ref.canonical_url: ref.article_id for ref in stored}
    found = sum(
        ref.duplicate_of == originals[item.url]
        for ref, item in zip(mirrored, articles, strict=True)
    )
    assert found == 129
    # Edited re-posts on another site (a local first sentence, a few words changed): found
    # through the MinHash bands, since their digest differs.
    with session_scope(settings) as session:
        reposts = [
            upsert_article(
                session,
                article=item.model_copy(
                    update={
                        "canonical_url": f"https://repost.example/{n}",
                        "body": edited(item.body),
                    }
                ),
            )
            for n, item in enumerate(articles)
        ]
    found = sum(
        ref.duplicate_of == originals[item.url] for ref, item in zip(reposts, articles, strict=True)
    )
    assert found == 129
