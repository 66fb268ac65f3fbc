"""The reference implementation of the end-to-end protocol (tests/e2e_protocol.py): it reproduces
the committed vectors exactly, round-trips, and refuses everything tampered with or malformed.
Only one 600,000-iteration derivation runs (the second identity vector)."""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag

from tests import e2e_protocol as e2e

b64d = e2e.b64u_decode
VECTORS: dict[str, Any] = json.loads(e2e.VECTORS.read_text(encoding="utf-8"))
CLIENT_ID = "3f2c1e0a-9b8d-4c7e-a6f5-0123456789ab"
OTHER_CLIENT_ID = "3f2c1e0a-9b8d-4c7e-a6f5-0123456789ac"
_derive_kek = functools.cache(e2e.derive_kek)


@pytest.fixture(autouse=True)
def one_derivation_per_input(monkeypatch: pytest.MonkeyPatch) -> None:
    """PBKDF2 runs once per input for the whole module, so 600,000 iterations run only once."""
    monkeypatch.setattr(e2e, "derive_kek", _derive_kek)


def test_the_vectors_file_is_what_the_generator_writes() -> None:
    assert e2e.build_vectors() == VECTORS


# --- the vectors, piece by piece (so a failure names the part that changed) ------------------------

@pytest.mark.parametrize("v", VECTORS["kek"], ids=lambda v: v["username"])
def test_kek_vectors(v: dict[str, Any]) -> None:
    assert e2e.b64u_encode(e2e.kek_salt(v["username"])) == v["salt"]
    assert e2e.b64u_encode(e2e.derive_kek(v["username"], v["password"], v["iterations"])) == v["kek"]


@pytest.mark.parametrize("v", VECTORS["identity"], ids=lambda v: str(v["iterations"]))
def test_identity_vectors(v: dict[str, Any]) -> None:
    fixed: dict[str, Any] = {"private_pkcs8": b64d(v["private_pkcs8"]), "iv_pw": b64d(v["iv_password"]),
             "iv_rec": b64d(v["iv_recovery"]), "recovery": b64d(v["recovery"])}
    if v["iterations"] == e2e.ITERATIONS:
        made = e2e.create_identity(v["username"], v["password"], **fixed)  # the default count
    else:
        made = e2e.create_identity(v["username"], v["password"], iterations=v["iterations"], **fixed)
    assert made["bundle"] == v["bundle"]
    assert made["bundle"]["password"]["iter"] == v["iterations"]
    assert made["recovery_key"] == v["recovery_key"]
    assert made["recovery_auth"] == v["recovery_auth"]
    assert made["private_pkcs8"] == b64d(v["private_pkcs8"])
    assert e2e.b64u_encode(made["public_raw"]) == v["bundle"]["public"]
    kek = b64d(v["kek"])
    assert e2e.unwrap_private(kek, v["bundle"]["password"]) == b64d(v["private_pkcs8"])
    key, auth = e2e.unlock_recovery(v["bundle"], v["recovery_key"])
    assert e2e.private_pkcs8(key) == b64d(v["private_pkcs8"])
    assert auth == v["recovery_auth"]
    if v["iterations"] != e2e.ITERATIONS:  # the one 600,000 derivation is create_identity's above
        key = e2e.unlock_password(v["bundle"], v["username"], v["password"])
        assert e2e.private_pkcs8(key) == b64d(v["private_pkcs8"])


@pytest.mark.parametrize("v", VECTORS["recovery"], ids=lambda v: v["display"])
def test_recovery_vectors(v: dict[str, Any]) -> None:
    r = b64d(v["recovery"])
    assert e2e.recovery_encode(r) == v["display"]
    wrap_key, auth = e2e.recovery_keys(r)
    assert (e2e.b64u_encode(wrap_key), e2e.b64u_encode(auth)) == (v["wrap_key"], v["auth"])
    for typed in v["typed"]:
        assert e2e.recovery_parse(typed) == r


@pytest.mark.parametrize("text", VECTORS["recovery_invalid"])
def test_recovery_invalid_vectors(text: str) -> None:
    with pytest.raises(ValueError, match="recovery key"):
        e2e.recovery_parse(text)


@pytest.mark.parametrize("v", VECTORS["seal"], ids=lambda v: v["name"])
def test_seal_vectors(v: dict[str, Any]) -> None:
    sealed = e2e.seal(b64d(v["recipient_public"]), b64d(v["secret"]), v["label"],
                      ephemeral_pkcs8=b64d(v["ephemeral_private_pkcs8"]), iv=b64d(v["iv"]))
    assert sealed == v["sealed"]
    recipient = e2e.load_private(b64d(v["recipient_private_pkcs8"]))
    assert e2e.b64u_encode(e2e.public_raw(recipient)) == v["recipient_public"]
    assert e2e.open_sealed(recipient, v["sealed"], v["label"]) == b64d(v["secret"])


def test_team_and_conversation_seals_use_the_protocol_labels() -> None:
    team, seals = VECTORS["team"], {v["name"]: v for v in VECTORS["seal"]}
    conversation_kid = VECTORS["message"][0]["kid"]
    assert seals["seal-team-counselor"]["label"] == f"wegweiser/team-key/v1|{team['kid']}"
    assert seals["seal-team-counselor"]["secret"] == team["private_pkcs8"]
    for name in ("seal-conversation-client", "seal-conversation-team"):
        assert seals[name]["label"] == f"wegweiser/conversation-key/v1|{conversation_kid}"
        assert seals[name]["secret"] == VECTORS["message"][0]["key"]
    assert seals["seal-conversation-team"]["recipient_public"] == team["public"]
    # The team key opened by a counselor opens the conversation key sealed to the team.
    counselor = e2e.load_private(b64d(seals["seal-team-counselor"]["recipient_private_pkcs8"]))
    team_key = e2e.load_private(e2e.open_sealed(counselor, seals["seal-team-counselor"]["sealed"],
                                                e2e.team_key_label(team["kid"])))
    sealed = seals["seal-conversation-team"]
    assert e2e.open_sealed(team_key, sealed["sealed"], sealed["label"]) == b64d(sealed["secret"])


@pytest.mark.parametrize("v", VECTORS["message"], ids=lambda v: v["name"])
def test_message_vectors(v: dict[str, Any]) -> None:
    key = b64d(v["key"])
    envelope = e2e.encrypt_message(key, v["kid"], v["client_id"], v["role"], v["payload"], iv=b64d(v["iv"]))
    assert envelope == v["envelope"]
    assert e2e.decrypt_message(key, v["envelope"], v["client_id"], v["role"]) == v["payload"]


def test_message_vectors_cover_non_ascii_and_the_longest_text() -> None:
    texts = [v["payload"]["text"] for v in VECTORS["message"]]
    assert any(ch in text for text in texts for ch in "äå🙂")
    assert max(len(text) for text in texts) == 10_000
    assert {v["role"] for v in VECTORS["message"]} == {"client", "counselor"}
    assert any("file" in v["payload"] for v in VECTORS["message"])


@pytest.mark.parametrize("v", VECTORS["file"], ids=lambda v: v["name"])
def test_file_vectors(v: dict[str, Any]) -> None:
    key, data = b64d(v["key"]), b64d(v["data"])
    blob = e2e.encrypt_file(key, v["kid"], v["client_id"], data, iv=b64d(v["iv"]))
    assert e2e.b64u_encode(blob) == v["blob"]
    assert e2e.decrypt_file(key, v["kid"], v["client_id"], b64d(v["blob"])) == data


@pytest.mark.parametrize("v", VECTORS["safety"])
def test_safety_vectors(v: dict[str, Any]) -> None:
    code = e2e.safety_code(b64d(v["client_public"]), b64d(v["team_public"]))
    assert code == v["code"]
    groups = code.split(" ")
    assert len(groups) == 4
    assert all(len(g) == 5 and g.isdigit() for g in groups)


def test_safety_code_depends_on_both_keys_and_their_order() -> None:
    a, b, c = (e2e.public_raw(e2e.generate_keypair()) for _ in range(3))
    assert e2e.safety_code(a, b) == e2e.safety_code(a, b)
    assert len({e2e.safety_code(a, b), e2e.safety_code(b, a), e2e.safety_code(a, c)}) == 3
    with pytest.raises(ValueError):
        e2e.safety_code(a, b[:33])


# --- round trips with fresh randomness ---------------------------------------------------------------

@pytest.fixture(scope="module")
def identity() -> e2e.Identity:
    return e2e.create_identity("Maja", "geheim und lang", iterations=1000)


def test_identity_round_trip(identity: e2e.Identity) -> None:
    bundle = identity["bundle"]
    assert set(bundle) == {"v", "public", "password", "recovery"}
    assert set(bundle["password"]) == {"kdf", "iter", "salt", "iv", "ct"}
    assert set(bundle["recovery"]) == {"iv", "ct"}
    assert bundle["password"]["iter"] == 1000
    assert bundle["password"]["iv"] != bundle["recovery"]["iv"]
    key = e2e.unlock_password(bundle, "maja", "geheim und lang")  # any case of the username
    assert e2e.private_pkcs8(key) == identity["private_pkcs8"]
    key, auth = e2e.unlock_recovery(bundle, identity["recovery_key"].lower().replace("-", " "))
    assert e2e.public_raw(key) == identity["public_raw"]
    assert auth == identity["recovery_auth"]
    assert len(b64d(auth)) == 32
    assert len(b64d(bundle["password"]["salt"])) == 32


def test_identities_differ(identity: e2e.Identity) -> None:
    other = e2e.create_identity("Maja", "geheim und lang", iterations=1000)
    assert other["public_raw"] != identity["public_raw"]
    assert other["recovery_key"] != identity["recovery_key"]
    assert other["bundle"]["password"]["iv"] != identity["bundle"]["password"]["iv"]


def test_create_identity_defaults_to_600000_iterations(monkeypatch: pytest.MonkeyPatch) -> None:
    counts: list[int] = []
    real = e2e.derive_kek

    def counting(username: str, password: str, iterations: int = e2e.ITERATIONS) -> bytes:
        counts.append(iterations)
        return real(username, password, 1)

    monkeypatch.setattr(e2e, "derive_kek", counting)
    made = e2e.create_identity("maja", "pw")
    assert counts == [600_000]
    assert made["bundle"]["password"]["iter"] == 600_000
    with pytest.raises(ValueError):
        real("maja", "pw", 0)


def test_seal_round_trip_and_fresh_ephemeral_keys() -> None:
    recipient = e2e.generate_keypair()
    kid, key = e2e.new_conversation_key()
    label = e2e.conversation_key_label(kid)
    one = e2e.seal(e2e.public_raw(recipient), key, label)
    two = e2e.seal(e2e.public_raw(recipient), key, label)
    assert one["epk"] != two["epk"]
    assert one["ct"] != two["ct"]
    assert e2e.open_sealed(recipient, one, label) == key
    assert e2e.open_sealed(recipient, two, label) == key


def test_team_key_round_trip() -> None:
    kid, public, pkcs8 = e2e.new_team_key()
    assert len(b64d(kid)) == 16
    assert len(kid) == 22
    assert e2e.public_raw(e2e.load_private(pkcs8)) == public
    counselor = e2e.generate_keypair()
    sealed = e2e.seal(e2e.public_raw(counselor), pkcs8, e2e.team_key_label(kid))
    assert e2e.open_sealed(counselor, sealed, e2e.team_key_label(kid)) == pkcs8


def test_message_and_file_round_trip() -> None:
    kid, key = e2e.new_conversation_key()
    payload = {"text": "🙂 " * 5, "unknown": [1, None, True]}
    envelope = e2e.encrypt_message(key, kid, CLIENT_ID, "counselor", payload)
    assert set(envelope) == {"v", "key", "iv", "ct"}
    assert len(b64d(envelope["iv"])) == 12
    assert e2e.decrypt_message(key, envelope, CLIENT_ID, "counselor") == payload
    assert e2e.encrypt_message(key, kid, CLIENT_ID, "counselor", payload)["iv"] != envelope["iv"]
    blob = e2e.encrypt_file(key, kid, CLIENT_ID, b"%PDF-1.7 ...")
    assert len(blob) == 12 + len(b"%PDF-1.7 ...") + 16
    assert e2e.decrypt_file(key, kid, CLIENT_ID, blob) == b"%PDF-1.7 ..."


# --- refusals ----------------------------------------------------------------------------------------

def flip(text: str, at: int = 0) -> str:
    """The b64u text with one bit of its byte `at` flipped."""
    data = bytearray(b64d(text))
    data[at] ^= 1
    return e2e.b64u_encode(bytes(data))


def test_wrong_password_and_tampered_bundle_fail(identity: e2e.Identity) -> None:
    bundle = identity["bundle"]
    with pytest.raises(InvalidTag):
        e2e.unlock_password(bundle, "maja", "geheim und lang!")
    for field in ("iv", "ct"):
        tampered = copy.deepcopy(bundle)
        tampered["password"][field] = flip(tampered["password"][field])
        with pytest.raises(InvalidTag):
            e2e.unlock_password(tampered, "maja", "geheim und lang")
    fewer = copy.deepcopy(bundle)
    fewer["password"]["iter"] = 999
    with pytest.raises(InvalidTag):
        e2e.unlock_password(fewer, "maja", "geheim und lang")
    with pytest.raises(ValueError, match="another username"):
        e2e.unlock_password(bundle, "mája", "geheim und lang")
    for broken in ({**bundle, "v": 2}, {**bundle, "password": {**bundle["password"], "kdf": "argon2id"}}):
        with pytest.raises(ValueError):
            e2e.unlock_password(broken, "maja", "geheim und lang")


def test_a_swapped_public_key_is_refused(identity: e2e.Identity) -> None:
    swapped = {**identity["bundle"], "public": e2e.b64u_encode(e2e.public_raw(e2e.generate_keypair()))}
    with pytest.raises(ValueError, match="does not match"):
        e2e.unlock_password(swapped, "maja", "geheim und lang")
    with pytest.raises(ValueError, match="does not match"):
        e2e.unlock_recovery(swapped, identity["recovery_key"])


def test_wrong_recovery_key_and_tampered_recovery_part_fail(identity: e2e.Identity) -> None:
    bundle = identity["bundle"]
    with pytest.raises(InvalidTag):
        e2e.unlock_recovery(bundle, e2e.recovery_encode(bytes(20)))
    tampered = copy.deepcopy(bundle)
    tampered["recovery"]["ct"] = flip(tampered["recovery"]["ct"], at=-1)
    with pytest.raises(InvalidTag):
        e2e.unlock_recovery(tampered, identity["recovery_key"])
    # The password part is not a recovery part: swapping them fails too.
    swapped = {**bundle, "recovery": {k: bundle["password"][k] for k in ("iv", "ct")}}
    with pytest.raises(InvalidTag):
        e2e.unlock_recovery(swapped, identity["recovery_key"])


def test_sealed_secrets_refuse_tampering_wrong_labels_and_wrong_keys() -> None:
    v = next(v for v in VECTORS["seal"] if v["name"] == "seal-conversation-client")
    recipient = e2e.load_private(b64d(v["recipient_private_pkcs8"]))
    sealed, label = v["sealed"], v["label"]
    for field in ("iv", "ct"):
        with pytest.raises(InvalidTag):
            e2e.open_sealed(recipient, {**sealed, field: flip(sealed[field], at=5)}, label)
    other_epk = e2e.b64u_encode(e2e.public_raw(e2e.generate_keypair()))
    with pytest.raises(InvalidTag):
        e2e.open_sealed(recipient, {**sealed, "epk": other_epk}, label)
    with pytest.raises(ValueError):  # not a point on the curve
        e2e.open_sealed(recipient, {**sealed, "epk": flip(sealed["epk"], at=64)}, label)
    for wrong in (label + "x", label.replace("conversation-key", "team-key"),
                  e2e.conversation_key_label(e2e.new_kid())):
        with pytest.raises(InvalidTag):
            e2e.open_sealed(recipient, sealed, wrong)
    with pytest.raises(InvalidTag):
        e2e.open_sealed(e2e.generate_keypair(), sealed, label)
    with pytest.raises(ValueError):
        e2e.open_sealed(recipient, {"epk": sealed["epk"], "iv": sealed["iv"]}, label)


def test_messages_refuse_tampering_and_a_wrong_context() -> None:
    v = next(v for v in VECTORS["message"] if v["name"] == "message-unicode")
    key, envelope, role = b64d(v["key"]), v["envelope"], v["role"]
    assert e2e.decrypt_message(key, envelope, CLIENT_ID, role) == v["payload"]
    cases = [
        ({**envelope, "ct": flip(envelope["ct"])}, CLIENT_ID, role),
        ({**envelope, "ct": flip(envelope["ct"], at=-1)}, CLIENT_ID, role),  # the tag
        ({**envelope, "iv": flip(envelope["iv"])}, CLIENT_ID, role),
        ({**envelope, "key": e2e.new_kid()}, CLIENT_ID, role),  # wrong kid
        (envelope, OTHER_CLIENT_ID, role),  # wrong client_id
        (envelope, CLIENT_ID, "client"),  # wrong role
    ]
    for env, client_id, sender_role in cases:
        with pytest.raises(InvalidTag):
            e2e.decrypt_message(key, env, client_id, sender_role)
    with pytest.raises(InvalidTag):
        e2e.decrypt_message(bytes(32), envelope, CLIENT_ID, role)  # wrong key
    for env, client_id, sender_role in [
        ({**envelope, "v": 2}, CLIENT_ID, role),
        ({**envelope, "extra": 1}, CLIENT_ID, role),
        ({**envelope, "iv": e2e.b64u_encode(bytes(16))}, CLIENT_ID, role),
        ({**envelope, "key": "not-a-kid"}, CLIENT_ID, role),
        (envelope, CLIENT_ID.upper(), role),
        (envelope, CLIENT_ID, "system"),
    ]:
        with pytest.raises(ValueError):
            e2e.decrypt_message(key, env, client_id, sender_role)


def test_a_message_is_bound_to_its_sender_role() -> None:
    kid, key = e2e.new_conversation_key()
    envelope = e2e.encrypt_message(key, kid, CLIENT_ID, "client", {"text": "hi"})
    with pytest.raises(InvalidTag):
        e2e.decrypt_message(key, envelope, CLIENT_ID, "counselor")
    with pytest.raises(ValueError):
        e2e.encrypt_message(key, kid, CLIENT_ID, "client", ["not", "an", "object"])  # type: ignore[arg-type]


def test_files_refuse_tampering_and_a_wrong_context() -> None:
    v = VECTORS["file"][0]
    key, kid, blob = b64d(v["key"]), v["kid"], b64d(v["blob"])
    for at in (0, 12, len(blob) - 1):  # iv, ciphertext, tag
        tampered = bytearray(blob)
        tampered[at] ^= 0x80
        with pytest.raises(InvalidTag):
            e2e.decrypt_file(key, kid, CLIENT_ID, bytes(tampered))
    with pytest.raises(InvalidTag):
        e2e.decrypt_file(key, e2e.new_kid(), CLIENT_ID, blob)
    with pytest.raises(InvalidTag):
        e2e.decrypt_file(key, kid, OTHER_CLIENT_ID, blob)
    with pytest.raises(InvalidTag):
        e2e.decrypt_file(key, kid, CLIENT_ID, blob[:-1])
    with pytest.raises(ValueError):
        e2e.decrypt_file(key, kid, CLIENT_ID, blob[:27])


# --- encodings and parsing ---------------------------------------------------------------------------

def test_recovery_parse_rules() -> None:
    r = bytes(range(20))
    shown = e2e.recovery_encode(r)
    assert shown == "AAAQ-EAYE-AUDA-OCAJ-BIFQ-YDIO-B4IB-CEQT"
    assert len(shown.split("-")) == 8
    assert all(len(group) == 4 for group in shown.split("-"))
    assert e2e.recovery_parse(shown) == r
    assert e2e.recovery_parse(shown.lower()) == r
    assert e2e.recovery_parse(" " + shown.replace("-", "  ") + "\n") == r
    assert e2e.recovery_parse(shown.replace("-", "")) == r
    assert e2e.recovery_parse(shown.replace("-", "–")) == r  # an en dash, as a phone might type
    # 0, 1 and 8 are read as O, I and B (digits that base32 does not use).
    assert "O" in shown
    assert "I" in shown
    assert "B" in shown
    assert e2e.recovery_parse(shown.replace("O", "0").replace("I", "1").replace("B", "8")) == r
    assert e2e.recovery_parse("aaaq.eaye.auda.0caj.b1fq.yd1o.84ib.ceqt") == r
    for bad in ("", shown[:-1], shown + "A", shown[:-1] + "9", shown[:-1] + "Ä", shown[:-1] + "=",
                "AAAA-" * 8 + "AAAA"):
        with pytest.raises(ValueError):
            e2e.recovery_parse(bad)
    for wrong_length in (bytes(19), bytes(21)):
        with pytest.raises(ValueError):
            e2e.recovery_encode(wrong_length)


def test_recovery_keys_are_distinct_and_32_bytes() -> None:
    wrap_key, auth = e2e.recovery_keys(bytes(20))
    assert len(wrap_key) == len(auth) == 32
    assert wrap_key != auth
    assert e2e.recovery_keys(bytes(19) + b"\x01")[0] != wrap_key


def test_b64u_is_strict() -> None:
    for data in (b"", b"\x00", b"\xff\xfe", b"\xfb\xff\xbf", bytes(range(256))):
        text = e2e.b64u_encode(data)
        assert "=" not in text
        assert "+" not in text
        assert "/" not in text
        assert e2e.b64u_decode(text) == data
    assert e2e.b64u_encode(b"\xfb\xff\xbf") == "-_-_"
    for bad in ("AA==", "AA=", "+/+/", "A", "AAAAA", "AB", "AAB", "A A", "AA\n", "ä", " AA"):
        with pytest.raises(ValueError):
            e2e.b64u_decode(bad)
    with pytest.raises(ValueError):
        e2e.b64u_decode(b"AA")  # type: ignore[arg-type]


def test_kek_salt_ignores_the_username_case() -> None:
    assert e2e.kek_salt("Jonas") == e2e.kek_salt("jonas") == e2e.kek_salt("JONAS")
    assert e2e.kek_salt("ÅSA") == e2e.kek_salt("åsa")
    assert e2e.kek_salt("jonas") != e2e.kek_salt("jonas2")
    assert e2e.derive_kek("JONAS", "pw", 1000) == e2e.derive_kek("jonas", "pw", 1000)
    assert e2e.derive_kek("jonas", "pw", 1000) != e2e.derive_kek("jonas", "Pw", 1000)


def test_public_keys_must_be_uncompressed_points_on_the_curve() -> None:
    raw = e2e.public_raw(e2e.generate_keypair())
    assert len(raw) == 65
    assert raw[0] == 4
    compressed = bytes([2 + raw[64] % 2]) + raw[1:33]
    for bad in (compressed, raw[:64], raw + b"\x00", b"\x04" + bytes(64), raw[:-1] + bytes([raw[-1] ^ 1])):
        with pytest.raises(ValueError):
            e2e.load_public(bad)


def test_kids_and_labels() -> None:
    kid = e2e.new_kid()
    assert len(kid) == 22
    assert e2e.new_kid() != kid
    assert e2e.team_key_label(kid) == "wegweiser/team-key/v1|" + kid
    assert e2e.conversation_key_label(kid) == "wegweiser/conversation-key/v1|" + kid
    for bad in ("short", kid + "A", kid[:-1] + "B"):
        with pytest.raises(ValueError):
            e2e.conversation_key_label(bad)
