"""Socket.IO packets serialised with orjson: the same wire format, less CPU per frame.

python-socketio's ``Packet`` encodes with the standard library's ``json`` and, before that,
walks the whole payload (``data_is_binary``, a recursive reduce over fresh lists) to see
whether it holds bytes. Every message costs the node three packets (the ack and ``message:new``
to both members) and one decode, so that walk and the stdlib encoder were some 4 % of a busy
node's CPU. Here the payload is serialised once with orjson, and that single pass is also the
binary check: orjson refuses ``bytes``, so a payload it cannot serialise (bytes, or whatever
else it does not take, such as an integer beyond 64 bits) goes down the library's own path
unchanged, attachments and all. Decoding tries orjson and falls back to the library's decoder
for what orjson refuses but ``json`` accepts (``NaN``, ``Infinity``) and for integers orjson
would read inexactly (beyond 64 bits), so a client sees no difference either way.
"""

from __future__ import annotations

import json as _stdlib_json
import re
from typing import Any

import orjson
from engineio import json as engineio_json
from socketio import packet

_LONG_DIGITS = re.compile(r"\d{19}")


class _Json:
    """The ``json`` module interface python-socketio calls (``dumps``/``loads``)."""

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        try:
            return orjson.dumps(obj).decode()
        except TypeError:
            return _stdlib_json.dumps(obj, **kwargs)

    @staticmethod
    def loads(s: str | bytes, **kwargs: Any) -> Any:
        # orjson reads an integer beyond 64 bits as a float; the library keeps it exact (and
        # refuses one of over 100 digits). A run of 19 digits anywhere sends the text its way.
        if _LONG_DIGITS.search(s if isinstance(s, str) else s.decode(errors="replace")):
            return engineio_json.loads(s, **kwargs)
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError:
            # What the library would accept (NaN, Infinity) or reject with its own error.
            return engineio_json.loads(s, **kwargs)


class OrjsonPacket(packet.Packet):  # type: ignore[misc]
    """A drop-in ``packet_class`` for ``socketio.AsyncServer(serializer=OrjsonPacket)``."""

    json = _Json

    def __init__(
        self,
        packet_type: int = packet.EVENT,
        data: Any = None,
        namespace: str | None = None,
        id: int | None = None,  # noqa: A002 (the library's name)
        binary: bool | None = None,
        encoded_packet: Any = None,
    ) -> None:
        self._encoded: str | None = None
        if data is not None and binary is None and encoded_packet is None:
            try:
                self._encoded = orjson.dumps(data).decode()
                binary = False  # orjson serialises no bytes: nothing to attach
            except TypeError:
                pass  # bytes (or something orjson does not take): the library decides
        super().__init__(packet_type, data, namespace, id, binary, encoded_packet)

    def encode(self) -> Any:
        if self._encoded is None or self.packet_type not in (packet.EVENT, packet.ACK):
            return super().encode()
        head = str(self.packet_type)
        if self.namespace is not None and self.namespace != "/":
            head += self.namespace + ","
        if self.id is not None:
            head += str(self.id)
        return head + self._encoded
