"""An encrypted conversation over HTTP (docs/e2e-protocol.md §4–6): the page gives each reader
the key sealed for them, plain form posts are refused, files are stored as the browser encrypted
them, and the client's data export carries ciphertext and the key sealed to her, never text."""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests import e2e_protocol as p
from tests.conftest import PASSWORD
from tests.e2e_fixtures import identity_of
from tests.e2e_http import database_dump, json_script, post_json
from wegweiser.accounts.models import User
from wegweiser.core.models import AuditEntry
from wegweiser.counseling import actions, files
from wegweiser.counseling.models import Attachment, Conversation, ConversationState, Message, TeamKeyGrant
from wegweiser.counseling.retention import account_export

pytestmark = pytest.mark.django_db

FIRST_TEXT = "Geheimnis-Marker-4711"  # the text of keyed's first message
FILE_TEXT = b"%PDF-1.4 Kontoauszug Geheim-Datei-6620"
FILE_NAME = "Kontoauszug-Geheimname-3141.pdf"


@pytest.fixture
def store(settings: Any, tmp_path: Path) -> Path:
    settings.ATTACHMENT_ROOT = tmp_path
    settings.ATTACHMENT_KEY = base64.b64encode(b"K" * 32).decode()
    settings.ATTACHMENT_KEY_FALLBACKS = []
    return tmp_path


def conversation_url(conversation: Conversation, action: str = "") -> str:
    return f"/conversations/{conversation.public_id}/{action + '/' if action else ''}"


def snapshot(conversation: Conversation, root: Path) -> tuple[int, int, int, list[str]]:
    conversation = Conversation.objects.get(pk=conversation.pk)
    stored = sorted(f.name for f in root.iterdir()) if root.exists() else []
    return Attachment.objects.count(), Message.objects.filter(conversation=conversation).count(), \
        conversation.last_seq, stored


def encrypted_file(keyed: SimpleNamespace, data: bytes = FILE_TEXT, *, role: str = "client",
                   client_id: str | None = None) -> tuple[dict[str, Any], bytes, str]:
    """(the announcing message's envelope, the encrypted file, the message's client_id), as chat.js
    makes them."""
    client_id = client_id or str(uuid.uuid4())
    payload = {"text": "", "file": {"name": FILE_NAME, "type": "application/pdf", "size": len(data)}}
    envelope = p.encrypt_message(keyed.key, keyed.kid, client_id, role, payload)
    return envelope, p.encrypt_file(keyed.key, keyed.kid, client_id, data), client_id


def upload(client: Any, conversation: Conversation, blob: bytes, envelope: Any, client_id: Any) -> Any:
    fields: dict[str, Any] = {"file": io.BytesIO(blob)}
    fields["file"].name = "encrypted.bin"
    if envelope is not None:
        fields["encrypted"] = envelope if isinstance(envelope, str) else json.dumps(envelope)
    if client_id is not None:
        fields["client_id"] = client_id
    return client.post(conversation_url(conversation, "files"), fields, HTTP_ACCEPT_LANGUAGE="en")


# --- 10. the conversation page ---------------------------------------------------------------------

def test_page_gives_each_reader_the_key_sealed_for_them(keyed: SimpleNamespace, mia: User, jonas: User,
                                                        lars: User, client_for: Any) -> None:
    conv = keyed.conversation
    label = p.conversation_key_label(keyed.kid)
    mia_page = client_for(mia).get(conversation_url(conv))
    assert mia_page.status_code == 200
    html = mia_page.content.decode()
    assert FIRST_TEXT not in html
    assert f'data-encrypted="1" data-kid="{keyed.kid}"' in html
    first = conv.messages.get(seq=1)
    assert f'data-iv="{first.nonce}" data-ct="{first.body}"' in html
    mine = json_script(html, "e2e-conversation")
    assert mine["kid"] == keyed.kid and mine["team_sealed"] is None
    assert mine["client_public"] == identity_of("mia")["bundle"]["public"]
    assert mine["team_public"] == keyed.team_key.public and mine["team_kid"] == keyed.team_key.key_id
    mia_private = p.load_private(identity_of("mia")["private_pkcs8"])
    assert p.open_sealed(mia_private, mine["sealed"], label) == keyed.key
    assert json_script(html, "e2e-me")["bundle"] == identity_of("mia")["bundle"]

    jonas_html = client_for(jonas).get(conversation_url(conv)).content.decode()
    assert FIRST_TEXT not in jonas_html
    theirs = json_script(jonas_html, "e2e-conversation")
    assert theirs["team_sealed"] == TeamKeyGrant.objects.get(user=jonas, team_key=keyed.team_key).sealed
    # jonas opens the team key with his identity key, and the conversation key with the team key.
    jonas_private = p.load_private(identity_of("jonas")["private_pkcs8"])
    team_pkcs8 = p.open_sealed(jonas_private, theirs["team_sealed"], p.team_key_label(theirs["team_kid"]))
    assert p.open_sealed(p.load_private(team_pkcs8), theirs["sealed"], label) == keyed.key
    assert theirs["sealed"] != mine["sealed"]  # the team grant, not mia's
    # The safety codes both compute agree.
    assert p.safety_code(p.b64u_decode(mine["client_public"]), p.b64u_decode(mine["team_public"])) == \
        p.safety_code(p.b64u_decode(theirs["client_public"]), p.b64u_decode(theirs["team_public"]))

    assert client_for(lars).get(conversation_url(conv)).status_code == 404


def test_a_plain_conversation_page_has_no_key_data(keyed: SimpleNamespace, counseling: SimpleNamespace,
                                                   mia: User, client_for: Any) -> None:
    html = client_for(mia).get(conversation_url(counseling.conversation)).content.decode()
    assert 'id="e2e-conversation"' not in html and "Ich habe Schulden." in html


# --- 6. form posts without JavaScript --------------------------------------------------------------

def test_form_posts_to_an_encrypted_conversation_are_refused(keyed: SimpleNamespace, mia: User, jonas: User,
                                                             client_for: Any, store: Path) -> None:
    before = snapshot(keyed.conversation, store)
    for user in (mia, jonas):
        response = client_for(user).post(conversation_url(keyed.conversation, "send"),
                                          {"body": "Klartext-ohne-JS 7781", "client_id": str(uuid.uuid4())},
                                          HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400
        assert "Please allow JavaScript and send again." in response.content.decode()
    assert snapshot(keyed.conversation, store) == before
    assert "Klartext-ohne-JS 7781" not in database_dump()


def test_form_posts_to_a_plain_conversation_still_work(keyed: SimpleNamespace, counseling: SimpleNamespace,
                                                       mia: User, client_for: Any) -> None:
    response = client_for(mia).post(conversation_url(counseling.conversation, "send"),
                                    {"body": "weiter im Klartext", "client_id": str(uuid.uuid4())})
    assert response.status_code == 302
    last = counseling.conversation.messages.order_by("-seq").first()
    assert last is not None and last.body == "weiter im Klartext" and last.nonce is None


# --- 7. encrypted files ---------------------------------------------------------------------------

def test_encrypted_file_is_stored_as_the_browser_encrypted_it(keyed: SimpleNamespace, mia: User,
                                                              jonas: User, lars: User, client_for: Any,
                                                              store: Path) -> None:
    envelope, blob, client_id = encrypted_file(keyed)
    response = upload(client_for(mia), keyed.conversation, blob, envelope, client_id)
    assert response.status_code == 200, response.content
    answer = response.json()["message"]
    assert answer["encrypted"] == envelope and "body" not in answer
    assert answer["client_id"] == client_id and answer["sender_role"] == "client"
    attachment = Attachment.objects.get(public_id=answer["attachment"]["id"])
    assert answer["attachment"] == {"id": str(attachment.public_id), "name": "", "size": len(blob),
                                    "content_type": "application/octet-stream"}
    assert attachment.uploaded_by == mia and attachment.filename == ""
    message = attachment.message
    assert (message.body, message.nonce) == (envelope["ct"], envelope["iv"])
    assert str(message.client_id) == client_id

    # At rest: the server's encryption around exactly the browser's ciphertext.
    assert files.decrypt_from_storage(attachment.storage_name) == blob
    assert p.decrypt_file(keyed.key, keyed.kid, client_id, blob) == FILE_TEXT
    assert p.decrypt_message(keyed.key, envelope, client_id, "client")["file"]["name"] == FILE_NAME
    raw = b"".join(f.read_bytes() for f in store.rglob("*") if f.is_file())
    assert b"Geheim-Datei-6620" not in raw and b"Geheim-Datei-6620" not in blob
    dump = database_dump()
    assert "Geheimname-3141" not in dump and "Geheim-Datei-6620" not in dump
    uploaded = AuditEntry.objects.get(action="attachment.uploaded")
    assert uploaded.data == {"size": len(blob), "type": "application/octet-stream"}

    # The counselor downloads the ciphertext; chat.js decrypts and names it.
    download = client_for(jonas).get(f"/files/{attachment.public_id}/")
    assert download.status_code == 200 and download.content == blob
    assert 'filename="encrypted.bin"' in download["Content-Disposition"]
    assert client_for(lars).get(f"/files/{attachment.public_id}/").status_code == 404


def test_the_counselor_sends_an_encrypted_file(keyed: SimpleNamespace, jonas: User, client_for: Any,
                                               store: Path) -> None:
    envelope, blob, client_id = encrypted_file(keyed, role="counselor")
    response = upload(client_for(jonas), keyed.conversation, blob, envelope, client_id)
    assert response.status_code == 200
    assert response.json()["message"]["sender_role"] == "counselor"


def test_size_limit_counts_the_encryption_overhead(keyed: SimpleNamespace, mia: User, client_for: Any,
                                                   store: Path, settings: Any) -> None:
    settings.ATTACHMENT_MAX_BYTES = 100
    client = client_for(mia)
    envelope, blob, client_id = encrypted_file(keyed, b"x" * 101)  # 101 + 28 bytes
    before = snapshot(keyed.conversation, store)
    too_large = upload(client, keyed.conversation, blob, envelope, client_id)
    assert too_large.status_code == 400 and too_large.json()["code"] == "too_large"
    assert "larger than" in too_large.json()["error"]
    assert snapshot(keyed.conversation, store) == before
    envelope, blob, client_id = encrypted_file(keyed, b"x" * 100)  # exactly the limit
    assert upload(client, keyed.conversation, blob, envelope, client_id).status_code == 200


BAD_UPLOADS = ["an empty file", "an encrypted empty file", "another conversation's key",
               "an envelope that is not JSON", "an envelope with an extra key", "an iv of 8 bytes",
               "version 2", "no client_id", "a client_id that is no UUID"]


def _bad_uploads(keyed: SimpleNamespace) -> list[tuple[str, tuple[bytes, Any, Any], str]]:
    envelope, blob, client_id = encrypted_file(keyed)
    other_kid, other_key = p.new_conversation_key()
    foreign = p.encrypt_message(other_key, other_kid, client_id, "client", {"text": ""})
    empty_envelope, empty_blob, empty_id = encrypted_file(keyed, b"")
    return [
        ("an empty file", (b"", envelope, client_id), "empty"),
        ("an encrypted empty file", (empty_blob, empty_envelope, empty_id), "empty"),
        ("another conversation's key", (blob, foreign, client_id), "invalid"),
        ("an envelope that is not JSON", (blob, "{kein json", client_id), "invalid"),
        ("an envelope with an extra key", (blob, {**envelope, "name": FILE_NAME}, client_id), "invalid"),
        ("an iv of 8 bytes", (blob, {**envelope, "iv": p.b64u_encode(b"12345678")}, client_id), "invalid"),
        ("version 2", (blob, {**envelope, "v": 2}, client_id), "invalid"),
        ("no client_id", (blob, envelope, None), "invalid"),
        ("a client_id that is no UUID", (blob, envelope, "nope"), "invalid"),
    ]


@pytest.mark.parametrize("what", BAD_UPLOADS)
def test_bad_encrypted_uploads_store_nothing(keyed: SimpleNamespace, mia: User, client_for: Any, store: Path,
                                             what: str) -> None:
    cases = {name: (args, code) for name, args, code in _bad_uploads(keyed)}
    assert set(cases) == set(BAD_UPLOADS)
    (blob, envelope, client_id), code = cases[what]
    before = snapshot(keyed.conversation, store)
    response = upload(client_for(mia), keyed.conversation, blob, envelope, client_id)
    assert response.status_code == 400, what
    assert response.json()["code"] == code, (what, response.json())
    assert snapshot(keyed.conversation, store) == before, what
    assert not AuditEntry.objects.filter(action="attachment.uploaded").exists()


def test_a_deeply_nested_envelope_is_a_400(keyed: SimpleNamespace, mia: User, client_for: Any,
                                           store: Path) -> None:
    _, blob, client_id = encrypted_file(keyed)
    response = upload(client_for(mia), keyed.conversation, blob, "[" * 5000 + "]" * 5000, client_id)
    assert response.status_code == 400


def test_a_missing_file_is_refused(keyed: SimpleNamespace, mia: User, client_for: Any, store: Path) -> None:
    envelope, _, client_id = encrypted_file(keyed)
    before = snapshot(keyed.conversation, store)
    response = client_for(mia).post(conversation_url(keyed.conversation, "files"),
                                    {"encrypted": json.dumps(envelope), "client_id": client_id})
    assert response.status_code == 400 and response.json()["code"] == "required"
    assert snapshot(keyed.conversation, store) == before


def test_a_replayed_file_message_is_refused(keyed: SimpleNamespace, mia: User, jonas: User, client_for: Any,
                                            store: Path) -> None:
    envelope, blob, client_id = encrypted_file(keyed)
    assert upload(client_for(mia), keyed.conversation, blob, envelope, client_id).status_code == 200
    before = snapshot(keyed.conversation, store)
    # The same IV again (a replay, here by the counselor) and the same client_id again.
    replay = upload(client_for(jonas), keyed.conversation, blob, envelope, str(uuid.uuid4()))
    assert replay.status_code == 400 and replay.json()["error"] == "This file was sent already."
    again, blob2, _ = encrypted_file(keyed, client_id=client_id)
    duplicate = upload(client_for(mia), keyed.conversation, blob2, again, client_id)
    assert duplicate.status_code == 400
    assert snapshot(keyed.conversation, store) == before  # no orphaned file either


def test_daily_file_limit(keyed: SimpleNamespace, mia: User, client_for: Any, store: Path,
                          settings: Any) -> None:
    settings.ATTACHMENTS_PER_DAY = 1
    client = client_for(mia)
    assert upload(client, keyed.conversation, *_args(encrypted_file(keyed))).status_code == 200
    before = snapshot(keyed.conversation, store)
    refused = upload(client, keyed.conversation, *_args(encrypted_file(keyed)))
    assert refused.status_code == 400 and refused.json()["code"] == "rate_limited"
    assert snapshot(keyed.conversation, store) == before


def _args(made: tuple[dict[str, Any], bytes, str]) -> tuple[bytes, dict[str, Any], str]:
    envelope, blob, client_id = made
    return blob, envelope, client_id


def test_plain_uploads_to_an_encrypted_conversation_are_refused(keyed: SimpleNamespace, mia: User,
                                                                client_for: Any, store: Path) -> None:
    before = snapshot(keyed.conversation, store)
    response = client_for(mia).post(conversation_url(keyed.conversation, "files"),
                                    {"file": _named(FILE_TEXT, FILE_NAME)}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "files are encrypted in your browser" in response.content.decode()
    assert snapshot(keyed.conversation, store) == before
    assert "Geheimname-3141" not in database_dump()


def test_encrypted_uploads_to_a_plain_conversation_are_refused(keyed: SimpleNamespace,
                                                               counseling: SimpleNamespace, mia: User,
                                                               client_for: Any, store: Path) -> None:
    envelope, blob, client_id = encrypted_file(keyed)
    before = snapshot(counseling.conversation, store)
    response = upload(client_for(mia), counseling.conversation, blob, envelope, client_id)
    assert response.status_code == 400  # not a PDF, JPEG, PNG or DOCX
    assert snapshot(counseling.conversation, store) == before


def test_no_files_to_a_closed_conversation(keyed: SimpleNamespace, mia: User, jonas: User, client_for: Any,
                                           store: Path) -> None:
    actions.conversation_close(actor=jonas, conversation=keyed.conversation)
    before = snapshot(keyed.conversation, store)
    response = upload(client_for(mia), keyed.conversation, *_args(encrypted_file(keyed)))
    assert response.status_code == 400 and response.json()["code"] == "closed"
    assert snapshot(keyed.conversation, store) == before


def test_outsiders_cannot_upload(keyed: SimpleNamespace, lars: User, client_for: Any, store: Path) -> None:
    before = snapshot(keyed.conversation, store)
    response = upload(client_for(lars), keyed.conversation, *_args(encrypted_file(keyed)))
    assert response.status_code == 404
    assert snapshot(keyed.conversation, store) == before


def _named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


# --- 8. the data export ----------------------------------------------------------------------------

def test_export_has_ciphertext_and_the_key_sealed_to_the_client(keyed: SimpleNamespace,
                                                                counseling: SimpleNamespace, mia: User,
                                                                client_for: Any, store: Path) -> None:
    envelope, blob, client_id = encrypted_file(keyed)
    assert upload(client_for(mia), keyed.conversation, blob, envelope, client_id).status_code == 200

    archive = zipfile.ZipFile(io.BytesIO(account_export(mia)))
    everything = b"".join(archive.read(name) for name in archive.namelist())
    for secret in (FIRST_TEXT.encode(), b"Geheim-Datei-6620", b"Geheimname-3141"):
        assert secret not in everything
    data = json.loads(archive.read("data.json"))
    assert data["identity_key"] == identity_of("mia")["bundle"]
    exported = {c["id"]: c for c in data["conversations"]}
    plain = exported[str(counseling.conversation.public_id)]
    encrypted = exported[str(keyed.conversation.public_id)]
    assert "key" not in plain and plain["messages"][0]["body"] == "Ich habe Schulden."

    client_grant = keyed.conversation.key_grants.get(user=mia)
    team_grant = keyed.conversation.key_grants.get(team_key__isnull=False)
    assert encrypted["key"] == {"id": keyed.kid, "sealed_to_you": client_grant.sealed}
    assert team_grant.sealed["ct"].encode() not in everything  # the team's copy is not hers
    # With her identity key (opened by password) she reads everything outside Wegweiser.
    private = p.unlock_password(data["identity_key"], "mia", PASSWORD)
    key = p.open_sealed(private, encrypted["key"]["sealed_to_you"], p.conversation_key_label(keyed.kid))
    assert key == keyed.key
    messages = [m for m in encrypted["messages"] if "encrypted" in m]
    assert all("body" not in m for m in messages)
    first = messages[0]
    sealed = {k: first["encrypted"][k] for k in ("v", "key", "iv", "ct")}
    assert p.decrypt_message(key, sealed, first["encrypted"]["client_id"], first["sender_role"]) == {
        "text": FIRST_TEXT}
    file_entry = next(m for m in messages if m["attachment"])
    assert file_entry["encrypted"]["client_id"] == client_id
    stored = archive.read(file_entry["attachment"]["file"])
    assert stored == blob
    assert p.decrypt_file(key, keyed.kid, client_id, stored) == FILE_TEXT


# --- the safety code, marked as compared ------------------------------------------------------

def _post_code(client: Any, conversation: Any, body: str) -> Any:
    return post_json(client, f"/conversations/{conversation.public_id}/safety-code/", body, language="en")


def test_a_compared_safety_code_is_kept_per_person(keyed: Any, mia: Any, jonas: Any, client_for: Any) -> None:
    code = p.safety_code(p.b64u_decode(keyed.conversation.key_grants.get(user=mia).recipient),
                         p.b64u_decode(keyed.team_key.public))
    response = _post_code(client_for(mia), keyed.conversation, json.dumps({"code": code}))
    assert response.status_code == 200
    assert ConversationState.objects.get(conversation=keyed.conversation, user=mia).safety_code == code
    assert ConversationState.objects.get(conversation=keyed.conversation, user=jonas).safety_code == ""
    page = client_for(mia).get(f"/conversations/{keyed.conversation.public_id}/")
    assert f'data-compared="{code}"' in page.content.decode()


def test_a_malformed_safety_code_changes_nothing(keyed: Any, counseling: Any, mia: Any,
                                                 client_for: Any) -> None:
    client = client_for(mia)
    bad = ('{"code": "1234 5678"}', '{"code": 12345}', "[]", "{", '{"code": "12345 67890 12345 6789x"}')
    for body in bad:
        response = _post_code(client, keyed.conversation, body)
        assert response.status_code == 400, body
        assert response.json()["error"] == "A safety code has four groups of five digits."
    plain = _post_code(client, counseling.conversation, json.dumps({"code": "12345 67890 12345 67890"}))
    assert plain.status_code == 400
    assert plain.json()["error"] == "This conversation is not end-to-end encrypted."
    assert set(ConversationState.objects.values_list("safety_code", flat=True)) == {""}


def test_outsiders_cannot_mark_a_safety_code(keyed: Any, lars: Any, otto: Any, client_for: Any,
                                              anon: Any) -> None:
    body = json.dumps({"code": "12345 67890 12345 67890"})
    for user in (lars, otto):
        assert _post_code(client_for(user), keyed.conversation, body).status_code == 404
    response = _post_code(anon, keyed.conversation, body)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert set(ConversationState.objects.values_list("safety_code", flat=True)) == {""}
