"""What the server checks of end-to-end encrypted data (docs/e2e-protocol.md). It never holds a
key that opens anything: it checks shapes and sizes, so that malformed data is refused before it
is stored, and relays the rest. Each check raises ``ValidationError`` with a translated message
(code ``invalid`` or ``too_large``); the socket turns that into an ``error`` frame.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MIN_ITERATIONS = 600_000
MAX_ITERATIONS = 10_000_000
MAX_CIPHERTEXT = 61_440  # bytes: 10,000 characters even if each is JSON-escaped (6 bytes), plus the tag
KID_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")
_B64U_RE = re.compile(r"^[A-Za-z0-9_-]*$")


def b64u_decode(value: object, *, what: str = "value") -> bytes:
    """Strict base64url without padding: anything non-canonical is refused."""
    if not isinstance(value, str) or not _B64U_RE.match(value) or len(value) % 4 == 1:
        raise malformed(what)
    try:
        data = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise malformed(what) from None
    if b64u_encode(data) != value:
        raise malformed(what)
    return data


def b64u_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def malformed(what: str) -> ValidationError:
    """The one error for encrypted data in the wrong shape; ``what`` names the part."""
    return ValidationError(_("Malformed encrypted data (%(what)s).") % {"what": what}, code="invalid")


def _object(value: object, keys: set[str], what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != keys:
        raise malformed(what)
    return value


def kid(value: object, what: str = "key id") -> str:
    if not isinstance(value, str) or not KID_RE.match(value):
        raise malformed(what)
    return value


def public_key(value: object, what: str = "public key") -> str:
    """A P-256 public key as its raw uncompressed point (65 bytes, 0x04 first)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    raw = b64u_decode(value, what=what)
    if len(raw) != 65 or raw[0] != 4:
        raise malformed(what)
    try:  # a point off the curve would make every browser that uses it fail
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise malformed(what) from None
    return str(value)


def _iv(value: object, what: str) -> str:
    if len(b64u_decode(value, what=what)) != 12:
        raise malformed(what)
    return str(value)


def _ciphertext(value: object, what: str, *, min_bytes: int = 17, max_bytes: int = 4096) -> str:
    data = b64u_decode(value, what=what)
    if len(data) > max_bytes:
        raise ValidationError(_("The encrypted data is too large."), code="too_large")
    if len(data) < min_bytes:
        raise malformed(what)
    return str(value)


@dataclass(frozen=True, slots=True)
class Envelope:
    """An encrypted message as the socket carries it: ``{"v": 1, "key", "iv", "ct"}``."""

    key: str
    iv: str
    ct: str


def envelope(value: object) -> Envelope:
    data = _object(value, {"v", "key", "iv", "ct"}, "encrypted")
    if data["v"] != 1 or isinstance(data["v"], bool):
        raise malformed("encrypted.v")
    return Envelope(key=kid(data["key"], "encrypted.key"), iv=_iv(data["iv"], "encrypted.iv"),
                    ct=_ciphertext(data["ct"], "encrypted.ct", max_bytes=MAX_CIPHERTEXT))


def envelope_json(key: str, iv: str, ct: str) -> dict[str, Any]:
    return {"v": 1, "key": key, "iv": iv, "ct": ct}


def sealed(value: object, what: str = "sealed key") -> dict[str, str]:
    """A secret sealed to a public key (protocol §2): ``{"epk", "iv", "ct"}``; the largest
    secret sealed is a PKCS #8 P-256 private key (138 bytes)."""
    data = _object(value, {"epk", "iv", "ct"}, what)
    return {"epk": public_key(data["epk"], what), "iv": _iv(data["iv"], what),
            "ct": _ciphertext(data["ct"], what, min_bytes=32 + 16, max_bytes=512)}


def kek_salt(username: str) -> bytes:
    return hashlib.sha256(b"wegweiser/kek/v1\x00" + username.lower().encode()).digest()


def identity_bundle(value: object, *, username: str) -> dict[str, Any]:
    """The identity bundle (protocol §1.3), with the salt the username gives and at least
    600,000 PBKDF2 iterations."""
    data = _object(value, {"v", "public", "password", "recovery"}, "bundle")
    if data["v"] != 1 or isinstance(data["v"], bool):
        raise malformed("bundle.v")
    return {"v": 1, "public": public_key(data["public"]),
            "password": password_wrap(data["password"], username=username),
            "recovery": wrapped(data["recovery"], "bundle.recovery")}


def wrapped(value: object, what: str) -> dict[str, str]:
    """A private key wrapped with a symmetric key: ``{"iv", "ct"}`` (PKCS #8 plus the tag)."""
    data = _object(value, {"iv", "ct"}, what)
    return {"iv": _iv(data["iv"], what), "ct": _ciphertext(data["ct"], what, min_bytes=64, max_bytes=512)}


def password_wrap(value: object, *, username: str) -> dict[str, Any]:
    data = _object(value, {"kdf", "iter", "salt", "iv", "ct"}, "bundle.password")
    iterations = data["iter"]
    if data["kdf"] != "pbkdf2-sha256" or not isinstance(iterations, int) or isinstance(iterations, bool):
        raise malformed("bundle.password")
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise ValidationError(_("The key must be protected with at least %(n)s iterations.")
                              % {"n": f"{MIN_ITERATIONS:,}"}, code="invalid")
    if b64u_decode(data["salt"], what="bundle.password.salt") != kek_salt(username):
        raise malformed("bundle.password.salt")
    return {"kdf": "pbkdf2-sha256", "iter": iterations, "salt": data["salt"],
            **wrapped({"iv": data["iv"], "ct": data["ct"]}, "bundle.password")}


def recovery_proof(value: object) -> str:
    """The recovery proof (protocol §1.2): 32 bytes, b64u."""
    if len(b64u_decode(value, what="recovery")) != 32:
        raise malformed("recovery")
    return str(value)


@dataclass(frozen=True, slots=True)
class EnquiryKeys:
    """What the browser sends with an encrypted enquiry: the conversation key's id, the key
    sealed to the client and to the agency's current team key, and the first message."""

    key: str
    team_key: str
    client_grant: dict[str, str]
    team_grant: dict[str, str]
    message: Envelope
    client_id: Any
    identity: object  # a new client's identity bundle (checked when stored) …
    recovery: object  # … and its recovery proof


def enquiry(value: object) -> EnquiryKeys:
    import uuid

    if not isinstance(value, str) or len(value) > 200_000:
        raise malformed("e2e")
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        raise malformed("e2e") from None
    data = _object(data, {"key", "team_key", "client_grant", "team_grant", "message", "client_id",
                          "identity", "recovery"}, "e2e")
    message = envelope(data["message"])
    if message.key != data["key"]:
        raise malformed("e2e.message.key")
    try:
        client_id = uuid.UUID(str(data["client_id"]))
    except ValueError:
        raise malformed("e2e.client_id") from None
    return EnquiryKeys(key=kid(data["key"]), team_key=kid(data["team_key"]),
                       client_grant=sealed(data["client_grant"]), team_grant=sealed(data["team_grant"]),
                       message=message, client_id=client_id,
                       identity=data["identity"], recovery=data["recovery"])
