"""Counting words in any script.

Chinese, Japanese and Thai are written without spaces between words; there each character
counts as a word (as is usual for Chinese and Japanese; for Thai a known overcount). Elsewhere
a word is a run of letters and digits.
"""

from __future__ import annotations

import re

_UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f"
_WORDS = re.compile(f"[{_UNSPACED}]|[^\\W{_UNSPACED}]+", re.UNICODE)


def words(text: str) -> list[str]:
    return _WORDS.findall(text)


def word_count(text: str) -> int:
    return len(_WORDS.findall(text))
