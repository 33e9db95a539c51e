"""Socket.IO handler of the assistant: ``ai:help`` (the article's "AI助手" button)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from rapport.ai import service
from rapport.kit.errors import RapportError

if TYPE_CHECKING:
    from rapport.realtime.server import RealtimeNode


class HelpRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: uuid.UUID


class AIHandlers:
    def __init__(self, node: RealtimeNode) -> None:
        self.node = node

    def register(self) -> None:
        self.node.sio.on("ai:help", self.help)

    async def help(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Suggestions for the requester only: in the ack and as ``ai:suggestions``."""
        try:
            request = HelpRequest.model_validate(data)
        except ValidationError:
            return {
                "ok": False,
                "error": {"code": "validation_error", "message": "Invalid: conversation_id."},
            }
        me = await self.node.user_of(sid)
        rt = self.node.runtime
        try:
            result = await service.suggestions(rt.sessionmaker, rt.ai, me, request.conversation_id)
        except RapportError as exc:
            return exc.to_socket()
        payload = {
            "conversation_id": str(request.conversation_id),
            **result.model_dump(mode="json"),
        }
        await self.node.sio.emit("ai:suggestions", payload, to=sid)
        return {"ok": True, "suggestions": payload}
