"""Set-up for end-to-end encryption tests: identity keys made with the reference implementation
(tests/e2e_protocol.py), a team key of agency A shared with jonas, and mia's encrypted
conversation with agency A, accepted by jonas."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from tests import e2e_protocol as p
from tests.conftest import PASSWORD
from wegweiser.counseling import actions, e2e
from wegweiser.counseling.actions import keys as key_actions
from wegweiser.counseling.models import Conversation, IdentityKey

# PBKDF2 with 600,000 iterations takes a quarter of a second: one identity per username and run.
_identities: dict[str, p.Identity] = {}


def identity_of(username: str) -> p.Identity:
    if username not in _identities:
        _identities[username] = p.create_identity(username, PASSWORD)
    return _identities[username]


def give_identity(user: Any) -> p.Identity:
    made = identity_of(user.username)
    IdentityKey.objects.filter(user=user).delete()
    key_actions.identity_set(user=user, password=PASSWORD, bundle=made["bundle"],
                             recovery_proof=made["recovery_auth"])
    return made


def private_of(user: Any) -> Any:
    return p.load_private(identity_of(user.username)["private_pkcs8"])


def enquiry_keys(client: Any, team_kid: str, team_public: str, text: str,
                 *, identity: Any = None, recovery: Any = None) -> tuple[e2e.EnquiryKeys, bytes, str]:
    """What enquiry.js sends: (the parsed EnquiryKeys, the conversation key, the JSON text)."""
    kid, key = p.new_conversation_key()
    client_id = str(uuid.uuid4())
    label = p.conversation_key_label(kid)
    client_public = identity_of(client.username)["public_raw"]
    data = {
        "key": kid, "team_key": team_kid,
        "client_grant": p.seal(client_public, key, label),
        "team_grant": p.seal(p.b64u_decode(team_public), key, label),
        "message": p.encrypt_message(key, kid, client_id, "client", {"text": text}),
        "client_id": client_id, "identity": identity, "recovery": recovery,
    }
    raw = json.dumps(data)
    return e2e.enquiry(raw), key, raw


@pytest.fixture
def keyed(counseling: SimpleNamespace, mia: Any, jonas: Any) -> SimpleNamespace:
    """mia and jonas with identity keys, agency A's team key (shared with jonas) and an
    encrypted conversation of mia with agency A that jonas accepted."""
    give_identity(mia)
    give_identity(jonas)
    team_kid, team_public, team_pkcs8 = p.new_team_key()
    sealed = p.seal(identity_of("jonas")["public_raw"], team_pkcs8, p.team_key_label(team_kid))
    team_key = key_actions.team_key_create(
        actor=jonas, agency=counseling.agency_a, key_id=team_kid, public=p.b64u_encode(team_public),
        grants=[{"user": str(jonas.public_id), "sealed": sealed}], expected_current=None)
    keys, conversation_key, _ = enquiry_keys(mia, team_kid, team_key.public, "Geheimnis-Marker-4711")
    conversation = actions.enquiry_create(client=mia, agency=counseling.agency_a, topic=counseling.topic,
                                          body="", keys=keys)
    actions.enquiry_accept(actor=jonas, conversation=conversation)
    conversation = Conversation.objects.get(pk=conversation.pk)
    return SimpleNamespace(team_key=team_key, team_pkcs8=team_pkcs8, conversation=conversation,
                           key=conversation_key, kid=keys.key, first_client_id=str(keys.client_id))
