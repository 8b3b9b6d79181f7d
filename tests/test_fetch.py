"""The fetch stage against a real local HTTP server: limits, statuses, charsets, files."""

from __future__ import annotations

import codecs
import gzip
from pathlib import Path

import pytest

from pipeline.errors import (
    ConnectionFailed,
    EmptyDocument,
    FetchTimeout,
    HTTPStatus,
    InvalidSource,
    PermanentError,
    ServerError,
    TooLarge,
    TooManyRedirects,
    TransientError,
    UnsupportedContent,
)
from pipeline.fetch.download import fetch, fetch_decoded, parse_retry_after
from pipeline.settings import Settings
from tests.conftest import free_port
from tests.httpserver import LocalServer, Reply

HTML = "<html><head><title>t</title></head><body><p>Grüße aus Köln</p></body></html>"


def fast(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"read_timeout": 2.0, "total_timeout": 5.0, **changes})


def test_fetches_a_page_with_its_facts(http_server: LocalServer, settings: Settings) -> None:
    url = http_server.route(
        "/a",
        Reply(200, HTML.encode(), {"Content-Type": "text/html; charset=utf-8", "ETag": '"x1"'}),
    )
    page = fetch(url, settings)
    assert page.status_code == 200 and page.url == url and page.kind == "html"
    assert page.encoding == "utf-8" and page.headers["etag"] == '"x1"'
    assert len(page.sha256) == 64 and page.fetched_at.tzinfo is not None
    assert http_server.hits[0].headers["User-Agent"] == settings.user_agent


def test_charset_comes_from_the_header_then_meta_then_detection(
    http_server: LocalServer, settings: Settings
) -> None:
    body = HTML.encode("iso-8859-1")
    header = http_server.route(
        "/h", Reply(200, body, {"Content-Type": "text/html; charset=ISO-8859-1"})
    )
    meta_body = HTML.replace("<head>", '<head><meta charset="windows-1252">').encode("cp1252")
    meta = http_server.route("/m", Reply(200, meta_body, {"Content-Type": "text/html"}))
    russian = (
        "<html><body><p>"
        + "Переговоры между враждующими сторонами в Ливии завершились без соглашения. " * 20
        + "</p></body></html>"
    ).encode("cp1251")
    detected = http_server.route("/d", Reply(200, russian, {"Content-Type": "text/html"}))
    # Browsers read Latin-1 as its Windows superset, as the Encoding Standard says.
    assert fetch(header, settings).encoding == "cp1252"
    assert fetch(meta, settings).encoding == "cp1252"
    page = fetch(detected, settings)
    assert page.content.decode(page.encoding).count("Переговоры") == 20


def test_a_wrong_declared_charset_is_not_trusted_over_valid_utf8(
    http_server: LocalServer, settings: Settings
) -> None:
    url = http_server.route(
        "/w", Reply(200, HTML.encode("utf-8"), {"Content-Type": "text/html; charset=us-ascii"})
    )
    assert fetch(url, settings).encoding == "utf-8"


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        (404, HTTPStatus, "http_404"),
        (410, HTTPStatus, "http_410"),
        (403, HTTPStatus, "http_403"),
        (500, ServerError, "http_500"),
        (503, ServerError, "http_503"),
        (429, ServerError, "http_429"),
    ],
)
def test_statuses_map_to_transient_or_permanent_errors(
    http_server: LocalServer, settings: Settings, status: int, error: type[Exception], reason: str
) -> None:
    url = http_server.route("/s", Reply(status, b"nope"))
    with pytest.raises(error) as caught:
        fetch(url, settings)
    assert caught.value.reason == reason  # type: ignore[attr-defined]
    assert isinstance(caught.value, TransientError if status >= 429 else PermanentError)


def test_retry_after_is_read_from_seconds_and_dates(
    http_server: LocalServer, settings: Settings
) -> None:
    url = http_server.route("/r", Reply(503, b"", {"Retry-After": "7"}))
    with pytest.raises(ServerError) as caught:
        fetch(url, settings)
    assert caught.value.retry_after == 7
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None


def test_retry_after_is_capped(http_server: LocalServer, settings: Settings) -> None:
    url = http_server.route("/r", Reply(429, b"", {"Retry-After": "999999"}))
    with pytest.raises(ServerError) as caught:
        fetch(url, settings.model_copy(update={"retry_after_max": 60.0}))
    assert caught.value.retry_after == 60


def test_redirects_are_followed_and_bounded(http_server: LocalServer, settings: Settings) -> None:
    http_server.route("/final", Reply(200, HTML.encode(), {"Content-Type": "text/html"}))
    start = http_server.route("/start", Reply(301, b"", {"Location": "/final"}))
    assert fetch(start, settings).url == http_server.url("/final")
    for index in range(8):
        http_server.route(f"/loop{index}", Reply(302, b"", {"Location": f"/loop{index + 1}"}))
    with pytest.raises(TooManyRedirects):
        fetch(http_server.url("/loop0"), settings.model_copy(update={"max_redirects": 3}))


def test_size_cap_holds_for_plain_and_compressed_bodies(
    http_server: LocalServer, settings: Settings
) -> None:
    limited = settings.model_copy(update={"max_bytes": 50_000})
    big = http_server.route(
        "/big", Reply(200, b"<p>" + b"a" * 100_000, {"Content-Type": "text/html"})
    )
    bomb_body = gzip.compress(b"<p>" + b"0" * 5_000_000)
    bomb = http_server.route(
        "/bomb", Reply(200, bomb_body, {"Content-Type": "text/html", "Content-Encoding": "gzip"})
    )
    with pytest.raises(TooLarge):
        fetch(big, limited)
    with pytest.raises(TooLarge):
        fetch(bomb, limited)
    assert len(bomb_body) < 50_000  # the cap is on what the body expands to


def test_a_slow_server_times_out(http_server: LocalServer, settings: Settings) -> None:
    url = http_server.route("/slow", Reply(200, b"late", delay=2.0))
    with pytest.raises(FetchTimeout):
        fetch(url, fast(settings, read_timeout=0.5))


def test_a_closed_port_is_a_transient_connection_error(settings: Settings) -> None:
    with pytest.raises(ConnectionFailed):
        fetch(f"http://127.0.0.1:{free_port()}/", settings)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "text/html"),
        (b"%PDF-1.4 ...", "text/html"),
        (b"GIF89a....", "image/gif"),
        (b"{}", "application/json"),
    ],
)
def test_content_that_is_not_a_document_is_refused(
    http_server: LocalServer, settings: Settings, body: bytes, content_type: str
) -> None:
    url = http_server.route("/bin", Reply(200, body, {"Content-Type": content_type}))
    with pytest.raises(UnsupportedContent):
        fetch(url, settings)


def test_an_empty_page_is_refused(http_server: LocalServer, settings: Settings) -> None:
    url = http_server.route("/empty", Reply(200, b"  \n", {"Content-Type": "text/html"}))
    # A byte-order mark and NULs around white space are no more a page.
    wide = codecs.BOM_UTF16_LE + " \x00\n\x00 ".encode("utf-16-le")
    nothing = http_server.route("/wide", Reply(200, wide, {"Content-Type": "text/html"}))
    for empty in (url, nothing):
        with pytest.raises(EmptyDocument):
            fetch(empty, settings)


def test_the_text_is_decoded_once_and_tells_html_served_as_plain_text(
    http_server: LocalServer, settings: Settings
) -> None:
    markup = b"\n  <!DOCTYPE html><html><body><p>Hello</p></body></html>"
    html = http_server.route("/h.txt", Reply(200, markup, {"Content-Type": "text/plain"}))
    story = "Grüße aus Köln.\n\nNothing here is marked up.\n"
    plain = http_server.route(
        "/t.txt", Reply(200, story.encode("utf-8"), {"Content-Type": "text/plain; charset=utf-8"})
    )
    assert fetch(html, settings).kind == "html"
    decoded = fetch_decoded(plain, settings)
    assert decoded.page.kind == "text" and decoded.text == story
    assert decoded.page.content == story.encode("utf-8")


def test_local_files_by_path_and_file_url(tmp_path: Path, settings: Settings) -> None:
    text = tmp_path / "story.txt"
    text.write_text(
        "A headline\n\nA first paragraph of the story, long enough to read.\n", encoding="utf-8"
    )
    html = tmp_path / "page.html"
    html.write_bytes(HTML.encode("utf-16"))
    assert fetch(str(text), settings).kind == "text"
    page = fetch(html.as_uri(), settings)
    assert page.url == html.as_uri() and page.encoding.startswith("utf-16") and page.kind == "html"
    with pytest.raises(InvalidSource):
        fetch(str(tmp_path / "missing.html"), settings)
    with pytest.raises(InvalidSource):
        fetch("ftp://example.org/file", settings)
