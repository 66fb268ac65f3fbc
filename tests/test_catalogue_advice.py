"""The advice's ranking function (catalogue/advice.py), on plain data: hard rules rule out and say
why, soft criteria score, the order is score → light → name, and every reason reads as words."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from wegweiser.catalogue.advice import (
    BUDGET,
    REASONS,
    SELF_HOSTING,
    USERS,
    Candidate,
    Needs,
    advise,
    assess,
    best_first_key,
)

NEEDS = Needs(purpose="video", users="11_50", self_hosting="no", budget="any", vulnerable_clients=False)
CLIENTS = dataclasses.replace(NEEDS, vulnerable_clients=True)

GOOD = Candidate(slug="good", name="Gut", light="green", rating_source="BlnBDI",
                 rating_date=dt.date(2021, 2, 18), dpa="yes", server_location="eu", e2e="yes",
                 telemetry="none", open_source=True, licence="AGPL-3.0", cost_model="free",
                 accessibility="statement", vulnerable_fit="yes")
SAAS_US = Candidate(slug="us", name="Übersee", light="red", rating_source="BlnBDI",
                    rating_date=dt.date(2020, 7, 3), dpa="yes", server_location="third_country",
                    e2e="partial", telemetry="high", cost_model="freemium")
SELF_ONLY = Candidate(slug="own", name="Eigenbetrieb", dpa="own_operation", server_location="self_hosted",
                      e2e="transport_only", open_source=True, licence="LGPL-3.0", self_hostable=True,
                      hosted_offer=False, cost_model="free")
NO_DPA = Candidate(slug="nodpa", name="Ohne Vertrag", dpa="no", server_location="third_country", e2e="yes",
                   cost_model="free")
PAID = Candidate(slug="paid", name="Bezahlt", dpa="yes", server_location="de", e2e="yes", cost_model="paid")


def codes(candidate: Candidate, needs: Needs = NEEDS, *, excluding: bool | None = None) -> list[str]:
    return [r.code for r in assess(needs, candidate).reasons if excluding is None or r.excludes == excluding]


def test_self_hosting_required_rules_out_what_cannot_be_self_hosted() -> None:
    needs = dataclasses.replace(NEEDS, self_hosting="required")
    assert codes(SAAS_US, needs, excluding=True) == ["cannot_self_host_required"]
    assert codes(SELF_ONLY, needs, excluding=True) == []
    assert "dpa_not_needed" in codes(SELF_ONLY, needs) and "servers_own" in codes(SELF_ONLY, needs)


def test_no_self_hosting_rules_out_software_without_a_hosted_offer() -> None:
    assert codes(SELF_ONLY, NEEDS, excluding=True) == ["no_hosted_offer"]
    # With someone else hosting, the agreement and the server location are the hoster's.
    hosted = dataclasses.replace(SELF_ONLY, hosted_offer=True)
    assert {"dpa_with_hoster", "servers_hoster"} <= set(codes(hosted))


def test_no_budget_rules_out_paid_tools_and_a_small_budget_weighs_users() -> None:
    assert codes(PAID, dataclasses.replace(NEEDS, budget="none"), excluding=True) == ["paid_no_budget"]
    small = dataclasses.replace(NEEDS, budget="small")
    assert "paid_small_budget" in codes(PAID, small)
    many = dataclasses.replace(small, users="251_plus")
    assert "paid_many_users" in codes(PAID, many)
    assert assess(many, PAID).score < assess(small, PAID).score < assess(NEEDS, PAID).score


def test_vulnerable_clients_rule_out_red_unfit_and_tools_without_processing_agreement() -> None:
    assert codes(SAAS_US, CLIENTS, excluding=True) == ["red_for_clients"]
    unfit = dataclasses.replace(GOOD, vulnerable_fit="no")
    assert codes(unfit, CLIENTS, excluding=True) == ["unfit_for_clients"]
    assert codes(NO_DPA, CLIENTS, excluding=True) == ["no_dpa_for_clients"]
    # Without clients the same facts only cost points.
    assert codes(SAAS_US, NEEDS, excluding=True) == [] and "rated_red" in codes(SAAS_US)
    assert codes(NO_DPA, NEEDS, excluding=True) == [] and "dpa_no" in codes(NO_DPA)


def test_a_tool_the_organization_runs_itself_needs_no_processing_agreement() -> None:
    own = dataclasses.replace(NO_DPA, self_hostable=True)
    needs = dataclasses.replace(CLIENTS, self_hosting="preferred")
    assert codes(own, needs, excluding=True) == []
    assert "dpa_not_needed" in codes(own, needs)


def test_ranking_puts_the_green_eu_encrypted_tool_first_and_explains_it_in_words() -> None:
    with translation.override("en"):
        advice = advise(CLIENTS, [SAAS_US, NO_DPA, GOOD, SELF_ONLY, PAID])
        assert [r.candidate.slug for r in advice.shortlist] == ["good", "paid"]
        assert {r.candidate.slug for r in advice.excluded} == {"us", "nodpa", "own"}
        first = advice.shortlist[0]
        texts = [r.text for r in first.pros]
        assert "EU servers." in texts and "End-to-end encrypted." in texts
        assert any(t.startswith("Rated green by BlnBDI (") and "2021" in t for t in texts)
        assert "Open source (AGPL-3.0)." in texts
        ruled_out = {r.candidate.slug: [x.text for x in r.exclusions] for r in advice.excluded}
        assert ruled_out["nodpa"] == ["No processing agreement: ruled out for client data."]
        assert ruled_out["us"][0].endswith("2020): ruled out for vulnerable clients.")


def test_order_is_score_then_light_then_name() -> None:
    beta = dataclasses.replace(GOOD, slug="b", name="Beta")
    alpha = dataclasses.replace(GOOD, slug="a", name="alpha")
    weaker = dataclasses.replace(GOOD, slug="w", name="Aaa", e2e="partial")
    assert [r.candidate.slug for r in advise(NEEDS, [beta, weaker, alpha]).shortlist] == ["a", "b", "w"]
    # Same score, different light: the light decides before the name.
    green = dataclasses.replace(GOOD, slug="z", name="Zeta", e2e="no")  # −4, as the missing green
    unrated = dataclasses.replace(GOOD, slug="u", name="Alpha", light="unknown")
    assert assess(NEEDS, green).score == assess(NEEDS, unrated).score
    assert [r.candidate.slug for r in advise(NEEDS, [unrated, green]).shortlist] == ["z", "u"]


def test_shortlist_size_and_the_others_stay_visible() -> None:
    many = [dataclasses.replace(GOOD, slug=f"t{i}", name=f"Tool {i:02d}") for i in range(8)]
    advice = advise(NEEDS, many, shortlist_size=5)
    assert len(advice.shortlist) == 5 and len(advice.others) == 3 and advice.excluded == []


def test_small_team_preferring_self_hosting_is_reminded_of_the_work() -> None:
    needs = dataclasses.replace(NEEDS, self_hosting="preferred", users="1_10")
    assert "small_team_hosting" in codes(SELF_ONLY, needs)
    assert "small_team_hosting" not in codes(SELF_ONLY, dataclasses.replace(needs, users="51_250"))


def test_unknown_answers_are_refused() -> None:
    with pytest.raises(ValueError, match="budget"):
        Needs(purpose="video", users="11_50", self_hosting="no", budget="lots", vulnerable_clients=False)
    with pytest.raises(ValueError, match="users"):
        Needs(purpose="video", users="1000", self_hosting="no", budget="any", vulnerable_clients=False)


def test_best_first_orders_by_light_before_criteria() -> None:
    red = dataclasses.replace(GOOD, slug="r", light="red")
    unknown = dataclasses.replace(SAAS_US, slug="u", light="unknown")
    yellow = dataclasses.replace(SAAS_US, slug="y", light="yellow")
    ordered = sorted([red, unknown, GOOD, yellow], key=best_first_key)
    assert [c.slug for c in ordered] == ["good", "y", "u", "r"]


def test_every_reason_has_a_text() -> None:
    with translation.override("sv"):
        for code in REASONS:
            assert str(REASONS[code]) % {"source": "x", "date": "y", "licence": "z"}


CHOICES: dict[str, Any] = {
    "light": st.sampled_from(["green", "yellow", "red", "unknown"]),
    "dpa": st.sampled_from(["yes", "no", "own_operation", "unknown"]),
    "server_location": st.sampled_from(["de", "eu", "adequate", "third_country", "self_hosted", "unknown"]),
    "e2e": st.sampled_from(["yes", "partial", "transport_only", "no", "unknown"]),
    "telemetry": st.sampled_from(["none", "low", "high", "unknown"]),
    "open_source": st.booleans(),
    "self_hostable": st.booleans(),
    "hosted_offer": st.booleans(),
    "cost_model": st.sampled_from(["free", "freemium", "nonprofit_discount", "paid", "unknown"]),
    "accessibility": st.sampled_from(["tested", "statement", "unknown"]),
    "vulnerable_fit": st.sampled_from(["yes", "with_measures", "no", "unknown"]),
}
candidates = st.builds(Candidate, slug=st.uuids().map(str), name=st.text(min_size=1, max_size=12), **CHOICES)
needs = st.builds(Needs, purpose=st.just("video"), users=st.sampled_from(USERS),
                  self_hosting=st.sampled_from(SELF_HOSTING), budget=st.sampled_from(BUDGET),
                  vulnerable_clients=st.booleans())


@settings(max_examples=150, deadline=None)
@given(needs=needs, tools=st.lists(candidates, max_size=12))
def test_advice_is_consistent_for_any_tools(needs: Needs, tools: list[Candidate]) -> None:
    advice = advise(needs, tools, shortlist_size=3)
    passed = advice.shortlist + advice.others
    assert len(passed) + len(advice.excluded) == len(tools)
    assert all(not r.excluded for r in passed) and all(r.excluded for r in advice.excluded)
    assert [r.score for r in passed] == sorted((r.score for r in passed), reverse=True)
    for rec in passed + advice.excluded:
        assert rec.score == sum(r.points for r in rec.reasons)
        assert all(r.text for r in rec.reasons)
        if needs.vulnerable_clients and rec.candidate.light == "red":
            assert rec.excluded
