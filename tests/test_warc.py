"""Reading web archives: every kind of record counted, damage stepped over, pages kept once."""

from __future__ import annotations

import gzip
import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from pipeline import stages
from pipeline.archive.ingest import ingest_archive
from pipeline.archive.warc import ArchivedPage, Broken, Skipped, read_archive
from pipeline.models import PageRef
from pipeline.settings import Settings
from pipeline.store.db import session_scope
from pipeline.store.tables import ArticleRow, RawPage
from tests.conftest import SAMPLES, newsflow
from tests.warcs import PDF, PNG, Archive

STORY = (SAMPLES / "aljazeera-afghanistan-helicopter.html").read_bytes()
UNDATED = b"""<html><head><title>A story with no date</title></head><body><article>
<h1>A story with no date</h1><p>The council met to discuss the plan for the new library and
agreed to continue the work next month, after a public consultation on its costs.</p>
<p>Residents said the plan had been discussed for years and asked for a decision.</p>
</article></body></html>"""


def crawl(*, gzip_members: bool = True) -> Archive:
    """A crawl of three sites: pages, and every other kind of record, one of them cut short."""
    archive = Archive(gzip=gzip_members)
    archive.page("https://news.example/story", STORY)
    archive.metadata("https://news.example/story")
    archive.request("https://news.example/missing")
    archive.response("https://news.example/missing", b"<html>not found</html>", status=404)
    archive.response("https://news.example/logo.png", PNG, content_type="image/png")
    archive.cut_short("https://news.example/broken", STORY)
    archive.page("https://news.example/undated", UNDATED, date="2026-11-02T08:30:00Z")
    archive.revisit("https://news.example/story")
    archive.response("https://news.example/report.pdf", PDF, content_type="application/pdf")
    return archive


def fates(data: bytes) -> Counter[str]:
    counted: Counter[str] = Counter()
    for entry in read_archive(io.BytesIO(data), name="test.warc.gz", max_bytes=10_000_000):
        if isinstance(entry, ArchivedPage):
            counted["page"] += 1
        elif isinstance(entry, Skipped):
            counted[entry.reason] += 1
        else:
            assert isinstance(entry, Broken)
            counted["broken"] += 1
    return counted


EXPECTED = {
    "warcinfo": 1,
    "request": 3,
    "page": 2,
    "metadata": 1,
    "status 404": 1,
    "image/png": 1,
    "broken": 1,
    "revisit": 1,
    "application/pdf": 1,
}


@pytest.mark.parametrize("gzip_members", [True, False], ids=["warc.gz", "warc"])
def test_every_record_is_counted_and_a_broken_one_costs_only_itself(gzip_members: bool) -> None:
    assert fates(crawl(gzip_members=gzip_members).bytes()) == EXPECTED


def test_pages_keep_their_url_capture_date_and_headers() -> None:
    archive = Archive()
    archive.page("https://news.example/undated", UNDATED, date="2026-11-02T08:30:00Z")
    [entry] = [
        e
        for e in read_archive(io.BytesIO(archive.bytes()), name="a", max_bytes=10**7)
        if isinstance(e, ArchivedPage)
    ]
    page = entry.page
    assert page.url == page.source == "https://news.example/undated"
    assert page.fetched_at == datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.kind == "html" and page.content == UNDATED and page.archive == "a"


def test_damage_of_every_kind_is_stepped_over() -> None:
    good = Archive()
    good.page("https://news.example/a", UNDATED)
    first = good.bytes()
    later = Archive()
    later.page("https://news.example/b", UNDATED)
    # Garbage between members, a member of garbage, and a file that ends inside a member.
    data = first + b"not gzip at all" + gzip.compress(b"WARC/1.0\r\nbroken") + later.bytes()
    data = data + later.bytes()[:40]
    counted = fates(data)
    assert counted["page"] == 2
    assert counted["broken"] >= 2  # the garbage, the member that is no record, the cut end
    assert fates(b"") == Counter()
    assert fates(b"\x00" * 100) == Counter({"broken": 1})


def test_a_page_larger_than_the_cap_is_skipped_without_being_held() -> None:
    archive = Archive()
    archive.page("https://news.example/big", b"<html><body><p>" + b"word " * 400_000 + b"</p>")
    archive.page("https://news.example/small", UNDATED)
    found = list(read_archive(io.BytesIO(archive.bytes()), name="a", max_bytes=100_000))
    assert [type(entry).__name__ for entry in found] == [
        "Skipped",
        "Skipped",
        "Skipped",
        "Skipped",
        "ArchivedPage",
    ]
    assert found[2].reason == "larger than 100000 bytes"  # type: ignore[union-attr]


def test_keeping_an_archive_again_hands_nothing_on(settings: Settings) -> None:
    handed: list[list[PageRef]] = []
    data = crawl().bytes()
    first = ingest_archive(io.BytesIO(data), settings, name="crawl.warc.gz", hand_on=handed.append)
    assert (first.records, first.pages, first.sent, first.known, first.broken) == (12, 2, 2, 0, 1)
    assert [ref.url for ref in handed[0]] == [
        "https://news.example/story",
        "https://news.example/undated",
    ]
    again = ingest_archive(io.BytesIO(data), settings, name="crawl.warc.gz", hand_on=handed.append)
    assert (again.sent, again.known) == (0, 2)
    assert len(handed) == 1
    with session_scope(settings) as session:
        kept = list(session.exec(select(RawPage)))
    assert len(kept) == 2 and {page.archive for page in kept} == {"crawl.warc.gz"}


def test_ingest_local_stores_the_pages_and_dates_an_undated_one_by_its_capture(
    settings: Settings, tmp_path: Path
) -> None:
    path = crawl().write(tmp_path / "crawl.warc.gz")
    result = newsflow("ingest", str(path), "--local")
    # Exit 1: a record was broken; everything else went in.
    assert result.returncode == 1, result.stdout + result.stderr
    assert "broken" in result.stdout and "crawl.warc.gz" in result.stdout
    assert "2 stored" in result.stdout
    with session_scope(settings) as session:
        rows = {row.canonical_url or row.url: row for row in session.exec(select(ArticleRow))}
    undated = rows["https://news.example/undated"]
    assert undated.published_precision == "captured"
    assert undated.published_at is not None
    assert undated.published_at.replace(tzinfo=UTC) == datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    story = next(row for url, row in rows.items() if url != "https://news.example/undated")
    assert story.published_precision != "captured"  # the page states its own date
    shown = newsflow("article", str(undated.id))
    assert "(not stated: when an archive captured the page)" in shown.stdout

    again = newsflow("ingest", str(path), "--local")
    assert (
        "2 page(s) kept already (by an earlier ingest, or earlier in the file): not sent again"
        in again.stdout
    )
    assert "no new page sent" in again.stdout
    with session_scope(settings) as session:
        assert len(list(session.exec(select(ArticleRow)))) == 2


def test_ingest_reads_a_warc_from_standard_input(settings: Settings) -> None:
    archive = Archive(gzip=False)
    archive.page("https://news.example/undated", UNDATED)
    result = newsflow("ingest", "-", "--local", stdin=archive.bytes().decode("utf-8"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "standard input" in result.stdout
    with session_scope(settings) as session:
        assert [row.title for row in session.exec(select(ArticleRow))] == ["A story with no date"]


def test_a_warcio_crawl_of_corpus_pages_gives_exact_counts(
    corpus: Path, settings: Settings, tmp_path: Path
) -> None:
    truth = json.loads((corpus / "article-body-dev" / "ground-truth.json").read_text("utf-8"))
    keys = sorted(truth)[:6]
    html = {
        key: gzip.decompress((corpus / "article-body-dev" / "html" / f"{key}.html.gz").read_bytes())
        for key in keys
    }
    archive = Archive()
    for key in keys[:3]:
        archive.page(truth[key]["url"], html[key])
    archive.metadata(truth[keys[0]]["url"])
    archive.revisit(truth[keys[1]]["url"])
    archive.response("https://img.example/a.png", PNG, content_type="image/png")
    archive.response(truth[keys[0]]["url"] + "-gone", b"<html>gone</html>", status=404)
    archive.cut_short(truth[keys[3]]["url"], html[keys[3]])
    for key in keys[4:]:
        archive.page(truth[key]["url"], html[key])
    path = archive.write(tmp_path / "corpus.warc.gz")

    stored: list[int] = []

    def run_here(refs: list[PageRef]) -> None:
        stored.extend(stages.run_page_local(ref, settings).article_id for ref in refs)

    with path.open("rb") as stream:
        tally = ingest_archive(stream, settings, name=path.name, hand_on=run_here)
    assert (tally.records, tally.pages, tally.sent, tally.known) == (16, 5, 5, 0)
    assert tally.skipped == Counter(
        {"request": 5, "warcinfo": 1, "metadata": 1, "revisit": 1, "image/png": 1, "status 404": 1}
    )
    assert tally.broken == 1 and "gzip member" in tally.broken_at[0][1]
    assert len(stored) == 5
    with session_scope(settings) as session:
        rows = list(session.exec(select(ArticleRow)))
    assert len(rows) == 5 and all(row.body and row.title for row in rows)
    assert {row.url for row in rows} == {truth[key]["url"] for key in (*keys[:3], *keys[4:])}


def test_a_file_gzipped_whole_is_read_record_by_record(tmp_path: Path) -> None:
    plain = crawl(gzip_members=False).bytes()
    whole = gzip.compress(plain)  # one member holding every record, as `gzip crawl.warc` makes
    counted = Counter()
    for entry in read_archive(io.BytesIO(whole), name="a", max_bytes=20_000):
        counted[type(entry).__name__] += 1
    # The story page is larger than 20,000 bytes: skipped; the undated one is read.
    assert counted == Counter({"Skipped": 10, "ArchivedPage": 1, "Broken": 1})


def test_a_lying_content_length_costs_only_its_record(tmp_path: Path) -> None:
    archive = Archive(gzip=False)
    archive.page("https://news.example/a", UNDATED)
    damaged = archive.bytes().replace(b"Content-Length: ", b"Content-Length: 99999999999", 1)
    later = Archive(gzip=False)
    later.page("https://news.example/b", UNDATED)
    later.page("https://news.example/c", UNDATED)
    path = tmp_path / "damaged.warc"
    path.write_bytes(damaged + later.bytes())
    with path.open("rb") as stream:  # a file: its size is known
        found = list(read_archive(stream, name="d", max_bytes=10_000_000))
    pages = [entry.page.url for entry in found if isinstance(entry, ArchivedPage)]
    # The lie is in the file's first record (its warcinfo): every page after it is read.
    assert pages == ["https://news.example/a", "https://news.example/b", "https://news.example/c"]
    [broken] = [entry for entry in found if isinstance(entry, Broken)]
    assert broken.reason.startswith("a Content-Length (99999999999")
    assert broken.reason.endswith("the file does not hold")


def test_other_2xx_pages_count_and_an_unreadable_date_is_broken() -> None:
    archive = Archive()
    archive.response("https://news.example/partial", UNDATED, status=203)
    archive.response("https://news.example/undated", UNDATED, date="not a date")
    archive.response("https://news.example/arc", UNDATED, date="20200102030405")
    found = list(read_archive(io.BytesIO(archive.bytes()), name="a", max_bytes=10_000_000))
    assert [type(entry).__name__ for entry in found] == [
        "Skipped",
        "ArchivedPage",
        "Broken",
        "ArchivedPage",
    ]
    assert found[3].page.fetched_at == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)  # type: ignore[union-attr]
