"""The command line's own parts: what it loads, how it waits, how it sends, how it reads lists."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery import Celery
from typer.testing import CliRunner

from pipeline.errors import BrokerUnavailable, MalformedFeed
from pipeline.settings import Settings
from pipeline.sources.opml import feed_urls, opml_urls, url_lines
from tests.conftest import ROOT, free_port
from workers.cli import app
from workers.cli.results import wait_for
from workers.cli.sending import send_to_broker

runner = CliRunner()

# What `newsflow --help` must not wait for: the broker's client, the stages, the store.
HEAVY = {"celery", "kombu", "billiard", "redis", "trafilatura", "lxml", "sqlalchemy", "sqlmodel"}


def test_the_command_line_and_its_help_load_no_celery_stages_or_store() -> None:
    code = (
        "import sys\n"
        "from workers.cli import app\n"
        "try:\n"
        "    app(['--help'], prog_name='newsflow')\n"
        "except SystemExit as stop:\n"
        "    assert stop.code == 0, stop.code\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(HEAVY)!r})\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Usage: newsflow" in result.stdout


def test_listing_articles_loads_the_store_but_no_celery_or_extractor(tmp_path: Path) -> None:
    """`newsflow articles` reads the database, and nothing else: no broker client, no
    extraction libraries, not even the MinHash of duplicate detection (numpy, scipy)."""
    code = (
        "import sys\n"
        "from workers.cli import app\n"
        "try:\n"
        "    app(['articles'], prog_name='newsflow')\n"
        "except SystemExit as stop:\n"
        "    assert stop.code == 0, stop.code\n"
        "heavy = {'celery', 'kombu', 'billiard', 'trafilatura', 'lxml', 'numpy', 'datasketch'}\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NEWSFLOW_DATA_DIR": str(tmp_path), "NEWSFLOW_DATABASE_URL": ""},
    )
    assert result.returncode == 0, result.stderr


def test_waiting_ends_when_every_item_has_settled() -> None:
    passes: list[list[int]] = []

    def settle(batch: list[int]) -> list[str | None]:
        passes.append(batch)
        # Item n settles on the n-th look.
        return [f"done {item}" if item <= len(passes) else None for item in batch]

    assert wait_for([1, 3, 2], settle, until=None, interval=0) == ["done 1", "done 3", "done 2"]
    assert passes == [[1, 3, 2], [3, 2], [3]]  # a settled item is not looked at again


def test_waiting_looks_once_then_leaves_the_rest_pending_at_the_deadline() -> None:
    passes: list[list[int]] = []

    def settle(batch: list[int]) -> list[int | None]:
        passes.append(batch)
        return [item if item == 1 else None for item in batch]

    assert wait_for([1, 2, 3], settle, until=0.0, interval=0) == [1, None, None]
    assert passes == [[1, 2, 3]]
    assert wait_for([], settle, until=None) == []


def test_a_broker_that_does_not_answer_is_broker_unavailable(settings: Settings) -> None:
    url = f"redis://:secret@127.0.0.1:{free_port()}/0"
    celery_app = Celery("unreachable", broker=url, set_as_current=False)
    sent: list[str] = []
    with pytest.raises(BrokerUnavailable) as caught:
        send_to_broker(
            celery_app,
            settings.model_copy(update={"broker_url": url}),
            {"item": lambda: sent.append("item")},
        )
    message = str(caught.value)
    assert message.startswith(f"cannot reach the broker at {url.replace('secret', '**')} (")
    assert "secret" not in message and not sent


def test_feed_lists_read_as_opml_or_one_url_a_line() -> None:
    assert url_lines(
        ["https://a.example/feed", "", "  # a comment", " https://b.example/rss "]
    ) == [
        "https://a.example/feed",
        "https://b.example/rss",
    ]
    opml = '<opml version="2.0"><body><outline xmlUrl="https://a.example/feed"/></body></opml>'
    assert feed_urls(opml) == opml_urls(opml) == ["https://a.example/feed"]
    assert feed_urls("https://a.example/feed\n# my feeds\n") == ["https://a.example/feed"]
    with pytest.raises(MalformedFeed, match="not readable OPML"):
        opml_urls("<!-- <opml> -->")


def test_sources_import_adds_each_listed_feed_once(settings: Settings, tmp_path: Path) -> None:
    outline = tmp_path / "feeds.opml"
    outline.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body><outline text="News">'
        '<outline xmlUrl="https://a.example/feed.xml"/><outline xmlUrl="https://b.example/rss"/>'
        "</outline></body></opml>",
        encoding="utf-8",
    )
    plain = tmp_path / "feeds.txt"
    plain.write_text(
        "# kept by hand\nhttps://b.example/rss\n\nhttps://c.example/atom\n", encoding="utf-8"
    )
    first = runner.invoke(app, ["sources", "import", str(outline)])
    assert first.exit_code == 0, first.output
    assert "2 added, 0 already there" in first.stdout
    second = runner.invoke(app, ["sources", "import", str(plain), "--interval", "1h"])
    assert second.exit_code == 0, second.output
    assert "1 added, 1 already there" in second.stdout
    listed = json.loads(runner.invoke(app, ["sources", "list", "--json"]).stdout)
    assert sorted(source["url"] for source in listed) == [
        "https://a.example/feed.xml",
        "https://b.example/rss",
        "https://c.example/atom",
    ]
    unreadable = tmp_path / "broken.opml"
    unreadable.write_text("<!-- <opml> -->", encoding="utf-8")
    broken = runner.invoke(app, ["sources", "import", str(unreadable)])
    assert broken.exit_code == 1
    assert "the file is not readable OPML" in broken.output
