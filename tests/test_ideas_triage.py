"""The competence centre's side: stage changes need a public answer (and a reason to decline),
duplicates move their supporters, internal notes never reach the author's side or the export,
scores and the matrix, evaluators, the overview with its CSV, and the stage list."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace
from typing import Any

from django.urls import reverse

from tests.conftest import make_staff
from tests.ideas_fixtures import make_item
from wegweiser.core.models import AuditEntry
from wegweiser.ideas import actions, selectors
from wegweiser.ideas.models import (
    EvaluatorAssignment,
    Follow,
    InternalNote,
    Item,
    Notice,
    Stage,
    StageChange,
    Support,
)
from wegweiser.organizations.models import Role

NOTE = "Vertraulich: Budget des Kreisverbands reicht nicht"


def _stage(tree: SimpleNamespace, key: str) -> Stage:
    return Stage.objects.get(federation=tree.fed, key=key)


def _move(client: Any, item: Item, stage: Stage, **data: str) -> Any:
    return client.post(
        reverse("ideas:move", kwargs={"item_id": item.public_id}),
        {"stage": str(stage.public_id), **data},
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_greta_moves_an_idea_to_workshop_with_an_answer(
    tree: SimpleNamespace, idea: Item, greta: Any, sven: Any, client_for: Any
) -> None:
    actions.item_support(user=sven, item=idea, branch=tree.region_south)
    workshop = _stage(tree, "workshop")
    response = _move(client_for(greta), idea, workshop, answer="Wir laden zu einem Workshop ein.")
    assert response.status_code == 302
    idea.refresh_from_db()
    assert idea.stage == workshop
    change = StageChange.objects.get(item=idea)
    assert (change.from_stage.key, change.to_stage.key, change.actor) == ("submitted", "workshop", greta)
    assert set(Notice.objects.filter(item=idea, kind="stage").values_list("user__username", flat=True)) == {
        "jonas",
        "sven",
    }
    assert AuditEntry.objects.filter(action="ideas.item_moved", object_id=str(idea.public_id)).exists()
    page = client_for(sven).get(reverse("ideas:item", kwargs={"item_id": idea.public_id})).content.decode()
    assert "Wir laden zu einem Workshop ein." in page


def test_a_stage_change_without_an_answer_changes_nothing(
    tree: SimpleNamespace, idea: Item, greta: Any, client_for: Any
) -> None:
    response = _move(client_for(greta), idea, _stage(tree, "workshop"), answer="   ")
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    idea.refresh_from_db()
    assert idea.stage.key == "submitted" and not StageChange.objects.exists() and not Notice.objects.exists()


def test_declining_needs_a_reason(tree: SimpleNamespace, idea: Item, greta: Any, client_for: Any) -> None:
    declined = _stage(tree, "declined")
    response = _move(client_for(greta), idea, declined, answer="Leider nicht.")
    assert response.status_code == 400 and "Declining needs a reason." in response.content.decode()
    idea.refresh_from_db()
    assert idea.stage.key == "submitted"
    assert (
        _move(client_for(greta), idea, declined, answer="Leider nicht.", reason="no_resources").status_code
        == 302
    )
    idea.refresh_from_db()
    assert idea.stage == declined and StageChange.objects.get().reason == "no_resources"


def test_an_answer_without_a_stage_change_is_kept_in_the_history(
    tree: SimpleNamespace, idea: Item, greta: Any, client_for: Any
) -> None:
    assert _move(client_for(greta), idea, idea.stage, answer="Wir schauen es uns an.").status_code == 302
    idea.refresh_from_db()
    assert idea.stage.key == "submitted"
    assert StageChange.objects.get().answer == "Wir schauen es uns an."
    assert AuditEntry.objects.filter(action="ideas.item_answered").exists()


def test_marking_a_duplicate_moves_supporters_and_keeps_history(
    tree: SimpleNamespace, jonas: Any, sven: Any, ayse: Any, greta: Any, client_for: Any
) -> None:
    original = make_item(jonas, tree.agency_a, title="Besuchsdienst für Seniorinnen")
    copy = make_item(sven, tree.region_south, title="Besuche bei einsamen Senioren")
    actions.item_support(user=ayse, item=copy, branch=tree.agency_a)
    actions.item_support(user=jonas, item=copy, branch=tree.agency_a)  # the original's author
    duplicate = _stage(tree, "duplicate")
    missing = _move(client_for(greta), copy, duplicate, answer="Gibt es schon.")
    assert missing.status_code == 400 and "Name the item this one duplicates." in missing.content.decode()
    itself = _move(client_for(greta), copy, duplicate, answer="Gibt es schon.", original=str(copy.public_id))
    assert itself.status_code == 400
    url = "https://example.org" + reverse("ideas:item", kwargs={"item_id": original.public_id})
    assert _move(client_for(greta), copy, duplicate, answer="Gibt es schon.", original=url).status_code == 302
    original.refresh_from_db()
    copy.refresh_from_db()
    assert copy.duplicate_of == original and copy.stage == duplicate
    moved = {s.user.username: s.moved_from for s in Support.objects.filter(item=original)}
    assert moved == {"ayse": copy, "sven": copy}  # jonas wrote the original; sven wrote the copy
    assert original.support_count == 2 and copy.support_count == 1
    assert Follow.objects.filter(item=original, user=sven).exists()
    assert StageChange.objects.get(item=copy).duplicate_of == original
    again = _move(client_for(greta), copy, _stage(tree, "workshop"), answer="Doch weiter.")
    assert again.status_code == 400  # a merged item stays merged


def test_internal_notes_never_reach_the_authors_side_or_the_export(
    tree: SimpleNamespace, idea: Item, greta: Any, jonas: Any, sven: Any, client_for: Any
) -> None:
    response = client_for(greta).post(
        reverse("ideas:note", kwargs={"item_id": idea.public_id}), {"text": NOTE}
    )
    assert response.status_code == 302 and InternalNote.objects.get().text == NOTE
    assert (
        NOTE
        in client_for(greta).get(reverse("ideas:triage", kwargs={"item_id": idea.public_id})).content.decode()
    )
    for user in (jonas, sven):
        client = client_for(user)
        for url in (
            reverse("ideas:item", kwargs={"item_id": idea.public_id}),
            reverse("ideas:board", kwargs={"federation_id": tree.fed.public_id}),
            reverse("ideas:notices", kwargs={"federation_id": tree.fed.public_id}),
        ):
            assert NOTE not in client.get(url).content.decode()
        assert client.get(reverse("ideas:triage", kwargs={"item_id": idea.public_id})).status_code == 404
    export = client_for(greta).get(
        reverse("ideas:overview_csv", kwargs={"federation_id": tree.fed.public_id})
    )
    assert export.status_code == 200 and NOTE not in export.content.decode("utf-8-sig")
    assert idea.title in export.content.decode("utf-8-sig")
    assert NOTE not in str(list(AuditEntry.objects.values_list("data", flat=True)))


def test_evaluators_read_and_write_notes_but_do_not_move(
    tree: SimpleNamespace, idea: Item, greta: Any, ayse: Any, lars: Any, client_for: Any
) -> None:
    url = reverse("ideas:evaluator", kwargs={"item_id": idea.public_id})
    foreign = client_for(greta).post(url, {"username": "lars"})
    assert foreign.status_code == 400 and not EvaluatorAssignment.objects.exists()
    assert client_for(greta).post(url, {"username": "ayse"}).status_code == 302
    assert (
        client_for(ayse).get(reverse("ideas:triage", kwargs={"item_id": idea.public_id})).status_code == 200
    )
    assert (
        client_for(ayse)
        .post(reverse("ideas:note", kwargs={"item_id": idea.public_id}), {"text": "Machbar"})
        .status_code
        == 302
    )
    assert _move(client_for(ayse), idea, _stage(tree, "workshop"), answer="x").status_code == 404
    client_for(greta).post(url, {"remove": str(ayse.public_id)})
    assert not EvaluatorAssignment.objects.exists()
    assert (
        client_for(ayse).get(reverse("ideas:triage", kwargs={"item_id": idea.public_id})).status_code == 404
    )


def test_scores_and_the_matrix(tree: SimpleNamespace, idea: Item, greta: Any, client_for: Any) -> None:
    url = reverse("ideas:score", kwargs={"item_id": idea.public_id})
    assert client_for(greta).post(url, {"effort": "9", "impact": "2"}).status_code == 400
    idea.refresh_from_db()
    assert idea.effort is None
    assert client_for(greta).post(url, {"effort": "2", "impact": "5"}).status_code == 302
    idea.refresh_from_db()
    assert (idea.effort, idea.impact) == (2, 5)
    matrix = client_for(greta).get(reverse("ideas:matrix", kwargs={"federation_id": tree.fed.public_id}))
    body = matrix.content.decode()
    assert idea.title in body
    cell = body[body.index('<th scope="row">5</th>') :]
    cell = cell[: cell.index("</tr>")]
    assert idea.title in cell and 'class="pick-implement"' in cell


def test_overview_heat_table_stage_counts_and_time_in_stage(
    tree: SimpleNamespace, jonas: Any, sven: Any, greta: Any, client_for: Any
) -> None:
    make_item(jonas, tree.agency_a, kind="need", field="childcare")
    make_item(jonas, tree.agency_a, kind="need", field="childcare")
    make_item(sven, tree.region_south, kind="need", field="elderly_care")
    idea = make_item(sven, tree.region_south, title='=HYPERLINK("http://x")')
    actions.item_move(actor=greta, item=idea, stage=_stage(tree, "review"), answer="Prüfen wir.")
    items = selectors.items_in(tree.fed, [tree.fed.path])
    heat = selectors.heat_table(items, tree.fed)
    assert heat["regions"] == ["Region Nord", "Region Süd"]
    childcare = next(r for r in heat["rows"] if r["field"] == "Childcare" or r["field"] == "Kinderbetreuung")
    assert [c["n"] for c in childcare["cells"]] == [2, 0]
    counts = {
        row["stage"].key: (row["needs"], row["ideas"])
        for row in selectors.stage_counts(items, list(Stage.objects.filter(federation=tree.fed)))
    }
    assert counts["submitted"] == (3, 0) and counts["review"] == (0, 1)
    times = {
        row["stage"].key: row["stays"]
        for row in selectors.time_in_stage(items, list(Stage.objects.filter(federation=tree.fed)))
    }
    assert times == {"submitted": 4, "review": 1}
    page = client_for(greta).get(reverse("ideas:overview", kwargs={"federation_id": tree.fed.public_id}))
    assert page.status_code == 200 and "Region Süd" in page.content.decode()
    export = client_for(greta).get(
        reverse("ideas:overview_csv", kwargs={"federation_id": tree.fed.public_id})
    )
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "type", "title"] and len(rows) == 5
    assert any(row[2].startswith("'=HYPERLINK") for row in rows)  # no formula reaches a spreadsheet
    heat_csv = client_for(greta).get(
        reverse("ideas:overview_csv", kwargs={"federation_id": tree.fed.public_id}), {"table": "heat"}
    )
    heat_rows = list(csv.reader(io.StringIO(heat_csv.content.decode("utf-8-sig"))))
    assert heat_rows[0] == ["field", "Region Nord", "Region Süd", "total"]
    assert ["Kinderbetreuung", "2", "0", "2"] in heat_rows or ["Childcare", "2", "0", "2"] in heat_rows


def test_a_regional_competence_centre_sees_only_its_region(
    tree: SimpleNamespace, jonas: Any, sven: Any, client_for: Any
) -> None:
    south = make_staff("rita", [(tree.region_south, Role.INNOVATION)])
    north_item = make_item(jonas, tree.agency_a, title="Nord-Idee")
    make_item(sven, tree.region_south, title="Süd-Idee")
    export = client_for(south).get(
        reverse("ideas:overview_csv", kwargs={"federation_id": tree.fed.public_id})
    )
    body = export.content.decode("utf-8-sig")
    assert "Süd-Idee" in body and "Nord-Idee" not in body
    assert (
        client_for(south).get(reverse("ideas:triage", kwargs={"item_id": north_item.public_id})).status_code
        == 404
    )
    # Stages belong to the whole federation: only triage on the root configures them.
    assert (
        client_for(south)
        .get(reverse("ideas:stages", kwargs={"federation_id": tree.fed.public_id}))
        .status_code
        == 404
    )


def test_stages_can_be_renamed_added_and_switched_off(
    tree: SimpleNamespace, idea: Item, greta: Any, client_for: Any
) -> None:
    url = reverse("ideas:stages", kwargs={"federation_id": tree.fed.public_id})
    client = client_for(greta)
    assert client.get(url).status_code == 200
    review = _stage(tree, "review")
    prefix = str(review.public_id)
    data = {
        "stage": prefix,
        f"{prefix}-label_de": "Bewertung",
        f"{prefix}-label_sv": "Bedömning",
        f"{prefix}-label_en": "Assessment",
        f"{prefix}-position": "1",
        f"{prefix}-is_active": "on",
        f"{prefix}-kind": "done",
    }
    assert client.post(url, data).status_code == 302
    review.refresh_from_db()
    assert (review.label_de, review.kind) == ("Bewertung", "open")  # the kind never changes
    new = {
        "stage": "",
        "new-label_de": "Verstetigung",
        "new-label_sv": "Förankring",
        "new-label_en": "Embedding",
        "new-kind": "active",
        "new-position": "6",
        "new-is_active": "on",
    }
    assert client.post(url, new).status_code == 302
    assert Stage.objects.filter(federation=tree.fed, key="embedding", kind="active").exists()
    # Switching off every open stage is refused and changes nothing.
    submitted = _stage(tree, "submitted")
    for stage in (review, submitted):
        p = str(stage.public_id)
        response = client.post(
            url,
            {
                "stage": p,
                f"{p}-label_de": stage.label_de,
                f"{p}-label_sv": stage.label_sv,
                f"{p}-label_en": stage.label_en,
                f"{p}-position": stage.position,
            },
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 400 and "At least one open stage" in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.is_active
    assert AuditEntry.objects.filter(action="ideas.stage_created").exists()
