"""Full-text search over stored articles' titles and bodies, with each backend's own engine.

- **PostgreSQL**: a ``tsvector`` column generated from the title (weighted higher) and the body,
  in the text-search configuration of the article's language where PostgreSQL has one
  (``english``, ``german``, ... : stemmed), ``simple`` otherwise; a GIN index on it. A query is
  read in every configuration at once, so that a word finds its articles in any language.
- **SQLite**: an FTS5 table over the same two columns (Porter stemming, which is English's;
  other languages match word for word, accents folded), ranked by BM25.

Both are kept current by the database itself (a generated column; triggers), so every write of
an article (the store stage, a reprocessing) is searchable as it commits. Migration 0007 builds
them, for the articles already stored too. They are not in ``tables.py``: :func:`include_object`
keeps Alembic's comparison of the code's tables and the database's from counting them.

As everywhere in the store: keyword-only functions over an open session; none of them commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import reduce
from typing import Any

from sqlalchemy import (
    ColumnElement,
    case,
    column,
    func,
    literal,
    literal_column,
    table,
)
from sqlalchemy import select as sql_select
from sqlalchemy import text as text_sql
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col

from pipeline.errors import InvalidRequest
from pipeline.store.selections import dated_since
from pipeline.store.tables import ArticleRow

# PostgreSQL's text-search configurations, by the ISO 639-1 code the extract stage gives.
# Migration 0007 uses those the server has; the rest are indexed as `simple`.
TEXT_SEARCH_CONFIGS = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "nb": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}

# The objects of the search index, made by migration 0007 rather than by tables.py.
FTS_TABLE = "article_fts"  # SQLite; FTS5 adds its own article_fts_* tables beside it
VECTOR_COLUMN = "search_vector"  # PostgreSQL
VECTOR_INDEX = "ix_article_search_vector"

# Where a snippet marks a word the query found.
MARK_START, MARK_END = "<mark>", "</mark>"
_SNIPPET_WORDS = 24


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """For Alembic's comparison: leave out the search index's objects, which tables.py does
    not define."""
    if type_ == "table" and name is not None and name.startswith(FTS_TABLE):
        return False
    if type_ == "column" and name == VECTOR_COLUMN:
        return False
    return not (type_ == "index" and name == VECTOR_INDEX)


@dataclass(frozen=True)
class Hit:
    """One article a search found: what a list of results shows, best first."""

    article_id: int
    title: str | None
    canonical_url: str
    published_at: datetime | None
    language: str | None
    duplicate_of: int | None
    score: float  # higher is better; comparable within one search only
    snippet: str  # the best passage, found words between MARK_START and MARK_END


@dataclass(frozen=True)
class Terms:
    """A query as the user wrote it, in the small syntax both backends read alike: words (all
    must be there), ``"a phrase"``, ``OR`` between two of those, and ``-word`` for a word that
    must not be there."""

    groups: tuple[tuple[str, ...], ...]  # all groups must match; any item of a group does
    excluded: tuple[str, ...]


_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def parse_terms(query: str) -> Terms:
    groups: list[list[str]] = []
    excluded: list[str] = []
    pending_or = False
    for match in _TOKEN.finditer(query):
        negated, phrase, word = match.group(1), match.group(2), match.group(3)
        if word is not None and word == "OR":
            pending_or = bool(groups)
            continue
        if word is not None and word.startswith("-") and len(word) > 1:
            negated, word = "-", word[1:]
        item = " ".join((phrase if phrase is not None else word or "").split())
        if not _has_word(item):
            continue
        if negated:
            excluded.append(item)
        elif pending_or:
            groups[-1].append(item)
        else:
            groups.append([item])
        pending_or = False
    if not groups:
        raise InvalidRequest(f"nothing to search for in {query!r}: give at least one word")
    return Terms(tuple(tuple(group) for group in groups), tuple(excluded))


def _has_word(text: str) -> bool:
    return any(character.isalnum() for character in text)


def search_articles(
    session: Session,
    *,
    query: str,
    since: datetime | None = None,
    conditions: list[ColumnElement[bool]] | None = None,
    language: str | None = None,
    unique: bool = False,
    limit: int = 20,
) -> list[Hit]:
    """The stored articles that match ``query``, best first, at most ``limit``.

    ``since``: published since then (or, with no publication date, stored since then).
    ``conditions``: more WHERE clauses on the article (a source, from
    :mod:`pipeline.store.selections`). ``unique``: originals only, no duplicates.
    """
    terms = parse_terms(query)
    where = list(conditions or [])
    if since is not None:
        where.append(dated_since(since))
    if language:
        where.append(col(ArticleRow.language) == language.lower())
    if unique:
        where.append(col(ArticleRow.duplicate_of).is_(None))
    if session.get_bind().dialect.name == "postgresql":
        return _postgresql(session, terms, where, language, limit)
    return _sqlite(session, terms, where, limit)


def _columns() -> tuple[Any, ...]:
    return (
        col(ArticleRow.id),
        col(ArticleRow.title),
        col(ArticleRow.canonical_url),
        col(ArticleRow.published_at),
        col(ArticleRow.language),
        col(ArticleRow.duplicate_of),
    )


def _hit(row: Any, score: float, snippet: str | None) -> Hit:
    return Hit(
        article_id=row[0],
        title=row[1],
        canonical_url=row[2],
        published_at=row[3],
        language=row[4],
        duplicate_of=row[5],
        score=round(float(score), 6),
        snippet=" ".join((snippet or "").split()),
    )


# --- SQLite: FTS5 -------------------------------------------------------------------------


def fts5_query(terms: Terms) -> str:
    """The terms in FTS5's query language, every word quoted: nothing the user types is read
    as FTS5 syntax (a column name, a colon, a star)."""

    def quoted(text: str) -> str:
        return '"' + text.replace('"', '""') + '"'

    wanted = " AND ".join(
        "(" + " OR ".join(quoted(item) for item in group) + ")" for group in terms.groups
    )
    return "".join([f"({wanted})", *(f" NOT {quoted(item)}" for item in terms.excluded)])


def _sqlite(
    session: Session, terms: Terms, where: list[ColumnElement[bool]], limit: int
) -> list[Hit]:
    index: Any = literal_column(FTS_TABLE)
    entries = table(FTS_TABLE, column("rowid"))
    matches = index.op("MATCH")(fts5_query(terms))
    # BM25 with the title weighing five times the body; lower is better in SQLite's sign.
    rank = func.bm25(index, 5.0, 1.0)
    best = (
        sql_select(*_columns(), rank)
        .select_from(ArticleRow)
        .join(entries, entries.c.rowid == col(ArticleRow.id))
        .where(matches, *where)
        .order_by(rank, col(ArticleRow.id).desc())
        .limit(limit)
    )
    try:
        rows = session.execute(best).all()
    except OperationalError as error:
        if f"no such table: {FTS_TABLE}" in str(error.orig):
            raise InvalidRequest(
                "this database has no search index: run `newsflow db upgrade`"
            ) from error
        raise
    if not rows:
        return []
    # Snippets of the rows shown only: in the ranking query SQLite would make one for every
    # match before sorting them.
    snippet = func.snippet(index, 1, MARK_START, MARK_END, "…", _SNIPPET_WORDS)
    passages = dict(
        session.execute(
            sql_select(entries.c.rowid, snippet)
            .select_from(entries)
            .where(matches, entries.c.rowid.in_([row[0] for row in rows]))
        ).all()
    )
    return [_hit(row, -row[6], passages.get(row[0])) for row in rows]


# --- PostgreSQL: tsvector -----------------------------------------------------------------


def config_case(language: Any, configs: list[str]) -> Any:
    """The text-search configuration of an article's language, as a SQL expression."""
    known = [(code, name) for code, name in TEXT_SEARCH_CONFIGS.items() if name in configs]
    return case(
        *((language == code, literal_column(f"'{name}'::regconfig")) for code, name in known),
        else_=literal_column("'simple'::regconfig"),
    )


def server_configs(session: Session) -> list[str]:
    """The text-search configurations this PostgreSQL server has."""
    return [str(name) for (name,) in session.execute(text_sql("SELECT cfgname FROM pg_ts_config"))]


def _tsquery(session: Session, terms: Terms, configs: list[str]) -> str:
    """The terms as one tsquery, read in each configuration: an article is indexed in its
    language's configuration, and the query's language is not known. Each word or phrase is
    read on its own (``phraseto_tsquery``: no operator of PostgreSQL's own syntax) and the
    terms are joined as SQLite joins them; a word a configuration drops (a stop word) drops out
    of that reading only. What is wanted may match in any reading; what is left out is left
    out in every reading. Most configurations read a query alike: the distinct readings only,
    so that the index is asked a few times, not 29."""

    def readings(groups: list[list[str]]) -> str:
        params: dict[str, Any] = {"configs": configs}

        def item(text: str) -> str:
            name = f"t{len(params)}"
            params[name] = text
            return f"phraseto_tsquery(c.config, :{name})"

        def joined(function: str, parts: list[str]) -> str:
            return reduce(lambda left, right: f"{function}({left}, {right})", parts)

        query = joined(
            "tsquery_and",
            [joined("tsquery_or", [item(text) for text in group]) for group in groups],
        )
        found = session.execute(
            text_sql(
                f"SELECT DISTINCT CAST({query} AS text) FROM (SELECT CAST(name AS regconfig)"
                " AS config FROM unnest(CAST(:configs AS text[])) AS name) AS c"
            ),
            params,
        )
        return " | ".join(f"( {part} )" for part in sorted(text for (text,) in found if text))

    wanted = readings([list(group) for group in terms.groups])
    if not wanted:
        raise InvalidRequest(
            "every word of the query is too common to search for (a, the, und...): give others"
        )
    excluded = readings([list(terms.excluded)]) if terms.excluded else ""
    return f"( {wanted} ) & !( {excluded} )" if excluded else wanted


def _postgresql(
    session: Session,
    terms: Terms,
    where: list[ColumnElement[bool]],
    language: str | None,
    limit: int,
) -> list[Hit]:
    available = server_configs(session)
    wanted = TEXT_SEARCH_CONFIGS.get((language or "").lower())
    if wanted in available:
        configs = [wanted, "simple"]
    else:
        configs = sorted({name for name in TEXT_SEARCH_CONFIGS.values() if name in available})
        configs.append("simple")
    query = literal(_tsquery(session, terms, configs)).cast(TSQUERY)
    vector: Any = literal_column(f"article.{VECTOR_COLUMN}")
    rank = func.ts_rank(vector, query)
    rows = session.execute(
        sql_select(*_columns(), rank)
        .where(vector.op("@@")(query), *where)
        .order_by(rank.desc(), col(ArticleRow.id).desc())
        .limit(limit)
    ).all()
    if not rows:
        return []
    # Headlines of the rows shown only: ts_headline reads the whole body.
    headline = func.ts_headline(
        config_case(col(ArticleRow.language), available),
        col(ArticleRow.body),
        query,
        f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={_SNIPPET_WORDS}, MinWords=12",
    )
    passages = dict(
        session.execute(
            sql_select(col(ArticleRow.id), headline).where(
                col(ArticleRow.id).in_([row[0] for row in rows])
            )
        ).all()
    )
    return [_hit(row, row[6], passages.get(row[0])) for row in rows]
