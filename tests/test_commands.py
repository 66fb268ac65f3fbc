from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from wegweiser.accounts.models import User
from wegweiser.core.audit import audit_verify
from wegweiser.organizations.models import Membership, Node, Role


def _counts() -> tuple[int, int, int]:
    return Node.objects.count(), User.objects.count(), Membership.objects.count()


def test_demo_is_idempotent(db: Any, settings: Any) -> None:
    settings.DEMO_ALLOWED = True
    call_command("demo")
    first = _counts()
    call_command("demo")
    assert _counts() == first
    roots = Node.objects.get_root_nodes()
    fed = roots.get(name="Wohlfahrtsverband Demo e. V.")
    descendants = Node.objects.get_descendants(fed)
    assert descendants.filter(kind="region").count() == 2
    assert descendants.filter(kind="branch").count() == 3
    assert descendants.filter(kind="agency").count() == 4
    assert roots.count() == 2
    assert User.objects.get(username="mia").kind == User.Kind.CLIENT
    assert audit_verify().ok


def test_demo_refuses_in_production(db: Any, settings: Any) -> None:
    settings.DEMO_ALLOWED = False
    with pytest.raises(CommandError):
        call_command("demo")
    assert Node.objects.count() == 0


def test_bootstrap_creates_federation_and_admin(db: Any, capsys: Any) -> None:
    call_command("bootstrap", "--federation", "Caritas Test", "--admin", "erika",
                 "--email", "erika@example.org", "--url", "https://wegweiser.example.org")
    erika = User.objects.get(username="erika")
    assert erika.kind == User.Kind.STAFF and not erika.has_usable_password()
    root = Node.objects.get_root_nodes().get(name="Caritas Test")
    assert Membership.objects.filter(user=erika, node=root, role=Role.FEDERATION_ADMIN).exists()
    assert "https://wegweiser.example.org/accounts/password/reset/key/" in capsys.readouterr().out
    with pytest.raises(CommandError, match="--admin"):
        call_command("bootstrap", "--federation", "Other", "--admin", "ERIKA",
                     "--email", "e@example.org")


def test_python_dash_m_wegweiser_wraps_management_commands(tmp_path: Path) -> None:
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    env.pop("REDIS_URL", None)
    result = subprocess.run([sys.executable, "-m", "wegweiser", "migrate", "--noinput", "-v", "0"],
                            env=env, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([sys.executable, "-m", "wegweiser", "audit", "verify"],
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and "Audit chain intact: 0 entries" in result.stdout
