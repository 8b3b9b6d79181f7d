"""Boilerplate removal for pages saved as plain text.

A scraper's text dump keeps the page furniture as lines: menus and share buttons as bullets,
a breadcrumb, photo captions (often twice, once with a credit), "RELATED:" teasers, a
"Published ..." line and a comment widget. The rules here go by the shape of a line, a small
vocabulary of link-like words and repetition, never by any one site's strings. What is removed
but informative (breadcrumbs, captions, teasers, the date) is kept apart.

This module assembles the document from lines already classified
(:mod:`pipeline.clean.textlines`): where the story starts and ends, its title, the repeats that
are dropped or are its standfirst, and the date and byline it keeps.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.clean.datelines import UPDATE_LABEL
from pipeline.clean.textlines import (
    BREADCRUMB_SEPARATOR,
    Line,
    classify,
    is_headline,
    is_prose,
    lowercase_words,
    mark_captions,
    mark_related,
    read_lines,
)
from pipeline.extract.bylines import credits
from pipeline.models import CleanedDocument, Image, Link


def clean_text(text: str, *, url: str | None = None, page_id: int | None = None) -> CleanedDocument:
    """Split a plain-text page into the article and the furniture around it."""
    lines = read_lines(text)
    for line in lines:
        classify(line)
    mark_captions(lines)
    mark_related(lines)
    body_indexes = [
        i for i, line in enumerate(lines) if line.kind == "body" and is_prose(line.text)
    ]
    start = body_indexes[0] if body_indexes else len(lines)
    end = body_indexes[-1] if body_indexes else -1

    title = None
    for line in lines[:start]:
        if line.kind == "unknown" and is_headline(line.text):
            title = line.text
            line.kind = "title"
            break

    paragraphs: list[str] = []
    for index, line in enumerate(lines):
        if line.kind in {"body", "unknown"} and start <= index <= end:
            paragraphs.append(line.text)
    paragraphs, description = _drop_repeats(paragraphs)

    breadcrumbs: list[str] = []
    for line in lines:
        if line.kind == "breadcrumb" and not breadcrumbs:
            breadcrumbs = [part.strip() for part in BREADCRUMB_SEPARATOR.split(line.text)]
    images = _dedupe_images(
        Image(caption=line.meta.get("caption"), credit=line.meta.get("credit") or None)
        for line in lines
        if line.kind == "caption"
    )
    related = tuple(
        dict.fromkeys(Link(title=line.meta["title"]) for line in lines if line.kind == "related")
    )
    date_text = _date_text(lines, start)
    authors, agencies = next(
        (credits(line.meta["names"]) for line in lines[:start] if line.kind == "byline"),
        ([], []),
    )
    return CleanedDocument(
        page_id=page_id,
        url=url,
        kind="text",
        title=title,
        description=description,
        authors=tuple(authors),
        agencies=tuple(agencies),
        paragraphs=tuple(paragraphs),
        images=images,
        related=related,
        breadcrumbs=tuple(breadcrumbs),
        date_text=date_text,
    )


def _date_text(lines: list[Line], start: int) -> str | None:
    """The publication date's line: one labelled as published, or a bare date above the
    body (under the byline, as pages set it); never one labelled as an update."""
    for index, line in enumerate(lines):
        if line.kind != "date" or UPDATE_LABEL.search(line.meta.get("label", "")):
            continue
        if "label" in line.meta or index < start:
            return line.meta["date"]
    return None


def _drop_repeats(paragraphs: list[str]) -> tuple[list[str], str | None]:
    """Drop paragraphs that repeat another; a lead repeated later in the body is the summary."""
    kept: list[str] = []
    description = None
    seen: set[str] = set()
    for index, paragraph in enumerate(paragraphs):
        words = lowercase_words(paragraph)
        key = " ".join(words)
        if key in seen:
            continue
        seen.add(key)
        # A lead that a longer paragraph below repeats and extends is the standfirst, not body;
        # an exact repeat is caught above, keeping its first place.
        # Only the first paragraph can be a standfirst; later near-repeats are the story's own.
        if (
            not kept
            and description is None
            and _extended_below(set(words), paragraphs[index + 1 :])
        ):
            description = paragraph
            continue
        kept.append(paragraph)
    return kept, description


def _extended_below(tokens: set[str], later: list[str]) -> bool:
    """A longer paragraph in ``later`` holds nine tenths of ``tokens`` and more."""
    if len(tokens) < 12:
        return False
    for paragraph in later:
        other = set(lowercase_words(paragraph))
        if (
            other != tokens
            and len(other) > len(tokens)
            and len(tokens & other) >= 0.9 * len(tokens)
        ):
            return True
    return False


# As many captioned images as the HTML path keeps; more would only cost time.
_MAX_IMAGES = 30


def _dedupe_images(images: Iterable[Image]) -> tuple[Image, ...]:
    result: list[Image] = []
    for image in images:
        for position, known in enumerate(result):
            if (
                known.caption
                and image.caption
                and (
                    known.caption.startswith(image.caption)
                    or image.caption.startswith(known.caption)
                )
            ):
                caption = max(known.caption, image.caption, key=len)
                result[position] = Image(caption=caption, credit=known.credit or image.credit)
                break
        else:
            if len(result) < _MAX_IMAGES:
                result.append(image)
    return tuple(result)
