"""`newsflow bench extract` on a small folder in the benchmark's layout, made here."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from typer.testing import CliRunner

from pipeline.evaluation import match
from tests.test_extract import PARAGRAPHS, page
from workers.cli import app


def test_the_metric_matches_the_benchmark_definition() -> None:
    assert match("a b c d e", "a b c d e") == (1.0, 0.0, 0.0)
    assert match("", "") == (0.0, 0.0, 0.0)
    true_positive, false_positive, false_negative = match(
        "one two three four five", "one two three four six"
    )
    # Shingles: expected {1234, 2345}, predicted {1234, 2346}: one shared of three in all.
    assert (true_positive, false_positive, false_negative) == (1 / 3, 1 / 3, 1 / 3)
    assert match("short text", "short text") == (1.0, 0.0, 0.0)  # fewer tokens than a shingle


def test_bench_extract_scores_newsflow_beside_trafilatura(tmp_path: Path) -> None:
    folder = tmp_path / "bench"
    (folder / "html").mkdir(parents=True)
    truth = {}
    for language in ("en", "de", "fr"):
        key = f"page-{language}"
        (folder / "html" / f"{key}.html.gz").write_bytes(gzip.compress(page(language).encode()))
        truth[key] = {
            "url": f"https://daily.example/{key}",
            "articleBody": "\n".join(PARAGRAPHS[language]),
        }
    (folder / "ground-truth.json").write_text(json.dumps(truth), encoding="utf-8")
    out = tmp_path / "predictions.json"

    result = CliRunner().invoke(
        app, ["bench", "extract", str(folder), "--out", str(out), "--worst", "2"]
    )

    assert result.exit_code == 0, result.output
    assert "newsflow" in result.output and "trafilatura" in result.output
    assert "median" in result.output and "worst" in result.output
    predictions = json.loads(out.read_text(encoding="utf-8"))
    assert set(predictions) == set(truth)
    for key, expected in truth.items():
        assert predictions[key]["articleBody"].split("\n\n") == expected["articleBody"].split("\n")


def test_bench_extract_says_what_is_missing(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "extract", str(tmp_path)])
    assert result.exit_code == 1
