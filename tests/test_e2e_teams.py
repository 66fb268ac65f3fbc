"""Agency team keys over HTTP (docs/e2e-protocol.md §3): the first key sealed to every counselor,
sharing a held key with a colleague who lacks it, replacing stale grants, rotation after someone
left, the 409 for a stale view, and 404 for everybody who does not counsel on the agency."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from tests import e2e_protocol as p
from tests.conftest import PASSWORD, make_staff
from tests.e2e_fixtures import give_identity, identity_of, private_of
from tests.e2e_http import another_identity, is_login_redirect, off_curve_point, post_json
from wegweiser.accounts.models import User
from wegweiser.core.models import AuditEntry
from wegweiser.counseling.actions import keys as key_actions
from wegweiser.counseling.models import TeamKey, TeamKeyGrant
from wegweiser.organizations import actions as org_actions
from wegweiser.organizations.models import Membership, Role

pytestmark = pytest.mark.django_db

TEAMS_URL = "/keys/teams/"


# --- 3. team keys ----------------------------------------------------------------------------------

@pytest.fixture
def team(counseling: SimpleNamespace, jonas: User, ayse: User, client_for: Any) -> SimpleNamespace:
    """jonas and ayse (both counseling on agency A) with identity keys; no team key yet."""
    give_identity(jonas)
    give_identity(ayse)
    agency = counseling.agency_a
    return SimpleNamespace(agency=agency, url=f"{TEAMS_URL}{agency.node.public_id}/",
                           jonas=client_for(jonas), ayse=client_for(ayse))


def team_grant(user: Any, kid: str, pkcs8: bytes, *, public_raw: bytes | None = None,
               with_kid: bool = False) -> dict[str, Any]:
    recipient = public_raw if public_raw is not None else identity_of(user.username)["public_raw"]
    grant = {"user": str(user.public_id), "sealed": p.seal(recipient, pkcs8, p.team_key_label(kid))}
    return {"kid": kid, **grant} if with_kid else grant


def create_request(kid: str, public: bytes, grants: Any, expected: str | None) -> dict[str, Any]:
    return {"action": "create", "key": kid, "public": p.b64u_encode(public), "grants": grants,
            "expected": expected}


def agency_state(client: Client, agency: Any) -> dict[str, Any] | None:
    states = client.get(TEAMS_URL).json()["agencies"]
    return next((s for s in states if s["agency"] == str(agency.node.public_id)), None)


def make_team_key(actor: Any, agency: Any, members: list[Any]) -> SimpleNamespace:
    """A first team key made by ``actor`` and shared with ``members``, as keys.js does it."""
    kid, public, pkcs8 = p.new_team_key()
    key_actions.team_key_create(actor=actor, agency=agency, key_id=kid, public=p.b64u_encode(public),
                                grants=[team_grant(m, kid, pkcs8) for m in members], expected_current=None)
    return SimpleNamespace(kid=kid, public=public, pkcs8=pkcs8)


def test_teams_lists_the_agency_state(team: SimpleNamespace, jonas: User, ayse: User) -> None:
    state = agency_state(team.jonas, team.agency)
    assert state is not None
    assert state["name"] == "Beratungsstelle A" and state["url"] == team.url
    assert state["current"] is None and state["keys"] == [] and state["rotate"] is False
    assert {m["user"]: m["public"] for m in state["members"]} == {
        str(jonas.public_id): identity_of("jonas")["bundle"]["public"],
        str(ayse.public_id): identity_of("ayse")["bundle"]["public"]}
    assert len(team.jonas.get(TEAMS_URL).json()["agencies"]) == 1  # agency B is not jonas's


def test_first_team_key_is_sealed_to_every_counselor(team: SimpleNamespace, jonas: User, ayse: User) -> None:
    kid, public, pkcs8 = p.new_team_key()
    grants = [team_grant(jonas, kid, pkcs8), team_grant(ayse, kid, pkcs8)]
    response = post_json(team.jonas, team.url, create_request(kid, public, grants, None))
    assert response.status_code == 200, response.content
    state = response.json()
    assert state["current"] == {"kid": kid, "public": p.b64u_encode(public)}
    [listed] = state["keys"]
    assert listed["current"] is True and listed["sealed"] == grants[0]["sealed"]
    # Each counselor opens the team key with their own identity key.
    assert p.open_sealed(private_of(jonas), listed["sealed"], p.team_key_label(kid)) == pkcs8
    ayse_state = agency_state(team.ayse, team.agency)
    assert ayse_state is not None
    assert p.open_sealed(private_of(ayse), ayse_state["keys"][0]["sealed"], p.team_key_label(kid)) == pkcs8
    assert state["missing"] == [] and ayse_state["missing"] == []
    key = TeamKey.objects.get(agency=team.agency)
    assert key.key_id == kid and key.retired_at is None and key.created_by == jonas
    assert {(g.user_id, g.recipient) for g in TeamKeyGrant.objects.all()} == {
        (jonas.pk, identity_of("jonas")["bundle"]["public"]),
        (ayse.pk, identity_of("ayse")["bundle"]["public"])}
    entry = AuditEntry.objects.get(action="keys.team_key_created")
    assert entry.data == {"rotated": False, "grants": 2} and entry.object_id == kid


def _team_unchanged() -> tuple[int, int]:
    return TeamKey.objects.count(), TeamKeyGrant.objects.count()


def test_first_team_key_must_include_every_counselor(team: SimpleNamespace, jonas: User, ayse: User,
                                                     lars: User) -> None:
    give_identity(lars)
    kid, public, pkcs8 = p.new_team_key()
    cases = [
        ("ayse missing", [team_grant(jonas, kid, pkcs8)], "members"),
        ("the actor missing", [team_grant(ayse, kid, pkcs8)], "self"),
        ("an outsider", [team_grant(jonas, kid, pkcs8), team_grant(ayse, kid, pkcs8),
                         team_grant(lars, kid, pkcs8)], "member"),
        ("no grants", [], "self"),
        ("grants not a list", {"user": str(jonas.public_id)}, "invalid"),
        ("a grant with a kid", [team_grant(jonas, kid, pkcs8, with_kid=True), team_grant(ayse, kid, pkcs8)],
         "invalid"),
        ("sealed malformed", [{"user": str(jonas.public_id), "sealed": {"epk": "x", "iv": "y", "ct": "z"}},
                              team_grant(ayse, kid, pkcs8)], "invalid"),
    ]
    for what, grants, code in cases:
        response = post_json(team.jonas, team.url, create_request(kid, public, grants, None))
        assert (response.status_code, response.json()["code"]) == (400, code), what
    for what, request in [
        ("public key off the curve", {**create_request(kid, public, [], None), "public": off_curve_point()}),
        ("kid too short", create_request("abc", public, [], None)),
        ("unknown action", {"action": "delete"}),
    ]:
        request["grants"] = [team_grant(jonas, kid, pkcs8), team_grant(ayse, kid, pkcs8)]
        response = post_json(team.jonas, team.url, request)
        assert (response.status_code, response.json()["code"]) == (400, "invalid"), what
    assert _team_unchanged() == (0, 0)
    assert not AuditEntry.objects.filter(action__startswith="keys.team").exists()


def test_a_counselor_without_an_identity_key_cannot_create_a_team_key(
        counseling: SimpleNamespace, jonas: User, client_for: Any) -> None:
    kid, public, _ = p.new_team_key()
    url = f"{TEAMS_URL}{counseling.agency_a.node.public_id}/"
    response = post_json(client_for(jonas), url, create_request(kid, public, [], None), language="en")
    assert response.status_code == 400
    assert response.json() == {"error": "Set up your encryption key first.", "code": "missing"}
    assert _team_unchanged() == (0, 0)


def test_a_stale_expected_key_is_a_409_and_changes_nothing(team: SimpleNamespace, jonas: User,
                                                           ayse: User) -> None:
    first = make_team_key(jonas, team.agency, [jonas, ayse])
    fields = ("pk", "team_key_id", "user_id", "sealed")
    before = list(TeamKeyGrant.objects.order_by("pk").values_list(*fields))
    kid, public, pkcs8 = p.new_team_key()
    grants = [team_grant(jonas, kid, pkcs8), team_grant(ayse, kid, pkcs8)]
    for expected in (None, p.new_kid()):
        request = create_request(kid, public, grants, expected)
        response = post_json(team.ayse, team.url, request, language="en")
        assert response.status_code == 409, expected
        assert response.json() == {"error": "The team key changed meanwhile. Please reload the page.",
                                   "code": "stale"}
    current = TeamKey.objects.get(agency=team.agency)
    assert current.key_id == first.kid and current.retired_at is None
    assert list(TeamKeyGrant.objects.order_by("pk").values_list(*fields)) == before


def test_a_grant_listed_twice_is_a_400(team: SimpleNamespace, jonas: User, ayse: User) -> None:
    kid, public, pkcs8 = p.new_team_key()
    grants = [team_grant(jonas, kid, pkcs8), team_grant(jonas, kid, pkcs8), team_grant(ayse, kid, pkcs8)]
    response = post_json(team.jonas, team.url, create_request(kid, public, grants, None))
    assert response.status_code == 400
    assert _team_unchanged() == (0, 0)


def test_a_reused_team_key_id_is_a_400(team: SimpleNamespace, jonas: User, ayse: User) -> None:
    first = make_team_key(jonas, team.agency, [jonas, ayse])
    _, public, pkcs8 = p.new_team_key()
    grants = [team_grant(jonas, first.kid, pkcs8), team_grant(ayse, first.kid, pkcs8)]
    response = post_json(team.jonas, team.url, create_request(first.kid, public, grants, first.kid))
    assert response.status_code == 400
    assert TeamKey.objects.get(agency=team.agency).retired_at is None


def test_grant_shares_a_held_key_with_a_new_colleague(team: SimpleNamespace, jonas: User, ayse: User,
                                                       tree: SimpleNamespace, client_for: Any) -> None:
    key = make_team_key(jonas, team.agency, [jonas, ayse])
    carla = make_staff("carla", [(tree.agency_a, Role.COUNSELOR)])
    give_identity(carla)
    state = agency_state(team.jonas, team.agency)
    assert state is not None and state["rotate"] is False  # a newcomer is no reason to rotate
    assert state["missing"] == [{"user": str(carla.public_id),
                                 "public": identity_of("carla")["bundle"]["public"], "kids": [key.kid]}]
    # carla does not hold the key: she cannot hand out anything for it, not even to herself.
    carla_client = client_for(carla)
    own = team_grant(carla, key.kid, key.pkcs8, with_kid=True)
    refused = post_json(carla_client, team.url, {"action": "grant", "grants": [own]}, language="en")
    assert refused.status_code == 400
    assert refused.json() == {"error": "You can only share team keys you hold yourself.", "code": "held"}
    assert not TeamKeyGrant.objects.filter(user=carla).exists()
    # jonas holds it and shares it.
    grant = team_grant(carla, key.kid, key.pkcs8, with_kid=True)
    response = post_json(team.jonas, team.url, {"action": "grant", "grants": [grant]})
    assert response.status_code == 200 and response.json()["missing"] == []
    stored = TeamKeyGrant.objects.get(user=carla)
    assert stored.sealed == grant["sealed"] and stored.granted_by == jonas
    assert stored.recipient == identity_of("carla")["bundle"]["public"]
    carla_state = agency_state(carla_client, team.agency)
    assert carla_state is not None
    opened = p.open_sealed(private_of(carla), carla_state["keys"][0]["sealed"], p.team_key_label(key.kid))
    assert opened == key.pkcs8
    assert AuditEntry.objects.get(action="keys.team_key_shared").data == {"grants": 1}


def test_grant_refuses_unknown_keys_and_outsiders(team: SimpleNamespace, jonas: User, ayse: User,
                                                  lars: User) -> None:
    key = make_team_key(jonas, team.agency, [jonas, ayse])
    give_identity(lars)
    before = list(TeamKeyGrant.objects.values_list("pk", "sealed"))
    other_kid = p.new_kid()
    for what, grant, code in [
        ("a kid nobody has", team_grant(ayse, other_kid, key.pkcs8, with_kid=True), "held"),
        ("a counselor of another federation", team_grant(lars, key.kid, key.pkcs8, with_kid=True), "member"),
        ("without a kid", team_grant(ayse, key.kid, key.pkcs8), "invalid"),
    ]:
        response = post_json(team.jonas, team.url, {"action": "grant", "grants": [grant]})
        assert (response.status_code, response.json()["code"]) == (400, code), what
    assert list(TeamKeyGrant.objects.values_list("pk", "sealed")) == before


def test_a_valid_grant_of_a_colleague_is_not_overwritten(team: SimpleNamespace, jonas: User,
                                                          ayse: User) -> None:
    key = make_team_key(jonas, team.agency, [jonas, ayse])
    ayse_grant = TeamKeyGrant.objects.get(user=ayse)
    # jonas (or a server-side attacker posting as him) "re-shares" a different secret to ayse.
    bogus = team_grant(ayse, key.kid, os.urandom(138), with_kid=True)
    response = post_json(team.jonas, team.url, {"action": "grant", "grants": [bogus]})
    assert response.status_code == 200
    kept = TeamKeyGrant.objects.get(user=ayse)
    assert (kept.pk, kept.sealed, kept.recipient) == (ayse_grant.pk, ayse_grant.sealed, ayse_grant.recipient)
    assert p.open_sealed(private_of(ayse), kept.sealed, p.team_key_label(key.kid)) == key.pkcs8
    assert not AuditEntry.objects.filter(action="keys.team_key_shared").exists()


def test_a_stale_grant_is_replaced_and_the_key_flagged_for_rotation(team: SimpleNamespace, jonas: User,
                                                                    ayse: User) -> None:
    key = make_team_key(jonas, team.agency, [jonas, ayse])
    renewed = another_identity("ayse")
    key_actions.identity_set(user=ayse, password=PASSWORD, bundle=renewed["bundle"],
                             recovery_proof=renewed["recovery_auth"], replace=True)
    state = agency_state(team.jonas, team.agency)
    assert state is not None
    # ayse's grant was sealed to her old identity key (which may be in bad hands): rotate.
    assert state["rotate"] is True
    assert state["missing"] == [{"user": str(ayse.public_id), "public": renewed["bundle"]["public"],
                                 "kids": [key.kid]}]
    ayse_state = agency_state(team.ayse, team.agency)
    assert ayse_state is not None and ayse_state["keys"][0]["sealed"] is None  # not for her new key
    grant = team_grant(ayse, key.kid, key.pkcs8, public_raw=renewed["public_raw"], with_kid=True)
    response = post_json(team.jonas, team.url, {"action": "grant", "grants": [grant]})
    assert response.status_code == 200 and response.json()["missing"] == []
    stored = TeamKeyGrant.objects.get(user=ayse)
    assert stored.recipient == renewed["bundle"]["public"] and stored.sealed == grant["sealed"]
    opened = p.open_sealed(p.load_private(renewed["private_pkcs8"]), stored.sealed, p.team_key_label(key.kid))
    assert opened == key.pkcs8
    assert TeamKeyGrant.objects.filter(user=ayse).count() == 1


def test_rotation_after_a_counselor_left(team: SimpleNamespace, jonas: User, ayse: User, kai: User,
                                        tree: SimpleNamespace) -> None:
    old = make_team_key(jonas, team.agency, [jonas, ayse])
    assert agency_state(team.jonas, team.agency)["rotate"] is False  # type: ignore[index]
    org_actions.membership_delete(actor=kai, membership=Membership.objects.get(user=ayse, node=tree.agency_a))
    state = agency_state(team.jonas, team.agency)
    assert state is not None and state["rotate"] is True
    assert [m["user"] for m in state["members"]] == [str(jonas.public_id)]
    assert agency_state(team.ayse, team.agency) is None  # ayse is no counselor there any more

    kid, public, pkcs8 = p.new_team_key()
    grants = [team_grant(jonas, kid, pkcs8)]
    stale = post_json(team.jonas, team.url, create_request(kid, public, grants, None))
    assert stale.status_code == 409
    response = post_json(team.jonas, team.url, create_request(kid, public, grants, old.kid))
    assert response.status_code == 200, response.content
    state = response.json()
    assert state["rotate"] is False and state["current"]["kid"] == kid
    assert [(k["kid"], k["current"]) for k in state["keys"]] == [(old.kid, False), (kid, True)]
    # jonas keeps the old key (history stays readable); ayse keeps nothing.
    kept = p.open_sealed(private_of(jonas), state["keys"][0]["sealed"], p.team_key_label(old.kid))
    assert kept == old.pkcs8
    assert not TeamKeyGrant.objects.filter(user=ayse).exists()
    assert TeamKey.objects.get(key_id=old.kid).retired_at is not None
    assert TeamKey.objects.get(key_id=kid).retired_at is None
    entry = AuditEntry.objects.filter(action="keys.team_key_created").latest("seq")
    assert entry.data == {"rotated": True, "grants": 1}
    # ayse cannot post to the agency any more.
    assert post_json(team.ayse, team.url, {"action": "grant", "grants": []}).status_code == 404
    # A second browser rotating at the same time with the same view is refused.
    again = post_json(team.jonas, team.url, create_request(p.new_kid(), public, grants, old.kid))
    assert again.status_code == 409
    assert TeamKey.objects.filter(agency=team.agency).count() == 2


@pytest.mark.parametrize("who", ["lars", "otto", "mia", "anonymous"])
def test_outsiders_cannot_see_or_change_team_keys(team: SimpleNamespace, jonas: User, ayse: User, lars: User,
                                                  otto: User, mia: User, client_for: Any, who: str) -> None:
    key = make_team_key(jonas, team.agency, [jonas, ayse])
    user = {"lars": lars, "otto": otto, "mia": mia, "anonymous": None}[who]
    if user is not None:
        give_identity(user)
    client = client_for(user)
    before = (list(TeamKey.objects.values_list("pk", "key_id", "retired_at")),
              list(TeamKeyGrant.objects.values_list("pk", "user_id", "sealed")))
    kid, public, pkcs8 = p.new_team_key()
    requests = [
        create_request(kid, public, [team_grant(jonas, kid, pkcs8), team_grant(ayse, kid, pkcs8)], key.kid),
        {"action": "grant", "grants": [team_grant(ayse, key.kid, os.urandom(138), with_kid=True)]},
    ]
    if user is not None:
        requests.append({"action": "grant", "grants": [team_grant(user, key.kid, key.pkcs8, with_kid=True)]})
    for request in requests:
        response = post_json(client, team.url, request)
        if user is None:
            assert is_login_redirect(response)
        else:
            assert response.status_code == 404
    listed = client.get(TEAMS_URL)
    if user is None:
        assert is_login_redirect(listed)
    else:
        assert listed.json() == {"agencies": []}
    after = (list(TeamKey.objects.values_list("pk", "key_id", "retired_at")),
             list(TeamKeyGrant.objects.values_list("pk", "user_id", "sealed")))
    assert after == before


def test_unknown_or_malformed_agency_ids_are_404(team: SimpleNamespace, tree: SimpleNamespace) -> None:
    for agency_id in ("nicht-eine-uuid", str(tree.other_agency.public_id), str(tree.region.public_id),
                      "00000000-0000-0000-0000-000000000000"):
        response = post_json(team.jonas, f"{TEAMS_URL}{agency_id}/", {"action": "grant", "grants": []})
        assert response.status_code == 404, agency_id
    assert team.jonas.get(team.url).status_code == 405  # POST only




def test_the_current_team_key_is_replaced_only_when_a_rotation_is_due(team: SimpleNamespace, jonas: User,
                                                                     ayse: User) -> None:
    first = make_team_key(jonas, team.agency, [jonas, ayse])
    rows = TeamKeyGrant.objects.order_by("pk").values_list("pk", "team_key_id", "user_id", "sealed")
    before = list(rows)
    kid, public, pkcs8 = p.new_team_key()
    grants = [team_grant(jonas, kid, pkcs8), team_grant(ayse, kid, pkcs8)]
    response = post_json(team.jonas, team.url, create_request(kid, public, grants, first.kid), language="en")
    assert response.status_code == 409  # nobody left: the browser just uses the current key
    assert TeamKey.objects.get(agency=team.agency, retired_at__isnull=True).key_id == first.kid
    assert list(rows.all()) == before
