"""Channel layers: Redis pub/sub that delivers to this process's own sockets first, and a
process-local layer for a single process without Redis.

channels-redis' ``RedisPubSubChannelLayer`` sends every group message through Redis, even when
the only members of the group are sockets of the same process: one PUBLISH round trip per
message under a lock shared by all publishers, then the message comes back over the
subscription and is decoded once per receiving socket. Under chat load that round trip sat
between the commit and the delivery of every message (measured with bench/chat_load.py). No
maintained layer offers local delivery, so this subclass adds it and keeps everything else of
channels-redis (connections, subscriptions, serialization, reconnects):

- ``group_send`` puts the message straight into the queues of this process's members, then
  publishes it once for the other processes, tagged with this layer's origin id. The process
  that sent it skips its own publications when they come back over the subscription, so every
  member receives each message exactly once.
- Publications wait in an outbox and go to Redis in one pipeline per event-loop turn instead
  of one round trip each; ``group_send`` still returns only after Redis has taken the message,
  and raises if it could not. ``group_send_many`` sends a whole batch that way.
- ``new_channel_into`` lets a consumer receive its messages straight in its own queue instead
  of running a task that polls ``receive`` and hands each message on.
- A message from Redis is decoded once per process, not once per receiving socket.
- An optional ``"exclude"`` key names one channel that does not receive the message (the
  socket that sent a chat message gets an ``ack`` instead).

Messages delivered locally are shared between the receiving consumers, not copied: consumers
must treat them as read-only (ours do).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from channels.layers import BaseChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import decode_hosts

logger = logging.getLogger(__name__)

ORIGIN_BYTES = 16


class _Shard(RedisSingleShardConnection):
    def __init__(self, host: dict[str, Any], channel_layer: _LoopLayer) -> None:
        super().__init__(host, channel_layer)
        self.layer = channel_layer
        self.outbox: list[tuple[str, bytes]] = []
        self.outbox_done: asyncio.Future[None] | None = None
        self.flushers: set[asyncio.Task[None]] = set()

    def enqueue(self, channel: str, data: bytes) -> asyncio.Future[None]:
        """The returned future, shared by everything published in the same pipeline, resolves
        once Redis has taken the pipeline."""
        if self.outbox_done is None:
            self.outbox_done = asyncio.get_running_loop().create_future()
            flusher = asyncio.ensure_future(self._flush_outbox(self.outbox_done))
            self.flushers.add(flusher)
            flusher.add_done_callback(self.flushers.discard)
        self.outbox.append((channel, data))
        return self.outbox_done

    async def _flush_outbox(self, done: asyncio.Future[None]) -> None:
        async with self._lock:  # also waits for the previous pipeline
            await asyncio.sleep(0)  # let every sender of this loop turn join the pipeline
            batch, self.outbox, self.outbox_done = self.outbox, [], None
            try:
                self._ensure_redis()
                async with self._redis.pipeline(transaction=False) as pipe:
                    for channel, data in batch:
                        pipe.publish(channel, data)
                    await pipe.execute()
            except Exception as exc:  # every waiting sender learns of the failure
                if not done.done():
                    done.set_exception(exc)
                    done.exception()  # a fan-out nobody waits for must not log "never retrieved"
                return
            if not done.done():
                done.set_result(None)

    def _receive_message(self, message: dict[str, Any] | None) -> None:
        if message is None:
            return
        data = message["data"]
        if not isinstance(data, bytes) or data[:ORIGIN_BYTES] == self.layer.origin:
            return  # our own publication, delivered locally already
        name = message["channel"]
        if isinstance(name, bytes):
            name = name.decode()
        try:
            event = self.layer.channel_layer.deserialize(data[ORIGIN_BYTES:])
        except Exception:
            logger.exception("Undecodable message on %s", name)
            return
        self.layer.deliver_locally(name, event)


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, hosts: Any = None, **kwargs: Any) -> None:
        super().__init__(hosts, **kwargs)
        self.origin = uuid.uuid4().bytes
        self._shards = [_Shard(host, self) for host in decode_hosts(hosts)]

    def deliver_locally(self, name: str, event: dict[str, Any]) -> None:
        queue = self.channels.get(name)
        if queue is not None:
            queue.put_nowait(event)
            return
        exclude = event.get("exclude")
        for channel in self.groups.get(name, ()):
            if channel != exclude:
                target = self.channels.get(channel)
                if target is not None:
                    target.put_nowait(event)

    async def _publish(self, name: str, message: dict[str, Any]) -> None:
        data = self.origin + self.channel_layer.serialize(message)
        await self._get_shard(name).enqueue(name, data)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        if channel in self.channels:
            self.channels[channel].put_nowait(message)
            return
        await self._publish(channel, message)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        name = self._get_group_channel_name(group)
        self.deliver_locally(name, message)
        await self._publish(name, message)

    def group_send_many(self, sends: list[tuple[str, dict[str, Any]]]) -> asyncio.Future[Any]:
        """Several group messages at once, delivered locally in order before this returns; the
        future resolves once Redis has taken them all (one pipeline, no coroutine per message)."""
        published = set()
        for group, message in sends:
            name = self._get_group_channel_name(group)
            self.deliver_locally(name, message)
            data = self.origin + self.channel_layer.serialize(message)
            published.add(self._get_shard(name).enqueue(name, data))
        return asyncio.gather(*published)

    async def new_channel_into(self, queue: asyncio.Queue[Any], prefix: str = "specific.") -> str:
        """A new channel whose messages go straight into ``queue`` (the consumer's own inbox)
        instead of a queue that ``receive`` would have to be polled on. The caller removes it
        with ``delete_channel``."""
        channel = f"{self.prefix}{prefix}{uuid.uuid4().hex}"
        self.channels[channel] = queue
        await self._get_shard(channel).subscribe(channel)
        return channel

    async def delete_channel(self, channel: str) -> None:
        if self.channels.pop(channel, None) is not None:
            await self._get_shard(channel).unsubscribe(channel)


class LocalFirstPubSubLayer(RedisPubSubChannelLayer):
    def _get_layer(self) -> _LoopLayer:
        from channels_redis.utils import _wrap_close

        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return layer

    def group_send_many(self, sends: list[tuple[str, dict[str, Any]]]) -> asyncio.Future[Any]:
        return self._get_layer().group_send_many(sends)

    async def new_channel_into(self, queue: asyncio.Queue[Any], prefix: str = "specific.") -> str:
        return await self._get_layer().new_channel_into(queue, prefix)

    async def delete_channel(self, channel: str) -> None:
        await self._get_layer().delete_channel(channel)

    def deserialize(self, message: Any) -> Any:
        # Local deliveries are already dicts; only what came over Redis is bytes.
        if isinstance(message, dict):
            return message
        return super().deserialize(message)


class ProcessChannelLayer(BaseChannelLayer):
    """The layer of a single server process without Redis (the SQLite set-up).

    Channels' ``InMemoryChannelLayer`` is meant for tests: every ``group_send`` first walks all
    channels and all group memberships to expire old ones, starts a task per member and deep-
    copies the message for each, and it drops a socket from its groups after ``group_expiry``
    (a day) although the socket is still open. Under chat load on SQLite the server spent most
    of its time there (bench/chat_load.py). This layer keeps channels and groups as plain
    queues and sets: a group message costs one ``put_nowait`` per member, sockets stay in their
    groups until they leave them, and it offers what ``LocalFirstPubSubLayer`` offers
    (``exclude``, ``group_send_many``, ``new_channel_into``). Messages are shared between the
    receiving consumers, not copied: consumers treat them as read-only (ours do). Like the
    in-memory layer it reaches only the sockets of its own process.
    """

    extensions = ["groups", "flush"]

    def __init__(self, expiry: int = 60, capacity: int = 100, channel_capacity: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(expiry=expiry, capacity=capacity, channel_capacity=channel_capacity)
        self.channels: dict[str, asyncio.Queue[Any]] = {}
        self.groups: dict[str, set[str]] = {}

    async def new_channel(self, prefix: str = "specific.") -> str:
        return await self.new_channel_into(asyncio.Queue(), prefix)

    async def new_channel_into(self, queue: asyncio.Queue[Any], prefix: str = "specific.") -> str:
        channel = f"{prefix}{uuid.uuid4().hex}"
        self.channels[channel] = queue
        return channel

    async def delete_channel(self, channel: str) -> None:
        self.channels.pop(channel, None)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        queue = self.channels.get(channel)
        if queue is not None:  # else the socket has gone: nobody to tell
            queue.put_nowait(message)

    async def receive(self, channel: str) -> dict[str, Any]:
        queue = self.channels.setdefault(channel, asyncio.Queue())
        try:
            message: dict[str, Any] = await queue.get()
        except asyncio.CancelledError:  # the consumer ends (as in channels' layers)
            self.channels.pop(channel, None)
            raise
        return message

    async def group_add(self, group: str, channel: str) -> None:
        self.require_valid_group_name(group)
        self.groups.setdefault(group, set()).add(channel)

    async def group_discard(self, group: str, channel: str) -> None:
        members = self.groups.get(group)
        if members is not None:
            members.discard(channel)
            if not members:
                del self.groups[group]

    def _deliver(self, group: str, message: dict[str, Any]) -> None:
        exclude = message.get("exclude")
        for channel in self.groups.get(group, ()):
            if channel != exclude:
                queue = self.channels.get(channel)
                if queue is not None:
                    queue.put_nowait(message)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        self._deliver(group, message)

    def group_send_many(self, sends: list[tuple[str, dict[str, Any]]]) -> asyncio.Future[Any]:
        for group, message in sends:
            self._deliver(group, message)
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result([])
        return done

    async def flush(self) -> None:
        self.channels.clear()
        self.groups.clear()
