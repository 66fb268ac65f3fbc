"""The conversation socket, exactly as fixed in shared/contracts/realtime.md.

Every message is committed before its ``ack`` and before anybody else sees it. Concurrent sends
from all sockets of this process go through one ``_Writer`` that stores whatever has queued up
in a single transaction (group commit): a busy server commits many messages at once instead of
paying a commit per message, while an idle one commits each message at once.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import ValidationError

from wegweiser.counseling import actions, events
from wegweiser.counseling.access import counsel_agency_ids, live_conversations, readable_conversations
from wegweiser.counseling.models import Agency, Conversation, Message
from wegweiser.realtime.consumers import CLOSE_UNAUTHENTICATED, refuse

MAX_FRAME_CHARS = 80_000  # a 10,000-character body fully \\u-escaped, plus the envelope
SYNC_PAGE = 200
BATCH_MAX = 256


@dataclass(frozen=True)
class _Sub:
    pk: int
    public_id: uuid.UUID
    role: str


class _Writer:
    """Group commit for one event loop (one per server process)."""

    def __init__(self) -> None:
        self.pending: list[tuple[actions.PostItem, asyncio.Future[Any]]] = []
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def submit(self, item: actions.PostItem) -> tuple[actions.PostResult, list[dict[str, Any]]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self.pending.append((item, future))
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._run())
        self.wakeup.set()
        result: tuple[actions.PostResult, list[dict[str, Any]]] = await future
        return result

    async def _run(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            while self.pending:
                batch, self.pending = self.pending[:BATCH_MAX], self.pending[BATCH_MAX:]
                try:
                    outcome = await database_sync_to_async(actions.messages_store)([i for i, _ in batch])
                except Exception as exc:  # every waiting sender learns of the failure
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for index, (_, future) in enumerate(batch):
                    if not future.done():
                        # The side-effect messages go with the first result only.
                        future.set_result((outcome.results[index], outcome.extra if index == 0 else []))


_writers: dict[asyncio.AbstractEventLoop, _Writer] = {}


def _writer() -> _Writer:
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        for old in [other for other in _writers if other.is_closed()]:
            del _writers[old]
        writer = _writers[loop] = _Writer()
    return writer


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

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await refuse(self, CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.subs = {}
        self.groups_joined = set()
        self.frames = _Bucket(100, 1.0)  # any frame: generous, against floods
        await self.accept()
        await self._join(events.user_chat_group(user))
        await self._reload()

    async def disconnect(self, code: int) -> None:
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
        rows = live_conversations(user).values_list("pk", "public_id", "client_id")
        subs = {pid: _Sub(pk, pid, "client" if client == user.pk else "counselor")
                for pk, pid, client in rows}
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
            .values_list("pk", "client_id").first()
        if row is None:
            return None
        return _Sub(row[0], conversation_id, "client" if row[1] == self.user.pk else "counselor")

    @database_sync_to_async
    def _readable(self, conversation_id: uuid.UUID) -> Conversation | None:
        return readable_conversations(self.user).filter(public_id=conversation_id).first()

    # --- events from the channel layer ----------------------------------------------------------
    async def chat_frame(self, event: dict[str, Any]) -> None:
        if event.get("exclude") != self.channel_name:
            await self.send(text_data=event["text"])

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

    # --- frames from the client -------------------------------------------------------------------
    async def _error(self, code: str, detail: str, client_id: object = None) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
        if isinstance(client_id, str) and len(client_id) <= 64:
            frame["client_id"] = client_id
        await self.send(text_data=events.dumps(frame))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
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
            content = json.loads(text_data)
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
        body = content.get("body")
        if isinstance(body, str) and len(body) > actions.MAX_BODY:
            await self._error("too_large", f"body has at most {actions.MAX_BODY} characters", raw_client_id)
            return
        try:
            actions.validate_body(body)
        except ValidationError:
            await self._error("invalid", "body must be a non-empty string", raw_client_id)
            return
        sub = await self._target(content, raw_client_id)
        if sub is None:
            return
        if not _send_bucket(self.user.pk).take():
            await self._error("rate_limited", "too many messages; wait a moment", raw_client_id)
            return
        item = actions.PostItem(conversation_pk=sub.pk, conversation_id=sub.public_id,
                                sender_pk=self.user.pk, sender_public_id=self.user.public_id,
                                role=sub.role, body=str(body), client_id=client_id)
        result, extra = await _writer().submit(item)
        if result.error or result.message is None:
            self.subs.pop(sub.public_id, None)
            await self._leave(events.conversation_group(sub.public_id))
            await self._error("closed", "this conversation is closed", raw_client_id)
            return
        message = result.message
        ack = {"type": "ack", "client_id": str(client_id), "message": message}
        await self.send(text_data=events.dumps(ack))
        group = events.conversation_group(sub.public_id)
        if not result.duplicate:
            frame = {"type": "message", "conversation": str(sub.public_id), "message": message}
            await self.channel_layer.group_send(group, events.frame_event(frame, exclude=self.channel_name))
        for notice in extra:
            frame = {"type": "message", "conversation": notice["conversation"], "message": notice}
            await self.channel_layer.group_send(events.conversation_group(notice["conversation"]),
                                                events.frame_event(frame))

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
        return ([actions.message_to_json(m, conversation_id=conversation_id) for m in rows[:SYNC_PAGE]],
                len(rows) > SYNC_PAGE)
