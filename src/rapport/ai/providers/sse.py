"""One incremental Server-Sent-Events parser, shared by every streaming adapter (Dify, Coze).

Follows the WHATWG event-stream rules: lines end in CRLF, LF or CR (also when a CRLF is split
across two chunks); ``:`` starts a comment; ``data:`` lines of one event are joined with ``\\n``;
a blank line dispatches; ``id`` persists until changed. One deliberate extension: an event that
names its type but carries no data (Dify's bare ``event: ping``) is still dispatched, with
``data == ""``, so a consumer can see keep-alives instead of guessing at silence.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import AsyncGenerator, AsyncIterable
from dataclasses import dataclass

_EOL = re.compile(r"\r\n|\r|\n")
_BOM = "\ufeff"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None


class SSEParser:
    """Bytes (or text) in, complete events out. Feed chunks as they arrive; call :meth:`close`
    at end of stream to flush an event the server did not terminate with a blank line."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._started = False
        self._event = ""
        self._data: list[str] = []
        self._last_id: str | None = None
        self.retry_ms: int | None = None

    def feed(self, chunk: bytes | str) -> list[SSEEvent]:
        text = self._decoder.decode(chunk) if isinstance(chunk, bytes) else chunk
        return self._push(text, final=False)

    def close(self) -> list[SSEEvent]:
        events = self._push(self._decoder.decode(b"", final=True), final=True)
        if self._buffer:
            self._line(self._buffer)
            self._buffer = ""
        pending = self._dispatch()
        return [*events, pending] if pending else events

    def _push(self, text: str, *, final: bool) -> list[SSEEvent]:
        if not self._started and text:
            self._started = True
            text = text.removeprefix(_BOM)
        buffer = self._buffer + text
        events: list[SSEEvent] = []
        start = 0
        for match in _EOL.finditer(buffer):
            if match.group() == "\r" and match.end() == len(buffer) and not final:
                break  # may be the first half of a CRLF split across chunks
            event = self._line(buffer[start : match.start()])
            if event:
                events.append(event)
            start = match.end()
        self._buffer = buffer[start:]
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        elif field == "id" and "\0" not in value:
            self._last_id = value
        elif field == "retry" and value.isascii() and value.isdigit():
            self.retry_ms = int(value)
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._data and not self._event:
            return None
        event = SSEEvent(self._event or "message", "\n".join(self._data), self._last_id)
        self._event = ""
        self._data = []
        return event


async def aiter_events(chunks: AsyncIterable[bytes]) -> AsyncGenerator[SSEEvent, None]:
    """Parse an async byte stream (e.g. ``httpx.Response.aiter_bytes()``) into events."""
    parser = SSEParser()
    async for chunk in chunks:
        for event in parser.feed(chunk):
            yield event
    for event in parser.close():
        yield event
