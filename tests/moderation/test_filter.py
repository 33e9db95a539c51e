"""The word filter: normalisation, evasions, boundaries, the allowlist, masking, patterns."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from rapport.ai.flags import detect
from rapport.moderation import normalise as norm
from rapport.moderation.filter import FilterSpec, PatternRule, WordFilter, forms
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


def _reference_fold(text: str) -> str:
    """``fold`` as its docstring defines it, one whole-text step after another."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(norm._table())
    return " ".join(text.split())


@pytest.mark.parametrize(
    "text",
    [
        "你好，世界！今天（周六）去哪？～",  # full-width punctuation, replaced directly
        "加我ｗｅｃｈａｔ：ａｂｃ１２３，好吗？",  # full-width letters, normalised run by run
        "𝐰𝐞𝐜𝐡𝐚𝐭 😊 ①②③ ﬁne ㎏ Ⅻ",  # astral and other compatibility characters
        "cafe\u0301 e\u0308 \u1100\u1161\u11a8",  # combining marks: the whole-text fallback
        "帶你投資賺錢 and 微\u200b信 wеchаt",  # traditional, zero-width, Cyrillic
        "a\tb\n\nc\u00a0d\u3000e  f ",  # every kind of whitespace
        "",
        "plain ascii text, nothing to do",
    ],
)
def test_fold_matches_its_definition(text: str) -> None:
    assert norm.fold(text) == _reference_fold(text)
    assert norm.nfkc(text) == unicodedata.normalize("NFKC", text)


@pytest.mark.parametrize(
    "view",
    ["s3nd nud3s", "a2b c@t 10am b4 u2 hello 13800138000", "no leet here", "$$ @ 4u", ""],
)
def test_leet_view_agrees_with_has_leet(view: str) -> None:
    leet = norm.leet_view(view)
    if norm.has_leet(view):
        assert leet == norm.leet_with_spots(view)
        assert leet is not None and leet[0] == norm.leet(view)
    else:
        assert leet is None


def test_hit_positions_point_at_the_term() -> None:
    """Offsets are characters of the view, whatever mix of ASCII, CJK and emoji (astral
    characters) precedes them."""
    f = shipped_filter()
    text = "😊 hello 你好 🎉 加 v 信 吧 𝐰𝐞𝐜𝐡𝐚𝐭 ok 傻逼 😊 fuck you 😊 s3nd nud3s"
    plain = norm.fold(text)
    tight = norm.joined(plain)
    views = {"plain": plain, "joined": tight, "leet": norm.leet(tight)}
    patterns = {rule.regex.pattern: rule.regex for rule in f.spec.patterns}
    hits = f.scan_uncached(text).hits
    assert {h.term for h in hits} >= {"傻逼", "加v", "v信", "wechat", "fuck you", "nudes"}
    assert any(h.term in patterns for h in hits)
    for hit in hits:
        if hit.term in patterns:
            m = patterns[hit.term].match(views[hit.view], hit.start)
            assert m is not None and m.end() == hit.end, hit
        else:
            assert views[hit.view][hit.start : hit.end] in forms(hit.term), hit


def test_joined_view_next_to_emoji() -> None:
    (hit,) = [h for h in shipped_filter().scan_uncached("😊😊 傻 * 逼 😊").hits if h.term == "傻逼"]
    assert (hit.view, hit.start, hit.end) == ("joined", 3, 5)


def test_a_pattern_runs_only_where_what_it_needs_is() -> None:
    phone = re.compile(r"\d{3}-\d{4}")
    rule = PatternRule("contact", phone, chars="-", needs=re.compile(r"\d-\d"))
    f = WordFilter(FilterSpec({"contact": frozenset()}, patterns=(rule,)))
    assert f.scan("call 555-0134 now").categories == {"contact"}
    # A ``needs`` that is not in the text keeps the pattern from running at all (a real one
    # is in every match, so it never hides one).
    rule = PatternRule("contact", phone, chars="-", needs=re.compile("zz"))
    assert WordFilter(FilterSpec({}, patterns=(rule,))).scan("call 555-0134").hits == ()
    rule = PatternRule("contact", phone, triggers=("call",), needs=re.compile("zz"))
    assert WordFilter(FilterSpec({}, patterns=(rule,))).scan("call 555-0134").hits == ()


def test_shipped_needs_are_in_every_match() -> None:
    """Each shipped ``needs`` is found wherever its pattern matches (in the corpus)."""
    rules = [r for r in shipped_filter().spec.patterns if r.needs is not None]
    assert rules
    data = Path(__file__).resolve().parents[1] / "data" / "moderation_corpus.jsonl"
    texts = [json.loads(line)["text"] for line in data.read_text(encoding="utf-8").splitlines()]
    texts += ["call 555-123-4567", "me@example.com", "ig: @anna_99", "20% profit", "$50"]
    matched = 0
    for text in texts:
        plain = norm.fold(text)
        for view in (plain, norm.joined(plain)):
            for rule in rules:
                for m in rule.regex.finditer(view):
                    matched += 1
                    assert rule.needs is not None and rule.needs.search(m.group()), m
    assert matched >= 5


@pytest.mark.parametrize(
    "text",
    [
        "x y zzzzzzzzzzzzzzzzzz cum laude",  # the joined view's window ends inside the phrase
        "x y zzzzzzzzzzzzzzzzzz cum laude 😊",
        "s3x zzzzzzzzzzzzzzzz cum laude",  # the leet view's window, likewise
    ],
)
def test_allowlisted_phrase_across_a_window_edge(text: str) -> None:
    assert [h for h in shipped_filter().scan_uncached(text).hits if h.term == "cum"] == []
    assert [h for h in shipped_filter().scan_uncached(text[:-6]).hits if h.term == "cum"]


def test_filters_with_nothing_to_search() -> None:
    assert WordFilter(FilterSpec({})).scan("anything 傻逼").hits == ()
    rule = PatternRule("scam", re.compile(r"zz"), triggers=(" ", "\u200b"))  # fold to nothing
    assert WordFilter(FilterSpec({"scam": frozenset()}, patterns=(rule,))).scan("zz").hits == ()
