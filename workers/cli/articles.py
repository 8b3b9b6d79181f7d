"""``newsflow extract``, ``articles`` and ``article``: one document read, stored ones shown."""

from typing import Annotated, Any

import typer
from rich.markup import escape

from .console import (
    Column,
    console,
    error_exit,
    print_facts,
    print_json,
    print_listing,
    print_paragraphs,
    settings_with_database,
)
from .options import UniqueOption


def extract(
    source: Annotated[str, typer.Argument(help="A file or an http(s) URL.")],
    url: Annotated[
        str | None, typer.Option(help="The page's address, for a file saved from the web.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the article as one JSON object.")
    ] = False,
) -> None:
    """Clean and extract one document and print the article; no database, no queue."""
    from pipeline.clean.html import clean
    from pipeline.errors import NewsflowError
    from pipeline.extract.article import extract as extract_article
    from pipeline.fetch.fetcher import make_fetcher
    from pipeline.models import article_json
    from pipeline.settings import get_settings

    settings = get_settings()
    try:
        # Polite like a worker: robots.txt and the host's rate (shared through Redis when it
        # answers), waiting for the host's turn rather than failing.
        with make_fetcher(settings) as fetcher:
            fetched = fetcher.fetch(source)
        document = clean(fetched.text, fetched.page.kind, url=url or fetched.page.url)
        article = extract_article(document)
    except NewsflowError as error:
        raise error_exit(f"{error.reason}: {error}") from error
    data = article_json(article)
    if as_json:
        print_json(data)
    else:
        print_article(data)


def articles(
    limit: Annotated[int, typer.Option(min=1, help="How many, most recently stored first.")] = 20,
    unique: UniqueOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List stored articles; a duplicate names its first-seen original (`duplicate_of`)."""
    from pipeline.store.articles import count_articles, list_articles, stored_json
    from pipeline.store.db import session_scope

    settings = settings_with_database()
    with session_scope(settings) as session:
        rows = list_articles(session, limit=limit, unique=unique)
        items = [stored_json(row) for row in rows]
        total = count_articles(session, unique=unique)
    title = f"{'unique articles' if unique else 'articles'} ({len(items)} of {total})"
    print_listing(items, title, ARTICLE_COLUMNS, article_cells, as_json=as_json)


ARTICLE_COLUMNS = (
    Column("id", record="[bold]#{}[/bold]"),
    Column("title", "shorten"),
    Column("published", drop=1),
    Column("lang", drop=2),
    Column("words", drop=3, record="{} words"),
    Column("duplicate of", record="duplicate of {}"),
    Column("url", "whole"),
)


def article_cells(item: dict[str, Any]) -> list[str]:
    """One stored article as ``articles`` lists it."""
    return [
        str(item["id"]),
        escape(item["title"] or ""),
        (item["published_at"] or "")[:10],
        item["language"] or "",
        str(item["word_count"]),
        str(item["duplicate_of"] or ""),
        escape(item["canonical_url"] or ""),
    ]


def article(
    article_id: Annotated[int, typer.Argument(metavar="ID")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show one stored article."""
    from pipeline.errors import NewsflowError
    from pipeline.store.articles import duplicates_of, get_article, stored_json
    from pipeline.store.db import session_scope

    settings = settings_with_database()
    with session_scope(settings) as session:
        try:
            row = get_article(session, article_id=article_id)
        except NewsflowError as error:
            raise error_exit(str(error)) from error
        data = stored_json(row)
        data["duplicates"] = duplicates_of(session, article_id=article_id)
    if as_json:
        print_json(data)
    else:
        print_article(data)


def print_article(data: dict[str, Any]) -> None:
    """The title, the URL whole on a line of its own (to be copied), each fact that has a
    value under its label, then the body, its paragraphs wrapped between words."""
    from rich.text import Text

    console.print(Text(data["title"] or "(no title)", style="bold"))
    console.print(data["canonical_url"] or data["url"] or "", soft_wrap=True, markup=False)
    console.print()
    print_facts(
        [
            ("id", data["id"]),
            ("authors", ", ".join(data["authors"])),
            ("agencies", ", ".join(data["agencies"])),
            ("published", dated(data["published_at"], data["published_precision"])),
            ("section", data["section"]),
            ("tags", ", ".join(data["tags"])),
            ("language", data["language"]),
            ("site", data["site_name"]),
            ("words", data["word_count"]),
            ("duplicate of", data.get("duplicate_of")),
            ("duplicates", ", ".join(map(str, data.get("duplicates") or ()))),
            ("extractor", data["extractor_version"]),
        ]
    )
    console.print()
    print_paragraphs(data["body"])


def dated(value: str | None, precision: str | None) -> str | None:
    """A date as precise as its source: the day alone when only the day is known."""
    if not value:
        return None
    if precision == "day":
        return value[:10]
    if precision == "captured":
        return f"{value} (not stated: when an archive captured the page)"
    return f"{value} (no zone given)" if precision == "local-time" else value
