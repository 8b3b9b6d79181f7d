"""`newsflow export`: JSON Lines and Parquet of many stored articles, and the selections."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import insert

from pipeline.settings import Settings
from pipeline.store.db import get_engine
from pipeline.store.tables import ArticleRow
from tests.conftest import newsflow

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def fill(settings: Settings, count: int) -> None:
    """``count`` articles in bulk, every field used; every 10th in German, every 7th a copy."""
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for number in range(1, count + 1):
        rows.append(
            {
                "id": number,
                "canonical_url": f"https://site{number % 50}.example/a/{number}",
                "url": f"https://site{number % 50}.example/a/{number}?ref=feed",
                "title": f"Story number {number}",
                "description": f"What story {number} is about.",
                "authors": ["Ana Lima", f"Reporter {number % 9}"],
                "agencies": ["AP"] if number % 3 == 0 else [],
                "published_at": START + timedelta(hours=number),
                "published_precision": "time",
                "section": "World",
                "tags": ["politics", f"t{number % 4}"],
                "language": "de" if number % 10 == 0 else "en",
                "site_name": f"Site {number % 50}",
                "body": f"Paragraph one of {number}.\n\nParagraph two.",
                "images": [
                    {
                        "url": f"https://img.example/{number}.jpg",
                        "caption": "A photo",
                        "credit": None,
                    }
                ],
                "related": [{"title": "Another story", "url": "https://site1.example/a/1"}],
                "word_count": 7,
                "extractor_version": "test+1",
                "duplicate_of": 1 if number % 7 == 0 and number > 1 else None,
                "created_at": now,
                "updated_at": now,
            }
        )
    with get_engine(settings.database).begin() as connection:
        for start in range(0, len(rows), 2000):
            connection.execute(insert(ArticleRow), rows[start : start + 2000])


def test_ten_thousand_articles_as_json_lines_and_parquet(
    settings: Settings, tmp_path: Path
) -> None:
    fill(settings, 10_000)
    jsonl, parquet = tmp_path / "articles.jsonl", tmp_path / "articles.parquet"
    result = newsflow("export", "--out", str(jsonl))
    assert result.returncode == 0, result.stderr
    assert "exported 10,000 article(s)" in result.stderr
    lines = jsonl.read_text("utf-8").splitlines()
    assert len(lines) == 10_000
    first = json.loads(lines[0])
    printed = json.loads(newsflow("article", "1", "--json").stdout)
    assert first == {key: value for key, value in printed.items() if key != "duplicates"}

    result = newsflow("export", "--format", "parquet", "--out", str(parquet))
    assert result.returncode == 0, result.stderr
    assert not Path(f"{parquet}.part").exists()
    table = pq.read_table(parquet)
    assert table.num_rows == 10_000
    schema = table.schema
    assert schema.field("id").type == pa.int64()
    assert schema.field("authors").type == pa.list_(pa.string())
    assert schema.field("published_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("word_count").type == pa.int32()
    assert schema.field("images").type == pa.list_(
        pa.struct([("url", pa.string()), ("caption", pa.string()), ("credit", pa.string())])
    )
    assert schema.field("related").type.value_type.names == ["title", "url"]
    row = table.slice(13, 1).to_pylist()[0]  # article 14: a copy of article 1
    assert row["id"] == 14
    assert row["authors"] == ["Ana Lima", "Reporter 5"]
    assert row["published_at"] == START + timedelta(hours=14)
    assert row["images"] == [
        {"url": "https://img.example/14.jpg", "caption": "A photo", "credit": None}
    ]
    assert row["duplicate_of"] == 1 and row["language"] == "en"


def test_the_selection_options(settings: Settings, tmp_path: Path) -> None:
    fill(settings, 100)

    def ids(*options: str) -> list[int]:
        result = newsflow("export", *options)
        assert result.returncode == 0, result.stderr
        return [json.loads(line)["id"] for line in result.stdout.splitlines()]

    assert ids("--language", "de") == list(range(10, 101, 10))
    assert ids("--since", (START + timedelta(hours=95)).isoformat()) == list(range(95, 101))
    assert ids("--until", (START + timedelta(hours=3)).isoformat()) == [1, 2]
    assert ids("--limit", "3") == [1, 2, 3]
    assert 7 not in ids("--unique") and len(ids("--unique")) == 100 - 14
    assert ids("--source", "site3.example") == [3, 53]
    wrong = newsflow("export", "--format", "parquet")
    assert wrong.returncode != 0 and "--out" in wrong.stderr
    wrong = newsflow("export", "--format", "csv", "--out", str(tmp_path / "x"))
    assert wrong.returncode != 0 and "jsonl, parquet, warc" in wrong.stderr


def test_a_warc_export_leaves_out_articles_without_a_page(
    settings: Settings, tmp_path: Path
) -> None:
    fill(settings, 3)  # stored in bulk: no raw page behind them
    result = newsflow("export", "--format", "warc", "--out", str(tmp_path / "a.warc.gz"))
    assert result.returncode == 0, result.stderr
    assert (
        "exported 0 article(s)" in result.stderr and "3 left out (no stored page)" in result.stderr
    )
