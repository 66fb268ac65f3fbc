"""Every message in German, Swedish and English; catalogs compiled and complete."""

from __future__ import annotations

import gettext
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

import wegweiser

LOCALE = Path(wegweiser.__file__).parent / "locale"
LANGUAGES = ["de", "sv", "en"]


def catalogs() -> list[Path]:
    found = sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))
    assert {p.parts[-3] for p in found} == set(LANGUAGES)
    return found


@pytest.mark.parametrize("po_path", catalogs(), ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_catalog_is_complete(po_path: Path) -> None:
    catalog = polib.pofile(str(po_path))
    untranslated = [e.msgid for e in catalog.untranslated_entries()]
    fuzzy = [e.msgid for e in catalog.fuzzy_entries()]
    assert not untranslated, f"untranslated in {po_path}: {untranslated[:5]}"
    assert not fuzzy, f"fuzzy in {po_path}: {fuzzy[:5]}"


@pytest.mark.parametrize("po_path", catalogs(), ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_compiled_catalog_matches_source(po_path: Path) -> None:
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} missing: run make compilemessages"
    with mo_path.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in polib.pofile(str(po_path)).translated_entries():
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        if entry.msgid_plural:
            assert compiled.ngettext(entry.msgid, entry.msgid_plural, 1) == entry.msgstr_plural[0]
        else:
            assert compiled._catalog.get(key) == entry.msgstr, f"stale .mo: {entry.msgid!r}"  # type: ignore[attr-defined]


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext tools not installed")
def test_every_source_string_is_in_the_catalogs(tmp_path: Path) -> None:
    """makemessages over a copy of the sources finds nothing the catalogs lack."""
    package = Path(wegweiser.__file__).parent
    copy = tmp_path / "wegweiser"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "de", "--no-obsolete",
         "--settings=wegweiser.settings"],
        cwd=copy, check=True, capture_output=True, timeout=120,
    )
    fresh = {e.msgid for e in polib.pofile(str(copy / "locale/de/LC_MESSAGES/django.po"))}
    for language in LANGUAGES:
        known = {e.msgid for e in polib.pofile(str(LOCALE / language / "LC_MESSAGES/django.po"))
                 if not e.obsolete}
        missing = sorted(fresh - known)
        assert not missing, f"{language}: run make messages and translate: {missing[:5]}"
