"""The self-check's questionnaire is data: versioned YAML files in ``questionnaires/`` (one per
version, never changed once used: a new wording is a new version), with every text in German,
Swedish and English. Loading refuses anything unexpected and names the file and the place, so a
broken file stops the start instead of a check.

Scale (fixed, the DRK Digital-Check's): 1 "does not apply" … 4 "fully applies", and 0 "don't know
/ not applicable", which never counts as a low score.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.utils.translation import get_language

FOLDER = Path(__file__).resolve().parent / "questionnaires"
LANGUAGES = ("de", "sv", "en")
DIMENSIONS = ("strategy", "staff", "collaboration", "services", "it_security")
BANDS = ("start", "developing", "established", "advanced")
TOOL_CATEGORIES = ("messenger", "video", "online_counseling", "documentation", "collaboration", "scheduling")
DONT_KNOW = 0
VALUES = (0, 1, 2, 3, 4)
_KEY = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")


class QuestionnaireError(ValueError):
    pass


@dataclass(frozen=True)
class Text:
    de: str
    sv: str
    en: str

    def __str__(self) -> str:
        language = (get_language() or "de")[:2]
        return str(getattr(self, language, self.de) if language in LANGUAGES else self.de)


@dataclass(frozen=True)
class Statement:
    key: str
    dimension: str
    text: Text
    help: Text | None


@dataclass(frozen=True)
class Resource:
    title: Text
    url: str


@dataclass(frozen=True)
class Dimension:
    key: str
    label: Text
    description: Text
    statements: tuple[Statement, ...]
    recommendations: dict[str, Text]
    tool_categories: tuple[str, ...]
    resources: tuple[Resource, ...]
    idea_keywords: Text


@dataclass(frozen=True)
class Questionnaire:
    version: str
    published: dt.date
    title: Text
    sources: tuple[Resource, ...]
    dimensions: tuple[Dimension, ...]
    statements: tuple[Statement, ...] = field(init=False)
    by_key: dict[str, Statement] = field(init=False)

    def __post_init__(self) -> None:
        statements = tuple(s for d in self.dimensions for s in d.statements)
        object.__setattr__(self, "statements", statements)
        object.__setattr__(self, "by_key", {s.key: s for s in statements})

    def dimension(self, key: str) -> Dimension:
        return next(d for d in self.dimensions if d.key == key)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> QuestionnaireError:
        return QuestionnaireError(f"{self.path.name}: {where}: {problem}")

    def mapping(
        self, value: Any, where: str, required: set[str], optional: Set[str] = frozenset()
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "expected a mapping")
        missing = required - value.keys()
        unknown = value.keys() - required - optional
        if missing:
            raise self.fail(where, f"missing {sorted(missing)}")
        if unknown:
            raise self.fail(where, f"unknown keys {sorted(unknown)}")
        return value

    def text(self, value: Any, where: str) -> Text:
        mapping = self.mapping(value, where, set(LANGUAGES))
        for language in LANGUAGES:
            if not isinstance(mapping[language], str) or not mapping[language].strip():
                raise self.fail(f"{where}.{language}", "expected a text")
        return Text(**{language: mapping[language].strip() for language in LANGUAGES})

    def url(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.startswith("https://"):
            raise self.fail(where, "expected an https:// address")
        return value

    def resources(self, value: Any, where: str, *, title_text: bool) -> tuple[Resource, ...]:
        if not isinstance(value, list):
            raise self.fail(where, "expected a list")
        out = []
        for i, raw in enumerate(value):
            entry = self.mapping(raw, f"{where}[{i}]", {"title", "url"})
            title = (
                self.text(entry["title"], f"{where}[{i}].title")
                if title_text
                else Text(*([str(entry["title"])] * 3))
            )
            out.append(Resource(title, self.url(entry["url"], f"{where}[{i}].url")))
        return tuple(out)

    def dimension(self, raw: Any, index: int, seen: set[str]) -> Dimension:
        where = f"dimensions[{index}]"
        d = self.mapping(
            raw,
            where,
            {
                "key",
                "label",
                "description",
                "statements",
                "recommendations",
                "tool_categories",
                "resources",
                "idea_keywords",
            },
        )
        if d["key"] != DIMENSIONS[index]:
            raise self.fail(
                f"{where}.key", f"expected {DIMENSIONS[index]!r} (the dimensions and their order are fixed)"
            )
        if not isinstance(d["statements"], list) or not 5 <= len(d["statements"]) <= 12:
            raise self.fail(f"{where}.statements", "expected 5 to 12 statements")
        statements = []
        for i, raw_statement in enumerate(d["statements"]):
            s_where = f"{where}.statements[{i}]"
            s = self.mapping(raw_statement, s_where, {"key", "text"}, {"help"})
            key = s["key"]
            if not isinstance(key, str) or not _KEY.fullmatch(key) or not key.startswith(d["key"] + "."):
                raise self.fail(f"{s_where}.key", f"expected '{d['key']}.<name>' in lower case")
            if key in seen:
                raise self.fail(f"{s_where}.key", f"{key!r} is used twice")
            seen.add(key)
            statements.append(
                Statement(
                    key,
                    d["key"],
                    self.text(s["text"], f"{s_where}.text"),
                    self.text(s["help"], f"{s_where}.help") if "help" in s else None,
                )
            )
        recs = d["recommendations"]
        if not isinstance(recs, list) or [
            r.get("band") if isinstance(r, dict) else None for r in recs
        ] != list(BANDS):
            raise self.fail(f"{where}.recommendations", f"expected one per band, in the order {list(BANDS)}")
        recommendations = {
            r["band"]: self.text(
                self.mapping(r, f"{where}.recommendations", {"band", "text"})["text"],
                f"{where}.recommendations.{r['band']}",
            )
            for r in recs
        }
        categories = d["tool_categories"]
        if not isinstance(categories, list) or any(c not in TOOL_CATEGORIES for c in categories):
            raise self.fail(f"{where}.tool_categories", f"expected keys from {list(TOOL_CATEGORIES)}")
        return Dimension(
            d["key"],
            self.text(d["label"], f"{where}.label"),
            self.text(d["description"], f"{where}.description"),
            tuple(statements),
            recommendations,
            tuple(categories),
            self.resources(d["resources"], f"{where}.resources", title_text=True),
            self.text(d["idea_keywords"], f"{where}.idea_keywords"),
        )

    def questionnaire(self) -> Questionnaire:
        try:
            raw = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise self.fail("file", f"not valid YAML ({error})") from None
        q = self.mapping(raw, "top", {"version", "published", "title", "sources", "dimensions"})
        if str(q["version"]) != self.path.stem:
            raise self.fail("version", f"must match the file name {self.path.stem!r}")
        if not isinstance(q["published"], dt.date):
            raise self.fail("published", "expected a date (YYYY-MM-DD)")
        if not isinstance(q["dimensions"], list) or len(q["dimensions"]) != len(DIMENSIONS):
            raise self.fail("dimensions", f"expected the {len(DIMENSIONS)} dimensions {list(DIMENSIONS)}")
        seen: set[str] = set()
        dimensions = tuple(self.dimension(raw_d, i, seen) for i, raw_d in enumerate(q["dimensions"]))
        total = sum(len(d.statements) for d in dimensions)
        if not 30 <= total <= 50:
            raise self.fail("dimensions", f"expected 30 to 50 statements in all, found {total}")
        return Questionnaire(
            str(q["version"]),
            q["published"],
            self.text(q["title"], "title"),
            self.resources(q["sources"], "sources", title_text=False),
            dimensions,
        )


def load(path: Path) -> Questionnaire:
    return _Reader(path).questionnaire()


@functools.cache
def get(version: str) -> Questionnaire:
    """A questionnaire version by its name (KeyError when there is no such file)."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]+", version or ""):
        raise KeyError(version)
    path = FOLDER / f"{version}.yaml"
    if not path.is_file():
        raise KeyError(version)
    return load(path)


def versions() -> list[str]:
    return sorted((p.stem for p in FOLDER.glob("*.yaml")), key=lambda v: tuple(int(x) for x in v.split("-")))


def current() -> Questionnaire:
    """The newest version: new checks use it; running checks keep theirs."""
    return get(versions()[-1])
