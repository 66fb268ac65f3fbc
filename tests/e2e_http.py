"""Helpers for the HTTP tests of end-to-end encryption (tests/test_e2e_*.py): JSON requests as
keys.js sends them, json_script data in pages, a dump of the whole database to look for
plaintext, and key material made with the reference implementation (tests/e2e_protocol.py),
cached per run because PBKDF2 with 600,000 iterations takes a quarter of a second."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from django.db import connection
from django.test import Client
from django.urls import reverse

from tests import e2e_protocol as p
from tests.conftest import PASSWORD

NEW_PASSWORD = "ein ganz neues langes passwort"


def post_json(client: Client, url: str, data: Any, *, language: str | None = None, csrf: bool = True) -> Any:
    """A JSON POST as keys.js sends it: a JSON body and the CSRF token in the header. ``data`` that
    is a str is sent as it is (for bodies that are no valid JSON)."""
    extra: dict[str, str] = {}
    if csrf:
        extra["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    if language:
        extra["HTTP_ACCEPT_LANGUAGE"] = language
    body = data if isinstance(data, str) else json.dumps(data)
    # CsrfClient.post turns ``data`` into a dict; a JSON body goes through Django's own post.
    return Client.post(client, url, data=body, content_type="application/json", **extra)


def json_script(html: str, element_id: str) -> Any:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert found, f"no json_script {element_id!r} in the page"
    return json.loads(found.group(1))


def is_login_redirect(response: Any) -> bool:
    return response.status_code == 302 and response.url.startswith(reverse("account_login"))


def database_dump() -> str:
    """Every row of every table as text: what an operator with the database sees."""
    out = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            out.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(out)


_extra: dict[str, p.Identity] = {}


def another_identity(username: str, tag: str = "2") -> p.Identity:
    """Another identity for ``username`` than tests.e2e_fixtures.identity_of (a replaced key)."""
    if f"{username}#{tag}" not in _extra:
        _extra[f"{username}#{tag}"] = p.create_identity(username, PASSWORD)
    return _extra[f"{username}#{tag}"]


_keks: dict[tuple[str, str], bytes] = {}


def password_part(username: str, password: str, pkcs8: bytes) -> dict[str, Any]:
    """A bundle's ``password`` part for ``password`` (what keys.js sends after a change)."""
    if (username, password) not in _keks:
        _keks[(username, password)] = p.derive_kek(username, password)
    return {"kdf": p.KDF, "iter": p.ITERATIONS, "salt": p.b64u_encode(p.kek_salt(username)),
            **p.wrap_private(_keks[(username, password)], pkcs8)}


def random_proof() -> str:
    return p.b64u_encode(os.urandom(32))


def off_curve_point() -> str:
    return p.b64u_encode(b"\x04" + b"\x01" * 64)
