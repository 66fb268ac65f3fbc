"""What every database benchmark does first: a throw-away directory and SQLite file (or the
DATABASE_URL given), bench-only secrets, Django set up and migrated. Imported by the bench
scripts, which run as ``.venv/bin/python bench/<name>.py`` (this folder is on their path)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def setup_django(*, migrate: bool = True) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="wegweiser-bench-"))
    (tmp / "static").mkdir()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijkl")
    os.environ.setdefault("ALLOWED_HOSTS", "localhost,testserver")
    os.environ.setdefault("ATTACHMENT_KEY", "YmVuY2gtb25seS1hdHRhY2htZW50LWtleS0zMmJ5dGU=")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("STATIC_MANIFEST", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wegweiser.settings")
    os.environ["VAR_DIR"] = str(tmp)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    return tmp


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]
