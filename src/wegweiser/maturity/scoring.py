"""Scores of a self-check: pure functions, no database.

- A statement's answer is 1–4 ("does not apply" … "fully applies") or 0 ("don't know / not
  applicable"), which is left out, never counted as low (the DRK check's lesson).
- A respondent's dimension mean counts only when they answered at least half of the dimension's
  statements with 1–4 (the DRK's cleaning rule); below that the dimension is "not enough answers"
  for them.
- The check's dimension score is the mean of the counting respondents' means, on 0–100:
  (mean − 1) / 3 × 100. It is shown only when at least one respondent counts; the spread (lowest
  and highest respondent) shows where colleagues disagree.
- The overall score is the mean of the five dimension scores, shown only when all five have one.
- Bands (EDIH style): 0–25 start, 26–50 developing, 51–75 established, 76–100 advanced.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from wegweiser.maturity.questionnaire import BANDS, DONT_KNOW, Questionnaire

MIN_SHARE = 0.5
WEAK_BELOW = 50


def to_score(mean: float) -> int:
    return round((mean - 1) / 3 * 100)


def band(score: int) -> str:
    return BANDS[0 if score <= 25 else 1 if score <= 50 else 2 if score <= 75 else 3]


@dataclass(frozen=True)
class DimensionScore:
    key: str
    score: int | None
    counting: int  # respondents with at least half of the statements answered
    answered_share: float  # of all respondents' possible answers in this dimension, 1–4 only
    low: int | None
    high: int | None

    @property
    def band(self) -> str | None:
        return band(self.score) if self.score is not None else None

    @property
    def weak(self) -> bool:
        return self.score is not None and self.score < WEAK_BELOW


@dataclass(frozen=True)
class Result:
    dimensions: tuple[DimensionScore, ...]
    overall: int | None
    respondents: int

    def by_key(self) -> dict[str, DimensionScore]:
        return {d.key: d for d in self.dimensions}

    def scores(self) -> dict[str, int]:
        return {d.key: d.score for d in self.dimensions if d.score is not None}


def score(questionnaire: Questionnaire, answers: Iterable[Mapping[str, int]]) -> Result:
    """``answers``: per respondent, statement key → value (0–4). Unknown keys are ignored."""
    respondents = [dict(a) for a in answers]
    rows = []
    for dimension in questionnaire.dimensions:
        keys = [s.key for s in dimension.statements]
        means, answered = [], 0
        for given in respondents:
            values = [given[k] for k in keys if given.get(k, DONT_KNOW) != DONT_KNOW]
            answered += len(values)
            if len(values) >= MIN_SHARE * len(keys):
                means.append(statistics.fmean(values))
        possible = len(keys) * len(respondents)
        share = answered / possible if possible else 0.0
        if means:
            scores = [to_score(m) for m in means]
            rows.append(
                DimensionScore(
                    dimension.key,
                    to_score(statistics.fmean(means)),
                    len(means),
                    share,
                    min(scores),
                    max(scores),
                )
            )
        else:
            rows.append(DimensionScore(dimension.key, None, 0, share, None, None))
    overall = (
        round(statistics.fmean(r.score for r in rows if r.score is not None))
        if all(r.score is not None for r in rows)
        else None
    )
    return Result(tuple(rows), overall, len(respondents))
