"""WARC files written for the tests with warcio, the reference WARC library: another tool's
archives, with every kind of record a crawl holds and the damage real files have."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Archive:
    """A WARC being written, and what its records are, for the test to compare counts with."""

    gzip: bool = True
    buffer: io.BytesIO = field(default_factory=io.BytesIO)
    pages: list[str] = field(default_factory=list)  # the URLs of the HTML pages, in order
    cut: int = 0  # records cut short on purpose

    def __post_init__(self) -> None:
        self.writer = WARCWriter(self.buffer, gzip=self.gzip)
        self.writer.write_record(
            self.writer.create_warcinfo_record("test.warc.gz", {"software": "warcio (tests)"})
        )

    def request(self, url: str) -> None:
        head = StatusAndHeaders("GET / HTTP/1.1", [("Host", "x")], is_http_request=True)
        self.writer.write_record(
            self.writer.create_warc_record(url, "request", http_headers=head, payload=io.BytesIO())
        )

    def response(
        self,
        url: str,
        body: bytes,
        *,
        status: int = 200,
        content_type: str = "text/html; charset=utf-8",
        date: str | None = None,
    ) -> None:
        head = StatusAndHeaders(
            f"{status} {'OK' if status == 200 else 'Other'}",
            [("Content-Type", content_type), ("Content-Length", str(len(body)))],
            protocol="HTTP/1.1",
        )
        headers = {"WARC-Date": date} if date else None
        record = self.writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), http_headers=head, warc_headers_dict=headers
        )
        self.writer.write_record(record)

    def page(self, url: str, html: bytes, *, date: str | None = None) -> None:
        """A crawled page: its request, then its response."""
        self.request(url)
        self.response(url, html, date=date)
        self.pages.append(url)

    def revisit(self, url: str) -> None:
        head = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        record = self.writer.create_revisit_record(
            url,
            digest="sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            refers_to_uri=url,
            refers_to_date="2026-11-01T00:00:00Z",
            http_headers=head,
        )
        self.writer.write_record(record)

    def metadata(self, url: str) -> None:
        record = self.writer.create_warc_record(
            url,
            "metadata",
            payload=io.BytesIO(b"outlink: https://elsewhere.example/\r\n"),
            warc_content_type="application/warc-fields",
        )
        self.writer.write_record(record)

    def cut_short(self, url: str, html: bytes) -> None:
        """A response whose record (its gzip member, or its block) is cut in half."""
        start = self.buffer.tell()
        self.response(url, html)
        end = self.buffer.tell()
        self.buffer.truncate(start + (end - start) // 2)
        self.buffer.seek(0, io.SEEK_END)
        self.cut += 1

    def bytes(self) -> bytes:
        return self.buffer.getvalue()

    def write(self, path: Path) -> Path:
        path.write_bytes(self.bytes())
        return path
