"""The conversation socket, exactly as fixed in shared/contracts/realtime.md.

Every message is committed before its ``ack`` and before anybody else sees it: sends go through
the process's group-commit writer (``writer.py``), which stores whatever has queued up in one
transaction and hands the committed messages to the channel layer.

A socket does not wait for its own commit before it handles the next event: while a send is
being stored, messages from the other side keep arriving.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.sessions import InstanceSessionWrapper
from django.conf import settings
from django.core.exceptions import ValidationError

from wegweiser.counseling import actions, e2e, events
from wegweiser.counseling.access import counsel_agency_ids, live_conversations, readable_conversations
from wegweiser.counseling.consumers.writer import _writer
from wegweiser.counseling.models import Agency, Conversation, Message
from wegweiser.realtime import sessions
from wegweiser.realtime.consumers import CLOSE_UNAUTHENTICATED, logged_in, refuse

logger = logging.getLogger(__name__)

# A 10,000-character body fully \\u-escaped, or the largest encrypted message, plus the envelope.
MAX_FRAME_CHARS = 90_000
SYNC_PAGE = 200


@dataclass(frozen=True)
class _Sub:
    pk: int
    public_id: uuid.UUID
    role: str
    key: str = ""  # the conversation key's id when it is end-to-end encrypted


INBOX_HIGH = 64


@dataclass(slots=True)
class _Settled:
    """One of this socket's sends is stored (or failed): acknowledge it in inbox order."""
    sub: _Sub
    client_id: str
    raw_client_id: object
    future: Any = None


@dataclass(frozen=True, slots=True)
class _Failed:
    failure: BaseException


class _Bucket:
    """Token bucket: ``rate`` tokens per ``per`` seconds, at most ``rate`` saved up."""

    __slots__ = ("per", "rate", "stamp", "tokens")

    def __init__(self, rate: int, per: float) -> None:
        self.rate, self.per, self.tokens, self.stamp = rate, per, float(rate), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate / self.per)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


# Per user and process: several sockets of one user share the budget.
_send_buckets: dict[int, _Bucket] = {}


def _send_bucket(user_pk: int) -> _Bucket:
    bucket = _send_buckets.get(user_pk)
    if bucket is None:
        if len(_send_buckets) > 100_000:
            _send_buckets.clear()
        rate, per = (int(x) for x in settings.CHAT_RATE_LIMIT.split("/"))
        bucket = _send_buckets[user_pk] = _Bucket(rate, per)
    return bucket


def _uuid(value: object) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


class ChatConsumer(AsyncWebsocketConsumer):
    user: Any
    subs: dict[uuid.UUID, _Sub]
    groups_joined: set[str]
    inbox: asyncio.Queue[Any]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels' own loop (``await_many_dispatch``) waits on both sources with
        ``asyncio.wait`` and starts a new task for every event, about a tenth of the server's
        time under chat load. Here everything this socket has to handle lands in one inbox and
        is handled one at a time in arrival order, as under Channels' loop: frames from the
        client (one long-lived task reads them), messages from the channel layer (our layer puts
        them straight into the inbox, see realtime/layers.py; any other layer needs a second
        reading task) and the outcome of this socket's own sends (``_Settled``). A long inbox
        stops the reading of frames (uvicorn then pauses the transport) until it has shrunk."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        if self.channel_layer is None:
            raise RuntimeError("the chat socket needs a channel layer")
        self.base_send = send
        # The session middleware's wrapper looks at the session before every send but only ever
        # acts on "http.response.start" (channels/sessions.py), so frames skip it.
        wrapper = getattr(send, "__self__", None)
        self.frame_send = wrapper.real_send if isinstance(wrapper, InstanceSessionWrapper) else send
        inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.inbox = inbox
        room = asyncio.Event()
        room.set()
        direct = hasattr(self.channel_layer, "new_channel_into")
        if direct:
            self.channel_name = await self.channel_layer.new_channel_into(inbox)
        else:
            self.channel_name = await self.channel_layer.new_channel()

        async def pump(source: Any, pause: bool) -> None:
            try:
                while True:
                    inbox.put_nowait(await source())
                    if pause and inbox.qsize() >= INBOX_HIGH:
                        room.clear()
                        await room.wait()
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # raised by the loop below
                inbox.put_nowait(_Failed(exc))

        pumps = [asyncio.ensure_future(pump(receive, True))]
        if not direct:
            layer_receive = functools.partial(self.channel_layer.receive, self.channel_name)
            pumps.append(asyncio.ensure_future(pump(layer_receive, False)))
        try:
            while True:
                item = await inbox.get()
                if not room.is_set() and inbox.qsize() < INBOX_HIGH // 2:
                    room.set()
                if isinstance(item, dict):
                    await self.dispatch(item)
                elif isinstance(item, _Settled):
                    await self._acknowledge(item)
                else:
                    raise item.failure
        except StopConsumer:
            pass
        finally:
            for task in pumps:
                task.cancel()
            for task in pumps:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if direct:
                with contextlib.suppress(Exception):
                    await self.channel_layer.delete_channel(self.channel_name)

    async def _frame(self, text: str) -> None:
        await self.frame_send({"type": "websocket.send", "text": text})

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' ``dispatch`` first runs ``aclose_old_connections()``, a hop to the database
        thread, before every frame and every delivered message. All database work of this
        consumer runs in ``database_sync_to_async``, which closes stale connections around each
        call itself, so here that hop only cost time (a fifth of the server's under load)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        login = logged_in(self.scope)
        if login is None:
            await refuse(self, CLOSE_UNAUTHENTICATED)
            return
        user, session_key = login
        self.user = user
        self.session_key, self.session_tag = session_key, sessions.session_tag(session_key)
        self.user_pk, self.user_public_id = user.pk, user.public_id  # no lazy-object hop per frame
        self.subs = {}
        self.groups_joined = set()
        self.frames = _Bucket(100, 1.0)  # any frame: generous, against floods
        self.closing = False  # once closed by us, nothing the client still sends is handled
        # Subscribe before the handshake completes: a message committed between "connected" and
        # "subscribed" would otherwise reach neither this socket nor its first page load.
        await self._join(events.user_chat_group(user))
        await self._reload()
        sessions.watch().add(session_key, self.user_pk, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "session_key", None):
            sessions.watch().discard(self.session_key, self.channel_name)
        for group in list(getattr(self, "groups_joined", ())):
            await self.channel_layer.group_discard(group, self.channel_name)

    # --- subscriptions ------------------------------------------------------------------------
    async def _join(self, group: str) -> None:
        if group not in self.groups_joined:
            self.groups_joined.add(group)
            await self.channel_layer.group_add(group, self.channel_name)

    async def _leave(self, group: str) -> None:
        if group in self.groups_joined:
            self.groups_joined.discard(group)
            await self.channel_layer.group_discard(group, self.channel_name)

    @database_sync_to_async
    def _load(self) -> tuple[dict[uuid.UUID, _Sub], list[str]]:
        user = self.user
        from wegweiser.organizations.access import forget

        forget(user)
        rows = live_conversations(user).values_list("pk", "public_id", "client_id", "key_id")
        subs = {pid: _Sub(pk, pid, "client" if client == user.pk else "counselor", key)
                for pk, pid, client, key in rows}
        agencies = [events.agency_chat_group(node) for node in Agency.objects.filter(
            pk__in=counsel_agency_ids(user)).values_list("node__public_id", flat=True)]
        return subs, agencies

    async def _reload(self) -> None:
        subs, agency_groups = await self._load()
        wanted = {events.conversation_group(c) for c in subs} | set(agency_groups)
        wanted.add(events.user_chat_group(self.user))
        for group in list(self.groups_joined - wanted):
            await self._leave(group)
        for group in wanted:
            await self._join(group)
        self.subs = subs

    @database_sync_to_async
    def _live(self, conversation_id: uuid.UUID) -> _Sub | None:
        row = live_conversations(self.user).filter(public_id=conversation_id) \
            .values_list("pk", "client_id", "key_id").first()
        if row is None:
            return None
        return _Sub(row[0], conversation_id, "client" if row[1] == self.user_pk else "counselor", row[2])

    @database_sync_to_async
    def _readable(self, conversation_id: uuid.UUID) -> Conversation | None:
        return readable_conversations(self.user).filter(public_id=conversation_id).first()

    # --- events from the channel layer ----------------------------------------------------------
    async def chat_frame(self, event: dict[str, Any]) -> None:
        if event.get("exclude") != self.channel_name:
            await self._frame(event["text"])

    async def chat_subscribe(self, event: dict[str, Any]) -> None:
        conversation_id = uuid.UUID(event["conversation"])
        if conversation_id in self.subs:
            return
        sub = await self._live(conversation_id)  # the event is a hint; the database decides
        if sub is not None:
            self.subs[conversation_id] = sub
            await self._join(events.conversation_group(conversation_id))

    async def chat_closed(self, event: dict[str, Any]) -> None:
        conversation_id = uuid.UUID(event["conversation"])
        self.subs.pop(conversation_id, None)
        await self._leave(events.conversation_group(conversation_id))

    async def chat_reload(self, event: dict[str, Any]) -> None:
        await self._reload()

    async def session_ended(self, event: dict[str, Any]) -> None:
        """Logged out, or the session expired (realtime/sessions.py): the socket ends with it."""
        if event.get("session") == self.session_tag and not self.closing:
            self.closing = True
            await self.close(code=CLOSE_UNAUTHENTICATED)

    # --- frames from the client -------------------------------------------------------------------
    async def _error(self, code: str, detail: str, client_id: object = None) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
        if isinstance(client_id, str) and len(client_id) <= 64:
            frame["client_id"] = client_id
        await self.send(text_data=events.dumps(frame))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return
        if text_data is None:
            await self._error("invalid", "frames are JSON text")
            return
        if len(text_data) > MAX_FRAME_CHARS:
            await self._error("too_large", f"a frame has at most {MAX_FRAME_CHARS} characters")
            return
        if not self.frames.take():
            await self._error("rate_limited", "too many frames; slow down")
            return
        try:
            content = events.loads(text_data)
        except ValueError:
            await self._error("invalid", "malformed JSON")
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self._error("invalid", "a frame is a JSON object with a type")
            return
        handler = {"send": self._send_message, "read": self._read, "sync": self._catch_up,
                   "ping": self._ping}.get(content["type"])
        if handler is None:
            await self._error("invalid", "unknown type")
            return
        if handler == self._send_message:
            # Writing keeps the session alive like a page load; pings, automatic read markers
            # and catch-up do not (an unattended screen still times out).
            sessions.watch().touch(self.session_key)
        await handler(content)

    async def _ping(self, content: dict[str, Any]) -> None:
        await self.send(text_data='{"type":"pong"}')

    async def _target(self, content: dict[str, Any], client_id: object = None) -> _Sub | None:
        """The subscribed conversation named in the frame, or an error frame and None."""
        conversation_id = _uuid(content.get("conversation"))
        if conversation_id is None:
            await self._error("invalid", "conversation must be a UUID", client_id)
            return None
        sub = self.subs.get(conversation_id)
        if sub is None:
            conversation = await self._readable(conversation_id)
            if conversation is not None and conversation.status == Conversation.Status.CLOSED:
                await self._error("closed", "this conversation is closed", client_id)
            elif conversation is not None:
                # Readable but not live for this user (a counselor's view of an open enquiry).
                await self._error("closed", "accept the enquiry before writing", client_id)
            else:
                await self._error("not_found", "no such conversation", client_id)
            return None
        return sub

    async def _send_message(self, content: dict[str, Any]) -> None:
        raw_client_id = content.get("client_id")
        client_id = _uuid(raw_client_id)
        if client_id is None:
            await self._error("invalid", "client_id must be a UUID", raw_client_id)
            return
        sealed: e2e.Envelope | None = None
        if "encrypted" in content:
            if "body" in content:
                await self._error("invalid", "send either body or encrypted", raw_client_id)
                return
            try:
                sealed = e2e.envelope(content["encrypted"])
            except ValidationError as exc:
                code = "too_large" if exc.code == "too_large" else "invalid"
                await self._error(code, "malformed encrypted object", raw_client_id)
                return
            body: object = sealed.ct
        else:
            body = content.get("body")
            if isinstance(body, str) and len(body) > actions.MAX_BODY:
                await self._error("too_large", f"body has at most {actions.MAX_BODY} characters",
                                  raw_client_id)
                return
            try:
                actions.validate_body(body)
            except ValidationError:
                await self._error("invalid", "body must be a non-empty string", raw_client_id)
                return
        sub = await self._target(content, raw_client_id)
        if sub is None:
            return
        # An encrypted conversation takes ciphertext under its own key only; a plain one none.
        if sealed is None and sub.key:
            await self._error("invalid", "this conversation is end-to-end encrypted: send an "
                              "encrypted object", raw_client_id)
            return
        if sealed is not None and sealed.key != sub.key:
            detail = "unknown key id" if sub.key else "this conversation is not encrypted"
            await self._error("invalid", detail, raw_client_id)
            return
        if not _send_bucket(self.user_pk).take():
            await self._error("rate_limited", "too many messages; wait a moment", raw_client_id)
            return
        item = actions.PostItem(conversation_pk=sub.pk, conversation_id=sub.public_id,
                                sender_pk=self.user_pk, sender_public_id=self.user_public_id,
                                role=sub.role, body=str(body), client_id=client_id,
                                nonce=sealed.iv if sealed else None, key_id=sub.key)
        future = _writer().submit(item, self.channel_name)
        # No task per message: the outcome joins the inbox (an ack for a socket that has gone
        # meanwhile lands in an inbox nobody reads; the message is stored all the same).
        settled = _Settled(sub, str(client_id), raw_client_id)
        future.add_done_callback(functools.partial(self._settled, settled))

    def _settled(self, settled: _Settled, future: asyncio.Future[actions.PostResult]) -> None:
        settled.future = future
        self.inbox.put_nowait(settled)

    async def _acknowledge(self, settled: _Settled) -> None:
        if self.closing:  # closed already; the client resends what has no ack
            if not settled.future.cancelled():
                settled.future.exception()  # retrieved: asyncio would log it as forgotten
            return
        sub, raw_client_id = settled.sub, settled.raw_client_id
        try:
            result = settled.future.result()
        except Exception:
            # Nothing was stored (the batch rolled back). Closing makes the client reconnect,
            # catch up with ``sync`` and send again with the same client_id.
            logger.exception("storing a chat message failed")
            self.closing = True
            await self.close(code=1011)
            return
        if result.error == "replayed":
            await self._error("invalid", "this nonce was used before in this conversation", raw_client_id)
            return
        if result.error or result.message is None:
            self.subs.pop(sub.public_id, None)
            await self._leave(events.conversation_group(sub.public_id))
            await self._error("closed", "this conversation is closed", raw_client_id)
            return
        await self._frame(events.dumps({"type": "ack", "client_id": settled.client_id,
                                        "message": result.message}))

    async def _read(self, content: dict[str, Any]) -> None:
        seq = content.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            await self._error("invalid", "seq must be a whole number ≥ 0")
            return
        conversation_id = _uuid(content.get("conversation"))
        if conversation_id is None:
            await self._error("invalid", "conversation must be a UUID")
            return
        if not await self._set_read(conversation_id, seq):
            await self._error("not_found", "no such conversation")

    @database_sync_to_async
    def _set_read(self, conversation_id: uuid.UUID, seq: int) -> bool:
        conversation = readable_conversations(self.user).filter(public_id=conversation_id).first()
        if conversation is None:
            return False
        actions.read_marker_set(user=self.user, conversation=conversation, seq=seq)
        return True

    async def _catch_up(self, content: dict[str, Any]) -> None:
        after = content.get("after")
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            await self._error("invalid", "after must be a whole number ≥ 0")
            return
        conversation_id = _uuid(content.get("conversation"))
        if conversation_id is None:
            await self._error("invalid", "conversation must be a UUID")
            return
        page = await self._page(conversation_id, after)
        if page is None:
            await self._error("not_found", "no such conversation")
            return
        messages, more = page
        await self.send(text_data=events.dumps({"type": "messages", "conversation": str(conversation_id),
                                                "messages": messages, "more": more}))

    @database_sync_to_async
    def _page(self, conversation_id: uuid.UUID, after: int) -> tuple[list[dict[str, Any]], bool] | None:
        conversation = readable_conversations(self.user).filter(public_id=conversation_id).first()
        if conversation is None:
            return None
        rows = list(Message.objects.filter(conversation=conversation, seq__gt=after)
                    .select_related("sender", "attachment").order_by("seq")[: SYNC_PAGE + 1])
        return ([actions.message_to_json(m, conversation_id=conversation_id, key_id=conversation.key_id)
                 for m in rows[:SYNC_PAGE]],
                len(rows) > SYNC_PAGE)
