"""``newsflow search``: stored articles by the words of their titles and bodies, best first."""

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from .console import Column, console, error_exit, print_listing, settings_with_database
from .options import LanguageOption, SourceOption, UniqueOption
from .reprocess import parse_since

if TYPE_CHECKING:
    from pipeline.store.search import Hit


def search(
    query: Annotated[
        str,
        typer.Argument(
            help='Words (all must be there), "a phrase", OR between two, -word to leave out.'
        ),
    ],
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Only articles published on or after DATE (ISO; stored, for an article "
            "with no date).",
        ),
    ] = None,
    source: SourceOption = None,
    language: LanguageOption = None,
    unique: UniqueOption = False,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, best first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Search stored articles' titles and bodies: ranked, with the passage that matched."""
    from pipeline.errors import InvalidRequest
    from pipeline.store.db import session_scope
    from pipeline.store.search import search_articles
    from pipeline.store.selections import from_source

    moment = parse_since(since) if since else None
    settings = settings_with_database()
    try:
        with session_scope(settings) as session:
            hits = search_articles(
                session,
                query=query,
                since=moment,
                conditions=[from_source(session, source)] if source else None,
                language=language,
                unique=unique,
                limit=limit,
            )
    except InvalidRequest as error:
        raise error_exit(str(error)) from error
    items = [hit_json(hit) for hit in hits]
    if not items and not as_json:
        console.print(f"no article matches {query!r}")
        return
    print_listing(
        items, f"{len(items)} best match(es) for {query!r}", COLUMNS, cells, as_json=as_json
    )


COLUMNS = (
    Column("id", record="[bold]#{}[/bold]"),
    Column("published", drop=2),
    Column("lang", drop=1),
    Column("duplicate of", record="duplicate of {}"),
    Column("title", "shorten"),
    Column("url", "whole"),
    Column("passage", "shorten", lines=3),
)


def hit_json(hit: "Hit") -> dict[str, Any]:
    return {
        "id": hit.article_id,
        "title": hit.title,
        "canonical_url": hit.canonical_url,
        "published_at": hit.published_at.isoformat() if hit.published_at else None,
        "language": hit.language,
        "duplicate_of": hit.duplicate_of,
        "score": hit.score,
        "snippet": hit.snippet,
    }


def cells(item: dict[str, Any]) -> list[str]:
    """The title, the URL (whole, so that it can be copied) and the passage that matched."""
    from pipeline.store.search import MARK_END, MARK_START

    passage = escape(item["snippet"]).replace(escape(MARK_START), "[bold yellow]")
    passage = passage.replace(escape(MARK_END), "[/bold yellow]")
    return [
        str(item["id"]),
        (item["published_at"] or "")[:10],
        item["language"] or "",
        str(item["duplicate_of"] or ""),
        f"[bold]{escape(item['title'] or '(no title)')}[/bold]",
        escape(item["canonical_url"]),
        passage,
    ]
