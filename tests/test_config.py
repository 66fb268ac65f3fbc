"""Configuration from the environment: bad values fail at start, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from wegweiser import config


def test_boolean_rejects_unknown_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        config.boolean("X_FLAG", False)
    monkeypatch.setenv("X_FLAG", "Yes")
    assert config.boolean("X_FLAG", False) is True


def test_file_variant_is_read_and_conflicts_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.delenv("X_SECRET", raising=False)
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert config.string("X_SECRET") == "from-a-file"
    monkeypatch.setenv("X_SECRET", "direct")
    with pytest.raises(ImproperlyConfigured, match="X_SECRET"):
        config.string("X_SECRET")
    monkeypatch.delenv("X_SECRET")
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="X_SECRET_FILE"):
        config.string("X_SECRET")


def test_integer_and_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_NUM", "12a")
    with pytest.raises(ImproperlyConfigured, match="X_NUM"):
        config.integer("X_NUM", 1)
    monkeypatch.setenv("X_NUM", "3")
    with pytest.raises(ImproperlyConfigured, match="at least 5"):
        config.integer("X_NUM", 1, minimum=5)
    monkeypatch.delenv("X_REQUIRED", raising=False)
    with pytest.raises(ImproperlyConfigured, match="X_REQUIRED: this setting is required"):
        config.string("X_REQUIRED")


def test_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_DB", "mysql://root@localhost/db")
    with pytest.raises(ImproperlyConfigured, match="X_DB"):
        config.database("X_DB", "")
    monkeypatch.setenv("X_DB", "postgres://wegweiser:pw@db.example:5433/wegweiser")
    parsed = config.database("X_DB", "")
    assert parsed["ENGINE"] == "django.db.backends.postgresql"
    assert (parsed["HOST"], parsed["PORT"], parsed["NAME"]) == ("db.example", 5433, "wegweiser")


def test_email_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_MAIL", "smtp+tls://user%40org:p%40ss@mail.example:2525")
    parsed = config.email("X_MAIL")
    assert parsed["EMAIL_HOST"] == "mail.example"
    assert parsed["EMAIL_PORT"] == 2525
    assert parsed["EMAIL_HOST_USER"] == "user@org"
    assert parsed["EMAIL_HOST_PASSWORD"] == "p@ss"
    assert parsed["EMAIL_USE_TLS"] is True
    monkeypatch.setenv("X_MAIL", "pigeon://coop")
    with pytest.raises(ImproperlyConfigured, match="X_MAIL"):
        config.email("X_MAIL")


def test_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_REDIS", "http://localhost:6379")
    with pytest.raises(ImproperlyConfigured, match="X_REDIS"):
        config.redis_url("X_REDIS")
    monkeypatch.setenv("X_REDIS", "redis://127.0.0.1:6379/2")
    assert config.redis_url("X_REDIS") == "redis://127.0.0.1:6379/2"


def _manage(env_overrides: dict[str, str], *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        SECRET_KEY="x" * 10 + "production-secret-key-with-enough-entropy-0123456789",
        DEBUG="0",
        ALLOWED_HOSTS="wegweiser.example.org",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_MANIFEST="1",
        VAR_DIR=str(tmp_path),
    )
    for name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "EMAIL_URL",
                 "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-m", "wegweiser", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "perhaps"),
        ("TIME_ZONE", "Europe/Atlantis"),
        ("SECRET_KEY", "short"),
        ("DATABASE_URL", "oracle://x"),
        ("SESSION_IDLE_MINUTES", "soon"),
        ("EMAIL_URL", "smtp://"),
    ],
)
def test_bad_values_stop_the_start_naming_the_variable(
    variable: str, value: str, tmp_path: Path
) -> None:
    result = _manage({variable: value}, "check", tmp_path=tmp_path)
    assert result.returncode != 0
    assert f"Configuration error: {variable}:" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_deploy_reports_nothing_with_production_values(tmp_path: Path) -> None:
    result = _manage({}, "check", "--deploy", "--fail-level", "DEBUG", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_complains_about_debug(tmp_path: Path) -> None:
    result = _manage({"DEBUG": "1"}, "check", "--deploy", "--fail-level", "WARNING",
                     tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DEBUG" in result.stderr
