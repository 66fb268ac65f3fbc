"""The chat socket's group commit (counseling/consumers/writer.py ``_Writer``): order, resends, absence
notices and failures, on whichever database the run uses (on PostgreSQL the batches go through
the asynchronous connection of the event loop, on SQLite through the writer thread)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.utils import timezone

from tests.test_chat_socket import frames_until, open_socket, send
from wegweiser.accounts.models import User
from wegweiser.counseling import actions
from wegweiser.counseling.consumers import writer as group_commit
from wegweiser.counseling.models import Absence, Message

pytestmark = pytest.mark.django_db(transaction=True)


async def test_acks_come_in_send_order_with_rising_seqs(counseling: Any, mia: User, jonas: User) -> None:
    conv = str(counseling.conversation.public_id)
    mia_socket, jonas_socket = await open_socket(mia), await open_socket(jonas)
    client_ids = [str(uuid.uuid4()) for _ in range(25)]
    for number, client_id in enumerate(client_ids):  # no waiting: they share batches
        await send(mia_socket, type="send", conversation=conv, client_id=client_id, body=f"n{number}")
    acks = [await frames_until(mia_socket, "ack") for _ in client_ids]
    assert [ack["client_id"] for ack in acks] == client_ids
    assert [ack["message"]["seq"] for ack in acks] == list(range(3, 28))
    delivered = [await frames_until(jonas_socket, "message") for _ in client_ids]
    assert [frame["message"]["body"] for frame in delivered] == [f"n{n}" for n in range(25)]
    assert await mia_socket.receive_nothing(timeout=0.2)  # the sender gets acks, not echoes
    await mia_socket.disconnect()
    await jonas_socket.disconnect()


async def test_a_resend_in_flight_is_stored_once(counseling: Any, mia: User, jonas: User) -> None:
    conv = str(counseling.conversation.public_id)
    mia_socket, jonas_socket = await open_socket(mia), await open_socket(jonas)
    client_id = str(uuid.uuid4())
    for _ in range(3):  # the same message three times before the first ack
        await send(mia_socket, type="send", conversation=conv, client_id=client_id, body="doppelt")
    acks = [await frames_until(mia_socket, "ack") for _ in range(3)]
    assert acks[0] == acks[1] == acks[2]
    await send(mia_socket, type="send", conversation=conv, client_id=client_id, body="doppelt")
    assert await frames_until(mia_socket, "ack") == acks[0]  # a later batch: found, not stored
    await frames_until(jonas_socket, "message")
    assert await jonas_socket.receive_nothing(timeout=0.3)
    assert await database_sync_to_async(Message.objects.filter(body="doppelt").count)() == 1
    # The next new message still gets the next seq: the rolled-back attempt left no gap.
    await send(mia_socket, type="send", conversation=conv, client_id=str(uuid.uuid4()), body="neu")
    assert (await frames_until(mia_socket, "ack"))["message"]["seq"] == acks[0]["message"]["seq"] + 1
    await mia_socket.disconnect()
    await jonas_socket.disconnect()


async def test_absence_notice_reaches_both_sides_once(counseling: Any, mia: User, jonas: User) -> None:
    now = timezone.now()
    await database_sync_to_async(Absence.objects.create)(
        user=jonas, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=3),
        message="Bis Montag im Urlaub.")
    conv = str(counseling.conversation.public_id)
    mia_socket, jonas_socket = await open_socket(mia), await open_socket(jonas)
    for body in ("Hallo?", "Hallo??"):
        await send(mia_socket, type="send", conversation=conv, client_id=str(uuid.uuid4()), body=body)
    frames = [await mia_socket.receive_json_from(timeout=3) for _ in range(3)]
    assert sorted(frame["type"] for frame in frames) == ["ack", "ack", "message"]
    notice = next(frame for frame in frames if frame["type"] == "message")
    assert notice["message"]["body"] == "Bis Montag im Urlaub."
    assert notice["message"]["sender_role"] == "system"
    bodies = [(await frames_until(jonas_socket, "message"))["message"]["body"] for _ in range(3)]
    assert sorted(bodies) == sorted(["Hallo?", "Hallo??", "Bis Montag im Urlaub."])
    assert await mia_socket.receive_nothing(timeout=0.3)
    count = await database_sync_to_async(Message.objects.filter(body="Bis Montag im Urlaub.").count)()
    assert count == 1
    await mia_socket.disconnect()
    await jonas_socket.disconnect()


async def test_a_failed_batch_closes_the_socket_and_stores_nothing(counseling: Any, mia: User,
                                                                   monkeypatch: Any) -> None:
    async def broken(self: Any, items: Any) -> Any:
        raise RuntimeError("database gone")

    monkeypatch.setattr(group_commit._Writer, "_store", broken)
    socket = await open_socket(mia)
    for _ in range(3):  # one close, however many sends of the socket fail
        await send(socket, type="send", conversation=str(counseling.conversation.public_id),
                   client_id=str(uuid.uuid4()), body="verloren?")
    closed = await socket.receive_output(timeout=3)
    # 1011: the client reconnects, catches up with sync and sends again with its client_id.
    assert closed == {"type": "websocket.close", "code": 1011}
    assert await socket.receive_nothing(timeout=0.3)
    assert not await database_sync_to_async(Message.objects.filter(body="verloren?").exists)()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the asynchronous path is PostgreSQL's")
async def test_async_store_refuses_a_resend_without_storing(counseling: Any, mia: User) -> None:
    import psycopg

    conv = counseling.conversation
    params = await database_sync_to_async(connection.get_connection_params)()
    params.pop("cursor_factory", None)
    aconnection = await psycopg.AsyncConnection.connect(**params, autocommit=True)
    try:
        item = actions.PostItem(conversation_pk=conv.pk, conversation_id=conv.public_id, sender_pk=mia.pk,
                                sender_public_id=mia.public_id, role="client", body="eins",
                                client_id=uuid.uuid4())
        stored = await actions.messages_store_async([item], aconnection)
        assert stored is not None
        outcome, due = stored
        assert outcome.results[0].message["seq"] == 3 and due == set()
        again = actions.PostItem(**{**item.__dict__, "body": "zwei"})
        fresh = actions.PostItem(**{**item.__dict__, "body": "drei", "client_id": uuid.uuid4()})
        assert await actions.messages_store_async([fresh, again], aconnection) is None
    finally:
        await aconnection.close()
    conv_messages = Message.objects.filter(conversation=conv).order_by("seq").values_list("seq", "body")
    rows = await database_sync_to_async(lambda: list(conv_messages))()
    assert rows[-1] == (3, "eins")  # the whole batch rolled back, "drei" included
    last_seq = await database_sync_to_async(lambda: type(conv).objects.get(pk=conv.pk).last_seq)()
    assert last_seq == 3


async def test_writer_survives_a_lost_database_connection(counseling: Any, mia: User) -> None:
    conv = str(counseling.conversation.public_id)
    socket = await open_socket(mia)
    await send(socket, type="send", conversation=conv, client_id=str(uuid.uuid4()), body="vorher")
    await frames_until(socket, "ack")
    writer = group_commit._writer()
    if writer.aconnection:
        writer.aconnection.pgconn.finish()  # as if the server had closed it
    else:
        await asyncio.get_running_loop().run_in_executor(writer.executor, lambda: connection.close())
    await send(socket, type="send", conversation=conv, client_id=str(uuid.uuid4()), body="nachher")
    ack = await frames_until(socket, "ack")
    assert ack["message"]["body"] == "nachher" and ack["message"]["seq"] == 4
    await socket.disconnect()
