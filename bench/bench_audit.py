"""Audit log throughput: appends are serialized (one chain), so their rate bounds every write.

    make bench            # or: .venv/bin/python bench/bench_audit.py [N]

Uses a throw-away SQLite file, or DATABASE_URL when set. Prints figures, asserts nothing.
"""

from __future__ import annotations

import sys
import time

from benchsetup import setup_django


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    setup_django()
    from django.db import connection

    from wegweiser.core.audit import audit_record, audit_verify

    started = time.perf_counter()
    for i in range(count):
        audit_record(actor=None, action="bench.event", object_type="bench", object_id=str(i),
                     data={"i": i})
    append = time.perf_counter() - started
    started = time.perf_counter()
    result = audit_verify()
    verify = time.perf_counter() - started
    assert result.ok and result.count >= count
    print(f"database: {connection.vendor}")
    print(f"audit_record: {count} appends, each its own transaction, in {append:.2f} s "
          f"= {count / append:.0f} appends/s ({1000 * append / count:.2f} ms each)")
    print(f"audit verify: {result.count} entries in {verify:.2f} s = {result.count / verify:.0f} entries/s")


if __name__ == "__main__":
    main()
