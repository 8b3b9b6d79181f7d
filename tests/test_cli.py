"""The ``newsflow`` command line, run as a user runs it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from typer.testing import CliRunner

from pipeline.models import ARTICLE_KEYS
from pipeline.settings import Settings
from pipeline.store.db import session_scope
from pipeline.store.failures import list_failures
from tests.conftest import SAMPLES, newsflow
from workers.cli import app
from workers.cli.ingest import expand_sources

runner = CliRunner()
SEED = SAMPLES / "libya-talks-seed.txt"


def test_extract_prints_the_seed_as_json_without_a_database_or_broker(env: dict[str, str]) -> None:
    result = newsflow("extract", str(SEED), "--json")
    assert result.returncode == 0, result.stderr
    article = json.loads(result.stdout)
    assert tuple(article) == ARTICLE_KEYS
    assert article["title"] == "Libya Talks in Russia Progress but Fail to Sign Ceasefire"
    assert article["published_at"].startswith("2020-01-13")
    assert article["id"] is None and article["extractor_version"]
    assert not Path(env["NEWSFLOW_DATA_DIR"]).exists()  # touched no database


def test_extract_takes_the_address_of_a_saved_page(env: dict[str, str]) -> None:
    page = SAMPLES / "aljazeera-afghanistan-helicopter.html"
    url = "https://www.aljazeera.com/news/2019/11/service-members-killed.html"
    result = newsflow("extract", str(page), "--url", url, "--json")
    assert result.returncode == 0, result.stderr
    article = json.loads(result.stdout)
    assert article["url"] == url and article["canonical_url"].startswith(
        "https://www.aljazeera.com/"
    )


def test_extract_reports_a_missing_file_clearly(env: dict[str, str]) -> None:
    result = newsflow("extract", "no/such/file.html")
    assert result.returncode == 1
    assert "invalid_source" in result.stderr and "no such file" in result.stderr


def test_local_ingest_then_articles_and_article(settings: Settings) -> None:
    result = runner.invoke(
        app, ["ingest", "--local", str(SEED), str(SAMPLES / "sciencealert-jupiter-plumes.html")]
    )
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["articles", "--json"])
    articles = json.loads(listed.stdout)
    # A stored article adds the original it duplicates (none here) to the article's keys.
    stored_keys = (*ARTICLE_KEYS, "duplicate_of")
    assert len(articles) == 2 and all(tuple(item) == stored_keys for item in articles)
    assert all(item["duplicate_of"] is None for item in articles)
    seed = next(item for item in articles if item["title"].startswith("Libya Talks"))
    shown = runner.invoke(app, ["article", str(seed["id"]), "--json"])
    assert json.loads(shown.stdout) == seed | {"duplicates": []}
    again = runner.invoke(app, ["ingest", "--local", str(SEED)])
    assert again.exit_code == 0
    assert len(json.loads(runner.invoke(app, ["articles", "--json"]).stdout)) == 2
    table = runner.invoke(app, ["articles"])
    assert "Libya Talks" in table.stdout


def test_local_ingest_records_a_failure_and_exits_non_zero(
    settings: Settings, tmp_path: Path
) -> None:
    binary = tmp_path / "image.html"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    result = runner.invoke(app, ["ingest", "--local", str(binary), str(SEED)])
    assert result.exit_code == 1
    assert "unsupported_content" in result.stdout and "1 stored" in result.stdout
    with session_scope(settings) as session:
        failures = list_failures(session)
    assert [(f.stage, f.item, f.reason, f.retryable) for f in failures] == [
        ("fetch", str(binary), "unsupported_content", False)
    ]


def test_article_that_does_not_exist(settings: Settings) -> None:
    result = runner.invoke(app, ["article", "999"])
    assert result.exit_code == 1


def test_sources_expand_folders_and_stdin(tmp_path: Path, monkeypatch: object) -> None:
    (tmp_path / "a.html").write_text("<p>a</p>")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("b")
    (tmp_path / ".hidden").write_text("x")
    import io

    monkeypatch.setattr(
        sys, "stdin", io.StringIO("https://a.example/1\n\n# comment\nhttps://a.example/2\n")
    )  # type: ignore[attr-defined]
    sources = expand_sources([str(tmp_path), "-", "https://b.example/3"])
    assert sources == [
        str(tmp_path / "a.html"),
        str(tmp_path / "sub" / "b.txt"),
        "https://a.example/1",
        "https://a.example/2",
        "https://b.example/3",
    ]


def test_ingest_without_a_broker_says_what_to_do(settings: Settings, monkeypatch: object) -> None:
    result = newsflow("ingest", str(SEED), env={"NEWSFLOW_BROKER_URL": "redis://127.0.0.1:1/0"})
    assert result.returncode == 1
    assert "--local" in result.stderr


def test_db_commands(settings: Settings) -> None:
    assert runner.invoke(app, ["db", "current"]).exit_code == 0
    assert "revision" in runner.invoke(app, ["db", "upgrade"]).stdout


def test_the_seed_extracts_as_specified(env: dict[str, str]) -> None:
    """Every expectation the extraction issue sets for the page newsflow was specified with."""
    article = json.loads(newsflow("extract", str(SEED), "--json").stdout)
    assert article["title"] == "Libya Talks in Russia Progress but Fail to Sign Ceasefire"
    assert article["published_at"].startswith("2020-01-13")
    assert (article["section"], article["tags"], article["language"]) == ("News", ["Libya"], "en")
    [image] = article["images"]
    assert image["caption"].startswith(
        "Commander of the Libyan National Army (LNA) Khalifa Haftar shakes hands"
    )
    assert image["credit"] == "Reuters"
    assert [link["title"] for link in article["related"]] == [
        "Libya's Rival Factions Accuse Each Other of Violating Ceasefire"
    ]
    paragraphs = article["body"].split("\n\n")
    assert paragraphs[0].startswith("Talks between Libya’s warring factions")
    assert paragraphs[-1].endswith("to seize the capital.")
    # Every line of the story, in order: from its first paragraph through its last, less the
    # "RELATED:" teaser that sits in the middle of it.
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.startswith("Talks between"))
    end = next(i for i, line in enumerate(lines) if line.endswith("to seize the capital."))
    teaser = {"RELATED:", "Libya's Rival Factions Accuse Each Other of Violating Ceasefire"}
    assert paragraphs == [line for line in lines[start : end + 1] if line not in teaser]
    for furniture in (
        "google plus",
        "facebook",
        "twitter",
        "Audio Only",
        "News > Libya",
        "| Photo:",
        "RELATED",
        "Published 13 January",
        "Comment",
        "Post with no comments",
    ):
        assert furniture not in article["body"]
