"""Every page and POST of the partner directory, for everyone who must not use it: an anonymous
visitor is sent to the login; otto (no role) and mia (a client) get 404 everywhere; lars (another
federation) reads the shared directory but gets 404 on the requests of jonas's and kai's
organization; jonas (a counselor) posts no requests; a partner's login gets 404 on every staff
page and on requests not addressed to it; staff get 404 on the partners' inbox; only federation
admins keep the directory. Nothing changes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import reverse

from tests.conftest import make_staff
from tests.partners_fixtures import make_directory, make_partner_login, make_request
from wegweiser.core.models import AuditEntry
from wegweiser.organizations.models import Role
from wegweiser.partners import actions
from wegweiser.partners.models import Partner, PartnerMember, PartnerRequest, RequestRecipient

Call = tuple[str, str, dict[str, Any]]


@pytest.fixture
def world(tree: SimpleNamespace, ayse: Any, kai: Any) -> SimpleNamespace:
    directory = make_directory()
    pia = make_partner_login("pia", directory.nordlicht)
    ask = make_request(ayse, tree.agency_a)  # sent to Nordlicht (pia)
    actions.partner_request_address(actor=ayse, partner_request=ask,
                                    partner_ids=[str(directory.nordlicht.public_id)])
    branch_ask = make_request(kai, tree.branch, title="Anfrage des Kreisverbands")  # sent to nobody
    return SimpleNamespace(directory=directory, pia=pia, ask=ask, branch_ask=branch_ask)


@pytest.fixture
def urls(tree: SimpleNamespace, world: SimpleNamespace) -> dict[str, list[Call]]:
    nordlicht = world.directory.nordlicht
    member = PartnerMember.objects.get(user=world.pia)
    new_request = {"organization": str(tree.agency_a.public_id), "title": "T", "description": "D",
                   "specialties": ["it"], "region": "DE-SH"}
    directory = [
        ("get", reverse("partners:directory"), {}),
        ("get", reverse("partners:partner", args=[nordlicht.public_id]), {}),
    ]
    posting = [
        ("get", reverse("partners:requests"), {}),
        ("get", reverse("partners:request_new"), {}),
        ("post", reverse("partners:request_new"), new_request),
    ]
    requests: list[Call] = []
    for ask in (world.ask, world.branch_ask):
        requests += [
            ("get", reverse("partners:request", args=[ask.public_id]), {}),
            ("post", reverse("partners:request_address", args=[ask.public_id]),
             {"partners": [str(world.directory.remote_it.public_id)]}),
            ("post", reverse("partners:request_close", args=[ask.public_id]), {}),
        ]
    manage = [
        ("get", reverse("partners:manage"), {}),
        ("get", reverse("partners:partner_new"), {}),
        ("post", reverse("partners:partner_new"),
         {"name": "N", "kind": "provider", "specialties": ["it"], "regions": ["DE"]}),
        ("get", reverse("partners:partner_edit", args=[nordlicht.public_id]), {}),
        ("post", reverse("partners:partner_edit", args=[nordlicht.public_id]),
         {"name": "N", "kind": "provider", "specialties": ["it"], "regions": ["DE"]}),
        ("post", reverse("partners:member_add", args=[nordlicht.public_id]), {"username": "otto"}),
        ("post", reverse("partners:member_invite", args=[nordlicht.public_id]),
         {"username": "neu", "email": "neu@example.org"}),
        ("post", reverse("partners:member_remove", args=[nordlicht.public_id, member.public_id]), {}),
    ]
    inbox = [
        ("get", reverse("partners:inbox"), {}),
        ("get", reverse("partners:inbox_request", args=[world.ask.public_id]), {}),
        ("post", reverse("partners:reply", args=[world.ask.public_id]),
         {"status": "interested", "message": "M"}),
    ]
    return {"directory": directory, "posting": posting, "requests": requests, "manage": manage,
            "inbox": inbox}


def _unchanged(world: SimpleNamespace) -> None:
    assert PartnerRequest.objects.count() == 2
    assert PartnerRequest.objects.filter(status="open").count() == 2
    assert list(RequestRecipient.objects.values_list("partner__name", "status", "reply")) == [
        ("Nordlicht IT", "sent", "")
    ]
    assert Partner.objects.count() == 6 and not Partner.objects.filter(name="N").exists()
    assert list(PartnerMember.objects.values_list("user__username", flat=True)) == ["pia"]
    assert not AuditEntry.objects.filter(
        action__in=["partners.request_closed", "partners.request_answered", "partners.partner_updated",
                    "partners.member_removed", "partners.login_created"]
    ).exists()


def _all(urls: dict[str, list[Call]], *groups: str) -> list[Call]:
    return [call for group in groups for call in urls[group]]


def test_anonymous_visitors_are_sent_to_the_login(anon: Any, urls: Any, world: SimpleNamespace) -> None:
    for method, url, data in _all(urls, "directory", "posting", "requests", "manage", "inbox"):
        response = getattr(anon, method)(url, data)
        assert response.status_code == 302 and "/accounts/login/" in response.url, url
    _unchanged(world)


@pytest.mark.parametrize("who", ["otto", "mia"])
def test_otto_and_mia_get_404_everywhere(
    request: Any, who: str, urls: Any, world: SimpleNamespace, client_for: Any
) -> None:
    client = client_for(request.getfixturevalue(who))
    for method, url, data in _all(urls, "directory", "posting", "requests", "manage", "inbox"):
        assert getattr(client, method)(url, data).status_code == 404, (who, method, url)
    _unchanged(world)


def test_lars_reads_the_directory_but_gets_404_on_the_requests_of_another_federation(
    lars: Any, urls: Any, world: SimpleNamespace, client_for: Any
) -> None:
    client = client_for(lars)
    for _method, url, _data in urls["directory"]:
        assert client.get(url).status_code == 200, url
    for method, url, data in _all(urls, "requests", "manage", "inbox"):
        assert getattr(client, method)(url, data).status_code == 404, (method, url)
    # He posts requests at home, and his own list does not show the other federation's.
    listing = client.get(reverse("partners:requests")).content.decode()
    assert world.ask.title not in listing and world.branch_ask.title not in listing
    _unchanged(world)


def test_a_federation_admin_of_another_federation_keeps_the_directory_but_not_its_requests(
    tree: SimpleNamespace, urls: Any, world: SimpleNamespace, client_for: Any
) -> None:
    lena = make_staff("lena", [(tree.other_fed, Role.FEDERATION_ADMIN)])
    client = client_for(lena)
    assert client.get(reverse("partners:manage")).status_code == 200  # the directory is shared
    for method, url, data in urls["requests"]:
        assert getattr(client, method)(url, data).status_code == 404, (method, url)
    _unchanged(world)


def test_jonas_reads_the_directory_but_posts_and_sees_no_requests(
    jonas: Any, urls: Any, world: SimpleNamespace, client_for: Any
) -> None:
    client = client_for(jonas)  # counselor in agency A, where ayse asked
    for _method, url, _data in urls["directory"]:
        assert client.get(url).status_code == 200, url
    for method, url, data in _all(urls, "posting", "requests", "manage", "inbox"):
        assert getattr(client, method)(url, data).status_code == 404, (method, url)
    assert PartnerRequest.objects.count() == 2
    _unchanged(world)


def test_ayse_gets_404_on_her_branchs_request_and_on_managing(
    ayse: Any, urls: Any, world: SimpleNamespace, client_for: Any
) -> None:
    client = client_for(ayse)  # lead of agency A: the branch above is not hers
    branch_calls = [call for call in urls["requests"] if str(world.branch_ask.public_id) in call[1]]
    for method, url, data in _all(urls, "manage", "inbox") + branch_calls:
        assert getattr(client, method)(url, data).status_code == 404, (method, url)
    _unchanged(world)


def test_kai_uses_requests_but_does_not_keep_the_directory(
    kai: Any, urls: Any, world: SimpleNamespace, client_for: Any
) -> None:
    client = client_for(kai)
    assert client.get(reverse("partners:request", args=[world.ask.public_id])).status_code == 200
    for method, url, data in _all(urls, "manage", "inbox"):
        assert getattr(client, method)(url, data).status_code == 404, (method, url)
    _unchanged(world)


def test_a_partner_login_gets_404_on_every_staff_page(
    urls: Any, world: SimpleNamespace, client_for: Any
) -> None:
    client = client_for(world.pia)
    for method, url, data in _all(urls, "directory", "posting", "requests", "manage"):
        assert getattr(client, method)(url, data).status_code == 404, (method, url)
    # ...and on a request that was not sent to her partner.
    unsent = reverse("partners:inbox_request", args=[world.branch_ask.public_id])
    assert client.get(unsent).status_code == 404
    reply = reverse("partners:reply", args=[world.branch_ask.public_id])
    assert client.post(reply, {"status": "interested", "message": "M"}).status_code == 404
    _unchanged(world)


@pytest.mark.parametrize("who", ["jonas", "ayse", "kai", "frieda", "lars"])
def test_staff_get_404_on_the_partners_inbox(
    request: Any, who: str, urls: Any, world: SimpleNamespace, client_for: Any
) -> None:
    client = client_for(request.getfixturevalue(who))
    for method, url, data in urls["inbox"]:
        assert getattr(client, method)(url, data).status_code == 404, (who, method, url)
    _unchanged(world)


def test_staff_without_two_factor_authentication_set_it_up_first(
    tree: SimpleNamespace, world: SimpleNamespace, client_for: Any
) -> None:
    nora = make_staff("nora", [(tree.agency_a, Role.AGENCY_LEAD)], mfa=False)
    response = client_for(nora).get(reverse("partners:request", args=[world.ask.public_id]))
    assert response.status_code == 302 and "totp" in response.url


def test_frieda_and_kai_may_do_what_the_others_may_not(
    frieda: Any, kai: Any, urls: Any, world: SimpleNamespace, client_for: Any
) -> None:
    """The same calls succeed for the people they are meant for (so the 404s above are real)."""
    for method, url, _data in _all(urls, "directory", "posting", "manage"):
        if method == "get":
            assert client_for(frieda).get(url).status_code == 200, url
    for _method, url, _data in urls["requests"]:
        if "close" not in url and "address" not in url:
            assert client_for(kai).get(url).status_code == 200, url
    inbox = client_for(world.pia)
    for method, url, _data in urls["inbox"]:
        if method == "get":
            assert inbox.get(url).status_code == 200, url
