"""Archives through real workers: fetched pages exported as WARC, ingested into an empty database
with no request to their site, and the same articles out again."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pipeline.settings import Settings
from tests.conftest import newsflow
from tests.e2e.test_pipeline import serve_samples
from tests.httpserver import LocalServer


def exported_articles(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The database's articles as `newsflow export` writes them, by canonical URL, with the
    original a duplicate names given by its URL (ids differ from one database to another)."""
    result = newsflow("export", env=env)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    urls = {row["id"]: row["canonical_url"] for row in rows}
    return {
        row["canonical_url"]: {
            **{key: value for key, value in row.items() if key != "id"},
            "duplicate_of": urls.get(row["duplicate_of"]),
        }
        for row in rows
    }


def test_a_warc_export_ingested_into_an_empty_database_gives_the_same_articles(
    http_server: LocalServer, start_worker: Any, settings: Settings, tmp_path: Path
) -> None:
    urls = serve_samples(http_server)
    first_worker = start_worker()
    first = dict(os.environ)
    fetched = newsflow("ingest", *urls, "--wait", "--timeout", "120", env=first)
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    before = exported_articles(first)
    assert len(before) == 4

    archive = tmp_path / "export.warc.gz"
    written = newsflow("export", "--format", "warc", "--out", str(archive), env=first)
    assert written.returncode == 0, written.stderr
    assert "exported 4 article(s)" in written.stderr
    first_worker.stop()

    # An empty database, and workers that store into it.
    second = {**first, "NEWSFLOW_DATA_DIR": str(tmp_path / "second")}
    start_worker(extra_env={"NEWSFLOW_DATA_DIR": second["NEWSFLOW_DATA_DIR"]})
    requests = {url: http_server.count(url.removeprefix(http_server.base_url)) for url in urls}
    assert all(count == 1 for count in requests.values())
    ingested = newsflow("ingest", str(archive), "--wait", "--timeout", "120", env=second)
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    assert "4 stored" in ingested.stdout
    after = exported_articles(second)
    assert after == before
    # Not one request to the site: the pages came from the archive.
    assert {
        url: http_server.count(url.removeprefix(http_server.base_url)) for url in urls
    } == requests

    again = newsflow("ingest", str(archive), "--wait", "--timeout", "60", env=second)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (
        "4 page(s) kept already (by an earlier ingest, or earlier in the file): not sent again"
        in again.stdout
    )
    assert len(exported_articles(second)) == 4
