"""The word filter: one Aho-Corasick automaton over normalised text, plus triggered patterns.

Every term is stored in the forms the text is searched in (plain and joined, see
``normalise``), so one automaton answers for each view. Latin terms match on word boundaries
only ("skill" never hits "kill"); Chinese terms match anywhere. An allowlisted phrase that
overlaps a hit cancels it ("体操" cancels "操你" in "体操你喜欢吗"). Regular expressions
(phone numbers, handles, sentence shapes) run only near one of their trigger words seen in
the same pass, and not where a cheap search shows they cannot match (``needs``), so a
typical message runs two or three of them at most.

The automaton is ``ahocorasick_rs`` (ADR 0003): a compiled automaton whose speed does not
depend on how many distinct characters the keys start with (thousands, for a Chinese list),
searching the text as it is and returning every overlapping match, in characters, in one
call. The joined and leet views are searched only around the places where they differ from
the plain one.

The filter is immutable and built off the event loop (``FilterStore`` in ``lists.py``); a
scan is pure CPU work of tens to a few hundred microseconds for 1,000 characters
(bench/filter.py, docs/moderation.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from ahocorasick_rs import AhoCorasick, MatchKind

from rapport.moderation import normalise as norm

HitKind = Literal["word", "mention", "identifier"]
View = Literal["plain", "joined", "leet"]
_SCAN_CACHE = 4096
# A pattern triggered by a word (or by what it needs) runs within this many characters of it
# (no pattern spans more: the longest gaps they allow are .{0,40}).
PATTERN_REACH = 80


@dataclass(frozen=True, slots=True)
class PatternRule:
    category: str
    regex: re.Pattern[str]
    kind: HitKind = "word"
    triggers: tuple[str, ...] = ()  # literal words (as written)
    chars: str = ""  # or any of these characters; with neither, the pattern always runs
    # A regular expression every match contains (no anchors or lookarounds): where it is not
    # found the pattern cannot match, and is skipped (a cheap search for an expensive one).
    needs: re.Pattern[str] | None = None


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


# What a key (a form) stands for: (bounded left, bounded right, the listed terms of this form
# as (category, kind, term), allowlisted, the patterns it triggers).
_Value = tuple[bool, bool, tuple[tuple[str, HitKind, str], ...], bool, tuple[int, ...]]
_ViewSpec = tuple[View, str, list[tuple[int, int]] | None]
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
# ``Hit(...)`` goes through the named tuple's Python-level ``__new__``; this does not.
_hit = tuple.__new__


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
        norm.warm()
        terms: dict[str, list[tuple[str, HitKind, str]]] = {}
        allowlisted: set[str] = set()
        triggers: dict[str, list[int]] = {}
        for category, words in spec.terms.items():
            kind: HitKind = "mention" if category == spec.contact_category else "word"
            for term in words:
                for form in forms(term):
                    terms.setdefault(form, []).append((category, kind, term))
        for term in spec.allow:
            allowlisted |= forms(term)
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
        keys = sorted(form for form in terms.keys() | allowlisted | triggers.keys() if form)
        self._values: list[_Value] = [
            (
                form[0] in _ALNUM,
                form[-1] in _ALNUM,
                tuple(terms.get(form, ())),
                form in allowlisted,
                tuple(triggers.get(form, ())),
            )
            for form in keys
        ]
        # Every overlapping match, as (key index, start, end) in characters of the text.
        self._automaton = AhoCorasick(keys, matchkind=MatchKind.Standard)
        self._empty = not keys
        allow_keys = sorted(allowlisted)
        self._allow_automaton = AhoCorasick(allow_keys, matchkind=MatchKind.Standard)
        self._allow_bounds = [(form[0] in _ALNUM, form[-1] in _ALNUM) for form in allow_keys]
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
        leet = norm.leet_view(tight)
        if leet is not None:
            loose, spots = leet
            if loose != tight:
                views.append(("leet", loose, _windows(spots, len(loose), self._longest_latin)))
        return Scan(tuple(self._scan_views(views)))

    def _break_windows(self, breaks: list[tuple[int, bool]], size: int) -> list[tuple[int, int]]:
        """Around each break, as far as the longest term that could span it reaches: Latin
        terms across a break between Latin characters, terms with CJK characters elsewhere."""
        latin, cjk = self._longest_latin, self._longest_cjk
        spans: list[tuple[int, int]] = []
        for spot, is_latin in breaks:
            reach = latin if is_latin else cjk
            spans.append((spot - reach if spot > reach else 0, min(size, spot + reach)))
        return _merge(spans)

    def _scan_views(self, views: list[_ViewSpec]) -> list[Hit]:
        """The hits of every view: the first of each (category, term) that no allowlisted
        phrase overlaps."""
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
            # The first hit of each (category, term) is kept.
            fresh = [hit for hit in found if (hit[0], hit[2]) not in hits]
            if windows is not None and fresh:
                # An allowlisted phrase overlapping a hit near a window's edge may reach past
                # it: judge hits by every phrase in the view, as with no windows.
                allowed = self._allowed(hay)
            for hit in fresh:
                key = (hit[0], hit[2])
                if key in hits:
                    continue
                start, end = hit[4], hit[5]
                for lo, hi in allowed:
                    if start < hi and lo < end:
                        break  # an allowlisted phrase overlaps it
                else:
                    hits[key] = hit
        return list(hits.values())

    def _terms(
        self, name: View, hay: str, windows: list[tuple[int, int]] | None
    ) -> tuple[list[Hit], list[tuple[int, int]], dict[int, list[int]]]:
        """Term hits, allowlisted spans, and the patterns triggered (with the positions of
        their triggers) in one view, or in these windows of it."""
        found: list[Hit] = []
        allowed: list[tuple[int, int]] = []
        triggered: dict[int, list[int]] = {}
        if self._empty:
            return found, allowed, triggered
        last = len(hay) - 1
        spans = [(0, hay)] if windows is None else [(lo, hay[lo:hi]) for lo, hi in windows]
        values = self._values
        search = self._automaton.find_matches_as_indexes
        alnum, new_hit, add = _ALNUM, _hit, found.append  # locals: this loop runs per match
        for offset, chunk in spans:
            for key, start, stop in search(chunk, True):
                left, right, terms, allow, patterns = values[key]
                if offset:
                    start += offset
                    stop += offset
                if patterns:
                    for index in patterns:
                        triggered.setdefault(index, []).append(start)
                    if not (terms or allow):
                        continue
                if (left and start and hay[start - 1] in alnum) or (
                    right and stop <= last and hay[stop] in alnum
                ):
                    continue  # a Latin term inside a longer word
                if allow:
                    allowed.append((start, stop))
                for category, kind, term in terms:
                    add(new_hit(Hit, (category, kind, term, name, start, stop)))
        return found, allowed, triggered

    def _allowed(self, hay: str) -> list[tuple[int, int]]:
        """Every allowlisted phrase in a whole view (its own automaton: a few dozen keys)."""
        last = len(hay) - 1
        bounds = self._allow_bounds
        allowed: list[tuple[int, int]] = []
        for key, start, stop in self._allow_automaton.find_matches_as_indexes(hay, True):
            left, right = bounds[key]
            if not (
                (left and start > 0 and hay[start - 1] in _ALNUM)
                or (right and stop <= last and hay[stop] in _ALNUM)
            ):
                allowed.append((start, stop))
        return allowed

    def _patterns(
        self, name: View, hay: str, triggered: dict[int, list[int]], everywhere: list[int]
    ) -> list[Hit]:
        """Run each triggered pattern near its triggers, and the untriggered ones over the
        whole view (or near what they need, when they say what every match contains)."""
        found: list[Hit] = []
        size = len(hay)
        rules = self.spec.patterns
        runs: list[tuple[int, list[tuple[int, int]]]] = []
        for index in everywhere:
            needs = rules[index].needs
            if needs is None:
                runs.append((index, [(0, size)]))
            else:  # near each place it needs, like a trigger word: no pattern spans more
                spots = [m.start() for m in needs.finditer(hay)]
                if spots:
                    runs.append((index, _windows(spots, size, PATTERN_REACH)))
        runs += [(i, _windows(triggered[i], size, PATTERN_REACH)) for i in sorted(triggered)]
        for index, windows in runs:
            rule = rules[index]
            needs = rule.needs
            for lo, hi in windows:
                if needs is not None and needs.search(hay, lo, hi) is None:
                    continue  # no match can lie in this window
                for m in rule.regex.finditer(hay, lo, hi):
                    start, end = m.span()
                    if end > start:
                        head = (rule.category, rule.kind, rule.regex.pattern, name)
                        found.append(_hit(Hit, (*head, start, end)))
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
    """Stretches of ``reach`` characters either side of each spot, merged (``_merge`` of
    them: with one reach both ends grow with the spot, so sorted spots need no other sort)."""
    if len(spots) == 1:
        spot = spots[0]
        return [(spot - reach if spot > reach else 0, min(size, spot + reach))]
    out: list[tuple[int, int]] = []
    last = -1
    for spot in sorted(spots):
        lo = spot - reach if spot > reach else 0
        hi = spot + reach if spot + reach < size else size
        if lo <= last:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
        last = hi
    return out


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
