"""The audit log: append-only and hash-chained.

Every entry stores the SHA-256 of its own canonical content plus the previous entry's hash, so
altering or deleting any row breaks the chain at that point and ``python -m wegweiser audit
verify`` names it. Truncating the newest entries cannot be seen from the chain alone: operators
record the head hash printed by ``verify`` elsewhere (docs/operations.md).

Appends are serialized: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by the
IMMEDIATE transaction mode set in settings (the write lock is taken when the transaction
starts). Entries are written inside the caller's transaction, so a rolled-back action leaves no
entry, and a committed one always has its entry.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone

from wegweiser.core.models import AuditEntry

if TYPE_CHECKING:
    from wegweiser.organizations.models import Node

GENESIS = "0" * 64
_ADVISORY_LOCK_KEY = 0x5745_4757  # "WEGW"


def _canonical(entry: AuditEntry) -> bytes:
    payload = {
        "seq": entry.seq,
        "created_at": entry.created_at.isoformat(timespec="microseconds"),
        "actor": str(entry.actor) if entry.actor else None,
        "action": entry.action,
        "node": entry.node_id,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "data": entry.data,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


def audit_record(
    *,
    actor: Any,
    action: str,
    node: Node | None = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. ``actor`` is a user (or None for the system); ``obj`` any model with a
    ``public_id``. ``data`` must hold ids and codes only, never names or free text."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.public_id)
    actor_id: uuid.UUID | None = getattr(actor, "public_id", None) if actor is not None else None
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])
        head = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS)
        entry = AuditEntry(
            seq=seq,
            created_at=timezone.now(),
            actor=actor_id,
            action=action,
            node=node,
            object_type=object_type,
            object_id=object_id,
            data=data or {},
            prev_hash=prev_hash,
        )
        # JSON round trip so the hash is computed over exactly what the database returns.
        entry.data = json.loads(json.dumps(entry.data, sort_keys=True))
        entry.hash = entry_hash(entry)
        entry.save()
    return entry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    head_hash: str
    problem: str = ""
    broken_seq: int | None = None


def _entries(chunk: int = 2000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        batch = list(AuditEntry.objects.filter(seq__gt=last).order_by("seq")[:chunk])
        if not batch:
            return
        yield from batch
        last = batch[-1].seq


def audit_verify() -> VerifyResult:
    """Walk the chain from the first entry and report the first broken link."""
    expected_seq, prev_hash, count = 1, GENESIS, 0
    for entry in _entries():
        if entry.seq != expected_seq:
            return VerifyResult(
                False, count, prev_hash,
                f"entries {expected_seq} to {entry.seq - 1} are missing (deleted)", expected_seq,
            )
        if entry.prev_hash != prev_hash:
            return VerifyResult(
                False, count, prev_hash,
                f"entry {entry.seq} does not link to entry {entry.seq - 1}", entry.seq,
            )
        if entry_hash(entry) != entry.hash:
            return VerifyResult(
                False, count, prev_hash, f"entry {entry.seq} was altered", entry.seq
            )
        prev_hash, expected_seq, count = entry.hash, expected_seq + 1, count + 1
    return VerifyResult(True, count, prev_hash)
