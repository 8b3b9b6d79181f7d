"""Duplicate detection: the judgement on bodies, and the links the store keeps."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import delete, func, update
from sqlmodel import col, select
from typer.testing import CliRunner

from pipeline.clean.html import clean
from pipeline.extract.article import extract
from pipeline.models import Article, StoredRef
from pipeline.settings import Settings
from pipeline.stages import run_local
from pipeline.store import fingerprints
from pipeline.store.articles import (
    count_articles,
    duplicates_of,
    get_article,
    list_articles,
    upsert_article,
)
from pipeline.store.db import session_scope
from pipeline.store.pages import save_raw_page
from pipeline.store.tables import ArticleBand, ArticleRow
from tests.conftest import SAMPLES
from workers.cli import app


@cache
def sample_body(name: str) -> str:
    document = clean((SAMPLES / name).read_text(encoding="utf-8"), "html", url=None, page_id=None)
    return extract(document).body


def helicopter() -> str:
    return sample_body("aljazeera-afghanistan-helicopter.html")


def plumes() -> str:
    return sample_body("sciencealert-jupiter-plumes.html")


def edited(body: str) -> str:
    """A re-post as papers make them: a local first sentence, a few words changed."""
    paragraphs = body.split("\n\n")
    paragraphs[0] = "Our correspondent adds that the news reached the region late. " + paragraphs[0]
    changed = "\n\n".join(paragraphs)
    for old, new in ((" said ", " told reporters "), (" the ", " a "), (" two ", " 2 ")):
        changed = changed.replace(old, new, 2)
    return changed


def trimmed(body: str) -> str:
    """Cut for length: the first 60% of the paragraphs."""
    paragraphs = body.split("\n\n")
    return "\n\n".join(paragraphs[: max(1, len(paragraphs) * 6 // 10)])


# --- the judgement -------------------------------------------------------------------------


def test_the_samples_are_long_enough_to_judge() -> None:
    assert len(helicopter().split()) > 200 and len(plumes().split()) > 200


def test_the_body_hash_ignores_spacing_case_and_punctuation_only() -> None:
    body = helicopter()
    respaced = "  " + body.upper().replace(". ", " ... ").replace("\n\n", "\n") + "\n"
    assert fingerprints.body_hash(respaced) == fingerprints.body_hash(body)
    assert fingerprints.body_hash(body.replace(" the ", " a ", 1)) != fingerprints.body_hash(body)


def test_an_edited_and_a_trimmed_copy_are_duplicates_and_another_story_is_not() -> None:
    original = fingerprints.fingerprint(helicopter())
    copy = fingerprints.fingerprint(edited(helicopter()))
    short = fingerprints.fingerprint(trimmed(helicopter()))
    other = fingerprints.fingerprint(plumes())
    assert fingerprints.similarity(copy.shingles, original.shingles).duplicate
    assert set(copy.bands) & set(original.bands)  # found as a candidate
    cut = fingerprints.similarity(short.shingles, original.shingles)
    assert cut.duplicate and cut.containment > 0.95
    assert set(short.bands) & set(original.bands)
    unrelated = fingerprints.similarity(other.shingles, original.shingles)
    assert not unrelated.duplicate and unrelated.jaccard < 0.05
    assert not set(other.bands) & set(original.bands)


def test_a_body_too_short_to_judge_is_never_a_duplicate() -> None:
    caption = fingerprints.fingerprint("Watch the video: flooding in the old town.")
    assert not caption.comparable and caption.bands == ()
    assert fingerprints.fingerprint("").shingles == frozenset()


def test_text_without_spaces_is_shingled_by_character() -> None:
    chinese = (
        "北京时间今天上午，国家统计局发布了最新的经济数据，显示第三季度国内生产总值同比增长。" * 3
    )
    tokens = fingerprints.words(chinese)
    assert len(tokens) > 60 and all(len(token) == 1 for token in tokens)
    assert fingerprints.fingerprint(chinese).comparable


# --- the store -----------------------------------------------------------------------------


def article(url: str, body: str, **changes: object) -> Article:
    values: dict[str, object] = {
        "url": url,
        "canonical_url": url,
        "title": f"Story at {url}",
        "body": body,
        "word_count": len(body.split()),
        "extractor_version": "test+1",
    }
    values.update(changes)
    return Article.model_validate(values)


def store(settings: Settings, item: Article) -> StoredRef:
    with session_scope(settings) as session:
        return upsert_article(session, article=item)


def links(settings: Settings) -> dict[str, int | None]:
    with session_scope(settings) as session:
        rows = list_articles(session, limit=100)
        by_id = {row.id: row.canonical_url for row in rows}
        return {row.canonical_url: by_id.get(row.duplicate_of) for row in rows}  # type: ignore[misc]


def test_duplicates_are_linked_to_the_first_seen_original(any_db_settings: Settings) -> None:
    settings = any_db_settings
    body = helicopter()
    first = store(settings, article("https://wire.example/a", body))
    assert first.created and first.duplicate_of is None
    exact = store(settings, article("https://paper.example/b", body.replace("\n\n", "\n")))
    copy = store(settings, article("https://daily.example/c", edited(body)))
    other = store(settings, article("https://science.example/d", plumes()))
    # A copy of a copy is linked to the original, never to another copy.
    again = store(settings, article("https://blog.example/e", edited(edited(body))))
    assert exact.duplicate_of == copy.duplicate_of == again.duplicate_of == first.article_id
    assert other.duplicate_of is None
    assert links(settings) == {
        "https://wire.example/a": None,
        "https://paper.example/b": "https://wire.example/a",
        "https://daily.example/c": "https://wire.example/a",
        "https://science.example/d": None,
        "https://blog.example/e": "https://wire.example/a",
    }
    with session_scope(settings) as session:
        assert count_articles(session) == 5
        assert count_articles(session, unique=True) == 2
        unique = list_articles(session, unique=True)
        assert {row.canonical_url for row in unique} == {
            "https://wire.example/a",
            "https://science.example/d",
        }
        assert duplicates_of(session, article_id=first.article_id) == [
            exact.article_id,
            copy.article_id,
            again.article_id,
        ]


def test_storing_again_keeps_the_original_first_and_relinks_a_changed_body(
    any_db_settings: Settings,
) -> None:
    settings = any_db_settings
    body = helicopter()
    first = store(settings, article("https://wire.example/a", body))
    copy = store(settings, article("https://daily.example/c", edited(body)))
    # The original stored again (a reprocessing) does not become a copy of its later copy.
    again = store(settings, article("https://wire.example/a", body))
    assert (again.article_id, again.created, again.duplicate_of) == (first.article_id, False, None)
    assert again.changed == ()
    # A copy whose body is now another story is no longer linked; its bands are replaced.
    rewritten = store(settings, article("https://daily.example/c", plumes()))
    assert rewritten.article_id == copy.article_id
    assert rewritten.duplicate_of is None
    assert set(rewritten.changed) == {"body", "word_count", "duplicate_of"}
    with session_scope(settings) as session:
        keys = session.exec(
            select(ArticleBand.key).where(ArticleBand.article_id == copy.article_id)
        ).all()
        assert set(keys) == set(fingerprints.fingerprint(plumes()).bands)


def test_a_page_stored_under_a_new_canonical_url_keeps_its_article_id(
    any_db_settings: Settings,
) -> None:
    from tests.test_store import page

    with session_scope(any_db_settings) as session:
        page_id = save_raw_page(session, page=page())

    def stored_as(canonical_url: str) -> StoredRef:
        item = article("https://news.example/a?id=1", plumes(), page_id=page_id)
        return store(any_db_settings, item.model_copy(update={"canonical_url": canonical_url}))

    first = stored_as("https://news.example/a?id=1")
    moved = stored_as("https://news.example/a")
    assert moved.article_id == first.article_id and not moved.created
    assert moved.changed == ("canonical_url",)
    with session_scope(any_db_settings) as session:
        assert count_articles(session) == 1


@pytest.mark.parametrize("round_", range(3))
def test_two_writers_storing_near_duplicates_at_once_link_one_to_the_other(
    any_db_settings: Settings, round_: int
) -> None:
    bodies = [helicopter(), edited(helicopter())]
    barrier = threading.Barrier(2)

    def write(index: int) -> StoredRef:
        barrier.wait(timeout=30)
        return store(
            any_db_settings, article(f"https://site{index}.example/{round_}", bodies[index])
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(write, range(2))
    originals = [ref for ref in (first, second) if ref.duplicate_of is None]
    copies = [ref for ref in (first, second) if ref.duplicate_of is not None]
    assert len(originals) == 1 and len(copies) == 1
    assert copies[0].duplicate_of == originals[0].article_id
    assert originals[0].article_id < copies[0].article_id
    with session_scope(any_db_settings) as session:
        assert session.exec(select(func.count()).select_from(ArticleBand)).one() > 0


# --- whole pages ---------------------------------------------------------------------------

FIXTURES = Path(__file__).with_name("fixtures") / "dedup"


def test_one_wire_story_on_three_sites_gives_one_original_and_two_duplicates(
    any_db_settings: Settings,
) -> None:
    """Three sites' copies of one wire story (own furniture, own headline, a local intro, a
    trimmed ending), and two other outlets' own stories on the same event (see the fixtures'
    README), through all four stages."""
    stored = {
        name: run_local(str(FIXTURES / f"{name}.html"), any_db_settings)
        for name in ("wire-a", "wire-b", "wire-c", "event-x", "event-y")
    }
    original = stored["wire-a"].article_id
    assert stored["wire-a"].duplicate_of is None
    assert stored["wire-b"].duplicate_of == original
    assert stored["wire-c"].duplicate_of == original
    assert stored["event-x"].duplicate_of is None
    assert stored["event-y"].duplicate_of is None
    with session_scope(any_db_settings) as session:
        assert count_articles(session, unique=True) == 3
        unique = {row.id for row in list_articles(session, unique=True)}
    assert unique == {stored[name].article_id for name in ("wire-a", "event-x", "event-y")}
    # What the command line shows: --unique hides the copies; the original names them.
    listed = json.loads(CliRunner().invoke(app, ["articles", "--unique", "--json"]).stdout)
    assert {item["id"] for item in listed} == unique
    everything = json.loads(CliRunner().invoke(app, ["articles", "--json"]).stdout)
    assert sorted(item["duplicate_of"] or 0 for item in everything) == [0, 0, 0, original, original]
    shown = json.loads(CliRunner().invoke(app, ["article", str(original), "--json"]).stdout)
    assert shown["duplicates"] == [stored["wire-b"].article_id, stored["wire-c"].article_id]


def test_an_original_stored_before_its_copy_could_be_found_takes_it_when_reprocessed(
    any_db_settings: Settings,
) -> None:
    """An article from before duplicate detection has no digest or bands: a copy stored after
    comes out an original, until the old article is reprocessed."""
    settings = any_db_settings
    old = store(settings, article("https://wire.example/a", helicopter()))
    with session_scope(settings) as session:
        session.execute(
            update(ArticleRow).where(col(ArticleRow.id) == old.article_id).values(body_hash=None)
        )
        session.execute(delete(ArticleBand).where(col(ArticleBand.article_id) == old.article_id))
    copy = store(settings, article("https://daily.example/c", edited(helicopter())))
    assert copy.duplicate_of is None
    again = store(
        settings, article("https://wire.example/a", helicopter(), article_id=old.article_id)
    )
    assert again.article_id == old.article_id and again.duplicate_of is None
    assert links(settings)["https://daily.example/c"] == "https://wire.example/a"


def test_links_follow_an_article_whose_body_changed(any_db_settings: Settings) -> None:
    settings = any_db_settings
    older = store(settings, article("https://science.example/o", plumes()))
    first = store(settings, article("https://wire.example/p", helicopter()))
    copy = store(settings, article("https://daily.example/q", edited(helicopter())))
    assert copy.duplicate_of == first.article_id
    # The page at p now carries a copy of o's story: p is linked to o, and q, still the
    # helicopter story, is no longer anybody's copy (and never a copy of a copy).
    moved = store(settings, article("https://wire.example/p", edited(plumes())))
    assert moved.article_id == first.article_id and moved.duplicate_of == older.article_id
    assert links(settings) == {
        "https://science.example/o": None,
        "https://wire.example/p": "https://science.example/o",
        "https://daily.example/q": None,
    }


def test_pages_of_one_site_are_copies_only_under_like_titles(any_db_settings: Settings) -> None:
    """A site's short items with a long shared footer (a disclaimer, a paywall notice) are
    not copies of each other; the same item under a second URL of the site is."""
    settings = any_db_settings
    footer = " ".join(plumes().split()[:150])
    items = [
        ("https://site.example/markets/1", "Shares rise on rate hopes", "Shares rose on Monday as"),
        ("https://site.example/markets/2", "Oil falls for a third day", "Oil prices fell again as"),
    ]
    stored = [
        store(settings, article(url, f"{lead} traders weighed the news.\n\n{footer}", title=title))
        for url, title, lead in items
    ]
    assert [ref.duplicate_of for ref in stored] == [None, None]
    url, title, lead = items[0]
    again = store(
        settings,
        article(url + "?amp=1", f"{lead} traders weighed the news.\n\n{footer}", title=title),
    )
    assert again.duplicate_of == stored[0].article_id
    # Across sites the text alone decides: wire copies get new headlines.
    wire = store(
        settings,
        article("https://other.example/x", f"{lead} traders weighed the news.\n\n{footer}"),
    )
    assert wire.duplicate_of == stored[0].article_id


def test_a_reprocessed_page_naming_another_rows_url_updates_its_own_row(
    any_db_settings: Settings,
) -> None:
    from tests.test_store import page

    settings = any_db_settings
    with session_scope(settings) as session:
        page_id = save_raw_page(session, page=page())
    mine = store(settings, article("https://news.example/amp/a", plumes(), page_id=page_id))
    other = store(settings, article("https://news.example/b", helicopter()))
    # The new extractor reads the page's canonical link as b's URL.
    redone = store(
        settings,
        article(
            "https://news.example/b",
            plumes(),
            page_id=page_id,
            article_id=mine.article_id,
            title="Reprocessed",
        ),
    )
    assert redone.article_id == mine.article_id
    assert redone.canonical_url == "https://news.example/amp/a"
    with session_scope(settings) as session:
        assert get_article(session, article_id=mine.article_id).title == "Reprocessed"
        kept = get_article(session, article_id=other.article_id)
        assert (kept.title, kept.body) == ("Story at https://news.example/b", helicopter())
