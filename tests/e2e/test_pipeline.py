"""The four stages end to end: real HTTP server, real Redis, a real worker process, a real DB."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlmodel import select

from pipeline.settings import Settings
from pipeline.store.db import session_scope
from pipeline.store.tables import ArticleRow, Failure
from tests.conftest import ROOT, SAMPLES, wait_until
from tests.httpserver import LocalServer, Reply
from workers.cli.results import settled

ARTICLE_HTML = """<!doctype html><html lang="en"><head><title>{title}</title></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav><article><h1>{title}</h1>
<p>{sentence} The council met on Monday to discuss the plan in detail and agreed to continue.</p>
<p>Officials said the decision would be reviewed next month after a public consultation, and
that residents could send their comments until the end of the week.</p>
<p>Critics of the plan said it had been rushed and asked for an independent review of its costs
before any money was spent.</p></article><footer>Copyright 2026</footer></body></html>"""


def serve_samples(server: LocalServer) -> list[str]:
    """The bundled samples (the seed and three real pages) as a site would serve them."""
    urls = []
    for path in sorted(SAMPLES.iterdir()):
        if path.suffix == ".html":
            content_type = "text/html; charset=utf-8"
        elif path.suffix == ".txt":
            content_type = "text/plain; charset=utf-8"
        else:
            continue
        urls.append(
            server.route(
                f"/news/{path.stem}", Reply(200, path.read_bytes(), {"Content-Type": content_type})
            )
        )
    return urls


def ingest(urls: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", "ingest", *urls, "--wait", "--timeout", "120"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def stored_articles(settings: Settings) -> list[ArticleRow]:
    with session_scope(settings) as session:
        return list(session.exec(select(ArticleRow).order_by(ArticleRow.id)))


def test_samples_go_through_real_workers_and_a_second_run_changes_nothing(
    http_server: LocalServer, start_worker: Any, settings: Settings
) -> None:
    urls = serve_samples(http_server)
    assert len(urls) == 4
    start_worker()
    environment = dict(os.environ)

    first = ingest(urls, environment)
    assert first.returncode == 0, first.stdout + first.stderr
    articles = stored_articles(settings)
    assert len(articles) == 4
    titles = {article.title for article in articles}
    assert "Libya Talks in Russia Progress but Fail to Sign Ceasefire" in titles
    assert all(
        article.body and article.extractor_version and article.raw_page_id for article in articles
    )

    second = ingest(urls, environment)
    assert second.returncode == 0, second.stdout + second.stderr
    again = stored_articles(settings)
    assert len(again) == 4
    assert [a.id for a in again] == [a.id for a in articles]
    assert all(http_server.count(f"/news/{Path(url).name}") == 2 for url in urls)


def test_transient_errors_are_retried_and_permanent_ones_recorded_once(
    http_server: LocalServer, start_worker: Any, settings: Settings, celery_app: Any
) -> None:
    from workers.tasks import article_chain

    page = ARTICLE_HTML.format(
        title="Council delays vote", sentence="The vote was delayed."
    ).encode()
    html = {"Content-Type": "text/html; charset=utf-8"}
    flaky = http_server.route("/flaky", Reply(503), Reply(503), Reply(200, page, html))
    gone = http_server.route("/gone", Reply(404, b"no such page"))
    busy = http_server.route(
        "/busy",
        Reply(429, b"slow down", {"Retry-After": "1"}),
        Reply(200, page.replace(b"delayed", b"held"), html),
    )
    start_worker()
    results = {url: article_chain(url).apply_async() for url in (flaky, gone, busy)}

    def all_settled() -> bool:
        return all(settled(result) for result in results.values())

    wait_until(all_settled, timeout=90, interval=0.2)
    assert results[flaky].successful()
    assert results[busy].successful()
    assert http_server.count("/flaky") == 3
    assert http_server.count("/gone") == 1
    busy_hits = [hit.at for hit in http_server.hits if hit.path == "/busy"]
    assert len(busy_hits) == 2 and busy_hits[1] - busy_hits[0] >= 0.9  # Retry-After: 1 honoured

    with session_scope(settings) as session:
        stored = {row.url for row in session.exec(select(ArticleRow))}
        failures = list(session.exec(select(Failure)))
    assert stored == {flaky, busy}
    assert len(failures) == 1
    failure = failures[0]
    assert (failure.stage, failure.item, failure.reason) == ("fetch", gone, "http_404")
    assert failure.retryable is False and failure.attempts == 1
    assert "404" in failure.message


def test_retries_give_up_after_the_configured_maximum(
    http_server: LocalServer, start_worker: Any, settings: Settings
) -> None:
    from workers.tasks import article_chain

    down = http_server.route("/down", Reply(500, b"boom"))
    start_worker()
    result = article_chain(down).apply_async()
    wait_until(lambda: settled(result), timeout=60, interval=0.2)
    assert http_server.count("/down") == 4  # the first try and NEWSFLOW_MAX_RETRIES=3 retries
    with session_scope(settings) as session:
        failure = session.exec(select(Failure)).one()
    assert (failure.reason, failure.attempts, failure.retryable) == ("http_500", 4, True)


def test_ingest_wait_reports_the_recorded_reason_of_a_failure(
    http_server: LocalServer, start_worker: Any, settings: Settings
) -> None:
    gone = http_server.route("/gone", Reply(410, b"removed"))
    start_worker()
    result = ingest([gone], {**os.environ, "COLUMNS": "250"})  # no wrapping in the table
    assert result.returncode == 1
    assert "http_410" in result.stdout and "1 failed" in result.stdout


def test_a_malformed_message_is_recorded_and_the_worker_goes_on(
    http_server: LocalServer, start_worker: Any, settings: Settings
) -> None:
    from workers.tasks import article_chain, clean

    worker = start_worker()
    bad = clean.apply_async(args=[{"page_id": "not a number", "url": "x"}])
    wait_until(bad.ready, timeout=60)
    assert bad.failed()
    page = ARTICLE_HTML.format(title="Still working", sentence="The worker went on.").encode()
    url = http_server.route("/after", Reply(200, page, {"Content-Type": "text/html"}))
    assert article_chain(url).apply_async().get(timeout=60)["created"] is True
    assert worker.alive()
    with session_scope(settings) as session:
        failure = session.exec(select(Failure)).one()
    assert (failure.stage, failure.reason, failure.retryable) == ("clean", "invalid_message", False)
