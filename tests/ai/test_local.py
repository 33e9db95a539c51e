"""The local provider: offline, deterministic, bilingual."""

from __future__ import annotations

import pytest

from rapport.ai.providers.local import LocalProvider, analyze, tidy, topic_bank, topics_in
from rapport.ai.schemas import ChatLine, ConversationContext, ProfileBrief

local = LocalProvider()


def brief(ref: str, interests: list[str], langs: list[str], name: str = "") -> ProfileBrief:
    return ProfileBrief(ref=ref, display_name=name or ref, interests=interests, languages=langs)


def ctx(lines: list[tuple[str, str]], lang: str | None = None) -> ConversationContext:
    return ConversationContext(
        me=brief("A", ["outdoors.hiking", "music.jazz"], ["zh", "en"], "Mei"),
        peer=brief("B", ["outdoors.hiking", "food_drink.hotpot"], ["en", "zh"], "Alex"),
        lines=[
            ChatLine(speaker=s, text=t, at=1_700_000_000 + i * 60) for i, (s, t) in enumerate(lines)
        ],
        language=lang,  # type: ignore[arg-type]
    )


def test_topic_bank_is_large_and_bilingual() -> None:
    bank = topic_bank()
    assert len(bank) >= 300
    assert all(t.question["zh"] and t.question["en"] for t in bank)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I had such a wonderful time, thank you! 😊", "positive"),
        ("That's really not great, I'm upset.", "negative"),
        ("I'm at the station.", "neutral"),
        ("今天真的好开心！", "positive"),
        ("我不太开心，有点难过", "negative"),
        ("我在地铁上", "neutral"),
    ],
)
def test_sentiment(text: str, label: str) -> None:
    assert analyze(text).sentiment == label


def test_negation_flips_chinese() -> None:
    assert analyze("我很开心").score > 0 > analyze("我不开心").score


def test_scam_message_is_flagged() -> None:
    result = analyze("加我微信 xxx，带你投资赚钱")
    assert {"off_platform_contact", "scam"} <= set(result.warning_flags)
    assert result.language == "zh"


@pytest.mark.parametrize(
    "text", ["加我v信聊", "my w.e.c.h.a.t is abc123", "call me +44 7700 900123"]
)
def test_evasions_caught(text: str) -> None:
    assert "off_platform_contact" in analyze(text).warning_flags


def test_benign_text_is_not_flagged() -> None:
    assert analyze("I love hiking on weekends, what about you?").warning_flags == []
    assert analyze("周末一起去徒步吗？").warning_flags == []


def test_topics_map_to_taxonomy() -> None:
    assert "outdoors.hiking" in topics_in("I love hiking")
    assert "outdoors.hiking" in topics_in("我喜欢徒步")


async def test_icebreaker_cites_shared_interest_and_is_deterministic() -> None:
    a = brief("A", ["outdoors.hiking", "music.jazz"], ["en"], "Mei")
    b = brief("B", ["outdoors.hiking", "food_drink.hotpot"], ["en"], "Alex")
    first = await local.icebreaker(a, b, "")
    assert first == await local.icebreaker(a, b, "")
    assert first.shared_interests == ["Hiking"]
    assert len(first.opening_lines) >= 2 and first.conversation_starters


async def test_icebreaker_in_chinese_for_chinese_speakers() -> None:
    a = brief("A", ["outdoors.hiking"], ["zh"], "美")
    b = brief("B", ["outdoors.hiking"], ["zh", "en"], "俊")
    result = await local.icebreaker(a, b, "")
    assert result.shared_interests == ["徒步"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in result.opening_lines[0])


@pytest.mark.parametrize(
    ("lines", "lang"),
    [
        ([("B", "Hey! What did you do this weekend?")], "en"),
        ([("B", "你周末都做什么呀？")], "zh"),
        ([("B", "I'm so stressed about work today")], "en"),
        ([("B", "要不要周末一起去吃火锅")], "zh"),
    ],
)
async def test_three_replies_in_the_conversation_language(
    lines: list[tuple[str, str]], lang: str
) -> None:
    result = await local.suggest_replies(ctx(lines))
    assert [r.tone for r in result.replies] == ["warm", "playful", "curious"]
    assert result.language == lang
    assert len({r.text for r in result.replies}) == 3
    for reply in result.replies:
        has_cjk = any("\u4e00" <= ch <= "\u9fff" for ch in reply.text)
        assert has_cjk == (lang == "zh"), reply.text
        assert "{" not in reply.text


async def test_enhance_keeps_words_and_adds_a_question() -> None:
    result = await local.enhance_message("i love hiking too", ctx([("B", "I hike a lot")]))
    assert result.enhanced_message.startswith("I love hiking too.")
    assert result.enhanced_message.rstrip().endswith(("?", "？"))
    assert len(result.topic_suggestions) == 3
    assert tidy("  你好   呀 ", "zh") == "你好 呀。"


async def test_health_detects_cold_and_one_sided() -> None:
    lines = [("A", "hi"), ("A", "how are you?"), ("A", "hello?"), ("B", "ok")]
    result = await local.conversation_health(ctx(lines))
    assert result.stage == "cooling" and result.intervention == "suggest_topics"
    assert result.reciprocity == 0.5
