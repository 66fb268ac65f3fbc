"""Strict readers for configuration taken from the environment.

Every reader names the variable in its error, so a typo in a deployment fails at start with a
message an operator can act on instead of silently falling back to a default. django-environ
was considered, but it maps unknown boolean strings to False without complaint, which is the
opposite of what we want for settings such as DEBUG or SECURE_SSL_REDIRECT.

Each variable may also be given as ``NAME_FILE`` pointing at a file that holds the value
(Docker and systemd credentials); the file wins over nothing, and giving both is an error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_UNSET = object()


def raw(name: str, environ: os._Environ[str] | dict[str, str] | None = None) -> str | None:
    """Return the value of ``name`` or the contents of the file named by ``name_FILE``."""
    env = os.environ if environ is None else environ
    value = env.get(name)
    file_name = env.get(f"{name}_FILE")
    if value is not None and file_name:
        raise ImproperlyConfigured(f"{name}: set either {name} or {name}_FILE, not both.")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE: cannot read {file_name!r} ({exc.strerror})."
            ) from exc
    return value


def string(name: str, default: Any = _UNSET) -> str:
    value = raw(name)
    if value is None:
        if default is _UNSET:
            raise ImproperlyConfigured(f"{name}: this setting is required.")
        return str(default)
    return value


def boolean(name: str, default: bool) -> bool:
    value = raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: expected true/false (1/0, yes/no, on/off), got {value!r}.")


def integer(name: str, default: int, *, minimum: int | None = None) -> int:
    value = raw(name)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected a whole number, got {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}, got {number}.")
    return number


def string_list(name: str, default: list[str]) -> list[str]:
    value = raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def choice(name: str, default: str, choices: set[str] | list[str]) -> str:
    value = string(name, default)
    if value not in choices:
        raise ImproperlyConfigured(
            f"{name}: expected one of {', '.join(sorted(choices))}, got {value!r}."
        )
    return value


def database(name: str, default: str) -> dict[str, Any]:
    import dj_database_url

    url = string(name, default)
    scheme = urlsplit(url).scheme
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"{name}: only sqlite:/// and postgres:// URLs are supported, got scheme {scheme!r}."
        )
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=0))
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"{name}: cannot parse database URL ({exc}).") from exc
    return config


def redis_url(name: str) -> str | None:
    url = raw(name)
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss", "unix"} or not (parts.hostname or parts.path):
        raise ImproperlyConfigured(f"{name}: expected redis://host:port/db, got {url!r}.")
    return url


def email(name: str) -> dict[str, Any]:
    """Parse EMAIL_URL (smtp://, smtp+tls://, smtp+ssl://, console:, locmem:, file:/path).

    A few lines of our own rather than a dependency: the format is tiny and we want errors
    that name the variable.
    """
    url = raw(name)
    if url is None:
        return {}
    parts = urlsplit(url)
    backends = {
        "console": "django.core.mail.backends.console.EmailBackend",
        "locmem": "django.core.mail.backends.locmem.EmailBackend",
        "file": "django.core.mail.backends.filebased.EmailBackend",
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "smtp+tls": "django.core.mail.backends.smtp.EmailBackend",
        "smtp+ssl": "django.core.mail.backends.smtp.EmailBackend",
    }
    if parts.scheme not in backends:
        raise ImproperlyConfigured(
            f"{name}: unknown scheme {parts.scheme!r}; use smtp, smtp+tls, smtp+ssl, "
            "console, locmem or file."
        )
    result: dict[str, Any] = {"EMAIL_BACKEND": backends[parts.scheme]}
    if parts.scheme == "file":
        result["EMAIL_FILE_PATH"] = parts.path
    if parts.scheme.startswith("smtp"):
        if not parts.hostname:
            raise ImproperlyConfigured(f"{name}: an SMTP URL needs a host.")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"{name}: the port is not a number.") from None
        result.update(
            EMAIL_HOST=parts.hostname,
            EMAIL_PORT=port or (465 if parts.scheme == "smtp+ssl" else 587),
            EMAIL_HOST_USER=unquote(parts.username or ""),
            EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
            EMAIL_USE_TLS=parts.scheme == "smtp+tls",
            EMAIL_USE_SSL=parts.scheme == "smtp+ssl",
        )
        query = parse_qs(parts.query)
        if "timeout" in query:
            try:
                result["EMAIL_TIMEOUT"] = int(query["timeout"][0])
            except ValueError:
                raise ImproperlyConfigured(f"{name}: timeout must be a number.") from None
    return result
