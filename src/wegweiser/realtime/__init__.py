"""The only gateway to the channel layer.

Actions call ``publish_on_commit(group, event)``; the event leaves only after the transaction
commits, so nobody is told about a row that was rolled back. The caller chooses the group, and
that choice is a security decision: an event sent to the wrong group is a breach.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def user_group(user: Any) -> str:
    return user_group_of(user.public_id)


def user_group_of(public_id: Any) -> str:
    """The notification sockets of the user with this public id."""
    return f"user.{public_id.hex}"


def send_event(group: str, event: dict[str, Any]) -> None:
    """Hand a raw channel-layer event to ``group`` from synchronous code."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(layer.group_send)(group, event)
    else:  # synchronous code running inside an event loop's own thread
        task = loop.create_task(layer.group_send(group, event))
        _pending.add(task)
        task.add_done_callback(_pending.discard)


_pending: set[asyncio.Task[None]] = set()


def publish(group: str, event: dict[str, Any]) -> None:
    send_event(group, {"type": "relay", "event": event})


def publish_on_commit(group: str, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: publish(group, event))


def user_chat_group(user: Any) -> str:
    """The chat sockets of one user (see counseling.consumers)."""
    return f"chat.u.{user.public_id.hex}"


def access_changed_on_commit(user: Any) -> None:
    """The user's roles changed: their chat sockets recompute what they may receive."""
    group = user_chat_group(user)
    transaction.on_commit(lambda: send_event(group, {"type": "chat.reload"}))
