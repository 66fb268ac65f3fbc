"""Encrypted messages on the conversation socket (docs/e2e-protocol.md §5): ciphertext in and
out, nothing readable stored, and every malformed, foreign-key or replayed frame refused with an
``error`` frame and stored nowhere."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async

from tests import e2e_protocol as p
from tests.test_chat_socket import frames_until, open_socket, send
from wegweiser.accounts.models import User
from wegweiser.counseling.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def _count(conversation: Any) -> int:
    return Message.objects.filter(conversation=conversation).count()


async def send_encrypted(socket: Any, keyed: Any, role: str,
                         text: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Encrypt ``text`` as ``role`` and send it: (client_id, the encrypted object, the ack)."""
    client_id = str(uuid.uuid4())
    envelope = p.encrypt_message(keyed.key, keyed.kid, client_id, role, {"text": text})
    await send(socket, type="send", conversation=str(keyed.conversation.public_id), client_id=client_id,
               encrypted=envelope)
    return client_id, envelope, await frames_until(socket, "ack")


async def test_encrypted_message_is_relayed_and_stored_as_ciphertext(keyed: Any, mia: User,
                                                                     jonas: User) -> None:
    conv = str(keyed.conversation.public_id)
    mia_socket, jonas_socket = await open_socket(mia), await open_socket(jonas)
    client_id, envelope, ack = await send_encrypted(mia_socket, keyed, "client", "Marker-geheim-123")
    assert ack["message"]["encrypted"] == envelope and "body" not in ack["message"]
    delivered = await frames_until(jonas_socket, "message")
    assert delivered["message"] == ack["message"]
    # The counselor opens it with the team key: the team private key sealed to jonas.
    assert p.decrypt_message(keyed.key, delivered["message"]["encrypted"], client_id, "client") == {
        "text": "Marker-geheim-123"}
    stored = await database_sync_to_async(Message.objects.get)(public_id=ack["message"]["id"])
    assert stored.body == envelope["ct"] and stored.nonce == envelope["iv"]
    assert "Marker-geheim" not in stored.body
    # Catch-up gives the same object.
    await send(jonas_socket, type="sync", conversation=conv, after=0)
    page = await frames_until(jonas_socket, "messages")
    encrypted = [m for m in page["messages"] if "encrypted" in m]
    assert encrypted[0]["encrypted"]["key"] == keyed.kid  # the enquiry, ciphertext too
    assert p.decrypt_message(keyed.key, encrypted[0]["encrypted"], encrypted[0]["client_id"], "client") == {
        "text": "Geheimnis-Marker-4711"}
    assert encrypted[-1] == ack["message"]
    await mia_socket.disconnect()
    await jonas_socket.disconnect()


def _bad_envelopes(good: dict[str, Any]) -> list[tuple[str, Any, str]]:
    return [
        ("missing ct", {k: v for k, v in good.items() if k != "ct"}, "invalid"),
        ("extra key", {**good, "body": "x"}, "invalid"),
        ("version 2", {**good, "v": 2}, "invalid"),
        ("v true", {**good, "v": True}, "invalid"),
        ("iv of 8 bytes", {**good, "iv": p.b64u_encode(b"12345678")}, "invalid"),
        ("iv with padding", {**good, "iv": good["iv"] + "="}, "invalid"),
        ("ct not base64url", {**good, "ct": "not base64!"}, "invalid"),
        ("ct of 16 bytes", {**good, "ct": p.b64u_encode(b"x" * 16)}, "invalid"),
        ("ct too large", {**good, "ct": p.b64u_encode(b"x" * 61_441)}, "too_large"),
        ("key not a kid", {**good, "key": "short"}, "invalid"),
        ("not an object", "ciphertext", "invalid"),
        ("null", None, "invalid"),
    ]


async def test_malformed_encrypted_objects_are_refused_and_stored_nowhere(keyed: Any, mia: User) -> None:
    conv = str(keyed.conversation.public_id)
    socket = await open_socket(mia)
    before = await database_sync_to_async(_count)(keyed.conversation)
    good = p.encrypt_message(keyed.key, keyed.kid, str(uuid.uuid4()), "client", {"text": "x"})
    for what, bad, code in _bad_envelopes(good):
        client_id = str(uuid.uuid4())
        await send(socket, type="send", conversation=conv, client_id=client_id, encrypted=bad)
        error = await frames_until(socket, "error")
        assert (error["code"], error.get("client_id")) == (code, client_id), what
    # Both body and encrypted; a plain body in an encrypted conversation.
    await send(socket, type="send", conversation=conv, client_id=str(uuid.uuid4()), encrypted=good, body="x")
    assert (await frames_until(socket, "error"))["code"] == "invalid"
    await send(socket, type="send", conversation=conv, client_id=str(uuid.uuid4()), body="im Klartext")
    error = await frames_until(socket, "error")
    assert error["code"] == "invalid" and "encrypted" in error["detail"]
    assert await database_sync_to_async(_count)(keyed.conversation) == before
    await socket.disconnect()


async def test_a_wrong_key_id_is_refused(keyed: Any, mia: User) -> None:
    conv = str(keyed.conversation.public_id)
    socket = await open_socket(mia)
    before = await database_sync_to_async(_count)(keyed.conversation)
    other_kid, other_key = p.new_conversation_key()
    client_id = str(uuid.uuid4())
    envelope = p.encrypt_message(other_key, other_kid, client_id, "client", {"text": "x"})
    await send(socket, type="send", conversation=conv, client_id=client_id, encrypted=envelope)
    error = await frames_until(socket, "error")
    assert error == {"type": "error", "code": "invalid", "detail": "unknown key id", "client_id": client_id}
    assert await database_sync_to_async(_count)(keyed.conversation) == before
    await socket.disconnect()


async def test_encrypted_frames_are_refused_in_a_plain_conversation(keyed: Any, counseling: Any,
                                                                    mia: User) -> None:
    conv = str(counseling.conversation.public_id)  # mia's older conversation, in plain text
    socket = await open_socket(mia)
    before = await database_sync_to_async(_count)(counseling.conversation)
    client_id = str(uuid.uuid4())
    envelope = p.encrypt_message(keyed.key, keyed.kid, client_id, "client", {"text": "x"})
    await send(socket, type="send", conversation=conv, client_id=client_id, encrypted=envelope)
    error = await frames_until(socket, "error")
    assert error["code"] == "invalid" and error["detail"] == "this conversation is not encrypted"
    # Plain messages there still work (existing conversations stay readable and writable).
    await send(socket, type="send", conversation=conv, client_id=str(uuid.uuid4()), body="weiter im Klartext")
    ack = await frames_until(socket, "ack")
    assert ack["message"]["body"] == "weiter im Klartext"
    assert await database_sync_to_async(_count)(counseling.conversation) == before + 1
    await socket.disconnect()


async def test_a_replayed_nonce_is_refused_and_the_original_kept(keyed: Any, mia: User, jonas: User) -> None:
    conv = str(keyed.conversation.public_id)
    mia_socket, jonas_socket = await open_socket(mia), await open_socket(jonas)
    first_id, envelope, original = await send_encrypted(mia_socket, keyed, "client", "einmal")
    await frames_until(jonas_socket, "message")
    before = await database_sync_to_async(_count)(keyed.conversation)
    # The same ciphertext under a new client_id (a replay by anyone, here by the counselor).
    replay_id = str(uuid.uuid4())
    await send(jonas_socket, type="send", conversation=conv, client_id=replay_id, encrypted=envelope)
    error = await frames_until(jonas_socket, "error")
    assert (error["code"], error["client_id"]) == ("invalid", replay_id)
    assert "nonce" in error["detail"]
    # Resending with the same client_id is not a replay: the original ack comes back.
    await send(mia_socket, type="send", conversation=conv, client_id=first_id, encrypted=envelope)
    assert await frames_until(mia_socket, "ack") == original
    assert await database_sync_to_async(_count)(keyed.conversation) == before
    assert await mia_socket.receive_nothing(timeout=0.3)  # the replay was delivered to nobody
    # The socket goes on working.
    _, fresh, ack = await send_encrypted(jonas_socket, keyed, "counselor", "weiter")
    assert ack["message"]["encrypted"] == fresh
    await mia_socket.disconnect()
    await jonas_socket.disconnect()


async def test_a_replay_sent_back_to_back_is_refused(keyed: Any, mia: User) -> None:
    """Two frames with the same IV sent back to back (one group-commit batch or two)."""
    conv = str(keyed.conversation.public_id)
    socket = await open_socket(mia)
    before = await database_sync_to_async(_count)(keyed.conversation)
    iv = b"\x07" * 12
    ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    for client_id in ids:
        envelope = p.encrypt_message(keyed.key, keyed.kid, client_id, "client", {"text": "y"}, iv=iv)
        frame = {"type": "send", "conversation": conv, "client_id": client_id, "encrypted": envelope}
        await socket.send_to(text_data=json.dumps(frame))
    outcomes = {}
    while len(outcomes) < 2:
        frame = await socket.receive_json_from(timeout=3)
        if frame["type"] in ("ack", "error"):
            outcomes[frame["client_id"]] = frame["type"]
    assert sorted(outcomes.values()) == ["ack", "error"]
    assert await database_sync_to_async(_count)(keyed.conversation) == before + 1
    await socket.disconnect()


async def test_read_markers_and_catch_up_work_as_before(keyed: Any, mia: User, jonas: User) -> None:
    """Only the text is encrypted: seq, read markers and sync work on the metadata as before."""
    conv = str(keyed.conversation.public_id)
    mia_socket, jonas_socket = await open_socket(mia), await open_socket(jonas)
    _, envelope, ack = await send_encrypted(mia_socket, keyed, "client", "gelesen?")
    seq = ack["message"]["seq"]
    await frames_until(jonas_socket, "message")
    await send(jonas_socket, type="read", conversation=conv, seq=seq)
    marker = await frames_until(mia_socket, "read")
    assert marker == {"type": "read", "conversation": conv, "user": str(jonas.public_id), "seq": seq}
    await send(jonas_socket, type="sync", conversation=conv, after=seq - 1)
    page = await frames_until(jonas_socket, "messages")
    assert [m["seq"] for m in page["messages"]] == [seq] and page["messages"][0]["encrypted"] == envelope
    await mia_socket.disconnect()
    await jonas_socket.disconnect()



def test_a_replay_within_one_batch_is_refused_by_the_write_path(keyed: Any, mia: User) -> None:
    """The same IV twice in one batch of the write path: the first is stored, the second refused."""
    from wegweiser.counseling import actions

    conv = keyed.conversation
    before = _count(conv)
    iv = b"\x09" * 12
    items = []
    for _ in range(2):
        client_id = uuid.uuid4()
        envelope = p.encrypt_message(keyed.key, keyed.kid, str(client_id), "client", {"text": "z"}, iv=iv)
        items.append(actions.PostItem(conversation_pk=conv.pk, conversation_id=conv.public_id,
                                      sender_pk=mia.pk, sender_public_id=mia.public_id, role="client",
                                      body=envelope["ct"], client_id=client_id, nonce=envelope["iv"],
                                      key_id=keyed.kid))
    first, second = actions.messages_store(items).results
    assert first.message is not None and first.message["encrypted"]["iv"] == p.b64u_encode(iv)
    assert (second.error, second.message) == ("replayed", None)
    assert _count(conv) == before + 1
