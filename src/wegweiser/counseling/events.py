"""Channel-layer groups and events of the chat socket (contract: shared/contracts/realtime.md).

Group names are the security boundary: ``chat.c.<conversation>`` reaches every socket subscribed
to a conversation, ``chat.u.<user>`` one user's sockets (subscription changes), ``chat.a.<agency
node>`` the sockets of an agency's counselors (new team conversations). Frames are serialized
once here and relayed as text, so a message fanned out to many sockets is encoded only once.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from django.db import transaction

from wegweiser.realtime import publish_on_commit, send_event, user_chat_group, user_group_of

__all__ = ["user_chat_group"]


def conversation_group(conversation_id: uuid.UUID | str) -> str:
    return f"chat.c.{uuid.UUID(str(conversation_id)).hex}"


def agency_chat_group(node_public_id: uuid.UUID) -> str:
    return f"chat.a.{node_public_id.hex}"


def frame_event(frame: dict[str, Any], *, exclude: str = "") -> dict[str, Any]:
    return {"type": "chat.frame", "text": dumps(frame), "exclude": exclude}


def dumps(frame: dict[str, Any]) -> str:
    """Compact UTF-8 JSON (orjson: the chat socket encodes two frames per message)."""
    return orjson.dumps(frame).decode()


def loads(text: str) -> Any:
    """Strict JSON: orjson refuses what PostgreSQL could not store either (lone surrogates),
    NaN and integers beyond 64 bits; it raises ``ValueError`` like ``json.loads``."""
    return orjson.loads(text)


def send(group: str, event: dict[str, Any]) -> None:
    send_event(group, event)


def send_on_commit(group: str, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: send(group, event))


def subscribe_on_commit(group: str, conversation_id: uuid.UUID) -> None:
    send_on_commit(group, {"type": "chat.subscribe", "conversation": conversation_id.hex})


def reload_on_commit(user: Any) -> None:
    """The user's access may have shrunk: every socket recomputes its subscriptions."""
    send_on_commit(user_chat_group(user), {"type": "chat.reload"})


def closed_on_commit(conversation_id: uuid.UUID) -> None:
    send_on_commit(conversation_group(conversation_id),
                   {"type": "chat.closed", "conversation": conversation_id.hex})


INBOX_EVENT = {"type": "inbox"}


def inbox_changed_on_commit(user_public_ids: Any) -> None:
    """Tell these counselors' notification sockets that their inbox lists changed (a new
    enquiry, one accepted, a handover). The event says nothing else: no name, no topic, no
    text; the page fetches the list itself, through the access checks."""
    for public_id in set(user_public_ids):
        publish_on_commit(user_group_of(public_id), INBOX_EVENT)
