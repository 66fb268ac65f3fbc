"""The rules engine's speed: synthetic Swedish households through `benefits simulate`'s code path,
and one household with full explanation.

    .venv/bin/python bench/rules_bench.py [N ...]        # default: 10000 100000 1000000

For each N, a fresh process (so its peak memory is its own) generates N seeded households
(1–3 adults, 0–4 children, incomes, costs, benefits), checks them as the batch command does
(`tables.prepare`), and runs the engine (`tables.run`, in chunks of 131,072 households) three
times. It prints the engine time of the first and the fastest run, households per second, the
engine's peak of traced allocations (tracemalloc on a fourth run: NumPy's arrays during the run,
inputs excluded) and the process's resident memory:
with the inputs generated, and its peak while checking and simulating (the peak is reset through
/proc/self/clear_refs after generating, so the generator's temporaries do not count). Then it
times 2,000 single-household assessments with explanation (`rulesets.assess`, the API's code
path without HTTP) and prints p50/p95, and a reform (+5 % riksnorm) compared over 100,000
households. Prints figures, asserts nothing.
"""

from __future__ import annotations

import ctypes
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from wegweiser.rules import tables
from wegweiser.rules.periods import Month
from wegweiser.rulesets import assess, get

MONTH = Month(2026, 1)


def synthetic(n: int, seed: int = 20261203) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = np.random.default_rng(seed)
    adults = rng.choice(np.array([1, 2, 3]), n, p=[0.55, 0.40, 0.05])
    children = rng.choice(np.arange(5), n, p=[0.45, 0.22, 0.18, 0.10, 0.05])
    sizes = adults + children
    household = np.repeat(np.arange(n, dtype=np.int64), sizes)
    persons = household.size
    first = np.zeros(n, dtype=np.int64)
    np.cumsum(sizes[:-1], out=first[1:])
    position = np.arange(persons) - np.repeat(first, sizes)
    adult = position < np.repeat(adults, sizes)
    age = np.where(adult, rng.integers(18, 90, persons), rng.integers(0, 21, persons)).astype(np.int16)
    earns = adult & (rng.random(persons) < 0.35)
    person_columns = {
        "household_id": household, "role": (~adult).astype(np.int8), "age": age,
        "partner": np.where(position == 2, 0, 1).astype(np.int8),  # a third adult is a lodger
        "lives_at_home_in_school": (~adult & (age >= 19)).astype(np.int8),
        "salary_net": np.where(earns, rng.integers(100_000, 2_500_000, persons), 0),
        "unemployment_benefit_net": np.where(adult & ~earns & (rng.random(persons) < 0.2),
                                             rng.integers(300_000, 1_200_000, persons), 0),
        "pension_net": np.where(adult & (age >= 65), rng.integers(800_000, 1_600_000, persons), 0),
    }
    household_columns = {
        "household_id": np.arange(n, dtype=np.int64),
        "housing": rng.integers(300_000, 1_200_000, n),
        "household_electricity": rng.integers(0, 80_000, n),
        "home_insurance": rng.integers(0, 25_000, n),
        "work_travel": np.where(rng.random(n) < 0.3, rng.integers(0, 90_000, n), 0),
        "child_allowance": children * 125_000,
        "housing_allowance": np.where(rng.random(n) < 0.2, rng.integers(50_000, 400_000, n), 0),
        "months_on_support": rng.integers(0, 36, n),
        "rent_cap": np.where(rng.random(n) < 0.5, rng.integers(500_000, 1_000_000, n), 0),
    }
    return household_columns, person_columns


def _status_mib(field: str) -> float:
    for row in Path("/proc/self/status").read_text().splitlines():
        if row.startswith(field + ":"):
            return int(row.split()[1]) / 1024
    return float("nan")


def one_size(n: int) -> dict[str, Any]:
    ruleset = get("se.ekonomiskt_bistand")
    households, persons = synthetic(n)
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand the generator's freed heap back first
    inputs_rss = _status_mib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak: measure simulate, not generation
    started = time.perf_counter()
    batch = tables.prepare(ruleset, households, persons)
    prepare_s = time.perf_counter() - started
    del households, persons  # as `benefits simulate` does: the batch keeps what it needs
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        out = tables.run(ruleset, MONTH, batch)
        runs.append(time.perf_counter() - started)
    simulate_peak = _status_mib("VmHWM")  # before tracemalloc, whose bookkeeping costs memory too
    tracemalloc.start()
    tables.run(ruleset, MONTH, batch)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"households": n, "persons": int(batch.population.n_persons), "prepare_s": prepare_s,
            "first_s": runs[0], "best_s": min(runs), "households_per_s": n / min(runs),
            "engine_peak_mib": traced_peak / 2**20,
            "inputs_rss_mib": inputs_rss, "simulate_peak_rss_mib": simulate_peak,
            "mean_amount_kr": float(out["amount"].mean()) / 100}


def single_latency(samples: int = 2000) -> tuple[float, float]:
    request = {"ruleset": "se.ekonomiskt_bistand", "month": str(MONTH), "household": {
        "persons": [{"id": "a", "role": "adult", "age": 34, "income": {"salary_net": 420000}},
                    {"id": "b", "role": "adult", "age": 31},
                    {"id": "c", "role": "child", "age": 8}, {"id": "d", "role": "child", "age": 3}],
        "costs": {"housing": 850000, "household_electricity": 40000, "home_insurance": 15000,
                  "work_travel": 60000},
        "benefits": {"child_allowance": 250000, "housing_allowance": 120000},
        "months_on_support": 8}}
    for _ in range(200):
        assess(request, "sv")
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        assess(request, "sv")
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95)]


def reform_seconds(n: int = 100_000) -> float:
    """+5 % on every riksnorm amount (rounded to 10 kr) over n households: both runs and the
    comparison by household type, as issue 5's microsimulation page will do it."""
    from fractions import Fraction

    from wegweiser.rules.reform import compare, scale

    ruleset = get("se.ekonomiskt_bistand")
    households, persons = synthetic(n)
    batch = tables.prepare(ruleset, households, persons)
    started = time.perf_counter()
    reform = scale(ruleset.parameters, MONTH, "riksnorm.", Fraction(105, 100), round_to=1000)
    compare(ruleset, MONTH, batch, reform)
    return time.perf_counter() - started


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(one_size(int(sys.argv[2]))))
        return
    sizes = [int(a) for a in sys.argv[1:]] or [10_000, 100_000, 1_000_000]
    print(f"{'households':>10} {'persons':>9} {'prepare s':>9} {'engine s (first / best)':>24} "
          f"{'households/s':>13} {'engine peak':>12} {'RSS: inputs resident / peak in simulate':>42}")
    for n in sizes:
        done = subprocess.run([sys.executable, __file__, "--one", str(n)],  # noqa: S603 (ourselves)
                              capture_output=True, text=True, check=True)
        r = json.loads(done.stdout)
        print(f"{r['households']:>10,} {r['persons']:>9,} {r['prepare_s']:>9.3f} "
              f"{r['first_s']:>11.3f} / {r['best_s']:<10.3f} {r['households_per_s']:>13,.0f} "
              f"{r['engine_peak_mib']:>8.1f} MiB {r['inputs_rss_mib']:>17.1f} / "
              f"{r['simulate_peak_rss_mib']:.1f} MiB")
    p50, p95 = single_latency()
    print(f"one household with explanation (rulesets.assess, 2,000 runs): p50 {p50:.3f} ms, p95 {p95:.3f} ms")
    print(f"reform +5 % riksnorm over 100,000 households (build reform, run both, compare): "
          f"{reform_seconds():.3f} s")


if __name__ == "__main__":
    main()
