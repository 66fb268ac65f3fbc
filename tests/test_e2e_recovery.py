"""Recovery with the recovery key over HTTP (docs/e2e-protocol.md §1.2): a client who forgot the
password proves to hold the recovery key, gets the recovery-wrapped private key only, and sets a
new password together with the key wrapped for it; everybody else gets the same refusal."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import reverse

from tests import e2e_protocol as p
from tests.conftest import PASSWORD
from tests.e2e_fixtures import give_identity
from tests.e2e_http import NEW_PASSWORD, password_part, post_json, random_proof
from wegweiser.accounts.models import User
from wegweiser.core.models import AuditEntry
from wegweiser.counseling.models import IdentityKey

pytestmark = pytest.mark.django_db

RECOVER_URL = "/keys/recover/"

# --- helpers ---------------------------------------------------------------------------------------

def recover(client: Client, step: str, username: str, proof: Any, *, language: str | None = None,
            **rest: Any) -> Any:
    return post_json(client, RECOVER_URL, {"step": step, "username": username, "proof": proof, **rest},
                     language=language)


# --- the page and the rate limit -----------------------------------------------------------------

def test_recover_page_renders(anon: Any) -> None:
    page = anon.get(RECOVER_URL)
    assert page.status_code == 200
    assert "counseling/keys_recover.html" in [t.name for t in page.templates]


def test_recovery_is_rate_limited_per_username(mia: User, anon: Any) -> None:
    """ACCOUNT_RATE_LIMITS["reset_password"]: 3 an hour per username (and 5 a minute per address)."""
    made = give_identity(mia)
    codes = [recover(anon, "check", "mia", random_proof()).status_code for _ in range(3)]
    assert codes == [400] * 3
    blocked = recover(anon, "check", "MIA", made["recovery_auth"], language="en")  # even the right key
    assert blocked.status_code == 429 and blocked.json()["code"] == "rate_limited"
    assert recover(anon, "check", "niemand", random_proof()).status_code == 400  # per username


def test_recovery_is_rate_limited_per_address(mia: User, anon: Any) -> None:
    made = give_identity(mia)
    codes = [recover(anon, "check", f"name{i}", random_proof()).status_code for i in range(5)]
    assert codes == [400] * 5
    assert recover(anon, "check", "mia", made["recovery_auth"]).status_code == 429


# --- step "check" ---------------------------------------------------------------------------------

def test_recovery_check_returns_only_what_the_recovery_key_opens(mia: User, anon: Any) -> None:
    made = give_identity(mia)
    response = recover(anon, "check", "MIA", made["recovery_auth"])
    assert response.status_code == 200
    answer = response.json()
    assert answer == {"bundle": {"v": 1, "public": made["bundle"]["public"],
                                 "recovery": made["bundle"]["recovery"]},
                      "username": "mia"}
    # The password-wrapped copy stays on the server: not even its ciphertext is in the answer.
    assert made["bundle"]["password"]["ct"] not in response.content.decode()
    assert made["bundle"]["password"]["iv"] not in response.content.decode()
    # What came back opens with the recovery key.
    private, auth = p.unlock_recovery({**answer["bundle"], "password": made["bundle"]["password"]},
                                      made["recovery_key"])
    assert p.public_raw(private) == made["public_raw"] and auth == made["recovery_auth"]


def test_wrong_proof_and_unknown_user_get_the_same_answer(mia: User, anon: Any) -> None:
    made = give_identity(mia)
    answers = []
    for username, proof in [("mia", random_proof()), ("niemand", made["recovery_auth"]),
                            ("mia", "kein beweis"), ("mia", None)]:
        response = recover(anon, "check", username, proof, language="en")
        assert response.status_code == 400, (username, proof)
        answers.append(response.json())
    assert answers == [{"error": "The username or the recovery key is not correct.", "code": "recovery"}] * 4
    assert made["bundle"]["recovery"]["ct"] not in json.dumps(answers)


def test_staff_cannot_recover(jonas: User, anon: Any) -> None:
    made = give_identity(jonas)
    check = recover(anon, "check", "jonas", made["recovery_auth"], language="en")
    assert check.status_code == 400
    assert check.json()["error"] == "The username or the recovery key is not correct."
    reset = recover(anon, "reset", "jonas", made["recovery_auth"], password=NEW_PASSWORD,
                    password_wrap=made["bundle"]["password"])
    assert reset.status_code == 400
    jonas.refresh_from_db()
    assert jonas.check_password(PASSWORD)


def test_inactive_clients_cannot_recover(mia: User, anon: Any) -> None:
    made = give_identity(mia)
    User.objects.filter(pk=mia.pk).update(is_active=False)
    assert recover(anon, "check", "mia", made["recovery_auth"]).status_code == 400


# --- step "reset" ---------------------------------------------------------------------------------

def test_recovery_reset_sets_the_password_and_the_wrap(mia: User, anon: Any, client_for: Any) -> None:
    made = give_identity(mia)
    elsewhere = client_for(mia)  # a session somebody else may hold
    assert elsewhere.get("/keys/").status_code == 200
    wrap = password_part("mia", NEW_PASSWORD, made["private_pkcs8"])
    response = recover(anon, "reset", "mia", made["recovery_auth"], password=NEW_PASSWORD, password_wrap=wrap)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "next": reverse("account_login")}
    mia.refresh_from_db()
    assert mia.check_password(NEW_PASSWORD) and not mia.check_password(PASSWORD)
    key = IdentityKey.objects.get(user=mia)
    assert key.bundle == {**made["bundle"], "password": wrap}
    assert check_password(made["recovery_auth"], key.recovery_verifier)  # the recovery key stays valid
    assert p.public_raw(p.unlock_password(key.bundle, "mia", NEW_PASSWORD)) == made["public_raw"]
    assert AuditEntry.objects.filter(action="keys.account_recovered", actor=mia.public_id).exists()
    # The new password logs in; sessions from before the reset are over.
    assert Client().login(username="mia", password=NEW_PASSWORD)
    assert elsewhere.get("/keys/").status_code == 302


def test_recovery_reset_with_a_weak_password_changes_nothing(mia: User, anon: Any) -> None:
    made = give_identity(mia)
    wrap = dict(made["bundle"]["password"])  # shape only; never reached
    for password, message in [("kurzes-pw", "Dieses Passwort ist zu kurz"),
                              ("polniypizdec0211", "Datenlecks")]:
        response = recover(anon, "reset", "mia", made["recovery_auth"], password=password, password_wrap=wrap)
        assert response.status_code == 400
        assert message in response.json()["error"]
    mia.refresh_from_db()
    assert mia.check_password(PASSWORD)
    assert IdentityKey.objects.get(user=mia).bundle == made["bundle"]
    assert not AuditEntry.objects.filter(action="keys.account_recovered").exists()


@pytest.mark.parametrize("what", ["wrong proof", "wrap of another user", "no wrap", "no password"])
def test_recovery_reset_refuses_a_wrong_proof_or_wrap(mia: User, anon: Any, what: str) -> None:
    made = give_identity(mia)
    proof = random_proof() if what == "wrong proof" else made["recovery_auth"]
    fields: dict[str, Any] = {"password": NEW_PASSWORD, "password_wrap": {**made["bundle"]["password"]}}
    if what == "wrap of another user":
        fields["password_wrap"]["salt"] = p.b64u_encode(p.kek_salt("jonas"))
    elif what == "no wrap":
        fields["password_wrap"] = None
    elif what == "no password":
        fields["password"] = None
    response = recover(anon, "reset", "mia", proof, **fields)
    assert response.status_code == 400
    assert response.json()["code"] == ("recovery" if what == "wrong proof" else
                                       "password" if what == "no password" else "invalid")
    mia.refresh_from_db()
    assert mia.check_password(PASSWORD)
    assert IdentityKey.objects.get(user=mia).bundle == made["bundle"]
