"""The word filter: one Aho-Corasick automaton over normalised text, plus triggered patterns.

Every term is stored in the forms the text is searched in (plain and joined, see
``normalise``), so one automaton answers for each view. Latin terms match on word boundaries
only ("skill" never hits "kill"); Chinese terms match anywhere. An allowlisted phrase that
overlaps a hit cancels it ("体操" cancels "操你" in "体操你喜欢吗"). Regular expressions
(phone numbers, handles, sentence shapes) run only when one of their trigger words was seen
in the same pass, so a typical message runs two or three of them at most.

pyahocorasick looks a character up among a node's children one by one, so an automaton with
thousands of distinct first characters (any real Chinese list) costs hundreds of nanoseconds
per character of text. Keys and text are therefore searched as the hex digits of their UTF-16
code units: a fan-out of at most 16 everywhere, and ``str.encode(...).hex()`` runs in C. A hit
counts only when it starts on a code-unit boundary.

The filter is immutable and built off the event loop (``FilterStore`` in ``lists.py``); a
scan is pure CPU work of tens to a few hundred microseconds for 1,000 characters
(bench/filter.py).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import ahocorasick

from rapport.moderation import normalise as norm

HitKind = Literal["word", "mention", "identifier"]
View = Literal["plain", "joined", "leet"]
_SCAN_CACHE = 4096
# A pattern triggered by a word runs within this many characters of it (no pattern spans
# more: the longest gaps they allow are .{0,40}).
PATTERN_REACH = 80


@dataclass(frozen=True, slots=True)
class PatternRule:
    category: str
    regex: re.Pattern[str]
    kind: HitKind = "word"
    triggers: tuple[str, ...] = ()  # literal words (as written)
    chars: str = ""  # or any of these characters; with neither, the pattern always runs


class Hit(NamedTuple):
    """One match (a tuple: built for every match, so it must be cheap)."""

    category: str
    kind: HitKind
    term: str  # the listed term, or the pattern's source for a pattern hit
    view: View
    start: int
    end: int


@dataclass(frozen=True)
class Scan:
    hits: tuple[Hit, ...] = ()

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(h.category for h in self.hits)

    def of(self, category: str) -> list[Hit]:
        return [h for h in self.hits if h.category == category]

    def has(self, category: str, kind: HitKind) -> bool:
        return any(h.category == category and h.kind == kind for h in self.hits)


@dataclass(frozen=True)
class FilterSpec:
    """What a filter is built from: terms per category, the allowlist, the patterns."""

    terms: Mapping[str, frozenset[str]]
    allow: frozenset[str] = frozenset()
    patterns: tuple[PatternRule, ...] = ()
    contact_category: str = "contact"

    def term_count(self) -> int:
        return sum(len(t) for t in self.terms.values())


# Automaton values: (form length, bounded left, bounded right, entries); an entry is
# ("t", category, term) for a term, ("a",) for an allowlisted phrase, ("p", index) for a
# pattern trigger.
_Entry = tuple[Any, ...]
_ViewSpec = tuple[View, str, list[tuple[int, int]] | None]
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _hex(text: str) -> str:
    return text.encode("utf-16-be").hex()


_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _ascii_alnum(ch: str) -> bool:
    return ch in _ALNUM


def forms(term: str) -> set[str]:
    """The forms of a listed term in every view it may be found in (at least 2 chars)."""
    plain = norm.fold(term)
    out = {plain, norm.joined(plain)}
    out |= {norm.leet(f) for f in list(out) if norm.has_leet(f)}
    return {f for f in out if len(f) >= 2}


class WordFilter:
    """An immutable, compiled filter. ``scan`` is safe to call from any task."""

    def __init__(self, spec: FilterSpec) -> None:
        self.spec = spec
        terms: dict[str, list[_Entry]] = {}
        triggers: dict[str, list[int]] = {}
        for category, words in spec.terms.items():
            kind = "mention" if category == spec.contact_category else "word"
            for term in words:
                for form in forms(term):
                    terms.setdefault(form, []).append(("t", category, term, kind))
        for term in spec.allow:
            for form in forms(term):
                terms.setdefault(form, []).append(("a",))
        self._always: list[int] = []
        self._by_chars: list[tuple[int, str]] = []
        self._pattern_index = {rule.regex.pattern: i for i, rule in enumerate(spec.patterns)}
        for index, rule in enumerate(spec.patterns):
            if rule.chars:
                self._by_chars.append((index, rule.chars))
            elif not rule.triggers:
                self._always.append(index)
            for trigger in rule.triggers:
                for form in forms(trigger) | {norm.fold(trigger)}:
                    triggers.setdefault(form, []).append(index)
        self._automaton: Any = ahocorasick.Automaton()
        for form in terms.keys() | triggers.keys():
            key = _hex(form)
            value = (
                len(key),
                _ascii_alnum(form[0]),
                _ascii_alnum(form[-1]),
                tuple(terms.get(form, ())),
                tuple(triggers.get(form, ())),
            )
            self._automaton.add_word(key, value)
        if terms or triggers:
            self._automaton.make_automaton()
        self._empty = not (terms or triggers)
        keys = terms.keys() | triggers.keys()
        self._longest_latin = max((len(f) for f in keys if f.isascii()), default=0)
        self._longest_cjk = max((len(f) for f in keys if not f.isascii()), default=0)
        self._cache: dict[str, Scan] = {}

    def scan(self, text: str) -> Scan:
        """Every hit in ``text``, remembered for repeated texts (the send path and the AI
        analysis of the same message share one scan)."""
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        result = self.scan_uncached(text)
        if len(self._cache) >= _SCAN_CACHE:
            self._cache.clear()
        self._cache[text] = result
        return result

    def scan_uncached(self, text: str) -> Scan:
        """Every hit in ``text``: fold, search each view, run the triggered patterns."""
        plain = norm.fold(text)
        tight, breaks = norm.joined_with_breaks(plain)
        views: list[_ViewSpec] = [("plain", plain, None)]
        if breaks:
            views.append(("joined", tight, self._break_windows(breaks, len(tight))))
        if norm.has_leet(tight):
            loose, spots = norm.leet_with_spots(tight)
            if loose != tight:
                views.append(("leet", loose, _windows(spots, len(loose), self._longest_latin)))
        return Scan(tuple(self._scan_views(views)))

    def _break_windows(self, breaks: list[tuple[int, bool]], size: int) -> list[tuple[int, int]]:
        """Around each break, as far as the longest term that could span it reaches: Latin
        terms across a break between Latin characters, terms with CJK characters elsewhere."""
        latin, cjk = self._longest_latin, self._longest_cjk
        return _merge(
            [
                (
                    max(0, spot - (latin if is_latin else cjk)),
                    min(size, spot + (latin if is_latin else cjk)),
                )
                for spot, is_latin in breaks
            ]
        )

    def _scan_views(self, views: list[_ViewSpec]) -> list[Hit]:
        hits: dict[tuple[str, str], Hit] = {}
        everywhere = [i for i, chars in self._by_chars if any(c in views[0][1] for c in chars)]
        everywhere += self._always
        matched: set[int] = set()  # patterns that already hit: not run again in a later view
        for name, hay, windows in views:
            found, allowed, triggered = self._terms(name, hay, windows)
            if name != "leet":
                for index in matched:
                    triggered.pop(index, None)
                run = [i for i in everywhere if i not in matched] if name == "plain" else []
                hits_here = self._patterns(name, hay, triggered, run)
                matched.update(self._pattern_index[h.term] for h in hits_here)
                found += hits_here
            for hit in found:
                if allowed and any(hit.start < e and s < hit.end for s, e in allowed):
                    continue
                hits.setdefault((hit.category, hit.term), hit)
        return list(hits.values())

    def _terms(
        self, name: View, hay: str, windows: list[tuple[int, int]] | None
    ) -> tuple[list[Hit], list[tuple[int, int]], dict[int, list[int]]]:
        """Term hits, allowlisted spans, and the patterns triggered (with the positions of
        their triggers) in one view."""
        found: list[Hit] = []
        allowed: list[tuple[int, int]] = []
        triggered: dict[int, list[int]] = {}
        if self._empty:
            return found, allowed, triggered
        encoded = _hex(hay)
        # Astral characters (emoji) take two code units: only then map units to characters,
        # by the code unit where each astral character starts.
        units: list[int] = []
        if len(encoded) != 4 * len(hay):
            units = [m.start() + i for i, m in enumerate(_ASTRAL.finditer(hay))]
        if windows is None or units:
            spans = [(0, encoded)]
        else:
            spans = [(lo, encoded[4 * lo : 4 * hi]) for lo, hi in windows]
        last = len(hay) - 1
        for offset, chunk in spans:
            for end_hex, (size, left, right, items, patterns) in self._automaton.iter(chunk):
                first = end_hex + 1 - size
                if first % 4:
                    continue  # not on a code-unit boundary
                start, stop = offset + first // 4, offset + (end_hex + 1) // 4
                if units:
                    start -= bisect_left(units, start)
                    stop -= bisect_left(units, stop)
                for index in patterns:
                    triggered.setdefault(index, []).append(start)
                if not items:
                    continue
                end = stop - 1
                if (left and start > 0 and hay[start - 1] in _ALNUM) or (
                    right and end < last and hay[end + 1] in _ALNUM
                ):
                    continue  # a Latin term inside a longer word
                for item in items:
                    if item[0] == "a":
                        allowed.append((start, stop))
                    else:
                        found.append(Hit(item[1], item[3], item[2], name, start, stop))
        return found, allowed, triggered

    def _patterns(
        self, name: View, hay: str, triggered: dict[int, list[int]], everywhere: list[int]
    ) -> list[Hit]:
        """Run each triggered pattern near its triggers (and the untriggered ones over the
        whole view)."""
        found: list[Hit] = []
        runs: list[tuple[int, list[tuple[int, int]]]] = [(i, [(0, len(hay))]) for i in everywhere]
        runs += [
            (i, _windows(spots, len(hay), PATTERN_REACH)) for i, spots in sorted(triggered.items())
        ]
        for index, windows in runs:
            rule = self.spec.patterns[index]
            for lo, hi in windows:
                for m in rule.regex.finditer(hay, lo, hi):
                    if m.end() > m.start():
                        found.append(
                            Hit(rule.category, rule.kind, rule.regex.pattern, name, *m.span())
                        )
        return found

    def mask(self, text: str, categories: Iterable[str]) -> str:
        """``text`` with every hit of ``categories`` replaced by ``*`` (spaces kept)."""
        wanted = set(categories)
        plain, origin = norm.fold_mapped(text)
        tight, tight_origin = norm.joined_mapped(plain, origin)
        views: list[_ViewSpec] = [("plain", plain, None), ("joined", tight, None)]
        origins = {"plain": origin, "joined": tight_origin, "leet": tight_origin}
        if norm.has_leet(tight):
            views.append(("leet", norm.leet(tight), None))
        covered: set[int] = set()
        for hit in self._scan_views(views):
            if hit.category in wanted:
                spots = origins[hit.view][hit.start : hit.end]
                covered.update(range(min(spots), max(spots) + 1))
        return "".join(
            "*" if i in covered and not ch.isspace() else ch for i, ch in enumerate(text)
        )


def _windows(spots: list[int], size: int, reach: int) -> list[tuple[int, int]]:
    """Stretches of ``reach`` characters either side of each spot, merged."""
    return _merge([(max(0, spot - reach), min(size, spot + reach)) for spot in spots])


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


@dataclass
class FilterStats:
    terms: dict[str, int] = field(default_factory=dict)
    allow: int = 0
    patterns: dict[str, int] = field(default_factory=dict)


def stats(spec: FilterSpec) -> FilterStats:
    out = FilterStats(terms={c: len(t) for c, t in spec.terms.items()}, allow=len(spec.allow))
    for rule in spec.patterns:
        out.patterns[rule.category] = out.patterns.get(rule.category, 0) + 1
    return out
