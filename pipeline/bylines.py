"""Author names from bylines: split, cleaned of roles, outlets and widget text, or refused.

Bylines carry more than names: "By JANE DOE and John Roe", "Pete Evans · CBC News",
"Oli Coleman View author archive Get author RSS feed", "Laura E. Adkins December 28, 2016".
A name is what is left once the furniture is gone; what never was a name ("Submitted",
"See full bio", a month) is dropped.
"""

from __future__ import annotations

import re

_BY = re.compile(r"^\s*(?:by|written by|posted by)\s*:?\s+", re.I)
# "von", "par", "di"...: only before two words or more, since "Di Wang" is a name.
_FOREIGN_BY = re.compile(r"^\s*(?:von|par|por|di|door|av|af|przez)\s+(?=\S+\s+\S)", re.I)
# Lower-case joiners only: "Kim Y. Lee" and "José Ortega y Gasset" keep their "Y"/"y"...
_SEPARATORS = re.compile(r"\s*(?:,|;|&|\||\b(?:and|AND|und|et)\b)\s*")
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
    for part in _SEPARATORS.split(_strip_by(byline)):
        name = clean_name(part, outlets=outlets)
        if name and name not in names:
            names.append(name)
    return names


def clean_name(text: str, *, outlets: tuple[str, ...] = ()) -> str | None:
    """One person's name from a byline fragment, or None when it is not a name."""
    own = {outlet.lower() for outlet in outlets if outlet}
    text = _strip_by(" ".join(text.split()))
    text = _AFFILIATION.split(text)[0]
    text = _WIDGET.sub("", text).strip(" .,:;-–—·")
    if text.lower() in own:
        return None
    words: list[str] = []
    tokens = text.split()
    for index, word in enumerate(tokens):
        bare = word.strip(".,").lower()
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        # A month starts a date only when a number follows ("May 5"); "Theresa May" is a name.
        dated = bare in _MONTHS and any(char.isdigit() for char in following)
        if dated or any(char.isdigit() for char in word) or (words and bare in own):
            break
        if not words and (bare in _OUTLETS or bare in _ROLES or bare in {"associated", "staff"}):
            return None  # "Associated Press", "Staff Writer": an outlet or a role, no name
        if len(words) >= 2 and bare in _OUTLETS:
            if len(words) >= 3 and word[:1].isupper():
                words.pop()  # "Washington" of "Washington Post"
            break
        # "Meg Wagner NEW YORK DAILY NEWS", "Pete Evans CEO": a role or the outlet follows.
        shouting = word.isupper() and len(word) > 1 and not _all_upper(words)
        if len(words) >= 2 and (bare in _ROLES or shouting):
            break
        words.append(word)
    lone_month = len(words) == 1 and words[0].strip(".,").lower() in _MONTHS
    if not words or lone_month or len(words) > 7 or " ".join(words).lower() in _NOT_NAMES:
        return None
    name = " ".join(words)
    latin = [char for char in name if char.isascii() and char.isalpha()]
    if latin and not any(char.isupper() for char in latin):
        return None  # "submitted by admin", not a name
    if latin and _all_upper(words) and len(latin) > 3:
        name = " ".join(word.capitalize() if len(word) > 2 else word for word in words)
    return name


# RSS writes "desk@example.org (Jane Roe)"; the name is in the brackets.
_EMAIL_NAME = re.compile(r"^\S+@\S+\s*\((?P<name>[^)]+)\)\s*$")
_EMAIL = re.compile(r"\S+@\S+\.\w+")


def _strip_by(text: str) -> str:
    text = text.strip()
    named = _EMAIL_NAME.match(text)
    text = named.group("name") if named else _EMAIL.sub("", text)
    return _FOREIGN_BY.sub("", _BY.sub("", text.strip()))


def _all_upper(words: list[str]) -> bool:
    return all(word.isupper() for word in words if any(char.isalpha() for char in word))
