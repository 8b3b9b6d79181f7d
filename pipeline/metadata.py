"""What a page says about itself: JSON-LD, OpenGraph, ``<meta>`` tags and ``<link>`` elements.

These are the publisher's own statements, usually more exact than anything inferred from the
layout (a full timestamp with its zone, a list of authors), so extraction asks them first.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lxml import html as lxml_html
from trafilatura import metadata as trafilatura_metadata

from .bylines import names_from_byline
from .dates import read_dates
from .markup import article_node, as_list, first, json_ld_nodes, meta_pairs, text, types
from .models import PageMetadata


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
    structured_authors: bool = False


def read_metadata(tree: lxml_html.HtmlElement, url: str | None = None) -> PageMetadata:
    """The page's statements about itself: JSON-LD first, then OpenGraph and ``<meta>``; where
    the page states nothing, trafilatura's title and byline finders and htmldate's date search.

    Call it before the tree is handed to the text extractor, which prunes it.
    """
    found = _statements(tree)
    headlines = _headlines(tree)
    site_name = found.site_name or trafilatura_metadata.extract_sitename(tree)
    if site_name and (_plain(site_name) == _plain(found.title) or len(site_name.split()) > 6):
        site_name = None  # a guess from the <title> that took the headline for the site
    outlets = (site_name or "", _domain_label(url or found.canonical_url))
    if not found.title:
        found.title = trafilatura_metadata.extract_title(tree)
    if not found.authors:
        byline = trafilatura_metadata.extract_author(tree)
        if byline:
            found.authors = [name for part in byline.split(";") for name in names_from_byline(part)]
    own = {_plain(outlet) for outlet in outlets if outlet}
    authors = [
        name
        for author in found.authors
        for name in (
            [author] if found.structured_authors else names_from_byline(author, outlets=outlets)
        )
        if _plain(name) not in own
    ]
    published, modified = read_dates(tree, url)
    return PageMetadata(
        title=headline(found.title, outlets, _h1(tree)),
        headlines=tuple(h for h in headlines if h),
        description=found.description,
        authors=tuple(dict.fromkeys(authors)),
        published=published,
        modified=modified,
        section=found.section,
        tags=tuple(tag for tag in found.tags if _plain(tag) != _plain(found.title)),
        site_name=site_name,
        canonical_url=found.canonical_url,
        image=found.image,
        language=found.language,
        breadcrumbs=tuple(found.breadcrumbs),
    )


_TITLE_PARTS = re.compile(r"\s+(?:[|–—:·•»]|-{1,2}|::)\s+|\s*[｜｜]\s*|(?<=\S)-(?=[^\x00-\x7f])")


def headline(title: str | None, outlets: tuple[str, ...], headlines: list[str]) -> str | None:
    """The title without the site's name around it ("Story - Site", "Site | Story").

    ``outlets`` are the site's names (site name, domain label); ``headlines`` the headings the
    page shows (its first h1). The longest run of the title's parts that the page also shows
    is the headline when what is cut off is short or names the site; failing that, a last or
    first part naming the site is dropped. A "title" that is only the site's name gives way
    to the page's h1.
    """
    if not title:
        return headlines[0] if headlines else None
    own = {_plain(outlet) for outlet in outlets if outlet and _plain(outlet)}
    if _plain(title) in own:
        # Only a headline-sized h1 replaces it: a site's h1 is sometimes "MENU".
        real = [h for h in headlines if _plain(h) not in own and len(_plain(h).split()) >= 3]
        return real[0] if real else title
    parts = [part.strip() for part in _TITLE_PARTS.split(title) if part.strip()]
    if len(parts) < 2:
        return title

    def names_site(part: str) -> bool:
        # Whole words: "rt" names RT, not every "court".
        plain = f" {_plain(part)} "
        return any(f" {name} " in plain for name in own)

    shown = {_plain(h) for h in headlines}
    for size in range(len(parts), 0, -1):
        for start in range(len(parts) - size + 1):
            candidate = title_from(parts[start : start + size], title)
            rest = parts[:start] + parts[start + size :]
            cut_is_site = all(len(part) <= 15 or names_site(part) for part in rest)
            if candidate and _plain(candidate) in shown and cut_is_site:
                return candidate
    if names_site(parts[-1]):
        return title_from(parts[:-1], title) or title
    if names_site(parts[0]):
        return title_from(parts[1:], title) or title
    return title


def title_from(parts: list[str], title: str) -> str | None:
    """The stretch of ``title`` from the first of ``parts`` to the last, as written."""
    start = title.find(parts[0])
    end = title.rfind(parts[-1])
    return title[start : end + len(parts[-1])].strip() if start >= 0 and end >= start else None


def _domain_label(url: str | None) -> str:
    """ "nytimes" for https://www.nytimes.com/...: how a site often names itself."""
    host = (urlsplit(url).hostname or "") if url else ""
    labels = [label for label in host.split(".") if label not in {"www", "m", "amp"}]
    if len(labels) >= 3 and labels[-2] in {"co", "com", "org", "net", "ac", "gov"}:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else ""


def _plain(text: str | None) -> str:
    return " ".join(re.findall(r"\w+", (text or "").lower()))


def _h1(tree: lxml_html.HtmlElement) -> list[str]:
    first = tree.find(".//h1")
    return [" ".join(first.text_content().split())] if first is not None else []


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

    found.title = found.title or stated("og:title", "twitter:title", "title", "dc.title")
    found.description = found.description or stated(
        "og:description", "description", "twitter:description", "dc.description"
    )
    if not found.authors:
        names = stated(
            "author", "article:author", "dc.creator", "parsely-author", "sailthru.author"
        )
        if names and not names.startswith("http"):
            found.authors = names_from_byline(names)
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
    found.authors = _person_names(article.get("author"))
    found.structured_authors = any(isinstance(a, dict) for a in as_list(article.get("author")))
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


def _person_names(value: Any) -> list[str]:
    names: list[str] = []
    for person in as_list(value):
        if isinstance(person, dict):
            if "organization" in types(person):
                continue
            # A Person's name is structured data: taken as written, not parsed as a byline.
            name = text(person.get("name"))
            if name and not name.startswith("http"):
                names.append(name)
        elif isinstance(person, str) and person.strip() and not person.startswith("http"):
            names.extend(names_from_byline(person))
    return list(dict.fromkeys(names))


def _split_tags(values: list[Any]) -> list[str]:
    tags: list[str] = []
    for value in values:
        if isinstance(value, str):
            tags.extend(part.strip() for part in html.unescape(value).split(",") if part.strip())
    # CMS-internal markers ("digital_syndication", "textaboveleftsmall") are not topics.
    return list(dict.fromkeys(tag for tag in tags if "_" not in tag and len(tag) <= 60))
