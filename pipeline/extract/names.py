"""Whether what is left of a byline is a person's name, and the name's own shape.

By then the byline's labels, credits and widgets are gone (:mod:`pipeline.extract.bylines`);
what remains may still run on into a date, a role, a place or the outlet, or be no name at all:
a user name, a brand, an acronym, a desk. The rules go by the shape of the words (capitals,
particles, digits), using the word lists in :mod:`pipeline.extract.byline_words`.
"""

from __future__ import annotations

import re

from pipeline.extract.byline_words import (
    GROUPS,
    MONTHS,
    NEVER_SURNAMES,
    NOT_NAMES,
    OUTLETS,
    PARTICLES,
    ROLES,
)


def person_name(text: str, own: set[str]) -> str | None:
    """The person's name that ``text`` starts with, or None when it holds none.

    ``own`` are the publisher's own names, lower-cased: the name ends where one of them begins.
    A name in capitals ("JANE DOE") comes back capitalised.
    """
    words = _name_words(text.split(), own)
    while words and words[-1].lower() in PARTICLES:
        words.pop()  # "Artikel von": a label cut short, no name after it
    lone_month = len(words) == 1 and words[0].strip(".,").lower() in MONTHS
    if not words or lone_month or len(words) > 6 or " ".join(words).lower() in NOT_NAMES:
        return None
    if not _looks_like_a_name(words):
        return None
    if len(words) == 1 and len(words[0]) > 1 and words[0].isupper():
        return None  # "TIME", "CNN": an acronym is an outlet, not a person
    name = " ".join(words)
    latin = [char for char in name if char.isascii() and char.isalpha()]
    if latin and _all_upper(words) and len(latin) > 3:
        name = " ".join(_capitalised(word) if len(word) > 2 else word for word in words)
    return name


def _name_words(tokens: list[str], own: set[str]) -> list[str]:
    """The words of the name at the start of ``tokens``: up to a date, a role or the outlet."""
    words: list[str] = []
    for index, word in enumerate(tokens):
        bare = word.strip(".,:;()").lower()
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        # A month starts a date only when a number follows ("May 5"); "Theresa May" is a name.
        # "vor 3 Stunden", "hace 2 horas": a relative time follows the name.
        dated = (bare in MONTHS or bare in {"vor", "hace"}) and any(
            char.isdigit() for char in following
        )
        if dated or any(char.isdigit() for char in word) or (words and bare in own):
            break
        if words and word in {"in", "at", "aus"}:
            break  # "Jane Doe in London", "Anna Müller aus Berlin": the place follows
        if not words and _is_role(bare):
            continue  # "Senior Editor Jane Doe", "FOCUS-Online-Experte Robin Tschöpe"
        if not words and (bare in OUTLETS or bare in {"associated", "the"}):
            return []  # "Associated Press", "News Desk": an outlet, no name
        if len(words) >= 2 and bare in OUTLETS:
            if len(words) >= 3 and word[:1].isupper():
                words.pop()  # "Washington" of "Washington Post"
            break
        # "Meg Wagner NEW YORK DAILY NEWS", "Pete Evans CEO": a role or the outlet follows.
        shouting = word.isupper() and len(word) > 1 and not _all_upper(words)
        if len(words) >= 2 and (_is_role(bare) or shouting):
            break
        words.append(word.strip(",;:()"))
    words = [word for word in words if word]
    if len(words) == 2 and words[1].strip(".,").lower() in NEVER_SURNAMES:
        return []  # "Us Weekly", "Spiegel Online": an outlet's two-word name
    return words


def _is_role(bare: str) -> bool:
    # German compounds end with their role: "Wirtschaftsredakteur", "FOCUS-Online-Experte".
    last = bare.split("-")[-1]
    return bare in ROLES or last in ROLES or bare.endswith(("redakteur", "redakteurin"))


def _looks_like_a_name(words: list[str]) -> bool:
    """Capitalised words and name particles only, no handle, no organisation."""
    name = " ".join(words)
    if not any(char.isalpha() for char in name):
        return False
    if name.startswith("@") or "://" in name or "www." in name.lower():
        return False
    if any(word.strip(".,").lower() in GROUPS for word in words):
        return False
    latin = [char for char in name if char.isascii() and char.isalpha()]
    if not latin:
        return True  # scripts without case: nothing to check by shape
    if not any(char.isupper() for char in latin):
        return False  # "submitted by admin", a user name
    for word in words:
        first = next((char for char in word if char.isalpha()), "")
        if first.islower() and word.lower().strip(".,'’") not in PARTICLES:
            return False  # "Alles über Lautsprecher", "Fuchsy designed"
    # One word with a capital inside ("ThemeGrill", "NatGeoUK"): a brand or a handle.
    return not (len(words) == 1 and re.search(r"[a-z][A-Z]", words[0]) is not None)


def _capitalised(word: str) -> str:
    return "-".join(piece.capitalize() for piece in word.split("-"))


def _all_upper(words: list[str]) -> bool:
    return all(word.isupper() for word in words if any(char.isalpha() for char in word))
