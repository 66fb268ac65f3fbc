"""``loadtest-seed`` against the contract (shared/contracts/realtime.md, "Load-test fixtures")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpRequest
from django.test import Client

from wegweiser.accounts.models import User
from wegweiser.core.audit import audit_verify
from wegweiser.counseling.access import live_conversations
from wegweiser.counseling.models import Conversation, Message, Topic
from wegweiser.organizations.models import Membership


def _user_for(sessionid: str) -> Any:
    """The user django.contrib.auth (and so channels' AuthMiddleware) finds in the session."""
    from importlib import import_module

    from django.conf import settings

    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(sessionid)
    return get_user(request)


def _seed(tmp_path: Path, pairs: int) -> dict[str, Any]:
    out = tmp_path / "seed.json"
    call_command("loadtest_seed", "--pairs", str(pairs), "--out", str(out),
                 "--base-url", "http://127.0.0.1:8100")
    return json.loads(out.read_text())


@pytest.mark.django_db
def test_refuses_without_loadtest_env(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.delenv("WEGWEISER_LOADTEST", raising=False)
    with pytest.raises(CommandError, match="WEGWEISER_LOADTEST=1"):
        call_command("loadtest_seed", "--pairs", "2", "--out", str(tmp_path / "seed.json"))
    monkeypatch.setenv("WEGWEISER_LOADTEST", "0")
    with pytest.raises(CommandError, match="WEGWEISER_LOADTEST=1"):
        call_command("loadtest_seed", "--purge")
    assert not User.objects.exists()
    assert not (tmp_path / "seed.json").exists()


@pytest.mark.django_db
def test_seed_writes_contract_and_sessions_log_in(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("WEGWEISER_LOADTEST", "1")
    data = _seed(tmp_path, 3)
    assert set(data) == {"base_url", "pairs"}
    assert data["base_url"] == "http://127.0.0.1:8100"
    assert len(data["pairs"]) == 3
    assert (tmp_path / "seed.json").stat().st_mode & 0o077 == 0  # session ids: owner only
    for pair in data["pairs"]:
        assert set(pair) == {"conversation", "client", "counselor"}
        assert set(pair["client"]) == set(pair["counselor"]) == {"sessionid"}
        conversation = Conversation.objects.get(public_id=pair["conversation"])
        assert conversation.status == Conversation.Status.ACTIVE and conversation.loadtest
        client = _user_for(pair["client"]["sessionid"])
        counselor = _user_for(pair["counselor"]["sessionid"])
        assert client.pk == conversation.client_id and client.kind == User.Kind.CLIENT
        assert counselor.pk == conversation.counselor_id and counselor.kind == User.Kind.STAFF
        assert client.loadtest and counselor.loadtest
        # Both may write: the socket subscribes them to the conversation.
        assert live_conversations(client).filter(pk=conversation.pk).exists()
        assert live_conversations(counselor).filter(pk=conversation.pk).exists()
    # The sessions work for HTTP as well: the dashboard needs a login.
    for role in ("client", "counselor"):
        browser = Client()
        browser.cookies["sessionid"] = data["pairs"][0][role]["sessionid"]
        assert browser.get("/dashboard/").status_code == 200
    assert Client().get("/dashboard/").status_code == 302
    assert not Topic.objects.get(name="Lasttest").is_active  # never offered in the finder
    assert audit_verify().ok


@pytest.mark.django_db
def test_seed_twice_reuses_the_agency(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("WEGWEISER_LOADTEST", "1")
    first, second = _seed(tmp_path, 2), _seed(tmp_path, 2)
    conversations = Conversation.objects.filter(
        public_id__in=[p["conversation"] for p in first["pairs"] + second["pairs"]])
    assert conversations.count() == 4
    assert conversations.values("agency").distinct().count() == 1


@pytest.mark.django_db
def test_purge_removes_only_loadtest_data(monkeypatch: Any, tmp_path: Path, mia: User) -> None:
    monkeypatch.setenv("WEGWEISER_LOADTEST", "1")
    data = _seed(tmp_path, 3)
    browser = Client()
    browser.force_login(mia)
    mia_session = browser.cookies["sessionid"].value
    assert User.objects.filter(loadtest=True).count() == 6

    call_command("loadtest_seed", "--purge")

    assert not User.objects.filter(loadtest=True).exists()
    assert not Conversation.objects.filter(loadtest=True).exists()
    assert not Conversation.objects.filter(public_id__in=[p["conversation"] for p in data["pairs"]]).exists()
    assert not Message.objects.exists()
    assert not Membership.objects.exists()
    assert list(Session.objects.values_list("session_key", flat=True)) == [mia_session]
    for pair in data["pairs"]:
        assert not _user_for(pair["client"]["sessionid"]).is_authenticated
    assert User.objects.get(pk=mia.pk).username == "mia"
    assert browser.get("/dashboard/").status_code == 200  # mia is still logged in
    assert not Topic.objects.filter(name="Lasttest").exists()
    assert audit_verify().ok
    # Seeding again after a purge works (the kept organization units come back).
    again = _seed(tmp_path, 1)
    assert Conversation.objects.get(public_id=again["pairs"][0]["conversation"]).status == "active"
