"""Distinct stories for the end-to-end tests: served by the local HTTP server, sent through
the workers as chains, and looked for in the store afterwards.

Each story has its own title and opening sentence, so that no two are taken for duplicates and
every stored article can be traced to the page it came from.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, func, select

from pipeline.settings import Settings
from pipeline.store.db import session_scope
from pipeline.store.tables import ArticleRow, Failure
from tests.conftest import WorkerProcess, wait_until
from tests.e2e.test_pipeline import ARTICLE_HTML
from tests.httpserver import LocalServer, Reply

HTML = {"Content-Type": "text/html; charset=utf-8"}
# The four stages, each with a queue of its own, in the order a page goes through them.
STAGES = ("fetch", "clean", "extract", "store")
WORDS = ["amber", "birch", "cedar", "delta", "ember", "fjord", "glade", "harbor", "island"]


def story(index: int) -> bytes:
    """A distinct article for each index: its own title and its own opening sentence."""
    words = " ".join(WORDS[(index + step) % len(WORDS)] for step in range(5))
    return ARTICLE_HTML.format(
        title=f"Story number {index} about {words}",
        sentence=f"Report {index}: the {words} project reached stage {index % 7} this week.",
    ).encode()


def serve_stories(server: LocalServer, count: int, delay: float = 0.0) -> list[str]:
    return [
        server.route(f"/story/{index}", Reply(200, story(index), HTML, delay=delay))
        for index in range(count)
    ]


def counts(settings: Settings) -> tuple[int, int, int]:
    """(articles, distinct canonical URLs, open failures) in the store."""
    with session_scope(settings) as session:
        articles = session.exec(select(func.count()).select_from(ArticleRow)).one()
        distinct = session.exec(select(func.count(func.distinct(ArticleRow.url)))).one()
        failures = session.exec(
            select(func.count()).select_from(Failure).where(col(Failure.resolved).is_(False))
        ).one()
    return articles, distinct, failures


def stored_urls(settings: Settings) -> list[str]:
    with session_scope(settings) as session:
        return sorted(url or "" for url in session.exec(select(ArticleRow.url)))


def send_all(urls: list[str]) -> None:
    from workers.tasks import article_chain

    for url in urls:
        article_chain(url).apply_async()


def worker_hostname(celery_app: Any, worker: WorkerProcess) -> str:
    """The name a started worker answers to, found by its process id."""

    def named() -> str | None:
        stats = celery_app.control.inspect(timeout=2.0).stats() or {}
        return next(
            (name for name, info in stats.items() if info["pid"] == worker.process.pid), None
        )

    return str(wait_until(named, timeout=30, interval=0.5))


def send(url: str, **options: Any) -> None:
    from workers.tasks import article_chain

    article_chain(url, **options).apply_async()


def open_failures(settings: Settings) -> list[tuple[str, str]]:
    with session_scope(settings) as session:
        rows = session.exec(
            select(Failure.stage, Failure.reason).where(col(Failure.resolved).is_(False))
        )
        return sorted((stage, reason) for stage, reason in rows)


def article_count(settings: Settings) -> int:
    with session_scope(settings) as session:
        return session.exec(select(func.count()).select_from(ArticleRow)).one()
