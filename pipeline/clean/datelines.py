"""The lines above a plain-text story that date it or name its author.

"Published 13 January 2020", "Updated: 14:05", a bare "June 3, 2025" under the byline, and
"By Jane Doe": each is a line of its own in a text dump, recognised by its whole shape so that no
sentence of the story matches. Which of them dates the story is the document's choice
(:mod:`pipeline.clean.plaintext`); the names in a byline are read by
:mod:`pipeline.extract.bylines`.
"""

from __future__ import annotations

import re

from pipeline.extract.timestamps import UPDATE_WORDS

# "Published 13 January 2020", "Updated: 14:05": the label, then straight away the date.
DATE_LINE = re.compile(
    r"^\s*(?P<label>published|posted|updated|last\s+updated|modified|first\s+published|date)"
    r"(?:\s+on)?\s*:?\s*(?P<date>(?:\d|(?:mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|"
    r"jun|jul|aug|sep|oct|nov|dec)[a-z]*\b).{2,58})$",
    re.I,
)
# A date on a line of its own ("June 3, 2025", "3 June 2025", "2025-06-03", "03.06.2025"),
# with perhaps a weekday before it and a time after it: nothing else, so no sentence matches.
_MONTH = (
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|januar|februar|märz|mai|juni|juli|"
    r"oktober|dezember|janvier|février|mars|avril|juin|juillet|août|septembre|octobre|"
    r"novembre|décembre)[a-zé]*\.?"
)
BARE_DATE = re.compile(
    # The word before the date is a weekday's, never an update's label.
    r"^\s*(?:(?!" + UPDATE_WORDS + r"\b)[^\W\d_]{2,12},?\s+)?(?P<date>(?:"
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\.\d{1,2}\.\d{4}|"
    r"\d{1,2}(?:st|nd|rd|th|\.)?\s+"
    + _MONTH
    + r",?\s+\d{4}|"
    + _MONTH
    + r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})"
    r"(?:[\s,|·–—-]+(?:at\s+|um\s+)?\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*[A-Z]{2,5})?)?)\s*$",
    re.I,
)
# An update's label: the date after it is not when the story was published.
UPDATE_LABEL = re.compile(UPDATE_WORDS, re.I)
# "By Jane Doe", "Von Anna Müller": the label, then a capitalised name and no sentence's end.
BYLINE = re.compile(r"^\s*(?i:by|von|par|por|di|door|av|af)\s+(?P<names>[^\W\d_a-z][^.!?]{1,80})$")
