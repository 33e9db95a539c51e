"""OrjsonPacket is python-socketio's Packet on the wire: what one encodes the other decodes to the
same thing, binary payloads keep their attachments, and what orjson refuses takes the
library's own path."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from socketio import packet

from rapport.realtime.packets import OrjsonPacket

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)  # beyond 64 bits too
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),  # any code point but lone surrogates, which orjson refuses (tested below)
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
headers = st.tuples(
    st.sampled_from([packet.EVENT, packet.ACK]),
    st.sampled_from([None, "/", "/chat"]),
    st.one_of(st.none(), st.integers(min_value=0, max_value=10**9)),
)


def _decoded(cls: type[Any], encoded: str) -> tuple[Any, ...]:
    pkt = cls(encoded_packet=encoded)
    return pkt.packet_type, pkt.namespace, pkt.id, pkt.data


@given(headers, st.lists(json_values, max_size=3), st.text(min_size=1, max_size=12))
def test_same_packet_on_the_wire_both_ways(header: Any, args: list[Any], event: str) -> None:
    kind, namespace, ack_id = header
    data = [event, *args] if kind == packet.EVENT else args
    ours = OrjsonPacket(kind, data=data, namespace=namespace, id=ack_id).encode()
    stock = packet.Packet(kind, data=data, namespace=namespace, id=ack_id).encode()
    assert isinstance(ours, str)
    # The bytes may differ (orjson leaves non-ASCII unescaped); what they say may not.
    assert _decoded(packet.Packet, ours) == _decoded(packet.Packet, stock)
    assert _decoded(OrjsonPacket, stock) == _decoded(packet.Packet, stock)


def test_binary_payloads_keep_their_attachments() -> None:
    data = ["upload", {"name": "a.png", "bytes": b"\x89PNG\x00"}]
    ours = OrjsonPacket(packet.EVENT, data=data)
    assert ours.packet_type == packet.BINARY_EVENT
    assert ours.encode() == packet.Packet(packet.EVENT, data=data).encode()


@pytest.mark.parametrize(
    "data",
    [
        ["big", 2**70],  # beyond 64 bits
        ["keys", {1: "one"}],  # not a string key
        ["surrogate", "\ud800"],  # not valid UTF-8
    ],
)
def test_what_orjson_refuses_is_encoded_as_the_library_would(data: list[Any]) -> None:
    assert OrjsonPacket(packet.EVENT, data=data).encode() == (
        packet.Packet(packet.EVENT, data=data).encode()
    )


def test_decoding_accepts_what_the_library_accepts() -> None:
    for encoded in ('2["ev",NaN]', '2["ev",1e999]', '2["ev",123456789012345678901234567890]'):
        ours, stock = OrjsonPacket(encoded_packet=encoded), packet.Packet(encoded_packet=encoded)
        assert repr(ours.data) == repr(stock.data)
    assert math.isnan(OrjsonPacket(encoded_packet='2["ev",NaN]').data[1])
    with pytest.raises(json.JSONDecodeError):  # the library's own error for broken JSON
        OrjsonPacket(encoded_packet='2["ev",')
