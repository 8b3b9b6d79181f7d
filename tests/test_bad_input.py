"""Bad input, stage by stage and in-process: each gives a clean result or a precise error, fast.

The end-to-end table is in ``tests/e2e/test_bad_input.py``; here are the pieces it relies on,
with the edge cases that are quicker to state one by one.
"""

from __future__ import annotations

import codecs
import gzip
import random
import time
from pathlib import Path

import pytest

from pipeline.clean.body import refine
from pipeline.clean.html import clean, parse_html
from pipeline.clean.plaintext import clean_text
from pipeline.errors import TooDeep, TooLarge, Undecodable, UnsupportedContent
from pipeline.fetch.compression import gunzip
from pipeline.fetch.download import fetch, read_file
from pipeline.fetch.encoding import decode, detect_encoding, sniff_binary, wide_unicode
from pipeline.settings import Settings
from tests.httpserver import LocalServer, Reply

STORY = "The council met on Monday to discuss the plan in detail and agreed to continue. "
PAGE = (
    "<html><head><title>Council agrees plan</title></head><body><article>"
    + f"<p>{STORY * 3}</p>" * 3
    + "</article></body></html>"
)

# Noise from a fixed seed: the same bytes on every run, so a result never depends on luck.
NOISE = random.Random(20261127)


# --- compression -------------------------------------------------------------------------


def test_a_gzip_bomb_stops_at_the_cap_without_expanding() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)
    started = time.monotonic()
    with pytest.raises(TooLarge):
        gunzip(bomb, 1_000_000)
    assert time.monotonic() - started < 2


def test_a_truncated_gzip_gives_what_it_holds() -> None:
    whole = gzip.compress(PAGE.encode())
    assert gunzip(whole[:-8], 100_000) == PAGE.encode()  # no CRC trailer
    cut = gunzip(whole[: len(whole) // 2], 100_000)
    assert cut and PAGE.encode().startswith(cut)
    damaged = whole[:-8] + b"\xde\xad\xbe\xef" + whole[-4:]  # a wrong CRC
    assert gunzip(damaged, 100_000) == PAGE.encode()


def test_gzip_members_are_joined_and_junk_after_them_ignored() -> None:
    data = gzip.compress(b"<p>one") + gzip.compress(b" two</p>") + b"\r\n<junk>"
    assert gunzip(data, 1000) == b"<p>one two</p>"


def test_gzip_that_does_not_decompress_is_undecodable() -> None:
    with pytest.raises(Undecodable):
        # A complete gzip header, then a deflate block of the reserved type 3: no output at all.
        gunzip(b"\x1f\x8b\x08\x00" + bytes(6) + b"\xff" * 200, 1000)


def test_a_gzip_file_served_as_the_page_is_read(
    http_server: LocalServer, settings: Settings, tmp_path: Path
) -> None:
    once = gzip.compress(PAGE.encode())
    plain = http_server.route("/page", Reply(200, once, {"Content-Type": "text/html"}))
    # A .gz file that the server compressed again, with the header for that second layer only.
    twice = http_server.route(
        "/twice",
        Reply(200, gzip.compress(once), {"Content-Type": "text/html", "Content-Encoding": "gzip"}),
    )
    wrapped = http_server.route("/gz", Reply(200, once, {"Content-Type": "application/x-gzip"}))
    for url in (plain, twice, wrapped):
        page = fetch(url, settings)
        assert (page.kind, page.content) == ("html", PAGE.encode())
    saved = tmp_path / "page.html.gz"
    saved.write_bytes(once)
    assert read_file(str(saved), settings).content == PAGE.encode()


def test_gzip_inside_gzip_inside_gzip_is_refused(
    http_server: LocalServer, settings: Settings
) -> None:
    layers = gzip.compress(gzip.compress(gzip.compress(PAGE.encode())))
    url = http_server.route("/layers", Reply(200, layers, {"Content-Type": "text/html"}))
    with pytest.raises(UnsupportedContent, match="gzip"):
        fetch(url, settings)


# --- binary content ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, "OLE2"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3", "PDF"),
        (b"PK\x05\x06" + b"\0" * 18, "ZIP"),
        (b"\x00\x00\x00\x18ftypmp42" + NOISE.randbytes(100), "MP4"),
        (b"BZh91AY&SY" + NOISE.randbytes(100), "bzip2"),
        (b"\x28\xb5\x2f\xfd" + NOISE.randbytes(100), "zstd"),
        (b"x" * 100 + b"\0" * 157 + b"ustar\x0000" + b"\0" * 300, "tar"),
        (b"{\\rtf1\\ansi Hello}", "RTF"),
        (NOISE.randbytes(4000), "binary"),
    ],
)
def test_binary_formats_are_named(content: bytes, name: str) -> None:
    found = sniff_binary(content)
    assert found is not None and name.lower() in found.lower()


@pytest.mark.parametrize(
    "content",
    [
        b"\0" * 1000 + b"<title>Padded with NUL</title>",
        PAGE.encode().replace(b"agreed", b"agreed\0"),
        b"\x1b$)C" + b"\x0e\x21\x21\x0f plain" * 50,  # ISO-2022-KR shifts in and out
        b"BMW recalls cars",  # begins like a bitmap's signature, and is a headline
    ],
)
def test_text_with_odd_bytes_is_not_called_binary(content: bytes) -> None:
    assert sniff_binary(content) is None


# --- charsets ------------------------------------------------------------------------------

RUSSIAN = "Переговоры завершились без соглашения, сообщили в Москве."
JAPANESE = "東京の市議会は計画について話し合い、続けることに合意した。"
CHINESE = "市议会周一开会详细讨论了该计划，并同意继续进行。"


def _page(text: str, meta: str = "") -> str:
    head = f'<meta charset="{meta}">' if meta else ""
    return f"<html><head>{head}</head><body>" + f"<p>{text}</p>" * 8 + "</body></html>"


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        # Servers that send a default charset whatever the page is written in.
        (_page(RUSSIAN).encode("cp1251"), "text/html; charset=iso-8859-1", RUSSIAN),
        (_page(JAPANESE).encode("shift_jis"), "text/html; charset=ISO-8859-1", JAPANESE),
        (_page(CHINESE).encode("gb2312"), "text/html; charset=iso-8859-1", CHINESE),
        # ... and the page's own <meta> knows better than the header.
        (_page(RUSSIAN, "windows-1251").encode("cp1251"), "text/html; charset=utf-8", RUSSIAN),
        (_page(RUSSIAN, "windows-1251").encode("cp1251"), "text/html; charset=latin1", RUSSIAN),
        # GB2312 pages use GBK's characters (镕), as browsers expect.
        (_page("朱镕基总理讲话。", "gb2312").encode("gbk"), None, "朱镕基总理讲话。"),
        # Windows quotes in a page declared Latin-1 are quotes, not control characters.
        (
            _page("“Quoted” – said").encode("cp1252"),
            "text/html; charset=iso-8859-1",
            "“Quoted” – said",
        ),
        # UTF-16 with a BOM whatever the header says, and without one.
        (_page(RUSSIAN).encode("utf-16"), "text/html; charset=utf-8", RUSSIAN),
        (codecs.BOM_UTF16_BE + _page(JAPANESE).encode("utf-16-be"), None, JAPANESE),
        (_page(RUSSIAN).encode("utf-16-le"), "text/html; charset=utf-16", RUSSIAN),
        # A UTF-8 page with many broken bytes is still UTF-8.
        (_page("Grüße aus Köln. \udcff").encode("utf-8", "surrogateescape") * 20, None, "Grüße"),
    ],
)
def test_wrong_or_missing_charsets_decode_to_the_right_text(
    content: bytes, content_type: str | None, expected: str
) -> None:
    assert expected in decode(content, detect_encoding(content, content_type))


def test_a_latin1_page_declared_as_such_stays_latin() -> None:
    content = _page("Grüße aus Köln, sagte die Bürgermeisterin.").encode("latin-1")
    text = decode(content, detect_encoding(content, "text/html; charset=iso-8859-1"))
    assert "Grüße aus Köln, sagte die Bürgermeisterin." in text


def test_binary_with_nul_columns_is_not_taken_for_utf16() -> None:
    noise = bytes(
        byte for pair in zip(NOISE.randbytes(2000), b"\0" * 2000, strict=True) for byte in pair
    )
    assert wide_unicode(noise) is None


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [300, 5_000, 500_000])
def test_deep_nesting_is_refused_at_any_depth(depth: int) -> None:
    with pytest.raises(TooDeep):
        parse_html("<html><body>" + "<div>" * depth + STORY)


def test_nesting_like_a_real_page_is_fine() -> None:
    document = clean("<html><body>" + "<div>" * 120 + PAGE + "</div>" * 120, "html")
    assert document.paragraphs


def test_too_many_elements_are_refused() -> None:
    with pytest.raises(TooLarge, match="elements"):
        parse_html("<html><body>" + "<b>x</b>" * 120_000 + "</body></html>")


def test_a_fragment_served_as_a_page_is_still_read() -> None:
    fragment = "<div>" + f"<p>{STORY * 3}</p>" * 3 + "</div>"
    assert clean(fragment, "html").paragraphs


def test_a_page_of_markup_only_has_no_paragraphs_and_costs_little() -> None:
    markup = "<html><body>" + "<div class='x'><span></span></div>" * 20_000 + "</body></html>"
    started = time.monotonic()
    assert clean(markup, "html").paragraphs == ()
    assert time.monotonic() - started < 10


def test_a_megabyte_line_is_cleaned_in_bounded_time() -> None:
    line = STORY * 25_000  # 2 MB
    started = time.monotonic()
    html = clean(f"<html><body><article><h1>Plan</h1><p>{line}</p></article></body></html>", "html")
    text = clean(line, "text")
    assert time.monotonic() - started < 30
    assert html.paragraphs and text.paragraphs


# --- plain text and the main text's second pass --------------------------------------------


def test_plain_text_rules_stay_linear_on_many_lines() -> None:
    bullets = "\n".join(f"- A bulleted sentence, number {index}." for index in range(40_000))
    captions = "\n".join(
        f"The harbour at dawn, view {index} | Photo: Reuters" for index in range(40_000)
    )
    started = time.monotonic()
    clean_text(bullets)
    document = clean_text(captions)
    # Compared line by line with every other, these took minutes.
    assert time.monotonic() - started < 20
    assert len(document.images) <= 30


def test_plain_text_in_chinese_and_japanese_keeps_its_sentences() -> None:
    text = "\n".join([JAPANESE * 2, CHINESE * 2, JAPANESE.replace("東京", "大阪") * 2])
    assert len(clean_text(text).paragraphs) == 3


def test_only_the_first_paragraph_can_be_a_standfirst() -> None:
    lines = [" ".join(f"w{word}" for word in range(12 + index)) + "." for index in range(50)]
    document = clean_text("\n".join(lines))
    assert document.description == lines[0]
    assert document.paragraphs[0] == lines[1]


def test_skip_links_left_by_a_truncated_page_are_no_article() -> None:
    assert refine(["Skip to main content", "Skip to navigation", "Skip to navigation"]) == []


def test_an_unclosed_shortcode_run_stays_linear() -> None:
    started = time.monotonic()
    refine(["[button link=" * 200_000])
    assert time.monotonic() - started < 5
