"""A socket lives no longer than the login session that opened it.

HTTP requests meet the session on every request: the idle timeout (``SESSION_IDLE_MINUTES``)
is renewed by activity, the absolute lifetime (``SESSION_MAX_HOURS``) is enforced by
``accounts.middleware``, and a logout or "log out everywhere" deletes the session. A socket
meets it only once, at the handshake, so without this module a chat stays open after its
session ended (a stolen session's socket would outlive "log out everywhere"), and a long chat
without page loads would end in the idle timeout while the person is writing.

So each process keeps one ``SessionWatch`` per event loop. Every ``CHECK_SECONDS`` it loads the
sessions of all its sockets (one look-up per session, not per socket, in a worker thread) and
closes with 4401 every socket whose session is gone, expired, past its absolute lifetime or now
belongs to somebody else. Sessions whose sockets showed activity since the last round are
saved, which renews their idle timeout exactly like a page load; the consumers call ``touch``
when a person sends a message (keep-alive pings and automatic read markers do not count, so an
unattended screen still times out). A logout tells the sockets of that session at once
(``session_ended_on_commit``), in every process, through the channel layer; the round catches
whatever ends without a logout (a deleted session, a stopped account).

Written here because neither Channels nor django-allauth ties a socket to its session's life.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

logger = logging.getLogger(__name__)

CHECK_SECONDS = 60.0
ENDED = "session.ended"


def session_tag(session_key: str) -> str:
    """What travels through the channel layer instead of the key itself (a key is a secret)."""
    return hashlib.sha256(f"wegweiser-socket:{session_key}".encode()).hexdigest()[:32]


def ended_event(session_key: str) -> dict[str, Any]:
    return {"type": ENDED, "session": session_tag(session_key)}


@dataclass
class _Session:
    user_pk: int
    channels: set[str] = field(default_factory=set)
    active: bool = False


def _check(sessions: dict[str, tuple[int, bool]]) -> set[str]:
    """In a worker thread: which of these sessions have ended; renew the active ones."""
    from django.contrib.sessions.backends.base import UpdateError

    from wegweiser.accounts.middleware import LOGIN_AT
    from wegweiser.accounts.models import User

    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    active_users = set(User.objects.filter(pk__in={pk for pk, _ in sessions.values()}, is_active=True)
                       .values_list("pk", flat=True))
    ended = set()
    now = time.time()
    for key, (user_pk, active) in sessions.items():
        store = store_class(session_key=key)
        data = dict(store.items())  # empty for a missing or expired session
        login_at = data.get(LOGIN_AT)
        if (user_pk not in active_users or str(data.get("_auth_user_id")) != str(user_pk)
                or (login_at is not None and now - login_at > settings.SESSION_MAX_HOURS * 3600)):
            ended.add(key)
        elif active:
            store.modified = True
            try:
                store.save()  # a new expiry date: the idle timeout starts again
            except UpdateError:  # deleted meanwhile (a logout in between)
                ended.add(key)
    return ended


class SessionWatch:
    """The sockets of one event loop, by session key (see the module's docstring)."""

    def __init__(self) -> None:
        self.sessions: dict[str, _Session] = {}
        self.task: asyncio.Task[None] | None = None

    def add(self, session_key: str, user_pk: int, channel: str) -> None:
        entry = self.sessions.get(session_key)
        if entry is None:
            entry = self.sessions[session_key] = _Session(user_pk)
        entry.channels.add(channel)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    def discard(self, session_key: str, channel: str) -> None:
        entry = self.sessions.get(session_key)
        if entry is not None:
            entry.channels.discard(channel)
            if not entry.channels:
                del self.sessions[session_key]

    def touch(self, session_key: str) -> None:
        entry = self.sessions.get(session_key)
        if entry is not None:
            entry.active = True

    async def check(self) -> None:
        """One round: close the sockets of ended sessions, renew the active ones."""
        snapshot = {key: (entry.user_pk, entry.active) for key, entry in self.sessions.items()}
        for entry in self.sessions.values():
            entry.active = False
        if not snapshot:
            return
        ended = await database_sync_to_async(_check)(snapshot)
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        for key in ended:
            found = self.sessions.get(key)
            for channel in list(found.channels if found else ()):
                await layer.send(channel, ended_event(key))

    async def _run(self) -> None:
        while self.sessions:
            await asyncio.sleep(CHECK_SECONDS)
            try:
                await self.check()
            except Exception:  # a database hiccup: the next round tries again
                logger.exception("checking the sockets' sessions failed")


_watches: dict[asyncio.AbstractEventLoop, SessionWatch] = {}


def watch() -> SessionWatch:
    loop = asyncio.get_running_loop()
    found = _watches.get(loop)
    if found is None:
        for old in [old for old in _watches if old.is_closed()]:
            del _watches[old]
        found = _watches[loop] = SessionWatch()
    return found


def session_ended_on_commit(user: Any, session_key: str | None) -> None:
    """A logout: that session's sockets, in every process, close now (the user's other
    sessions keep theirs)."""
    if not session_key:
        return
    from django.db import transaction

    from wegweiser.realtime import send_event, user_chat_group, user_group

    event = ended_event(session_key)
    groups = (user_group(user), user_chat_group(user))

    def tell() -> None:
        for group in groups:
            send_event(group, event)

    transaction.on_commit(tell)
