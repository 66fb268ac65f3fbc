"""The author's side of the needs & ideas pipeline through real endpoints: submitting with
duplicate hints, support from another branch, comments, following and notices, attachments,
reports and automatic hiding; bad input changes nothing."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from tests.conftest import make_staff
from tests.ideas_fixtures import make_item
from wegweiser.core.models import AuditEntry
from wegweiser.ideas import actions
from wegweiser.ideas.models import Comment, Follow, Item, ItemAttachment, Notice, Report, Stage, Support
from wegweiser.organizations.models import Role

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _new_url(tree: SimpleNamespace) -> str:
    return reverse("ideas:item_new", kwargs={"federation_id": tree.fed.public_id})


def _form(tree: SimpleNamespace, **overrides: Any) -> dict[str, Any]:
    return {
        "kind": "idea",
        "title": "Telefonkette gegen Einsamkeit",
        "problem": "Ältere Menschen sind allein.",
        "affected": "Seniorinnen",
        "field": "elderly_care",
        "branch": str(tree.agency_a.public_id),
        **overrides,
    }


def test_jonas_submits_an_idea_with_a_file_and_follows_it(
    tree: SimpleNamespace, jonas: Any, client_for: Any
) -> None:
    client = client_for(jonas)
    data = _form(tree, files=SimpleUploadedFile("plan.png", PNG, content_type="image/png"))
    response = client.post(_new_url(tree), data)
    item = Item.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("ideas:item", kwargs={"item_id": item.public_id})
    assert (item.title, item.branch, item.author, item.stage.key) == (
        "Telefonkette gegen Einsamkeit",
        tree.agency_a,
        jonas,
        "submitted",
    )
    assert Stage.objects.filter(federation=tree.fed).count() == 10
    assert Follow.objects.filter(item=item, user=jonas).exists()
    attachment = ItemAttachment.objects.get(item=item)
    assert attachment.content_type == "image/png"
    assert AuditEntry.objects.filter(action="ideas.item_created", object_id=str(item.public_id)).exists()
    page = client.get(response.url)
    assert "Telefonkette gegen Einsamkeit" in page.content.decode()
    download = client.get(reverse("ideas:attachment", kwargs={"attachment_id": attachment.public_id}))
    assert download.status_code == 200 and download.content == PNG
    assert "attachment" in download["Content-Disposition"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": ""}, "This field is required"),
        ({"title": "x" * 161}, "at most 160 characters"),
        ({"problem": "   "}, "This field is required"),
        ({"problem": "p" * 5001}, "at most 5000 characters"),
        ({"field": "astrology"}, "Select a valid choice"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(
    tree: SimpleNamespace, jonas: Any, client_for: Any, overrides: dict[str, str], message: str
) -> None:
    response = client_for(jonas).post(_new_url(tree), _form(tree, **overrides), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Item.objects.exists()
    # What was typed is shown again (the problem text, unless the problem was the bad field).
    if "problem" not in overrides:
        assert "Ältere Menschen sind allein." in response.content.decode()


def test_a_unit_that_is_not_ones_own_is_refused(tree: SimpleNamespace, jonas: Any, client_for: Any) -> None:
    response = client_for(jonas).post(_new_url(tree), _form(tree, branch=str(tree.region_south.public_id)))
    assert response.status_code == 200
    assert not Item.objects.exists()


def test_a_file_of_the_wrong_type_stores_nothing(
    tree: SimpleNamespace, jonas: Any, client_for: Any, settings: Any, tmp_path: Any
) -> None:
    settings.ATTACHMENT_ROOT = str(tmp_path)
    data = _form(tree, files=SimpleUploadedFile("x.exe", b"MZ" + b"\x00" * 100))
    response = client_for(jonas).post(_new_url(tree), data)
    assert response.status_code == 200
    assert not Item.objects.exists() and not ItemAttachment.objects.exists()
    assert not list(tmp_path.iterdir())


def test_duplicate_hints_while_typing(tree: SimpleNamespace, jonas: Any, sven: Any, client_for: Any) -> None:
    original = make_item(jonas, tree.agency_a, title="Besuchsdienst gegen Einsamkeit von Senioren")
    make_item(jonas, tree.agency_a, title="Digitale Dienstpläne für die Kita", field="childcare")
    url = reverse("ideas:similar", kwargs={"federation_id": tree.fed.public_id})
    response = client_for(sven).get(url, {"title": "Einsamkeit älterer Senioren"})
    body = response.content.decode()
    assert response.status_code == 200
    assert str(original.public_id) in body and "Dienstpläne" not in body
    # A new item is found without restarting (the per-process index grows).
    later = make_item(jonas, tree.agency_a, title="Kita Dienstplan digital planen", field="childcare")
    body = client_for(sven).get(url, {"title": "Dienstplan der Kita digital"}).content.decode()
    assert str(later.public_id) in body
    assert client_for(sven).get(url, {"title": "ab"}).content.decode().strip() == ""


def test_sven_supports_from_another_branch_once(
    tree: SimpleNamespace, idea: Item, sven: Any, client_for: Any
) -> None:
    client = client_for(sven)
    url = reverse("ideas:support", kwargs={"item_id": idea.public_id})
    assert client.post(url, {"branch": str(tree.region_south.public_id)}).status_code == 302
    idea.refresh_from_db()
    assert idea.support_count == 1
    assert Support.objects.get(item=idea).branch == tree.region_south
    assert Follow.objects.filter(item=idea, user=sven).exists()
    again = client.post(url, {"branch": str(tree.region_south.public_id)}, HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 400
    assert "You support this item already." in again.content.decode()
    idea.refresh_from_db()
    assert idea.support_count == 1 and Support.objects.count() == 1
    page = client.get(reverse("ideas:item", kwargs={"item_id": idea.public_id})).content.decode()
    assert "Region Süd" in page


def test_the_author_cannot_support_their_own_item(
    idea: Item, jonas: Any, tree: SimpleNamespace, client_for: Any
) -> None:
    response = client_for(jonas).post(
        reverse("ideas:support", kwargs={"item_id": idea.public_id}), {"branch": str(tree.agency_a.public_id)}
    )
    assert response.status_code == 400
    assert not Support.objects.exists()


def test_no_support_or_comment_on_a_closed_item(
    tree: SimpleNamespace, idea: Item, sven: Any, frieda: Any, client_for: Any
) -> None:
    done = Stage.objects.get(federation=tree.fed, key="done")
    actions.item_move(actor=frieda, item=idea, stage=done, answer="Umgesetzt in allen Kreisverbänden.")
    client = client_for(sven)
    response = client.post(
        reverse("ideas:support", kwargs={"item_id": idea.public_id}),
        {"branch": str(tree.region_south.public_id)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400 and "closed" in response.content.decode()
    response = client.post(
        reverse("ideas:comment", kwargs={"item_id": idea.public_id}),
        {"text": "Toll!", "branch": str(tree.region_south.public_id)},
    )
    assert response.status_code == 400
    assert not Support.objects.exists() and not Comment.objects.exists()


def test_comments_notify_followers_but_not_the_writer(
    tree: SimpleNamespace, idea: Item, sven: Any, jonas: Any, client_for: Any
) -> None:
    response = client_for(sven).post(
        reverse("ideas:comment", kwargs={"item_id": idea.public_id}),
        {"text": "Brauchen wir auch.", "branch": str(tree.region_south.public_id)},
    )
    assert response.status_code == 302
    assert Notice.objects.filter(user=jonas, item=idea, kind="comment").count() == 1
    assert not Notice.objects.filter(user=sven).exists()
    notices = client_for(jonas).get(reverse("ideas:notices", kwargs={"federation_id": tree.fed.public_id}))
    assert idea.title in notices.content.decode()
    client_for(jonas).post(reverse("ideas:notices", kwargs={"federation_id": tree.fed.public_id}))
    assert not Notice.objects.filter(user=jonas, read_at__isnull=True).exists()


def test_an_empty_or_oversized_comment_is_refused_and_kept(
    tree: SimpleNamespace, idea: Item, sven: Any, client_for: Any
) -> None:
    url = reverse("ideas:comment", kwargs={"item_id": idea.public_id})
    long_text = "Wichtig " * 700
    response = client_for(sven).post(url, {"text": long_text, "branch": str(tree.region_south.public_id)})
    assert response.status_code == 400
    assert long_text.strip() in response.content.decode()
    assert (
        client_for(sven).post(url, {"text": "  ", "branch": str(tree.region_south.public_id)}).status_code
        == 400
    )
    assert not Comment.objects.exists()


def test_following_can_be_switched_off(idea: Item, jonas: Any, client_for: Any) -> None:
    client_for(jonas).post(reverse("ideas:follow", kwargs={"item_id": idea.public_id}), {"follow": "0"})
    assert not Follow.objects.filter(item=idea, user=jonas).exists()


@override_settings(IDEAS_REPORTS_TO_HIDE=2)
def test_reports_hide_the_item_pending_review(
    tree: SimpleNamespace, idea: Item, sven: Any, ayse: Any, greta: Any, jonas: Any, client_for: Any
) -> None:
    url = reverse("ideas:report", kwargs={"item_id": idea.public_id})
    assert client_for(sven).post(url, {"reason": "off_topic"}).status_code == 302
    twice = client_for(sven).post(url, {"reason": "spam"}, HTTP_ACCEPT_LANGUAGE="en")
    assert twice.status_code == 400 and "already" in twice.content.decode()
    assert client_for(jonas).post(url, {"reason": "spam"}).status_code == 400  # own item
    assert client_for(ayse).post(url, {"reason": "spam"}).status_code == 302
    idea.refresh_from_db()
    assert idea.moderation == Item.Moderation.PENDING and idea.report_count == 2
    assert AuditEntry.objects.filter(action="ideas.item_hidden_automatically").count() == 1
    item_url = reverse("ideas:item", kwargs={"item_id": idea.public_id})
    assert client_for(sven).get(item_url).status_code == 404
    assert client_for(jonas).get(item_url).status_code == 200  # the author sees it, marked
    board = client_for(sven).get(reverse("ideas:board", kwargs={"federation_id": tree.fed.public_id}))
    assert idea.title not in board.content.decode()
    queue = client_for(greta).get(reverse("ideas:moderation", kwargs={"federation_id": tree.fed.public_id}))
    assert idea.title in queue.content.decode()
    client_for(greta).post(
        reverse("ideas:moderate", kwargs={"item_id": idea.public_id}), {"decision": "restore"}
    )
    idea.refresh_from_db()
    assert idea.moderation == "" and not Report.objects.exists()
    assert AuditEntry.objects.filter(action="ideas.item_restored").exists()


def test_a_bad_report_reason_is_refused(idea: Item, sven: Any, client_for: Any) -> None:
    response = client_for(sven).post(
        reverse("ideas:report", kwargs={"item_id": idea.public_id}), {"reason": "x"}
    )
    assert response.status_code == 400
    assert not Report.objects.exists()


def test_the_author_adds_a_file_later_others_cannot(
    tree: SimpleNamespace, idea: Item, jonas: Any, sven: Any, client_for: Any
) -> None:
    url = reverse("ideas:attachment_add", kwargs={"item_id": idea.public_id})
    client_for(sven).post(url, {"file": io.BytesIO(PNG)})
    assert not ItemAttachment.objects.exists()
    upload = SimpleUploadedFile("bild.png", PNG, content_type="image/png")
    client_for(jonas).post(url, {"file": upload})
    assert ItemAttachment.objects.filter(item=idea).count() == 1


def test_a_member_of_two_units_chooses_the_unit(tree: SimpleNamespace, idea: Item, client_for: Any) -> None:
    both = make_staff("berit", [(tree.agency_b, Role.STAFF), (tree.region_south, Role.STAFF)])
    page = client_for(both).get(reverse("ideas:item", kwargs={"item_id": idea.public_id})).content.decode()
    assert "For which unit?" in page or "Für welche Einheit?" in page
    client_for(both).post(
        reverse("ideas:support", kwargs={"item_id": idea.public_id}), {"branch": str(tree.agency_b.public_id)}
    )
    assert Support.objects.get().branch == tree.agency_b


def test_board_lists_columns_with_counts_and_filters(
    tree: SimpleNamespace, jonas: Any, sven: Any, client_for: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(25):
        make_item(jonas, tree.agency_a, title=f"Idee Nummer {n}")
    make_item(sven, tree.region_south, title="Jugendtreff digital", field="youth")
    url = reverse("ideas:board", kwargs={"federation_id": tree.fed.public_id})
    client = client_for(sven)
    client.get(url)
    with django_assert_max_num_queries(20):  # 9 of them session, user and usersessions bookkeeping
        body = client.get(url).content.decode()
    assert body.count('class="item-card"') == 20  # the first column shows its top 20 of 26
    assert "All 26" in body or "Alle 26" in body
    filtered = client.get(url, {"field": "youth"}).content.decode()
    assert "Jugendtreff digital" in filtered and "Idee Nummer" not in filtered
    by_branch = client.get(url, {"branch": str(tree.region_south.public_id)}).content.decode()
    assert "Jugendtreff digital" in by_branch and "Idee Nummer 3" not in by_branch
    submitted = Stage.objects.get(federation=tree.fed, key="submitted")
    # A stage's full list: all 26 (50 to a page; page 2 does not exist and shows the last page).
    listing = client.get(url, {"stage": str(submitted.public_id), "page": "2"}).content.decode()
    assert listing.count('class="item-card"') == 26 and "Idee Nummer 0" in listing
    assert client.get(url, {"age": "older365"}).content.decode().count('class="item-card"') == 0


def test_followers_get_one_content_free_email_per_run(
    tree: SimpleNamespace, idea: Item, jonas: Any, sven: Any, greta: Any
) -> None:
    from allauth.account.models import EmailAddress
    from django.core import mail

    from wegweiser.ideas.notifications import notify_idea_notices

    EmailAddress.objects.create(user=jonas, email="jonas@example.org", primary=True, verified=True)
    actions.comment_create(author=sven, item=idea, branch=tree.region_south, text="Geheimer Kommentartext")
    assert notify_idea_notices() == 0  # jonas has not opted in
    type(jonas).objects.filter(pk=jonas.pk).update(email_notifications=True)
    actions.item_move(
        actor=greta,
        item=idea,
        stage=Stage.objects.get(federation=tree.fed, key="review"),
        answer="Wir prüfen das.",
    )
    mail.outbox.clear()
    assert notify_idea_notices(base_url="https://wegweiser.example") == 1
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["jonas@example.org"]
    assert "Geheimer" not in mail.outbox[0].body and idea.title not in mail.outbox[0].body
    assert "https://wegweiser.example/ideas/" in mail.outbox[0].body
    assert notify_idea_notices() == 0  # never twice for the same notices


def test_the_author_changes_the_text_while_the_item_is_open(
    tree: SimpleNamespace, idea: Item, jonas: Any, sven: Any, greta: Any, client_for: Any
) -> None:
    url = reverse("ideas:item_edit", kwargs={"item_id": idea.public_id})
    assert client_for(sven).get(url).status_code == 404  # not the author
    hints = reverse("ideas:similar", kwargs={"federation_id": tree.fed.public_id})
    assert (
        str(idea.public_id) in client_for(sven).get(hints, {"title": "Einsamkeit im Alter"}).content.decode()
    )
    data = {
        "title": "Fahrdienst zum Wochenmarkt",
        "problem": "Ohne Auto kommt niemand hin.",
        "affected": "",
        "field": "volunteering",
    }
    empty = client_for(jonas).post(url, {**data, "problem": ""})
    assert empty.status_code == 200 and "Fahrdienst zum Wochenmarkt" in empty.content.decode()
    assert client_for(jonas).post(url, data).status_code == 302
    idea.refresh_from_db()
    assert (idea.title, idea.field) == ("Fahrdienst zum Wochenmarkt", "volunteering")
    entry = AuditEntry.objects.get(action="ideas.item_edited")
    assert entry.data == {"fields": ["affected", "field", "problem", "title"]}
    # The duplicate hints know the new text at once (the index is rebuilt after an edit).
    assert (
        str(idea.public_id)
        in client_for(sven).get(hints, {"title": "Fahrdienst Wochenmarkt"}).content.decode()
    )
    assert (
        str(idea.public_id)
        not in client_for(sven).get(hints, {"title": "Einsamkeit im Alter"}).content.decode()
    )
    # Once the competence centre takes it further, the text stays as it is.
    actions.item_move(
        actor=greta,
        item=idea,
        stage=Stage.objects.get(federation=tree.fed, key="workshop"),
        answer="Workshop im Januar.",
    )
    refused = client_for(jonas).post(url, {**data, "title": "Neu"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 200 and "can no longer change" in refused.content.decode()
    idea.refresh_from_db()
    assert idea.title == "Fahrdienst zum Wochenmarkt"
