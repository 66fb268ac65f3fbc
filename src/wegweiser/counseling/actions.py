"""Every write of online counseling. Each function is atomic, checks what it needs, writes its
audit entry (never any content) and sends realtime events only after commit."""

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

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Field
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from wegweiser.core.audit import audit_record
from wegweiser.counseling import events
from wegweiser.counseling.access import (
    agency_counselor_public_ids,
    can_write,
    counsel_agency_ids,
    is_client,
    role_in,
)
from wegweiser.counseling.models import (
    Absence,
    Agency,
    Conversation,
    ConversationState,
    Handover,
    Message,
    Topic,
)
from wegweiser.counseling.selectors import agency_offers, normalize_postcode
from wegweiser.organizations.access import Perm, has_perm

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


@dataclass
class PostResult:
    message: dict[str, Any] | None = None
    error: str = ""  # "closed" when the conversation was closed meanwhile
    duplicate: bool = False


@dataclass
class StoreOutcome:
    results: list[PostResult]
    # Messages written as a side effect (absence notices), to be delivered to everybody.
    extra: list[dict[str, Any]] = field(default_factory=list)


def message_json(*, public_id: uuid.UUID, conversation_id: uuid.UUID, seq: int,
                 sender_public_id: uuid.UUID | None, role: str, body: str,
                 client_id: uuid.UUID | None, sent_at: datetime) -> dict[str, Any]:
    return {
        "id": str(public_id),
        "conversation": str(conversation_id),
        "seq": seq,
        "sender": str(sender_public_id) if sender_public_id else None,
        "sender_role": role,
        "body": body,
        "client_id": str(client_id) if client_id else None,
        "sent_at": sent_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


def message_to_json(message: Message, *, conversation_id: uuid.UUID | None = None,
                    sender_public_id: uuid.UUID | None = None) -> dict[str, Any]:
    data = _message_json(message, conversation_id=conversation_id, sender_public_id=sender_public_id)
    try:
        attachment = message.attachment
    except Message.attachment.RelatedObjectDoesNotExist:
        return data
    from wegweiser.counseling.attachments import attachment_json

    data["attachment"] = attachment_json(attachment)
    return data


def _message_json(message: Message, *, conversation_id: uuid.UUID | None,
                  sender_public_id: uuid.UUID | None) -> dict[str, Any]:
    return message_json(
        public_id=message.public_id,
        conversation_id=conversation_id or message.conversation.public_id,
        seq=message.seq,
        sender_public_id=sender_public_id if sender_public_id is not None
        else (message.sender.public_id if message.sender is not None else None),
        role=message.sender_role, body=message.body, client_id=message.client_id,
        sent_at=message.sent_at,
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
        """(public_id, conversation, place, sender, role, body, client_id) per new message."""
        items = self.items
        return [(self.public_ids[i], items[i].conversation_pk, self.places[i], items[i].sender_pk,
                 items[i].role, items[i].body, items[i].client_id) for i in self.fresh]


def _batch(items: list[PostItem], existing: dict[tuple[int | None, uuid.UUID], dict[str, Any]],
           now: datetime) -> _Batch:
    results: list[PostResult | None] = [None] * len(items)
    fresh: list[int] = []
    seen: dict[tuple[int | None, uuid.UUID], int] = {}
    for index, item in enumerate(items):
        key = (item.sender_pk, item.client_id) if item.client_id else None
        if key and key in existing:
            results[index] = PostResult(message=existing[key], duplicate=True)
        elif key and key in seen:
            results[index] = PostResult(duplicate=True)  # filled in by _finish
        else:
            if key:
                seen[key] = index
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
            client_id=item.client_id, sent_at=batch.now))
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
        batch = _batch(items, _existing(items) if look_up else {}, now)
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
    """SQLite: rows of (public_id, conversation, seq, sender, role, body, client_id)."""
    if not rows:
        return
    table = connection.ops.quote_name(Message._meta.db_table)
    sent_at = _db_value("sent_at", now)
    params: list[Any] = []
    for public_id, conversation_pk, seq, sender_pk, role, body, client_id in rows:
        params += [_db_value("public_id", public_id), conversation_pk, seq, sender_pk, role, body,
                   _db_value("client_id", client_id), sent_at]
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (public_id, conversation_id, seq, sender_id, sender_role, body, "  # noqa: S608
            f"client_id, sent_at) VALUES {values}",
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
    public_ids, conversations, places, senders, roles, bodies, client_ids = map(list, zip(*rows, strict=True))
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
        f"body, client_id, sent_at) SELECT r.public_id, r.conversation_id, "
        f"advanced.last_seq - advanced.n + r.place, r.sender_id, r.role, r.body, r.client_id, "
        f"%s::timestamptz FROM unnest(%s::uuid[], %s::bigint[], %s::integer[], %s::bigint[], "
        f"%s::varchar[], %s::text[], %s::uuid[]) "
        f"AS r(public_id, conversation_id, place, sender_id, role, body, client_id) "
        f"JOIN advanced ON advanced.id = r.conversation_id RETURNING 1) "
        f"SELECT id, last_seq, away, (SELECT count(*) FROM inserted) FROM advanced"
    )
    params = [pks, [counts[pk] for pk in pks], [pk in counselor_convs for pk in pks], pks, now, now, now, now,
              now, public_ids, conversations, places, senders, roles, bodies, client_ids]
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


def system_post(conversation: Conversation, body: str) -> dict[str, Any] | None:
    """A system message (welcome, accepted, handed over, closed); delivered after commit."""
    message = _system_message(conversation.pk, conversation.public_id, body, timezone.now())
    if message:
        publish_messages([message])
    return message


def publish_messages(messages: list[dict[str, Any]], *, exclude: str = "") -> None:
    for message in messages:
        frame = {"type": "message", "conversation": message["conversation"], "message": message}
        events.send_on_commit(events.conversation_group(message["conversation"]),
                              events.frame_event(frame, exclude=exclude))


def _client_language(conversation: Conversation) -> str:
    return conversation.client.language or settings.LANGUAGE_CODE


def message_post(*, user: Any, conversation: Conversation, body: str,
                 client_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The form-post path (no JavaScript). Raises ValidationError with a clear message."""
    body = validate_body(body)
    if not can_write(user, conversation):
        raise ConversationClosedError(_("This conversation is closed; no more messages can be sent."),
                                 code="closed")
    with transaction.atomic():
        outcome = messages_store([PostItem(
            conversation_pk=conversation.pk, conversation_id=conversation.public_id, sender_pk=user.pk,
            sender_public_id=user.public_id, role=role_in(user, conversation), body=body,
            client_id=client_id,
        )])
        result = outcome.results[0]
        if result.error or result.message is None:
            raise ConversationClosedError(_("This conversation is closed; no more messages can be sent."),
                                     code="closed")
        if not result.duplicate:
            publish_messages([result.message])
        publish_messages(outcome.extra)
        _mark_read(user, conversation.pk, result.message["seq"])
    return result.message


# --- read markers -------------------------------------------------------------------------------

def _mark_read(user: Any, conversation_pk: int, seq: int) -> bool:
    state, created = ConversationState.objects.get_or_create(
        conversation_id=conversation_pk, user=user, defaults={"last_read_seq": seq})
    if created:
        return True
    return bool(ConversationState.objects.filter(pk=state.pk, last_read_seq__lt=seq)
                .update(last_read_seq=seq))


def read_marker_set(*, user: Any, conversation: Conversation, seq: int) -> int:
    """Move the user's read marker forward (never back, never past the last message)."""
    seq = max(0, min(int(seq), conversation.last_seq))
    with transaction.atomic():
        last = Conversation.objects.filter(pk=conversation.pk).values_list("last_seq", flat=True).get()
        seq = min(seq, last)
        if _mark_read(user, conversation.pk, seq):
            frame = {"type": "read", "conversation": str(conversation.public_id),
                     "user": str(user.public_id), "seq": seq}
            events.send_on_commit(events.conversation_group(conversation.public_id),
                                  events.frame_event(frame))
    return seq


# --- enquiries and the conversation life cycle ----------------------------------------------------

def enquiry_create(*, client: Any, agency: Agency, topic: Topic, body: str, postcode: str = "",
                   age: int | None = None) -> Conversation:
    if not is_client(client):
        raise PermissionDenied
    body = validate_body(body)
    if not agency_offers(agency, topic) or agency.is_external:
        raise ValidationError(_("This agency does not offer online counseling on this topic."))
    if agency.offline:
        raise ValidationError(_("This agency does not take new enquiries at the moment."))
    if postcode:
        postcode = normalize_postcode(postcode)
    elif topic.postcode_required:
        raise ValidationError(_("This topic needs your postcode to find an agency near you."))
    if topic.min_age and (age is None or age < topic.min_age):
        raise ValidationError(_("This topic is for people aged %(age)s and older.") % {"age": topic.min_age})
    if not topic.anonymous_allowed and not client.emailaddress_set.filter(verified=True).exists():
        raise ValidationError(_("This topic needs a confirmed e-mail address in your account."))
    with transaction.atomic():
        if Conversation.objects.filter(client=client, agency=agency, topic=topic,
                                       status=Conversation.Status.OPEN).exists():
            raise ValidationError(_("You already have an open enquiry on this topic with this agency."))
        now = timezone.now()
        conversation = Conversation.objects.create(
            agency=agency, topic=topic, client=client, postcode=postcode, age=age, last_seq=1,
            last_message_at=now,
        )
        Message.objects.create(conversation=conversation, seq=1, sender=client,
                               sender_role=Message.Role.CLIENT, body=body, sent_at=now)
        ConversationState.objects.create(conversation=conversation, user=client, last_read_seq=1)
        if topic.welcome_message:
            system_post(conversation, topic.welcome_message)
            ConversationState.objects.filter(conversation=conversation, user=client).update(last_read_seq=2)
        audit_record(actor=client, action="enquiry.created", node=agency.node, obj=conversation,
                     data={"topic": str(topic.public_id)})
        events.subscribe_on_commit(events.user_chat_group(client), conversation.public_id)
        events.inbox_changed_on_commit(agency_counselor_public_ids(agency))
    return conversation


def enquiry_accept(*, actor: Any, conversation: Conversation) -> Conversation:
    """Exactly one counselor wins: the conditional UPDATE succeeds only while still open."""
    if not has_perm(actor, Perm.COUNSEL, conversation.agency.node):
        raise PermissionDenied
    with transaction.atomic():
        now = timezone.now()
        won = Conversation.objects.filter(pk=conversation.pk, status=Conversation.Status.OPEN).update(
            status=Conversation.Status.ACTIVE, counselor=actor, accepted_at=now,
            team=conversation.topic.team_counseling,
        )
        if not won:
            raise ValidationError(_("Another counselor has already accepted this enquiry."), code="taken")
        conversation.refresh_from_db()
        ConversationState.objects.get_or_create(conversation=conversation, user=actor)
        audit_record(actor=actor, action="enquiry.accepted", node=conversation.agency.node,
                     obj=conversation)
        with translation.override(_client_language(conversation)):
            system_post(conversation, _("A counselor has taken on your enquiry."))
        events.subscribe_on_commit(events.user_chat_group(actor), conversation.public_id)
        if conversation.team:
            events.subscribe_on_commit(events.agency_chat_group(conversation.agency.node.public_id),
                                       conversation.public_id)
        # The enquiry leaves every colleague's open list and joins the actor's own.
        events.inbox_changed_on_commit(agency_counselor_public_ids(conversation.agency))
    return conversation


def conversation_close(*, actor: Any, conversation: Conversation) -> None:
    if conversation.status == Conversation.Status.CLOSED:
        return
    if role_in(actor, conversation) != "counselor" or not can_write(actor, conversation):
        raise PermissionDenied
    with transaction.atomic():
        with translation.override(_client_language(conversation)):
            system_post(conversation, _("The conversation was closed."))
        Conversation.objects.filter(pk=conversation.pk).update(
            status=Conversation.Status.CLOSED, closed_at=timezone.now())
        Handover.objects.filter(conversation=conversation, status=Handover.Status.REQUESTED).update(
            status=Handover.Status.CANCELLED, decided_at=timezone.now())
        audit_record(actor=actor, action="conversation.closed", node=conversation.agency.node,
                     obj=conversation)
        events.closed_on_commit(conversation.public_id)


def conversation_archive(*, actor: Any, conversation: Conversation, archived: bool) -> None:
    """Archiving is personal: it hides the conversation from the actor's own lists."""
    with transaction.atomic():
        state, _created = ConversationState.objects.get_or_create(conversation=conversation, user=actor)
        if state.archived != archived:
            state.archived = archived
            state.save(update_fields=["archived"])


def handover_request(*, actor: Any, conversation: Conversation, to_counselor: Any) -> Handover:
    if conversation.counselor_id != actor.pk or conversation.status != Conversation.Status.ACTIVE:
        raise PermissionDenied
    if to_counselor.pk == actor.pk or conversation.agency_id not in counsel_agency_ids(to_counselor):
        raise ValidationError(_("Choose a colleague who counsels in this agency."))
    with transaction.atomic():
        if Handover.objects.filter(conversation=conversation, status=Handover.Status.REQUESTED).exists():
            raise ValidationError(_("A handover is already waiting for the client's answer."))
        handover = Handover.objects.create(conversation=conversation, from_counselor=actor,
                                           to_counselor=to_counselor)
        audit_record(actor=actor, action="handover.requested", node=conversation.agency.node,
                     obj=conversation, data={"to": str(to_counselor.public_id)})
        with translation.override(_client_language(conversation)):
            system_post(conversation, _("Your counselor asks whether a colleague may take over this "
                                        "conversation. Please answer on the conversation page."))
    return handover


def handover_answer(*, actor: Any, handover: Handover, consent: bool) -> Handover:
    """The client consents (the conversation moves) or declines (nothing changes)."""
    conversation = handover.conversation
    if conversation.client_id != actor.pk:
        raise PermissionDenied
    with transaction.atomic():
        updated = Handover.objects.filter(pk=handover.pk, status=Handover.Status.REQUESTED).update(
            status=Handover.Status.CONFIRMED if consent else Handover.Status.DECLINED,
            decided_at=timezone.now())
        if not updated:
            raise ValidationError(_("This request has already been answered."))
        handover.refresh_from_db()
        if consent:
            moved = Conversation.objects.filter(
                pk=conversation.pk, status=Conversation.Status.ACTIVE,
                counselor_id=handover.from_counselor_id,
            ).update(counselor=handover.to_counselor)
            if not moved:
                raise ValidationError(_("This conversation can no longer be handed over."))
            ConversationState.objects.get_or_create(conversation=conversation, user=handover.to_counselor)
            with translation.override(_client_language(conversation)):
                system_post(conversation, _("The conversation was handed over to another counselor."))
            events.subscribe_on_commit(events.user_chat_group(handover.to_counselor), conversation.public_id)
            if handover.from_counselor is not None:
                events.reload_on_commit(handover.from_counselor)
            events.inbox_changed_on_commit(
                [u.public_id for u in (handover.from_counselor, handover.to_counselor) if u is not None])
        audit_record(actor=actor, action="handover.confirmed" if consent else "handover.declined",
                     node=conversation.agency.node, obj=conversation,
                     data={"to": str(handover.to_counselor.public_id)})
    return handover


# --- absence ------------------------------------------------------------------------------------

def absence_set(*, actor: Any, starts_at: datetime, ends_at: datetime, message: str) -> Absence:
    if not counsel_agency_ids(actor):
        raise PermissionDenied
    if ends_at <= starts_at:
        raise ValidationError(_("The absence must end after it starts."))
    if not message.strip():
        raise ValidationError(_("Please write the message clients will see."))
    with transaction.atomic():
        absence, _created = Absence.objects.update_or_create(
            user=actor, defaults={"starts_at": starts_at, "ends_at": ends_at, "message": message})
        audit_record(actor=actor, action="absence.set", data={"from": starts_at.isoformat(),
                                                               "until": ends_at.isoformat()})
    return absence


def absence_clear(*, actor: Any) -> None:
    with transaction.atomic():
        if Absence.objects.filter(user=actor).delete()[0]:
            audit_record(actor=actor, action="absence.cleared")


# --- administration ------------------------------------------------------------------------------

def topic_save(*, actor: Any, organization: Any, form: Any) -> Topic:
    """Create or change a topic from a valid TopicForm (organization admins)."""
    if not has_perm(actor, Perm.MANAGE_TREE, organization):
        raise PermissionDenied
    fallback = form.cleaned_data.get("fallback_agency")
    if fallback is not None and not fallback.node.path.startswith(organization.path):
        raise PermissionDenied
    with transaction.atomic():
        created = form.instance.pk is None
        topic: Topic = form.save(commit=False)
        topic.organization = organization
        topic.save()
        audit_record(actor=actor, action="topic.created" if created else "topic.updated",
                     node=organization, obj=topic, data={"fields": sorted(form.changed_data)})
    return topic


def agency_save(*, actor: Any, node: Any, form: Any) -> Agency:
    """Agency settings and postcode ranges from a valid AgencyForm (organization admins)."""
    from wegweiser.counseling.models import PostcodeRange

    if not has_perm(actor, Perm.MANAGE_TREE, node):
        raise PermissionDenied
    allowed_topics = {t.pk for t in form.fields["topics"].queryset}
    if any(t.pk not in allowed_topics for t in form.cleaned_data["topics"]):
        raise PermissionDenied
    with transaction.atomic():
        agency: Agency = form.save(commit=False)
        agency.node = node
        agency.languages = list(form.cleaned_data.get("languages") or [])
        agency.save()
        form.save_m2m()
        agency.postcode_ranges.all().delete()
        PostcodeRange.objects.bulk_create(
            PostcodeRange(agency=agency, country=c, start=s, end=e)
            for c, s, e in form.cleaned_data["postcode_ranges"])
        audit_record(actor=actor, action="agency.updated", node=node, obj=agency,
                     data={"fields": sorted(form.changed_data)})
    return agency


def notifications_set(*, user: Any, enabled: bool) -> None:
    if user.email_notifications == enabled:
        return
    with transaction.atomic():
        user.email_notifications = enabled
        user.save(update_fields=["email_notifications"])
        audit_record(actor=user, action="notifications.changed", data={"email": enabled})
