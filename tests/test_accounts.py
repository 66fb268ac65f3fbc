from __future__ import annotations

import time
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from tests.conftest import PASSWORD
from wegweiser.accounts.middleware import LOGIN_AT
from wegweiser.accounts.models import User
from wegweiser.core.models import AuditEntry


def signup(client: Any, username: str, password: str) -> Any:
    return client.post(reverse("account_signup"),
                       {"username": username, "password1": password, "password2": password})


def test_clients_register_with_username_and_password_only(anon: Any) -> None:
    response = signup(anon, "sonne42", "mein langer satz ohne zahlen")
    assert response.status_code == 302
    user = User.objects.get(username="sonne42")
    assert user.kind == User.Kind.CLIENT
    assert user.email == "" and not EmailAddress.objects.filter(user=user).exists()
    assert AuditEntry.objects.filter(action="auth.login", object_id=str(user.public_id)).exists()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("kurzes-pw", "Dieses Passwort ist zu kurz"),
        ("polniypizdec0211", "Datenlecks"),
        ("x" * 257, "zu lang"),
    ],
)
def test_weak_passwords_are_refused_in_german(anon: Any, password: str, message: str) -> None:
    anon.cookies["wegweiser_language"] = "de"
    response = signup(anon, "sonne42", password)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(username="sonne42").exists()


def test_no_composition_rules(anon: Any) -> None:
    """NIST: a long lower-case phrase without digits or symbols is fine."""
    assert signup(anon, "mond", "der mond ist aufgegangen").status_code == 302


def test_weak_password_message_in_swedish(anon: Any) -> None:
    anon.cookies["wegweiser_language"] = "sv"
    body = signup(anon, "sol", "kort").content.decode()
    assert "För kort lösenord" in body or "för kort" in body.lower()


def test_username_lockout_after_five_failures(anon: Any, mia: User) -> None:
    url = reverse("account_login")
    for _ in range(5):
        response = anon.post(url, {"login": "mia", "password": "wrong password here"})
        assert response.status_code == 200
    locked = anon.post(url, {"login": "mia", "password": PASSWORD})
    assert locked.status_code in {200, 429}
    assert "_auth_user_id" not in anon.session
    assert AuditEntry.objects.filter(action="auth.login_failed").count() >= 5


def test_correct_password_logs_in(anon: Any, mia: User) -> None:
    response = anon.post(reverse("account_login"), {"login": "mia", "password": PASSWORD})
    assert response.status_code == 302
    assert anon.session["_auth_user_id"] == str(mia.pk)


def test_staff_with_totp_must_enter_a_code(anon: Any, jonas: User) -> None:
    response = anon.post(reverse("account_login"), {"login": "jonas", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in anon.session
    from tests.conftest import totp_code

    done = anon.post(reverse("mfa_authenticate"), {"code": totp_code(margin=3)})
    assert done.status_code == 302
    assert anon.session["_auth_user_id"] == str(jonas.pk)


def test_dashboard_for_staff_without_totp_asks_for_it(client_for: Any, tree: Any) -> None:
    from tests.conftest import make_staff
    from wegweiser.organizations.models import Role

    nina = make_staff("nina", [(tree.agency_a, Role.COUNSELOR)], mfa=False)
    body = client_for(nina).get(reverse("dashboard")).content.decode()
    assert reverse("mfa_activate_totp") in body
    assert "Beratungsstelle A" not in body


def test_dashboard_requires_login(anon: Any) -> None:
    assert anon.get(reverse("dashboard")).status_code == 302


def test_clients_may_add_an_email_later(anon: Any, mia: User) -> None:
    client = anon
    client.post(reverse("account_login"), {"login": "mia", "password": PASSWORD})
    assert client.get(reverse("account_email")).status_code == 200
    # Changing account data asks for the password again first.
    response = client.post(reverse("account_email"), {"action_add": "", "email": "mia@example.org"})
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not EmailAddress.objects.filter(user=mia).exists()
    # After the password, allauth carries out the pending change.
    client.post(response["Location"], {"password": PASSWORD})
    address = EmailAddress.objects.get(user=mia, email="mia@example.org")
    assert not address.verified
    assert [m.to for m in mail.outbox] == [["mia@example.org"]]


@override_settings(SESSION_MAX_HOURS=1)
def test_sessions_end_after_the_absolute_lifetime(client_for: Any, mia: User) -> None:
    client = client_for(mia)
    assert client.get(reverse("dashboard")).status_code == 200
    session = client.session
    session[LOGIN_AT] = int(time.time()) - 3601
    session.save()
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    assert client.get(reverse("dashboard")).status_code == 302


def test_log_out_everywhere(anon: Any, db: Any, mia: User) -> None:
    from tests.conftest import CsrfClient

    phone, laptop = CsrfClient(), CsrfClient()
    for device in (phone, laptop):
        device.post(reverse("account_login"), {"login": "mia", "password": PASSWORD})
        assert device.get(reverse("dashboard")).status_code == 200
    phone.post(reverse("usersessions_list"), {"action": "logout"})
    assert laptop.get(reverse("dashboard")).status_code == 302
    assert phone.get(reverse("dashboard")).status_code == 200


def test_language_choice_is_remembered(client_for: Any, mia: User) -> None:
    client = client_for(mia)
    response = client.post(reverse("set_language"), {"language": "sv", "next": "/dashboard/"})
    assert response.status_code == 302
    assert client.cookies["wegweiser_language"].value == "sv"
    mia.refresh_from_db()
    assert mia.language == "sv"
    assert "Översikt" in client.get(reverse("dashboard")).content.decode()


def test_language_switch_refuses_foreign_redirects(anon: Any) -> None:
    response = anon.post(reverse("set_language"),
                         {"language": "en", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_staff_set_up_totp_and_get_recovery_codes_then_see_their_agency(
    anon: Any, tree: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY

    from tests.conftest import make_staff, totp_code
    from wegweiser.organizations.models import Role

    nina = make_staff("nina", [(tree.agency_a, Role.COUNSELOR)], mfa=False)
    node_url = reverse("organizations:node", kwargs={"node_id": tree.agency_a.public_id})
    anon.post(reverse("account_login"), {"login": "nina", "password": PASSWORD})
    assert anon.get(node_url)["Location"] == reverse("mfa_activate_totp")
    # Setting up a factor asks for the password once more, then shows the QR code and secret.
    reauth = anon.get(reverse("mfa_activate_totp"))
    assert reauth["Location"].startswith(reverse("account_reauthenticate"))
    anon.post(reauth["Location"], {"password": PASSWORD})
    assert anon.get(reverse("mfa_activate_totp")).status_code == 200
    secret = anon.session[SECRET_SESSION_KEY]
    wrong_code = "123456" if totp_code(secret) != "123456" else "654321"
    wrong = anon.post(reverse("mfa_activate_totp"), {"code": wrong_code})
    assert wrong.status_code == 200
    assert not Authenticator.objects.filter(user=nina).exists()
    with django_capture_on_commit_callbacks(execute=True):
        anon.post(reverse("mfa_activate_totp"), {"code": totp_code(secret, margin=3)})
    types = set(Authenticator.objects.filter(user=nina).values_list("type", flat=True))
    assert types == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}
    assert anon.get(node_url).status_code == 200
    assert AuditEntry.objects.filter(action="auth.mfa_added", object_id=str(nina.public_id)).exists()
