"""JSON Lines: one stored article a line, with the fields of ``newsflow article --json``."""

from __future__ import annotations

import json
from typing import BinaryIO

from pipeline.store.articles import stored_json
from pipeline.store.exports import Exported


class JsonLinesWriter:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.written = 0
        self.left_out = 0

    def write(self, batch: list[Exported]) -> None:
        lines = [json.dumps(stored_json(item.article), ensure_ascii=False) + "\n" for item in batch]
        self.stream.write("".join(lines).encode("utf-8"))
        self.written += len(batch)

    def close(self) -> None:
        self.stream.flush()
