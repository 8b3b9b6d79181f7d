"""Gzip inside a body: bounded in size and in layers, generous with a cut stream, strict with
what is not gzip at all. The same rules serve the fetch stage and the feed reader."""

from __future__ import annotations

import gzip
import random
import re
import tracemalloc
import zlib
from pathlib import Path

import pytest

from pipeline.errors import TooLarge, Undecodable
from pipeline.fetch.compression import MAX_LAYERS, gunzip, is_gzip, unwrap

PAGE = (
    b"<html><head><title>Council agrees plan</title></head><body><article>"
    + b"<p>The council met on Monday to discuss the plan in detail and agreed to continue.</p>" * 20
    + b"</article></body></html>"
)
# Bytes that do not compress, from a fixed seed: the gzip of them spans several of the chunks
# fed to zlib at a time, so damage can fall in any of them.
NOISE = random.Random(20261127).randbytes(300_000)


# --- bombs -----------------------------------------------------------------------------------


def test_a_bomb_stops_at_the_cap_without_being_expanded() -> None:
    # 200 members of a megabyte of zeros each, about a kilobyte apiece.
    bomb = gzip.compress(bytes(1024 * 1024)) * 200
    tracemalloc.start()
    try:
        with pytest.raises(
            TooLarge, match=re.escape("https://x.example/b.gz expands to more than 1048576")
        ):
            gunzip(bomb, 1024 * 1024, url="https://x.example/b.gz")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


def test_the_cap_is_exact() -> None:
    data = gzip.compress(b"x" * 1000)
    assert gunzip(data, 1000) == b"x" * 1000
    with pytest.raises(TooLarge):
        gunzip(data, 999)


def test_the_cap_counts_every_member_together() -> None:
    data = gzip.compress(b"x" * 600) + gzip.compress(b"y" * 600)
    with pytest.raises(TooLarge):
        gunzip(data, 1000)


def test_a_bomb_behind_damage_still_stops_at_the_cap() -> None:
    bomb = gzip.compress(bytes(3 * 1024 * 1024))
    damaged = bomb[:-8] + b"\xde\xad\xbe\xef" + bomb[-4:]  # a wrong checksum at the end
    with pytest.raises(TooLarge):
        gunzip(damaged, 1024 * 1024)


# --- layers ----------------------------------------------------------------------------------


def test_gunzip_takes_off_one_layer() -> None:
    inner = gunzip(gzip.compress(gzip.compress(PAGE)), 100_000)
    assert is_gzip(inner)
    assert gunzip(inner, 100_000) == PAGE


@pytest.mark.parametrize("layers", [0, 1, 2])
def test_unwrap_takes_off_up_to_two_layers(layers: int) -> None:
    data = PAGE
    for _ in range(layers):
        data = gzip.compress(data)
    assert unwrap(data, 100_000) == (PAGE, layers)


def test_a_third_layer_is_left_on() -> None:
    once = gzip.compress(PAGE)
    content, layers = unwrap(gzip.compress(gzip.compress(once)), 100_000)
    assert layers == MAX_LAYERS == 2
    assert content == once


def test_each_layer_is_held_to_the_cap() -> None:
    # Each layer is small, but the innermost expands past the cap.
    with pytest.raises(TooLarge):
        unwrap(gzip.compress(gzip.compress(bytes(3 * 1024 * 1024))), 1024 * 1024)


# --- cut short and damaged -------------------------------------------------------------------


def test_a_stream_without_its_trailer_gives_all_it_held() -> None:
    whole = gzip.compress(PAGE)
    assert gunzip(whole[:-8], 100_000) == PAGE


def test_a_stream_cut_in_half_gives_the_start() -> None:
    whole = gzip.compress(PAGE)
    cut = gunzip(whole[: len(whole) // 2], 100_000)
    assert cut and PAGE.startswith(cut) and len(cut) < len(PAGE)


@pytest.mark.parametrize("data", [PAGE, NOISE], ids=["page", "several-chunks"])
def test_a_wrong_checksum_costs_nothing(data: bytes) -> None:
    whole = gzip.compress(data)
    assert gunzip(whole[:-8] + b"\xde\xad\xbe\xef" + whole[-4:], 1_000_000) == data


@pytest.mark.parametrize("where", [0.1, 0.5, 0.9])
def test_a_long_stream_cut_anywhere_gives_all_before_the_cut(where: float) -> None:
    whole = gzip.compress(NOISE)
    assert len(whole) > 4 * 64 * 1024
    end = int(len(whole) * where)
    out = gunzip(whole[:end], 1_000_000)
    assert NOISE.startswith(out)
    # Noise is stored as it is, so all but the cut block's header comes out.
    assert len(out) >= end - 1024


def test_a_second_member_cut_short_adds_what_it_held() -> None:
    second = gzip.compress(NOISE[:20_000])
    out = gunzip(gzip.compress(b"first") + second[: len(second) // 2], 100_000)
    assert out.startswith(b"first" + NOISE[:5_000])
    assert NOISE.startswith(out[len(b"first") :])


@pytest.mark.parametrize(
    "data",
    [
        b"\x1f\x8b",
        gzip.compress(PAGE)[:5],  # inside the header
        b"\x1f\x8b" + b"\xff" * 50,  # no compression method it knows
        # A complete header, then a deflate block of the reserved type 3: no output at all.
        b"\x1f\x8b\x08\x00" + bytes(6) + b"\xff" * 200,
    ],
    ids=["magic-only", "cut-in-header", "bad-method", "reserved-block"],
)
def test_gzip_of_which_nothing_decompresses_is_undecodable(data: bytes) -> None:
    with pytest.raises(
        Undecodable, match=re.escape("https://x.example/a.gz is gzip data that does not")
    ):
        gunzip(data, 1000, url="https://x.example/a.gz")


# --- members and trailing junk ---------------------------------------------------------------


def test_members_are_joined() -> None:
    data = gzip.compress(b"<p>one") + gzip.compress(b" two") + gzip.compress(b"</p>")
    assert gunzip(data, 1000) == b"<p>one two</p>"


@pytest.mark.parametrize(
    "junk", [b"\r\n", b"\0" * 512, b"<junk>", b"\x1f\x8b\xff\xff junk that looks like gzip"]
)
def test_junk_after_the_last_member_is_ignored(junk: bytes) -> None:
    data = gzip.compress(b"<p>one") + gzip.compress(b" two</p>") + junk
    assert gunzip(data, 1000) == b"<p>one two</p>"


# --- not gzip --------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"<html></html>", b"\x1f", zlib.compress(PAGE)])
def test_what_is_not_gzip_is_undecodable(data: bytes) -> None:
    assert not is_gzip(data)
    with pytest.raises(Undecodable, match="the content is not gzip data"):
        gunzip(data, 1000)


def test_unwrap_leaves_what_is_not_gzip_as_it_is() -> None:
    assert unwrap(b"<html></html>", 1000) == (b"<html></html>", 0)
    assert unwrap(b"", 1000) == (b"", 0)


# --- Scrapy's samples ------------------------------------------------------------------------


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "length", "ending"),
    [
        ("feed-sample1.xml.gz", 9950, b"</products>\n"),
        ("html-gzip.bin", 74837, b"</html>\n"),
        ("truncated-crc-error.gz", 25542, b"</html"),
        ("truncated-crc-error-short.gz", 3741, b"</html>"),
        ("unexpected-eof.gz", 8576, b"</a>');"),
    ],
)
def test_scrapys_samples_give_what_scrapy_gets(
    corpus: Path, name: str, length: int, ending: bytes
) -> None:
    folder = corpus / "tricky" / "scrapy-compressed"
    out = gunzip((folder / name).read_bytes(), 10_000_000)
    assert (len(out), out.endswith(ending)) == (length, True)
    if name == "unexpected-eof.gz":
        # Scrapy's test decodes it as the cp1252 it declares and compares the text.
        expected = (folder / "unexpected-eof-output.txt").read_text(encoding="utf-8")
        assert out.decode("cp1252", errors="replace") == expected
