"""Reprocessing: stored pages through clean, extract and store again, by command and by beat,
with the origin never asked again (the test's server counts every request)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis as redis_client
from sqlalchemy import update
from sqlmodel import col, select

from pipeline.errors import EmptyDocument
from pipeline.models import FeedEntry
from pipeline.settings import Settings
from pipeline.store.db import session_scope
from pipeline.store.failures import record_failure
from pipeline.store.tables import ArticleRow, ExtractorVersion
from pipeline.version import extractor_version
from tests.conftest import ROOT, SAMPLES, WorkerProcess, newsflow, wait_until
from tests.e2e.test_pipeline import ARTICLE_HTML, serve_samples
from tests.httpserver import LocalServer, Reply

OLD = "0.0.9+0ld0ld0ld0"
PUBLISHED = datetime(2026, 11, 2, 7, 45, tzinfo=UTC)


def snapshot(settings: Settings) -> dict[str, tuple[int, str, str | None, datetime | None]]:
    """Each stored article by URL: (id, extractor version, title, published)."""
    with session_scope(settings) as session:
        rows = session.exec(select(ArticleRow)).all()
        return {
            row.url or "": (row.id or 0, row.extractor_version, row.title, row.published_at)
            for row in rows
        }


class Stored:
    """Articles stored by a real worker from the test's server, then made to look as if an
    older extractor had produced them (an old version, a stale title and body)."""

    def __init__(self, server: LocalServer, settings: Settings) -> None:
        self.server = server
        self.settings = settings
        self.urls = serve_samples(server)
        # A page that gives no date or author of its own: the feed's entry supplied them, and
        # reprocessing from the raw page must supply them again.
        html = ARTICLE_HTML.format(
            title="Bridge reopens after repairs",
            sentence="The old bridge over the river reopened to traffic on Sunday.",
        )
        self.feed_url = server.route(
            "/news/bridge", Reply(200, html.encode(), {"Content-Type": "text/html"})
        )
        self.urls.append(self.feed_url)

    def ingest(self) -> dict[str, tuple[int, str, str | None, datetime | None]]:
        from workers.tasks import article_chain

        entry = FeedEntry(url=self.feed_url, published=PUBLISHED, author="Ana Costa")
        for url in self.urls:
            article_chain(url, entry=entry if url == self.feed_url else None).apply_async()
        wait_until(lambda: len(snapshot(self.settings)) == len(self.urls), timeout=90)
        return snapshot(self.settings)

    def make_stale(self) -> None:
        with session_scope(self.settings) as session:
            session.add(
                ExtractorVersion(version=OLD, first_seen=datetime.now(UTC) - timedelta(days=30))
            )
            session.execute(
                update(ArticleRow).values(
                    extractor_version=OLD, title="stale title", body="stale body", word_count=2
                )
            )

    def requests(self) -> int:
        return sum(self.server.count(url.removeprefix(self.server.base_url)) for url in self.urls)

    def assert_reprocessed(self, before: dict[str, Any]) -> None:
        after = snapshot(self.settings)
        assert set(after) == set(before)
        for url, (article_id, version, title, published) in after.items():
            assert article_id == before[url][0], f"{url} changed its id"
            assert version == extractor_version()
            assert title == before[url][2] and title != "stale title"
            assert published == before[url][3]
        assert after[self.feed_url][3] == PUBLISHED
        with session_scope(self.settings) as session:
            bodies = session.exec(select(ArticleRow.body)).all()
            assert all(len(body.split()) > 30 for body in bodies)


@pytest.fixture
def stored(
    http_server: LocalServer,
    settings: Settings,
    start_worker: Callable[..., WorkerProcess],
) -> Iterator[tuple[Stored, dict[str, Any]]]:
    start_worker()
    articles = Stored(http_server, settings)
    before = articles.ingest()
    assert all(version == extractor_version() for _, version, _, _ in before.values())
    articles.make_stale()
    yield articles, before


def test_reprocess_updates_every_article_in_place_without_asking_the_origin(
    stored: tuple[Stored, dict[str, Any]],
) -> None:
    articles, before = stored
    fetched = articles.requests()
    assert fetched == len(articles.urls)

    dry = newsflow("reprocess", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert OLD in dry.stdout and f"would reprocess {len(articles.urls)}" in dry.stdout
    assert snapshot(articles.settings)[articles.feed_url][2] == "stale title"

    done = newsflow("reprocess", "--wait", "--timeout", "120")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"sent {len(articles.urls)} article(s)" in done.stdout
    # The summary names the fields that changed and in how many articles.
    total = len(articles.urls)
    assert f"reprocessed {total} article(s): {total} changed, 0 unchanged" in done.stdout
    for field in ("title", "body", "word_count"):
        assert re.search(rf"│ {field} +│ +{total} │", done.stdout), done.stdout
    articles.assert_reprocessed(before)
    assert articles.requests() == fetched

    again = newsflow("reprocess")
    assert again.returncode == 0 and "nothing to reprocess" in again.stdout
    # --all takes every article, whatever made it; --source narrows to one site.
    host_only = newsflow("reprocess", "--all", "--source", "127.0.0.1", "--dry-run")
    assert f"would reprocess {len(articles.urls)}" in host_only.stdout, host_only.stdout
    other_site = newsflow("reprocess", "--all", "--source", "elsewhere.example", "--dry-run")
    assert "would reprocess 0" in other_site.stdout
    unknown = newsflow("reprocess", "--older-than-version", "9.9.9+nope")
    assert unknown.returncode == 1 and "unknown extractor version" in unknown.stderr


def test_reprocess_older_than_a_version_takes_only_what_older_versions_made(
    stored: tuple[Stored, dict[str, Any]],
) -> None:
    articles, _ = stored
    with session_scope(articles.settings) as session:
        newest = session.exec(select(ArticleRow).order_by(col(ArticleRow.id).desc())).first()
        assert newest is not None
        newest.extractor_version = extractor_version()
        session.add(newest)
    current = newsflow("reprocess", "--older-than-version", extractor_version(), "--dry-run")
    assert current.returncode == 0, current.stderr
    assert f"would reprocess {len(articles.urls) - 1}" in current.stdout
    oldest = newsflow("reprocess", "--older-than-version", OLD, "--dry-run")
    assert "would reprocess 0" in oldest.stdout
    later = newsflow("reprocess", "--since", (datetime.now(UTC) + timedelta(days=1)).isoformat())
    assert "nothing to reprocess" in later.stdout


def test_the_scheduled_task_reprocesses_what_an_older_extractor_made(
    stored: tuple[Stored, dict[str, Any]], tmp_path: Path
) -> None:
    articles, before = stored
    fetched = articles.requests()
    log = (tmp_path / "beat.log").open("wb")
    # Beat as operators run it, on a schedule of a few seconds instead of nightly.
    beat = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "beat"],
        cwd=ROOT,
        env={**os.environ, "NEWSFLOW_REPROCESS_SCHEDULE": "2"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def reprocessed() -> bool:
            return all(
                version == extractor_version()
                for _, version, _, _ in snapshot(articles.settings).values()
            )

        wait_until(reprocessed, timeout=90, interval=0.5)
    finally:
        beat.terminate()
        beat.wait(timeout=20)
        log.close()
    articles.assert_reprocessed(before)
    assert articles.requests() == fetched
    assert "newsflow.reprocess" in (tmp_path / "beat.log").read_text(errors="replace")


def test_the_scheduled_task_adds_nothing_while_its_last_run_still_waits(
    celery_app: Any, settings: Settings, redis_url: str
) -> None:
    from pipeline.stages import run_local
    from workers.reprocess import reprocess_outdated

    for path in sorted(SAMPLES.glob("*.html")):
        run_local(str(path), settings)
    with session_scope(settings) as session:
        session.execute(update(ArticleRow).values(extractor_version=OLD))
    broker = redis_client.Redis.from_url(redis_url)
    # A backlog as large as a run: last night's pages, not cleaned yet.
    broker.lpush("clean", *[b"{}"] * 3)
    assert reprocess_outdated.run(limit=3) == 0
    assert broker.llen("clean") == 3
    broker.delete("clean")
    assert reprocess_outdated.run(limit=3) == 3
    assert broker.llen("clean") == 3
    celery_app.control.purge()
    # A page whose reprocessing failed for good is not sent again every night.
    with session_scope(settings) as session:
        first = session.exec(select(ArticleRow).order_by(col(ArticleRow.id))).first()
        assert first is not None and first.raw_page_id is not None
        record_failure(
            session,
            stage="extract",
            item=f"page:{first.raw_page_id}",
            error=EmptyDocument("no text"),
            attempts=1,
            raw_page_id=first.raw_page_id,
        )
    assert reprocess_outdated.run(limit=10) == len(list(SAMPLES.glob("*.html"))) - 1
    celery_app.control.purge()
