"""`make bench-search` on a small store: it loads both backends and times every query."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import search as bench_search


def test_the_search_benchmark_measures_both_backends(
    corpus: Path, postgres_server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bench_search.main(
        [
            "--articles",
            "400",
            "--runs",
            "2",
            "--corpus",
            str(corpus),
            "--postgres-url",
            postgres_server_url,
            "--json",
        ]
    )
    figures = json.loads(capsys.readouterr().out)
    assert [load["backend"] for load in figures["loads"]] == ["sqlite", "postgresql"]
    assert all(load["articles"] == 400 and load["per_second"] > 0 for load in figures["loads"])
    queries = figures["queries"]
    assert len(queries) == 2 * len(bench_search.QUERIES)
    for backend in ("sqlite", "postgresql"):
        found = {q["query"]: q["found"] for q in queries if q["backend"] == backend}
        # Every query finds something in real news sentences; a common word fills the page.
        assert all(count > 0 for count in found.values()), found
        assert found["police"] == bench_search.LIMIT
    # Both backends agree on what a phrase finds, up to the page of results.
    phrase = [q["found"] for q in queries if q["query"] == '"prime minister"']
    assert phrase[0] == phrase[1]
    assert all(q["median_ms"] > 0 and q["like_scan_ms"] > 0 for q in queries)
