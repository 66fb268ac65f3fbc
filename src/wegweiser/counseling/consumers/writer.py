"""Group commit for the chat socket: one ``_Writer`` per event loop (per server process).

Concurrent sends from all sockets of this process go through it; it stores whatever has queued
up in a single transaction, so a busy server commits many messages at once instead of paying a
commit per message, while an idle one commits each message at once. On PostgreSQL a batch is one
statement on an asynchronous psycopg connection of the event loop (no hand-over to a thread and
back); on SQLite, and for the rare resend or absence notice, the writer has a database thread of
its own. Either way connecting sockets and catch-up reads never queue in front of the commits,
and the writer hands the new messages to the channel layer as soon as they are committed.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, connections

from wegweiser.counseling import actions, events

logger = logging.getLogger(__name__)

BATCH_MAX = 256

_Pending = tuple[actions.PostItem, "asyncio.Future[actions.PostResult]", str]


def _store_in_writer_thread(items: list[actions.PostItem], optimistic: bool = True) -> actions.StoreOutcome:
    """The writer thread keeps its one database connection from batch to batch (opening one
    per batch would cost more than the batch) and, on PostgreSQL, lets it prepare statements.
    A connection that broke is replaced and the batch tried once more: whatever it had written
    rolled back, or, had the commit gone through after all, the (sender, client_id) check finds
    the messages instead of storing them twice."""
    for attempt in (1, 2):
        try:
            if connection.vendor == "postgresql" and settings.CHAT_PREPARED_STATEMENTS:
                connection.ensure_connection()
                # Django turns psycopg's prepared statements off (for transaction-mode poolers);
                # this one long-lived connection runs the same few statements all day.
                connection.connection.prepare_threshold = 5
            return actions.messages_store(items, optimistic=optimistic)
        except (OperationalError, InterfaceError):
            broken = connection.connection is None or not connection.is_usable()
            connection.close()
            if not broken or attempt == 2:
                raise
    raise AssertionError("unreachable")


class _Writer:
    """Group commit for one event loop (one per server process)."""

    def __init__(self) -> None:
        self.pending: list[_Pending] = []
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.fan_outs: set[asyncio.Future[Any]] = set()
        # PostgreSQL: the batches go through a psycopg connection on the event loop itself;
        # False on SQLite (no asynchronous driver), where the thread below stores them.
        self.aconnection: Any = None if connection.vendor == "postgresql" else False
        # Its own thread, hence its own database connection (Django's are per thread).
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chat-writer")

    def close(self) -> None:
        """Close the database connections and end the thread (its loop has ended)."""
        if self.aconnection:
            self.aconnection.pgconn.finish()  # what AsyncConnection.close() does, without a loop
        self.executor.submit(connections.close_all).result(timeout=30)
        self.executor.shutdown(wait=True)

    async def _store(self, items: list[actions.PostItem]) -> actions.StoreOutcome:
        loop = asyncio.get_running_loop()
        if self.aconnection is not False:
            stored = await self._store_on_loop(items)
            if stored is not None:
                return stored
        # SQLite, or a resend on PostgreSQL: the full path, with its look-up of client_ids.
        return await loop.run_in_executor(self.executor, _store_in_writer_thread, items,
                                          self.aconnection is False)

    async def _store_on_loop(self, items: list[actions.PostItem]) -> actions.StoreOutcome | None:
        """PostgreSQL: the batch's one statement on an asynchronous connection of this loop; a
        broken connection is replaced and the batch tried once more (see
        _store_in_writer_thread; a batch that did commit comes back as a resend, None)."""
        import psycopg

        for attempt in (1, 2):
            try:
                if self.aconnection is None or self.aconnection.closed:
                    self.aconnection = None
                    params = connection.get_connection_params()
                    params.pop("cursor_factory", None)
                    params["prepare_threshold"] = 5 if settings.CHAT_PREPARED_STATEMENTS else None
                    self.aconnection = await psycopg.AsyncConnection.connect(**params, autocommit=True)
                stored = await actions.messages_store_async(items, self.aconnection)
                break
            except (psycopg.OperationalError, psycopg.InterfaceError):
                if self.aconnection is None or not self.aconnection.closed or attempt == 2:
                    raise
        else:
            raise AssertionError("unreachable")
        if stored is None:
            return None
        outcome, due = stored
        if due:
            try:
                outcome.extra = await asyncio.get_running_loop().run_in_executor(
                    self.executor, actions.absence_notices, due)
            except Exception:  # the messages are committed; the notice comes with the next one
                logger.exception("absence notice failed")
        return outcome

    def submit(self, item: actions.PostItem, channel: str) -> asyncio.Future[actions.PostResult]:
        """Queue a message; the future resolves once it is committed (and already fanned out)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[actions.PostResult] = loop.create_future()
        self.pending.append((item, future, channel))
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._run())
        self.wakeup.set()
        return future

    async def _run(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            while self.pending:
                batch, self.pending = self.pending[:BATCH_MAX], self.pending[BATCH_MAX:]
                try:
                    outcome = await self._store([item for item, _, _ in batch])
                except Exception as exc:  # every waiting sender learns of the failure
                    for _, future, _ in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                try:
                    self._fan_out(batch, outcome)
                except Exception:  # stored all the same: acknowledge, the others catch up by sync
                    logger.exception("chat delivery failed")
                for (_, future, _), result in zip(batch, outcome.results, strict=True):
                    if not future.done():
                        future.set_result(result)

    def _fan_out(self, batch: list[_Pending], outcome: actions.StoreOutcome) -> None:
        """Committed messages to every subscribed socket except the sending one. The sends start
        in commit order; the writer does not wait for them (the next batch is already due)."""
        layer = get_channel_layer()
        if layer is None:
            return
        sends = []
        for (item, _, channel), result in zip(batch, outcome.results, strict=True):
            if result.message is not None and not result.duplicate and not result.error:
                frame = {"type": "message", "conversation": str(item.conversation_id),
                         "message": result.message}
                sends.append((events.conversation_group(item.conversation_id),
                              events.frame_event(frame, exclude=channel)))
        for notice in outcome.extra:
            frame = {"type": "message", "conversation": notice["conversation"], "message": notice}
            sends.append((events.conversation_group(notice["conversation"]), events.frame_event(frame)))
        if not sends:
            return
        if hasattr(layer, "group_send_many"):  # ours: one call for the batch (realtime/layers.py)
            task = layer.group_send_many(sends)
        else:
            task = asyncio.ensure_future(asyncio.gather(
                *(layer.group_send(group, event) for group, event in sends), return_exceptions=True))
        self.fan_outs.add(task)
        task.add_done_callback(self._fanned_out)

    def _fanned_out(self, task: asyncio.Future[Any]) -> None:
        self.fan_outs.discard(task)
        if task.cancelled():
            return
        failure = task.exception()
        results = task.result() if failure is None else [failure]
        for result in results or ():
            if isinstance(result, BaseException):
                # Stored and acknowledged; the other side catches up with ``sync``.
                logger.error("chat delivery failed: %r", result)


_writers: dict[asyncio.AbstractEventLoop, _Writer] = {}


def _writer() -> _Writer:
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        close_writers()
        writer = _writers[loop] = _Writer()
    return writer


def close_writers() -> None:
    """Close the writers of event loops that no longer run (tests start a loop per test)."""
    for loop in [loop for loop in _writers if loop.is_closed() or not loop.is_running()]:
        _writers.pop(loop).close()
