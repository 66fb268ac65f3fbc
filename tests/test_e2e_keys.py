"""End-to-end encryption keys of a user over HTTP (docs/e2e-protocol.md §1): the identity bundle
(POST/GET /keys/identity/), re-wrapping it for the current password, the password change that
re-wraps it, and the keys page. Bundles are made with the reference implementation
(tests/e2e_protocol.py); the server must store what is well-formed, refuse the rest with a 400 and
change nothing."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import reverse

from tests import e2e_protocol as p
from tests.conftest import PASSWORD
from tests.e2e_fixtures import give_identity, identity_of
from tests.e2e_http import (
    NEW_PASSWORD,
    another_identity,
    is_login_redirect,
    json_script,
    off_curve_point,
    password_part,
    post_json,
    random_proof,
)
from wegweiser.accounts.models import User
from wegweiser.core.models import AuditEntry
from wegweiser.counseling.models import IdentityKey

pytestmark = pytest.mark.django_db

IDENTITY_URL = "/keys/identity/"
REWRAP_URL = "/keys/identity/password/"
TEAMS_URL = "/keys/teams/"

def identity_post(made: p.Identity, **extra: Any) -> dict[str, Any]:
    return {"password": PASSWORD, "bundle": made["bundle"], "recovery": made["recovery_auth"], **extra}



# --- 1. the identity bundle ------------------------------------------------------------------------

def test_identity_is_stored_with_a_hash_of_the_recovery_proof(mia: User, client_for: Any) -> None:
    made = identity_of("mia")
    client = client_for(mia)
    response = post_json(client, IDENTITY_URL, identity_post(made))
    assert response.status_code == 200, response.content
    assert response.json() == {"ok": True, "bundle": made["bundle"]}
    key = IdentityKey.objects.get(user=mia)
    assert key.public == made["bundle"]["public"] and key.bundle == made["bundle"]
    # A password-style hash of the proof, never the proof itself.
    assert made["recovery_auth"] not in key.recovery_verifier
    assert check_password(made["recovery_auth"], key.recovery_verifier)
    assert not check_password(random_proof(), key.recovery_verifier)
    # The browser can open what it stored (the bundle came back unchanged).
    unlocked = p.unlock_password(client.get(IDENTITY_URL).json()["bundle"], "mia", PASSWORD)
    assert p.public_raw(unlocked) == made["public_raw"]
    entry = AuditEntry.objects.get(action="keys.identity_created")
    assert entry.actor == mia.public_id
    assert made["bundle"]["public"] not in json.dumps(entry.data)


def test_identity_get_returns_keys_me(mia: User, jonas: User, client_for: Any) -> None:
    before = client_for(mia).get(IDENTITY_URL).json()
    assert before["bundle"] is None and before["username"] == "mia" and before["user"] == str(mia.public_id)
    assert before["counselor"] is False
    assert before["urls"] == {"identity": IDENTITY_URL, "rewrap": REWRAP_URL, "teams": TEAMS_URL,
                              "setup": "/keys/"}
    made = give_identity(mia)
    assert client_for(mia).get(IDENTITY_URL).json()["bundle"] == made["bundle"]
    # Another user sees their own data only.
    jonas_me = client_for(jonas).get(IDENTITY_URL).json()
    assert jonas_me["bundle"] is None and jonas_me["username"] == "jonas"


def test_identity_counselor_flag(counseling: SimpleNamespace, jonas: User, client_for: Any) -> None:
    assert client_for(jonas).get(IDENTITY_URL).json()["counselor"] is True


def test_identity_with_a_wrong_password_is_refused_in_german(mia: User, client_for: Any) -> None:
    response = post_json(client_for(mia), IDENTITY_URL,
                         identity_post(identity_of("mia"), password="nicht mein passwort"))
    assert response.status_code == 400
    assert response.json() == {"error": "Das Passwort ist nicht richtig.", "code": "password"}
    assert not IdentityKey.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="keys.").exists()


def test_identity_without_a_password_is_refused(mia: User, client_for: Any) -> None:
    data = identity_post(identity_of("mia"))
    del data["password"]
    response = post_json(client_for(mia), IDENTITY_URL, data)
    assert response.status_code == 400 and response.json()["code"] == "password"
    assert not IdentityKey.objects.exists()


def _bad_bundles() -> list[tuple[str, Any, str]]:
    """(what, change to the POST data, a word of the expected error)."""
    def bundle(**change: Any) -> Any:
        def apply(data: dict[str, Any]) -> None:
            data["bundle"] = {**data["bundle"], **change}
        return apply

    def password(**change: Any) -> Any:
        def apply(data: dict[str, Any]) -> None:
            data["bundle"] = {**data["bundle"], "password": {**data["bundle"]["password"], **change}}
        return apply

    def without(key: str) -> Any:
        def apply(data: dict[str, Any]) -> None:
            data["bundle"] = {k: v for k, v in data["bundle"].items() if k != key}
        return apply

    def top(**change: Any) -> Any:
        def apply(data: dict[str, Any]) -> None:
            data.update(change)
        return apply

    compressed = p.b64u_encode(b"\x02" + p.b64u_decode(identity_of("mia")["bundle"]["public"])[1:33])
    return [
        ("599,999 iterations", password(iter=599_999), "600,000"),
        ("1,000 iterations", password(iter=1000), "600,000"),
        ("too many iterations", password(iter=10_000_001), "600,000"),
        ("iterations as text", password(iter="600000"), "Malformed"),
        ("iterations true", password(iter=True), "Malformed"),
        ("another kdf", password(kdf="argon2id"), "Malformed"),
        ("salt of another username", password(salt=p.b64u_encode(p.kek_salt("jonas"))), "Malformed"),
        ("salt with padding", password(salt=p.b64u_encode(p.kek_salt("mia")) + "="), "Malformed"),
        ("public key not on the curve", bundle(public=off_curve_point()), "Malformed"),
        ("compressed public key", bundle(public=compressed), "Malformed"),
        ("public key not base64url", bundle(public="not base64!"), "Malformed"),
        ("public key with padding", bundle(public=identity_of("mia")["bundle"]["public"] + "="), "Malformed"),
        ("version 2", bundle(v=2), "Malformed"),
        ("an extra key", bundle(extra="x"), "Malformed"),
        ("no recovery part", without("recovery"), "Malformed"),
        ("no password part", without("password"), "Malformed"),
        ("no public key", without("public"), "Malformed"),
        ("recovery part too short", bundle(recovery={"iv": p.b64u_encode(b"i" * 12),
                                                     "ct": p.b64u_encode(b"c" * 20)}), "Malformed"),
        ("bundle a string", top(bundle="bundle"), "Malformed"),
        ("no bundle", top(bundle=None), "Malformed"),
        ("no recovery proof", top(recovery=None), "Malformed"),
        ("recovery proof of 16 bytes", top(recovery=p.b64u_encode(b"r" * 16)), "Malformed"),
    ]


@pytest.mark.parametrize(("what", "change", "word"), _bad_bundles(), ids=[b[0] for b in _bad_bundles()])
def test_malformed_identity_is_refused_and_nothing_stored(mia: User, client_for: Any, what: str, change: Any,
                                                          word: str) -> None:
    data = json.loads(json.dumps(identity_post(identity_of("mia"))))
    change(data)
    response = post_json(client_for(mia), IDENTITY_URL, data, language="en")
    assert response.status_code == 400, what
    assert word in response.json()["error"], response.json()
    assert not IdentityKey.objects.exists()


def test_bodies_that_are_not_json_objects_are_refused(mia: User, client_for: Any) -> None:
    client = client_for(mia)
    for body in ("{nicht json", "[1, 2]", "", '"text"'):
        response = post_json(client, IDENTITY_URL, body, language="en")
        assert response.status_code == 400, body
        assert response.json()["error"] == "The request is not valid JSON."
    assert not IdentityKey.objects.exists()


def test_deeply_nested_json_is_a_400_not_a_server_error(mia: User, client_for: Any) -> None:
    body = '{"password": ' + "[" * 5000 + "]" * 5000 + "}"
    response = post_json(client_for(mia), IDENTITY_URL, body)
    assert response.status_code == 400


def test_identity_needs_the_csrf_token(mia: User, client_for: Any) -> None:
    response = post_json(client_for(mia), IDENTITY_URL, identity_post(identity_of("mia")), csrf=False)
    assert response.status_code == 403
    assert not IdentityKey.objects.exists()


def test_anonymous_users_are_sent_to_the_login(anon: Any) -> None:
    assert is_login_redirect(anon.get(IDENTITY_URL))
    assert is_login_redirect(post_json(anon, IDENTITY_URL, identity_post(identity_of("mia"))))
    assert is_login_redirect(post_json(anon, REWRAP_URL, {"password": PASSWORD}))
    assert is_login_redirect(anon.get(TEAMS_URL))
    assert not IdentityKey.objects.exists()


def test_second_setup_needs_replace_and_the_password(mia: User, client_for: Any) -> None:
    first, second = identity_of("mia"), another_identity("mia")
    client = client_for(mia)
    assert post_json(client, IDENTITY_URL, identity_post(first)).status_code == 200
    for extra in ({}, {"replace": False}, {"replace": "true"}, {"replace": 1}):
        refused = post_json(client, IDENTITY_URL, identity_post(second, **extra), language="en")
        assert refused.status_code == 400, extra
        assert refused.json() == {"error": "Your encryption key is set up already.", "code": "exists"}
    kept = IdentityKey.objects.get(user=mia)
    assert kept.bundle == first["bundle"] and check_password(first["recovery_auth"], kept.recovery_verifier)

    replaced = post_json(client, IDENTITY_URL, identity_post(second, replace=True))
    assert replaced.status_code == 200 and replaced.json()["bundle"] == second["bundle"]
    key = IdentityKey.objects.get(user=mia)
    assert key.public == second["bundle"]["public"] and key.bundle == second["bundle"]
    assert check_password(second["recovery_auth"], key.recovery_verifier)
    assert not check_password(first["recovery_auth"], key.recovery_verifier)
    assert AuditEntry.objects.filter(action="keys.identity_replaced", actor=mia.public_id).count() == 1


def test_replacing_needs_the_right_password(mia: User, client_for: Any) -> None:
    first = give_identity(mia)
    wrong = post_json(client_for(mia), IDENTITY_URL,
                      identity_post(another_identity("mia"), replace=True, password="falsches passwort"))
    assert wrong.status_code == 400 and wrong.json()["code"] == "password"
    assert IdentityKey.objects.get(user=mia).bundle == first["bundle"]


def test_identity_setup_is_rate_limited(mia: User, client_for: Any) -> None:
    client = client_for(mia)
    data = identity_post(identity_of("jonas"))  # salted for another username
    codes = [post_json(client, IDENTITY_URL, data).status_code for _ in range(11)]
    assert codes == [400] * 10 + [429]
    # Even the right password is refused now.
    assert post_json(client, IDENTITY_URL, identity_post(identity_of("mia"))).status_code == 429
    assert not IdentityKey.objects.exists()


def test_identity_endpoint_allows_get_and_post_only(mia: User, client_for: Any) -> None:
    client = client_for(mia)
    response = client.put(IDENTITY_URL, data="{}", content_type="application/json",
                          HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 405


# --- 2. re-wrapping for the current password -------------------------------------------------------

def test_rewrap_replaces_the_password_part_only(mia: User, client_for: Any) -> None:
    made = give_identity(mia)
    before = IdentityKey.objects.get(user=mia)
    new_part = password_part("mia", PASSWORD, made["private_pkcs8"])
    assert new_part["iv"] != made["bundle"]["password"]["iv"]
    client = client_for(mia)
    response = post_json(client, REWRAP_URL, {"password": PASSWORD, "password_wrap": new_part})
    assert response.status_code == 200 and response.json() == {"ok": True}
    key = IdentityKey.objects.get(user=mia)
    assert key.bundle == {**made["bundle"], "password": new_part}
    assert key.public == before.public and key.recovery_verifier == before.recovery_verifier
    assert p.public_raw(p.unlock_password(key.bundle, "mia", PASSWORD)) == made["public_raw"]
    assert AuditEntry.objects.filter(action="keys.identity_rewrapped", actor=mia.public_id).exists()


def test_rewrap_with_a_wrong_password_is_refused(mia: User, client_for: Any) -> None:
    made = give_identity(mia)
    wrap = {**made["bundle"]["password"], "iv": p.b64u_encode(os.urandom(12))}
    wrong = post_json(client_for(mia), REWRAP_URL, {"password": "falsches passwort", "password_wrap": wrap})
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "Das Passwort ist nicht richtig.", "code": "password"}
    assert IdentityKey.objects.get(user=mia).bundle == made["bundle"]


def test_rewrap_refuses_bad_wraps_and_users_without_a_key(mia: User, jonas: User, client_for: Any) -> None:
    made = give_identity(mia)
    good = password_part("mia", PASSWORD, made["private_pkcs8"])
    client = client_for(mia)
    for what, wrap in [
        ("salt of another user", {**good, "salt": p.b64u_encode(p.kek_salt("jonas"))}),
        ("too few iterations", {**good, "iter": 100_000}),
        ("missing ct", {k: v for k, v in good.items() if k != "ct"}),
        ("the whole bundle", made["bundle"]),
        ("nothing", None),
    ]:
        response = post_json(client, REWRAP_URL, {"password": PASSWORD, "password_wrap": wrap})
        assert response.status_code == 400, what
    assert IdentityKey.objects.get(user=mia).bundle == made["bundle"]
    # Somebody without a key has nothing to re-wrap.
    jonas_part = dict(good, salt=p.b64u_encode(p.kek_salt("jonas")))
    missing = post_json(client_for(jonas), REWRAP_URL, {"password": PASSWORD, "password_wrap": jonas_part},
                        language="en")
    assert missing.status_code == 400
    assert missing.json() == {"error": "You have no encryption key yet.", "code": "missing"}
    assert not IdentityKey.objects.filter(user=jonas).exists()


# --- 9. the password change re-wraps the key ---------------------------------------------------------

def change_password(client: Client, *, language: str = "de", **fields: Any) -> Any:
    data = {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, **fields}
    return client.post(reverse("account_change_password"), data, HTTP_ACCEPT_LANGUAGE=language)


def test_password_change_without_the_wrap_is_refused(mia: User, client_for: Any) -> None:
    made = give_identity(mia)
    client = client_for(mia)
    response = change_password(client, language="en")
    assert response.status_code == 200
    assert response.context["form"].has_error("__all__", "encryption")
    assert "Please allow JavaScript and try again" in response.content.decode()
    for what, wrap in [("not JSON", "{nicht json"),
                       ("salt of another user", json.dumps({**made["bundle"]["password"],
                                                            "salt": p.b64u_encode(p.kek_salt("jonas"))})),
                       ("too few iterations", json.dumps({**made["bundle"]["password"], "iter": 1000}))]:
        refused = change_password(client, e2e_password_wrap=wrap)
        assert refused.status_code == 200, what
        assert refused.context["form"].errors, what
    mia.refresh_from_db()
    assert mia.check_password(PASSWORD)
    assert IdentityKey.objects.get(user=mia).bundle == made["bundle"]


def test_password_change_with_the_wrap_changes_both(mia: User, client_for: Any) -> None:
    made = give_identity(mia)
    wrap = password_part("mia", NEW_PASSWORD, made["private_pkcs8"])
    client = client_for(mia)
    # A wrong current password changes nothing, wrap or not.
    wrong = change_password(client, oldpassword="falsches passwort", e2e_password_wrap=json.dumps(wrap))
    assert wrong.status_code == 200
    assert IdentityKey.objects.get(user=mia).bundle == made["bundle"]
    response = change_password(client, e2e_password_wrap=json.dumps(wrap))
    assert response.status_code == 302
    mia.refresh_from_db()
    assert mia.check_password(NEW_PASSWORD)
    key = IdentityKey.objects.get(user=mia)
    assert key.bundle == {**made["bundle"], "password": wrap}
    assert p.public_raw(p.unlock_password(key.bundle, "mia", NEW_PASSWORD)) == made["public_raw"]
    assert AuditEntry.objects.filter(action="keys.identity_rewrapped", actor=mia.public_id).exists()


def test_deeply_nested_password_wrap_is_a_form_error(mia: User, client_for: Any) -> None:
    give_identity(mia)
    response = change_password(client_for(mia), e2e_password_wrap="[" * 2000 + "]" * 2000)
    assert response.status_code == 200 and response.context["form"].errors
    mia.refresh_from_db()
    assert mia.check_password(PASSWORD)


def test_password_change_without_a_key_needs_no_wrap(mia: User, client_for: Any) -> None:
    page = client_for(mia).get(reverse("account_change_password"))
    assert 'name="e2e_password_wrap"' in page.content.decode()
    assert f'data-identity-url="{IDENTITY_URL}"' in page.content.decode()
    response = change_password(client_for(mia))
    assert response.status_code == 302
    mia.refresh_from_db()
    assert mia.check_password(NEW_PASSWORD)
    assert not IdentityKey.objects.exists()


# --- 11. the keys page -----------------------------------------------------------------------------

def test_keys_page_for_logged_in_users_only(mia: User, jonas: User, anon: Any, client_for: Any) -> None:
    made = give_identity(mia)
    page = client_for(mia).get("/keys/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="e2e-keys"' in html
    assert json_script(html, "e2e-me")["bundle"] == made["bundle"]
    assert 'id="e2e-setup-form"' not in html  # set up already
    fresh = client_for(jonas).get("/keys/").content.decode()
    assert 'id="e2e-setup-form"' in fresh and json_script(fresh, "e2e-me")["bundle"] is None
    assert is_login_redirect(anon.get("/keys/"))


def test_keys_page_keeps_local_next_links_only(mia: User, client_for: Any) -> None:
    client = client_for(mia)
    local = client.get("/keys/", {"next": "/conversations/"}).content.decode()
    assert 'data-next="/conversations/"' in local
    for target in ("https://evil.example/", "//evil.example/x"):
        html = client.get("/keys/", {"next": target}).content.decode()
        assert 'data-next=""' in html

