"""`newsflow bench extract` on small corpora of every kind, made here, and its metrics."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from typer.testing import CliRunner

from bench.corpora import part_of, site_key
from bench.evaluation import (
    Counts,
    author_counts,
    match,
    same_day,
    same_moment,
    snippet_counts,
    split_names,
)
from tests.test_extract import PARAGRAPHS, page
from workers.cli import app

# Sites chosen so that both parts of the split have pages (the split is a fixed hash).
SITES = ["daily.example", "weekly.example", "gazette.example", "herald.example"]


def test_the_metric_matches_the_benchmark_definition() -> None:
    assert match("a b c d e", "a b c d e") == (1.0, 0.0, 0.0)
    assert match("", "") == (0.0, 0.0, 0.0)
    true_positive, false_positive, false_negative = match(
        "one two three four five", "one two three four six"
    )
    # Shingles: expected {1234, 2345}, predicted {1234, 2346}: one shared of three in all.
    assert (true_positive, false_positive, false_negative) == (1 / 3, 1 / 3, 1 / 3)
    assert match("short text", "short text") == (1.0, 0.0, 0.0)  # fewer tokens than a shingle


def test_snippets_authors_and_dates_are_scored_as_the_corpora_define() -> None:
    body = "The council met.\n\nIt voted   for the budget.\n\nSubscribe now"
    # Line breaks are layout: a snippet spanning two paragraphs' spaces still counts.
    assert snippet_counts(body, ["It voted for", "the moon"], ["Subscribe now", "Imprint"]) == (
        Counts(1, 1, 1)
    )
    assert Counts(3, 1, 0).precision == 0.75 and Counts(3, 1, 1).recall == 0.75
    assert split_names(["Jane Doe and John Roe", "Ann Lee; Bo Chan"]) == [
        "Jane Doe",
        "John Roe",
        "Ann Lee",
        "Bo Chan",
    ]
    assert author_counts(["JANE DOE", "Reuters"], ["Jane Doe", "John Roe"]) == Counts(1, 1, 1)
    from datetime import datetime, timedelta, timezone

    evening = datetime(2025, 3, 14, 21, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert same_day(evening, "2025-03-14")  # the page's own day, not the UTC one
    assert not same_day(evening, "2025-03-15")
    assert same_moment(evening, "2025-03-15T02:00:00Z")
    assert not same_moment(None, "2025-03-15")


def test_the_split_is_by_site_fixed_and_puts_sites_on_both_sides() -> None:
    assert site_key("https://www.bbc.co.uk/news/x") == "bbc.co.uk"
    assert site_key("https://edition.cnn.com/2020/x") == "cnn.com"
    # Every page of a site falls on the same side, whatever its path or subdomain.
    assert part_of("https://www.cnn.com/a") == part_of("http://edition.cnn.com/b?c=d")
    parts = {part_of(f"https://{site}/story") for site in SITES}
    assert parts == {"tuning", "validation"}


def _write(folder: Path, key: str, html: str) -> str:
    (folder / "html").mkdir(parents=True, exist_ok=True)
    (folder / "html" / f"{key}.html.gz").write_bytes(gzip.compress(html.encode()))
    return f"html/{key}.html.gz"


def _corpora(root: Path) -> None:
    """One page per site and language in each of the four kinds of corpus."""
    body_truth = {}
    snippets, dates, metadata = [], [], []
    head = (
        "<meta name='author' content='Jane Doe'>"
        "<meta property='article:published_time' content='2021-03-02T09:30:00+01:00'>"
    )
    for site, language in zip(SITES, ("en", "de", "fr", "es"), strict=True):
        key = f"{site}-{language}"
        url = f"https://{site}/politics/budget-{language}"
        html = page(language, head=head)
        _write(root / "article-body-dev", key, html)
        body_truth[key] = {"url": url, "articleBody": "\n".join(PARAGRAPHS[language])}
        row = {"html_path": _write(root / "snippets-dev", key, html), "url": url}
        snippets.append(
            {**row, "with": PARAGRAPHS[language][:2], "without": ["All rights reserved"]}
        )
        row = {"html_path": _write(root / "dates-dev", key, html), "url": url}
        dates.append({**row, "published": "2021-03-02", "collection": "test"})
        row = {"html_path": _write(root / "metadata-dev", key, html), "url": url}
        metadata.append(
            {
                **row,
                "title": "Budget approved",
                "authors": ["Jane Doe"],
                "published": "2021-03-02T08:30:00Z",
            }
        )
    # A doubtful row is left out of the figures, as the corpora's READMEs ask.
    dates.append({**dates[0], "published": "1999-01-01", "gt_warning": "doubtful"})
    (root / "article-body-dev" / "ground-truth.json").write_text(json.dumps(body_truth))
    for name, rows in (
        ("snippets-dev", snippets),
        ("dates-dev", dates),
        ("metadata-dev", metadata),
    ):
        lines = "\n".join(json.dumps(row) for row in rows)
        (root / name / "manifest.jsonl").write_text(lines + "\n")


def test_bench_extract_scores_every_corpus_by_part_beside_trafilatura(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    _corpora(root)
    record = tmp_path / "benchmarks.md"
    out = tmp_path / "bodies.json"

    result = CliRunner().invoke(
        app, ["bench", "extract", str(root), "--record", str(record), "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    for title in ("article-body-dev (body)", "snippets-dev", "dates-dev", "metadata-dev"):
        assert title in result.output
    lines = result.output.splitlines()
    rows = [line for line in lines if line.startswith("│ newsflow") and "tuning  " in line]
    assert len(rows) == 4  # one tuning row per corpus, and as many for validation:
    assert sum(1 for line in lines if "│ newsflow    │ validation" in line) == 4
    assert sum(1 for line in lines if "│ trafilatura │ tuning" in line) == 4
    assert "tuning − validation" in result.output and "median" in result.output
    # The made pages are easy: newsflow gets every field of every page right.
    dates_table = result.output[result.output.index("dates-dev") :]
    assert "│ newsflow    │ tuning              │     2 │  1.0000" in dates_table
    bodies = json.loads(out.read_text())
    assert bodies["daily.example-en"]["articleBody"].split("\n\n") == PARAGRAPHS["en"]
    recorded = record.read_text()
    assert recorded.startswith("\n## ") and "newsflow bench extract" in recorded
    assert "metadata-dev" in recorded


def test_bench_extract_runs_one_corpus_and_one_part(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    _corpora(root)
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "extract",
            str(root),
            "--corpus",
            "dates-dev",
            "--part",
            "tuning",
            "--worst",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "dates-dev" in result.output and "snippets-dev" not in result.output
    assert "│ newsflow    │ validation" not in result.output
    assert "worst tuning pages" in result.output


def test_bench_extract_says_what_is_missing(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "extract", str(tmp_path)])
    assert result.exit_code == 1
    assert "no corpus" in result.output
    result = CliRunner().invoke(app, ["bench", "extract", str(tmp_path), "--part", "all"])
    assert result.exit_code == 1
