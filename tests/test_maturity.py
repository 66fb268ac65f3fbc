"""The digital self-check: the questionnaire file, scoring, the flow through real endpoints (start,
invite by link, answer one statement per screen, resume, close), results with comparison and
k-anonymous benchmarks, the PDF, and who may see what."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from django.urls import reverse

from tests.conftest import make_staff
from wegweiser.core.models import AuditEntry
from wegweiser.maturity import actions, benchmarks, questionnaire, scoring
from wegweiser.maturity.models import Answer, Check, Respondent
from wegweiser.organizations import actions as org
from wegweiser.organizations.models import NodeKind, Role

Q = questionnaire.current()


def _text(word: str) -> dict[str, str]:
    return {"de": f"{word} de", "sv": f"{word} sv", "en": f"{word} en"}


def _valid(per_dimension: int = 6) -> dict[str, Any]:
    return {
        "version": "2099-1",
        "published": dt.date(2099, 1, 1),
        "title": _text("t"),
        "sources": [{"title": "DRK", "url": "https://www.drk-wohlfahrt.de/"}],
        "dimensions": [
            {
                "key": key,
                "label": _text(key),
                "description": _text("d"),
                "statements": [{"key": f"{key}.s{i}", "text": _text(f"s{i}")} for i in range(per_dimension)],
                "recommendations": [{"band": band, "text": _text(band)} for band in questionnaire.BANDS],
                "tool_categories": ["video"],
                "resources": [{"title": _text("r"), "url": "https://www.bsi.bund.de/"}],
                "idea_keywords": _text("k"),
            }
            for key in questionnaire.DIMENSIONS
        ],
    }


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "2099-1.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_the_shipped_questionnaire_loads_with_30_to_50_statements_in_three_languages() -> None:
    assert 30 <= len(Q.statements) <= 50
    assert [d.key for d in Q.dimensions] == list(questionnaire.DIMENSIONS)
    for statement in Q.statements:
        assert statement.text.de and statement.text.sv and statement.text.en
    assert len(Q.by_key) == len(Q.statements)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["dimensions"][0]["statements"][0]["text"].pop("sv"), "missing ['sv']"),
        (lambda d: d["dimensions"][0].update(extra=1), "unknown keys ['extra']"),
        (lambda d: d["dimensions"].reverse(), "expected 'strategy'"),
        (lambda d: d["dimensions"][0]["statements"][1].update(key="strategy.s0"), "used twice"),
        (lambda d: d["dimensions"][0]["recommendations"].pop(), "one per band"),
        (lambda d: d["dimensions"][0].update(tool_categories=["fax"]), "expected keys from"),
        (lambda d: d["dimensions"][0]["resources"][0].update(url="http://x.example"), "https://"),
        (lambda d: d.update(version="2099-2"), "must match the file name"),
    ],
)
def test_a_broken_questionnaire_is_refused_with_its_place(tmp_path: Path, change: Any, message: str) -> None:
    data = _valid()
    change(data)
    with pytest.raises(questionnaire.QuestionnaireError, match=re.escape(message)) as error:
        questionnaire.load(_write(tmp_path, data))
    assert "2099-1.yaml" in str(error.value)


def test_too_few_statements_are_refused(tmp_path: Path) -> None:
    with pytest.raises(questionnaire.QuestionnaireError, match="30 to 50"):
        questionnaire.load(_write(tmp_path, _valid(per_dimension=5)))


def test_scoring_leaves_out_dont_know_and_needs_half_the_statements() -> None:
    q = Q
    strategy = [s.key for s in q.dimension("strategy").statements]
    half = (len(strategy) + 1) // 2
    full = {key: 4 for key in strategy}
    partial = {key: 1 for key in strategy[: half - 1]} | {key: 0 for key in strategy[half - 1 :]}
    result = scoring.score(q, [full, partial]).by_key()
    # The second respondent answered fewer than half with 1–4 ("don't know" never counts): only
    # the first counts, with the top score.
    assert result["strategy"].score == 100 and result["strategy"].counting == 1
    assert result["staff"].score is None
    both = scoring.score(q, [full, {key: 1 for key in strategy}]).by_key()["strategy"]
    assert (both.score, both.low, both.high, both.band) == (50, 0, 100, "developing")
    assert scoring.score(q, [full]).overall is None  # not every area has a score
    everything = {s.key: 3 for s in q.statements}
    assert scoring.score(q, [everything]).overall == 67
    assert [scoring.band(v) for v in (0, 25, 26, 50, 51, 75, 76, 100)] == [
        "start",
        "start",
        "developing",
        "developing",
        "established",
        "established",
        "advanced",
        "advanced",
    ]


def _answer_all(client: Any, check: Check, value: int) -> None:
    for number in range(1, len(Q.statements) + 1):
        response = client.post(
            reverse("maturity:answer", kwargs={"check_id": check.public_id, "number": number}),
            {"value": str(value)},
        )
        assert response.status_code == 302


def _token(response: Any) -> str:
    match = re.search(r"/maturity/join/([A-Za-z0-9_-]+)/", response.content.decode())
    assert match
    return match.group(1)


def test_a_unit_checks_itself_with_a_colleague_and_sees_its_result(
    tree: SimpleNamespace, ayse: Any, jonas: Any, client_for: Any
) -> None:
    lead = client_for(ayse)
    start = lead.post(
        reverse("maturity:home"), {"organization": str(tree.agency_a.public_id), "size_band": "10-49"}
    )
    check = Check.objects.get()
    assert start.status_code == 302 and start.url.endswith("/q/1/")
    assert (check.organization, check.size_band, check.federation_path, check.region_path) == (
        tree.agency_a,
        "10-49",
        tree.fed.path,
        tree.region.path,
    )
    # A second check of the same unit while one runs is refused.
    again = lead.post(
        reverse("maturity:home"),
        {"organization": str(tree.agency_a.public_id), "size_band": "1-9"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert "running already" in again.content.decode() and Check.objects.count() == 1
    # Bad input on a statement stores nothing.
    url = reverse("maturity:answer", kwargs={"check_id": check.public_id, "number": 1})
    assert lead.post(url, {"value": "9"}).status_code == 400
    assert not Answer.objects.exists()
    # Save and continue later, then resume where she stopped.
    lead.post(url, {"value": "4"})
    lead.post(
        reverse("maturity:answer", kwargs={"check_id": check.public_id, "number": 2}),
        {"value": "3", "later": "1"},
    )
    assert Respondent.objects.get(user=ayse).position == 2
    page = lead.get(reverse("maturity:check", kwargs={"check_id": check.public_id})).content.decode()
    assert f"/maturity/checks/{check.public_id}/q/2/" in page
    _answer_all(lead, check, 3)
    # She invites jonas by link; he takes part and answers.
    token = _token(lead.post(reverse("maturity:check", kwargs={"check_id": check.public_id})))
    colleague = client_for(jonas)
    join = reverse("maturity:join", kwargs={"token": token})
    assert colleague.get(join).status_code == 200
    assert not Respondent.objects.filter(user=jonas).exists()  # a GET changes nothing
    assert colleague.post(join).status_code == 302
    _answer_all(colleague, check, 1)
    colleague.post(reverse("maturity:finish", kwargs={"check_id": check.public_id}))
    # jonas does not run checks: he cannot close it.
    assert colleague.post(reverse("maturity:close", kwargs={"check_id": check.public_id})).status_code == 404
    assert lead.post(reverse("maturity:close", kwargs={"check_id": check.public_id})).status_code == 302
    check.refresh_from_db()
    assert check.closed_at and check.overall == 33 and set(check.scores) == set(questionnaire.DIMENSIONS)
    assert check.invite_token_hash == ""
    assert colleague.get(join).status_code == 404  # the link ends with the check
    result = colleague.get(reverse("maturity:results", kwargs={"check_id": check.public_id}))
    body = result.content.decode()
    assert result.status_code == 200 and "<svg" in body and 'role="img"' in body and "33" in body
    pdf = lead.get(reverse("maturity:results_pdf", kwargs={"check_id": check.public_id}))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # Closed: answers cannot change any more.
    assert lead.post(url, {"value": "1"}).status_code == 400
    assert {e.action for e in AuditEntry.objects.filter(action__startswith="maturity.")} == {
        "maturity.check_started",
        "maturity.invite_created",
        "maturity.respondent_joined",
        "maturity.respondent_finished",
        "maturity.check_closed",
    }
    for entry in AuditEntry.objects.filter(action__startswith="maturity."):  # ids and counts, no answers
        assert set(entry.data) <= {"questionnaire", "size", "respondents", "dimensions"}


def test_the_next_check_is_compared_with_the_last(tree: SimpleNamespace, ayse: Any, client_for: Any) -> None:
    first = actions.check_start(actor=ayse, organization=tree.agency_a, size_band="10-49")
    _answer_all(client_for(ayse), first, 2)
    actions.check_close(actor=ayse, check=first)
    second = actions.check_start(actor=ayse, organization=tree.agency_a, size_band="10-49")
    _answer_all(client_for(ayse), second, 4)
    page = (
        client_for(ayse)
        .get(reverse("maturity:results", kwargs={"check_id": second.public_id}))
        .content.decode()
    )
    assert 'class="radar-previous"' in page and "<td>33</td>" in page and "<td>100</td>" in page


def test_a_check_cannot_close_without_enough_answers(tree: SimpleNamespace, ayse: Any) -> None:
    from django.core.exceptions import ValidationError

    check = actions.check_start(actor=ayse, organization=tree.agency_a, size_band="1-9")
    with pytest.raises(ValidationError, match=r"Not enough answers|Noch nicht genug"):
        actions.check_close(actor=ayse, check=check)
    check.refresh_from_db()
    assert check.closed_at is None


def test_a_tampered_statement_or_value_is_refused(tree: SimpleNamespace, ayse: Any) -> None:
    from django.core.exceptions import ValidationError

    check = actions.check_start(actor=ayse, organization=tree.agency_a, size_band="1-9")
    respondent = Respondent.objects.get(check_run=check)
    for key, value in (("strategy.nope", 3), (Q.statements[0].key, 5), (Q.statements[0].key, "x")):
        with pytest.raises(ValidationError):
            actions.answer_save(respondent=respondent, key=key, value=value)
    assert not Answer.objects.exists()


def _peer(tree: SimpleNamespace, name: str, scores: dict[str, int], *, size: str = "10-49") -> None:
    unit = org.node_create(actor=None, parent=tree.branch, name=name, kind=NodeKind.AGENCY)
    Check.objects.create(
        organization=unit,
        federation_path=tree.fed.path,
        region_path=tree.region.path,
        size_band=size,
        questionnaire=Q.version,
        closed_at="2026-11-01T10:00:00Z",
        scores=scores,
        overall=50,
    )


def test_benchmarks_stay_hidden_below_five_organizations(
    tree: SimpleNamespace, ayse: Any, client_for: Any
) -> None:
    check = actions.check_start(actor=ayse, organization=tree.agency_a, size_band="10-49")
    _answer_all(client_for(ayse), check, 3)
    for i in range(4):
        _peer(tree, f"Peer {i}", {"strategy": 10 * (i + 1), "staff": 40})
    marks = {b.key: b for b in benchmarks.benchmarks(check)}
    assert marks["federation"].peers == 4 and not marks["federation"].shown
    page = (
        client_for(ayse)
        .get(reverse("maturity:results", kwargs={"check_id": check.public_id}))
        .content.decode()
    )
    assert 'polygon points' in page and 'class="radar-peers"' not in page  # no peer line in the chart
    _peer(tree, "Peer 4", {"strategy": 50, "staff": 40}, size="1-9")
    marks = {b.key: b for b in benchmarks.benchmarks(check)}
    assert marks["federation"].shown and marks["federation"].medians == {"strategy": 30, "staff": 40}
    assert marks["region"].shown
    assert marks["size"].peers == 4 and not marks["size"].shown  # the fifth peer has another size
    # An older result of a peer does not count twice: only each organization's latest.
    unit = Check.objects.filter(organization__name="Peer 0").get().organization
    Check.objects.create(
        organization=unit,
        federation_path=tree.fed.path,
        region_path=tree.region.path,
        size_band="10-49",
        questionnaire=Q.version,
        closed_at="2026-01-01T10:00:00Z",
        scores={"strategy": 0},
        overall=0,
    )
    assert {b.key: b.peers for b in benchmarks.benchmarks(check)}["federation"] == 5


@pytest.fixture
def running(tree: SimpleNamespace, ayse: Any) -> Check:
    return actions.check_start(actor=ayse, organization=tree.agency_a, size_band="10-49")


@pytest.mark.parametrize("who", ["lars", "otto", "mia", "sven"])
def test_outsiders_get_404_on_every_page(request: Any, who: str, running: Check, client_for: Any) -> None:
    client = client_for(request.getfixturevalue(who))
    token = actions.invite_create(actor=running.started_by, check=running)
    kw = {"check_id": running.public_id}
    for method, url in (
        ("get", reverse("maturity:check", kwargs=kw)),
        ("post", reverse("maturity:check", kwargs=kw)),
        ("get", reverse("maturity:answer", kwargs={**kw, "number": 1})),
        ("post", reverse("maturity:answer", kwargs={**kw, "number": 1})),
        ("post", reverse("maturity:finish", kwargs=kw)),
        ("post", reverse("maturity:close", kwargs=kw)),
        ("get", reverse("maturity:results", kwargs=kw)),
        ("get", reverse("maturity:results_pdf", kwargs=kw)),
        ("get", reverse("maturity:join", kwargs={"token": token})),
        ("post", reverse("maturity:join", kwargs={"token": token})),
    ):
        response = getattr(client, method)(url, {"value": "3"} if method == "post" else None)
        assert response.status_code == 404, (who, method, url)
    assert Respondent.objects.count() == 1 and not Answer.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login(running: Check, anon: Any) -> None:
    for url in (
        reverse("maturity:home"),
        reverse("maturity:check", kwargs={"check_id": running.public_id}),
        reverse("maturity:results", kwargs={"check_id": running.public_id}),
    ):
        response = anon.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url


def test_a_colleague_who_has_not_joined_sees_nothing(running: Check, jonas: Any, client_for: Any) -> None:
    assert (
        client_for(jonas).get(reverse("maturity:check", kwargs={"check_id": running.public_id})).status_code
        == 404
    )
    assert (
        client_for(jonas).get(reverse("maturity:results", kwargs={"check_id": running.public_id})).status_code
        == 404
    )


def test_only_those_who_run_checks_can_start_one(tree: SimpleNamespace, jonas: Any, client_for: Any) -> None:
    response = client_for(jonas).post(
        reverse("maturity:home"), {"organization": str(tree.agency_a.public_id), "size_band": "1-9"}
    )
    assert response.status_code == 200 and not Check.objects.exists()
    lead_elsewhere = make_staff("uwe", [(tree.other_agency, Role.AGENCY_LEAD)])
    response = client_for(lead_elsewhere).post(
        reverse("maturity:home"), {"organization": str(tree.agency_a.public_id), "size_band": "1-9"}
    )
    assert response.status_code == 200 and not Check.objects.exists()
