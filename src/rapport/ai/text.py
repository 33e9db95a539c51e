"""Text plumbing for the local AI: language guess, normalisation, tokens, keywords."""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

import jieba
import jieba.analyse

jieba.setLogLevel(logging.WARNING)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"[a-z0-9']+|[\u3400-\u4dbf\u4e00-\u9fff]+")


def language(text: str, default: str = "en") -> str:
    """'zh' when Chinese characters carry the text, 'en' when Latin letters do."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    if cjk == 0 and latin == 0:
        return default
    return "zh" if cjk * 2 >= latin else "en"


def normalise(text: str) -> str:
    """NFKC (full-width to half-width), case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@lru_cache(maxsize=4096)
def tokens(text: str) -> tuple[str, ...]:
    """Words: jieba for Chinese runs, simple splitting for the rest (lower-cased)."""
    out: list[str] = []
    for chunk in _WORD.findall(normalise(text)):
        if _CJK.match(chunk):
            out.extend(w for w in jieba.lcut(chunk) if w.strip())
        else:
            out.append(chunk)
    return tuple(out)


def warm_up() -> None:
    """Load jieba's dictionary now rather than on the first message."""
    jieba.initialize()
