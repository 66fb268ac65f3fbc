"""The one write path for every message (socket, form post, system): a batch of messages in one
transaction with gap-free per-conversation ``seq``, idempotent ``client_id`` and the absence
notices due. The chat socket's group-commit writer (counseling.consumers.writer) calls it; see
docs/decisions/0002-counseling.md."""

from __future__ import annotations

import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Field
from django.utils import timezone
from django.utils.translation import gettext as _

from wegweiser.counseling.models import (
    Absence,
    Conversation,
    Message,
)

MAX_BODY = 10_000

logger = logging.getLogger(__name__)


class ConversationClosedError(ValidationError):
    pass


def validate_body(body: object) -> str:
    """1 to 10,000 characters, not only white space, no NUL (which no database stores)."""
    if not isinstance(body, str) or not body.strip():
        raise ValidationError(_("Please write a message."), code="invalid")
    if len(body) > MAX_BODY:
        raise ValidationError(_("A message can have at most %(max)s characters.") % {"max": f"{MAX_BODY:,}"},
                              code="too_large")
    if "\x00" in body:
        raise ValidationError(_("The message contains characters that cannot be stored."), code="invalid")
    return body


# --- messages: the one write path for every message (socket, form post, system) -------------------

@dataclass
class PostItem:
    conversation_pk: int
    conversation_id: uuid.UUID
    sender_pk: int | None
    sender_public_id: uuid.UUID | None
    role: str
    body: str
    client_id: uuid.UUID | None = None
    # End-to-end encrypted (docs/e2e-protocol.md): ``body`` is the ciphertext, ``nonce`` its IV
    # and ``key_id`` the conversation's key.
    nonce: str | None = None
    key_id: str = ""


@dataclass
class PostResult:
    message: dict[str, Any] | None = None
    # "closed" when the conversation was closed meanwhile, "replayed" when an encrypted
    # message's IV was used before in the conversation (nothing is stored).
    error: str = ""
    duplicate: bool = False


@dataclass
class StoreOutcome:
    results: list[PostResult]
    # Messages written as a side effect (absence notices), to be delivered to everybody.
    extra: list[dict[str, Any]] = field(default_factory=list)


def message_json(*, public_id: uuid.UUID, conversation_id: uuid.UUID, seq: int,
                 sender_public_id: uuid.UUID | None, role: str, body: str,
                 client_id: uuid.UUID | None, sent_at: datetime, nonce: str | None = None,
                 key_id: str = "") -> dict[str, Any]:
    """The contract's message object; an encrypted one carries ``encrypted`` instead of ``body``."""
    data: dict[str, Any] = {
        "id": str(public_id),
        "conversation": str(conversation_id),
        "seq": seq,
        "sender": str(sender_public_id) if sender_public_id else None,
        "sender_role": role,
        "client_id": str(client_id) if client_id else None,
        "sent_at": sent_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }
    if nonce is None:
        data["body"] = body
    else:
        data["encrypted"] = {"v": 1, "key": key_id, "iv": nonce, "ct": body}
    return data


def message_to_json(message: Message, *, conversation_id: uuid.UUID | None = None,
                    sender_public_id: uuid.UUID | None = None, key_id: str | None = None) -> dict[str, Any]:
    """``key_id``: the conversation's key (looked up through ``message.conversation`` when not
    given and the message is encrypted)."""
    data = _message_json(message, conversation_id=conversation_id, sender_public_id=sender_public_id,
                         key_id=key_id)
    try:
        attachment = message.attachment
    except Message.attachment.RelatedObjectDoesNotExist:
        return data
    from wegweiser.counseling.attachments import attachment_json

    data["attachment"] = attachment_json(attachment)
    return data


def _message_json(message: Message, *, conversation_id: uuid.UUID | None,
                  sender_public_id: uuid.UUID | None, key_id: str | None) -> dict[str, Any]:
    if message.nonce is not None and key_id is None:
        key_id = message.conversation.key_id
    return message_json(
        public_id=message.public_id,
        conversation_id=conversation_id or message.conversation.public_id,
        seq=message.seq,
        sender_public_id=sender_public_id if sender_public_id is not None
        else (message.sender.public_id if message.sender is not None else None),
        role=message.sender_role, body=message.body, client_id=message.client_id,
        sent_at=message.sent_at, nonce=message.nonce, key_id=key_id or "",
    )


def messages_store(items: list[PostItem], *, optimistic: bool = True) -> StoreOutcome:
    """Store many messages in one transaction (the socket server batches concurrent sends so a
    busy server commits many messages at once). Each conversation's ``last_seq`` is advanced in
    one UPDATE, so seqs have no gaps, and everything rolls back together on any error. A
    ``client_id`` already used by the same sender yields the original message.

    Resends are rare, so the first attempt does not look for them: the unique constraint on
    (sender, client_id) catches one, the whole batch rolls back (seqs included) and is stored
    again with the look-up (``optimistic=False`` starts there). Callers have checked access;
    this only refuses conversations that are closed by now.
    """
    if optimistic:
        try:
            return _store(items, look_up=False)
        except IntegrityError:
            pass
    for attempt in range(3):
        try:
            return _store(items, look_up=True)
        except IntegrityError:
            # Another process stored the same client_id between our look-up and insert: the
            # whole batch rolled back; store one by one so each finds its original.
            if len(items) == 1:
                if attempt == 2:
                    raise
                continue
            results: list[PostResult] = []
            extra: list[dict[str, Any]] = []
            for item in items:
                outcome = messages_store([item])
                results += outcome.results
                extra += outcome.extra
            return StoreOutcome(results, extra)
        except OperationalError:
            if attempt == 2:  # deadlock or serialization failure twice in a row: give up
                raise
    raise AssertionError("unreachable")


def _existing(items: list[PostItem]) -> dict[tuple[int | None, uuid.UUID], dict[str, Any]]:
    keyed = [(i.sender_pk, i.client_id) for i in items if i.client_id is not None]
    if not keyed:
        return {}
    found = (
        Message.objects.filter(client_id__in=[cid for _, cid in keyed],
                               sender_id__in={pk for pk, _ in keyed})
        .select_related("conversation", "sender", "attachment")
    )
    return {(m.sender_id, m.client_id): message_to_json(m) for m in found}  # type: ignore[misc]


def _used_nonces(items: list[PostItem]) -> set[tuple[int, str]]:
    """(conversation, IV) pairs of the batch's encrypted messages that are stored already: a
    replayed ciphertext (the unique constraint message_nonce_unique sent us here)."""
    keyed = [(i.conversation_pk, i.nonce) for i in items if i.nonce is not None]
    if not keyed:
        return set()
    found = Message.objects.filter(conversation_id__in={pk for pk, _ in keyed},
                                   nonce__in={nonce for _, nonce in keyed})
    return {(pk, nonce) for pk, nonce in found.values_list("conversation_id", "nonce") if nonce}


@dataclass
class _Batch:
    """A batch of new messages worked out in Python before it goes to the database."""

    items: list[PostItem]
    now: datetime
    results: list[PostResult | None]
    fresh: list[int]  # indexes of the items to insert
    seen: dict[tuple[int | None, uuid.UUID], int]  # (sender, client_id) → first index with it
    counts: dict[int, int]  # new messages per conversation
    places: dict[int, int]  # index → place among its conversation's new messages (1, 2, …)
    counselor_convs: set[int]
    public_ids: dict[int, uuid.UUID]

    def rows(self) -> list[tuple[Any, ...]]:
        """(public_id, conversation, place, sender, role, body, client_id, nonce) per new message."""
        items = self.items
        return [(self.public_ids[i], items[i].conversation_pk, self.places[i], items[i].sender_pk,
                 items[i].role, items[i].body, items[i].client_id, items[i].nonce) for i in self.fresh]


def _batch(items: list[PostItem], existing: dict[tuple[int | None, uuid.UUID], dict[str, Any]],
           now: datetime, used_nonces: set[tuple[int, str]] | None = None) -> _Batch:
    results: list[PostResult | None] = [None] * len(items)
    fresh: list[int] = []
    seen: dict[tuple[int | None, uuid.UUID], int] = {}
    nonces = set(used_nonces or ())
    for index, item in enumerate(items):
        key = (item.sender_pk, item.client_id) if item.client_id else None
        if key and key in existing:
            results[index] = PostResult(message=existing[key], duplicate=True)
        elif key and key in seen:
            results[index] = PostResult(duplicate=True)  # filled in by _finish
        elif item.nonce is not None and (item.conversation_pk, item.nonce) in nonces:
            results[index] = PostResult(error="replayed")
        else:
            if key:
                seen[key] = index
            if item.nonce is not None:
                nonces.add((item.conversation_pk, item.nonce))
            fresh.append(index)
    # Each new message's place among this batch's messages of its conversation (1, 2, …):
    # its seq is the conversation's new last_seq - count + place.
    counts: dict[int, int] = defaultdict(int)
    places: dict[int, int] = {}
    counselor_convs: set[int] = set()
    public_ids: dict[int, uuid.UUID] = {}
    # One call for the randomness of the whole batch: os.urandom releases the GIL, and in the
    # socket server's writer thread each release meant waiting for the event loop to hand
    # the GIL back (uuid4 per message took a tenth of the writer's time, bench/chat_load.py).
    randomness = os.urandom(16 * len(fresh))
    for number, index in enumerate(fresh):
        item = items[index]
        counts[item.conversation_pk] += 1
        places[index] = counts[item.conversation_pk]
        public_ids[index] = uuid.UUID(bytes=randomness[16 * number:16 * number + 16], version=4)
        if item.role == Message.Role.COUNSELOR:
            counselor_convs.add(item.conversation_pk)
    return _Batch(items, now, results, fresh, seen, counts, places, counselor_convs, public_ids)


def _finish(batch: _Batch, advanced: dict[int, tuple[int, bool]]) -> tuple[list[PostResult], set[int]]:
    """The results, and the conversations whose client wrote while the counselor is away with an
    absence not yet announced there (see _away_sql)."""
    items, results = batch.items, batch.results
    for index in batch.fresh:
        item = items[index]
        if item.conversation_pk not in advanced:
            results[index] = PostResult(error="closed")
            continue
        seq = advanced[item.conversation_pk][0] - batch.counts[item.conversation_pk] + batch.places[index]
        results[index] = PostResult(message=message_json(
            public_id=batch.public_ids[index], conversation_id=item.conversation_id, seq=seq,
            sender_public_id=item.sender_public_id, role=item.role, body=item.body,
            client_id=item.client_id, sent_at=batch.now, nonce=item.nonce, key_id=item.key_id))
    for index, item in enumerate(items):
        key = (item.sender_pk, item.client_id) if item.client_id else None
        if key and key in batch.seen and batch.seen[key] != index:
            # A resend within the batch: the original's ack, and delivered once only.
            first = results[batch.seen[key]] or PostResult(error="closed")
            results[index] = PostResult(message=first.message, error=first.error, duplicate=True)
    away = {pk for pk, (_last, is_away) in advanced.items() if is_away}
    client_convs = {items[i].conversation_pk for i in batch.fresh
                    if items[i].role == Message.Role.CLIENT and items[i].conversation_pk in away}
    return [r if r is not None else PostResult(error="closed") for r in results], client_convs


def _store(items: list[PostItem], *, look_up: bool) -> StoreOutcome:
    now = timezone.now()
    # On PostgreSQL the whole batch is one statement; run on its own (autocommit) it is its own
    # transaction, so a batch costs one round trip to the database instead of four. Inside a
    # caller's transaction it gets a savepoint, so a failure leaves that transaction usable.
    one_statement = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic() if look_up or not one_statement else nullcontext():
        batch = _batch(items, _existing(items) if look_up else {}, now,
                       _used_nonces(items) if look_up else set())
        rows = batch.rows()
        advanced: dict[int, tuple[int, bool]] = {}
        if rows and connection.vendor == "postgresql":
            sql, params = _store_rows_postgresql(rows, batch.counts, batch.counselor_convs, now)
            with _hot_cursor() as cursor:
                _execute(cursor, sql, params)
                advanced = _advanced(cursor.fetchall())
        elif rows:
            advanced = _advance_seqs(batch.counts, batch.counselor_convs, now)
            _insert_messages([(row[0], row[1], advanced[row[1]][0] - batch.counts[row[1]] + row[2], *row[3:])
                              for row in rows if row[1] in advanced], now)
        results, client_convs = _finish(batch, advanced)
        # (On PostgreSQL outside a caller's transaction the messages are committed by now and
        # the notice is a transaction of its own, still written once only: _absence_notices.)
        extra: list[dict[str, Any]] = []
        if client_convs:
            try:
                extra = _absence_notices(client_convs, now)
            except DatabaseError:
                if look_up or not one_statement:
                    raise  # everything rolls back together
                # The messages are committed already; the notice comes with the next message.
                logger.exception("absence notice failed")
    return StoreOutcome(results, extra)


async def messages_store_async(items: list[PostItem],
                               aconnection: Any) -> tuple[StoreOutcome, set[int]] | None:
    """PostgreSQL only: ``messages_store``'s first attempt (one statement, no look-up of
    client_ids) on an asynchronous psycopg connection in autocommit mode, so the socket server
    stores on its event loop instead of handing every batch to a thread (the hand-over of the
    GIL doubled the time of a batch under load, bench/chat_load.py). Returns None for a batch
    that needs the full path (a resend hit the unique constraint and nothing was stored), else
    the outcome and the conversations that are due an absence notice: pass them to
    ``absence_notices`` (synchronous, rare)."""
    import psycopg

    now = timezone.now()
    batch = _batch(items, {}, now)
    rows = batch.rows()
    advanced: dict[int, tuple[int, bool]] = {}
    if rows:
        sql, params = _store_rows_postgresql(rows, batch.counts, batch.counselor_convs, now)
        try:
            async with aconnection.cursor() as cursor:
                await cursor.execute(sql, params, prepare=True)
                advanced = _advanced(await cursor.fetchall())
        except psycopg.errors.UniqueViolation:
            return None
    results, client_convs = _finish(batch, advanced)
    return StoreOutcome(results), client_convs


def absence_notices(conversation_pks: set[int]) -> list[dict[str, Any]]:
    """After ``messages_store_async``: the absence notices due, each its own transaction."""
    return _absence_notices(conversation_pks, timezone.now())


# The hot path of every chat message is written in SQL: the ORM's query compilation cost more
# than the database's work for these statements (measured with bench/chat_load.py). On
# PostgreSQL a batch travels as a few arrays (unnest), so the statement text stays the same
# whatever the batch size, and it is bound on the server: where the connection allows prepared
# statements (the socket server's writer thread turns them on, see counseling/consumers.py),
# PostgreSQL plans each statement once instead of for every batch — planning took longer than
# executing.

@contextmanager
def _hot_cursor() -> Iterator[Any]:
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def _execute(cursor: Any, sql: str, params: list[Any]) -> None:
    if connection.vendor == "postgresql":
        cursor.execute(sql, params, prepare=True)  # a no-op where preparing is turned off
    else:
        cursor.execute(sql, params)


def _db_value(field_name: str, value: Any) -> Any:
    field = Message._meta.get_field(field_name)
    if not isinstance(field, Field):
        raise TypeError(field_name)
    return field.get_db_prep_value(value, connection, prepared=False)


def _insert_messages(rows: list[tuple[Any, ...]], now: datetime) -> None:
    """SQLite: rows of (public_id, conversation, seq, sender, role, body, client_id, nonce)."""
    if not rows:
        return
    table = connection.ops.quote_name(Message._meta.db_table)
    sent_at = _db_value("sent_at", now)
    params: list[Any] = []
    for public_id, conversation_pk, seq, sender_pk, role, body, client_id, nonce in rows:
        params += [_db_value("public_id", public_id), conversation_pk, seq, sender_pk, role, body,
                   _db_value("client_id", client_id), sent_at, nonce]
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (public_id, conversation_id, seq, sender_id, sender_role, body, "  # noqa: S608
            f"client_id, sent_at, nonce) VALUES {values}",
            params,
        )


def _away_sql(table: str) -> str:
    """Whether the conversation's counselor is away with an absence not yet announced in it."""
    absence = connection.ops.quote_name(Absence._meta.db_table)
    return (
        f"EXISTS (SELECT 1 FROM {absence} a WHERE a.user_id = {table}.counselor_id "  # noqa: S608
        f"AND a.starts_at <= %s AND a.ends_at > %s AND ({table}.absence_notified_for IS NULL "
        f"OR {table}.absence_notified_for <> a.starts_at))"
    )


def _store_rows_postgresql(rows: list[tuple[Any, ...]], counts: dict[int, int], counselor_convs: set[int],
                           now: datetime) -> tuple[str, list[Any]]:
    """SQL and parameters of the batch in one statement: lock the conversations in primary-key
    order (so concurrent batches of other processes cannot deadlock), advance the ``last_seq``
    of those still open, and insert their messages with seq = new last_seq - count + place. It
    returns, per conversation still open, the new ``last_seq`` and whether its counselor is
    away (see _away_sql; read with _advanced). ``rows``: as _Batch.rows."""
    table = connection.ops.quote_name(Conversation._meta.db_table)
    messages = connection.ops.quote_name(Message._meta.db_table)
    pks = sorted(counts)
    public_ids, conversations, places, senders, roles, bodies, client_ids, nonces = map(
        list, zip(*rows, strict=True))
    sql = (
        f"WITH batch AS (SELECT * FROM unnest(%s::bigint[], %s::integer[], %s::boolean[]) "  # noqa: S608
        f"AS b(id, n, counselor)), "
        f"locked AS MATERIALIZED (SELECT id FROM {table} WHERE id = ANY(%s::bigint[]) "
        f"ORDER BY id FOR UPDATE), "
        f"advanced AS (UPDATE {table} SET last_seq = {table}.last_seq + batch.n, "
        f"last_message_at = %s::timestamptz, first_answer_at = CASE WHEN {table}.first_answer_at "
        f"IS NULL AND batch.counselor THEN %s::timestamptz ELSE {table}.first_answer_at END "
        f"FROM batch, locked WHERE {table}.id = batch.id AND {table}.id = locked.id "
        f"AND {table}.status IN ('open', 'active') "
        f"RETURNING {table}.id, {table}.last_seq, batch.n, {_away_sql(table)} AS away), "
        f"inserted AS (INSERT INTO {messages} (public_id, conversation_id, seq, sender_id, sender_role, "
        f"body, client_id, sent_at, nonce) SELECT r.public_id, r.conversation_id, "
        f"advanced.last_seq - advanced.n + r.place, r.sender_id, r.role, r.body, r.client_id, "
        f"%s::timestamptz, r.nonce FROM unnest(%s::uuid[], %s::bigint[], %s::integer[], %s::bigint[], "
        f"%s::varchar[], %s::text[], %s::uuid[], %s::varchar[]) "
        f"AS r(public_id, conversation_id, place, sender_id, role, body, client_id, nonce) "
        f"JOIN advanced ON advanced.id = r.conversation_id RETURNING 1) "
        f"SELECT id, last_seq, away, (SELECT count(*) FROM inserted) FROM advanced"
    )
    params = [pks, [counts[pk] for pk in pks], [pk in counselor_convs for pk in pks], pks, now, now, now, now,
              now, public_ids, conversations, places, senders, roles, bodies, client_ids, nonces]
    return sql, params


def _advanced(rows: list[tuple[Any, ...]]) -> dict[int, tuple[int, bool]]:
    """Rows of _store_rows_postgresql's statement: conversation → (new last_seq, away)."""
    return {row[0]: (row[1], bool(row[2])) for row in rows}


def _aware(value: Any) -> datetime | None:
    """A datetime column read by a raw SQLite cursor (naive UTC, or text) as an aware datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def _advance_seqs(counts: dict[int, int], counselor_convs: set[int],
                  now: datetime) -> dict[int, tuple[int, bool]]:
    """SQLite: one UPDATE … RETURNING (SQLite ≥ 3.35) for the whole batch; per conversation still
    open, the new ``last_seq`` and whether its counselor is away (as _away_sql; SQLite 3.40
    evaluated that subquery wrongly inside RETURNING, so here it is a query of its own). SQLite
    has one writer at a time, so there is no lock order to keep."""
    table = connection.ops.quote_name(Conversation._meta.db_table)
    pks = sorted(counts)
    stamp = Conversation._meta.get_field("last_message_at").get_db_prep_value(now, connection)
    in_marks = ", ".join(["%s"] * len(pks))
    case = " ".join(["WHEN %s THEN %s"] * len(pks))
    params: list[Any] = [v for pk in pks for v in (pk, counts[pk])]
    params.append(stamp)
    first_answer = "first_answer_at"
    if counselor_convs:
        marks = ", ".join(["%s"] * len(counselor_convs))
        first_answer = (f"CASE WHEN first_answer_at IS NULL AND {table}.id IN ({marks}) THEN %s "
                        "ELSE first_answer_at END")
        params += [*sorted(counselor_convs), stamp]
    sql = (
        f"UPDATE {table} SET last_seq = last_seq + CASE id {case} END, "  # noqa: S608
        f"last_message_at = %s, first_answer_at = {first_answer} "
        f"WHERE id IN ({in_marks}) AND status IN ('open', 'active') "
        f"RETURNING id, last_seq, counselor_id, absence_notified_for"
    )
    params += pks
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    counselors = {row[2] for row in rows if row[2] is not None}
    absent = dict(Absence.objects.filter(user__in=counselors, starts_at__lte=now, ends_at__gt=now)
                  .values_list("user_id", "starts_at")) if counselors else {}
    notified = {row[0]: _aware(row[3]) for row in rows}
    return {row[0]: (row[1], row[2] in absent and notified[row[0]] != absent[row[2]]) for row in rows}


def _absence_notices(conversation_pks: set[int], now: datetime) -> list[dict[str, Any]]:
    """Clients who write while their counselor is away get the absence message, once per
    conversation and absence period (the conditional UPDATE in _system_message decides)."""
    with transaction.atomic():
        return _absence_notices_in_transaction(conversation_pks, now)


def _absence_notices_in_transaction(conversation_pks: set[int], now: datetime) -> list[dict[str, Any]]:
    due = list(
        Conversation.objects.filter(
            pk__in=conversation_pks, counselor__absence__starts_at__lte=now,
            counselor__absence__ends_at__gt=now,
        )
        .exclude(absence_notified_for=F("counselor__absence__starts_at"))
        .values("pk", "public_id", "counselor__absence__starts_at", "counselor__absence__message")
    )
    notices = []
    for row in due:
        message = _system_message(row["pk"], row["public_id"], row["counselor__absence__message"], now,
                                  absence_start=row["counselor__absence__starts_at"])
        if message:
            notices.append(message)
    return notices


def _system_message(conversation_pk: int, conversation_id: uuid.UUID, body: str, now: datetime,
                    *, absence_start: datetime | None = None) -> dict[str, Any] | None:
    updates: dict[str, Any] = {"last_seq": F("last_seq") + 1, "last_message_at": now}
    if absence_start is not None:
        updates["absence_notified_for"] = absence_start
    updated = Conversation.objects.filter(pk=conversation_pk).update(**updates)
    if not updated:
        return None
    seq = Conversation.objects.filter(pk=conversation_pk).values_list("last_seq", flat=True).get()
    row = Message.objects.create(conversation_id=conversation_pk, seq=seq, sender=None,
                                 sender_role=Message.Role.SYSTEM, body=body[:MAX_BODY], sent_at=now)
    return message_to_json(row, conversation_id=conversation_id, sender_public_id=None)
