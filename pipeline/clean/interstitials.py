"""Pages served as a success that are not the article their address promised: a consent wall,
a paywall stub, a bot challenge, an "enable JavaScript" shell or a "page not found" page.

The clean stage asks :func:`classify` after cleaning and records a failure for a verdict. Each
kind needs its wording and more: the page's own structure (its title or heading, a button, a
captcha or challenge script, an empty app root, a declared paywall) or a second phrase, and
always little story beside them. An article that merely has a cookie banner, or one about
cookies, paywalls or errors, keeps its story and so gives no verdict: a false alarm loses an
article where a missed wall only stores a poor one, so when unsure, None. A page that says it
is a story (its type, a publication date, an author) is never taken for a consent wall, a
challenge or an error page; what the page hides is never read as its wording; and a heading
is the wall's only when the wall's wording is all of it but for the site's name.

Cheap by design: a long body is let through after a glance at its opening, and the page's
shown text is read with regular expressions, never a second parse, only when the body is short.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pipeline.clean import interstitial_words as vocabulary
from pipeline.clean.page_text import ShownPage, read_shown_page
from pipeline.models import CleanedDocument
from pipeline.words import word_count

InterstitialKind = Literal["consent", "paywall", "challenge", "javascript", "not_found"]

# As much story as the shortest news brief (about 60 words): a page that gives this much
# besides the wall's wording is an article, perhaps a truncated one, and is kept.
_BRIEF = 60
# A wall that is the whole page gives a line or two besides its wording at most (a welcome,
# a pointer to the home page); a shell gives none.
_WALL_STORY = 30
_SHELL_STORY = 20
# A body this long (about 200 words) is an article unless consent wording fills it: vendors'
# lists of purposes are the only wall text that runs this long.
_LONG_BODY_CHARS = 1200
_LONGEST_CONSENT_WALL = 600
_OPENING_CHARS = 1500
# A consent wall fills at least this share of what its page shows, unless its heading says
# what it is; the share also keeps pages far larger than any notice from being searched.
_CONSENT_SHARE = 0.4
# A challenge page or a shell shows next to nothing; a shell nothing but its plea.
_SMALL_PAGE = 300
_SHELL_OTHER_WORDS = 40
# A heading is the wall's when its wording is the whole of it but for the site's name: one
# part beside it, of a name's length ("Page not found | The Lakeshore Observer").
_SITE_NAME_WORDS = 6
# A block of shown text counts as story when it reads as prose, not as a menu.
_PROSE_WORDS = 12
_SENTENCE_END = re.compile(r"[.!?。！？]")
# Between a title's headline and the site's name; then within a part ("Error 404: Not found").
_HEADING_PARTS = re.compile(r"\s+[|–—·•:-]\s+|\s*[|–—·•]\s*")
_HEADING_CLAUSES = re.compile(r"\s*:\s+")
_HEADING_ENDS = " \t.,;:!?¡¿…'\"“”„«»‹›()[]"


@dataclass(frozen=True)
class Verdict:
    """Why a page is not an article: its kind, and what gave it away, for a reader."""

    kind: InterstitialKind
    evidence: str


def classify(text: str, kind: Literal["html", "text"], document: CleanedDocument) -> Verdict | None:
    """The kind of interstitial the page is, or None for an article (and when unsure).

    ``text`` is the decoded page (HTML or plain text), ``document`` what cleaning made of it;
    its paragraphs may be empty.
    """
    paragraphs = document.paragraphs
    if sum(len(paragraph) for paragraph in paragraphs) >= _LONG_BODY_CHARS:
        if not _filled_with_consent(paragraphs):
            return None
    elif _story_words(paragraphs, (vocabulary.ANY_WALL,)) >= _BRIEF:
        return None
    page = read_shown_page(text, kind, document)
    # What the page shows is read from its markup; a text page's lines may break a phrase,
    # which its paragraphs join. An HTML page's paragraphs can hold what it hides.
    shown = page.blocks if page.markup else (*page.blocks, *paragraphs)
    for decide in (_challenge, _javascript, _not_found, _consent, _paywall):
        verdict = decide(page, shown, paragraphs)
        if verdict is not None:
            return verdict
    return None


# Article metadata vetoes a consent, challenge or "not found" verdict. A challenge comes from
# the bot vendor's own template, and an error page from the site's, neither with a story's
# type, date or author. A consent wall is either a page of its own put in front of the story
# (a minimal head, none of the story's metadata) or a layer over the story's own page, whose
# text is then in the page too: a page with the story's metadata but next to no text is a
# short story (a brief, a gallery, a video) under a banner. A wall that copies the story's
# metadata into its own head goes unnoticed: a poor article is stored, where a false alarm
# would lose one. Paywall stubs carry their story's metadata, and app shells render theirs on
# the server, so neither is vetoed.


def _challenge(
    page: ShownPage, shown: tuple[str, ...], paragraphs: tuple[str, ...]
) -> Verdict | None:
    if page.words > _SMALL_PAGE or page.article:
        return None
    heading = _heading(page.headings, vocabulary.CHALLENGE_HEADING)
    phrases = _phrases(vocabulary.CHALLENGE_PHRASE, shown, (page.noscript,))
    phrases = [p for p in phrases if heading is None or p.lower() not in heading.lower()]
    wording = ([f"title {_quote(heading)}"] if heading else []) + [_quote(p) for p in phrases]
    marker = vocabulary.CHALLENGE_MARKUP.search(page.markup)
    if not wording or len(wording) + bool(marker) < 2:
        return None
    patterns = (vocabulary.CHALLENGE_PHRASE, vocabulary.CHALLENGE_HEADING)
    if _story(page, paragraphs, patterns) >= _WALL_STORY:
        return None
    if marker:
        found = marker.group(1).lower()
        wording = [*wording[:2], "a captcha" if found == "captcha" else "a challenge script"]
    return Verdict("challenge", _join(wording[:3]))


def _javascript(
    page: ShownPage, shown: tuple[str, ...], paragraphs: tuple[str, ...]
) -> Verdict | None:
    if page.words > _SMALL_PAGE:
        return None
    in_noscript = _phrases(vocabulary.JAVASCRIPT_PHRASE, (page.noscript,))
    pleas = _phrases(vocabulary.JAVASCRIPT_PHRASE, page.blocks)
    if not (in_noscript or pleas):
        return None
    other_words = sum(
        word_count(block) for block in page.blocks if not vocabulary.JAVASCRIPT_PHRASE.search(block)
    )
    if other_words > _SHELL_OTHER_WORDS:
        return None
    if _story_words(paragraphs, (vocabulary.JAVASCRIPT_PHRASE,)) >= _SHELL_STORY:
        return None
    root = vocabulary.APP_ROOT.search(page.markup)
    # Without a known app root, a page of scripts that shows nothing but the plea is a shell.
    scripted = other_words <= _SHELL_OTHER_WORDS / 4 and vocabulary.SCRIPT.search(page.markup)
    if not (root or in_noscript or scripted):
        return None
    plea = f"noscript {_quote(page.noscript)}" if in_noscript else _quote(pleas[0])
    structure = "an empty app root" if root else f"scripts and {other_words} other words shown"
    return Verdict("javascript", _join([plea, structure]))


def _not_found(
    page: ShownPage, shown: tuple[str, ...], paragraphs: tuple[str, ...]
) -> Verdict | None:
    if page.article:
        return None
    heading = _heading(page.headings, vocabulary.NOT_FOUND_HEADING)
    marker = _not_found_status(page.markup)
    if heading is None and marker is None:
        return None
    # The heading's own words, shown again as the page's h1, are not a second witness.
    headings = {h.lower() for h in page.headings}
    beside_heading = [block for block in shown if block.lower() not in headings]
    phrases = _phrases(vocabulary.NOT_FOUND_PHRASE, beside_heading)
    # Everyday words ("existiert nicht", "no existe") back the error's own heading only.
    if heading is not None:
        phrases += _phrases(vocabulary.NOT_FOUND_EVERYDAY, beside_heading)
    if not phrases and not (heading and marker):
        return None
    patterns = (
        vocabulary.NOT_FOUND_PHRASE,
        vocabulary.NOT_FOUND_EVERYDAY,
        vocabulary.NOT_FOUND_HEADING,
    )
    if _story(page, paragraphs, patterns) >= _WALL_STORY:
        return None
    evidence = [f"title {_quote(heading)}"] if heading else []
    evidence += [_quote(phrases[0])] if phrases else []
    evidence += ["a 404 status in the markup"] if marker else []
    return Verdict("not_found", _join(evidence))


def _consent(
    page: ShownPage, shown: tuple[str, ...], paragraphs: tuple[str, ...]
) -> Verdict | None:
    if page.article:
        return None
    heading = _heading(page.headings, vocabulary.CONSENT_HEADING)
    if heading is None and page.words * _CONSENT_SHARE > _LONGEST_CONSENT_WALL:
        return None
    ideas = _consent_ideas(shown)
    if len(ideas) < 3:
        return None
    buttons = [label for label in page.buttons if vocabulary.CONSENT_BUTTON.fullmatch(label)]
    if not buttons and "a choice to make" not in ideas:
        return None
    consent_words = sum(
        word_count(block)
        for block in page.blocks
        if vocabulary.CONSENT_BUTTON.fullmatch(block) or vocabulary.ANY_CONSENT.search(block)
    )
    share = consent_words / page.words if page.words else 0.0
    if heading is None and share < _CONSENT_SHARE:
        return None
    if _story(page, paragraphs, (vocabulary.ANY_CONSENT,)) >= _WALL_STORY:
        return None
    evidence = [f"title {_quote(heading)}" if heading else f"{share:.0%} of the text on consent"]
    evidence.append(f"{len(ideas)} consent statements ({', '.join(ideas[:4])})")
    if buttons:
        evidence.append(f"a {_quote(buttons[0])} button")
    return Verdict("consent", _join(evidence))


def _paywall(
    page: ShownPage, shown: tuple[str, ...], paragraphs: tuple[str, ...]
) -> Verdict | None:
    calls = _phrases(vocabulary.PAYWALL_CALL, shown)
    if not calls:
        return None
    offers = _phrases(vocabulary.PAYWALL_OFFER, shown)
    markers = []
    if vocabulary.NOT_FREE.search(page.markup):
        markers.append("isAccessibleForFree false")
    if vocabulary.PAYWALL_MARKUP.search(page.shown_markup):
        markers.append("paywall markup")
    if len(calls) + len(offers) + len(markers) < 2:
        return None
    if _story(page, paragraphs, (vocabulary.PAYWALL_WORDING,)) >= _BRIEF:
        return None
    wording = [_quote(phrase) for phrase in (*calls, *offers)[:2]]
    return Verdict("paywall", _join([*wording, *markers]))


def _not_found_status(markup: str) -> str | None:
    """The 404 status the markup states, in a class of its <body> or in a script's data."""
    body = vocabulary.NOT_FOUND_BODY.search(markup)
    if body and (found := vocabulary.NOT_FOUND_CLASS.search(body.group())):
        return found.group()
    found = vocabulary.NOT_FOUND_STATUS.search(markup)
    return found.group() if found else None


def _filled_with_consent(paragraphs: tuple[str, ...]) -> bool:
    """A long body that is a consent notice: its opening speaks of consent, it is no longer
    than a notice runs, and all of it does; an article about cookie law has its own story."""
    opening = " ".join(paragraphs[:3])[:_OPENING_CHARS].lower()
    if not any(stem in opening for stem in vocabulary.CONSENT_STEMS):
        return False
    if not vocabulary.ANY_CONSENT.search(opening):
        return False
    if sum(word_count(paragraph) for paragraph in paragraphs) > _LONGEST_CONSENT_WALL:
        return False
    return _story_words(paragraphs, (vocabulary.ANY_CONSENT,)) < _WALL_STORY


def _consent_ideas(texts: Iterable[str]) -> list[str]:
    found = {match.lastgroup for text in texts for match in vocabulary.CONSENT_IDEA.finditer(text)}
    return [name for i, name in enumerate(vocabulary.CONSENT_IDEA_NAMES) if f"idea{i}" in found]


def _story(
    page: ShownPage, paragraphs: tuple[str, ...], patterns: tuple[re.Pattern[str], ...]
) -> int:
    """Words of story the page gives besides the wall's wording: in the cleaned body, or in
    prose shown on the page that cleaning did not keep."""
    shown = sum(
        count
        for block in page.blocks
        if _SENTENCE_END.search(block)
        and (count := word_count(block)) >= _PROSE_WORDS
        and not any(pattern.search(block) for pattern in patterns)
    )
    return max(_story_words(paragraphs, patterns), shown)


def _story_words(paragraphs: Iterable[str], patterns: tuple[re.Pattern[str], ...]) -> int:
    return sum(
        word_count(paragraph)
        for paragraph in paragraphs
        if not any(pattern.search(paragraph) for pattern in patterns)
    )


def _heading(headings: Iterable[str], pattern: re.Pattern[str]) -> str | None:
    """The first heading that is the wall's wording, perhaps beside the site's name ("Page not
    found | The Lakeshore Observer", "Error 404: Página no encontrada"); never a headline that
    merely holds it ("Un momento histórico", "Vermisster Wanderer nicht gefunden")."""
    for heading in headings:
        parts = [part for part in _HEADING_PARTS.split(heading) if part.strip(_HEADING_ENDS)]
        walls = [part for part in parts if _is_wording(part, pattern)]
        others = [part for part in parts if part not in walls]
        if walls and len(others) <= 1 and all(word_count(o) <= _SITE_NAME_WORDS for o in others):
            return heading
    return None


def _is_wording(part: str, pattern: re.Pattern[str]) -> bool:
    """The part is the wording and nothing else, but for an interjection ("Oops!")."""
    clauses = [
        vocabulary.HEADING_FILLER.sub("", clause.strip(_HEADING_ENDS)).strip(_HEADING_ENDS)
        for clause in _HEADING_CLAUSES.split(part)
    ]
    clauses = [clause for clause in clauses if clause]
    return bool(clauses) and all(pattern.fullmatch(clause) for clause in clauses)


def _phrases(pattern: re.Pattern[str], *sources: Iterable[str]) -> list[str]:
    """The distinct phrases of ``pattern`` found in any of the texts, in order."""
    found: dict[str, str] = {}
    for texts in sources:
        for text in texts:
            for match in pattern.finditer(text):
                found.setdefault(match.group().lower(), match.group())
    return list(found.values())


def _quote(text: str, longest: int = 60) -> str:
    text = " ".join(text.split())
    return f'"{text if len(text) <= longest else text[: longest - 1] + "…"}"'


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
