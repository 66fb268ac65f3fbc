"""Duplicate hints for needs and ideas: "was this suggested already?", shown while the title is
typed. Text similarity over the federation's existing items, in German, Swedish and English,
computed here and now: no external service, no model to download.

Each text becomes a weighted bag of features: its words (without the most common function words
of the three languages) and the character trigrams of each word. Trigrams catch inflection and
compounds (Einsamkeit / einsame / Vereinsamung, ensamhet / ensamma, lonely / loneliness) without
a stemmer per language. Features are weighted by TF-IDF over the items (sublinear term
frequency), and items are ranked by cosine similarity. A title counts twice as much as the
problem text. Only hints above a score threshold are shown, so an unrelated item is not
suggested just to fill three places.

Written here rather than taken from a library: scikit-learn's TfidfVectorizer would do the same
for one feature kind but brings SciPy and 40 MB for a few dozen lines.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

_STOPWORD_TEXT = (
    # German
    "der die das den dem des ein eine einer eines einem einen und oder aber mit für fur von vom "
    "zu zum zur im in am an auf aus bei nach über uber unter durch als auch nicht kein keine "
    "mehr sehr wie wir ihr sie es er ich man sich sind ist war werden wird wurde haben hat dass "
    "so noch nur schon alle "
    # Swedish
    "och eller men med för av till på i om som att det den de en ett är var har inte mer mycket "
    "hur vi ni jag man sig ska kan alla från vid efter under genom också bara redan "
    # English
    "the a an and or but with for of to in on at by from as also not no more very how we you "
    "they it he she i is are was were be been have has that so only already all our their this "
    "these those"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())  # one readable block per language
TITLE_WEIGHT = 2.0
TRIGRAM_WEIGHT = 0.5
DEFAULT_THRESHOLD = 0.3
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def words(text: str) -> list[str]:
    """Lower-case words of a text, without digits-only tokens and common function words."""
    normal = unicodedata.normalize("NFKC", text).casefold().replace("ß", "ss")
    return [w for w in _NON_WORD.split(normal) if len(w) > 1 and not w.isdigit() and w not in STOPWORDS]


def features(title: str, body: str = "") -> dict[str, float]:
    bag: dict[str, float] = defaultdict(float)
    for text, weight in ((title, TITLE_WEIGHT), (body, 1.0)):
        for word in words(text):
            bag["w:" + word] += weight
            padded = f"<{word}>"
            for i in range(len(padded) - 2):
                bag[padded[i:i + 3]] += weight * TRIGRAM_WEIGHT
    return bag


@dataclass(frozen=True)
class Hint:
    item_id: object
    score: float


class DuplicateIndex:
    """The items of one federation (id, title, body), ready to be asked for hints."""

    def __init__(self, items: Iterable[tuple[object, str, str]]) -> None:
        self.ids: list[object] = []
        bags: list[dict[str, float]] = []
        for item_id, title, body in items:
            self.ids.append(item_id)
            bags.append(features(title, body))
        documents = Counter(feature for bag in bags for feature in bag)
        count = max(len(bags), 1)
        self.idf = {feature: math.log((1 + count) / (1 + seen)) + 1 for feature, seen in documents.items()}
        self.vectors = [self._weigh(bag) for bag in bags]

    def add(self, items: Iterable[tuple[object, str, str]]) -> None:
        """Add new items with the weights computed so far (a feature never seen before gets the
        weight of a feature seen once). Rebuilding from scratch now and then corrects the drift."""
        rare = math.log((1 + len(self.ids)) / 2) + 1
        for item_id, title, body in items:
            bag = features(title, body)
            for feature in bag:
                self.idf.setdefault(feature, rare)
            self.ids.append(item_id)
            self.vectors.append(self._weigh(bag))

    def _weigh(self, bag: dict[str, float]) -> dict[str, float]:
        # Sublinear term frequency: 1 + log(tf) from one occurrence up; a lone trigram of half
        # weight keeps its 0.5.
        vector = {f: (1 + math.log(tf) if tf >= 1 else tf) * self.idf.get(f, 0.0) for f, tf in bag.items()}
        vector = {f: v for f, v in vector.items() if v > 0}
        norm = math.sqrt(sum(v * v for v in vector.values()))
        return {f: v / norm for f, v in vector.items()} if norm else {}

    def hints(self, title: str, body: str = "", *, limit: int = 3, threshold: float = DEFAULT_THRESHOLD,
              exclude: object = None) -> list[Hint]:
        """The most similar items above ``threshold``, best first, at most ``limit``."""
        query = self._weigh(features(title, body))
        if not query:
            return []
        scored = []
        for item_id, vector in zip(self.ids, self.vectors, strict=True):
            if item_id == exclude:
                continue
            small, large = (query, vector) if len(query) < len(vector) else (vector, query)
            score = sum(weight * large.get(feature, 0.0) for feature, weight in small.items())
            if score >= threshold:
                scored.append(Hint(item_id, round(score, 4)))
        scored.sort(key=lambda hint: -hint.score)
        return scored[:limit]
