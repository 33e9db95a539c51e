"""Text normalisation for the word filter: the views a text is searched in.

``fold`` makes the *plain* view: NFKC (full width to half width, circled and mathematical
letters, Kangxi radicals to ideographs), case folding, one translation table that drops
zero-width characters, maps Cyrillic and Greek look-alikes to Latin letters and traditional
to simplified Chinese, then collapsed whitespace. ``joined`` removes separators inserted to
dodge the filter ("微*信", "w e c h a t", "we.chat"); ``leet`` reads digits and symbols as the
letters they stand for, inside words that also have letters ("s3x", "b1tch").

Every step is a C-level string operation (``normalize``, ``casefold``, ``translate``, one
regex ``split``), applied only where the text needs it (NFKC to the few characters that change,
the table from the first character it maps to the last), so a 1,000-character text is
folded in about 15 µs and joined in about 25 µs. The traditional to simplified table comes
from OpenCC (``opencc`` on PyPI, ADR 0002): built once per process from its ``t2s``
conversion, one character to one character, so offsets survive and masking can map a hit
back onto the original text (:func:`fold_mapped`). ``warm`` builds the tables up front.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import accumulate

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
# A leet word is a run of letters, digits, "@" and "$" mixing letters with digits or symbols
# ("s3x", "nud3s", "a55"); words of digits alone stay digits (phone numbers), words of letters
# alone are left as they are. One is found from its first digit or symbol (a class the regex
# engine skips to, rather than trying every letter of every word) to its end; the letters
# before that are read back.
_LEET_CHARS = re.compile(r"[a-z][0134578@$]|[0134578@$][a-z]")
_LEET_TAIL = re.compile(r"[0-9@$][a-z0-9@$]*+")
_LETTER = re.compile("[a-z]")
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")

# Separators removed in the joined view. The pattern matches only characters to delete:
# - separators between two CJK characters, or between a CJK character and a letter or digit
#   ("微 * 信", "加 v 信"); ordinary clause punctuation (，。！？) is not such a separator;
# - separators between two one-character tokens ("w e c h a t", "1 3 8 0 0");
# - punctuation inside a word ("we.chat", "wei_xin", "whats-app"); not apostrophes (terms
#   are listed with and without them) nor decimal points.
# It starts by consuming one separator, so the regex engine skips every other position with
# its first-character check; the context on the left is then read by fixed-width lookbehinds
# that include that separator. It runs on the plain view, whose only whitespace is the space
# (``fold`` collapses the rest), so the class lists the space rather than ``\s``: a set of
# code points is checked faster than a Unicode category.
_SEP_CLASS = r"[ *.\-_~|/\\·•+#=^'\"`]"
_JOIN = re.compile(
    rf"{_SEP_CLASS}(?:"
    rf"(?<=[{CJK}].){_SEP_CLASS}*(?=[{CJK}a-z0-9])"
    rf"|(?<=[a-z0-9].){_SEP_CLASS}*(?=[{CJK}])"
    rf"|(?<=[a-z0-9].)(?<![a-z0-9]..){_SEP_CLASS}*(?=[a-z0-9](?![a-z0-9]))"
    r"|(?<=[a-z][.\-_·•])(?=[a-z]))"
)

# NFKC costs ~40 ns a character, and most chat text needs it only for a few characters, so
# ``fold`` normalises those alone. First the compatibility characters chat text is full of,
# replaced by what NFKC makes of them (``str.replace`` is a C-level search); then, when the
# text is still not NFKC, each run of other characters NFKC changes (full-width or
# mathematical letters, ligatures, circled digits…). A whole-text ``normalize`` remains for
# what that leaves (combining marks that compose with a neighbour). The result is the same:
# replacing part of a text by its NFKC form keeps the text compatibility-equivalent.
_COMMON_COMPAT = (
    ("\uff0c", ","),
    ("\uff1f", "?"),
    ("\uff01", "!"),
    ("\uff1a", ":"),
    ("\uff1b", ";"),
    ("\uff08", "("),
    ("\uff09", ")"),
    ("\uff5e", "~"),
    ("\u3000", " "),
)
# Unicode 14 (Python 3.11) has no character past U+2FFFF that NFKC changes on its own; one
# that a later version adds is still normalised, by the whole-text fallback.
_COMPAT_SCAN_END = 0x30000


@lru_cache(maxsize=1)
def _compat_runs() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Runs of characters that NFKC changes on their own (about 4,900; built in ~20 ms): one
    pattern for the BMP, one for the astral planes. A class of BMP characters compiles to a
    bitmap; one with astral characters would be a list of ranges tried one by one at every
    character, so the astral pattern has a few wide ranges (gaps up to 64 code points filled:
    normalising a character NFKC leaves alone changes nothing). Each starts with a single
    class, which the regex engine skips to without trying every position."""
    changed = [
        code
        for code in range(_COMPAT_SCAN_END)
        if not 0xD800 <= code < 0xE000 and unicodedata.normalize("NFKC", chr(code)) != chr(code)
    ]

    def members(codes: list[int], gap: int) -> str:
        ranges: list[list[int]] = []
        for code in codes:
            if ranges and code - ranges[-1][1] <= gap:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
        return "".join(
            re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
            for lo, hi in ranges
        )

    bmp = members([c for c in changed if c < 0x10000], 1)
    astral = members([c for c in changed if c >= 0x10000], 64)
    return re.compile(f"[{bmp}][{bmp}]*"), re.compile(f"[{astral}][{astral}]*")


def _nfkc_run(m: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", m.group())


def nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, faster on text that needs it in few places."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    for compat, plain in _COMMON_COMPAT:
        text = text.replace(compat, plain)
    if unicodedata.is_normalized("NFKC", text):
        return text
    for runs in _compat_runs():
        text = runs.sub(_nfkc_run, text)
        if unicodedata.is_normalized("NFKC", text):
            return text
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=1)
def _table() -> dict[int, str | None]:
    table: dict[int, str | None] = {ord(c): None for c in ZERO_WIDTH}
    table.update({ord(k): v for k, v in HOMOGLYPHS.items()})
    table.update({ord(k): v for k, v in traditional_to_simplified().items()})
    return table


@lru_cache(maxsize=1)
def _sequence_table() -> list[int | str | None]:
    """``_table`` as a list indexed by code point (every BMP character; about 2 MB):
    ``str.translate`` looks a character up in it without the KeyError a dict raises for each
    unmapped one, twice as fast."""
    table: list[int | str | None] = list(range(0x10000))
    for code, out in _table().items():
        table[code] = out
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


def warm() -> None:
    """Build the tables ``fold`` uses (tens of milliseconds, once per process), so that no
    scan pays for them; the filter calls it when it is built, off the event loop."""
    _table()
    _sequence_table()
    _mapped()
    _compat_runs()


def fold(text: str) -> str:
    """The plain view: NFKC, case-folded, look-alikes and traditional characters mapped,
    zero-width characters dropped, whitespace collapsed to single spaces."""
    text = nfkc(text).casefold()
    first = _mapped().search(text)
    if first is not None:  # most text has nothing to map; else map from the first to the last
        last = _mapped().search(text[::-1])
        start, end = first.start(), len(text) - (last.start() if last else 0)
        text = text[:start] + text[start:end].translate(_sequence_table()) + text[end:]
    # Every whitespace character but the space is unprintable: most text needs no collapsing.
    if "  " in text or text[:1] == " " or text[-1:] == " " or not text.isprintable():
        text = " ".join(text.split())
    return text


def joined(plain: str) -> str:
    """The plain view (a folded text) without separators that split a word or a Chinese
    phrase."""
    return _JOIN.sub("", plain)


def joined_with_breaks(plain: str) -> tuple[str, list[tuple[int, bool]]]:
    """``joined``, and where in it separators were removed: (position, between Latin
    letters or digits on both sides). A term that is not in the plain view can only be found
    across one of these breaks."""
    # Each removed run has a character on either side that stays (the pattern's lookarounds),
    # so no piece is empty: a break's neighbours are the last and first characters of the
    # pieces around it.
    pieces = _JOIN.split(plain)
    if len(pieces) == 1:
        return plain, []
    breaks = [
        (end, before[-1].isascii() and after[0].isascii())
        for end, before, after in zip(
            accumulate(map(len, pieces[:-1])), pieces[:-1], pieces[1:], strict=True
        )
    ]
    return "".join(pieces), breaks


def has_leet(view: str) -> bool:
    return _LEET_CHARS.search(view) is not None


def leet(view: str) -> str:
    """Digits and symbols read as letters inside words that also have letters."""
    return leet_with_spots(view)[0]


def _leet_words(view: str) -> list[tuple[int, int]]:
    """The spans of the leet words: runs of letters, digits, ``@`` and ``$`` that hold both
    a letter and a digit or symbol."""
    words: list[tuple[int, int]] = []
    for m in _LEET_TAIL.finditer(view):
        first, end = m.span()
        start = first
        while start and view[start - 1] in _LETTERS:
            start -= 1
        if start < first or _LETTER.search(view, first, end):
            words.append((start, end))
    return words


def leet_with_spots(view: str) -> tuple[str, list[int]]:
    """``leet`` and where it changed a word (it keeps lengths: positions hold in both)."""
    return _leet_apply(view, _leet_words(view))


def leet_view(view: str) -> tuple[str, list[int]] | None:
    """``leet_with_spots`` when ``has_leet``, else None (one search of the text for both)."""
    words = _leet_words(view)
    # A digit or symbol next to a letter is inside one of these words.
    if any(_LEET_CHARS.search(view, start, end) for start, end in words):
        return _leet_apply(view, words)
    return None


def _leet_apply(view: str, words: list[tuple[int, int]]) -> tuple[str, list[int]]:
    pieces: list[str] = []
    last = 0
    for start, end in words:
        pieces += (view[last:start], view[start:end].translate(LEET))
        last = end
    pieces.append(view[last:])
    return "".join(pieces), [start for start, _ in words]


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
