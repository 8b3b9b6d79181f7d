"""`make bench-search`, `bench-warc` and `bench-export` on small sizes: each runs to its end
and its figures add up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import export as bench_export
from bench import search as bench_search
from bench import warc as bench_warc


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


def test_the_warc_benchmark_reads_and_ingests_every_page(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench_warc.main(["--pages", "12", "--corpus", str(corpus), "--json"])
    figures = json.loads(capsys.readouterr().out)
    stages = {stage["name"]: stage for stage in figures["stages"]}
    assert [stage["pages"] for stage in figures["stages"]] == [12, 12, 12]
    assert all(stage["pages_per_second"] > 0 for stage in stages.values())
    assert figures["bytes"] > 0
    assert [peak["bytes"] < figures["bytes"] for peak in figures["reading_peaks"]] == [True, False]
    assert all(peak["peak_mb"] > 10 for peak in figures["reading_peaks"])


def test_the_export_benchmark_runs_every_format_at_both_sizes(
    corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench_export.main(["--articles", "40", "--corpus", str(corpus), "--json"])
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [(run["name"].split()[-1], run["rows"]) for run in runs] == [
        ("(reference)", 4),
        ("jsonl", 4),
        ("parquet", 4),
        ("warc", 4),
        ("(reference)", 40),
        ("jsonl", 40),
        ("parquet", 40),
        ("warc", 40),
    ]
    assert all(run["peak_mb"] > 10 and run["seconds"] > 0 for run in runs)
