"""The bilingual interest taxonomy shipped as data, and normalisation of free-typed tags."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).with_name("data") / "interests.json"
FREE_PREFIX = "free:"
_SPACES = re.compile(r"[\s_\-·・]+")


@dataclass(frozen=True)
class Tag:
    id: str
    category: str
    en: str
    zh: str


@dataclass(frozen=True)
class Category:
    id: str
    en: str
    zh: str


def normalise_text(raw: str) -> str:
    """NFKC, case-folded, '#' dropped, separators collapsed: '  #Hot-Pot ' -> 'hot pot'."""
    text = unicodedata.normalize("NFKC", raw).casefold().strip().lstrip("#＃").strip()
    return _SPACES.sub(" ", text)


class Taxonomy:
    """Lookup from any label or alias (either language) to a canonical tag id."""

    def __init__(
        self, categories: list[Category], tags: list[Tag], aliases: dict[str, str], version: int = 1
    ):
        self.version = version
        self.categories = categories
        self.tags = {t.id: t for t in tags}
        self._lookup: dict[str, str] = {}
        for tag in tags:
            for key in (tag.id, tag.en, tag.zh):
                self._index(key, tag.id)
        for alias, tag_id in aliases.items():
            self._index(alias, tag_id)

    def _index(self, key: str, tag_id: str) -> None:
        norm = normalise_text(key)
        self._lookup.setdefault(norm, tag_id)
        self._lookup.setdefault(norm.replace(" ", ""), tag_id)
        if norm.endswith("s") and len(norm) > 3:
            self._lookup.setdefault(norm[:-1], tag_id)

    def match(self, raw: str) -> str | None:
        """The taxonomy tag ``raw`` names (label, alias or id), or None: never a free tag."""
        tag = self.resolve(raw)
        return tag if tag is not None and tag in self.tags else None

    def resolve(self, raw: str) -> str | None:
        """Canonical tag id for ``raw``; a free tag ``free:<text>`` if nothing matches."""
        norm = normalise_text(raw)
        if not norm:
            return None
        for key in (norm, norm.replace(" ", ""), norm[:-1] if norm.endswith("s") else ""):
            if key and key in self._lookup:
                return self._lookup[key]
        if norm.startswith(FREE_PREFIX):
            norm = norm[len(FREE_PREFIX) :].strip()
        return f"{FREE_PREFIX}{norm[:32]}" if norm else None

    def label(self, tag_id: str) -> dict[str, str]:
        tag = self.tags.get(tag_id)
        if tag is None:
            text = tag_id.removeprefix(FREE_PREFIX)
            return {"id": tag_id, "category": "free", "en": text, "zh": text}
        return {"id": tag.id, "category": tag.category, "en": tag.en, "zh": tag.zh}


@lru_cache(maxsize=1)
def taxonomy() -> Taxonomy:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    categories = [Category(c["id"], c["en"], c["zh"]) for c in raw["categories"]]
    tags = [Tag(t["id"], t["category"], t["en"], t["zh"]) for t in raw["tags"]]
    aliases = {a: t["id"] for t in raw["tags"] for a in t.get("aliases", [])}
    return Taxonomy(categories, tags, aliases, int(raw.get("version", 1)))
