"""Origin check for every socket, refusing with close code 4403 as the chat contract fixes.

Channels' own validator refuses the handshake (HTTP 403), which clients cannot tell apart from
other failures; we accept and close at once with 4403, after nothing else has happened.
"""

from __future__ import annotations

from typing import Any

from channels.security.websocket import OriginValidator
from django.conf import settings

CLOSE_BAD_ORIGIN = 4403


class OriginGuard(OriginValidator):
    def __init__(self, application: Any) -> None:
        allowed = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed:
            allowed = ["localhost", "127.0.0.1", "[::1]"]
        super().__init__(application, allowed)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        from urllib.parse import urlparse

        origin = None
        for name, value in scope.get("headers", []):
            if name == b"origin":
                try:
                    origin = urlparse(value.decode("latin1"))
                except (UnicodeDecodeError, ValueError):
                    origin = None
        if self.valid_origin(origin):
            return await self.application(scope, receive, send)
        message = await receive()
        if message.get("type") == "websocket.connect":
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_BAD_ORIGIN})
        return None

    def validate_origin(self, parsed_origin: Any) -> bool:
        # Host names only (as AllowedHostsOriginValidator): the scheme and port may differ
        # behind a proxy, the host may not.
        if parsed_origin is None or not parsed_origin.hostname:
            return False
        return any(
            pattern == "*" or self.match_allowed_origin(parsed_origin, pattern)
            for pattern in self.allowed_origins
        )
