"""Stored articles written out as files: JSON Lines, Parquet, or WARC (the pages they came from).

Every writer takes the articles batch by batch (:func:`pipeline.store.exports.exported`) and
holds no more than a batch, so an export of a million articles runs in the memory of one.
"""

from __future__ import annotations

from typing import BinaryIO, Literal, Protocol

from pipeline.store.exports import Exported

Format = Literal["jsonl", "parquet", "warc"]
FORMATS: tuple[Format, ...] = ("jsonl", "parquet", "warc")


class Writer(Protocol):
    written: int  # articles written
    left_out: int  # articles this format could not hold (a WARC: no stored page)

    def write(self, batch: list[Exported]) -> None: ...

    def close(self) -> None: ...


def open_writer(kind: Format, stream: BinaryIO) -> Writer:
    """A writer of ``kind`` onto ``stream`` (a file opened for binary writing)."""
    if kind == "jsonl":
        from pipeline.export.jsonl import JsonLinesWriter

        return JsonLinesWriter(stream)
    if kind == "parquet":
        from pipeline.export.parquet import ParquetWriter

        return ParquetWriter(stream)
    from pipeline.archive.writer import WarcWriter

    return WarcWriter(stream)
