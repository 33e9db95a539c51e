"""Lexicon sentiment, Chinese and English, with negation, degree words and emoji.

English: VADER (Hutto & Gilbert 2014) extended with a dating-chat lexicon. Chinese: the
project's lexicon (src/rapport/ai/data/lexicon_zh.json, method in its "source" field) scored
over jieba tokens: a word's polarity is multiplied by degree words and flipped (damped) by
negations in the three tokens before it; clauses after 但是/不过/可是 weigh more; emoji add
their own polarity. The sum is squashed into -1..1 like VADER's compound score.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from rapport.ai.lexicons import en_extra, zh_lexicon
from rapport.ai.text import tokens

CONTRAST = frozenset({"但是", "但", "不过", "可是", "然而", "只是"})
NEGATION_DAMP = -0.75
THRESHOLD = 0.15
QUESTION_DAMP = 0.5
_CLAUSES = re.compile(r"[，。！？!?,.;；、\n]+")
_QUESTION = re.compile(r"[?？]\s*$|[吗呢]\s*[?？]?\s*$")


@dataclass(frozen=True)
class Polarity:
    score: float  # -1..1
    label: str  # positive | neutral | negative
    confidence: float  # 0..1
    emotions: tuple[str, ...]


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    analyzer = SentimentIntensityAnalyzer()
    words, _ = en_extra()
    analyzer.lexicon.update(words)
    return analyzer


def _label(score: float, threshold: float) -> str:
    if score >= threshold:
        return "positive"
    if score <= -threshold:
        return "negative"
    return "neutral"


def _confidence(score: float, hits: int) -> float:
    if hits == 0:
        return 0.55  # nothing emotional found: a fairly safe "neutral"
    return round(min(0.95, 0.45 + 0.35 * abs(score) + 0.05 * min(hits, 3)), 3)


def _squash(total: float) -> float:
    return total / math.sqrt(total * total + 15) if total else 0.0


def _unsquash(score: float) -> float:
    score = max(-0.9999, min(0.9999, score))
    return score * math.sqrt(15 / (1 - score * score))


def _emoji(text: str) -> tuple[float, int]:
    lex = zh_lexicon()
    found = lex.emoji_re.findall(text)
    return sum(lex.emoji[e] for e in found), len(found)


def english(text: str) -> Polarity:
    compound = float(_vader().polarity_scores(text)["compound"])
    emoji_total, emoji_hits = _emoji(text)
    if emoji_hits:  # VADER reads emoji as words; our emoji lexicon is dating-chat specific
        compound = _squash(_unsquash(compound) + emoji_total)
    _, emotion_words = en_extra()
    toks = tokens(text)
    emotions = tuple(sorted({emotion_words[t] for t in toks if t in emotion_words}))
    hits = sum(1 for t in toks if t in _vader().lexicon) + emoji_hits
    return Polarity(
        round(compound, 4), _label(compound, 0.05), _confidence(compound, hits), emotions
    )


def chinese(text: str) -> Polarity:
    lex = zh_lexicon()
    total, hits = 0.0, 0
    emotions: set[str] = set()
    for clause in _CLAUSES.split(text):
        toks = tokens(clause)
        clause_total, weight = 0.0, 1.0
        for i, tok in enumerate(toks):
            if tok in CONTRAST:
                clause_total *= 0.6
                weight = 1.5
                continue
            if tok in lex.emotions:
                emotions.add(lex.emotions[tok])
            value = lex.words.get(tok)
            if value is None:
                continue
            hits += 1
            # Modifiers reach back to the previous sentiment word at most (never across it).
            for prev in reversed(toks[max(0, i - 3) : i]):
                if prev in lex.words:
                    break
                if prev in lex.degree:
                    value *= lex.degree[prev]
                elif prev in lex.negations:
                    value *= NEGATION_DAMP
            clause_total += value * weight
        total += clause_total
    emoji_total, emoji_hits = _emoji(text)
    total += emoji_total
    hits += emoji_hits
    if total:
        total += 0.3 * text.count("!") * (1 if total > 0 else -1)
    score = _squash(total)
    return Polarity(
        round(score, 4), _label(score, THRESHOLD), _confidence(score, hits), tuple(sorted(emotions))
    )


def polarity(text: str, language: str) -> Polarity:
    """Sentiment of one message in its language ('zh' or 'en'). A question mostly asks rather
    than feels, so its score is damped."""
    result = chinese(text) if language == "zh" else english(text)
    if _QUESTION.search(text):
        score = result.score * QUESTION_DAMP
        threshold = THRESHOLD if language == "zh" else 0.05
        return Polarity(
            round(score, 4), _label(score, threshold), result.confidence, result.emotions
        )
    return result
