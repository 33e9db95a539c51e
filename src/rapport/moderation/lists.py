"""Word lists: the shipped data files plus admins' runtime edits, compiled into a filter.

The shipped lists are ``data/wordlist_zh.json``, ``data/wordlist_en.json`` (terms per category
and an allowlist) and ``data/patterns.json``. Admin edits live in the database
(``moderation_terms``, ``moderation_category_actions``); every edit appends a row to
``moderation_list_changes``, whose highest ``seq`` is the lists' version. Each node keeps the
version its filter was built from and rebuilds — in a worker thread, never on the event
loop — when the database holds a newer one: at once on the node that made the edit, within
``RAPPORT_MODERATION_RELOAD_S`` on every other node (``tasks.py``).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rapport.kit.db import transaction
from rapport.moderation import repository as repo
from rapport.moderation.categories import ALLOW, CATEGORIES, Action
from rapport.moderation.filter import FilterSpec, PatternRule, WordFilter

DATA = Path(__file__).with_name("data")
LANGUAGES = ("zh", "en")


def _load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Shipped:
    terms: dict[str, frozenset[str]]
    allow: frozenset[str]
    patterns: tuple[PatternRule, ...]


@lru_cache(maxsize=1)
def shipped() -> Shipped:
    """The lists that come with Rapport (read once per process)."""
    terms: dict[str, set[str]] = {c: set() for c in CATEGORIES}
    allow: set[str] = set()
    for lang in LANGUAGES:
        raw = _load(f"wordlist_{lang}.json")
        for category, words in raw["categories"].items():
            if category not in CATEGORIES:
                raise ValueError(f"wordlist_{lang}.json: unknown category {category!r}")
            terms[category].update(w.strip() for w in words if w.strip())
        allow.update(w.strip() for w in raw.get("allow", []) if w.strip())
    patterns = tuple(
        PatternRule(
            category=p["category"],
            regex=re.compile(p["re"]),
            kind=p.get("kind", "word"),
            triggers=tuple(p.get("any", ())),
            chars=p.get("chars", ""),
            needs=re.compile(p["needs"]) if "needs" in p else None,
        )
        for p in _load("patterns.json")["patterns"]
    )
    return Shipped({c: frozenset(t) for c, t in terms.items()}, frozenset(allow), patterns)


@lru_cache(maxsize=1)
def shipped_filter() -> WordFilter:
    """The filter of the shipped lists alone, shared by every runtime of the process."""
    base = shipped()
    return WordFilter(FilterSpec(base.terms, base.allow, base.patterns))


_active: list[WordFilter] = []


def active_filter() -> WordFilter:
    """The filter this process screens with (admin edits included once a node loaded them);
    the shipped one before that. The assistant's local flags use it too."""
    return _active[0] if _active else shipped_filter()


@dataclass(frozen=True)
class Edits:
    """Admin edits read from the database at one version."""

    version: int
    added: dict[str, frozenset[str]]  # category (or "allow") -> terms
    disabled: dict[str, frozenset[str]]
    actions: dict[str, Action]

    @property
    def empty(self) -> bool:
        return not (self.added or self.disabled)


def compose(edits: Edits) -> FilterSpec:
    """Shipped lists with admins' additions and switched-off terms applied."""
    base = shipped()
    terms = {
        c: (base.terms.get(c, frozenset()) | edits.added.get(c, frozenset()))
        - edits.disabled.get(c, frozenset())
        for c in CATEGORIES
    }
    allow = (base.allow | edits.added.get(ALLOW, frozenset())) - edits.disabled.get(
        ALLOW, frozenset()
    )
    return FilterSpec(terms, allow, base.patterns)


async def read_edits(session: AsyncSession) -> Edits:
    version = await repo.list_version(session)
    added: dict[str, set[str]] = {}
    disabled: dict[str, set[str]] = {}
    for row in await repo.all_terms(session):
        (added if row.enabled else disabled).setdefault(row.category, set()).add(row.term)
    actions: dict[str, Action] = {
        row.category: row.action  # type: ignore[misc]
        for row in await repo.category_actions(session)
        if row.category in CATEGORIES
    }
    return Edits(
        version,
        {c: frozenset(t) for c, t in added.items()},
        {c: frozenset(t) for c, t in disabled.items()},
        actions,
    )


@dataclass(frozen=True)
class Lists:
    """What one node screens with: the compiled filter, the actions and their version."""

    filter: WordFilter
    actions: dict[str, Action]
    version: int

    def action(self, category: str) -> Action:
        return self.actions.get(category, CATEGORIES[category].default_action)


class FilterStore:
    """The node's current :class:`Lists`, rebuilt off the event loop when the version moves."""

    def __init__(self) -> None:
        self.current = Lists(shipped_filter(), {}, -1)
        _active.clear()  # a new node (or test runtime) starts from the shipped lists
        self._lock = asyncio.Lock()
        self._loaded = False

    async def ensure(self, session: AsyncSession) -> Lists:
        """The lists, reading the database's edits the first time (once per node)."""
        if not self._loaded:
            await self.refresh(session)
        return self.current

    async def refresh(self, session: AsyncSession) -> bool:
        """Rebuild when the database holds a newer version; True when something changed."""
        if self._loaded and await repo.list_version(session) == self.current.version:
            return False
        async with self._lock:
            edits = await read_edits(session)
            if self._loaded and edits.version == self.current.version:
                return False
            if edits.empty:
                built = shipped_filter()
            else:
                built = await asyncio.to_thread(WordFilter, compose(edits))
            self.current = Lists(built, edits.actions, edits.version)
            _active[:] = [built]
            self._loaded = True
            return True

    async def refresh_with(self, factory: async_sessionmaker[AsyncSession]) -> bool:
        async with transaction(factory) as session:
            return await self.refresh(session)
