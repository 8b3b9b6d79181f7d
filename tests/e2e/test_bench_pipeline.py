"""`make bench` runs as users run it, on a few pages: both runs, the costs of every kind of
process, and a long run's checkpoints. (The figures themselves are the benchmark's business,
not the tests': only that they are there and make sense.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from pipeline import STAGES
from tests.conftest import ROOT


def bench(corpus: Path, *arguments: str) -> dict[str, Any]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.pipeline",
            "--corpus",
            str(corpus),
            "--workers-concurrency",
            "2",
            "--json",
            *arguments,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_the_bench_reports_what_each_kind_of_process_costs(corpus: Path) -> None:
    figures = bench(corpus, "--pages", "16")
    celery, local = figures["runs"]
    assert (celery["name"], local["name"]) == ("celery", "local")
    assert celery["stored"] == local["stored"] == 16
    costs = celery["costs"]
    assert costs["articles"] == 16
    # Every kind of process did some work, and every stage ran in the pool.
    assert costs["main_ms"] > 0 and costs["pool_ms"] > 0 and costs["redis_ms"] > 0
    assert set(costs["stages_ms"]) == set(STAGES)
    assert all(costs["stages_ms"][stage] > 0 for stage in STAGES)
    # The parts add up to the whole, and the stages to no more than the pool.
    parts = costs["main_ms"] + costs["pool_ms"] + costs["redis_ms"] + costs["producer_ms"]
    assert abs(parts - costs["total_ms"]) < 0.1
    assert sum(costs["stages_ms"].values()) <= costs["pool_ms"] + 0.1
    assert costs["pure_ms"] > 0 and 0 < costs["share"] == round(
        costs["pure_ms"] / costs["total_ms"], 3
    )
    # Resident memory of the main process and of each of the two pool processes.
    assert len(costs["rss_start_mb"]) == len(costs["rss_end_mb"]) == 3


def test_a_soak_run_reads_the_rate_and_memory_every_stretch(corpus: Path) -> None:
    figures = bench(corpus, "--soak", "--pages", "12", "--checkpoint-every", "6")
    assert [run["name"] for run in figures["runs"]] == ["celery"]  # no local run
    (celery,) = figures["runs"]
    assert celery["stored"] == 12
    points = celery["checkpoints"]
    assert [point["articles"] for point in points] == [6, 12]
    assert all(point["rate"] > 0 and len(point["rss_mb"]) == 3 for point in points)
    assert points[0]["seconds"] <= points[1]["seconds"]
