"""Encrypted enquiries through the public form (docs/e2e-protocol.md §1, §4, §5): a visitor
registers, stores an identity key and sends the first message encrypted in one request; the
server keeps ciphertext and sealed keys only, and bad encrypted data leaves no account and no
conversation behind."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password

from tests import e2e_protocol as p
from tests.conftest import PASSWORD
from tests.e2e_fixtures import enquiry_keys, identity_of
from tests.e2e_http import database_dump, json_script, off_curve_point
from wegweiser.accounts.models import User
from wegweiser.core.models import AuditEntry
from wegweiser.counseling.models import Conversation, ConversationKeyGrant, IdentityKey, Message

pytestmark = pytest.mark.django_db

NEWCOMER = "sonnenblume24"
SECRET = "Klartext-Geheimnis-8152 über meine Schulden"


def enquiry_url(agency: Any, topic: Any) -> str:
    return f"/counseling/enquiry/{agency.node.public_id}/{topic.public_id}/"


def newcomer_keys(keyed: SimpleNamespace, text: str = SECRET, **change: Any) -> tuple[dict[str, Any], bytes]:
    """What enquiry.js sends for a visitor who registers: (the e2e object, the conversation key)."""
    made = identity_of(NEWCOMER)  # made with PASSWORD, the password the visitor registers with
    team = keyed.team_key
    _, key, raw = enquiry_keys(SimpleNamespace(username=NEWCOMER), team.key_id, team.public, text,
                               identity=made["bundle"], recovery=made["recovery_auth"])
    return {**json.loads(raw), **change}, key


def register_post(e2e: Any, **change: Any) -> dict[str, Any]:
    return {"username": NEWCOMER, "password": PASSWORD, "body": "", "postcode": "24103", "privacy": "on",
            "e2e": e2e if isinstance(e2e, str) else json.dumps(e2e), **change}


def form_errors(response: Any) -> list[str]:
    return [message for messages in response.context["form"].errors.values() for message in messages]


def counts() -> tuple[int, int, int, int, int]:
    return (User.objects.count(), IdentityKey.objects.count(), Conversation.objects.count(),
            Message.objects.count(), ConversationKeyGrant.objects.count())


# --- the page ------------------------------------------------------------------------------------

def test_enquiry_page_gives_the_agency_team_key(keyed: SimpleNamespace, counseling: SimpleNamespace,
                                                anon: Any) -> None:
    page = anon.get(enquiry_url(counseling.agency_a, counseling.topic))
    data = json_script(page.content.decode(), "e2e-enquiry")
    assert data["team_key"] == {"kid": keyed.team_key.key_id, "public": keyed.team_key.public}
    assert data["required"] is False and data["register"] is True and data["me"] is None
    assert 'name="e2e"' in page.content.decode()
    # Agency B has no team key yet.
    other = anon.get(enquiry_url(counseling.agency_b, counseling.topic))
    assert json_script(other.content.decode(), "e2e-enquiry")["team_key"] is None


# --- 5. a visitor registers and sends an encrypted enquiry ---------------------------------------

def test_encrypted_enquiry_stores_ciphertext_and_sealed_keys_only(keyed: SimpleNamespace,
                                                                  counseling: SimpleNamespace,
                                                                  anon: Any) -> None:
    e2e, key = newcomer_keys(keyed)
    made = identity_of(NEWCOMER)
    response = anon.post(enquiry_url(counseling.agency_a, counseling.topic), register_post(e2e))
    assert response.status_code == 302, response.content.decode()[-2000:]

    client = User.objects.get(username=NEWCOMER)
    assert client.kind == "client" and client.check_password(PASSWORD)
    identity = IdentityKey.objects.get(user=client)
    assert identity.bundle == made["bundle"] and identity.public == made["bundle"]["public"]
    assert check_password(made["recovery_auth"], identity.recovery_verifier)

    conversation = Conversation.objects.get(client=client)
    assert response.url == f"/conversations/{conversation.public_id}/"
    assert conversation.key_id == e2e["key"] and conversation.agency == counseling.agency_a
    [first] = conversation.messages.all()
    assert (first.seq, first.sender_role, first.sender) == (1, "client", client)
    assert first.body == e2e["message"]["ct"] and first.nonce == e2e["message"]["iv"]
    assert str(first.client_id) == e2e["client_id"]

    grants = {("client" if g.user_id else "team"): g for g in ConversationKeyGrant.objects.filter(
        conversation=conversation)}
    assert set(grants) == {"client", "team"} and ConversationKeyGrant.objects.count() == 4  # + keyed's two
    assert grants["client"].user == client and grants["client"].recipient == made["bundle"]["public"]
    assert grants["client"].sealed == e2e["client_grant"]
    assert grants["team"].team_key == keyed.team_key and grants["team"].recipient == keyed.team_key.public
    assert grants["team"].sealed == e2e["team_grant"]

    # Client and team open the same conversation key, and with it the message.
    label = p.conversation_key_label(e2e["key"])
    assert p.open_sealed(p.load_private(made["private_pkcs8"]), grants["client"].sealed, label) == key
    assert p.open_sealed(p.load_private(keyed.team_pkcs8), grants["team"].sealed, label) == key
    envelope = {"v": 1, "key": conversation.key_id, "iv": first.nonce, "ct": first.body}
    assert p.decrypt_message(key, envelope, str(first.client_id), "client") == {"text": SECRET}

    # The text is nowhere in the database, not even in parts.
    dump = database_dump()
    assert SECRET not in dump and "Klartext-Geheimnis" not in dump and "Schulden\\x" not in dump
    audit = AuditEntry.objects.get(action="enquiry.created", actor=client.public_id)
    assert audit.data["encrypted"] is True

    # The conversation page gives the client the key sealed to her, never the text.
    page = anon.get(response.url)
    assert page.status_code == 200
    html = page.content.decode()
    assert SECRET not in html
    assert json_script(html, "e2e-conversation")["sealed"] == e2e["client_grant"]


def test_a_plaintext_copy_of_the_body_is_dropped(keyed: SimpleNamespace, counseling: SimpleNamespace,
                                                 anon: Any) -> None:
    e2e, _ = newcomer_keys(keyed)
    response = anon.post(enquiry_url(counseling.agency_a, counseling.topic),
                         register_post(e2e, body="Kopie im Klartext 5521"))
    assert response.status_code == 302
    conversation = Conversation.objects.get(client__username=NEWCOMER)
    assert conversation.messages.get().body == e2e["message"]["ct"]
    assert "Kopie im Klartext 5521" not in database_dump()


def test_a_logged_in_client_sends_an_encrypted_enquiry(keyed: SimpleNamespace, counseling: SimpleNamespace,
                                                       mia: User, client_for: Any) -> None:
    keys, key, raw = enquiry_keys(mia, keyed.team_key.key_id, keyed.team_key.public, SECRET)
    client = client_for(mia)
    page = client.get(enquiry_url(counseling.agency_b, counseling.topic))
    assert json_script(page.content.decode(), "e2e-enquiry")["me"]["username"] == "mia"
    # Sealed to agency A's team key, so sent to agency A (mia's other conversations there are active).
    response = client.post(enquiry_url(counseling.agency_a, counseling.topic),
                           {"body": "", "privacy": "on", "e2e": raw})
    assert response.status_code == 302
    conversation = Conversation.objects.get(key_id=keys.key)
    assert conversation.client == mia
    first = conversation.messages.get()
    assert first.nonce == keys.message.iv and first.body == keys.message.ct
    envelope = {"v": 1, "key": keys.key, "iv": first.nonce, "ct": first.body}
    assert p.decrypt_message(key, envelope, str(first.client_id), "client") == {"text": SECRET}
    assert SECRET not in database_dump()
    # An identity in the request of somebody who has one already is refused.
    made = identity_of("mia")
    _, _, with_identity = enquiry_keys(mia, keyed.team_key.key_id, keyed.team_key.public, SECRET,
                                       identity=made["bundle"], recovery=made["recovery_auth"])
    conversation.status = Conversation.Status.CLOSED
    conversation.save()
    before = counts()
    refused = client.post(enquiry_url(counseling.agency_a, counseling.topic),
                          {"body": "", "privacy": "on", "e2e": with_identity}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200
    assert "Your encryption key is set up already." in refused.content.decode()
    assert counts() == before


# --- 5. bad input leaves nothing behind ----------------------------------------------------------

def _bad_enquiries() -> list[tuple[str, Any, str]]:
    """(what, change to the e2e object or a raw string, the expected error in English)."""
    return [
        ("not JSON", "{kein json", "Malformed encrypted data (e2e)."),
        ("a JSON list", "[]", "Malformed encrypted data (e2e)."),
        ("a missing key", lambda e: {k: v for k, v in e.items() if k != "team_grant"},
         "Malformed encrypted data (e2e)."),
        ("an extra key", lambda e: {**e, "body": "x"}, "Malformed encrypted data (e2e)."),
        ("message under another key", lambda e: {**e, "message": {**e["message"], "key": p.new_kid()}},
         "Malformed encrypted data (e2e.message.key)."),
        ("client_id not a UUID", lambda e: {**e, "client_id": "nope"},
         "Malformed encrypted data (e2e.client_id)."),
        ("a sealed key off the curve", lambda e: {**e, "client_grant": {**e["client_grant"],
                                                                        "epk": off_curve_point()}},
         "Malformed encrypted data (sealed key)."),
        ("a team key that is not the agency's current one", lambda e: {**e, "team_key": p.new_kid()},
         "The agency's key changed meanwhile. Please send your enquiry again."),
        ("no identity for the new account", lambda e: {**e, "identity": None, "recovery": None},
         "Set up your encryption key first."),
        ("an identity salted for another username",
         lambda e: {**e, "identity": identity_of("mia")["bundle"]},
         "Malformed encrypted data (bundle.password.salt)."),
        ("an identity with too few iterations",
         lambda e: {**e, "identity": {**e["identity"],
                                      "password": {**e["identity"]["password"], "iter": 1000}}},
         "The key must be protected with at least 600,000 iterations."),
        ("a malformed recovery proof", lambda e: {**e, "recovery": "kurz"},
         "Malformed encrypted data (recovery)."),
    ]


@pytest.mark.parametrize(("what", "change", "error"), _bad_enquiries(), ids=[b[0] for b in _bad_enquiries()])
def test_bad_encrypted_enquiries_leave_nothing_behind(keyed: SimpleNamespace, counseling: SimpleNamespace,
                                                      anon: Any, what: str, change: Any, error: str) -> None:
    e2e, _ = newcomer_keys(keyed)
    sent = change if isinstance(change, str) else change(e2e)
    before = counts()
    response = anon.post(enquiry_url(counseling.agency_a, counseling.topic), register_post(sent),
                         HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, what
    assert error in form_errors(response), what
    assert counts() == before
    assert not User.objects.filter(username=NEWCOMER).exists()
    assert "_auth_user_id" not in anon.session  # not logged in either


def test_an_agency_without_a_team_key_refuses_encrypted_enquiries(keyed: SimpleNamespace,
                                                                  counseling: SimpleNamespace,
                                                                  anon: Any) -> None:
    e2e, _ = newcomer_keys(keyed)  # sealed to agency A's team key
    before = counts()
    response = anon.post(enquiry_url(counseling.agency_b, counseling.topic),
                         register_post(e2e, postcode="25100"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "This agency cannot receive encrypted enquiries yet." in response.content.decode()
    assert counts() == before


def test_an_error_of_the_hidden_e2e_field_is_shown(keyed: SimpleNamespace, counseling: SimpleNamespace,
                                                   anon: Any) -> None:
    response = anon.post(enquiry_url(counseling.agency_a, counseling.topic), register_post("{kein json"),
                         HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Malformed encrypted data (e2e)." in form_errors(response)
    assert "Malformed encrypted data (e2e)." in response.content.decode()


def test_deeply_nested_e2e_json_is_a_form_error(counseling: SimpleNamespace, anon: Any) -> None:
    response = anon.post(enquiry_url(counseling.agency_a, counseling.topic),
                         register_post("[" * 5000 + "]" * 5000))
    assert response.status_code == 200


# --- topics that require encryption --------------------------------------------------------------

def test_a_topic_requiring_encryption_refuses_plain_enquiries(keyed: SimpleNamespace,
                                                              counseling: SimpleNamespace, anon: Any) -> None:
    counseling.topic.encryption_required = True
    counseling.topic.save()
    url = enquiry_url(counseling.agency_a, counseling.topic)
    assert json_script(anon.get(url).content.decode(), "e2e-enquiry")["required"] is True
    before = counts()
    plain = {"username": NEWCOMER, "password": PASSWORD, "body": "Klartext-Anfrage 3390", "privacy": "on"}
    english = anon.post(url, plain, HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 200
    message = "Enquiries on this topic are accepted end-to-end encrypted only."
    assert message in english.content.decode()
    german = anon.post(url, plain, HTTP_ACCEPT_LANGUAGE="de")
    assert german.status_code == 200
    assert "Klartext-Anfrage 3390" in german.content.decode()  # what was typed is kept in the form
    assert message not in german.content.decode()  # translated
    assert german.context["form"].non_field_errors()
    assert counts() == before and "Klartext-Anfrage 3390" not in database_dump()
    # Encrypted, the same topic is fine.
    e2e, _ = newcomer_keys(keyed)
    assert anon.post(url, register_post(e2e)).status_code == 302
    assert Conversation.objects.get(client__username=NEWCOMER).key_id == e2e["key"]



def test_a_reused_client_id_is_a_form_error(keyed: SimpleNamespace, counseling: SimpleNamespace, mia: User,
                                            client_for: Any) -> None:
    _, _, raw = enquiry_keys(mia, keyed.team_key.key_id, keyed.team_key.public, SECRET)
    data = {**json.loads(raw), "client_id": keyed.first_client_id}  # the id of mia's first message
    before = counts()
    response = client_for(mia).post(enquiry_url(counseling.agency_a, counseling.topic),
                                    {"body": "", "privacy": "on", "e2e": json.dumps(data)})
    assert response.status_code == 200
    assert counts() == before
