"""Attachment files: type detection by content, file name cleaning, and encryption at rest.

Stored file format: 1 version byte, 1 key-id byte (0 = ``ATTACHMENT_KEY``, n = entry n - 1 of
``ATTACHMENT_KEY_FALLBACKS`` at the time of writing), a 12-byte random nonce, then the AES-256-GCM
ciphertext with its tag. The associated data is the storage name, so a file copied over another
attachment's file does not decrypt. Key ids shift when keys are rotated, so on reading the id is
tried first and every other configured key after it.
"""

from __future__ import annotations

import base64
import io
import os
import re
import tempfile
import unicodedata
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from filetype.types.archive import Pdf, Zip
from filetype.types.document import Docx
from filetype.types.image import Jpeg, Png

PDF = ("application/pdf", "pdf")
PNG = ("image/png", "png")
JPEG = ("image/jpeg", "jpg")
DOCX = (Docx.MIME, "docx")
ALLOWED_TYPES_LABEL = "PDF, JPEG, PNG, DOCX"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HEAD_BYTES = 8192  # what ``sniff`` needs as ``head``; more does no harm
ZIP_MAX_ENTRIES = 2000
ZIP_MAX_UNCOMPRESSED = 200 * 1000 * 1000

VERSION = 1
NONCE_BYTES = 12
_HEADER = 2 + NONCE_BYTES
_TAG_BYTES = 16
_STORAGE_NAME = re.compile(r"[0-9a-f]{32}")
_MAX_FILENAME = 200
_UNSAFE_CHARS = re.compile(r'[<>:"/\\|?*]')

# (filetype matcher, exact leading bytes, result). The matchers alone are looser (PNG: 4 bytes;
# PDF: also after a byte-order mark), so both have to agree.
_SIGNATURES = (
    (Pdf(), b"%PDF-", PDF),
    (Png(), PNG_SIGNATURE, PNG),
    (Jpeg(), b"\xff\xd8\xff", JPEG),
)


class StorageFormatError(ValueError):
    """A stored file that is not in the format above (truncated, unknown version)."""


# --- type detection -------------------------------------------------------------------------------

def sniff(head: bytes, data_or_file: bytes | IO[bytes]) -> tuple[str, str] | None:
    """(MIME type, canonical extension) of PDF, PNG, JPEG or DOCX content, else None.

    ``head`` is the start of the content; ``data_or_file`` the whole content (bytes or a seekable
    binary file), needed to look inside ZIP containers. The file name plays no part.
    """
    for matcher, magic, result in _SIGNATURES:
        if head.startswith(magic) and matcher.match(head):
            return result
    if head.startswith(b"PK\x03\x04") and Zip().match(head) and _is_docx(data_or_file):
        return DOCX
    return None


def _is_docx(data_or_file: bytes | IO[bytes]) -> bool:
    """A ZIP that Python can open, holding a Word document, not too large when unpacked. Nothing
    is decompressed: the sizes are the ones the archive declares (zip-bomb guard)."""
    source: IO[bytes] = io.BytesIO(data_or_file) if isinstance(data_or_file, bytes) else data_or_file
    position = source.tell()
    try:
        source.seek(0)
        with zipfile.ZipFile(source) as archive:
            entries = archive.infolist()
            if len(entries) > ZIP_MAX_ENTRIES:
                return False
            if sum(entry.file_size for entry in entries) > ZIP_MAX_UNCOMPRESSED:
                return False
            names = {entry.filename for entry in entries}
            return "[Content_Types].xml" in names and "word/document.xml" in names
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, EOFError, OSError):
        return False
    finally:
        source.seek(position)


def clean_filename(name: str | None, extension: str) -> str:
    """The base name of ``name`` without directories, control or formatting characters (such as
    right-to-left overrides) or characters that are unsafe on common file systems, at most 200
    characters, with its extension replaced by ``extension``."""
    base = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if not unicodedata.category(ch).startswith("C"))
    base = _UNSAFE_CHARS.sub("_", base).strip(" .")
    stem = base.rsplit(".", 1)[0].strip(" .") if "." in base else base
    suffix = f".{extension}"
    stem = stem[: _MAX_FILENAME - len(suffix)].rstrip(" .") or "attachment"
    return stem + suffix


# --- encryption at rest ---------------------------------------------------------------------------

def new_storage_name() -> str:
    """A fresh random storage name; never derived from anything the user sent."""
    return uuid.uuid4().hex


def _decode_key(value: str) -> bytes:
    key = base64.b64decode(value, validate=True)
    if len(key) != 32:
        raise ImproperlyConfigured("Attachment keys must be 32 bytes, base64.")
    return key


def _keys() -> list[bytes]:
    """Index 0 is the current key, index n the fallback n - 1 (the key id in the file header)."""
    if settings.ATTACHMENT_KEY:
        primary = _decode_key(settings.ATTACHMENT_KEY)
    elif settings.DEBUG:
        primary = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                       info=b"wegweiser counseling attachment key").derive(settings.SECRET_KEY.encode())
    else:
        raise ImproperlyConfigured("ATTACHMENT_KEY: this setting is required (32 bytes, base64).")
    return [primary, *(_decode_key(value) for value in settings.ATTACHMENT_KEY_FALLBACKS)]


def storage_path(storage_name: str) -> Path:
    if not _STORAGE_NAME.fullmatch(storage_name):
        raise ValueError("invalid storage name")
    return Path(settings.ATTACHMENT_ROOT) / storage_name


def encrypt_to_storage(storage_name: str, data: bytes) -> None:
    """Encrypt ``data`` with the current key and write it atomically (mode 0600)."""
    path = storage_path(storage_name)
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_keys()[0]).encrypt(nonce, data, storage_name.encode())
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(bytes([VERSION, 0]) + nonce + sealed)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def decrypt_from_storage(storage_name: str) -> bytes:
    """The plaintext. Raises FileNotFoundError, StorageFormatError, or
    ``cryptography.exceptions.InvalidTag`` when no configured key fits or the file was altered
    or belongs to another storage name."""
    raw = storage_path(storage_name).read_bytes()
    if len(raw) < _HEADER + _TAG_BYTES or raw[0] != VERSION:
        raise StorageFormatError("not an attachment file of a known version")
    key_id, nonce, sealed = raw[1], raw[2:_HEADER], raw[_HEADER:]
    keys = _keys()
    order = [key_id] if key_id < len(keys) else []
    order += [index for index in range(len(keys)) if index != key_id]
    for index in order:
        try:
            return AESGCM(keys[index]).decrypt(nonce, sealed, storage_name.encode())
        except InvalidTag:
            continue
    raise InvalidTag


def delete_from_storage(storage_name: str) -> None:
    """Remove the stored file; a file that is already gone is fine."""
    storage_path(storage_name).unlink(missing_ok=True)


@contextmanager
def removed_on_error(*storage_names: str) -> Iterator[None]:
    """Around the transaction that writes files' rows and then the files: when anything in it
    fails (and the rows are rolled back), the files go too."""
    try:
        yield
    except BaseException:
        for storage_name in storage_names:
            delete_from_storage(storage_name)
        raise
