"""Sockets live no longer than their login session (realtime/sessions.py)."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.utils import timezone

from tests.conftest import CsrfClient, login_session
from tests.test_chat_socket import frames_until, open_socket, send
from tests.test_realtime import connect
from wegweiser.accounts.middleware import LOGIN_AT
from wegweiser.accounts.models import User
from wegweiser.counseling.models import Message
from wegweiser.realtime import sessions

pytestmark = pytest.mark.django_db(transaction=True)


async def closed_with(socket: Any) -> int | None:
    output = await socket.receive_output(timeout=3)
    return output.get("code") if output["type"] == "websocket.close" else None


def _logout(session_key: str) -> int:
    client = CsrfClient()
    client.cookies["sessionid"] = session_key
    return client.post("/accounts/logout/").status_code


async def test_logout_closes_that_sessions_sockets_at_once(counseling: Any, mia: User, jonas: User) -> None:
    phone, laptop = [await database_sync_to_async(login_session)(mia) for _ in range(2)]
    chat = await open_socket(mia, session_key=phone)
    notifications = await connect(mia, session_key=phone)
    assert (await notifications.connect())[0]
    other = await open_socket(mia, session_key=laptop)

    assert await database_sync_to_async(_logout)(phone) == 302
    assert await closed_with(chat) == 4401
    assert await closed_with(notifications) == 4401
    # The other session's socket stays and still receives.
    jonas_socket = await open_socket(jonas)
    await send(jonas_socket, type="send", conversation=str(counseling.conversation.public_id),
               client_id=str(uuid.uuid4()), body="noch da?")
    frame = await frames_until(other, "message")
    assert frame["message"]["body"] == "noch da?"
    for socket in (other, jonas_socket):
        await socket.disconnect()


async def test_a_closed_socket_stores_nothing_it_still_receives(counseling: Any, mia: User) -> None:
    key = await database_sync_to_async(login_session)(mia)
    socket = await open_socket(mia, session_key=key)
    await database_sync_to_async(_logout)(key)
    assert await closed_with(socket) == 4401
    await send(socket, type="send", conversation=str(counseling.conversation.public_id),
               client_id=str(uuid.uuid4()), body="nach dem Abmelden")
    assert await socket.receive_nothing(timeout=0.3)
    assert not await database_sync_to_async(Message.objects.filter(body="nach dem Abmelden").exists)()


async def test_ended_sessions_are_found_by_the_round(counseling: Any, mia: User, jonas: User) -> None:
    """Deleted elsewhere ("log out everywhere" on another device, an operator), expired, past
    the absolute lifetime, or the account was stopped: the next round closes the socket."""
    keys = [await database_sync_to_async(login_session)(mia) for _ in range(3)]
    jonas_key = await database_sync_to_async(login_session)(jonas)
    sockets = [await open_socket(mia, session_key=key) for key in keys]
    jonas_socket = await open_socket(jonas, session_key=jonas_key)
    survivor_key = await database_sync_to_async(login_session)(mia)
    survivor = await open_socket(mia, session_key=survivor_key)

    def end_them() -> None:
        Session.objects.filter(session_key=keys[0]).delete()
        Session.objects.filter(session_key=keys[1]).update(expire_date=timezone.now() - timedelta(seconds=1))
        from django.contrib.sessions.backends.db import SessionStore

        store = SessionStore(session_key=keys[2])
        store[LOGIN_AT] = int(time.time()) - 13 * 3600  # SESSION_MAX_HOURS is 12
        store.save()
        User.objects.filter(pk=jonas.pk).update(is_active=False)

    await database_sync_to_async(end_them)()
    assert await survivor.receive_nothing(timeout=0.1)
    await sessions.watch().check()
    for socket in [*sockets, jonas_socket]:
        assert await closed_with(socket) == 4401
    assert await survivor.receive_nothing(timeout=0.3)
    await survivor.send_to(text_data='{"type":"ping"}')
    assert await survivor.receive_json_from(timeout=3) == {"type": "pong"}
    await survivor.disconnect()


async def test_writing_renews_the_idle_timeout_and_pings_do_not(counseling: Any, mia: User,
                                                                jonas: User) -> None:
    writer_key = await database_sync_to_async(login_session)(mia)
    pinger_key = await database_sync_to_async(login_session)(jonas)
    writer = await open_socket(mia, session_key=writer_key)
    pinger = await open_socket(jonas, session_key=pinger_key)
    soon = timezone.now() + timedelta(minutes=2)
    await database_sync_to_async(
        Session.objects.filter(session_key__in=[writer_key, pinger_key]).update)(expire_date=soon)

    await send(writer, type="send", conversation=str(counseling.conversation.public_id),
               client_id=str(uuid.uuid4()), body="ich schreibe noch")
    await frames_until(writer, "ack")
    await pinger.send_to(text_data='{"type":"ping"}')
    await frames_until(pinger, "pong")
    await sessions.watch().check()

    def expiry(key: str) -> Any:
        return Session.objects.get(session_key=key).expire_date

    assert await database_sync_to_async(expiry)(writer_key) > timezone.now() + timedelta(minutes=50)
    assert await database_sync_to_async(expiry)(pinger_key) == soon
    # Nobody wrote since: the next round renews nothing.
    await database_sync_to_async(Session.objects.filter(session_key=writer_key).update)(expire_date=soon)
    await sessions.watch().check()
    assert await database_sync_to_async(expiry)(writer_key) == soon
    for socket in (writer, pinger):
        await socket.disconnect()


async def test_a_socket_without_a_session_is_refused(counseling: Any, mia: User) -> None:
    from channels.testing import WebsocketCommunicator

    from wegweiser.asgi import application

    socket = WebsocketCommunicator(application, "/ws/chat/", headers=[(b"origin", b"http://testserver"),
                                                                      (b"cookie", b"sessionid=invented")])
    assert (await socket.connect())[0]
    assert await closed_with(socket) == 4401


def test_no_session_key_travels_through_the_channel_layer() -> None:
    event = sessions.ended_event("abcdefghijklmnopqrstuvwxyz012345")
    assert "abcdefghijklmnopqrstuvwxyz012345" not in str(event)
    assert event["session"] == sessions.session_tag("abcdefghijklmnopqrstuvwxyz012345")


async def test_log_out_everywhere_closes_the_other_sessions_sockets_at_once(counseling: Any,
                                                                            mia: User) -> None:
    from allauth.usersessions.adapter import get_adapter
    from allauth.usersessions.models import UserSession

    stolen = await database_sync_to_async(login_session)(mia)
    socket = await open_socket(mia, session_key=stolen)

    def end_everywhere() -> None:
        # What allauth records at a real login (force_login bypasses allauth's signal).
        UserSession.objects.create(user=mia, session_key=stolen, ip="127.0.0.1", user_agent="x")
        get_adapter().end_sessions(UserSession.objects.filter(user=mia, session_key=stolen))

    await database_sync_to_async(end_everywhere)()
    assert await closed_with(socket) == 4401  # no round needed
