"""Parquet: the stored articles as typed columns, one row group per batch.

Lists stay lists (authors, agencies, tags) and records stay records (images, related), so that
a reader gets ``list<string>`` and ``list<struct>`` columns rather than JSON text to parse again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.store.articles import stored_json
from pipeline.store.exports import Exported

_TEXT = pa.string()
_MOMENT = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("url", _TEXT),
        ("canonical_url", _TEXT),
        ("title", _TEXT),
        ("description", _TEXT),
        ("authors", pa.list_(_TEXT)),
        ("agencies", pa.list_(_TEXT)),
        ("published_at", _MOMENT),
        ("published_precision", _TEXT),
        ("modified_at", _MOMENT),
        ("section", _TEXT),
        ("tags", pa.list_(_TEXT)),
        ("language", _TEXT),
        ("site_name", _TEXT),
        ("body", _TEXT),
        (
            "images",
            pa.list_(pa.struct([("url", _TEXT), ("caption", _TEXT), ("credit", _TEXT)])),
        ),
        ("related", pa.list_(pa.struct([("title", _TEXT), ("url", _TEXT)]))),
        ("word_count", pa.int32()),
        ("extractor_version", _TEXT),
        ("duplicate_of", pa.int64()),
    ]
)
_MOMENTS = ("published_at", "modified_at")


class ParquetWriter:
    def __init__(self, stream: BinaryIO) -> None:
        self.writer = pq.ParquetWriter(stream, SCHEMA, compression="zstd")
        self.written = 0
        self.left_out = 0

    def write(self, batch: list[Exported]) -> None:
        rows = [_row(stored_json(item.article)) for item in batch]
        self.writer.write_table(pa.Table.from_pylist(rows, schema=SCHEMA))
        self.written += len(batch)

    def close(self) -> None:
        self.writer.close()


def _row(data: dict[str, Any]) -> dict[str, Any]:
    # The moments as datetimes, converted to UTC; the offset a source gave is lost here, as
    # Parquet's timestamps have none (the JSON Lines export keeps it).
    for name in _MOMENTS:
        if data[name]:
            data[name] = datetime.fromisoformat(data[name])
    return {name: data.get(name) for name in SCHEMA.names}
