"""The headline: the page's title without the site's name around it.

Pages state their title in several places that often disagree: ``og:title``, ``<title>``
(with "| Site" or "Site - " around it), the JSON-LD ``headline`` and the ``<h1>``. The
headline is the stretch of the title that the page also shows as its headline, when what is
cut off is short or names the site; failing that, a part naming the site is dropped.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from lxml import html as lxml_html

from pipeline.extract.markup import article_node, json_ld_nodes, meta_values, text

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
    own = {plain(outlet) for outlet in outlets if outlet and plain(outlet)}
    if plain(title) in own:
        # Only a headline-sized h1 replaces it: a site's h1 is sometimes "MENU".
        real = [h for h in headlines if plain(h) not in own and len(plain(h).split()) >= 3]
        return real[0] if real else title
    title = _without_site_tail(title, own)
    parts = [part.strip() for part in _TITLE_PARTS.split(title) if part.strip()]
    if len(parts) < 2:
        return title

    def names_site(part: str) -> bool:
        return _names_site(part, own)

    shown = {plain(h) for h in headlines}
    for size in range(len(parts), 0, -1):
        for start in range(len(parts) - size + 1):
            candidate = title_from(parts[start : start + size], title)
            rest = parts[:start] + parts[start + size :]
            cut_is_site = all(len(part) <= 15 or names_site(part) for part in rest) or (
                # A headline-sized h1 that is the title's head: what follows is the site's
                # tagline ("Am Rande der Realität"), however long.
                start == 0 and _sized(candidate or "") and len(" ".join(rest)) <= 40
            )
            if candidate and plain(candidate) in shown and cut_is_site:
                return candidate
    if names_site(parts[-1]):
        return title_from(parts[:-1], title) or title
    if names_site(parts[0]):
        return title_from(parts[1:], title) or title
    return title


# A site's name glued to the headline by a colon or a dash: "…「Treeviz」:phpspot開発日誌".
_GLUED_TAIL = re.compile(r"^(?P<head>.{8,}?)\s*[:：|｜\-–—»]\s*(?P<tail>[^:：|｜\-–—»\s]{2,30})$")


def _without_site_tail(title: str, own: set[str]) -> str:
    glued = _GLUED_TAIL.match(title)
    if glued and _names_site(glued.group("tail"), own):
        return glued.group("head").strip(" -–—|:：»")
    return title


def _names_site(part: str, own: set[str]) -> bool:
    """``part`` of a title is the site's name: holds one of ``own`` as whole words ("rt" names
    RT, not every "court"), or is one of them written as the domain is ("IWR-Pressedienst"
    for iwrpressedienst.de, "phpspot開発日誌" for phpspot.org) with little else beside."""
    spaced = f" {plain(part)} "
    if any(f" {name} " in spaced for name in own):
        return True
    squashed = _squash(part)
    return any(
        len(_squash(name)) >= 4
        and _squash(name) in squashed
        and len(squashed) <= 2 * len(_squash(name)) + 12
        for name in own
    )


def _squash(text: str) -> str:
    return "".join(re.findall(r"\w+", text.lower())).replace("_", "")


def title_from(parts: list[str], title: str) -> str | None:
    """The stretch of ``title`` from the first of ``parts`` to the last, as written."""
    start = title.find(parts[0])
    end = title.rfind(parts[-1])
    return title[start : end + len(parts[-1])].strip() if start >= 0 and end >= start else None


def domain_label(url: str | None) -> str:
    """ "nytimes" for https://www.nytimes.com/...: how a site often names itself."""
    host = (urlsplit(url).hostname or "") if url else ""
    labels = [label for label in host.split(".") if label not in {"www", "m", "amp"}]
    # Second-level labels under which a country's sites register: bbc.co.uk, bka.gv.at.
    second = {"co", "com", "org", "net", "ac", "gov", "gv", "gob", "gouv", "govt", "edu", "or"}
    if len(labels) >= 3 and labels[-2] in second and len(labels[-1]) == 2:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else ""


def plain(text: str | None) -> str:
    """Lower-case words only: how titles and names are compared."""
    return " ".join(re.findall(r"\w+", (text or "").lower()))


# Scripts written without spaces between words: Chinese, Japanese, Thai (Korean has spaces).
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff]")


def _sized(headline: str) -> bool:
    """Long enough to be a headline, not a label ("Original text", "MENU", "Politik")."""
    words = plain(headline)
    return len(words.split()) >= 3 or (_UNSPACED.search(words) is not None and len(words) >= 8)


def shown_headlines(tree: lxml_html.HtmlElement, title: str | None) -> list[str]:
    """What the page gives as its headline (its first h1s, the JSON-LD headline, og:title):
    a stretch of the title confirmed by one of them is the headline. Not the ``<title>``,
    which carries the site's name as often as not, nor an og:title that is the title itself:
    it is where the title came from, and confirms nothing."""
    found = [" ".join(element.text_content().split()) for element in tree.xpath("//h1")[:4]]
    found += [h for h in meta_values(tree, "og:title", "twitter:title")[:2] if h != title]
    article = article_node(json_ld_nodes(tree))
    if article is not None:
        found.append(text(article.get("headline")) or "")
    return list(dict.fromkeys(h for h in found if h))
