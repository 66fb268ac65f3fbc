"""The permission module: roles on a node apply to its subtree, never across federations."""

from __future__ import annotations

from types import SimpleNamespace

from tests.conftest import make_staff
from wegweiser.accounts.models import User
from wegweiser.organizations.access import (
    Perm,
    grantable_roles,
    has_perm,
    nodes_with_perm,
    roles_on,
)
from wegweiser.organizations.models import Role


def test_roles_apply_to_the_subtree_only(tree: SimpleNamespace, kai: User) -> None:
    assert has_perm(kai, Perm.MANAGE_MEMBERS, tree.branch)
    assert has_perm(kai, Perm.MANAGE_MEMBERS, tree.agency_a)
    assert not has_perm(kai, Perm.MANAGE_MEMBERS, tree.region)
    assert not has_perm(kai, Perm.VIEW_NODE, tree.fed)
    assert not has_perm(kai, Perm.VIEW_NODE, tree.region_south)
    assert set(nodes_with_perm(kai, Perm.VIEW_NODE)) == {tree.branch, tree.agency_a, tree.agency_b}


def test_two_federations_never_see_each_other(tree: SimpleNamespace, frieda: User,
                                              lars: User) -> None:
    fed_a = {tree.fed, tree.region, tree.branch, tree.agency_a, tree.agency_b, tree.region_south}
    assert set(nodes_with_perm(frieda, Perm.VIEW_NODE)) == fed_a
    assert set(nodes_with_perm(lars, Perm.VIEW_NODE)) == {tree.other_fed, tree.other_agency}
    for node in fed_a:
        assert roles_on(lars, node) == set()
    assert not has_perm(frieda, Perm.VIEW_NODE, tree.other_agency)


def test_counselor_counsels_but_does_not_administer(tree: SimpleNamespace, jonas: User) -> None:
    assert has_perm(jonas, Perm.COUNSEL, tree.agency_a)
    assert not has_perm(jonas, Perm.COUNSEL, tree.agency_b)
    assert not has_perm(jonas, Perm.MANAGE_MEMBERS, tree.agency_a)
    assert not has_perm(jonas, Perm.VIEW_AUDIT, tree.agency_a)
    assert grantable_roles(jonas, tree.agency_a) == []


def test_staff_without_totp_hold_no_permission(tree: SimpleNamespace) -> None:
    nina = make_staff("nina", [(tree.agency_a, Role.COUNSELOR)], mfa=False)
    assert roles_on(nina, tree.agency_a) == set()
    assert not has_perm(nina, Perm.VIEW_NODE, tree.agency_a)
    assert not nodes_with_perm(nina, Perm.VIEW_NODE).exists()


def test_inactive_users_and_units_grant_nothing(tree: SimpleNamespace, jonas: User) -> None:
    tree.agency_a.is_active = False
    tree.agency_a.save()
    jonas = User.objects.get(pk=jonas.pk)
    assert not has_perm(jonas, Perm.COUNSEL, tree.agency_a)
    jonas.is_active = False
    assert not has_perm(jonas, Perm.VIEW_NODE, tree.agency_a)


def test_only_federation_admins_grant_federation_admin(tree: SimpleNamespace, kai: User,
                                                       frieda: User) -> None:
    assert Role.FEDERATION_ADMIN not in grantable_roles(kai, tree.branch)
    assert Role.ORG_ADMIN in grantable_roles(kai, tree.branch)
    assert Role.FEDERATION_ADMIN in grantable_roles(frieda, tree.branch)


def test_clients_hold_nothing(tree: SimpleNamespace, mia: User) -> None:
    assert not nodes_with_perm(mia, Perm.VIEW_NODE).exists()
