"""Stored articles written as a WARC: the page each was made from, and the article itself.

Each article becomes two records, gzip-compressed one per member as Common Crawl writes them:

- a ``response``: its raw page as it was fetched (or read from an archive), with the HTTP
  status and headers kept and the capture date as ``WARC-Date`` (a page read from a file, with
  no HTTP exchange, is a ``resource`` record instead). The body is stored decoded,
  so ``Content-Encoding`` and ``Transfer-Encoding`` are left out and ``Content-Length`` says
  its length. Two fields of newsflow's own let ``newsflow ingest`` make the same article again:
  ``Newsflow-Origin`` (``fetched``, or ``archive NAME`` for a page read from an archive) and
  ``Newsflow-Entry`` (what a feed said of the item, as JSON);
- a ``metadata`` record that refers to it (``WARC-Refers-To``), holding the article as
  ``newsflow article --json`` prints it (``application/json``).

Any WARC tool replays the responses (pywb, warcio); ``newsflow ingest`` reads them back.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, BinaryIO

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.archive.fields import ARCHIVE_PREFIX, ENTRY_HEADER, FETCHED, ORIGIN_HEADER
from pipeline.store.articles import stored_json
from pipeline.store.exports import Exported
from pipeline.store.tables import RawPage

# What the stored body no longer is: it was decompressed and de-chunked as it arrived.
_LEFT_OUT = {"content-encoding", "transfer-encoding", "content-length"}
_WRAPPERS = {"application/gzip", "application/x-gzip", "application/octet-stream"}


class WarcWriter:
    def __init__(self, stream: BinaryIO) -> None:
        self.writer = WARCWriter(stream, gzip=True, warc_version="1.1")
        self.stream = stream
        self.written = 0
        self.left_out = 0  # articles with no stored page
        self.writer.write_record(
            self.writer.create_warcinfo_record(
                "newsflow-export.warc.gz",
                {"software": "newsflow", "format": "WARC File Format 1.1"},
            )
        )

    def write(self, batch: list[Exported]) -> None:
        for item in batch:
            if item.page is None:
                self.left_out += 1
                continue
            response = self._response(item.page)
            self.writer.write_record(response)
            self.writer.write_record(
                self.writer.create_warc_record(
                    item.page.url,
                    "metadata",
                    payload=io.BytesIO(
                        json.dumps(stored_json(item.article), ensure_ascii=False).encode("utf-8")
                    ),
                    warc_content_type="application/json",
                    warc_headers_dict={
                        "WARC-Refers-To": response.rec_headers.get_header("WARC-Record-ID"),
                        "WARC-Date": _warc_date(item.page.fetched_at),
                    },
                )
            )
            self.written += 1

    def close(self) -> None:
        self.stream.flush()

    def _response(self, page: RawPage) -> Any:
        status = page.status_code or 200
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        # The type the page was judged by: a gzip file's type names its wrapper, which the
        # stored body no longer has.
        content_type = page.content_type
        if not content_type or content_type.split(";")[0].strip().lower() in _WRAPPERS:
            content_type = _media_type(page)
        headers = [
            (name, str(value))
            for name, value in page.headers.items()
            if name.lower() not in _LEFT_OUT and name.lower() != "content-type"
        ]
        headers.append(("Content-Type", content_type))
        headers.append(("Content-Length", str(len(page.content))))
        fields = {
            "WARC-Date": _warc_date(page.fetched_at),
            ORIGIN_HEADER: f"{ARCHIVE_PREFIX}{page.archive}" if page.archive else FETCHED,
        }
        if page.entry:
            fields[ENTRY_HEADER] = json.dumps(page.entry, ensure_ascii=True)
        if page.status_code is None:
            # Read from a file, with no HTTP exchange: the page is a resource, typed by itself.
            return self.writer.create_warc_record(
                page.url,
                "resource",
                payload=io.BytesIO(page.content),
                warc_content_type=content_type,
                warc_headers_dict=fields,
            )
        return self.writer.create_warc_record(
            page.url,
            "response",
            payload=io.BytesIO(page.content),
            http_headers=StatusAndHeaders(f"{status} {phrase}", headers, protocol="HTTP/1.1"),
            warc_headers_dict=fields,
        )


def _media_type(page: RawPage) -> str:
    media = "text/html" if page.kind == "html" else "text/plain"
    return f"{media}; charset={page.encoding}"


def _warc_date(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
