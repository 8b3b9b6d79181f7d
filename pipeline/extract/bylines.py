"""Who wrote a story: people's names from bylines, and the news agencies credited apart.

Bylines carry more than names: "By JANE DOE and John Roe", "Pete Evans · CBC News",
"Oli Coleman View author archive Get author RSS feed", "Von Anna Müller, dpa",
"Texte : Marie Dupont. Photos : Paul Martin". A name is what is left once the furniture is
gone (labels, roles, dates, widget text, the outlet); what never was a name ("Submitted",
"See full bio", a month, a handle) is dropped. A wire agency is not a person, but a wire story
must stay attributed, so agencies are returned as a second list instead of being dropped.
"""

from __future__ import annotations

import re

from pipeline.extract.agencies import agency_of, take_agencies

# -- people ----------------------------------------------------------------------------------

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
_ROLES = {
    "ceo",
    "editor",
    "editors",
    "reporter",
    "reporters",
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
    "guest",
    "deputy",
    "executive",
    "political",
    "business",
    "science",
    "sports",
    "tech",
    "national",
    "foreign",
    "international",
    # German, French, Spanish, Italian, Dutch
    "redakteur",
    "redakteurin",
    "chefredakteur",
    "chefredakteurin",
    "korrespondent",
    "korrespondentin",
    "autor",
    "autorin",
    "kolumnist",
    "kolumnistin",
    "experte",
    "expertin",
    "volontär",
    "volontärin",
    "gastautor",
    "gastautorin",
    "journaliste",
    "rédacteur",
    "rédactrice",
    "correspondant",
    "correspondante",
    "envoyé",
    "envoyée",
    "periodista",
    "corresponsal",
    "redactor",
    "redactora",
    "enviado",
    "enviada",
    "giornalista",
    "corrispondente",
    "inviato",
    "inviata",
    "redacteur",
    "verslaggever",
    "correspondente",
    "interview",
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
    "online",
    "weekly",
    "monthly",
    "wochenblatt",
    "zeitung",
    "nachrichten",
    "verlag",
}
# Outlet words that are nobody's surname (unlike "Post", "Press" or "Times").
_NEVER_SURNAMES = {"news", "weekly", "monthly", "online", "magazine", "zeitung", "nachrichten"}
# Words that make a "name" an organisation, a team or a desk.
_GROUPS = {
    "team",
    "staff",
    "desk",
    "redaktion",
    "redaktionen",
    "rédaction",
    "redacción",
    "redazione",
    "redactie",
    "newsroom",
    "gmbh",
    "ag",
    "inc",
    "ltd",
    "llc",
    "e.v",
    "ev",
    "se",
    "kg",
    "sa",
    "s.a",
    "srl",
    "bv",
    "plc",
    "corp",
    "group",
    "gruppe",
    "kitchens",
    "agencies",
    "agency",
    "agencia",
    "agence",
    "agenzia",
    "agentur",
    "agenturen",
    "agencias",
    "agences",
    "wire",
    "wires",
    "society",
    "institute",
    "university",
    "association",
    "foundation",
    "ministry",
    "department",
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
    "anonym",
    "guest",
    "staff",
    "unknown",
    "none",
    "null",
    "editor",
    "redaktion",
    "redacción",
    "rédaction",
    "name",
    "super user",
    "webmaster",
    "user",
    "author",
    "autor",
    "auteur",
    "by",
    "share",
    "comments",
    "home",
}
# Lower-case words that names hold: "Ludwig van Beethoven", "Alejandro de la Garza".
_PARTICLES = {
    "de",
    "da",
    "das",
    "do",
    "dos",
    "di",
    "del",
    "della",
    "dalla",
    "der",
    "den",
    "des",
    "du",
    "van",
    "von",
    "vom",
    "zu",
    "la",
    "le",
    "lo",
    "ten",
    "ter",
    "op",
    "het",
    "bin",
    "ibn",
    "al",
    "el",
    "y",
    "e",
    "i",
    "af",
    "av",
    "st",
    "mc",
    "ben",
    "bint",
}


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
    return len(words) >= 2 and words[-1].strip(".,").lower() in _OUTLETS


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
    words = _name_words(text.split(), own)
    while words and words[-1].lower() in _PARTICLES:
        words.pop()  # "Artikel von": a label cut short, no name after it
    lone_month = len(words) == 1 and words[0].strip(".,").lower() in _MONTHS
    if not words or lone_month or len(words) > 6 or " ".join(words).lower() in _NOT_NAMES:
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
        dated = (bare in _MONTHS or bare in {"vor", "hace"}) and any(
            char.isdigit() for char in following
        )
        if dated or any(char.isdigit() for char in word) or (words and bare in own):
            break
        if words and word in {"in", "at", "aus"}:
            break  # "Jane Doe in London", "Anna Müller aus Berlin": the place follows
        if not words and _is_role(bare):
            continue  # "Senior Editor Jane Doe", "FOCUS-Online-Experte Robin Tschöpe"
        if not words and (bare in _OUTLETS or bare in {"associated", "the"}):
            return []  # "Associated Press", "News Desk": an outlet, no name
        if len(words) >= 2 and bare in _OUTLETS:
            if len(words) >= 3 and word[:1].isupper():
                words.pop()  # "Washington" of "Washington Post"
            break
        # "Meg Wagner NEW YORK DAILY NEWS", "Pete Evans CEO": a role or the outlet follows.
        shouting = word.isupper() and len(word) > 1 and not _all_upper(words)
        if len(words) >= 2 and (_is_role(bare) or shouting):
            break
        words.append(word.strip(",;:()"))
    words = [word for word in words if word]
    if len(words) == 2 and words[1].strip(".,").lower() in _NEVER_SURNAMES:
        return []  # "Us Weekly", "Spiegel Online": an outlet's two-word name
    return words


def _is_role(bare: str) -> bool:
    # German compounds end with their role: "Wirtschaftsredakteur", "FOCUS-Online-Experte".
    last = bare.split("-")[-1]
    return bare in _ROLES or last in _ROLES or bare.endswith(("redakteur", "redakteurin"))


def _looks_like_a_name(words: list[str]) -> bool:
    """Capitalised words and name particles only, no handle, no organisation."""
    name = " ".join(words)
    if not any(char.isalpha() for char in name):
        return False
    if name.startswith("@") or "://" in name or "www." in name.lower():
        return False
    if any(word.strip(".,").lower() in _GROUPS for word in words):
        return False
    latin = [char for char in name if char.isascii() and char.isalpha()]
    if not latin:
        return True  # scripts without case: nothing to check by shape
    if not any(char.isupper() for char in latin):
        return False  # "submitted by admin", a user name
    for word in words:
        first = next((char for char in word if char.isalpha()), "")
        if first.islower() and word.lower().strip(".,'’") not in _PARTICLES:
            return False  # "Alles über Lautsprecher", "Fuchsy designed"
    # One word with a capital inside ("ThemeGrill", "NatGeoUK"): a brand or a handle.
    return not (len(words) == 1 and re.search(r"[a-z][A-Z]", words[0]) is not None)


def _capitalised(word: str) -> str:
    return "-".join(piece.capitalize() for piece in word.split("-"))


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


def _all_upper(words: list[str]) -> bool:
    return all(word.isupper() for word in words if any(char.isalpha() for char in word))
