"""JSON Feed (jsonfeed.org, 1.0 and 1.1), which feedparser does not read, read with ``json``."""

from __future__ import annotations

import json
from typing import Any

from pipeline.errors import MalformedFeed
from pipeline.feeds.fields import cap, html_text, squash, w3c_date, web_url
from pipeline.models import FeedEntry, ParsedFeed

__all__ = ["looks_like_json", "parse_json_feed"]


def looks_like_json(content: bytes) -> bool:
    """Whether the document is a JSON object, judged by its first byte.

    By the bytes, not the Content-Type: servers label feeds wrongly in both directions.
    """
    return content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def parse_json_feed(content: bytes, *, url: str) -> ParsedFeed:
    """A JSON Feed's items with a web URL, each once; ``MalformedFeed`` for other JSON."""
    try:
        document = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise MalformedFeed(f"{url}: not a feed or sitemap (invalid JSON: {error})") from error
    if not isinstance(document, dict) or not (
        "jsonfeed.org/version/" in str(document.get("version", ""))
        or isinstance(document.get("items"), list)
    ):
        raise MalformedFeed(f"{url}: not a feed or sitemap (JSON, but not a JSON Feed)")
    items = document.get("items")
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        link = web_url(_string(item.get("url")) or _string(item.get("external_url")), base=url)
        if link is None or link in seen:
            continue
        seen.add(link)
        summary = _string(item.get("summary")) or _string(item.get("content_text"))
        if summary is None and _string(item.get("content_html")):
            summary = html_text(str(item["content_html"]))
        entries.append(
            FeedEntry(
                url=link,
                title=squash(_string(item.get("title"))),
                published=w3c_date(
                    _string(item.get("date_published")) or _string(item.get("date_modified"))
                ),
                author=_author(item) or _author(document),
                summary=cap(squash(summary)),
            )
        )
    return ParsedFeed(
        kind="json", title=squash(_string(document.get("title"))), entries=tuple(entries)
    )


def _author(holder: dict[str, Any]) -> str | None:
    # 1.1 has a list of authors, 1.0 a single author.
    authors = holder.get("authors")
    candidates = authors if isinstance(authors, list) else [holder.get("author")]
    names = [
        squash(_string(author.get("name"))) for author in candidates if isinstance(author, dict)
    ]
    return ", ".join(name for name in names if name) or None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
