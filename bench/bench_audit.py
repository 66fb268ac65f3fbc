"""Audit log throughput: appends are serialized (one chain), so their rate bounds every write.

    make bench            # or: .venv/bin/python bench/bench_audit.py [N]

Uses a throw-away SQLite file, or DATABASE_URL when set. Prints figures, asserts nothing.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    tmp = Path(tempfile.mkdtemp(prefix="wegweiser-bench-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijkl")
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wegweiser.settings")
    os.environ["VAR_DIR"] = str(tmp)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from wegweiser.core.audit import audit_record, audit_verify

    call_command("migrate", verbosity=0)
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
