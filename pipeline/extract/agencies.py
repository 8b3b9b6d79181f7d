"""News agencies: who they are, and where a byline or a story credits one.

A wire story must stay attributed, but an agency is not a person: bylines hand their agencies
here (:func:`take_agencies`), and a story's dateline ("BERLIN (dpa) -") or credit line
("© 2024 The Associated Press. All rights reserved.") names them too
(:func:`agencies_in_text`). Only those positions count: a story that quotes Reuters in a
sentence, or the Reuters Institute, is not a wire story.
"""

from __future__ import annotations

import re

# Canonical short name -> the ways bylines and credit lines spell it. Short all-capital forms
# ("AP", "PA", "TT") are matched with their case only: "ap" or "Tt" are not agencies.
_AGENCY_FORMS: dict[str, tuple[str, ...]] = {
    "AP": ("The Associated Press", "Associated Press", "AP"),
    "Reuters": ("Thomson Reuters", "Reuters"),
    "AFP": ("Agence France-Presse", "Agence France Presse", "AFP"),
    "dpa": ("Deutsche Presse-Agentur", "dpa-AFX", "dpa", "DPA"),
    "ANSA": ("ANSA",),
    "EFE": ("Agencia EFE", "EFE"),
    "Europa Press": ("Europa Press",),
    "Kyodo": ("Kyodo News", "Kyodo"),
    "Jiji": ("Jiji Press",),
    "Xinhua": ("Xinhua News Agency", "Xinhua", "新华社"),
    "Yonhap": ("Yonhap News Agency", "Yonhap", "연합뉴스"),
    # Not a bare "PA": Pennsylvania's abbreviation ends many a US dateline and byline.
    "PA": ("PA Media", "Press Association"),
    "APA": ("APA",),
    "KNA": ("KNA",),
    "epd": ("epd",),
    "AFX": ("AFX",),
    "SDA": ("Keystone-SDA", "Keystone-ATS", "SDA", "ATS"),
    "Belga": ("Belga",),
    "ANP": ("ANP",),
    "TT": ("TT Nyhetsbyrån", "TT"),
    "NTB": ("NTB",),
    "Ritzau": ("Ritzau",),
    "STT": ("STT",),
    "Lusa": ("Lusa",),
    "PAP": ("PAP",),
    "CTK": ("ČTK", "CTK"),
    "MTI": ("MTI",),
    "Anadolu": ("Anadolu Agency", "Anadolu Ajansı", "Anadolu"),
    "UPI": ("United Press International", "UPI"),
    "CP": ("The Canadian Press", "Canadian Press"),
    "AAP": ("Australian Associated Press", "AAP"),
    "PTI": ("Press Trust of India", "PTI"),
    "IANS": ("IANS",),
    "ANI": ("ANI",),
    "TASS": ("TASS",),
    "Interfax": ("Interfax",),
    "Bloomberg": ("Bloomberg News", "Bloomberg"),
    "SID": ("SID",),
}
_CANONICAL = {form: name for name, forms in _AGENCY_FORMS.items() for form in forms}
_BY_LENGTH = sorted(_CANONICAL, key=len, reverse=True)
# Longer forms are spelled with any case ("REUTERS", "Associated press"); short ones exactly.
_AGENCY = re.compile(
    r"(?<![\w-])(?:"
    + "|".join(
        re.escape(form) if len(form) <= 4 else "(?i:" + re.escape(form) + ")" for form in _BY_LENGTH
    )
    + r")(?![\w-])"
)
_TRAILING_AGENCY = re.compile(
    r"(\w)\s+((?i:the\s+)?(?:"
    + "|".join(re.escape(form) for form in _BY_LENGTH if " " in form or form.isupper())
    + r"))\s*$"
)
# "with agencies", "mit Agenturen", "avec AFP", "(Reuters/AP)": what is left around agencies.
_AGENCY_WORDS = re.compile(
    r"(?i)(?<!\w)(?:with|mit|avec|con|met|med|and|und|et|y|e|en|og|och|from|von|de|"
    r"agencies|agency|agenturen|agentur|agences?|agencias?|agenzie|agenzia|agentschappen|"
    r"wires?|news|staff|nachrichtenagentur|reporting|material|agenturmaterial|"
    r"informationen|information|información|informazioni|informations|services?|"
    r"contributed|to|this|report|story)(?!\w)"
)


def _canonical(form: str) -> str:
    return _CANONICAL.get(form) or next(
        (name for known, name in _CANONICAL.items() if known.lower() == form.lower()), form
    )


def agency_of(text: str) -> str | None:
    """The agency ``text`` is, as a whole ("The Associated Press", "REUTERS", an outlet's
    wire service as "CNN Wire"), or None."""
    text = " ".join(text.split()).strip(" .,;:()/-–—")
    found = _AGENCY.fullmatch(text)
    if found:
        return _canonical(found.group())
    # An outlet's wire service is named by its acronym: "CNN Wire", not "Tom Wire".
    return text if re.fullmatch(r"[A-Z][A-Z&.-]+(?: [A-Z][\w&.-]*){0,2} Wire", text) else None


def take_agencies(text: str) -> tuple[str, list[str]]:
    """``text`` with its agency credits cut out, and those agencies.

    An agency is cut out only where it stands as a credit of its own (between separators, in
    brackets, after a slash), not inside a longer name: "Reuters" in "Reuters Institute".
    """
    agencies: list[str] = []
    # "JANE DOE Associated Press", "Jane Doe AP": a name, then its agency, unseparated.
    text = _TRAILING_AGENCY.sub(r"\g<1> , \g<2>", text)
    joiners = r"(\s*(?:[,;|/()\[\]·•]|\s[-–—]\s|\b(?:and|und|et|y|e|en|og|och)\b)\s*)"
    pieces = re.split(joiners, text)
    kept: list[str] = []
    for piece in pieces:
        core = _AGENCY_WORDS.sub(" ", piece) if _AGENCY.search(piece) else piece
        found = _AGENCY.findall(core)
        leftover = _AGENCY.sub(" ", core)
        if found and not re.search(r"\w", leftover):
            agencies.extend(_canonical(form) for form in found)
            kept.append(" , ")
        elif agency_of(piece):
            agencies.append(agency_of(piece) or "")
            kept.append(" , ")
        else:
            kept.append(piece)
    return "".join(kept), list(dict.fromkeys(agencies))


# A body's last lines that credit an agency: "© 2024 The Associated Press. All rights
# reserved.", "(Reporting by Jane Doe; Editing by John Roe)" at Reuters, "dpa/ab", "(AFP)".
_DATELINE = re.compile(
    r"^[\w .,'’/-]{0,60}?[(\[]\s*(?P<agencies>[^()\[\]]{2,40}?)\s*[)\]]\s*[-–—:]"
    r"|^[A-ZÀ-Ý][\w .'’/-]{1,40},?\s+\d{1,2}\.?\s*\w{0,10}\.?\s*[(\[]\s*(?P<dated>[^()\[\]]{2,40})"
    r"\s*[)\]]"
)
_CREDIT_LINE = re.compile(
    r"^\s*(?:©|\(c\)|copyright)\s*(?:\d{4}\s*)?(?P<agencies>[^.]{2,60}?)\.?"
    r"(?:\s*all rights reserved\.?.*)?$"
    # A line that is only agencies counts in brackets or with a slash ("(AFP)", "dpa/ab",
    # "AFP/Reuters"): a bare "REUTERS" or "Bloomberg" line is as often a photo's credit or a
    # heading as the story's.
    r"|^\s*[(\[]\s*(?P<alone>[^()\[\]]{2,40}?)\s*[)\]]\s*$"
    r"|^\s*(?P<slashed>[\w.-]{2,30}(?:\s*/\s*[\w.-]{1,30})+)\s*$",
    re.I,
)


def agencies_in_text(body: str) -> list[str]:
    """The agencies a body credits in a dateline ("WASHINGTON (Reuters) -", "Berlin (dpa) -")
    or in a credit line of its own at its start or end ("© 2024 The Associated Press. All
    rights reserved.", "(AFP)", "dpa/AFP/ab").

    Only those positions count: a story that quotes Reuters in a sentence is not a wire story.
    """
    lines = [" ".join(line.split()) for line in (body or "").splitlines() if line.strip()]
    if not lines:
        return []
    found: list[str] = []
    for line in lines[:2]:
        dateline = _DATELINE.match(line[:160])
        if dateline:
            found += _agency_list(dateline.group("agencies") or dateline.group("dated"))
    for line in lines[:1] + lines[-3:]:
        if len(line) > 160:
            continue
        credit = _CREDIT_LINE.match(line)
        if credit:
            found += _agency_list(
                credit.group("agencies") or credit.group("alone") or credit.group("slashed")
            )
    return list(dict.fromkeys(found))


def _agency_list(text: str | None) -> list[str]:
    """The agencies of a short credit ("dpa/AFP", "AP, Reuters"), all or none: "(Photo: AP)"
    and "Reuters Institute" credit nobody's story."""
    joiners = r"\s*(?:[,/&+;]|\band\b|\bund\b|\bet\b|\by\b)\s*"
    # "© Thomson Reuters 2024": the year is no part of the name.
    parts = [re.sub(r"\b(?:19|20)\d\d\b", "", part) for part in re.split(joiners, text or "")]
    agencies = [agency_of(part) for part in parts if part.strip()]
    # "dpa/ab": an editor's initials after the agency, lower-case and short.
    if agencies and agencies[-1] is None and re.fullmatch(r"[a-zäöü]{1,4}", parts[-1].strip()):
        agencies.pop()
    if not agencies or any(agency is None for agency in agencies):
        return []
    return [agency for agency in agencies if agency]
