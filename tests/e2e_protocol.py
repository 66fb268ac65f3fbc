"""Reference implementation of the end-to-end encryption protocol, version 1
(docs/e2e-protocol.md), with `cryptography`. The browser's implementation
(src/wegweiser/static/wegweiser/js/e2e.js) must agree with it byte for byte; both are checked
against tests/data/e2e_vectors.json, which `python -m tests.e2e_protocol` (re)writes from fixed
inputs. Used by the tests, the demo data and the load bench; never by the server itself, which
only ever sees public keys, wrapped or sealed keys and ciphertext."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, TypedDict

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

VERSION = 1
ITERATIONS = 600_000
KDF = "pbkdf2-sha256"
KEK_SALT_PREFIX = b"wegweiser/kek/v1\x00"
IDENTITY_AAD = b"wegweiser/identity/v1"
RECOVERY_WRAP_INFO = b"wegweiser/recovery/wrap/v1"
RECOVERY_AUTH_INFO = b"wegweiser/recovery/auth/v1"
TEAM_KEY_LABEL = "wegweiser/team-key/v1|"
CONVERSATION_KEY_LABEL = "wegweiser/conversation-key/v1|"
MESSAGE_AAD = "wegweiser/message/v1|"
FILE_AAD = "wegweiser/file/v1|"
SAFETY_PREFIX = b"wegweiser/safety/v1"
ROLES = ("client", "counselor")
IV_BYTES = 12
KEY_BYTES = 32
KID_BYTES = 16
RECOVERY_BYTES = 20
PUBLIC_BYTES = 65
TAG_BYTES = 16

_B64U = re.compile(r"[A-Za-z0-9_-]*")
_CLIENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_BASE32 = re.compile(r"[A-Z2-7]{32}")
VECTORS = Path(__file__).parent / "data" / "e2e_vectors.json"


# --- encodings ------------------------------------------------------------------------------------

def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    """Strict base64url without padding: other characters, padding, an impossible length and
    non-zero trailing bits are all refused (ValueError), so every value has one spelling."""
    if not isinstance(text, str) or not _B64U.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not canonical unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:  # pragma: no cover - the checks above already refuse these
        raise ValueError("not canonical unpadded base64url") from exc
    if b64u_encode(data) != text:
        raise ValueError("not canonical unpadded base64url")
    return data


def b64u_bytes(text: str, length: int, what: str) -> bytes:
    data = b64u_decode(text)
    if len(data) != length:
        raise ValueError(f"{what} must be {length} bytes")
    return data


def check_kid(kid: str) -> str:
    b64u_bytes(kid, KID_BYTES, "kid")
    return kid


def _aesgcm(key: bytes) -> AESGCM:
    if len(key) != KEY_BYTES:
        raise ValueError("AES-256-GCM needs a 32-byte key")
    return AESGCM(key)


def _iv(iv: bytes | None) -> bytes:
    iv = os.urandom(IV_BYTES) if iv is None else iv
    if len(iv) != IV_BYTES:
        raise ValueError("the IV must be 12 bytes")
    return iv


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int = KEY_BYTES) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


# --- P-256 keys -------------------------------------------------------------------------------------

def generate_keypair() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_raw(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> bytes:
    """The raw uncompressed point, 0x04 || X || Y (65 bytes)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def load_public(raw: bytes) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from its raw uncompressed point; anything else (compressed points,
    points not on the curve) is refused with ValueError."""
    if len(raw) != PUBLIC_BYTES or raw[0] != 4:
        raise ValueError("a public key must be a 65-byte uncompressed P-256 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def private_pkcs8(key: ec.EllipticCurvePrivateKey) -> bytes:
    return _pkcs8(key)


def _pkcs8(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private(pkcs8: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_der_private_key(pkcs8, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not a P-256 private key")
    return key


def ecdh(private: ec.EllipticCurvePrivateKey, public: ec.EllipticCurvePublicKey) -> bytes:
    return private.exchange(ec.ECDH(), public)


# --- 1.1 password wrapping --------------------------------------------------------------------------

def kek_salt(username: str) -> bytes:
    return hashlib.sha256(KEK_SALT_PREFIX + username.lower().encode("utf-8")).digest()


def derive_kek(username: str, password: str, iterations: int = ITERATIONS) -> bytes:
    if iterations < 1:
        raise ValueError("iterations must be positive")
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=kek_salt(username),
                     iterations=iterations)
    return kdf.derive(password.encode("utf-8"))


def wrap_private(kek: bytes, pkcs8: bytes, iv: bytes | None = None) -> dict[str, str]:
    iv = _iv(iv)
    return {"iv": b64u_encode(iv), "ct": b64u_encode(_aesgcm(kek).encrypt(iv, pkcs8, IDENTITY_AAD))}


def unwrap_private(kek: bytes, wrapped: dict[str, Any]) -> bytes:
    """The PKCS #8 bytes; InvalidTag for a wrong key or anything tampered with."""
    iv = b64u_bytes(wrapped["iv"], IV_BYTES, "iv")
    return _aesgcm(kek).decrypt(iv, b64u_decode(wrapped["ct"]), IDENTITY_AAD)


# --- 1.2 recovery key --------------------------------------------------------------------------------

def recovery_encode(r: bytes) -> str:
    if len(r) != RECOVERY_BYTES:
        raise ValueError("a recovery key is 20 bytes")
    text = base64.b32encode(r).decode("ascii")
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def recovery_parse(text: str) -> bytes:
    """Keep ASCII letters and digits only, upper-case, read 0 as O, 1 as I and 8 as B; exactly
    32 base32 characters (20 bytes) are accepted, anything else is refused with ValueError."""
    kept = re.sub(r"[^A-Za-z0-9]", "", text).upper().translate(str.maketrans("018", "OIB"))
    if not _BASE32.fullmatch(kept):
        raise ValueError("not a recovery key")
    return base64.b32decode(kept)


def recovery_keys(r: bytes) -> tuple[bytes, bytes]:
    """(recovery_wrap_key, recovery_auth), 32 bytes each."""
    if len(r) != RECOVERY_BYTES:
        raise ValueError("a recovery key is 20 bytes")
    return hkdf(r, b"", RECOVERY_WRAP_INFO), hkdf(r, b"", RECOVERY_AUTH_INFO)


# --- 1.3 the bundle ------------------------------------------------------------------------------------

class Identity(TypedDict):
    bundle: dict[str, Any]
    recovery_key: str  # shown once to the user
    recovery_auth: str  # b64u; the server keeps a password-style hash of it
    private_pkcs8: bytes
    public_raw: bytes


def create_identity(
    username: str,
    password: str,
    *,
    iterations: int = ITERATIONS,
    private_pkcs8: bytes | None = None,
    iv_pw: bytes | None = None,
    iv_rec: bytes | None = None,
    recovery: bytes | None = None,
) -> Identity:
    """A new identity key pair with its bundle (section 1.3). Everything random can be fixed for
    test vectors; iterations below 600,000 only when a caller asks for them explicitly."""
    key = generate_keypair() if private_pkcs8 is None else load_private(private_pkcs8)
    pkcs8 = _pkcs8(key) if private_pkcs8 is None else private_pkcs8
    r = os.urandom(RECOVERY_BYTES) if recovery is None else recovery
    wrap_key, auth = recovery_keys(r)
    public = public_raw(key)
    password_part = wrap_private(derive_kek(username, password, iterations), pkcs8, iv_pw)
    bundle = {
        "v": VERSION,
        "public": b64u_encode(public),
        "password": {"kdf": KDF, "iter": iterations, "salt": b64u_encode(kek_salt(username)),
                     **password_part},
        "recovery": wrap_private(wrap_key, pkcs8, iv_rec),
    }
    return {"bundle": bundle, "recovery_key": recovery_encode(r), "recovery_auth": b64u_encode(auth),
            "private_pkcs8": pkcs8, "public_raw": public}


def _check_bundle(bundle: dict[str, Any]) -> None:
    if not isinstance(bundle, dict) or bundle.get("v") != VERSION or not all(
        isinstance(bundle.get(part), dict) for part in ("password", "recovery")
    ):
        raise ValueError("not a version 1 identity bundle")
    iterations = bundle["password"].get("iter")
    if bundle["password"].get("kdf") != KDF or type(iterations) is not int or iterations < 1:
        raise ValueError("unknown key derivation")


def _matching(bundle: dict[str, Any], pkcs8: bytes) -> ec.EllipticCurvePrivateKey:
    """The unwrapped key, refused unless it belongs to the bundle's public key: a server that
    swapped the public key would otherwise get secrets sealed to a key of its own."""
    key = load_private(pkcs8)
    if public_raw(key) != b64u_bytes(bundle["public"], PUBLIC_BYTES, "public"):
        raise ValueError("the private key does not match the bundle's public key")
    return key


def unlock_password(bundle: dict[str, Any], username: str, password: str) -> ec.EllipticCurvePrivateKey:
    _check_bundle(bundle)
    part = bundle["password"]
    if part["salt"] != b64u_encode(kek_salt(username)):
        raise ValueError("the bundle belongs to another username")
    return _matching(bundle, unwrap_private(derive_kek(username, password, part["iter"]), part))


def unlock_recovery(bundle: dict[str, Any], recovery_key: str) -> tuple[ec.EllipticCurvePrivateKey, str]:
    """(private key, b64u(recovery_auth)) for the recovery key as the user typed it."""
    _check_bundle(bundle)
    wrap_key, auth = recovery_keys(recovery_parse(recovery_key))
    return _matching(bundle, unwrap_private(wrap_key, bundle["recovery"])), b64u_encode(auth)


# --- 2. sealing ----------------------------------------------------------------------------------------

def team_key_label(kid: str) -> str:
    return TEAM_KEY_LABEL + check_kid(kid)


def conversation_key_label(kid: str) -> str:
    return CONVERSATION_KEY_LABEL + check_kid(kid)


def _seal_key(shared: bytes, epk: bytes, recipient: bytes, label: str) -> bytes:
    if not isinstance(label, str) or not label:
        raise ValueError("a label is a non-empty string")
    return hkdf(shared, epk + recipient, label.encode("utf-8"))


def seal(
    recipient_public_raw: bytes,
    secret: bytes,
    label: str,
    *,
    ephemeral_pkcs8: bytes | None = None,
    iv: bytes | None = None,
) -> dict[str, str]:
    recipient = load_public(recipient_public_raw)
    ephemeral = generate_keypair() if ephemeral_pkcs8 is None else load_private(ephemeral_pkcs8)
    epk = public_raw(ephemeral)
    k = _seal_key(ecdh(ephemeral, recipient), epk, recipient_public_raw, label)
    iv = _iv(iv)
    ct = _aesgcm(k).encrypt(iv, secret, label.encode("utf-8"))
    return {"epk": b64u_encode(epk), "iv": b64u_encode(iv), "ct": b64u_encode(ct)}


def open_sealed(private_key: ec.EllipticCurvePrivateKey, sealed: dict[str, Any], label: str) -> bytes:
    if not isinstance(sealed, dict) or not all(isinstance(sealed.get(f), str) for f in ("epk", "iv", "ct")):
        raise ValueError("not a sealed secret")
    epk = b64u_bytes(sealed["epk"], PUBLIC_BYTES, "epk")
    k = _seal_key(ecdh(private_key, load_public(epk)), epk, public_raw(private_key), label)
    iv = b64u_bytes(sealed["iv"], IV_BYTES, "iv")
    return _aesgcm(k).decrypt(iv, b64u_decode(sealed["ct"]), label.encode("utf-8"))


# --- 3./4. team and conversation keys -------------------------------------------------------------

def new_kid() -> str:
    return b64u_encode(os.urandom(KID_BYTES))


def new_team_key() -> tuple[str, bytes, bytes]:
    """(kid, raw public key, PKCS #8 private key)."""
    key = generate_keypair()
    return new_kid(), public_raw(key), private_pkcs8(key)


def new_conversation_key() -> tuple[str, bytes]:
    return new_kid(), os.urandom(KEY_BYTES)


# --- 5. messages ---------------------------------------------------------------------------------------

def _check_client_id(client_id: str) -> None:
    if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
        raise ValueError("client_id must be a lower-case UUID")


def message_aad(kid: str, client_id: str, sender_role: str) -> bytes:
    _check_client_id(client_id)
    if sender_role not in ROLES:
        raise ValueError("sender_role must be client or counselor")
    return f"{MESSAGE_AAD}{check_kid(kid)}|{client_id}|{sender_role}".encode()


def payload_bytes(payload: dict[str, Any]) -> bytes:
    """The bytes JSON.stringify gives for the same object (insertion order, no spaces, non-ASCII
    characters as they are)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encrypt_message(
    key: bytes, kid: str, client_id: str, sender_role: str, payload: dict[str, Any], *,
    iv: bytes | None = None,
) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ValueError("the payload is a JSON object")
    aad = message_aad(kid, client_id, sender_role)
    iv = _iv(iv)
    ct = _aesgcm(key).encrypt(iv, payload_bytes(payload), aad)
    return {"v": VERSION, "key": kid, "iv": b64u_encode(iv), "ct": b64u_encode(ct)}


def decrypt_message(key: bytes, envelope: dict[str, Any], client_id: str, sender_role: str) -> dict[str, Any]:
    if not isinstance(envelope, dict) or set(envelope) != {"v", "key", "iv", "ct"}:
        raise ValueError("not a version 1 envelope")
    if envelope["v"] != VERSION:
        raise ValueError("not a version 1 envelope")
    aad = message_aad(envelope["key"], client_id, sender_role)
    iv = b64u_bytes(envelope["iv"], IV_BYTES, "iv")
    payload = json.loads(_aesgcm(key).decrypt(iv, b64u_decode(envelope["ct"]), aad).decode("utf-8"))
    if not isinstance(payload, dict):
        raise ValueError("the payload is not a JSON object")
    return payload


# --- 6. files ------------------------------------------------------------------------------------------

def file_aad(kid: str, client_id: str) -> bytes:
    _check_client_id(client_id)
    return f"{FILE_AAD}{check_kid(kid)}|{client_id}".encode()


def encrypt_file(key: bytes, kid: str, client_id: str, data: bytes, *, iv: bytes | None = None) -> bytes:
    iv = _iv(iv)
    return iv + _aesgcm(key).encrypt(iv, data, file_aad(kid, client_id))


def decrypt_file(key: bytes, kid: str, client_id: str, blob: bytes) -> bytes:
    if len(blob) < IV_BYTES + TAG_BYTES:
        raise ValueError("too short for an encrypted file")
    return _aesgcm(key).decrypt(blob[:IV_BYTES], blob[IV_BYTES:], file_aad(kid, client_id))


# --- 7. safety code ------------------------------------------------------------------------------------

def safety_code(client_public_raw: bytes, team_public_raw: bytes) -> str:
    load_public(client_public_raw)
    load_public(team_public_raw)
    d = hashlib.sha256(SAFETY_PREFIX + client_public_raw + team_public_raw).digest()
    return " ".join(f"{int.from_bytes(d[5 * i:5 * i + 5], 'big') % 100_000:05d}" for i in range(4))


# --- test vectors --------------------------------------------------------------------------------------

def _fixed(name: str, length: int) -> bytes:
    """Deterministic bytes for the vectors (never for real keys)."""
    return hashlib.sha256(f"wegweiser-e2e-vector/{name}".encode()).digest()[:length]


def _fixed_private(name: str) -> bytes:
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    scalar = int.from_bytes(_fixed(name, 32), "big") % (order - 1) + 1
    return private_pkcs8(ec.derive_private_key(scalar, ec.SECP256R1()))


def _kid(name: str) -> str:
    return b64u_encode(_fixed(name, KID_BYTES))


def build_vectors() -> dict[str, Any]:
    """Every kind of value with fixed inputs; binary values are b64u."""
    e = b64u_encode
    kek = []
    for username, password, iterations in [
        ("jonas", "correct horse battery staple", 1000),
        ("Åsa.Lindqvist", "Pässwörd mit Leerzeichen und 🙂", 1000),
        ("İlkay_ΣΑΣ", "x", 1000),
    ]:
        kek.append({"username": username, "password": password, "iterations": iterations,
                    "salt": e(kek_salt(username)), "kek": e(derive_kek(username, password, iterations))})

    identity = []
    for name, username, password, iterations in [
        ("identity-a", "Maja.K", "Sommer in Göteborg 2025!", 1000),
        ("identity-b", "jonas", "correct horse battery staple", ITERATIONS),
    ]:
        pkcs8, r = _fixed_private(name), _fixed(f"{name}/recovery", RECOVERY_BYTES)
        iv_pw, iv_rec = _fixed(f"{name}/iv-password", IV_BYTES), _fixed(f"{name}/iv-recovery", IV_BYTES)
        made = create_identity(username, password, iterations=iterations, private_pkcs8=pkcs8,
                               iv_pw=iv_pw, iv_rec=iv_rec, recovery=r)
        identity.append({
            "username": username, "password": password, "iterations": iterations,
            "private_pkcs8": e(pkcs8), "iv_password": e(iv_pw), "iv_recovery": e(iv_rec),
            "recovery": e(r), "kek": e(derive_kek(username, password, iterations)),
            "recovery_key": made["recovery_key"], "recovery_auth": made["recovery_auth"],
            "bundle": made["bundle"],
        })

    recovery = []
    for name in ("recovery-a", "recovery-b"):
        r = _fixed(name, RECOVERY_BYTES)
        wrap_key, auth = recovery_keys(r)
        shown = recovery_encode(r)
        typed = [shown, shown.lower(), " ".join(shown.split("-")),
                 shown.replace("O", "0").replace("I", "1").replace("B", "8").lower()]
        recovery.append({"recovery": e(r), "display": shown, "typed": typed,
                         "wrap_key": e(wrap_key), "auth": e(auth)})
    zeros = recovery_encode(bytes(RECOVERY_BYTES))
    recovery_invalid = ["", "ABCD-EFGH", zeros + "A", zeros[:-1], "ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ23-4569",
                        zeros[:-1] + "Ä"]

    client = load_private(_fixed_private("identity-a"))
    counselor = load_private(_fixed_private("identity-b"))
    team_pkcs8 = _fixed_private("team")
    team_kid, conversation_kid = _kid("team-kid"), _kid("conversation-kid")
    conversation_key = _fixed("conversation-key", KEY_BYTES)
    seals = []
    for name, recipient, secret, label in [
        ("seal-plain", load_private(_fixed_private("recipient")), b"secret \x00\xff", "wegweiser/test/v1"),
        ("seal-conversation-client", client, conversation_key, conversation_key_label(conversation_kid)),
        ("seal-conversation-team", load_private(team_pkcs8), conversation_key,
         conversation_key_label(conversation_kid)),
        ("seal-team-counselor", counselor, team_pkcs8, team_key_label(team_kid)),
    ]:
        ephemeral, iv = _fixed_private(f"{name}/ephemeral"), _fixed(f"{name}/iv", IV_BYTES)
        seals.append({
            "name": name, "recipient_private_pkcs8": e(private_pkcs8(recipient)),
            "recipient_public": e(public_raw(recipient)), "ephemeral_private_pkcs8": e(ephemeral),
            "iv": e(iv), "label": label, "secret": e(secret),
            "sealed": seal(public_raw(recipient), secret, label, ephemeral_pkcs8=ephemeral, iv=iv),
        })

    client_id = "3f2c1e0a-9b8d-4c7e-a6f5-0123456789ab"
    long_text = ("Grüße aus Malmö – åäö ÅÄÖ ß € “quoted” " * 300)[:10_000]
    messages = []
    message_inputs: list[tuple[str, str, dict[str, Any]]] = [
        ("message-ascii", "client", {"text": "Hello, I need advice about my rent."}),
        ("message-unicode", "counselor",
         {"text": "Hej! Grüße från Malmö: ä å ö ß 🙂👍🏽 \"quoted\" \\ </script>\n\ttab "
                   "\u0001 \u007f \u2028 end"}),
        ("message-long", "client", {"text": long_text}),
        ("message-file", "client",
         {"text": "", "file": {"name": "Bescheid März 🙂.pdf", "type": "application/pdf", "size": 1024}}),
    ]
    for name, role, payload in message_inputs:
        iv = _fixed(f"{name}/iv", IV_BYTES)
        messages.append({
            "name": name, "key": e(conversation_key), "kid": conversation_kid, "client_id": client_id,
            "role": role, "iv": e(iv), "payload": payload,
            "envelope": encrypt_message(conversation_key, conversation_kid, client_id, role, payload, iv=iv),
        })

    files = []
    for name, data in [("file-1k", bytes(range(256)) * 4), ("file-empty", b"")]:
        iv = _fixed(f"{name}/iv", IV_BYTES)
        files.append({"name": name, "key": e(conversation_key), "kid": conversation_kid,
                      "client_id": client_id, "iv": e(iv), "data": e(data),
                      "blob": e(encrypt_file(conversation_key, conversation_kid, client_id, data, iv=iv))})

    team_public = public_raw(load_private(team_pkcs8))
    safety = [{"client_public": e(public_raw(client)), "team_public": e(team_public),
               "code": safety_code(public_raw(client), team_public)},
              {"client_public": e(team_public), "team_public": e(public_raw(client)),
               "code": safety_code(team_public, public_raw(client))}]

    return {
        "description": "Test vectors for docs/e2e-protocol.md (version 1), written by "
                       "`python -m tests.e2e_protocol`. Binary values are b64u.",
        "v": VERSION,
        "kek": kek,
        "identity": identity,
        "recovery": recovery,
        "recovery_invalid": recovery_invalid,
        "team": {"kid": team_kid, "private_pkcs8": e(team_pkcs8), "public": e(team_public)},
        "seal": seals,
        "message": messages,
        "file": files,
        "safety": safety,
    }


def write_vectors(path: Path = VECTORS) -> None:
    path.write_text(json.dumps(build_vectors(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_vectors()
    print(f"wrote {VECTORS}")
