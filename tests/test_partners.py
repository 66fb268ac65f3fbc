"""The partner directory from the organizations' side: matching and ranking, the shared directory,
posting a request and addressing the matches offered for it — and refusing everything else with a
clear error and nothing stored."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.partners_fixtures import make_directory, make_partner, make_partner_login, make_request
from wegweiser.core.models import AuditEntry
from wegweiser.partners import actions
from wegweiser.partners.matching import MATCH_LIMIT, RegionFit, rank, region_fit
from wegweiser.partners.models import Partner, PartnerRequest, RequestRecipient


@pytest.fixture
def directory(db: Any) -> SimpleNamespace:
    return make_directory()


@pytest.fixture
def pia(directory: SimpleNamespace) -> Any:
    return make_partner_login("pia", directory.nordlicht)


@pytest.fixture
def ask(tree: SimpleNamespace, ayse: Any, directory: SimpleNamespace) -> PartnerRequest:
    return make_request(ayse, tree.agency_a)


def entry(name: str, specialties: list[str], regions: list[str]) -> SimpleNamespace:
    return SimpleNamespace(name=name, specialties=specialties, regions=regions)


# --- matching (pure) -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("regions", "wanted", "fit"),
    [
        (["DE-SH"], "DE-SH", RegionFit.IN_REGION),
        (["DE-HH", "DE"], "DE-SH", RegionFit.NATIONWIDE),
        (["remote"], "DE-SH", RegionFit.REMOTE),
        (["DE-BY"], "DE-SH", RegionFit.NONE),
        (["SE"], "DE-SH", RegionFit.NONE),  # nationwide in the other country does not count
        (["DE"], "DE", RegionFit.IN_REGION),
        (["DE-SH"], "DE", RegionFit.NONE),  # one state is not all of Germany
        (["SE-M", "remote"], "remote", RegionFit.IN_REGION),
        (["DE"], "remote", RegionFit.NONE),
    ],
)
def test_region_fit(regions: list[str], wanted: str, fit: RegionFit) -> None:
    assert region_fit(regions, wanted) == fit


def test_ranking_puts_more_shared_specialties_first_then_the_closer_region_then_the_name() -> None:
    partners = [
        entry("Zeta remote", ["it", "data_protection"], ["remote"]),
        entry("Beta local", ["it"], ["DE-SH"]),
        entry("Alpha nationwide", ["it"], ["DE"]),
        entry("Gamma local", ["it", "data_protection", "web"], ["DE-SH"]),
        entry("Aaron local", ["data_protection"], ["DE-SH"]),
    ]
    ranked = rank(partners, ["data_protection", "it"], "DE-SH")
    assert [m.partner.name for m in ranked] == [
        "Gamma local", "Zeta remote", "Aaron local", "Beta local", "Alpha nationwide",
    ]
    assert ranked[0].shared == ("it", "data_protection")  # in the order of the choices
    assert ranked[1].fit == RegionFit.REMOTE


def test_partners_without_a_shared_specialty_or_outside_the_region_are_not_offered() -> None:
    partners = [
        entry("Web only", ["web"], ["DE-SH"]),
        entry("Bavaria", ["it"], ["DE-BY"]),
        entry("Sweden", ["it"], ["SE", "SE-M"]),
        entry("Fits", ["it"], ["DE-SH"]),
    ]
    assert [m.partner.name for m in rank(partners, ["it"], "DE-SH")] == ["Fits"]
    assert rank(partners, [], "DE-SH") == []


def test_the_reason_names_the_shared_specialties_and_the_region_fit() -> None:
    from django.utils import translation

    with translation.override("en"):
        local, nationwide, remote = rank(
            [entry("A", ["it", "web"], ["DE-SH"]), entry("B", ["it"], ["DE"]),
             entry("C", ["it"], ["remote"])],
            ["it", "web", "training"],
            "DE-SH",
        )
        assert local.reason == (
            "2 of 3 specialties (IT and infrastructure, Websites and online presence); "
            "works in Schleswig-Holstein"
        )
        assert nationwide.region_reason == "works nationwide in Germany"
        assert remote.region_reason == "works remotely"


def test_at_most_the_limit_is_offered() -> None:
    partners = [entry(f"P{i:03}", ["it"], ["remote"]) for i in range(MATCH_LIMIT + 5)]
    assert len(rank(partners, ["it"], "DE-SH")) == MATCH_LIMIT


# --- the directory -----------------------------------------------------------------------------

def test_every_staff_member_reads_the_shared_directory_of_active_partners(
    directory: SimpleNamespace, jonas: Any, lars: Any, client_for: Any, django_assert_max_num_queries: Any
) -> None:
    for _i in range(20):
        make_partner(f"Weitere IT {_i}", ["it"], ["DE-NW"])
    client = client_for(jonas)
    with django_assert_max_num_queries(15):  # 10 of them session, user and usersessions bookkeeping
        response = client.get(reverse("partners:directory"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Nordlicht IT" in page and "Skåne Data" in page and "Weitere IT 19" in page
    assert "Alte IT" not in page  # inactive
    # Providers are no federation's data: the other federation sees the same directory.
    assert "Nordlicht IT" in client_for(lars).get(reverse("partners:directory")).content.decode()


def test_the_directory_filters_by_specialty_region_kind_and_text(
    directory: SimpleNamespace, jonas: Any, client_for: Any
) -> None:
    client = client_for(jonas)

    def names(query: str) -> set[str]:
        page = client.get(reverse("partners:directory") + query).content.decode()
        return {p.name for p in Partner.objects.all() if p.name in page}

    assert names("?specialty=web") == {"Webwerkstatt", "Skåne Data"}
    # A region includes partners working nationwide in its country and remotely.
    assert names("?region=DE-SH") == {"Nordlicht IT", "Datenschutz Kern", "Fernwartung Plus"}
    assert names("?kind=freelancer") == {"Datenschutz Kern"}
    assert names("?q=skåne") == {"Skåne Data"}
    # A tampered filter filters nothing instead of failing.
    assert names("?specialty=<script>") == {
        "Nordlicht IT", "Datenschutz Kern", "Webwerkstatt", "Fernwartung Plus", "Skåne Data"
    }


def test_a_partner_profile_shows_what_the_partner_publishes(
    directory: SimpleNamespace, jonas: Any, frieda: Any, client_for: Any
) -> None:
    response = client_for(jonas).get(reverse("partners:partner", args=[directory.nordlicht.public_id]))
    page = response.content.decode()
    assert response.status_code == 200 and "kontakt@example.org" in page and "https://example.org" in page
    retired = reverse("partners:partner", args=[directory.retired.public_id])
    assert client_for(jonas).get(retired).status_code == 404
    assert client_for(frieda).get(retired).status_code == 200  # managers see inactive entries
    assert client_for(jonas).get(reverse("partners:partner", args=[uuid.uuid4()])).status_code == 404
    assert client_for(jonas).get(reverse("partners:partner", args=["not-a-uuid"])).status_code == 404


# --- posting a request -------------------------------------------------------------------------

def _new_request_data(tree: SimpleNamespace, **extra: Any) -> dict[str, Any]:
    return {
        "organization": str(tree.agency_a.public_id),
        "title": "Neue Laptops",
        "description": "Zwei Stellen brauchen Geräte.",
        "specialties": ["it", "data_protection"],
        "region": "DE-SH",
        "budget_note": "",
        **extra,
    }


def test_ayse_posts_a_request_and_sees_the_matches_ranked_with_their_reasons(
    tree: SimpleNamespace, directory: SimpleNamespace, ayse: Any, client_for: Any
) -> None:
    client = client_for(ayse)
    # A profile's "post a request" link preselects the partner's specialties.
    form = client.get(reverse("partners:request_new") + "?specialty=web&specialty=bogus").content.decode()
    assert 'value="web" id="id_specialties_3" checked' in form and 'value="bogus"' not in form
    response = client.post(reverse("partners:request_new"), _new_request_data(tree))
    created = PartnerRequest.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("partners:request", args=[created.public_id])
    assert created.organization == tree.agency_a and created.created_by == ayse and created.is_open
    entry = AuditEntry.objects.get(action="partners.request_created")
    assert entry.node_id == tree.agency_a.pk and entry.object_id == str(created.public_id)
    assert entry.data == {"specialties": ["it", "data_protection"], "region": "DE-SH"}  # no text
    page = client.get(response.url).content.decode()
    positions = [page.index(name) for name in ("Nordlicht IT", "Datenschutz Kern", "Fernwartung Plus")]
    assert positions == sorted(positions)
    for absent in ("Webwerkstatt", "Skåne Data", "Alte IT"):
        assert absent not in page
    assert "2 of 2" in page or "2 von 2" in page


@pytest.mark.parametrize(
    "bad",
    [
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 201},
        {"description": ""},
        {"description": "x" * 4001},
        {"budget_note": "x" * 201},
        {"specialties": []},
        {"specialties": ["it", "astrology"]},
        {"region": "DE-XX"},
        {"region": ""},
        {"organization": "not-a-uuid"},
        {"organization": str(uuid.uuid4())},
    ],
)
def test_a_request_with_bad_input_is_refused_and_nothing_stored(
    tree: SimpleNamespace, directory: SimpleNamespace, ayse: Any, client_for: Any, bad: dict[str, Any]
) -> None:
    response = client_for(ayse).post(reverse("partners:request_new"), _new_request_data(tree, **bad))
    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()
    assert not PartnerRequest.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="partners.request").exists()


def test_a_request_for_a_foreign_unit_is_refused(
    tree: SimpleNamespace, directory: SimpleNamespace, ayse: Any, client_for: Any
) -> None:
    for unit in (tree.other_agency, tree.agency_b, tree.branch):
        data = _new_request_data(tree, organization=str(unit.public_id))
        assert client_for(ayse).post(reverse("partners:request_new"), data).status_code == 400
    with pytest.raises(ValidationError):  # the action is the rule, not the form
        make_request(ayse, tree.other_agency)
    assert not PartnerRequest.objects.exists()


def test_kai_posts_for_his_branch_and_sees_the_agencies_requests_below_it(
    tree: SimpleNamespace, directory: SimpleNamespace, ayse: Any, kai: Any, frieda: Any, lars: Any,
    client_for: Any
) -> None:
    ask = make_request(ayse, tree.agency_a, title="Anfrage der Stelle A")
    own = make_request(kai, tree.agency_b, title="Anfrage der Stelle B")  # below his branch: allowed
    foreign = make_request(lars, tree.other_fed, title="Utländsk förfrågan")
    listing = client_for(kai).get(reverse("partners:requests")).content.decode()
    assert ask.title in listing and own.title in listing and foreign.title not in listing
    assert client_for(kai).get(reverse("partners:request", args=[ask.public_id])).status_code == 200
    assert client_for(frieda).get(reverse("partners:request", args=[own.public_id])).status_code == 200
    ayses = client_for(ayse).get(reverse("partners:requests")).content.decode()
    assert ask.title in ayses and own.title not in ayses  # agency B is not hers


# --- addressing the matches ------------------------------------------------------------------

def test_ayse_sends_the_request_to_chosen_matches_who_are_told_without_content(
    tree: SimpleNamespace, directory: SimpleNamespace, ask: PartnerRequest, ayse: Any, pia: Any,
    client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=pia, email="pia@nordlicht.example", primary=True, verified=True)
    chosen = [directory.nordlicht, directory.datenschutz]
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(ayse).post(
            reverse("partners:request_address", args=[ask.public_id]),
            {"partners": [str(p.public_id) for p in chosen]},
        )
    assert response.status_code == 302
    assert {r.partner for r in RequestRecipient.objects.filter(request=ask)} == set(chosen)
    assert set(RequestRecipient.objects.values_list("status", flat=True)) == {"sent"}
    entry = AuditEntry.objects.get(action="partners.request_addressed")
    assert entry.node_id == tree.agency_a.pk
    assert sorted(entry.data["partners"]) == sorted(str(p.public_id) for p in chosen)
    assert [m.to for m in mail.outbox] == [["pia@nordlicht.example"]]
    assert ask.title not in mail.outbox[0].body and ask.description not in mail.outbox[0].body
    page = client_for(ayse).get(reverse("partners:request", args=[ask.public_id])).content.decode()
    # Addressed partners are listed as recipients and no longer offered.
    assert page.count(f'value="{directory.nordlicht.public_id}"') == 0
    assert f'value="{directory.remote_it.public_id}"' in page


@pytest.mark.parametrize("who", ["webwerk", "sweden", "retired", "unknown", "malformed", "mixed"])
def test_addressing_a_partner_that_was_not_offered_is_refused_and_nothing_stored(
    directory: SimpleNamespace, ask: PartnerRequest, ayse: Any, client_for: Any, who: str
) -> None:
    values = {
        "webwerk": [str(directory.webwerk.public_id)],  # no shared specialty
        "sweden": [str(directory.sweden.public_id)],  # another region
        "retired": [str(directory.retired.public_id)],  # inactive
        "unknown": [str(uuid.uuid4())],
        "malformed": ["1 OR 1=1"],
        "mixed": [str(directory.nordlicht.public_id), str(directory.webwerk.public_id)],
    }[who]
    response = client_for(ayse).post(reverse("partners:request_address", args=[ask.public_id]),
                                     {"partners": values})
    assert response.status_code == 400
    page = response.content.decode()
    assert "nicht zu den für diese Anfrage" in page  # the refusal, in German (the default)
    assert not RequestRecipient.objects.exists()
    assert not AuditEntry.objects.filter(action="partners.request_addressed").exists()


def test_addressing_nobody_twice_or_when_closed_is_refused(
    directory: SimpleNamespace, ask: PartnerRequest, ayse: Any, client_for: Any
) -> None:
    client = client_for(ayse)
    url = reverse("partners:request_address", args=[ask.public_id])
    assert client.post(url, {}).status_code == 400
    nordlicht = str(directory.nordlicht.public_id)
    assert client.post(url, {"partners": [nordlicht]}).status_code == 302
    # Already addressed: no longer offered, so refused as a whole (the second one is not sent).
    again = client.post(url, {"partners": [nordlicht, str(directory.remote_it.public_id)]})
    assert again.status_code == 400
    assert RequestRecipient.objects.count() == 1
    response = client.post(reverse("partners:request_close", args=[ask.public_id]))
    assert response.status_code == 302
    ask.refresh_from_db()
    assert ask.status == "closed" and ask.closed_at is not None
    assert AuditEntry.objects.filter(action="partners.request_closed", object_id=str(ask.public_id)).exists()
    assert client.post(url, {"partners": [str(directory.remote_it.public_id)]}).status_code == 400
    assert RequestRecipient.objects.count() == 1
    with pytest.raises(ValidationError):
        actions.partner_request_close(actor=ayse, partner_request=ask)


def test_too_many_partners_at_once_are_refused(
    directory: SimpleNamespace, ask: PartnerRequest, ayse: Any
) -> None:
    with pytest.raises(ValidationError):
        actions.partner_request_address(actor=ayse, partner_request=ask,
                                        partner_ids=[str(uuid.uuid4()) for _ in range(MATCH_LIMIT + 1)])
    assert not RequestRecipient.objects.exists()
