"""The conversation socket against the contract (shared/contracts/realtime.md)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from wegweiser.accounts.models import User
from wegweiser.asgi import application
from wegweiser.counseling.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


async def open_socket(user: Any, origin: bytes = b"http://testserver") -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, "/ws/chat/", headers=[(b"origin", origin)])
    socket.scope["user"] = user
    connected, _ = await socket.connect()
    assert connected
    return socket


async def send(socket: WebsocketCommunicator, **frame: Any) -> None:
    await socket.send_to(text_data=json.dumps(frame))


async def test_send_ack_and_delivery(counseling: Any, mia: User, jonas: User) -> None:
    conv = str(counseling.conversation.public_id)
    mia_socket, jonas_socket = await open_socket(mia), await open_socket(jonas)
    client_id = str(uuid.uuid4())
    await send(mia_socket, type="send", conversation=conv, client_id=client_id, body="Hallo")
    ack = await mia_socket.receive_json_from(timeout=3)
    assert ack["type"] == "ack" and ack["client_id"] == client_id
    delivered = await jonas_socket.receive_json_from(timeout=3)
    assert delivered == {"type": "message", "conversation": conv, "message": ack["message"]}
    assert ack["message"]["sender"] == str(mia.public_id)
    assert ack["message"]["sender_role"] == "client"
    stored = await database_sync_to_async(Message.objects.get)(public_id=ack["message"]["id"])
    assert stored.seq == ack["message"]["seq"] == 3  # enquiry, "accepted" notice, this
    await mia_socket.disconnect()
    await jonas_socket.disconnect()
