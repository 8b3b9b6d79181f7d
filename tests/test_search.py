"""Full-text search on SQLite (FTS5) and PostgreSQL (tsvector), kept current by the database."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from pipeline.errors import InvalidRequest
from pipeline.models import Article
from pipeline.settings import Settings
from pipeline.store.articles import upsert_article
from pipeline.store.db import get_engine, session_scope
from pipeline.store.search import Terms, fts5_query, parse_terms, search_articles
from workers.cli import app as cli

STORIES = {
    "haftar": (
        "Haftar's forces advance on the capital",
        "en",
        "Forces loyal to Khalifa Haftar advanced on Tripoli on Monday, officials said. "
        "The fighting displaced thousands of families living in the southern districts.",
    ),
    "budget": (
        "City council approves the budget",
        "en",
        "The council voted to approve the budget after a long debate about housing. "
        "Councillors said the new housing programme would be funded by bonds, and that the "
        "first homes would be ready for their tenants before the end of next year, when the "
        "old estate by the river is due to be pulled down.",
    ),
    "wahlen": (
        "Die Wahlen in Bayern",
        "de",
        "Bei den Wahlen in Bayern hat die Regierungspartei deutlich verloren. "
        "Die Wählerinnen und Wähler stimmten für einen Wechsel in der Landesregierung.",
    ),
    "klima": (
        "Klimawandel bedroht die Alpen",
        "de",
        "Der Klimawandel lässt die Gletscher der Alpen schneller schmelzen als erwartet. "
        "Forscher warnen vor Folgen für die Wasserversorgung der Städte.",
    ),
}


def _store(settings: Settings, key: str, **changes: object) -> int:
    title, language, body = STORIES[key]
    values: dict[str, object] = {
        "url": f"https://news.example/{key}",
        "canonical_url": f"https://news.example/{key}",
        "title": title,
        "language": language,
        "body": body,
        "published_at": datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
        "word_count": len(body.split()),
        "extractor_version": "test+1",
    }
    values.update(changes)
    with session_scope(settings) as session:
        return upsert_article(session, article=Article.model_validate(values)).article_id


def _ids(settings: Settings, query: str, **options: object) -> list[int]:
    with session_scope(settings) as session:
        return [hit.article_id for hit in search_articles(session, query=query, **options)]


@pytest.fixture
def stored(any_db_settings: Settings) -> dict[str, int]:
    return {key: _store(any_db_settings, key) for key in STORIES}


def test_words_in_english_and_german_find_their_articles(
    any_db_settings: Settings, stored: dict[str, int]
) -> None:
    assert _ids(any_db_settings, "Haftar") == [stored["haftar"]]
    assert _ids(any_db_settings, "Tripoli fighting") == [stored["haftar"]]
    assert _ids(any_db_settings, "Gletscher") == [stored["klima"]]
    assert _ids(any_db_settings, "Bayern") == [stored["wahlen"]]
    # English stemming on both backends: "approving" finds "approve", "families" "family".
    assert _ids(any_db_settings, "approving") == [stored["budget"]]
    assert _ids(any_db_settings, "family") == [stored["haftar"]]
    # Accents: folded by SQLite's tokenizer; PostgreSQL's German stemmer reads them as words.
    assert stored["wahlen"] in _ids(any_db_settings, "Wähler")
    assert _ids(any_db_settings, "nothing-like-this") == []


def test_german_stemming_where_the_backend_has_it(
    any_db_settings: Settings, stored: dict[str, int]
) -> None:
    stemmed = _ids(any_db_settings, "Wahl")  # the singular; the article says "Wahlen"
    if get_engine(any_db_settings.database).dialect.name == "postgresql":
        assert stemmed == [stored["wahlen"]]
    else:
        assert stemmed == []  # SQLite's Porter stemmer is English's: German is word for word
        assert _ids(any_db_settings, "Wahler") == [stored["wahlen"]]  # accents folded
    assert _ids(any_db_settings, "Wahlen") == [stored["wahlen"]]


def test_results_are_ranked_and_snippets_mark_the_words(
    any_db_settings: Settings, stored: dict[str, int]
) -> None:
    # "housing" twice in the budget story, once in a new one that mentions it in passing.
    passing = _store(
        any_db_settings,
        "haftar",
        url="https://news.example/other",
        canonical_url="https://news.example/other",
        title="Markets open lower",
        body="Shares fell on Monday for a second day. Analysts pointed to weak housing data "
        "from the United States and to oil prices, which rose for a third day after the "
        "producers said they would cut their output again in the first months of next year, "
        "and traders expected the central bank to wait before its next move.",
    )
    with session_scope(any_db_settings) as session:
        hits = search_articles(session, query="housing", limit=10)
    assert [hit.article_id for hit in hits] == [stored["budget"], passing]
    assert hits[0].score > hits[1].score
    assert "<mark>housing</mark>" in hits[0].snippet.lower()
    assert hits[0].title == "City council approves the budget"
    # A word in the title counts for more than the same word in a body.
    assert _ids(any_db_settings, "council", limit=10)[0] == stored["budget"]


def test_query_syntax_phrases_or_and_exclusions(
    any_db_settings: Settings, stored: dict[str, int]
) -> None:
    assert _ids(any_db_settings, '"southern districts"') == [stored["haftar"]]
    assert _ids(any_db_settings, '"districts southern"') == []
    assert sorted(_ids(any_db_settings, "Haftar OR Gletscher")) == sorted(
        [stored["haftar"], stored["klima"]]
    )
    # OR joins the two terms beside it, then the next term must be there too (both backends).
    assert _ids(any_db_settings, "Tripoli OR Gletscher Alpen") == [stored["klima"]]
    assert _ids(any_db_settings, "Monday -Tripoli") == []
    assert _ids(any_db_settings, "Monday --Tripoli") == []  # still a word left out
    assert _ids(any_db_settings, "Haftar or Gletscher") == []  # "or" is a word, not OR
    assert _ids(any_db_settings, "the council -Tripoli") == [stored["budget"]]
    # Whatever a user types is words, never the engine's own syntax.
    assert _ids(any_db_settings, 'Haftar* (Tripoli): "') == [stored["haftar"]]
    with pytest.raises(InvalidRequest, match="at least one word"):
        _ids(any_db_settings, ' -- "" ')


def test_filters_language_since_unique(any_db_settings: Settings, stored: dict[str, int]) -> None:
    german = {stored["wahlen"], stored["klima"]}
    assert set(_ids(any_db_settings, "Alpen OR Bayern", language="de", limit=10)) == german
    assert _ids(any_db_settings, "Haftar", language="de") == []
    old = _store(
        any_db_settings,
        "budget",
        url="https://news.example/old-budget",
        canonical_url="https://news.example/old-budget",
        published_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    assert set(_ids(any_db_settings, "budget", limit=10)) == {stored["budget"], old}
    since = datetime(2026, 1, 1, tzinfo=UTC)
    assert _ids(any_db_settings, "budget", since=since, limit=10) == [stored["budget"]]
    # The old copy has the same body: it is a duplicate of the first one stored.
    assert _ids(any_db_settings, "budget", unique=True, limit=10) == [stored["budget"]]


def test_new_and_reprocessed_articles_are_found_without_a_rebuild(
    any_db_settings: Settings, stored: dict[str, int]
) -> None:
    later = _store(
        any_db_settings,
        "klima",
        url="https://news.example/later",
        canonical_url="https://news.example/later",
        title="Floods in Valencia",
        body="Heavy rain flooded the streets of Valencia overnight, and the regional "
        "government opened shelters for residents of the lowest neighbourhoods.",
    )
    assert _ids(any_db_settings, "Valencia") == [later]
    # Reprocessed: the same row, stored again with a body the extractor now reads better.
    body = STORIES["budget"][2]
    _store(
        any_db_settings,
        "budget",
        article_id=stored["budget"],
        body=body + " The mayor thanked the volunteers of the library.",
    )
    assert _ids(any_db_settings, "volunteers library") == [stored["budget"]]
    _store(any_db_settings, "budget", article_id=stored["budget"], body="Housing only now.")
    assert _ids(any_db_settings, "volunteers") == []
    assert _ids(any_db_settings, "housing") == [stored["budget"]]


def test_the_migration_indexes_articles_stored_before_it(any_db_settings: Settings) -> None:
    from alembic import command

    from pipeline.store.db import alembic_config

    first = _store(any_db_settings, "haftar")
    config = alembic_config(any_db_settings.database)
    command.downgrade(config, "0006")
    with get_engine(any_db_settings.database).begin() as connection:
        connection.execute(
            text("UPDATE article SET body = body || ' Written before the index.' WHERE id = :id"),
            {"id": first},
        )
    command.upgrade(config, "head")
    assert _ids(any_db_settings, "Haftar written index") == [first]


def test_terms_and_fts5_query() -> None:
    assert parse_terms('climate "sea level" OR tides -oil') == Terms(
        groups=(("climate",), ("sea level", "tides")), excluded=("oil",)
    )
    assert fts5_query(parse_terms('a"b OR c')) == '(("a""b" OR "c"))'
    assert fts5_query(parse_terms("x -y")) == '(("x")) NOT "y"'


def test_search_command_prints_ranked_results_and_json(
    any_db_settings: Settings, stored: dict[str, int]
) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["search", "housing", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert [hit["id"] for hit in hits] == [stored["budget"]]
    assert hits[0]["canonical_url"] == "https://news.example/budget"
    assert "<mark>" in hits[0]["snippet"]
    assert hits[0]["score"] > 0

    result = runner.invoke(cli, ["search", "Haftar", "--source", "news.example", "--limit", "5"])
    assert result.exit_code == 0, result.output
    assert "Haftar" in result.output and "news.example/haftar" in result.output

    result = runner.invoke(cli, ["search", "Haftar", "--source", "elsewhere.example"])
    assert result.exit_code == 0, result.output
    assert "no article matches" in result.output

    result = runner.invoke(cli, ["search", "--", "-only-excluded"])
    assert result.exit_code != 0
    assert "at least one word" in result.output


def test_a_huge_body_is_stored_and_found(any_db_settings: Settings) -> None:
    # 40,000 distinct words: more than PostgreSQL's 1 MB tsvector would hold whole.
    words = " ".join(hashlib.md5(str(n).encode()).hexdigest() for n in range(40_000))
    huge = _store(
        any_db_settings,
        "haftar",
        url="https://news.example/huge",
        canonical_url="https://news.example/huge",
        body="Zanzibar opens its archive. " + words,
    )
    assert _ids(any_db_settings, "Zanzibar archive") == [huge]
