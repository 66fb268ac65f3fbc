"""The microsimulation page: an organization admin changes an amount group over an office's
current caseload and sees cost and winners/losers; nobody else sees the page."""

from __future__ import annotations

import copy
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import make_user
from wegweiser.accounts.models import User
from wegweiser.benefits import actions, microsim

SINGLE = {"persons": [{"id": "a", "role": "adult", "age": 40}], "costs": {"housing": 500000}}
FAMILY = {"persons": [{"id": "a", "role": "adult", "age": 40}, {"id": "b", "role": "adult", "age": 38},
                      {"id": "c", "role": "child", "age": 9}], "costs": {"housing": 800000}}
RICH = {"persons": [{"id": "a", "role": "adult", "age": 40, "income": {"salary_net": 1024000}}],
        "costs": {"housing": 500000}}


@pytest.fixture
def office(tree: SimpleNamespace, ayse: User) -> Any:
    office = actions.office_create(actor=None, node=tree.agency_a, ruleset="se.ekonomiskt_bistand")
    for name, household in (("p", SINGLE), ("q", FAMILY), ("r", RICH)):
        applicant = make_user(name, User.Kind.CLIENT)
        application = actions.application_start(applicant=applicant, office=office, month="2026-01",
                                                language="de")
        actions.application_save(applicant=applicant, application=application,
                                 household=copy.deepcopy(household))
        application = actions.application_submit(applicant=applicant, application=application)
        actions.application_decide(actor=ayse, application=application)
    return office


def test_five_percent_more_riksnorm_over_the_caseload(office: Any) -> None:
    result = microsim.simulate_reform(office, "riksnorm.", Fraction(5), 1000)
    assert result["households"] == 3 and result["month"] == "2026-01"
    # single: 3 940 → 4 140 and 1 280 → 1 340; the rich one (10 240 kr against 10 220) now gets 240 kr
    assert result["by_type"]["one_adult"]["change"] == 26000 + 24000
    assert result["newly_entitled"] == 1 and result["worse_off"] == 0 and result["better_off"] == 3
    cut = microsim.simulate_reform(office, "riksnorm.", Fraction(-5), 1000)
    assert cut["worse_off"] == 2 and cut["change"] < 0


def test_only_organization_admins_of_the_unit_see_the_page(office: Any, kai: User, lars: User, otto: User,
                                                          ayse: User, mia: User, client_for: Any) -> None:
    client = client_for(kai)
    assert client.get("/benefits/microsimulation/").status_code == 200
    response = client.post("/benefits/microsimulation/", {
        "office": str(office.public_id), "group": "riksnorm.", "percent": "5", "round_to": "1000"},
        headers={"accept-language": "en"})
    page = response.content.decode()
    assert "3 households, month 2026-01" in page and "SEK 500.00" in page  # 260 + 240 kr
    for user in (lars, otto, ayse, mia):  # ayse leads the agency but is no organization admin
        assert client_for(user).get("/benefits/microsimulation/").status_code == 404
    lars_post = client_for(lars).post("/benefits/microsimulation/", {"office": str(office.public_id),
                                                                    "group": "riksnorm.", "percent": "5",
                                                                    "round_to": "1000"})
    assert lars_post.status_code == 404
