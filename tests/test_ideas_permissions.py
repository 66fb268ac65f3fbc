"""Every page and endpoint of the needs & ideas board and triage: staff of another federation
(lars), a staff account without a role (otto) and a client (mia) get 404, an anonymous visitor is
sent to the login; triage pages are 404 for the author's side (jonas). Nothing changes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.urls import reverse

from wegweiser.ideas.models import Comment, InternalNote, Item, Report, Stage, StageChange, Support


@pytest.fixture
def urls(tree: SimpleNamespace, idea: Item, jonas: Any) -> dict[str, list[tuple[str, str, dict[str, str]]]]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from wegweiser.ideas.actions.items import attachment_add

    attachment = attachment_add(
        user=jonas,
        item=idea,
        upload=SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, content_type="image/png"),
    )
    fed = {"federation_id": tree.fed.public_id}
    it = {"item_id": idea.public_id}
    workshop = str(Stage.objects.get(federation=tree.fed, key="workshop").public_id)
    author_side = [
        ("get", reverse("ideas:board", kwargs=fed), {}),
        ("get", reverse("ideas:item_new", kwargs=fed), {}),
        (
            "post",
            reverse("ideas:item_new", kwargs=fed),
            {"kind": "idea", "title": "T", "problem": "P", "field": "other"},
        ),
        ("get", reverse("ideas:similar", kwargs=fed) + "?title=Einsamkeit", {}),
        ("get", reverse("ideas:notices", kwargs=fed), {}),
        ("post", reverse("ideas:notices", kwargs=fed), {}),
        ("get", reverse("ideas:item", kwargs=it), {}),
        ("get", reverse("ideas:item_edit", kwargs=it), {}),
        ("post", reverse("ideas:item_edit", kwargs=it), {"title": "T", "problem": "P", "field": "other"}),
        ("post", reverse("ideas:support", kwargs=it), {}),
        ("post", reverse("ideas:unsupport", kwargs=it), {}),
        ("post", reverse("ideas:follow", kwargs=it), {"follow": "1"}),
        ("post", reverse("ideas:comment", kwargs=it), {"text": "Hallo"}),
        ("post", reverse("ideas:report", kwargs=it), {"reason": "spam"}),
        ("post", reverse("ideas:attachment_add", kwargs=it), {}),
        ("get", reverse("ideas:attachment", kwargs={"attachment_id": attachment.public_id}), {}),
    ]
    triage_side = [
        ("get", reverse("ideas:triage", kwargs=it), {}),
        ("post", reverse("ideas:note", kwargs=it), {"text": "Intern"}),
        ("post", reverse("ideas:score", kwargs=it), {"effort": "1", "impact": "1"}),
        ("post", reverse("ideas:move", kwargs=it), {"stage": workshop, "answer": "A"}),
        ("post", reverse("ideas:evaluator", kwargs=it), {"username": "jonas"}),
        ("post", reverse("ideas:moderate", kwargs=it), {"decision": "remove"}),
        ("get", reverse("ideas:matrix", kwargs=fed), {}),
        ("get", reverse("ideas:overview", kwargs=fed), {}),
        ("get", reverse("ideas:overview_csv", kwargs=fed), {}),
        ("get", reverse("ideas:moderation", kwargs=fed), {}),
        ("get", reverse("ideas:stages", kwargs=fed), {}),
        (
            "post",
            reverse("ideas:stages", kwargs=fed),
            {
                "stage": "",
                "new-label_de": "X",
                "new-label_sv": "X",
                "new-label_en": "X",
                "new-kind": "open",
                "new-position": "3",
            },
        ),
    ]
    return {"author": author_side, "triage": triage_side}


def _unchanged(idea: Item) -> None:
    assert Item.objects.count() == 1
    idea.refresh_from_db()
    assert idea.stage.key == "submitted" and idea.moderation == "" and idea.effort is None
    assert not (
        Support.objects.exists()
        or Comment.objects.exists()
        or Report.objects.exists()
        or InternalNote.objects.exists()
        or StageChange.objects.exists()
    )
    assert Stage.objects.count() == 10


@pytest.mark.parametrize("who", ["lars", "otto", "mia"])
def test_outsiders_get_404_everywhere(request: Any, who: str, urls: Any, idea: Item, client_for: Any) -> None:
    client = client_for(request.getfixturevalue(who))
    for method, url, data in urls["author"] + urls["triage"]:
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (who, method, url)
    _unchanged(idea)


def test_anonymous_visitors_are_sent_to_the_login(anon: Any, urls: Any, idea: Item) -> None:
    for method, url, data in urls["author"] + urls["triage"]:
        response = getattr(anon, method)(url, data)
        assert response.status_code == 302 and "/accounts/login/" in response.url, url
    _unchanged(idea)


def test_the_authors_side_gets_404_on_triage(ayse: Any, urls: Any, idea: Item, client_for: Any) -> None:
    client = client_for(ayse)  # same federation, same agency as the author, no triage role
    for method, url, data in urls["triage"]:
        assert getattr(client, method)(url, data).status_code == 404, url
    _unchanged(idea)


def test_lars_cannot_read_an_item_even_with_a_triage_role_at_home(
    tree: SimpleNamespace, idea: Item, client_for: Any
) -> None:
    from tests.conftest import make_staff
    from wegweiser.organizations.models import Role

    foreign_centre = make_staff("lena", [(tree.other_fed, Role.INNOVATION)])
    client = client_for(foreign_centre)
    assert client.get(reverse("ideas:item", kwargs={"item_id": idea.public_id})).status_code == 404
    assert client.get(reverse("ideas:board", kwargs={"federation_id": tree.fed.public_id})).status_code == 404
    # Their own board works and does not list the other federation's item.
    own = client.get(reverse("ideas:board", kwargs={"federation_id": tree.other_fed.public_id}))
    assert own.status_code == 200 and idea.title not in own.content.decode()


def test_staff_without_two_factor_authentication_hold_no_permission(
    tree: SimpleNamespace, idea: Item, client_for: Any
) -> None:
    from tests.conftest import make_staff
    from wegweiser.organizations.models import Role

    no_mfa = make_staff("nora", [(tree.agency_a, Role.STAFF)], mfa=False)
    response = client_for(no_mfa).get(reverse("ideas:item", kwargs={"item_id": idea.public_id}))
    assert response.status_code == 302 and "totp" in response.url
