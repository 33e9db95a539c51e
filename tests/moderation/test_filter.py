"""The word filter: normalisation, evasions, boundaries, the allowlist, masking, patterns."""

from __future__ import annotations

import pytest

from rapport.ai.flags import detect
from rapport.moderation import normalise as norm
from rapport.moderation.filter import FilterSpec, PatternRule, WordFilter
from rapport.moderation.lists import Edits, compose, shipped_filter


def cats(text: str) -> set[str]:
    return set(shipped_filter().scan_uncached(text).categories)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("ＷＥＣＨＡＴ", "wechat"),  # full width
        ("wеchаt", "wechat"),  # Cyrillic е and а
        ("𝐰𝐞𝐜𝐡𝐚𝐭", "wechat"),  # mathematical bold
        ("微\u200b信", "微信"),  # zero-width space
        ("帶你投資賺錢", "带你投资赚钱"),  # traditional to simplified (OpenCC)
        ("  Hello \n World ", "hello world"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert norm.fold(text) == folded


@pytest.mark.parametrize(
    ("text", "joined"),
    [
        ("微*信", "微信"),
        ("加 v 信", "加v信"),
        ("w e c h a t", "wechat"),
        ("w.e.c.h.a.t", "wechat"),
        ("we.chat", "wechat"),
        ("can we chat later", "can we chat later"),  # words stay words
        ("你好,世界", "你好,世界"),  # clause punctuation is not an evasion
    ],
)
def test_joined(text: str, joined: str) -> None:
    assert norm.joined(norm.fold(text)) == joined


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("加我v信聊", "contact"),
        ("加我扣扣 123456789", "contact"),
        ("my w.e.c.h.a.t is abc123", "contact"),
        ("W E C H A T me", "contact"),
        ("我的微 信号：anna_1990", "contact"),
        ("weixin: xiaomei88", "contact"),
        ("一三八零零一三八零零零", "contact"),
        ("1 3 8 0 0 1 3 8 0 0 0", "contact"),
        ("call me +44 7700 900123", "contact"),
        ("anna (at) example (dot) com", "contact"),
        ("s3nd nud3s", "sexual"),
        ("操你媽", "abuse"),
        ("cao ni ma", "abuse"),
        ("nmsl", "abuse"),
        ("帶你投資賺錢", "scam"),
        ("I'll kill you", "violence"),
        ("我今年16岁", "minors"),
        ("我不想活了", "self_harm"),
        ("can you lend me some money for rent", "money"),
    ],
)
def test_evasions_are_caught(text: str, category: str) -> None:
    assert category in cats(text)


@pytest.mark.parametrize(
    "text",
    [
        "can we chat later?",  # "we chat" is not WeChat
        "我们去体操你喜欢吗",  # 体操 cancels 操你 (allowlist)
        "去死海旅游",  # the Dead Sea
        "this is a skill issue",  # "kill" only on word boundaries
        "I'll shoot you a text tonight",
        "I'll beat you at chess",
        "I love hiking on weekends, what about you?",
        "周末一起去徒步吗？",
        "我在用qq音乐听歌",
        "我25岁，你呢",
        "cum laude from Fudan",
    ],
)
def test_near_misses_pass(text: str) -> None:
    assert cats(text) - {"finance", "romance", "urgency"} == set()


def test_wechat_id_needs_a_real_id() -> None:
    scan = shipped_filter().scan_uncached("加我微信 xxx，带你投资赚钱")
    assert scan.has("contact", "mention")
    assert not scan.has("contact", "identifier")  # "xxx" is not a WeChat id (6-20 chars)
    assert shipped_filter().scan_uncached("加我微信 xiaomei_88").has("contact", "identifier")


def test_mask_maps_back_to_the_original_text() -> None:
    f = shipped_filter()
    assert f.mask("😊 fuck you 😊 ok", ["abuse"]) == "😊 **** *** 😊 ok"
    assert f.mask("加我 微*信 好吗", ["contact"]) == "** *** 好吗"
    assert f.mask("nothing here", ["abuse"]) == "nothing here"


def test_positions_with_emoji() -> None:
    f = shipped_filter()
    (hit,) = [h for h in f.scan_uncached("🎉🎉 傻逼").hits if h.term == "傻逼"]
    assert (hit.start, hit.end) == (3, 5)


def test_admin_edits_compose_with_shipped_lists() -> None:
    edits = Edits(
        version=3,
        added={"abuse": frozenset({"zorbulon"}), "allow": frozenset({"傻逼乐队"})},
        disabled={"contact": frozenset({"whatsapp"})},
        actions={},
    )
    f = WordFilter(compose(edits))
    assert "abuse" in f.scan("you zorbulon").categories
    assert "abuse" not in f.scan("我喜欢傻逼乐队").categories
    assert "contact" not in f.scan("whatsapp").categories
    assert "contact" in shipped_filter().scan("whatsapp").categories


def test_patterns_run_only_when_triggered() -> None:
    import re

    rule = PatternRule("scam", re.compile(r"x+y"), triggers=("zz",))
    f = WordFilter(FilterSpec({"scam": frozenset()}, patterns=(rule,)))
    assert f.scan("xxy").hits == ()
    assert [h.category for h in f.scan("zz xxy").hits] == ["scam"]


def test_assistant_flags_come_from_the_same_detector() -> None:
    assert {"scam", "off_platform_contact"} <= set(detect("加我微信 xxx，带你投资赚钱"))
    assert detect("I'll kill you") == ["harassment"]
    assert detect("周末一起去徒步吗？") == []
