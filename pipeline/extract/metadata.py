"""What a page says about itself: JSON-LD, OpenGraph, ``<meta>`` tags and ``<link>`` elements.

These are the publisher's own statements, usually more exact than anything inferred from the
layout (a full timestamp with its zone, a list of authors), so extraction asks them first.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import html as lxml_html
from trafilatura import metadata as trafilatura_metadata

from pipeline.extract.agencies import agency_of
from pipeline.extract.bylines import credits
from pipeline.extract.dates import read_dates
from pipeline.extract.markup import (
    article_node,
    as_list,
    first,
    ids,
    json_ld_nodes,
    meta_pairs,
    meta_values,
    resolved,
    text,
    types,
)
from pipeline.extract.titles import domain_label, headline, plain, shown_headlines
from pipeline.models import PageMetadata


@dataclass
class _Found:
    title: str | None = None
    description: str | None = None
    authors: list[str] = field(default_factory=list)
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    site_name: str | None = None
    canonical_url: str | None = None
    image: str | None = None
    language: str | None = None
    breadcrumbs: list[str] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)


def read_metadata(tree: lxml_html.HtmlElement, url: str | None = None) -> PageMetadata:
    """The page's statements about itself: JSON-LD first, then OpenGraph and ``<meta>``; where
    the page states nothing, trafilatura's title and byline finders and htmldate's date search.

    Call it before the tree is handed to the text extractor, which prunes it.
    """
    found = _statements(tree)
    headlines = _headlines(tree)
    site_name = found.site_name or trafilatura_metadata.extract_sitename(tree)
    if site_name and (plain(site_name) == plain(found.title) or len(site_name.split()) > 6):
        site_name = None  # a guess from the <title> that took the headline for the site
    outlets = (site_name or "", domain_label(url or found.canonical_url))
    if not found.title:
        found.title = trafilatura_metadata.extract_title(tree)
    authors, agencies = _credits(tree, found, outlets)
    dates = read_dates(tree, url)
    return PageMetadata(
        title=headline(found.title, outlets, shown_headlines(tree, found.title)),
        headlines=tuple(h for h in headlines if h),
        description=found.description,
        authors=tuple(authors),
        agencies=tuple(agencies),
        published=dates.published.at if dates.published else None,
        published_precision=dates.published.precision if dates.published else None,
        modified=dates.modified.at if dates.modified else None,
        section=found.section,
        tags=tuple(tag for tag in found.tags if plain(tag) != plain(found.title)),
        site_name=site_name,
        canonical_url=found.canonical_url,
        image=found.image,
        language=found.language,
        breadcrumbs=tuple(found.breadcrumbs),
    )


# -- authors and agencies --------------------------------------------------------------------

_AUTHOR_META = (
    "author",
    "article:author",
    "dc.creator",
    "dcterms.creator",
    "parsely-author",
    "sailthru.author",
    "byl",
    "citation_author",
)
# Where a byline element says what it is: class, id, itemprop or rel.
_BYLINE_HINT = re.compile(
    r"by-?line|author|autor|auteur|writer|journalist|reporter|contributor|posted-?by|"
    r"submitted-?by|creator|verfasser",
    re.I,
)
# What is about an author without being the byline, or is another's name (a commenter's).
_NOT_BYLINE = re.compile(
    r"comment|avatar|\bbio|biography|description|about|image|img|photo|share|social|"
    r"follow|more-?from|related|recommend|newsletter|widget|sidebar|teaser|popular|"
    r"reply|review|rating|caption|credit|gallery|footer|promo|tooltip",
    re.I,
)
_AUTHOR_PATH = re.compile(
    r"/(?:author|authors|autor|autoren|auteur|auteurs|autore|autori|journalist|journalists|"
    r"journalisten|columnists?|writers?|contributors?|reporters?|staff|profile|profiles|"
    r"redaktion|redakteur|byline)/[^/?#]+",
    re.I,
)


def _credits(
    tree: lxml_html.HtmlElement, found: _Found, outlets: tuple[str, ...]
) -> tuple[list[str], list[str]]:
    """(people, agencies) who wrote the story, from the most exact statement that names one.

    JSON-LD ``author`` first, then the ``author`` meta tags, then the page's byline elements,
    and trafilatura's byline finder last. Agencies are gathered from each statement read,
    since a wire story's structured author is often the agency and its byline the writer.
    """
    agencies = list(found.agencies)
    outlets = (*outlets, *_owners(tree))
    sources = (
        lambda: found.authors,
        lambda: [v for v in meta_values(tree, *_AUTHOR_META) if not v.startswith("http")],
        lambda: _byline_texts(tree),
        lambda: [part for part in (trafilatura_metadata.extract_author(tree) or "").split(";")],
    )
    own = {plain(outlet) for outlet in outlets if outlet}
    for source in sources:
        people: list[str] = []
        for byline in source():
            names, credited = credits(byline, outlets=outlets)
            people += [name for name in names if plain(name) not in own]
            agencies += credited
        if people or agencies:
            # A story credited to an agency alone is the agency's: no writer is guessed.
            return list(dict.fromkeys(people)), list(dict.fromkeys(agencies))
    return [], list(dict.fromkeys(agencies))


def _owners(tree: lxml_html.HtmlElement) -> list[str]:
    """Who holds the copyright ("Copyright (c) Condé Nast 2022"): the publisher, whose name
    some sites also give as every page's ``author``."""
    owners = []
    for notice in meta_values(tree, "copyright", "dc.rights", "dcterms.rights", "rights"):
        owner = re.sub(r"(?i)copyright|\(c\)|©|all rights reserved|\b\d{4}\b|[-,.]", " ", notice)
        owner = " ".join(owner.split())
        if owner and len(owner.split()) <= 5:
            owners.append(owner)
    return owners


def _byline_texts(tree: lxml_html.HtmlElement) -> list[str]:
    """The text of the page's first byline element, or of its author links.

    A byline element is one whose class, id, ``itemprop`` or ``rel`` says author or byline,
    outside comments, sidebars and lists of other stories; the outermost one first, since it
    holds all the names ("By <a>A</a> and <a>B</a>").
    """
    for element in tree.iter("*"):
        if not isinstance(element.tag, str) or element.tag in {"meta", "link", "script", "img"}:
            continue
        if not _authorish(element) or _aside(element):
            continue
        byline = " ".join(" ".join(element.itertext()).split())
        if not byline or len(byline) > 200:
            continue
        people, agencies = credits(byline)
        if people or agencies:
            return [_with_siblings(element, byline)]
    return []


def _aside(element: lxml_html.HtmlElement) -> bool:
    """Inside comments, a sidebar, a list of other stories or the navigation."""
    for parent in element.iterancestors():
        if parent.tag in {"body", "html"}:
            break  # whole-page classes say what the site runs ("f_ad_promo_on"), not where
        if parent.tag in {"aside", "nav"} or (parent.tag == "footer" and _site_wide(parent)):
            return True
        hint = " ".join(parent.get(name) or "" for name in ("class", "id"))
        if re.search(r"comment|sidebar|related|recommend|widget|teaser|popular|promo", hint, re.I):
            return True
    return False


def _site_wide(element: lxml_html.HtmlElement) -> bool:
    """Outside the article: a page's own footer, not an article's (which often holds the
    byline)."""
    return not any(ancestor.tag in {"article", "main"} for ancestor in element.iterancestors())


def _with_siblings(element: lxml_html.HtmlElement, byline: str) -> str:
    """The byline with the names beside it: "<a>A</a>, <a>B</a>" are two author links under
    one parent, and the parent's short text holds both."""
    parent = element.getparent()
    if parent is None or element.tag not in {"a", "span", "strong", "b"}:
        return byline
    # Only where the parent holds another author element: else its text is the byline's
    # neighbours ("by 深海 | カテゴリー 社会 | タグ 政治").
    others = [
        child
        for child in parent
        if child is not element and isinstance(child.tag, str) and _authorish(child)
    ]
    around = " ".join(" ".join(parent.itertext()).split())
    return around if others and len(around) <= 160 and byline in around else byline


def _authorish(element: lxml_html.HtmlElement) -> bool:
    hint = " ".join(element.get(name) or "" for name in ("class", "id", "itemprop", "rel"))
    linked = (
        element.tag == "a"
        and _AUTHOR_PATH.search(element.get("href") or "") is not None
        and _byline_sized(element.getparent())
    )
    return bool((_BYLINE_HINT.search(hint) or linked) and not _NOT_BYLINE.search(hint))


def _byline_sized(holder: lxml_html.HtmlElement | None) -> bool:
    """A link to a profile page is a byline only where it stands in a line of a byline's
    length ("By <a>Jane Doe</a>"): in a sentence of the story it names whom the story is
    about ("Tesla chief <a href=/profile/elon-musk>Elon Musk</a> said ...")."""
    return holder is not None and len(" ".join(holder.itertext()).split()) <= 15


def _headlines(tree: lxml_html.HtmlElement) -> list[str]:
    """Every form of the headline the page shows: its h1s, og:title, <title> and its first part."""
    # Only the first h1: later ones are often section headings within the story.
    found = [element.text_content() for element in tree.xpath("//h1")[:1]]
    found += tree.xpath('//meta[@property="og:title"]/@content')[:1]
    title = tree.findtext(".//title") or ""
    found += [title, *re.split(r"\s+[|–—-]\s+", title)[:1]]
    texts = [" ".join(str(text).split()) for text in found if text and str(text).strip()]
    return list(dict.fromkeys(texts))


def _statements(tree: lxml_html.HtmlElement) -> _Found:
    found = _Found()
    _from_json_ld(tree, found)
    pairs = meta_pairs(tree)
    meta: dict[str, str] = {}
    for name, value in pairs:
        meta.setdefault(name, value)

    def stated(*names: str) -> str | None:
        for name in names:
            value = meta.get(name)
            if value:
                return value
        return None

    # Not from a ``value`` attribute, unlike the author: the sites that write their tags so
    # (React Helmet) give a sharing title there, and their h1 (trafilatura's guess) is the
    # headline the reader sees.
    found.title = found.title or stated("og:title", "twitter:title", "title", "dc.title")
    found.description = found.description or stated(
        "og:description", "description", "twitter:description", "dc.description"
    )
    found.section = found.section or stated("article:section", "section", "parsely-section")
    if not found.tags:
        keywords = [v for n, v in pairs if n in {"article:tag", "news_keywords", "keywords"}]
        found.tags = _split_tags(keywords)
    found.site_name = found.site_name or stated("og:site_name", "application-name", "publisher")
    found.image = found.image or stated("og:image", "og:image:url", "twitter:image")
    canonical = tree.xpath('//link[translate(@rel,"CANONICAL","canonical")="canonical"]/@href')
    found.canonical_url = (canonical[0].strip() if canonical else None) or stated("og:url")
    lang = tree.xpath("/html/@lang") or tree.xpath("/html/@xml:lang")
    found.language = (str(lang[0]) if lang else None) or stated(
        "content-language", "og:locale", "language"
    )
    return found


def _from_json_ld(tree: lxml_html.HtmlElement, found: _Found) -> None:
    nodes = json_ld_nodes(tree)
    crumbs = next((node for node in nodes if "breadcrumblist" in types(node)), None)
    if crumbs is not None:
        found.breadcrumbs = _breadcrumb_names(crumbs)
    article = article_node(nodes)
    if article is None:
        return
    found.title = text(article.get("headline")) or text(article.get("name"))
    found.description = text(article.get("description"))
    found.authors, found.agencies = _person_names(resolved(article.get("author"), ids(nodes)))
    found.section = text(first(article.get("articleSection")))
    found.tags = _split_tags(as_list(article.get("keywords")))
    publisher = first(article.get("publisher"))
    if isinstance(publisher, dict):
        found.site_name = text(publisher.get("name"))
    found.language = text(article.get("inLanguage"))
    image = first(article.get("image"))
    found.image = text(image.get("url")) if isinstance(image, dict) else text(image)


def _breadcrumb_names(node: dict[str, Any]) -> list[str]:
    items = [item for item in as_list(node.get("itemListElement")) if isinstance(item, dict)]
    items.sort(key=_position)
    names = []
    for item in items:
        name = item.get("name")
        if not name and isinstance(item.get("item"), dict):
            name = item["item"].get("name")
        if isinstance(name, str) and name.strip():
            names.append(name.strip())
    return names


def _position(item: dict[str, Any]) -> float:
    try:
        return float(item.get("position") or 0)
    except (TypeError, ValueError):
        return 0.0


def _person_names(authors: list[Any]) -> tuple[list[str], list[str]]:
    """The people and the agencies among a JSON-LD ``author`` list: Persons' names and plain
    strings, as bylines; an Organization only when it is an agency (else it is the outlet)."""
    names: list[str] = []
    agencies: list[str] = []
    for person in authors:
        if isinstance(person, dict):
            name = text(person.get("name"))
            if not name or name.startswith("http"):
                continue
            if types(person) & {"organization", "newsmediaorganization"}:
                agency = agency_of(name)
                agencies.extend([agency] if agency else [])
                continue
        elif isinstance(person, str) and person.strip() and not person.startswith("http"):
            name = person
        else:
            continue
        names.append(name)
    return names, agencies


def _split_tags(values: list[Any]) -> list[str]:
    tags: list[str] = []
    for value in values:
        if isinstance(value, str):
            tags.extend(part.strip() for part in html.unescape(value).split(",") if part.strip())
    # CMS-internal markers ("digital_syndication", "textaboveleftsmall") are not topics.
    return list(dict.fromkeys(tag for tag in tags if "_" not in tag and len(tag) <= 60))
