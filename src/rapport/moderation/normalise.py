"""Text normalisation for the word filter: the views a text is searched in.

``fold`` makes the *plain* view: NFKC (full width to half width, circled and mathematical
letters, Kangxi radicals to ideographs), case folding, one translation table that drops
zero-width characters, maps Cyrillic and Greek look-alikes to Latin letters and traditional
to simplified Chinese, then collapsed whitespace. ``joined`` removes separators inserted to
dodge the filter ("微*信", "w e c h a t", "we.chat"); ``leet`` reads digits and symbols as the
letters they stand for, inside words that also have letters ("s3x", "b1tch").

Every step is a C-level string operation (``normalize``, ``casefold``, ``translate``, one
regex ``sub``), so a 1,000-character text is folded in tens of microseconds. The traditional
to simplified table comes from OpenCC (``opencc`` on PyPI, ADR 0002): built once per process
from its ``t2s`` conversion, one character to one character, so offsets survive and masking
can map a hit back onto the original text (:func:`fold_mapped`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RANGES = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00))

# Look-alikes that NFKC leaves alone: Cyrillic and Greek letters that pass for Latin ones.
HOMOGLYPHS = {
    "а": "a",
    "в": "b",
    "е": "e",
    "ё": "e",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "ѕ": "s",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "ԁ": "d",
    "ԛ": "q",
    "ԝ": "w",
    "ɡ": "g",
    "ո": "n",
    "ս": "u",
    "α": "a",
    "β": "b",
    "ε": "e",
    "η": "n",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ω": "w",
    "’": "'",
    "‘": "'",
    "ʼ": "'",
}
ZERO_WIDTH = "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e\u034f"

LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"}
)
# A word mixing letters with the digits or symbols above ("s3x", "nud3s", "a55"); words of
# digits alone stay digits (phone numbers), words of letters alone are left as they are.
_LEET_WORD = re.compile(r"[a-z]+[0-9@$][a-z0-9@$]*|[0-9@$]+[a-z][a-z0-9@$]*")
_LEET_CHARS = re.compile(r"[a-z][0134578@$]|[0134578@$][a-z]")

# Separators removed in the joined view. The pattern matches only characters to delete:
# - separators between two CJK characters, or between a CJK character and a letter or digit
#   ("微 * 信", "加 v 信"); ordinary clause punctuation (，。！？) is not such a separator;
# - separators between two one-character tokens ("w e c h a t", "1 3 8 0 0");
# - punctuation inside a word ("we.chat", "wei_xin", "whats-app"); not apostrophes (terms
#   are listed with and without them) nor decimal points.
# It starts with a lookahead on the separator class so most positions fail at once.
_SEP_CLASS = r"[\s*.\-_~|/\\·•+#=^'\"`]"
_SEP = _SEP_CLASS + "+"
_JOIN = re.compile(
    rf"(?={_SEP_CLASS})(?:"
    rf"(?<=[{CJK}]){_SEP}(?=[{CJK}a-z0-9])"
    rf"|(?<=[a-z0-9]){_SEP}(?=[{CJK}])"
    rf"|(?<=(?<![a-z0-9])[a-z0-9]){_SEP}(?=[a-z0-9](?![a-z0-9]))"
    r"|(?<=[a-z])[.\-_·•](?=[a-z]))"
)


@lru_cache(maxsize=1)
def _table() -> dict[int, str | None]:
    table: dict[int, str | None] = {ord(c): None for c in ZERO_WIDTH}
    table.update({ord(k): v for k, v in HOMOGLYPHS.items()})
    table.update({ord(k): v for k, v in traditional_to_simplified().items()})
    return table


@lru_cache(maxsize=1)
def _mapped() -> re.Pattern[str]:
    return re.compile("[" + re.escape("".join(chr(c) for c in _table())) + "]")


@lru_cache(maxsize=1)
def traditional_to_simplified() -> dict[str, str]:
    """Every CJK character OpenCC's ``t2s`` changes, mapped one to one."""
    import opencc

    chars = [chr(i) for lo, hi in _CJK_RANGES for i in range(lo, hi)]
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # pragma: no cover - a converter that merged lines
        raise RuntimeError("OpenCC t2s changed the number of lines")
    return {a: b for a, b in zip(chars, converted, strict=True) if a != b and len(b) == 1}


def fold(text: str) -> str:
    """The plain view: NFKC, case-folded, look-alikes and traditional characters mapped,
    zero-width characters dropped, whitespace collapsed to single spaces."""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold()
    if _mapped().search(text):  # most text has nothing to map: skip the per-char table
        text = text.translate(_table())
    return " ".join(text.split())


def joined(plain: str) -> str:
    """The plain view without separators that split a word or a Chinese phrase."""
    return _JOIN.sub("", plain)


def joined_with_breaks(plain: str) -> tuple[str, list[tuple[int, bool]]]:
    """``joined``, and where in it separators were removed: (position, between Latin
    letters or digits on both sides). A term that is not in the plain view can only be found
    across one of these breaks."""
    pieces: list[str] = []
    breaks: list[tuple[int, bool]] = []
    size = last = 0
    for m in _JOIN.finditer(plain):
        piece = plain[last : m.start()]
        pieces.append(piece)
        size += len(piece)
        latin = plain[m.start() - 1].isascii() and plain[m.end()].isascii()
        breaks.append((size, latin))
        last = m.end()
    if not breaks:
        return plain, breaks
    pieces.append(plain[last:])
    return "".join(pieces), breaks


def has_leet(view: str) -> bool:
    return _LEET_CHARS.search(view) is not None


def leet(view: str) -> str:
    """Digits and symbols read as letters inside words that also have letters."""
    return _LEET_WORD.sub(lambda m: m.group().translate(LEET), view)


def leet_with_spots(view: str) -> tuple[str, list[int]]:
    """``leet`` and where it changed a word (it keeps lengths: positions hold in both)."""
    pieces: list[str] = []
    spots: list[int] = []
    last = 0
    for m in _LEET_WORD.finditer(view):
        pieces += (view[last : m.start()], m.group().translate(LEET))
        spots.append(m.start())
        last = m.end()
    pieces.append(view[last:])
    return "".join(pieces), spots


def is_cjk(ch: str) -> bool:
    return any(lo <= ord(ch) < hi for lo, hi in _CJK_RANGES)


def fold_mapped(text: str) -> tuple[str, list[int]]:
    """``fold`` with, for every output character, the index of the input character it came
    from (character by character; used only to mask, which is rare)."""
    table = _table()
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for out in unicodedata.normalize("NFKC", ch).casefold().translate(table):
            chars.append(out)
            origin.append(i)
    # Collapse whitespace the way " ".join(s.split()) does, keeping the origin of each char.
    kept: list[str] = []
    kept_origin: list[int] = []
    for ch, i in zip(chars, origin, strict=True):
        if ch.isspace():
            if kept and kept[-1] != " ":
                kept.append(" ")
                kept_origin.append(i)
            continue
        kept.append(ch)
        kept_origin.append(i)
    if kept and kept[-1] == " ":
        kept.pop()
        kept_origin.pop()
    return "".join(kept), kept_origin


def joined_mapped(plain: str, origin: list[int]) -> tuple[str, list[int]]:
    """``joined`` with the origin map carried along."""
    drop: set[int] = set()
    for m in _JOIN.finditer(plain):
        drop.update(range(m.start(), m.end()))
    keep = [i for i in range(len(plain)) if i not in drop]
    return "".join(plain[i] for i in keep), [origin[i] for i in keep]


def leet_mapped(view: str, origin: list[int]) -> tuple[str, list[int]]:
    """``leet`` keeps length, so the origin map is unchanged."""
    return leet(view), origin
