"""The channel layers (realtime/layers.py). For the local-first Redis layer two instances stand
for two server processes that meet only through Redis; those tests run where REDIS_URL is set
(the CI's second leg). The process-local layer runs everywhere."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import pytest

from wegweiser.realtime.layers import LocalFirstPubSubLayer, ProcessChannelLayer

REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs Redis (REDIS_URL)")


@pytest.fixture
async def processes() -> Any:
    prefix = f"test{uuid.uuid4().hex[:8]}"
    first = LocalFirstPubSubLayer(hosts=[REDIS_URL], prefix=prefix)
    second = LocalFirstPubSubLayer(hosts=[REDIS_URL], prefix=prefix)
    yield first, second
    await first.flush()
    await second.flush()


async def drained(queue: asyncio.Queue[Any], timeout: float = 0.3) -> list[Any]:
    """Everything that arrives within ``timeout``."""
    items = []
    while True:
        try:
            items.append(await asyncio.wait_for(queue.get(), timeout))
        except TimeoutError:
            return items


@needs_redis
async def test_each_member_receives_each_message_exactly_once(processes: Any) -> None:
    first, second = processes
    here_a, here_b, there = asyncio.Queue(), asyncio.Queue(), asyncio.Queue()
    channel_a = await first.new_channel_into(here_a)
    channel_b = await first.new_channel_into(here_b)
    channel_there = await second.new_channel_into(there)
    for layer, channel in ((first, channel_a), (first, channel_b), (second, channel_there)):
        await layer.group_add("chat.c.x", channel)
    await first.group_send("chat.c.x", {"type": "chat.frame", "text": "1", "exclude": channel_a})
    await second.group_send("chat.c.x", {"type": "chat.frame", "text": "2", "exclude": ""})
    assert [m["text"] for m in await drained(here_a)] == ["2"]  # excluded from "1"
    assert [m["text"] for m in await drained(here_b)] == ["1", "2"]
    # The sending process skips its own publication when Redis hands it back: no echo.
    assert sorted(m["text"] for m in await drained(there)) == ["1", "2"]


@needs_redis
async def test_local_delivery_happens_before_group_send_returns(processes: Any) -> None:
    first, _second = processes
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    channel = await first.new_channel_into(inbox)
    await first.group_add("chat.u.y", channel)
    future = first.group_send_many([("chat.u.y", {"type": "a"}), ("chat.u.y", {"type": "b"}),
                                    ("chat.u.z", {"type": "c"})])
    assert [inbox.get_nowait()["type"] for _ in range(2)] == ["a", "b"]  # already there, in order
    await future  # and Redis has taken all three
    assert await drained(inbox) == []


@needs_redis
async def test_other_process_receives_a_batch_in_order(processes: Any) -> None:
    first, second = processes
    there: asyncio.Queue[Any] = asyncio.Queue()
    channel = await second.new_channel_into(there)
    await second.group_add("chat.c.order", channel)
    await first.group_send_many([("chat.c.order", {"type": "m", "n": n}) for n in range(50)])
    assert [m["n"] for m in await drained(there)] == list(range(50))


@needs_redis
async def test_left_groups_and_deleted_channels_receive_nothing(processes: Any) -> None:
    first, second = processes
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    channel = await first.new_channel_into(inbox)
    await first.group_add("chat.c.gone", channel)
    await first.group_discard("chat.c.gone", channel)
    await second.group_send("chat.c.gone", {"type": "m"})
    await first.group_send("chat.c.gone", {"type": "m"})
    assert await drained(inbox) == []
    await first.delete_channel(channel)
    await second.send(channel, {"type": "direct"})
    assert await drained(inbox) == []


@needs_redis
async def test_direct_send_to_a_channel_of_another_process(processes: Any) -> None:
    first, second = processes
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    channel = await second.new_channel_into(inbox)
    await first.send(channel, {"type": "direct", "n": 1})
    await second.send(channel, {"type": "direct", "n": 2})  # local: straight into the queue
    assert sorted(m["n"] for m in await drained(inbox)) == [1, 2]


@needs_redis
async def test_a_failed_publish_is_reported_to_the_sender(processes: Any, monkeypatch: Any) -> None:
    first, _second = processes
    layer = first._get_layer()
    shard = layer._shards[0]

    def refuse() -> None:
        raise ConnectionError("redis down")

    monkeypatch.setattr(shard, "_ensure_redis", refuse)
    with pytest.raises(ConnectionError):
        await first.group_send("chat.c.fail", {"type": "m"})


# --- one process, no Redis --------------------------------------------------------------------

async def test_process_layer_delivers_each_message_once_and_honours_exclude() -> None:
    layer = ProcessChannelLayer()
    inbox_a, inbox_b = asyncio.Queue(), asyncio.Queue()
    channel_a = await layer.new_channel_into(inbox_a)
    channel_b = await layer.new_channel_into(inbox_b)
    channel_c = await layer.new_channel()  # read with receive()
    for channel in (channel_a, channel_b, channel_c):
        await layer.group_add("chat.c.x", channel)
    await layer.group_add("chat.c.x", channel_a)  # twice: still one membership
    await layer.group_send("chat.c.x", {"type": "chat.frame", "text": "1", "exclude": channel_a})
    layer.group_send_many([("chat.c.x", {"type": "chat.frame", "text": "2"}),
                           ("chat.c.other", {"type": "chat.frame", "text": "3"})])
    assert [m["text"] for m in await drained(inbox_a)] == ["2"]
    assert [m["text"] for m in await drained(inbox_b)] == ["1", "2"]
    assert (await layer.receive(channel_c))["text"] == "1"
    assert (await layer.receive(channel_c))["text"] == "2"


async def test_process_layer_keeps_members_until_they_leave() -> None:
    layer = ProcessChannelLayer()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    channel = await layer.new_channel_into(inbox)
    await layer.group_add("chat.u.y", channel)
    await layer.send(channel, {"type": "direct"})
    await layer.group_discard("chat.u.y", channel)
    await layer.group_send("chat.u.y", {"type": "gone"})
    await layer.delete_channel(channel)
    await layer.send(channel, {"type": "after"})  # a socket that has gone: dropped, no error
    assert [m["type"] for m in await drained(inbox)] == ["direct"]
    assert layer.groups == {} and layer.channels == {}
