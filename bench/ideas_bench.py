"""Duplicate hints for needs and ideas: precision and recall on the hand-labelled set, and how long
a hint takes while typing when a federation has many items.

    .venv/bin/python bench/ideas_bench.py [ITEMS]      # default 10000

The large index mixes the labelled items with seeded synthetic titles built from the same
vocabulary, so the lookups do real work. Prints figures, asserts nothing.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.data.idea_duplicates import ITEMS, QUERIES, evaluate

from wegweiser.ideas.similarity import DuplicateIndex, words


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    counts = evaluate(DuplicateIndex(ITEMS))
    shown, relevant = counts["shown"], counts["relevant"]
    found, with_duplicate = counts["found"], counts["with_duplicate"]
    print(f"labelled set: {len(ITEMS)} items, {len(QUERIES)} new titles ({with_duplicate} with a duplicate): "
          f"precision of the hints shown {relevant}/{shown} = {relevant / shown:.2f}, "
          f"duplicate among the top 3 for {found}/{with_duplicate} = {found / with_duplicate:.2f}")

    rng = random.Random(20261203)
    vocabulary = sorted({w for _, title, body in ITEMS for w in words(title + " " + body)})
    synthetic = [(f"s{i}", " ".join(rng.sample(vocabulary, 5)), " ".join(rng.sample(vocabulary, 12)))
                 for i in range(total - len(ITEMS))]
    started = time.perf_counter()
    big = DuplicateIndex([*ITEMS, *synthetic])
    built = time.perf_counter() - started
    timings = []
    for title, _body, _expected in QUERIES * 8:
        for end in range(8, len(title) + 1, 8):  # as the title is typed
            started = time.perf_counter()
            big.hints(title[:end])
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    print(f"{total:,} items: index built in {built:.2f} s; hint while typing ({len(timings)} lookups): "
          f"p50 {statistics.median(timings):.1f} ms, p95 {timings[int(len(timings) * 0.95)]:.1f} ms")


if __name__ == "__main__":
    main()
