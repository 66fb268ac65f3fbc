"""The partners' side (their inbox and answers) and keeping the directory (entries, partner logins,
the demo set)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.conftest import make_staff, make_user
from tests.partners_fixtures import make_directory, make_partner_login, make_request
from wegweiser.accounts.models import User
from wegweiser.core.models import AuditEntry
from wegweiser.organizations.models import Role
from wegweiser.partners import actions
from wegweiser.partners.models import Partner, PartnerMember, PartnerRequest, RequestRecipient


@pytest.fixture
def directory(db: Any) -> SimpleNamespace:
    return make_directory()


@pytest.fixture
def pia(directory: SimpleNamespace) -> Any:
    return make_partner_login("pia", directory.nordlicht)


@pytest.fixture
def paul(directory: SimpleNamespace) -> Any:
    return make_partner_login("paul", directory.datenschutz)


@pytest.fixture
def requests(tree: SimpleNamespace, ayse: Any, kai: Any, directory: SimpleNamespace) -> SimpleNamespace:
    """``to_both`` went to Nordlicht and Datenschutz Kern, ``to_paul`` only to Datenschutz Kern,
    ``unsent`` to nobody."""
    to_both = make_request(ayse, tree.agency_a, title="Laptops für Stelle A")
    actions.partner_request_address(actor=ayse, partner_request=to_both, partner_ids=[
        str(directory.nordlicht.public_id), str(directory.datenschutz.public_id)])
    to_paul = make_request(kai, tree.branch, title="Datenschutzschulung", specialties=["data_protection"])
    actions.partner_request_address(actor=kai, partner_request=to_paul,
                                    partner_ids=[str(directory.datenschutz.public_id)])
    unsent = make_request(ayse, tree.agency_a, title="Noch nicht verschickt")
    return SimpleNamespace(to_both=to_both, to_paul=to_paul, unsent=unsent)


def inbox_url(partner_request: PartnerRequest) -> str:
    return reverse("partners:inbox_request", args=[partner_request.public_id])


def reply_url(partner_request: PartnerRequest) -> str:
    return reverse("partners:reply", args=[partner_request.public_id])


# --- the inbox ----------------------------------------------------------------------------------

def test_pia_sees_only_the_requests_addressed_to_her_partner(
    requests: SimpleNamespace, pia: Any, client_for: Any
) -> None:
    response = client_for(pia).get(reverse("partners:inbox"))
    page = response.content.decode()
    assert response.status_code == 200
    assert requests.to_both.title in page
    assert requests.to_paul.title not in page and requests.unsent.title not in page


def test_pia_reads_a_request_without_seeing_other_partners_or_their_answers(
    requests: SimpleNamespace, pia: Any, paul: Any, client_for: Any
) -> None:
    actions.partner_reply(actor=paul, recipient=RequestRecipient.objects.get(
        request=requests.to_both, partner__name="Datenschutz Kern"), status="interested",
        message="Wir melden uns gern, Paul")
    response = client_for(pia).get(inbox_url(requests.to_both))
    page = response.content.decode()
    assert response.status_code == 200
    assert requests.to_both.description in page and "Beratungsstelle A" in page
    assert "Datenschutz Kern" not in page and "Wir melden uns gern" not in page
    assert "ayse" not in page  # the organization, not the person who asked


def test_pia_gets_404_on_requests_not_addressed_to_her(
    requests: SimpleNamespace, pia: Any, client_for: Any
) -> None:
    client = client_for(pia)
    for partner_request in (requests.to_paul, requests.unsent):
        assert client.get(inbox_url(partner_request)).status_code == 404
        answer = {"status": "interested", "message": "Hallo"}
        assert client.post(reply_url(partner_request), answer).status_code == 404
    for bad in (str(uuid.uuid4()), "not-a-uuid"):
        assert client.get(reverse("partners:inbox_request", args=[bad])).status_code == 404
    assert not RequestRecipient.objects.exclude(status="sent").exists()


def test_pia_answers_and_ayse_reads_the_answer(
    tree: SimpleNamespace, requests: SimpleNamespace, pia: Any, ayse: Any, client_for: Any
) -> None:
    client = client_for(pia)
    response = client.post(reply_url(requests.to_both),
                           {"status": "interested", "message": "Gern! Telefon 0431 123456."})
    assert response.status_code == 302
    answer = RequestRecipient.objects.get(request=requests.to_both, partner__name="Nordlicht IT")
    assert answer.status == "interested" and answer.replied_at
    assert answer.reply == "Gern! Telefon 0431 123456."
    entry = AuditEntry.objects.get(action="partners.request_answered")
    assert entry.node_id == tree.agency_a.pk and entry.object_id == str(requests.to_both.public_id)
    assert entry.data == {"partner": str(answer.partner.public_id), "status": "interested"}  # no text
    response = client_for(ayse).get(reverse("partners:request", args=[requests.to_both.public_id]))
    page = response.content.decode()
    assert "Gern! Telefon 0431 123456." in page
    # The answer may change while the request is open; declining needs no message.
    assert client.post(reply_url(requests.to_both), {"status": "declined", "message": ""}).status_code == 302
    answer.refresh_from_db()
    assert answer.status == "declined" and answer.reply == ""
    assert AuditEntry.objects.filter(action="partners.request_answered").count() == 2


@pytest.mark.parametrize(
    "data",
    [
        {"status": "interested", "message": ""},
        {"status": "interested", "message": "   "},
        {"status": "interested", "message": "x" * 1001},
        {"status": "declined", "message": "x" * 1001},
        {"status": "sent", "message": "Hallo"},
        {"status": "accepted", "message": "Hallo"},
        {"message": "Hallo"},
    ],
)
def test_a_bad_answer_is_refused_and_nothing_changes(
    requests: SimpleNamespace, pia: Any, client_for: Any, data: dict[str, str]
) -> None:
    response = client_for(pia).post(reply_url(requests.to_both), data)
    assert response.status_code == 400 and 'class="error"' in response.content.decode()
    answer = RequestRecipient.objects.get(request=requests.to_both, partner__name="Nordlicht IT")
    assert answer.status == "sent" and answer.reply == "" and answer.replied_at is None
    assert not AuditEntry.objects.filter(action="partners.request_answered").exists()


def test_a_closed_request_can_be_read_but_not_answered(
    requests: SimpleNamespace, pia: Any, ayse: Any, client_for: Any
) -> None:
    actions.partner_request_close(actor=ayse, partner_request=requests.to_both)
    client = client_for(pia)
    assert client.get(inbox_url(requests.to_both)).status_code == 200
    response = client.post(reply_url(requests.to_both), {"status": "interested", "message": "Spät"})
    assert response.status_code == 400
    assert not RequestRecipient.objects.exclude(status="sent").exists()


def test_logins_of_a_deactivated_partner_or_with_an_organization_role_are_shut_out(
    tree: SimpleNamespace, requests: SimpleNamespace, pia: Any, client_for: Any
) -> None:
    from wegweiser.organizations import actions as org_actions

    client = client_for(pia)
    assert client.get(reverse("partners:inbox")).status_code == 200
    Partner.objects.filter(name="Nordlicht IT").update(is_active=False)
    assert client.get(reverse("partners:inbox")).status_code == 404
    Partner.objects.filter(name="Nordlicht IT").update(is_active=True)
    org_actions.membership_create(actor=None, node=tree.agency_b, user=pia, role=Role.STAFF)
    assert client.get(reverse("partners:inbox")).status_code == 404  # the two sides never mix


def test_partners_need_no_two_factor_authentication(
    requests: SimpleNamespace, pia: Any, client_for: Any
) -> None:
    from allauth.mfa.models import Authenticator

    assert not Authenticator.objects.filter(user=pia).exists()
    assert client_for(pia).get(inbox_url(requests.to_both)).status_code == 200


# --- keeping the directory ---------------------------------------------------------------------

def _partner_data(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Neue Agentur",
        "kind": "provider",
        "specialties": ["web", "accessibility"],
        "regions": ["DE-SH", "remote"],
        "description": "Barrierefreie Websites.",
        "website": "https://neue-agentur.example",
        "email": "hallo@neue-agentur.example",
        **extra,
    }


def test_frieda_adds_and_edits_a_partner(frieda: Any, client_for: Any) -> None:
    client = client_for(frieda)
    response = client.post(reverse("partners:partner_new"), _partner_data())
    partner = Partner.objects.get(name="Neue Agentur")
    assert response.status_code == 302
    assert partner.specialties == ["web", "accessibility"] and partner.regions == ["remote", "DE-SH"]
    created = AuditEntry.objects.get(action="partners.partner_created")
    assert created.object_id == str(partner.public_id) and created.actor == frieda.public_id
    assert "Neue Agentur" not in str(created.data)
    edit = reverse("partners:partner_edit", args=[partner.public_id])
    assert client.get(edit).status_code == 200
    # is_active is not sent (the box unticked): the entry leaves the directory.
    response = client.post(edit, _partner_data(name="Neue Agentur GmbH", specialties=["web"]))
    partner.refresh_from_db()
    assert response.status_code == 302
    assert partner.name == "Neue Agentur GmbH" and partner.specialties == ["web"] and not partner.is_active
    updated = AuditEntry.objects.get(action="partners.partner_updated")
    assert updated.data == {"fields": ["is_active", "name", "specialties"], "active": False}
    listing = client.get(reverse("partners:manage")).content.decode()
    assert "Neue Agentur GmbH" in listing


@pytest.mark.parametrize(
    "bad",
    [
        {"name": ""},
        {"name": "x" * 201},
        {"kind": "company"},
        {"specialties": []},
        {"specialties": ["magic"]},
        {"regions": []},
        {"regions": ["DE-ZZ"]},
        {"website": "javascript:alert(1)"},
        {"website": "ftp://example.org"},
        {"email": "not-an-address"},
        {"description": "x" * 4001},
    ],
)
def test_a_bad_partner_entry_is_refused(frieda: Any, client_for: Any, bad: dict[str, Any]) -> None:
    response = client_for(frieda).post(reverse("partners:partner_new"), _partner_data(**bad))
    assert response.status_code == 400 and 'class="error"' in response.content.decode()
    assert not Partner.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="partners.").exists()


def test_frieda_attaches_only_accounts_without_any_organization_role(
    directory: SimpleNamespace, frieda: Any, jonas: Any, mia: Any, pia: Any, client_for: Any
) -> None:
    client = client_for(frieda)
    url = reverse("partners:member_add", args=[directory.webwerk.public_id])
    make_user("wanda", mfa=False)
    for username in ("jonas", "mia", "pia", "nobody", "frieda"):
        response = client.post(url, {"username": username})
        assert response.status_code == 400 and 'class="error"' in response.content.decode(), username
    assert PartnerMember.objects.count() == 1  # pia's, from the fixture
    assert client.post(url, {"username": "wanda"}).status_code == 302
    member = PartnerMember.objects.get(user__username="wanda")
    assert member.partner == directory.webwerk
    entry = AuditEntry.objects.filter(action="partners.member_added").latest("seq")
    assert entry.actor == frieda.public_id and entry.object_id == str(member.public_id)
    remove = reverse("partners:member_remove", args=[directory.webwerk.public_id, member.public_id])
    # Another partner's login cannot be removed through this partner's page.
    pias = PartnerMember.objects.get(user=pia)
    foreign = reverse("partners:member_remove", args=[directory.webwerk.public_id, pias.public_id])
    assert client.post(foreign).status_code == 404
    assert client.post(remove).status_code == 302
    assert not PartnerMember.objects.filter(user__username="wanda").exists()
    assert AuditEntry.objects.filter(action="partners.member_removed").count() == 1


def test_frieda_invites_a_new_login_by_e_mail(
    directory: SimpleNamespace, frieda: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    url = reverse("partners:member_invite", args=[directory.webwerk.public_id])
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(frieda).post(url, {"username": "webwerk-anna", "email": "Anna@Webwerk.example"})
    assert response.status_code == 302
    user = User.objects.get(username="webwerk-anna")
    assert user.kind == User.Kind.STAFF and not user.has_usable_password() and not user.memberships.exists()
    assert PartnerMember.objects.get(user=user).partner == directory.webwerk
    assert AuditEntry.objects.filter(action="partners.login_created", object_id=str(user.public_id)).exists()
    assert [m.to for m in mail.outbox] == [["anna@webwerk.example"]]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    # Taken usernames and addresses are refused.
    for data in ({"username": "WEBWERK-anna", "email": "x@webwerk.example"},
                 {"username": "webwerk-bob", "email": "anna@webwerk.example"},
                 {"username": "a b", "email": "c@webwerk.example"}):
        assert client_for(frieda).post(url, data).status_code == 400
    assert User.objects.filter(username__startswith="webwerk").count() == 1


def test_the_demo_partners_are_fictional_and_loading_them_twice_changes_nothing(db: Any) -> None:
    login = make_user("partner-demo", mfa=False)
    first = actions.partners_demo(login=login)
    assert 6 <= len(first) <= 10 and all(p.name.endswith("(Demo)") for p in first)
    assert all(p.website.endswith(".example") and p.email.endswith(".example") for p in first)
    assert PartnerMember.objects.get(user=login).partner == first[0]
    second = actions.partners_demo(login=login)
    assert [p.pk for p in second] == [p.pk for p in first]
    assert Partner.objects.count() == len(first) and PartnerMember.objects.count() == 1


def test_the_actions_refuse_actors_without_the_permission(
    tree: SimpleNamespace, directory: SimpleNamespace, jonas: Any, ayse: Any, kai: Any
) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):  # an organization admin does not keep the directory
        actions.partner_create(actor=kai, name="X", kind="provider", specialties=["it"], regions=["DE"])
    ask = make_request(ayse, tree.agency_a)
    olga = make_staff("olga", [(tree.agency_a, Role.STAFF)])
    with pytest.raises(PermissionDenied):
        actions.partner_request_address(actor=olga, partner_request=ask,
                                        partner_ids=[str(directory.nordlicht.public_id)])
    with pytest.raises(ValidationError):  # a counselor posts no requests
        make_request(jonas, tree.agency_a)
    assert not RequestRecipient.objects.exists() and PartnerRequest.objects.count() == 1
