"""Author names from bylines: split, cleaned of roles, outlets and widget text, or refused.

Bylines carry more than names: "By JANE DOE and John Roe", "Pete Evans · CBC News",
"Oli Coleman View author archive Get author RSS feed", "Laura E. Adkins December 28, 2016".
A name is what is left once the furniture is gone; what never was a name ("Submitted",
"See full bio", a month) is dropped.
"""

from __future__ import annotations

import re

_BY = re.compile(r"^\s*(?:by|von|par|por|di|door|av|af|przez|written by|posted by)\s*:?\s+", re.I)
_SEPARATORS = re.compile(r"\s*(?:,|;|\band\b|\bund\b|\bet\b|\by\b|&|\|)\s*", re.I)
# A byline's second half: the outlet or a role after a middle dot, a bar or a spaced dash.
_AFFILIATION = re.compile(r"\s+[·•|–—]\s+|\s+-\s+")
_WIDGET = re.compile(
    r"\b(?:view (?:author|all|full)\b.*|get author\b.*|more (?:stories|articles|posts) by\b.*|"
    r"see full bio\b.*|full bio\b.*|follow (?:on|me|him|her|@)\b.*|email (?:the )?author\b.*|"
    r"read more\b.*|author archive\b.*|illustrations? by\b.*|photographs? by\b.*|"
    r"updated\b.*|published\b.*)$",
    re.I,
)
_ROLES = {
    "ceo",
    "editor",
    "editors",
    "reporter",
    "correspondent",
    "columnist",
    "contributor",
    "writer",
    "fellow",
    "photographer",
    "producer",
    "staff",
    "intern",
    "analyst",
    "founder",
    "senior",
    "chief",
    "associate",
    "managing",
    "contributing",
    "special",
}
# The last word of an outlet's name: "... Washington Post", "... Chicago Tribune".
_OUTLETS = {
    "news",
    "post",
    "times",
    "press",
    "media",
    "daily",
    "journal",
    "agency",
    "magazine",
    "tribune",
    "herald",
    "gazette",
    "telegraph",
    "guardian",
    "review",
    "network",
    "radio",
    "tv",
}
_MONTHS = {
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
}
_NOT_NAMES = {
    "submitted",
    "admin",
    "administrator",
    "xxx",
    "lesedauer",
    "anonymous",
    "guest",
    "staff",
    "unknown",
    "none",
    "null",
    "editor",
    "redaktion",
    "redacción",
    "rédaction",
}


def names_from_byline(byline: str, *, outlets: tuple[str, ...] = ()) -> list[str]:
    """The author names in a byline, cleaned.

    ``outlets`` are the publisher's own names (site name, domain label): a "name" that is one
    of them is the organisation, not an author, and one that ends with it loses that end.
    """
    names: list[str] = []
    for part in _SEPARATORS.split(_BY.sub("", byline.strip())):
        name = clean_name(part, outlets=outlets)
        if name and name not in names:
            names.append(name)
    return names


def clean_name(text: str, *, outlets: tuple[str, ...] = ()) -> str | None:
    """One person's name from a byline fragment, or None when it is not a name."""
    own = {outlet.lower() for outlet in outlets if outlet}
    text = _BY.sub("", " ".join(text.split()))
    text = _AFFILIATION.split(text)[0]
    text = _WIDGET.sub("", text).strip(" .,:;-–—·")
    if text.lower() in own:
        return None
    words: list[str] = []
    for word in text.split():
        bare = word.strip(".,").lower()
        if bare in _MONTHS or any(char.isdigit() for char in word) or (words and bare in own):
            break
        if len(words) >= 2 and bare in _OUTLETS:
            if len(words) >= 3 and word[:1].isupper():
                words.pop()  # "Washington" of "Washington Post"
            break
        # "Meg Wagner NEW YORK DAILY NEWS", "Pete Evans CEO": a role or the outlet follows.
        shouting = word.isupper() and len(word) > 1 and not _all_upper(words)
        if len(words) >= 2 and (bare in _ROLES or shouting):
            break
        words.append(word)
    if not words or len(words) > 5 or " ".join(words).lower() in _NOT_NAMES:
        return None
    name = " ".join(words)
    latin = [char for char in name if char.isascii() and char.isalpha()]
    if latin and not any(char.isupper() for char in latin):
        return None  # "submitted by admin", not a name
    if latin and _all_upper(words) and len(latin) > 3:
        name = " ".join(word.capitalize() if len(word) > 2 else word for word in words)
    return name


def _all_upper(words: list[str]) -> bool:
    return all(word.isupper() for word in words if any(char.isalpha() for char in word))
