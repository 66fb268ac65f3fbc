"""Keyset ("cursor") pagination for long lists.

OFFSET makes the database walk past every skipped row (and, on PostgreSQL, compute the
select-list subqueries for each of them), so page 200 costs 200 pages. A keyset page starts
*after a position* instead: the index seeks straight to it, and every page costs the same.

The list must be ordered by one non-null timestamp and then the primary key, both in the same
direction — ``order_by("created_at", "pk")`` or ``order_by("-last_message_at", "-pk")`` — and
its model must have a ``public_id``. The position travels in the URL as a signed, opaque cursor
holding the timestamp and the row's ``public_id`` (integer primary keys never leave the server;
signing is not encryption, so nothing secret may go in). The server turns the ``public_id``
back into the tie-breaking primary key inside the same SQL statement, so a page is always one
query, on page 1 as on page 200. A cursor that does not verify, or that belongs to another list,
is ignored: the visitor gets the first page.

No COUNT(*): a page knows only whether there is a next and a previous one, and its number
(carried in the cursor, so it can drift when rows come and go while someone pages).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

PAGE_SIZE = 25
MAX_CURSOR_LENGTH = 400
_MAX_PAGE_NUMBER = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# The largest BigAutoField: the tie-breaker when the anchor row has been deleted meanwhile.
_PK_CEILING = 2**63 - 1


class KeysetPage:
    """One page of a keyset-paginated list; iterates over its rows.

    ``next_cursor`` / ``previous_cursor`` are ``None`` when there is no such page.
    """

    def __init__(self, object_list: Sequence[Any], *, number: int, next_cursor: str | None,
                 previous_cursor: str | None) -> None:
        self.object_list = list(object_list)
        self.number = number
        self.next_cursor = next_cursor
        self.previous_cursor = previous_cursor
        self.has_next = next_cursor is not None
        self.has_previous = previous_cursor is not None
        self.has_other_pages = self.has_next or self.has_previous

    def __iter__(self) -> Iterator[Any]:
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)


def keyset_page(qs: QuerySet[Any], *, cursor: str | None, salt: str, size: int = PAGE_SIZE) -> KeysetPage:
    """The page of ``qs`` that ``cursor`` points at (the first page without a valid cursor).

    ``salt`` names the list (e.g. ``"counseling.inbox.mine"``): a cursor made for one list is
    refused by every other. One query per page; a second one only when the cursor's page has
    emptied meanwhile (then the first page is shown).
    """
    field, descending = _sort_key(qs)
    salt = f"wegweiser.keyset:{salt}:{'-' if descending else ''}{field}"
    position = _load(cursor, salt)
    if position is not None:
        when, public_id, backwards, number = position
        page = _page_at(qs, field=field, descending=descending, salt=salt, size=size, when=when,
                        public_id=public_id, backwards=backwards, number=number)
        if page is not None:
            return page
    rows = list(qs[:size + 1])
    return KeysetPage(rows[:size], number=1,
                      next_cursor=_dump(salt, field, rows[size - 1], "n", 2) if len(rows) > size else None,
                      previous_cursor=None)


def _page_at(qs: QuerySet[Any], *, field: str, descending: bool, salt: str, size: int, when: datetime,
             public_id: uuid.UUID, backwards: bool, number: int) -> KeysetPage | None:
    # Rows strictly after the position in the list's order, or strictly before it (walked in
    # reverse order, then turned round) for the previous page.
    greater = descending == backwards
    anchor_pk = Subquery(qs.model._base_manager.filter(public_id=public_id).values("pk")[:1])
    # A deleted anchor row: keep every row with the same timestamp rather than skip some.
    anchor = Coalesce(anchor_pk, Value(-1 if greater else _PK_CEILING))
    if greater:
        beyond = Q(**{f"{field}__gte": when}) & (Q(**{f"{field}__gt": when}) | Q(pk__gt=anchor))
    else:
        beyond = Q(**{f"{field}__lte": when}) & (Q(**{f"{field}__lt": when}) | Q(pk__lt=anchor))
    ordered = qs.filter(beyond)
    if backwards:
        ordered = ordered.reverse()
    rows = list(ordered[:size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if not rows:
        return None
    if backwards:
        rows.reverse()
        number = max(2, number) if more else 1
        return KeysetPage(rows, number=number, next_cursor=_dump(salt, field, rows[-1], "n", number + 1),
                          previous_cursor=_dump(salt, field, rows[0], "p", number - 1) if more else None)
    return KeysetPage(rows, number=number,
                      next_cursor=_dump(salt, field, rows[-1], "n", number + 1) if more else None,
                      previous_cursor=_dump(salt, field, rows[0], "p", number - 1))


def _sort_key(qs: QuerySet[Any]) -> tuple[str, bool]:
    """``("created_at", False)`` for ``order_by("created_at", "pk")``; anything else is a bug."""
    pk_name = qs.model._meta.pk.name
    order = [re.sub(rf"^(-?){re.escape(pk_name)}$", r"\1pk", o) if isinstance(o, str) else o
             for o in qs.query.order_by]
    if (len(order) == 2 and isinstance(order[0], str) and order[1] in ("pk", "-pk")
            and order[0].startswith("-") == order[1].startswith("-")):
        field = order[0].lstrip("-")
        model_field = qs.model._meta.get_field(field)
        if model_field.get_internal_type() == "DateTimeField" and not model_field.null:
            return field, order[0].startswith("-")
    raise ValueError(f"keyset_page needs order_by(<non-null DateTimeField>, 'pk'), got {order!r}")


def _dump(salt: str, field: str, row: Any, direction: str, number: int) -> str:
    when: datetime = getattr(row, field)
    micros = (when - _EPOCH) // _MICROSECOND
    return signing.dumps({"t": micros, "c": row.public_id.hex, "d": direction, "n": number}, salt=salt)


def _load(cursor: str | None, salt: str) -> tuple[datetime, uuid.UUID, bool, int] | None:
    """The position in ``cursor``, or ``None`` for no, a garbled, a forged or a foreign cursor."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        return None
    try:
        data = signing.loads(cursor, salt=salt)
        micros, public_id, direction, number = data["t"], data["c"], data["d"], data["n"]
        if not (isinstance(micros, int) and isinstance(public_id, str) and isinstance(number, int)
                and direction in ("n", "p") and number >= 1):
            return None
        return (_EPOCH + micros * _MICROSECOND, uuid.UUID(hex=public_id), direction == "p",
                min(number, _MAX_PAGE_NUMBER))
    except (signing.BadSignature, ValueError, TypeError, KeyError, OverflowError):
        return None

