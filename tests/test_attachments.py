"""Attachments: type detection by content, limits, encryption at rest, all-or-nothing upload."""

from __future__ import annotations

import base64
import io
import json
import os
import stat
import struct
import zipfile
import zlib
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone

from wegweiser.core.models import AuditEntry
from wegweiser.counseling import actions, attachments, events, files
from wegweiser.counseling.access import access_attachment
from wegweiser.counseling.models import Attachment, Conversation, Message

pytestmark = pytest.mark.django_db

KEY_A = base64.b64encode(b"A" * 32).decode()
KEY_B = base64.b64encode(b"B" * 32).decode()


# --- real, minimal files --------------------------------------------------------------------------

def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)  # 2x2 pixels, 8-bit RGB
    pixels = zlib.compress(b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def pdf_bytes(text: str = "Kontoauszug Mia") -> bytes:
    stream = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def jpeg_bytes() -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + b"\xff\xfe\x00\x08Notiz\x00" + b"\xff\xd9"


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


DOCX_ENTRIES = {
    "[Content_Types].xml": (
        b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/'
        b'2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
        b'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        b'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.wordprocessingml.document.main+xml"/></Types>'
    ),
    "_rels/.rels": (
        b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        b'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'
    ),
    "word/document.xml": (
        b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
        b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Mahnung der Bank</w:t></w:r></w:p>'
        b"</w:body></w:document>"
    ),
}


def docx_bytes() -> bytes:
    return zip_bytes(DOCX_ENTRIES)


EXE = (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48
       + b"This program cannot be run in DOS mode")
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# --- helpers --------------------------------------------------------------------------------------

@pytest.fixture
def store(settings: Any, tmp_path: Path) -> Path:
    settings.ATTACHMENT_ROOT = tmp_path
    settings.ATTACHMENT_KEY = KEY_A
    settings.ATTACHMENT_KEY_FALLBACKS = []
    return tmp_path


def upload(user: Any, conversation: Conversation, name: str, data: bytes) -> Attachment:
    return attachments.attachment_upload(user=user, conversation=conversation,
                                         upload=SimpleUploadedFile(name, data))


def stored_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def snapshot(conversation: Conversation, root: Path) -> tuple[int, int, int, list[str], int]:
    conversation = Conversation.objects.get(pk=conversation.pk)
    return (Attachment.objects.count(), Message.objects.filter(conversation=conversation).count(),
            conversation.last_seq, stored_files(root),
            AuditEntry.objects.filter(action__startswith="attachment.").count())


# --- accepted types -------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "make", "mime", "stored_name"), [
    ("Kontoauszug.pdf", pdf_bytes, "application/pdf", "Kontoauszug.pdf"),
    ("foto.png", png_bytes, "image/png", "foto.png"),
    ("scan.jpeg", jpeg_bytes, "image/jpeg", "scan.jpg"),
    ("Mahnung.docx", docx_bytes, DOCX_MIME, "Mahnung.docx"),
])
def test_accepted_types_round_trip_encrypted(counseling: SimpleNamespace, mia: Any, store: Path,
                                             name: str, make: Any, mime: str, stored_name: str) -> None:
    data = make()
    attachment = upload(mia, counseling.conversation, name, data)

    assert (attachment.content_type, attachment.filename, attachment.size) == (mime, stored_name, len(data))
    assert attachment.conversation == counseling.conversation
    assert attachment.uploaded_by == mia
    message = attachment.message
    assert (message.body, message.sender, message.sender_role) == (stored_name, mia, "client")
    assert message.seq == Conversation.objects.get(pk=counseling.conversation.pk).last_seq

    path = store / attachment.storage_name
    assert stored_files(store) == [attachment.storage_name]
    raw = path.read_bytes()
    assert raw[0] == files.VERSION and raw[1] == 0  # version 1, current key
    assert data not in raw and data[:16] not in raw and len(raw) == len(data) + 2 + 12 + 16
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert attachments.attachment_read(user=mia, attachment=attachment) == data


def test_storage_name_is_random_and_not_the_file_name(counseling: SimpleNamespace, mia: Any,
                                                      store: Path) -> None:
    first = upload(mia, counseling.conversation, "a.pdf", pdf_bytes())
    second = upload(mia, counseling.conversation, "a.pdf", pdf_bytes())
    for attachment in (first, second):
        assert len(attachment.storage_name) == 32
        int(attachment.storage_name, 16)
    assert first.storage_name != second.storage_name


def test_extension_follows_the_content_not_the_name(counseling: SimpleNamespace, mia: Any,
                                                    store: Path) -> None:
    attachment = upload(mia, counseling.conversation, "bild.pdf", png_bytes())
    assert (attachment.filename, attachment.content_type) == ("bild.png", "image/png")


def test_counselor_upload_is_a_counselor_message(counseling: SimpleNamespace, jonas: Any,
                                                 store: Path) -> None:
    attachment = upload(jonas, counseling.conversation, "Infoblatt.pdf", pdf_bytes())
    assert attachment.message.sender_role == "counselor"
    assert attachment.uploaded_by == jonas


def test_message_with_attachment_is_published_after_commit_only(
    counseling: SimpleNamespace, mia: Any, store: Path, monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(events, "send", lambda group, event: sent.append((group, event)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        attachment = upload(mia, counseling.conversation, "Brief.pdf", pdf_bytes())
    assert sent == []
    for callback in callbacks:
        callback()
    frames = [json.loads(event["text"]) for _, event in sent if event["type"] == "chat.frame"]
    assert len(frames) == 1
    message = frames[0]["message"]
    assert message["id"] == str(attachment.message.public_id)
    assert message["body"] == "Brief.pdf"
    assert message["attachment"] == {"id": str(attachment.public_id), "name": "Brief.pdf",
                                     "size": attachment.size, "content_type": "application/pdf"}
    assert sent[0][0] == events.conversation_group(counseling.conversation.public_id)


# --- refused content: nothing is created ----------------------------------------------------------

@pytest.mark.parametrize(("name", "data"), [
    ("rechnung.pdf", EXE),
    ("brief.docx", zip_bytes({"hello.txt": b"just a zip"})),
    ("tabelle.docx", zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"})),
    ("bild.png", HTML),
    ("bild.png", b"\x89PNG\r\n" + b"<html>"),  # truncated signature
    ("notiz.pdf", b"%PDX-1.4 not a pdf"),
    ("brief.docx", b"PK\x03\x04" + b"\x00" * 200),  # ZIP header, no archive
])
def test_disguised_files_are_refused(counseling: SimpleNamespace, mia: Any, store: Path,
                                     name: str, data: bytes) -> None:
    before = snapshot(counseling.conversation, store)
    with pytest.raises(ValidationError) as caught:
        upload(mia, counseling.conversation, name, data)
    assert caught.value.code == "file_type"
    assert "PDF, JPEG, PNG, DOCX" in caught.value.messages[0]
    assert snapshot(counseling.conversation, store) == before
    assert stored_files(store) == []


def test_sniff_uses_content_only() -> None:
    assert files.sniff(pdf_bytes()[:8192], pdf_bytes()) == ("application/pdf", "pdf")
    assert files.sniff(png_bytes(), png_bytes()) == ("image/png", "png")
    assert files.sniff(jpeg_bytes(), jpeg_bytes()) == ("image/jpeg", "jpg")
    assert files.sniff(docx_bytes()[:8192], io.BytesIO(docx_bytes())) == (DOCX_MIME, "docx")
    assert files.sniff(EXE, EXE) is None
    assert files.sniff(HTML, HTML) is None
    assert files.sniff(b"", b"") is None
    assert files.sniff(b"\xef\xbb\xbf%PDF-1.4", b"\xef\xbb\xbf%PDF-1.4") is None


def test_sniff_leaves_a_file_position_unchanged() -> None:
    handle = io.BytesIO(docx_bytes())
    handle.seek(7)
    assert files.sniff(docx_bytes()[:8192], handle) is not None
    assert handle.tell() == 7


def test_zip_bomb_docx_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in DOCX_ENTRIES.items():
            archive.writestr(name, data)
        with archive.open("word/media/zeros.bin", "w", force_zip64=True) as entry:
            block = bytes(1 << 20)
            for _ in range(201):  # 201 MiB unpacked, under 1 MB packed
                entry.write(block)
    data = out.getvalue()
    assert len(data) < 2_000_000
    assert files.sniff(data[:8192], data) is None


def test_docx_with_too_many_entries_is_refused() -> None:
    entries = dict(DOCX_ENTRIES)
    allowed = zip_bytes({**entries, **{f"word/media/{i}.xml": b"x" for i in range(2000 - len(entries))}})
    assert files.sniff(allowed[:8192], allowed) == (DOCX_MIME, "docx")
    too_many = zip_bytes({**entries, **{f"word/media/{i}.xml": b"x" for i in range(2001 - len(entries))}})
    assert files.sniff(too_many[:8192], too_many) is None


# --- limits ---------------------------------------------------------------------------------------

def test_size_limit(counseling: SimpleNamespace, mia: Any, store: Path, settings: Any) -> None:
    data = pdf_bytes()
    settings.ATTACHMENT_MAX_BYTES = len(data)
    assert upload(mia, counseling.conversation, "genau.pdf", data).size == len(data)
    before = snapshot(counseling.conversation, store)
    with pytest.raises(ValidationError) as caught:
        upload(mia, counseling.conversation, "zu-gross.pdf", data + b"\n")
    assert caught.value.code == "too_large"
    assert snapshot(counseling.conversation, store) == before


def test_empty_file_is_refused(counseling: SimpleNamespace, mia: Any, store: Path) -> None:
    before = snapshot(counseling.conversation, store)
    with pytest.raises(ValidationError) as caught:
        upload(mia, counseling.conversation, "leer.pdf", b"")
    assert caught.value.code == "empty"
    assert snapshot(counseling.conversation, store) == before


def test_only_max_plus_one_bytes_are_read(counseling: SimpleNamespace, mia: Any, store: Path,
                                          settings: Any) -> None:
    settings.ATTACHMENT_MAX_BYTES = 1000
    big = SimpleUploadedFile("gross.pdf", b"%PDF-" + b"x" * 50_000)
    with pytest.raises(ValidationError):
        attachments.attachment_upload(user=mia, conversation=counseling.conversation, upload=big)
    assert big.file is not None
    assert big.file.tell() == 1001


def test_daily_limit(counseling: SimpleNamespace, mia: Any, jonas: Any, store: Path, settings: Any) -> None:
    settings.ATTACHMENTS_PER_DAY = 2
    first = upload(mia, counseling.conversation, "1.pdf", pdf_bytes())
    upload(mia, counseling.conversation, "2.pdf", pdf_bytes())
    before = snapshot(counseling.conversation, store)
    with pytest.raises(ValidationError) as caught:
        upload(mia, counseling.conversation, "3.pdf", pdf_bytes())
    assert caught.value.code == "rate_limited"
    assert snapshot(counseling.conversation, store) == before

    # The limit is per user, and uploads older than 24 hours no longer count.
    upload(jonas, counseling.conversation, "antwort.pdf", pdf_bytes())
    Attachment.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    upload(mia, counseling.conversation, "3.pdf", pdf_bytes())


# --- closed conversations and failures: all or nothing --------------------------------------------

def test_closed_conversation_is_refused(counseling: SimpleNamespace, mia: Any, jonas: Any,
                                        store: Path) -> None:
    actions.conversation_close(actor=jonas, conversation=counseling.conversation)
    conversation = Conversation.objects.get(pk=counseling.conversation.pk)
    before = snapshot(conversation, store)
    with pytest.raises(ValidationError) as caught:
        upload(mia, conversation, "spaet.pdf", pdf_bytes())
    assert caught.value.code == "closed"
    with pytest.raises(ValidationError) as caught:  # checked before anything else
        upload(mia, conversation, "spaet.pdf", EXE)
    assert caught.value.code == "closed"
    assert snapshot(conversation, store) == before


def test_counselor_cannot_attach_to_an_enquiry_not_yet_accepted(counseling: SimpleNamespace, mia: Any,
                                                                 jonas: Any, store: Path) -> None:
    enquiry = actions.enquiry_create(client=mia, agency=counseling.agency_a, topic=counseling.topic,
                                     body="Noch eine Frage.")
    before = snapshot(enquiry, store)
    with pytest.raises(ValidationError) as caught:
        upload(jonas, enquiry, "info.pdf", pdf_bytes())
    assert caught.value.code == "closed"
    assert snapshot(enquiry, store) == before
    assert upload(mia, enquiry, "nachweis.pdf", pdf_bytes()).message.sender_role == "client"


def test_conversation_closed_meanwhile_leaves_nothing(counseling: SimpleNamespace, mia: Any,
                                                      store: Path) -> None:
    stale = counseling.conversation  # still says "active" in memory
    Conversation.objects.filter(pk=stale.pk).update(status=Conversation.Status.CLOSED)
    before = snapshot(stale, store)
    with pytest.raises(ValidationError) as caught:
        upload(mia, stale, "spaet.pdf", pdf_bytes())
    assert caught.value.code == "closed"
    assert snapshot(stale, store) == before


def test_failure_after_writing_the_file_removes_it(counseling: SimpleNamespace, mia: Any, store: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[str] = []
    real_encrypt = files.encrypt_to_storage

    def encrypt(storage_name: str, data: bytes) -> None:
        real_encrypt(storage_name, data)
        written.append(storage_name)

    def broken_audit(**kwargs: Any) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(files, "encrypt_to_storage", encrypt)
    monkeypatch.setattr(attachments, "audit_record", broken_audit)
    before = snapshot(counseling.conversation, store)
    with pytest.raises(RuntimeError):
        upload(mia, counseling.conversation, "brief.pdf", pdf_bytes())
    assert len(written) == 1  # the file had been written ...
    assert snapshot(counseling.conversation, store) == before  # ... and is gone with everything else


def test_failed_write_leaves_no_temporary_file(counseling: SimpleNamespace, mia: Any, store: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_replace(src: str, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", failing_replace)
    before = snapshot(counseling.conversation, store)
    with pytest.raises(OSError, match="disk full"):
        upload(mia, counseling.conversation, "brief.pdf", pdf_bytes())
    assert snapshot(counseling.conversation, store) == before


# --- keys -----------------------------------------------------------------------------------------

def test_wrong_key_does_not_decrypt(counseling: SimpleNamespace, mia: Any, store: Path,
                                    settings: Any) -> None:
    attachment = upload(mia, counseling.conversation, "brief.pdf", pdf_bytes())
    settings.ATTACHMENT_KEY = KEY_B
    with pytest.raises(InvalidTag):
        files.decrypt_from_storage(attachment.storage_name)
    with pytest.raises(InvalidTag):
        attachments.attachment_read(user=mia, attachment=attachment)
    assert not AuditEntry.objects.filter(action="attachment.downloaded").exists()


def test_swapped_or_altered_files_do_not_decrypt(counseling: SimpleNamespace, mia: Any, store: Path) -> None:
    first = upload(mia, counseling.conversation, "a.pdf", pdf_bytes("erste"))
    second = upload(mia, counseling.conversation, "b.pdf", pdf_bytes("zweite"))
    first_raw = (store / first.storage_name).read_bytes()
    (store / second.storage_name).write_bytes(first_raw)
    with pytest.raises(InvalidTag):
        files.decrypt_from_storage(second.storage_name)

    altered = bytearray(first_raw)
    altered[-20] ^= 1
    (store / first.storage_name).write_bytes(bytes(altered))
    with pytest.raises(InvalidTag):
        files.decrypt_from_storage(first.storage_name)

    (store / first.storage_name).write_bytes(b"\x02" + first_raw[1:])
    with pytest.raises(files.StorageFormatError):
        files.decrypt_from_storage(first.storage_name)


def test_fallback_key_decrypts_after_rotation(counseling: SimpleNamespace, mia: Any, store: Path,
                                              settings: Any) -> None:
    old = upload(mia, counseling.conversation, "alt.pdf", pdf_bytes("alt"))
    settings.ATTACHMENT_KEY = KEY_B
    settings.ATTACHMENT_KEY_FALLBACKS = [KEY_A]
    assert files.decrypt_from_storage(old.storage_name) == pdf_bytes("alt")
    new = upload(mia, counseling.conversation, "neu.pdf", pdf_bytes("neu"))
    assert (store / new.storage_name).read_bytes()[1] == 0

    settings.ATTACHMENT_KEY_FALLBACKS = []  # the old key retired: old files are unreadable
    assert files.decrypt_from_storage(new.storage_name) == pdf_bytes("neu")
    with pytest.raises(InvalidTag):
        files.decrypt_from_storage(old.storage_name)


def test_debug_derives_a_key_from_secret_key(settings: Any, tmp_path: Path) -> None:
    settings.ATTACHMENT_ROOT = tmp_path
    settings.ATTACHMENT_KEY = ""
    settings.ATTACHMENT_KEY_FALLBACKS = []
    settings.DEBUG = True
    name = files.new_storage_name()
    files.encrypt_to_storage(name, b"%PDF-1.4 dev")
    assert files.decrypt_from_storage(name) == b"%PDF-1.4 dev"
    settings.SECRET_KEY = "another-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
    with pytest.raises(InvalidTag):
        files.decrypt_from_storage(name)
    settings.DEBUG = False
    with pytest.raises(ImproperlyConfigured):
        files.encrypt_to_storage(files.new_storage_name(), b"x")


def test_storage_names_cannot_leave_the_directory(store: Path) -> None:
    for bad in ("../escape", "/etc/passwd", "ABCDEF" * 6, ""):
        with pytest.raises(ValueError):
            files.encrypt_to_storage(bad, b"x")
        with pytest.raises(ValueError):
            files.decrypt_from_storage(bad)
    files.delete_from_storage(files.new_storage_name())  # missing file: fine


def test_delete_removes_the_file(store: Path) -> None:
    name = files.new_storage_name()
    files.encrypt_to_storage(name, b"data")
    files.delete_from_storage(name)
    assert stored_files(store) == []


# --- audit and reading ----------------------------------------------------------------------------

def test_audit_entries_have_no_file_names(counseling: SimpleNamespace, mia: Any, jonas: Any,
                                          store: Path) -> None:
    attachment = upload(mia, counseling.conversation, "Geheime-Diagnose.pdf", pdf_bytes())
    assert attachments.attachment_read(user=jonas, attachment=attachment) == pdf_bytes()

    uploaded = AuditEntry.objects.get(action="attachment.uploaded")
    assert uploaded.actor == mia.public_id
    assert uploaded.node == counseling.agency_a.node
    assert uploaded.object_id == str(attachment.public_id)
    assert uploaded.data == {"size": len(pdf_bytes()), "type": "application/pdf"}
    downloaded = AuditEntry.objects.get(action="attachment.downloaded")
    assert (downloaded.actor, downloaded.object_id) == (jonas.public_id, str(attachment.public_id))
    assert downloaded.node == counseling.agency_a.node
    for entry in AuditEntry.objects.all():
        dumped = json.dumps(entry.data) + entry.object_type + entry.object_id
        assert "Geheime" not in dumped and "Diagnose" not in dumped


def test_access_is_the_callers_check(counseling: SimpleNamespace, mia: Any, jonas: Any, lars: Any,
                                     store: Path) -> None:
    attachment = upload(mia, counseling.conversation, "brief.pdf", pdf_bytes())
    assert access_attachment(jonas, attachment.public_id) == attachment
    assert access_attachment(mia, str(attachment.public_id)) == attachment
    with pytest.raises(Http404):
        access_attachment(lars, attachment.public_id)


# --- file names -----------------------------------------------------------------------------------

def test_path_in_upload_name_is_dropped(counseling: SimpleNamespace, mia: Any, store: Path) -> None:
    attachment = upload(mia, counseling.conversation, "../../etc/passwd.pdf", pdf_bytes())
    assert attachment.filename == "passwd.pdf"
    assert attachment.message.body == "passwd.pdf"
    assert stored_files(store) == [attachment.storage_name]
    assert not (store.parent / "etc").exists()


@pytest.mark.parametrize(("name", "expected"), [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("..\\..\\Windows\\system32\\evil.pdf", "evil.pdf"),
    ("/absolute/path/brief.docx", "brief.pdf"),
    ("Rechnung\x00\x1b[31m\r\n.pdf", "Rechnung[31m.pdf"),
    ("foto\u202egnp.exe", "fotognp.pdf"),  # right-to-left override removed
    ("report.pdf.exe", "report.pdf.pdf"),
    ('a<b>c:"d"|e?*.pdf', "a_b_c__d__e__.pdf"),
    (".bashrc", "bashrc.pdf"),
    ("...", "attachment.pdf"),
    ("", "attachment.pdf"),
    (None, "attachment.pdf"),
    ("Straße Ärger.pdf", "Straße Ärger.pdf"),
])
def test_clean_filename(name: str | None, expected: str) -> None:
    assert files.clean_filename(name, "pdf") == expected


def test_clean_filename_limits_length() -> None:
    cleaned = files.clean_filename("x" * 300 + ".pdf", "docx")
    assert len(cleaned) == 200
    assert cleaned.endswith("x.docx")
    assert "/" not in files.clean_filename("a/" * 150 + "b.pdf", "pdf")


def test_no_temporary_files_remain(store: Path) -> None:
    name = files.new_storage_name()
    files.encrypt_to_storage(name, os.urandom(1000))
    assert stored_files(store) == [name]
