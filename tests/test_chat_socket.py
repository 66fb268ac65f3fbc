"""The conversation socket against the contract (shared/contracts/realtime.md)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from tests.conftest import login_session, make_user, socket_headers
from wegweiser.accounts.models import User
from wegweiser.asgi import application
from wegweiser.counseling.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


async def open_socket(user: Any, origin: bytes = b"http://testserver",
                      session_key: str | None = None) -> WebsocketCommunicator:
    """A socket of ``user`` through the real handshake: session cookie, Origin, AuthMiddleware."""
    if session_key is None:
        session_key = await database_sync_to_async(login_session)(user)
    socket = WebsocketCommunicator(application, "/ws/chat/", headers=socket_headers(session_key, origin))
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


async def frames_until(socket: WebsocketCommunicator, kind: str, timeout: float = 3) -> dict[str, Any]:
    while True:
        frame = await socket.receive_json_from(timeout=timeout)
        if frame["type"] == kind:
            return frame


async def test_same_client_id_gives_the_original_ack(counseling: Any, mia: User, jonas: User) -> None:
    conv = str(counseling.conversation.public_id)
    mia_socket, jonas_socket = await open_socket(mia), await open_socket(jonas)
    client_id = str(uuid.uuid4())
    await send(mia_socket, type="send", conversation=conv, client_id=client_id, body="einmal")
    first = await frames_until(mia_socket, "ack")
    await send(mia_socket, type="send", conversation=conv, client_id=client_id, body="einmal")
    second = await frames_until(mia_socket, "ack")
    assert first == second
    await jonas_socket.receive_json_from(timeout=3)
    assert await jonas_socket.receive_nothing(timeout=0.3)  # delivered once
    count = await database_sync_to_async(Message.objects.filter(body="einmal").count)()
    assert count == 1
    await mia_socket.disconnect()
    await jonas_socket.disconnect()


async def test_seqs_are_gap_free_under_concurrent_sends(counseling: Any, mia: User, jonas: User) -> None:
    conv = str(counseling.conversation.public_id)
    sockets = [await open_socket(mia), await open_socket(jonas), await open_socket(mia)]
    for round_ in range(10):
        for index, socket in enumerate(sockets):
            await send(socket, type="send", conversation=conv, client_id=str(uuid.uuid4()),
                       body=f"{index}-{round_}")
    seqs = []
    for socket in sockets:
        for _ in range(10):
            seqs.append((await frames_until(socket, "ack"))["message"]["seq"])
    assert sorted(seqs) == list(range(3, 33))
    await send(sockets[1], type="sync", conversation=conv, after=0)
    page = await frames_until(sockets[1], "messages")
    assert [m["seq"] for m in page["messages"]] == list(range(1, 33)) and page["more"] is False
    for socket in sockets:
        await socket.disconnect()


async def test_sync_pages_by_200(counseling: Any, mia: User) -> None:
    conv = counseling.conversation

    def many() -> None:
        from wegweiser.counseling import actions

        items = [actions.PostItem(conversation_pk=conv.pk, conversation_id=conv.public_id, sender_pk=mia.pk,
                                  sender_public_id=mia.public_id, role="client", body=f"n{i}")
                 for i in range(250)]
        actions.messages_store(items)

    await database_sync_to_async(many)()
    socket = await open_socket(mia)
    await send(socket, type="sync", conversation=str(conv.public_id), after=10)
    page = await frames_until(socket, "messages")
    assert len(page["messages"]) == 200 and page["more"] is True
    assert page["messages"][0]["seq"] == 11
    await send(socket, type="sync", conversation=str(conv.public_id), after=210)
    rest = await frames_until(socket, "messages")
    assert [m["seq"] for m in rest["messages"]] == list(range(211, 253)) and rest["more"] is False
    await socket.disconnect()


async def test_read_markers_reach_the_other_side(counseling: Any, mia: User, jonas: User) -> None:
    conv = str(counseling.conversation.public_id)
    mia_socket, jonas_socket = await open_socket(mia), await open_socket(jonas)
    await send(jonas_socket, type="read", conversation=conv, seq=2)
    frame = await frames_until(mia_socket, "read")
    assert frame == {"type": "read", "conversation": conv, "user": str(jonas.public_id), "seq": 2}
    await send(jonas_socket, type="read", conversation=conv, seq=999)  # clamped: nothing moves
    assert await mia_socket.receive_nothing(timeout=0.3)
    from wegweiser.counseling.models import ConversationState

    state = await database_sync_to_async(ConversationState.objects.get)(user=jonas)
    assert state.last_read_seq == 2
    await mia_socket.disconnect()
    await jonas_socket.disconnect()


def _j(**frame: Any) -> str:
    return json.dumps(frame)


_U = str(uuid.uuid4())


@pytest.mark.parametrize("frame, code", [
    ("not json", "invalid"),
    ("[1, 2]", "invalid"),
    # A lone surrogate could not be stored as text (PostgreSQL refuses it): malformed JSON.
    (_j(type="send", conversation=_U, client_id=_U, body="@").replace("@", "\\ud800"), "invalid"),
    (_j(type="dance"), "invalid"),
    (_j(type="send", conversation="x", client_id=_U, body="a"), "invalid"),
    (_j(type="send", conversation=_U, client_id="nope", body="a"), "invalid"),
    (_j(type="send", conversation=_U, client_id=_U, body=""), "invalid"),
    (_j(type="send", conversation=_U, client_id=_U, body=7), "invalid"),
    (_j(type="send", conversation=_U, client_id=_U, body="x" * 10_001), "too_large"),
    (_j(type="ping", pad="x" * 90_000), "too_large"),
    (_j(type="read", conversation=_U, seq=-1), "invalid"),
    (_j(type="sync", conversation=_U, after="0"), "invalid"),
    (_j(type="sync", conversation=_U, after=0), "not_found"),
])
async def test_bad_frames_get_an_error_and_the_socket_stays_usable(counseling: Any, mia: User, frame: str,
                                                                   code: str) -> None:
    socket = await open_socket(mia)
    await socket.send_to(text_data=frame)
    error = await frames_until(socket, "error")
    assert error["code"] == code
    await send(socket, type="ping")
    assert await frames_until(socket, "pong") == {"type": "pong"}
    await socket.disconnect()


async def test_foreign_conversations_are_not_found_like_unknown_ones(counseling: Any, lars: User, otto: User,
                                                                    mia: User) -> None:
    ben = await database_sync_to_async(make_user)("ben", User.Kind.CLIENT)
    conv = str(counseling.conversation.public_id)
    last_seq = counseling.conversation.last_seq
    for intruder in (lars, otto, ben):
        socket = await open_socket(intruder)
        client_id = str(uuid.uuid4())
        for frame in ({"type": "send", "conversation": conv, "client_id": client_id, "body": "hi"},
                      {"type": "read", "conversation": conv, "seq": 1},
                      {"type": "sync", "conversation": conv, "after": 0},
                      {"type": "sync", "conversation": str(uuid.uuid4()), "after": 0}):
            await send(socket, **frame)
            error = await frames_until(socket, "error")
            assert error["code"] == "not_found"
            assert error["detail"] == "no such conversation"
        assert await socket.receive_nothing(timeout=0.2)
        await socket.disconnect()
    conversation = await database_sync_to_async(type(counseling.conversation).objects.get)(
        pk=counseling.conversation.pk)
    assert conversation.last_seq == last_seq
    from wegweiser.counseling.models import ConversationState

    assert not await database_sync_to_async(
        ConversationState.objects.filter(user__in=[lars, otto, ben]).exists)()


async def test_intruders_receive_nothing(counseling: Any, mia: User, lars: User, otto: User) -> None:
    conv = str(counseling.conversation.public_id)
    watchers = [await open_socket(lars), await open_socket(otto)]
    mia_socket = await open_socket(mia)
    await send(mia_socket, type="send", conversation=conv, client_id=str(uuid.uuid4()), body="geheim")
    await frames_until(mia_socket, "ack")
    for watcher in watchers:
        assert await watcher.receive_nothing(timeout=0.3)
        await watcher.disconnect()
    await mia_socket.disconnect()


async def test_origin_and_login_are_required(counseling: Any, mia: User) -> None:
    key = await database_sync_to_async(login_session)(mia)
    socket = WebsocketCommunicator(application, "/ws/chat/", headers=socket_headers(key, b"https://evil.example"))
    connected, _ = await socket.connect()
    assert connected
    assert (await socket.receive_output(timeout=2))["code"] == 4403
    anonymous = WebsocketCommunicator(application, "/ws/chat/", headers=[(b"origin", b"http://testserver")])
    connected, _ = await anonymous.connect()
    assert connected
    assert (await anonymous.receive_output(timeout=2))["code"] == 4401


async def test_closing_stops_delivery_and_refuses_sends(counseling: Any, mia: User, jonas: User) -> None:
    from wegweiser.counseling import actions

    conv = counseling.conversation
    mia_socket = await open_socket(mia)
    await database_sync_to_async(actions.conversation_close)(actor=jonas, conversation=conv)
    notice = await frames_until(mia_socket, "message")
    assert notice["message"]["sender_role"] == "system"
    client_id = str(uuid.uuid4())
    await send(mia_socket, type="send", conversation=str(conv.public_id), client_id=client_id, body="hallo?")
    error = await frames_until(mia_socket, "error")
    assert error["code"] == "closed" and error["client_id"] == client_id
    await mia_socket.disconnect()


async def test_handover_moves_the_subscription(counseling: Any, mia: User, jonas: User) -> None:
    from tests.conftest import make_staff
    from wegweiser.counseling import actions
    from wegweiser.organizations.models import Role

    conv = counseling.conversation
    carla = await database_sync_to_async(make_staff)("carla", [(counseling.agency_a.node, Role.COUNSELOR)])
    jonas_socket, carla_socket = await open_socket(jonas), await open_socket(carla)
    handover = await database_sync_to_async(actions.handover_request)(actor=jonas, conversation=conv,
                                                                      to_counselor=carla)
    await frames_until(jonas_socket, "message")  # the system notice asking for consent
    await database_sync_to_async(actions.handover_answer)(actor=mia, handover=handover, consent=True)
    await asyncio.sleep(0.3)  # the subscription changes travel as events, like messages
    mia_socket = await open_socket(mia)
    while not await jonas_socket.receive_nothing(timeout=0.3):  # drain the notices
        await jonas_socket.receive_json_from()
    await send(mia_socket, type="send", conversation=str(conv.public_id), client_id=str(uuid.uuid4()),
               body="neu")
    await frames_until(mia_socket, "ack")
    received = await frames_until(carla_socket, "message")
    assert received["message"]["body"] == "neu"
    assert await jonas_socket.receive_nothing(timeout=0.3)
    for socket in (jonas_socket, carla_socket, mia_socket):
        await socket.disconnect()


@pytest.mark.parametrize("how", ["role removed", "agency deactivated"])
async def test_losing_access_stops_delivery_at_once(counseling: Any, mia: User, jonas: User, kai: User,
                                                    how: str) -> None:
    from wegweiser.organizations import actions as org_actions
    from wegweiser.organizations.models import Membership

    node = counseling.agency_a.node
    jonas_socket = await open_socket(jonas)

    def lose_access() -> None:
        if how == "role removed":
            org_actions.membership_delete(actor=kai, membership=Membership.objects.get(user=jonas, node=node))
        else:
            org_actions.node_update(actor=kai, node=node, name=node.name, kind=node.kind, is_active=False)

    await database_sync_to_async(lose_access)()
    await asyncio.sleep(0.3)  # the reload travels as an event, like messages
    mia_socket = await open_socket(mia)
    await send(mia_socket, type="send", conversation=str(counseling.conversation.public_id),
               client_id=str(uuid.uuid4()), body="nur für Berechtigte")
    await frames_until(mia_socket, "ack")
    assert await jonas_socket.receive_nothing(timeout=0.5)
    for socket in (jonas_socket, mia_socket):
        await socket.disconnect()


async def test_rate_limit(counseling: Any, mia: User, settings: Any) -> None:
    from wegweiser.counseling import consumers

    settings.CHAT_RATE_LIMIT = "3/60"
    consumers._send_buckets.clear()
    socket = await open_socket(mia)
    conv = str(counseling.conversation.public_id)
    for _ in range(4):
        await send(socket, type="send", conversation=conv, client_id=str(uuid.uuid4()), body="spam")
    kinds = [(await socket.receive_json_from(timeout=3))["type"] for _ in range(4)]
    assert kinds.count("ack") == 3 and kinds.count("error") == 1
    consumers._send_buckets.clear()
    await socket.disconnect()
