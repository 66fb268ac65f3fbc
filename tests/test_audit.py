from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from wegweiser.core.audit import GENESIS, audit_record, audit_verify, entry_hash
from wegweiser.core.models import AuditEntry


@pytest.fixture
def chain(db: Any) -> list[AuditEntry]:
    return [audit_record(actor=None, action=f"test.event{i}", data={"n": i}) for i in range(5)]


def test_entries_are_chained(chain: list[AuditEntry]) -> None:
    assert chain[0].prev_hash == GENESIS
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    for previous, entry in itertools.pairwise(chain):
        assert entry.prev_hash == previous.hash
        assert entry.hash == entry_hash(entry)
    result = audit_verify()
    assert result.ok and result.count == 5 and result.head_hash == chain[-1].hash


def test_orm_refuses_to_change_or_delete(chain: list[AuditEntry]) -> None:
    entry = AuditEntry.objects.get(seq=2)
    entry.action = "forged"
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()
    with pytest.raises(RuntimeError):
        AuditEntry.objects.filter(seq=2).update(action="forged")
    with pytest.raises(RuntimeError):
        AuditEntry.objects.filter(seq=2).delete()


def _raw(sql: str, params: list[Any]) -> None:
    table = AuditEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=table), params)


def test_verify_names_an_altered_row(chain: list[AuditEntry]) -> None:
    _raw("UPDATE {table} SET action = %s WHERE seq = %s", ["forged", 3])
    result = audit_verify()
    assert not result.ok
    assert result.broken_seq == 3
    assert "altered" in result.problem
    with pytest.raises(CommandError, match="BROKEN at entry 3"):
        call_command("audit", "verify")


def test_verify_names_a_deleted_row(chain: list[AuditEntry]) -> None:
    _raw("DELETE FROM {table} WHERE seq = %s", [2])
    result = audit_verify()
    assert not result.ok and result.broken_seq == 2
    assert "missing" in result.problem


def test_verify_names_a_rewritten_tail(chain: list[AuditEntry]) -> None:
    """An attacker who recomputes one row's own hash still breaks the next link."""
    entry = AuditEntry.objects.get(seq=2)
    entry.data = {"n": 99}
    new_hash = entry_hash(entry)
    _raw("UPDATE {table} SET data = %s, hash = %s WHERE seq = %s", ['{"n": 99}', new_hash, 2])
    result = audit_verify()
    assert not result.ok and result.broken_seq == 3
    assert "does not link" in result.problem


def test_rolled_back_action_leaves_no_entry(db: Any) -> None:
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        audit_record(actor=None, action="test.doomed")
        raise ZeroDivisionError
    assert not AuditEntry.objects.filter(action="test.doomed").exists()
    assert audit_verify().ok


def test_verify_command_prints_head(chain: list[AuditEntry], capsys: pytest.CaptureFixture[str]) -> None:
    call_command("audit", "verify")
    out = capsys.readouterr().out
    assert "5 entries" in out and chain[-1].hash in out
