from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from wegweiser.realtime import sessions, user_group

CLOSE_UNAUTHENTICATED = 4401


def logged_in(scope: Any) -> tuple[Any, str] | None:
    """The socket's active, logged-in user and the key of the session that opened it, or None.
    A socket needs both: without the session it could not end with it (realtime/sessions.py)."""
    user = scope.get("user")
    session_key = getattr(scope.get("session"), "session_key", None)
    if user is None or not user.is_authenticated or not user.is_active or not session_key:
        return None
    return user, session_key


async def refuse(consumer: Any, code: int) -> None:
    """Accept, then close with ``code``: a close before accepting reaches real clients as an HTTP
    403 handshake failure (browsers see 1006), so they could not tell "log in again" apart."""
    await consumer.accept()
    await consumer.close(code=code)


class NotificationConsumer(AsyncJsonWebsocketConsumer):
    """Content-free notifications for the logged-in user ("you have a new message").

    Each socket joins only its own user's group; there is nothing to ask for by id, so there is
    nothing another user could read.
    """

    group: str | None = None
    session_key: str | None = None

    async def connect(self) -> None:
        login = logged_in(self.scope)
        if login is None:
            await refuse(self, CLOSE_UNAUTHENTICATED)
            return
        user, session_key = login
        self.session_key, self.session_tag = session_key, sessions.session_tag(session_key)
        self.group = user_group(user)
        await self.channel_layer.group_add(self.group, self.channel_name)
        sessions.watch().add(session_key, user.pk, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.session_key:
            sessions.watch().discard(self.session_key, self.channel_name)
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def session_ended(self, event: dict[str, Any]) -> None:
        """Logged out or expired (realtime/sessions.py): the socket ends with its session."""
        if event.get("session") == self.session_tag:
            await self.close(code=CLOSE_UNAUTHENTICATED)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "code": "invalid", "detail": "unknown type"})

    async def relay(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])
