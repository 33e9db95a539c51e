"""The default AI provider: fully offline, deterministic, Chinese and English.

Sentiment from lexicons (rapport.ai.sentiment), warning flags from lexicons and patterns
(rapport.ai.flags), topics by mapping words onto the interest taxonomy, icebreakers and topic
ideas from a curated bilingual topic bank keyed to that taxonomy, replies from intent- and
sentiment-aware templates. The same input always gives the same output.
"""

from __future__ import annotations

import re
import statistics
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapport.ai import flags, sentiment
from rapport.ai.lexicons import load
from rapport.ai.schemas import (
    ChatLine,
    ConversationContext,
    ConversationHealth,
    EmotionBrief,
    Enhancement,
    Icebreaker,
    MessageAnalysis,
    ProfileBrief,
    Reply,
    ReplySuggestions,
    Starter,
)
from rapport.ai.text import language, tokens
from rapport.kit import clock
from rapport.profiles.taxonomy import taxonomy

TONES = ("warm", "playful", "curious")
QUESTION_END = re.compile(r"[?？]\s*$|[吗呢么嘛]\s*[?？~～。!！]*\s*$")
QUESTION_START = re.compile(
    r"^(what|how|why|when|where|who|which|do|does|did|are|is|can|have|would)\b"
)
GREETING = re.compile(
    r"^(hi|hey|hello|morning|good (morning|evening)|你好|嗨|哈喽|早|晚上好|hello呀)"
)
PLAN = re.compile(
    r"(let'?s|meet|grab (a )?(coffee|drink|dinner)|this weekend|要不要|一起|见面|约|周末有空)"
)
COMPLIMENT = re.compile(
    r"(cute|pretty|handsome|beautiful|nice (photo|pic|smile)|好看|可爱|帅|漂亮|笑容)"
)
STALL_S = 24 * 3600
DISTRESS = frozenset({"harassment", "self_harm"})


@dataclass(frozen=True)
class Topic:
    id: str
    key: str
    label: dict[str, str]
    question: dict[str, str]
    opener: dict[str, str]
    depth: int
    mood: str


@lru_cache(maxsize=1)
def topic_bank() -> tuple[Topic, ...]:
    return tuple(
        Topic(
            id=t["id"],
            key=t["key"],
            label={"en": t["topic_en"], "zh": t["topic_zh"]},
            question={"en": t["question_en"], "zh": t["question_zh"]},
            opener={"en": t["opener_en"], "zh": t["opener_zh"]},
            depth=int(t["depth"]),
            mood=t["mood"],
        )
        for t in load("topics.json")
    )


@lru_cache(maxsize=1)
def reply_templates() -> dict[str, dict[str, dict[str, list[str]]]]:
    data: dict[str, dict[str, dict[str, list[str]]]] = load("replies.json")
    return data


def _pick(options: Sequence[Any], *seed: object) -> Any:
    """Deterministic choice: the same seed always picks the same option."""
    key = "|".join(str(s) for s in seed).encode()
    return options[zlib.crc32(key) % len(options)]


def _ranked(topics: Sequence[Topic], *seed: object) -> list[Topic]:
    return sorted(topics, key=lambda t: zlib.crc32("|".join([*map(str, seed), t.id]).encode()))


def topics_in(text: str) -> list[str]:
    """Taxonomy tags a message talks about (by its words), in order of appearance."""
    tax = taxonomy()
    found: list[str] = []
    for tok in tokens(text):
        if len(tok) < 2:
            continue
        tag = tax.match(tok)
        if tag and tag not in found:
            found.append(tag)
    return found


def topics_for(
    tags: Sequence[str], *, mood: str | None = None, depth: int | None = None
) -> list[Topic]:
    """Bank entries for these tags, then their categories, then general ones."""
    bank = topic_bank()
    wanted = [tuple(tags), tuple({t.split(".")[0] for t in tags}), ("general",)]
    for keys in wanted:
        hits = [
            t
            for t in bank
            if t.key in keys
            and (mood is None or t.mood == mood)
            and (depth is None or t.depth == depth)
        ]
        if hits:
            return hits
    return [t for t in bank if t.key == "general"]


def _fill(template: str, *, name: str, topic: str) -> str:
    """Fill a template; an unknown name is left out cleanly and English topic labels read
    mid-sentence ("Hiking" -> "hiking", acronyms such as "K-Pop" kept)."""
    if len(topic) > 1 and topic[:1].isupper() and topic[1:2].islower():
        topic = topic[:1].lower() + topic[1:]
    text = template.replace("{topic}", topic)
    if name:
        return text.replace("{name}", name).strip()
    text = re.sub(r"[ ,，、]*\{name\}", "", text)
    return re.sub(r"\s+([!?.,！？。，])", r"\1", text).strip()


def conversation_language(context: ConversationContext) -> str:
    if context.language:
        return context.language
    for line in reversed(context.lines):
        if line.text.strip():
            return language(line.text)
    shared = set(context.me.languages) & set(context.peer.languages)
    return "zh" if shared == {"zh"} or (shared and context.me.languages[:1] == ["zh"]) else "en"


def _intent(text: str, polarity: sentiment.Polarity) -> str:
    low = text.strip().lower()
    if PLAN.search(low):
        return "plan"
    if QUESTION_END.search(low) or QUESTION_START.search(low):
        return "question"
    if COMPLIMENT.search(low):
        return "compliment"
    if GREETING.search(low):
        return "greeting"
    if polarity.label == "negative":
        return "negative_share"
    if polarity.label == "positive":
        return "positive_share"
    return "generic"


class LocalProvider:
    """Offline provider; every capability, deterministic."""

    name = "local"

    async def analyze_message(
        self, text: str, context: ConversationContext | None = None
    ) -> MessageAnalysis:
        return analyze(text, context.language if context else None)

    async def suggest_replies(self, context: ConversationContext) -> ReplySuggestions:
        lang = conversation_language(context)
        peer_lines = [ln for ln in context.lines if ln.speaker == context.peer.ref]
        last = peer_lines[-1].text if peer_lines else ""
        pol = sentiment.polarity(last, lang) if last else sentiment.Polarity(0, "neutral", 0.5, ())
        intent = _intent(last, pol) if last else "greeting"
        recent_tags = [t for ln in context.lines[-6:] for t in topics_in(ln.text)]
        shared = [t for t in context.me.interests if t in context.peer.interests]
        tags = recent_tags or shared or context.peer.interests
        mood = "positive" if pol.label == "negative" else None
        ideas = _ranked(topics_for(tags, mood=mood), context.me.ref, len(context.lines))
        topic_label = ideas[0].label[lang] if ideas else ""
        templates = reply_templates()[lang]
        by_intent = templates.get(intent) or templates["generic"]
        replies = [
            Reply(
                tone=tone,
                text=_fill(
                    _pick(by_intent[tone], lang, intent, tone, len(context.lines), last),
                    name=context.peer.display_name,
                    topic=topic_label,
                ),
            )
            for tone in TONES
        ]
        return ReplySuggestions(
            replies=replies,
            topics=[t.question[lang] for t in ideas[:3]],
            language=lang,
        )

    async def icebreaker(self, a: ProfileBrief, b: ProfileBrief, context: str = "") -> Icebreaker:
        lang = (
            "zh"
            if (a.languages[:1] == ["zh"] and "zh" in b.languages)
            else ("zh" if context == "zh" else "en")
        )
        shared = [t for t in a.interests if t in b.interests]
        tax = taxonomy()
        ideas = _ranked(topics_for(shared or b.interests), a.ref, b.ref)
        openers = [
            _fill(t.opener[lang], name=b.display_name, topic=t.label[lang]) for t in ideas[:3]
        ]
        if len(openers) < 2:
            general = _ranked(topics_for([]), a.ref, b.ref)
            openers += [
                _fill(t.opener[lang], name=b.display_name, topic=t.label[lang])
                for t in general[: 2 - len(openers)]
            ]
        return Icebreaker(
            opening_lines=openers,
            shared_interests=[tax.label(t)[lang] for t in shared],
            conversation_starters=[
                Starter(question=t.question[lang], topic=t.label[lang]) for t in ideas[:3]
            ],
        )

    async def enhance_message(self, draft: str, context: ConversationContext) -> Enhancement:
        lang = language(draft, default=conversation_language(context))
        polished = tidy(draft, lang)
        pol = sentiment.polarity(draft, lang)
        tags = topics_in(draft) or [t for t in context.me.interests if t in context.peer.interests]
        ideas = _ranked(topics_for(tags), context.me.ref, draft)[:3]
        if not QUESTION_END.search(polished) and ideas and len(tokens(polished)) < 25:
            polished = f"{polished}{'' if lang == 'zh' else ' '}{ideas[0].question[lang]}"
        while len(ideas) < 3:
            ideas.append(_pick(topic_bank(), draft, len(ideas)))
        return Enhancement(
            enhanced_message=polished,
            topic_suggestions=[t.label[lang] for t in ideas[:3]],
            emotion_analysis=EmotionBrief(sentiment=pol.label, confidence=pol.confidence),
            warning_flags=flags.detect(draft),
        )

    async def conversation_health(self, context: ConversationContext) -> ConversationHealth:
        return health(context.lines, context, clock.now().timestamp())

    async def aclose(self) -> None:
        return None


def analyze(text: str, hint: str | None = None) -> MessageAnalysis:
    """Sentiment, emotions, warning flags, topics and language of one message."""
    lang = language(text, default=hint or "en")
    pol = sentiment.polarity(text, lang)
    warnings = flags.detect(text)
    label, score = pol.label, pol.score
    if DISTRESS & set(warnings):
        # A threat or a cry for help is negative whatever words it is dressed in.
        label, score = "negative", min(score, -0.5)
    return MessageAnalysis(
        sentiment=label,
        score=score,
        confidence=pol.confidence,
        emotions=list(pol.emotions),
        warning_flags=warnings,
        topics=topics_in(text)[:5],
        language=lang,
    )


def tidy(draft: str, lang: str) -> str:
    """Whitespace, capitals and closing punctuation; the words stay the user's own."""
    text = " ".join(draft.split())
    if lang == "en":
        text = re.sub(r"\bi\b", "I", text)
        text = text[:1].upper() + text[1:]
        if text and text[-1] not in ".!?…)":
            text += "?" if QUESTION_START.search(text.lower()) else "."
    elif text and text[-1] not in "。！？!?~～…)）":
        text += "？" if QUESTION_END.search(text + "?") and text[-1] in "吗呢么嘛" else "。"
    return text


def health(
    lines: Sequence[ChatLine], context: ConversationContext, now: float
) -> ConversationHealth:
    """Reciprocity, depth, emotion trend, topic diversity, stage and what would help."""
    me, peer = context.me.ref, context.peer.ref
    counts = {me: 0, peer: 0}
    for ln in lines:
        counts[ln.speaker] = counts.get(ln.speaker, 0) + 1
    total = counts[me] + counts[peer]
    reciprocity = 1 - abs(counts[me] - counts[peer]) / total if total else 0.0
    gaps = [
        b.at - a.at
        for a, b in zip(lines, lines[1:], strict=False)
        if a.at is not None and b.at is not None and a.speaker != b.speaker
    ]
    median = statistics.median(gaps) if gaps else None
    lang = conversation_language(context)
    scores = [sentiment.polarity(ln.text, language(ln.text, lang)).score for ln in lines]
    third = max(1, len(scores) // 3)
    trend = (
        (sum(scores[-third:]) / third - sum(scores[:third]) / third) if len(scores) >= 3 else 0.0
    )
    deep = sum(1 for ln in lines if len(tokens(ln.text)) >= 8)
    depth = deep / len(lines) if lines else 0.0
    tags = {t for ln in lines for t in topics_in(ln.text)}
    diversity = min(1.0, len(tags) / 5)
    last_at = lines[-1].at if lines and lines[-1].at is not None else None
    cold = last_at is not None and now - last_at > STALL_S
    planning = any(PLAN.search(ln.text.lower()) for ln in lines[-6:])
    if cold:
        stage = "cooling"
    elif len(lines) < 4:
        stage = "opening"
    elif planning:
        stage = "planning_to_meet"
    elif len(lines) < 20:
        stage = "getting_to_know"
    else:
        stage = "building_rapport"
    shared = set(context.me.interests) & set(context.peer.interests)
    if cold:
        intervention = "suggest_topics"
    elif trend < -0.25:
        intervention = "positive_topics"
    elif len(lines) >= 10 and depth < 0.2:
        intervention = "deepen"
    elif len(lines) >= 6 and shared and not (shared & tags):
        intervention = "shared_interest_prompt"
    else:
        intervention = "none"
    return ConversationHealth(
        response_time_median_s=median,
        reciprocity=round(reciprocity, 3),
        depth=round(depth, 3),
        emotion_trend=round(max(-1.0, min(1.0, trend)), 3),
        topic_diversity=round(diversity, 3),
        stage=stage,
        intervention=intervention,
    )
