"""Admin pages of the tree: permissions read as sentences, state and audit asserted."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from wegweiser.accounts.models import User
from wegweiser.core.models import AuditEntry
from wegweiser.organizations.models import Membership, Node, Role


def node_url(name: str, node: Node, **extra: Any) -> str:
    return reverse(f"organizations:{name}", kwargs={"node_id": node.public_id, **extra})


# --- who may look at all -------------------------------------------------------------------------

def test_anonymous_visitor_is_sent_to_login(anon: Any, tree: SimpleNamespace) -> None:
    response = anon.get(node_url("node", tree.agency_a))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


@pytest.mark.parametrize("name", ["node", "node_create", "node_update", "membership_add",
                                  "staff_invite"])
def test_mia_otto_and_lars_get_404_on_every_node_page(
    name: str, client_for: Any, tree: SimpleNamespace, mia: User, otto: User, lars: User
) -> None:
    for user in (mia, otto, lars):
        assert client_for(user).get(node_url(name, tree.agency_a)).status_code == 404


def test_unknown_and_malformed_ids_are_404(client_for: Any, frieda: User) -> None:
    client = client_for(frieda)
    assert client.get("/orgs/not-a-uuid/").status_code == 404
    assert client.get("/orgs/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_lars_cannot_remove_a_role_in_another_federation(
    client_for: Any, tree: SimpleNamespace, lars: User, jonas: User
) -> None:
    membership = Membership.objects.get(user=jonas)
    url = reverse("organizations:membership_delete", kwargs={"membership_id": membership.public_id})
    assert client_for(lars).post(url).status_code == 404
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_jonas_sees_his_agency_but_cannot_administer_it(
    client_for: Any, tree: SimpleNamespace, jonas: User
) -> None:
    client = client_for(jonas)
    page = client.get(node_url("node", tree.agency_a))
    assert page.status_code == 200
    assert "Beratungsstelle A" in page.content.decode()
    assert client.get(node_url("node", tree.agency_b)).status_code == 404
    assert client.get(node_url("node_create", tree.agency_a)).status_code == 404
    assert client.post(node_url("membership_add", tree.agency_a),
                       {"username": "jonas", "role": Role.AGENCY_LEAD}).status_code == 404


def test_staff_without_totp_are_sent_to_set_it_up(client_for: Any, tree: SimpleNamespace) -> None:
    from tests.conftest import make_staff

    nina = make_staff("nina", [(tree.agency_a, Role.COUNSELOR)], mfa=False)
    response = client_for(nina).get(node_url("node", tree.agency_a))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


def test_tree_lists_only_the_subtree(client_for: Any, tree: SimpleNamespace, kai: User,
                                     django_assert_max_num_queries: Any) -> None:
    client = client_for(kai)
    with django_assert_max_num_queries(15):
        body = client.get(reverse("organizations:tree")).content.decode()
    assert "Kreisverband Kiel" in body and "Beratungsstelle B" in body
    assert "Region Nord" not in body and "Förbund B" not in body


# --- writing ---------------------------------------------------------------------------------

def test_kai_adds_a_unit_with_an_audit_entry(client_for: Any, tree: SimpleNamespace,
                                             kai: User) -> None:
    response = client_for(kai).post(node_url("node_create", tree.branch),
                                    {"name": "Beratungsstelle C", "kind": "agency"})
    child = Node.objects.get(name="Beratungsstelle C")
    assert response.status_code == 302
    assert Node.objects.get_parent(child) == tree.branch
    entry = AuditEntry.objects.get(action="node.created", object_id=str(child.public_id))
    assert entry.actor == kai.public_id and entry.node == child


def test_invalid_unit_form_rerenders_translated_and_changes_nothing(
    client_for: Any, tree: SimpleNamespace, kai: User
) -> None:
    client = client_for(kai)
    before = Node.objects.count()
    audit_before = AuditEntry.objects.count()
    client.cookies["wegweiser_language"] = "de"
    response = client.post(node_url("node_create", tree.branch), {"name": "", "kind": "federation"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Dieses Feld ist zwingend erforderlich." in body
    assert Node.objects.count() == before
    assert AuditEntry.objects.count() == audit_before


def test_kai_cannot_edit_the_region_above_him(client_for: Any, tree: SimpleNamespace,
                                              kai: User) -> None:
    response = client_for(kai).post(node_url("node_update", tree.region),
                                    {"name": "Hijacked", "kind": "region", "is_active": "on"})
    assert response.status_code == 404
    tree.region.refresh_from_db()
    assert tree.region.name == "Region Nord"


def test_kai_renames_and_deactivates_a_unit(client_for: Any, tree: SimpleNamespace,
                                            kai: User) -> None:
    client_for(kai).post(node_url("node_update", tree.agency_b),
                         {"name": "Beratungsstelle Beta", "kind": "agency"})
    tree.agency_b.refresh_from_db()
    assert (tree.agency_b.name, tree.agency_b.is_active) == ("Beratungsstelle Beta", False)
    entry = AuditEntry.objects.get(action="node.updated")
    assert set(entry.data["fields"]) == {"name", "is_active"}


def test_kai_gives_jonas_a_role_in_agency_b(client_for: Any, tree: SimpleNamespace, kai: User,
                                            jonas: User) -> None:
    response = client_for(kai).post(node_url("membership_add", tree.agency_b),
                                    {"username": "jonas", "role": Role.COUNSELOR})
    assert response.status_code == 302
    membership = Membership.objects.get(user=jonas, node=tree.agency_b)
    assert AuditEntry.objects.filter(action="membership.created",
                                     object_id=str(membership.public_id)).exists()


def test_kai_cannot_make_anyone_federation_admin(client_for: Any, tree: SimpleNamespace,
                                                 kai: User, jonas: User) -> None:
    response = client_for(kai).post(node_url("membership_add", tree.branch),
                                    {"username": "jonas", "role": Role.FEDERATION_ADMIN})
    assert response.status_code == 200
    assert not Membership.objects.filter(user=jonas, role=Role.FEDERATION_ADMIN).exists()


def test_clients_cannot_get_staff_roles(client_for: Any, tree: SimpleNamespace, kai: User,
                                        mia: User) -> None:
    response = client_for(kai).post(node_url("membership_add", tree.branch),
                                    {"username": "mia", "role": Role.STAFF})
    assert response.status_code == 200
    assert not Membership.objects.filter(user=mia).exists()


def test_kai_creates_a_staff_account_which_gets_an_invitation(
    client_for: Any, tree: SimpleNamespace, kai: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(kai).post(node_url("staff_invite", tree.agency_a), {
            "username": "berta", "email": "Berta@Example.org", "role": Role.COUNSELOR})
    assert response.status_code == 302
    berta = User.objects.get(username="berta")
    assert berta.kind == User.Kind.STAFF and not berta.has_usable_password()
    assert Membership.objects.filter(user=berta, node=tree.agency_a, role=Role.COUNSELOR).exists()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["berta@example.org"]
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/password/reset/" in line)
    assert link.startswith("http://testserver/")
    assert AuditEntry.objects.filter(action="account.staff_created").exists()


def test_duplicate_username_is_a_form_error(client_for: Any, tree: SimpleNamespace, kai: User,
                                            jonas: User) -> None:
    count = User.objects.count()
    response = client_for(kai).post(node_url("staff_invite", tree.agency_a), {
        "username": "JONAS", "email": "x@example.org", "role": Role.COUNSELOR})
    assert response.status_code == 200 and User.objects.count() == count
    assert mail.outbox == []


def test_kai_removes_a_role_but_not_his_own(client_for: Any, tree: SimpleNamespace, kai: User,
                                            jonas: User) -> None:
    client = client_for(kai)
    mine = Membership.objects.get(user=kai)
    client.post(reverse("organizations:membership_delete", kwargs={"membership_id": mine.public_id}))
    assert Membership.objects.filter(pk=mine.pk).exists()
    theirs = Membership.objects.get(user=jonas)
    client.post(reverse("organizations:membership_delete", kwargs={"membership_id": theirs.public_id}))
    assert not Membership.objects.filter(pk=theirs.pk).exists()
    assert AuditEntry.objects.filter(action="membership.deleted",
                                     object_id=str(theirs.public_id)).exists()


# --- audit log -------------------------------------------------------------------------------

def test_audit_log_shows_only_the_admins_subtree(client_for: Any, tree: SimpleNamespace,
                                                 kai: User, lars: User,
                                                 django_assert_max_num_queries: Any) -> None:
    client = client_for(kai)
    with django_assert_max_num_queries(22):
        body = client.get(reverse("organizations:audit")).content.decode()
    assert "Beratungsstelle A" in body
    assert "Mottagning B" not in body and "Förbund B" not in body
    assert AuditEntry.objects.filter(action="audit.viewed", actor=kai.public_id).exists()


@pytest.mark.parametrize("who", ["mia", "otto", "jonas"])
def test_audit_log_is_404_without_the_role(who: str, request: Any, client_for: Any) -> None:
    user = request.getfixturevalue(who)
    assert client_for(user).get(reverse("organizations:audit")).status_code == 404


@pytest.mark.parametrize("who", ["mia", "otto"])
def test_tree_and_role_removal_are_404_for_outsiders(who: str, request: Any, client_for: Any,
                                                     tree: SimpleNamespace, jonas: User) -> None:
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse("organizations:tree")).status_code == 404
    membership = Membership.objects.get(user=jonas)
    url = reverse("organizations:membership_delete", kwargs={"membership_id": membership.public_id})
    assert client.post(url).status_code == 404
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_lars_sees_only_his_own_federation(client_for: Any, tree: SimpleNamespace, lars: User,
                                           kai: User) -> None:
    client = client_for(lars)
    tree_page = client.get(reverse("organizations:tree")).content.decode()
    assert "Förbund B" in tree_page and "Verband A" not in tree_page
    audit_page = client.get(reverse("organizations:audit")).content.decode()
    assert "Mottagning B" in audit_page
    assert "Beratungsstelle A" not in audit_page and "Kreisverband Kiel" not in audit_page
