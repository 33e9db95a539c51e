"""The shared SSE parser: field rules, dispatch, line endings and chunk boundaries."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rapport.ai.providers.sse import SSEEvent, SSEParser, aiter_events


def parse_all(*chunks: bytes | str) -> list[SSEEvent]:
    parser = SSEParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events + parser.close()


def test_event_data_and_id_lines() -> None:
    events = parse_all('event: conversation.chat.created\ndata: {"a": 1}\nid: 7\n\n')
    assert events == [SSEEvent("conversation.chat.created", '{"a": 1}', "7")]


def test_data_without_event_defaults_to_message_and_multi_line_data_joins() -> None:
    events = parse_all("data: first\ndata:second\ndata:  indented\n\n")
    assert events == [SSEEvent("message", "first\nsecond\n indented")]


def test_comments_are_ignored_and_do_not_dispatch() -> None:
    assert parse_all(": keep-alive\n\n:another\n\n") == []
    events = parse_all(": note\ndata: x\n: between\ndata: y\n\n")
    assert events == [SSEEvent("message", "x\ny")]


def test_bare_event_without_data_is_dispatched() -> None:
    events = parse_all('event: ping\n\ndata: {"event": "text_chunk"}\n\n')
    assert events == [SSEEvent("ping", ""), SSEEvent("message", '{"event": "text_chunk"}')]


def test_blank_lines_alone_dispatch_nothing() -> None:
    assert parse_all("\n\n\r\n\n") == []


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_every_line_ending(eol: str) -> None:
    text = f"event: a{eol}data: 1{eol}{eol}data: 2{eol}data: 3{eol}{eol}"
    assert parse_all(text) == [SSEEvent("a", "1"), SSEEvent("message", "2\n3")]


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    events = parse_all(b"data: 1\r", b"\n\r", b"\ndata: 2\r\n\r\n")
    assert events == [SSEEvent("message", "1"), SSEEvent("message", "2")]


def test_any_chunking_gives_the_same_events() -> None:
    text = (
        '\ufeffevent: conversation.message.delta\r\ndata: {"content": "你好，世界"}\r\n\r\n'
        ": comment\r\nevent: ping\r\n\r\ndata: a\r\ndata: b\r\nid: 9\r\n\r\n"
    ).encode()
    expected = parse_all(text)
    assert expected == [
        SSEEvent("conversation.message.delta", '{"content": "你好，世界"}'),
        SSEEvent("ping", ""),
        SSEEvent("message", "a\nb", "9"),
    ]
    for size in range(1, 12):
        chunks = [text[i : i + size] for i in range(0, len(text), size)]
        assert parse_all(*chunks) == expected, size


def test_id_persists_until_changed_and_nul_ids_are_ignored() -> None:
    events = parse_all("id: 1\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\n")
    assert [e.id for e in events] == ["1", "1", "1"]


def test_unknown_fields_and_field_without_colon() -> None:
    parser = SSEParser()
    events = parser.feed("foo: bar\ndata\nretry: 1500\n\n") + parser.close()
    assert events == [SSEEvent("message", "")]
    assert parser.retry_ms == 1500


def test_close_flushes_an_unterminated_event() -> None:
    assert parse_all("data: tail") == [SSEEvent("message", "tail")]
    assert parse_all("data: a\n") == [SSEEvent("message", "a")]


async def test_aiter_events_over_an_async_byte_stream() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for piece in (b"event: done\nda", b'ta: "[DONE]"\n', b"\n"):
            yield piece

    assert [e async for e in aiter_events(chunks())] == [SSEEvent("done", '"[DONE]"')]
