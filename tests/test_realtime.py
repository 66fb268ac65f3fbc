"""The notification socket: only logged-in users, only their own events, only after commit."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction

from tests.conftest import login_session, make_user, socket_headers
from wegweiser.accounts.models import User
from wegweiser.asgi import application
from wegweiser.realtime import publish_on_commit, user_group

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(user: User | None, origin: bytes = b"http://testserver",
                  session_key: str | None = None) -> WebsocketCommunicator:
    if user is not None and session_key is None:
        session_key = await database_sync_to_async(login_session)(user)
    return WebsocketCommunicator(application, "/ws/notifications/",
                                 headers=socket_headers(session_key, origin))


async def test_anonymous_visitor_is_refused() -> None:
    communicator = await connect(None)
    connected, _ = await communicator.connect()
    assert connected  # accepted only to be closed at once, so real clients see the code
    assert (await communicator.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4401}
    await communicator.disconnect()


async def test_foreign_origin_is_refused() -> None:
    mia = await database_sync_to_async(make_user)("mia", User.Kind.CLIENT)
    communicator = await connect(mia, b"https://evil.example")
    connected, _ = await communicator.connect()
    assert connected  # accepted only to be closed at once with the contract's code
    assert (await communicator.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4403}


async def test_events_reach_only_their_user_and_only_after_commit() -> None:
    mia = await database_sync_to_async(make_user)("mia", User.Kind.CLIENT)
    lars = await database_sync_to_async(make_user)("lars")
    mia_socket, lars_socket = await connect(mia), await connect(lars)
    assert (await mia_socket.connect())[0] and (await lars_socket.connect())[0]

    def rolled_back() -> None:
        try:
            with transaction.atomic():
                publish_on_commit(user_group(mia), {"type": "notify", "what": "doomed"})
                raise RuntimeError
        except RuntimeError:
            pass

    def committed() -> None:
        with transaction.atomic():
            publish_on_commit(user_group(mia), {"type": "notify", "what": "new_message"})

    await database_sync_to_async(rolled_back)()
    await database_sync_to_async(committed)()
    received = await mia_socket.receive_json_from(timeout=2)
    assert received == {"type": "notify", "what": "new_message"}
    assert await lars_socket.receive_nothing(timeout=0.3)
    assert await mia_socket.receive_nothing(timeout=0.1)

    await mia_socket.send_json_to({"type": "ping"})
    assert await mia_socket.receive_json_from() == {"type": "pong"}
    await mia_socket.disconnect()
    await lars_socket.disconnect()


def test_user_group_names_use_public_ids(db: Any) -> None:
    mia = make_user("mia", User.Kind.CLIENT)
    assert user_group(mia) == f"user.{mia.public_id.hex}"
