"""HTTP routes of chat: REST mirrors of the socket contract for clients without a socket."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from rapport.accounts.deps import CurrentUser
from rapport.chat import service
from rapport.chat.schemas import ConversationOut, MessageOut, MessagePage, MessageSend
from rapport.kit.http import STANDARD_PROBLEMS, DbSession, RuntimeDep
from rapport.moderation.schemas import moderation_problems

router = APIRouter(prefix="/api/v1/conversations", tags=["chat"], responses=STANDARD_PROBLEMS)


@router.get("")
async def list_conversations(
    session: DbSession, me: CurrentUser, rt: RuntimeDep
) -> list[ConversationOut]:
    """Your live conversations: last message, unread count, cursors and peer presence."""
    return await service.conversations(session, me.user_id, rt.presence.states)


@router.get("/{conversation_id}/messages")
async def list_messages(
    conversation_id: uuid.UUID,
    session: DbSession,
    me: CurrentUser,
    after: Annotated[int | None, Query(ge=0, description="Messages with seq > after")] = None,
    before: Annotated[int | None, Query(ge=1, description="Messages with seq < before")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MessagePage:
    """History by seq: the newest page by default, older with ``before``, newer with ``after``."""
    return await service.history(
        session, me.user_id, conversation_id, after=after, before=before, limit=limit
    )


@router.post(
    "/{conversation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "description": "A retry: the message already stored under this client_msg_id",
            "model": MessageOut,
        },
        **moderation_problems(),
    },
)
async def send_message(
    conversation_id: uuid.UUID,
    body: MessageSend,
    session: DbSession,
    me: CurrentUser,
    response: Response,
) -> MessageOut:
    """Send a message. Committed before the answer; retry with the same client_msg_id safely.
    Moderation may answer 409 ``confirm_required`` ("Are you sure?": resend with
    ``confirm: true``) or 422 ``content_blocked``, both with ``reasons``."""
    message, created = await service.send(session, me.user_id, conversation_id, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return message
