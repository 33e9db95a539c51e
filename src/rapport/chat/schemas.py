"""Message and conversation payloads, shared by REST and Socket.IO."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from rapport.kit.validation import NonBlank

MAX_BODY = 4000


class MessageSend(BaseModel):
    """What a client sends; the sender comes from the verified token, never from here."""

    model_config = ConfigDict(extra="forbid")

    client_msg_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-:.]+$")
    kind: Literal["text"] = "text"
    body: Annotated[str, Field(min_length=1, max_length=MAX_BODY), NonBlank]
    reply_to: uuid.UUID | None = None
    ai_suggestion: bool = Field(
        default=False,
        description="The user sent an assistant suggestion; if the text is unchanged the "
        "message is stored with ai_assisted: true",
    )
    confirm: bool = Field(
        default=False,
        description="Send it anyway after an 'Are you sure?' answer (confirm_required): "
        "resend the same message, same client_msg_id, with confirm: true",
    )


class MessageOut(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID | None
    kind: str
    body: str
    created_at: datetime
    client_msg_id: str | None
    reply_to: uuid.UUID | None = None
    ai_assisted: bool = Field(
        default=False, description="Sent unchanged from an assistant suggestion"
    )


class MessagePage(BaseModel):
    messages: list[MessageOut]
    has_more: bool
    next_before: int | None = Field(description="Pass as ?before= for older messages")
    next_after: int | None = Field(description="Pass as ?after= for newer messages")


class ConversationOut(BaseModel):
    id: uuid.UUID
    match_id: uuid.UUID | None
    peer_id: uuid.UUID | None
    created_at: datetime
    closed: bool
    last_seq: int
    last_message: MessageOut | None
    unread_count: int
    read_seq: int
    peer_delivered_seq: int
    peer_read_seq: int | None = Field(description="Null unless both people allow read receipts")
    peer_online: bool | None = Field(default=None, description="Null if presence is hidden")
    peer_last_seen_at: datetime | None = None


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: uuid.UUID
    up_to_seq: int = Field(ge=0, le=2**31 - 1)


class ReceiptState(BaseModel):
    """A member's cursors as the *other* member may see them (read hidden unless both allow)."""

    conversation_id: uuid.UUID
    user_id: uuid.UUID
    delivered_seq: int
    read_seq: int | None
