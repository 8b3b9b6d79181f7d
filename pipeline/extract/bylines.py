"""Who wrote a story: people's names from bylines, and the news agencies credited apart.

Bylines carry more than names: "By JANE DOE and John Roe", "Pete Evans · CBC News",
"Oli Coleman View author archive Get author RSS feed", "Von Anna Müller, dpa",
"Texte : Marie Dupont. Photos : Paul Martin". A name is what is left once the furniture is
gone (labels, roles, dates, widget text, the outlet); what never was a name ("Submitted",
"See full bio", a month, a handle) is dropped. A wire agency is not a person, but a wire story
must stay attributed, so agencies are returned as a second list instead of being dropped.

This module reads a byline: its labels ("By", "Von", "Texte :"), the credits that are not
authorship, the joiners between names, the widget text after them. Whether a fragment left over
is a person's name is :mod:`pipeline.extract.names`'s question.
"""

from __future__ import annotations

import re

from pipeline.extract.agencies import agency_of, take_agencies
from pipeline.extract.byline_words import OUTLETS
from pipeline.extract.names import person_name

_BY = re.compile(
    r"^\s*(?:(?:written|posted|reported|story|words|text|reporting|compiled|published|"
    r"opinion|analysis|commentary|essay|column)\s+by|"
    r"by|from|"
    r"(?:text|texte|testo|texto|tekst|autor(?:in|a|/in|\*in|\(in\))?|autore|autrice|auteure?|"
    r"authors?|"
    r"redactie|redacción|verfasser(?:in)?|geschrieben von|publié par|escrito por|"
    r"scritto da|a cura di|geplaatst door|interview)\s*:?)\s*:?\s+",
    re.I,
)
# "von", "par", "di"...: only before two words or more, since "Di Wang" is a name.
_FOREIGN_BY = re.compile(r"^\s*(?:von|vom|par|por|di|door|av|af|przez)\s*:?\s+(?=\S+\s+\S)", re.I)
# Widget text before the name: "Zeige alle Beiträge von Petra Ruland", "More posts by".
_BEFORE_NAME = re.compile(
    r"^.{0,40}?\b(?:(?:all|more|view|see)\s+(?:\w+\s+)?(?:posts|articles|stories)\s+by|"
    r"(?:alle|weitere|mehr)\s+(?:\w+\s+)?(?:beiträge|artikel|texte)\s+von|"
    r"(?:tous\s+les\s+)?articles\s+de|(?:todos\s+los\s+)?artículos\s+de|"
    r"(?:tutti\s+gli\s+)?articoli\s+di)\s+",
    re.I,
)
# Joiners that always separate names, then those that only do between two full names:
# "José Ortega y Gasset" keeps its "y", "Ana García y Pedro López" is two people.
_SEPARATORS = re.compile(
    r"\s*(?:,|;|&|\||\s/\s|/(?=\s*[A-Z])|\s\+\s|"
    r"\b(?:and|AND|und|UND|et|ET|sowie|with|mit|avec|con|met|och|og|ja|oraz|és|ve|și)\b)\s*"
)
_WEAK_JOINER = re.compile(r"\s+(?:y|e|en|i|a)\s+")
# Credits that are not authorship: a photo, an illustration, a video, an editor.
_NOT_AUTHORSHIP = re.compile(
    r"(?i)(?:^|(?<=[\s,;|.(]))(?:(?:cover\s+|lead\s+|top\s+)?(?:photo(?:graph)?s?|photography|"
    r"fotos?|fotografie|fotografías?|fotografia|bilder?|illustrations?|illustré|grafik|"
    r"graphics?|infografik|video|kamera|camera|images?|credits?|quelle|source|fuente|fonte|"
    r"bron|(?:additional\s+)?reporting|edited|editing|translated|translation|übersetzung|"
    r"traduction|traducción|mitarbeit|cartoon|design|designed|layout|produced|production)"
    r"(?:\s+(?:by|von|par|por|di|de|door)\b|\s*:))"
    r".*?(?=[;|]|\b(?:text|texte|testo|texto|by|von|autor\w*|author|auteur)\s*:|$)"
)
# "AP Photo/Evan Vucci", "dpa-Bild/Anna Roe": an agency's picture, not its story.
_PHOTO_CREDIT = re.compile(r"(?i)\b[\w-]+[\s-](?:photo|foto|bild)s?\s*/\s*[^,;|]*")
_AFFILIATION = re.compile(r"\s+[·•|–—]\s+|\s+-\s+")
_WIDGET = re.compile(
    r"\b(?:view (?:author|all|full|profile)\b.*|get author\b.*|more (?:stories|articles|posts)"
    r" (?:by|from)\b.*|"
    r"see full bio\b.*|full bio\b.*|follow (?:on|me|him|her|@)\b.*|email (?:the )?author\b.*|"
    r"read more\b.*|author archive\b.*|illustrations? by\b.*|photographs? by\b.*|"
    r"updated\b.*|published\b.*|stand:?\s.*|stand$|aktualisiert\b.*|veröffentlicht\b.*|"
    r"mis à jour\b.*|publié\b.*|actualizado\b.*|publicado\b.*|aggiornato\b.*|pubblicato\b.*|"
    r"archiv anzeigen\b.*|profil\b.*|twitter\b.*|e-?mail\b.*|kontakt\b.*|contact\b.*)$",
    re.I,
)


def credits(byline: str, *, outlets: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """(people, agencies) credited by one byline, each in the byline's order.

    ``outlets`` are the publisher's own names (site name, domain label): a "name" that is one
    of them is the organisation, not an author, and one that ends with it loses that end.
    Photo, illustration and editing credits are not authorship and give nobody.
    """
    # A byline is a line: a longer "byline" is a page's text in the wrong field, and the
    # patterns below are only fast on short inputs.
    text = _strip_by(" ".join((byline or "")[:_LONGEST_BYLINE].split()))
    text = _NOT_AUTHORSHIP.sub(" ; ", _PHOTO_CREDIT.sub(" ; ", text))
    text, agencies = take_agencies(text)
    people: list[str] = []
    for index, part in enumerate(_split(text)):
        if index and _names_an_outlet(part):
            continue  # "By Jane Doe, Washington Post": the second part is where she writes
        name = clean_name(part, outlets=outlets)
        if name and name not in people and not agency_of(name):
            people.append(name)
    return people, agencies


def _names_an_outlet(part: str) -> bool:
    words = part.split()
    return len(words) >= 2 and words[-1].strip(".,").lower() in OUTLETS


def names_from_byline(byline: str, *, outlets: tuple[str, ...] = ()) -> list[str]:
    """The people's names in a byline, cleaned (agencies and other credits left out)."""
    return credits(byline, outlets=outlets)[0]


def _split(text: str) -> list[str]:
    parts: list[str] = []
    for part in _SEPARATORS.split(text):
        pieces = _WEAK_JOINER.split(part.strip())
        # Only between two names of two words or more each: see _WEAK_JOINER.
        if len(pieces) > 1 and all(len(piece.split()) >= 2 for piece in pieces):
            parts.extend(pieces)
        else:
            parts.append(part)
    return parts


def clean_name(text: str, *, outlets: tuple[str, ...] = ()) -> str | None:
    """One person's name from a byline fragment, or None when it is not a name."""
    own = {outlet.lower() for outlet in outlets if outlet}
    text = _strip_by(" ".join(text.split()))
    segments = [seg for seg in _AFFILIATION.split(text) if seg.strip()]
    # "Politik · Jochen Bittner": a one-word section before the name, not the name.
    if len(segments) > 1 and len(segments[0].split()) == 1 and len(segments[1].split()) >= 2:
        segments = segments[1:]
    text = _strip_by(segments[0]) if segments else ""
    text = _BEFORE_NAME.sub("", text)
    text = _WIDGET.sub("", text).strip(" .,:;-–—·()[]\"'“”")
    if text.lower() in own:
        return None
    return person_name(text, own)


# RSS writes "desk@example.org (Jane Roe)"; the name is in the brackets.
_EMAIL_NAME = re.compile(r"^\S+@\S+\s*\((?P<name>[^)]+)\)\s*$")
_EMAIL = re.compile(r"[^\s@]{1,64}@[^\s@]{1,253}\.\w+")
_LONGEST_BYLINE = 300


# A date or time before the byline's "by": "January 17, 2017 at 6:08 PM ET by Kori Schulman".
_DATED_BY = re.compile(r"^[^|·•]*\d[^|·•]*?\s(?:by|von|par|por|door|di)\s+(?=\w)", re.I)
# "CNN's Christine Romans": the outlet's possessive before the name.
_POSSESSIVE = re.compile(r"^[A-Z][A-Za-z]*[A-Z]['’]s\s+(?=[A-Z])")


def _strip_by(text: str) -> str:
    text = _POSSESSIVE.sub("", _DATED_BY.sub("", text.strip()))
    named = _EMAIL_NAME.match(text)
    text = named.group("name") if named else _EMAIL.sub("", text)
    for _ in range(2):  # "By: Text: ..." is rare, "Interview: Von ..." is not
        text = _FOREIGN_BY.sub("", _BY.sub("", text.strip()))
    return text.strip()
