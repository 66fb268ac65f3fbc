"""The tool catalogue: loading the YAML file (checked first, idempotent, rating history kept,
audited), the public pages (list with filters, detail, comparison, advice) for anyone, bad input
answered with translated errors and 400, and no way to write over HTTP."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import get_resolver, reverse

from wegweiser.catalogue import selectors
from wegweiser.catalogue.actions import catalogue_load
from wegweiser.catalogue.loader import DEFAULT_PATH
from wegweiser.catalogue.models import Category, Rating, Tool
from wegweiser.core.audit import audit_verify
from wegweiser.core.models import AuditEntry

EN = {"headers": {"accept-language": "en"}}
LIST, COMPARE, ADVICE = "/tools/", "/tools/compare/", "/tools/advice/"


def minimal() -> dict[str, Any]:
    """A valid file with two categories and two tools, to change one thing at a time."""
    labels = {"de": "Video", "sv": "Video", "en": "Video"}
    texts = {"de": "Beschreibung", "sv": "Beskrivning", "en": "Description"}
    criteria = {"dpa_available": "yes", "server_location": "eu", "e2e": "yes", "telemetry": "low",
                "open_source": True, "licence": "MIT", "self_hostable": True, "hosted_offer": True,
                "cost_model": "free", "accessibility": "unknown", "vulnerable_clients_fit": "unknown"}
    rating = {"light": "unknown", "source": "Hersteller", "url": "https://example.org/",
              "date": "2024-01-31", "note": {"de": "Demo", "sv": "Demo", "en": "Demo"}}
    return {
        "version": 1, "demo": False,
        "categories": [{"key": "video", "label": labels},
                       {"key": "messenger", "label": {"de": "Messenger", "sv": "Chatt", "en": "Messenger"}}],
        "tools": [
            {"slug": "alpha", "name": "Alpha", "vendor": "A GmbH", "website": "https://alpha.example/",
             "categories": ["video"], "reviewed_on": "2024-02-01", "criteria": dict(criteria),
             "description": dict(texts), "ratings": [dict(rating)]},
            {"slug": "beta", "name": "Beta", "vendor": "B AB", "website": "https://beta.example/",
             "categories": ["video", "messenger"], "reviewed_on": "2024-02-01",
             "criteria": {**criteria, "open_source": False, "licence": "",
                          "server_location": "third_country"},
             "description": dict(texts), "ratings": [{**rating, "light": "red", "source": "BlnBDI",
                                                      "url": "https://www.datenschutz-berlin.de/"}]},
        ],
    }


def write(tmp_path: Path, data: Any, name: str = "katalog.yaml") -> Path:
    path = tmp_path / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def counts() -> tuple[int, int, int, int]:
    return Category.objects.count(), Tool.objects.count(), Rating.objects.count(), AuditEntry.objects.count()


@pytest.fixture
def seed(db: Any) -> Any:
    return catalogue_load(actor=None)


# --- loading ------------------------------------------------------------------------------------

def test_the_shipped_demo_set_loads_and_every_rating_names_source_and_date(seed: Any) -> None:
    assert 10 <= Tool.objects.count() <= 16 and 5 <= Category.objects.count() <= 6
    for tool in Tool.objects.prefetch_related("ratings", "categories"):
        assert tool.is_demo and tool.categories.exists()
        assert sum(r.is_current for r in tool.ratings.all()) == 1
        for rating in tool.ratings.all():
            assert rating.source_name and rating.source_url.startswith("https://")
            assert rating.source_date <= dt.date.today()  # noqa: DTZ011 - a date, no time
        assert tool.description_de and tool.description_sv and tool.description_en
    entry = AuditEntry.objects.get(action="catalogue.loaded")
    assert entry.actor is None and entry.data["file"] == "tools.yaml"
    assert sorted(entry.data["tools_created"]) == sorted(Tool.objects.values_list("slug", flat=True))
    assert audit_verify().ok


def test_loading_the_same_file_again_changes_nothing(seed: Any) -> None:
    before = counts()
    again = catalogue_load(actor=None, path=DEFAULT_PATH)
    assert not again.changed and counts() == before


def test_a_new_rating_becomes_current_and_the_old_one_stays_as_history(db: Any, tmp_path: Path,
                                                                       anon: Any) -> None:
    data = minimal()
    catalogue_load(actor=None, path=write(tmp_path, data))
    newer = {"light": "yellow", "source": "BlnBDI", "url": "https://www.datenschutz-berlin.de/",
             "date": "2025-03-01", "note": {"de": "Neu", "sv": "Ny", "en": "New"}}
    data["tools"][0]["ratings"].append(newer)
    summary = catalogue_load(actor=None, path=write(tmp_path, data))
    assert summary.ratings_added == ["alpha"] and summary.tools_updated == ["alpha"]
    alpha = Tool.objects.get(slug="alpha")
    assert [(r.light, r.is_current) for r in alpha.ratings.order_by("source_date")] == [
        ("unknown", False), ("yellow", True)]
    # The file may drop the old rating: the database keeps it as history.
    data["tools"][0]["ratings"] = [newer]
    catalogue_load(actor=None, path=write(tmp_path, data))
    assert alpha.ratings.count() == 2
    page = anon.get("/tools/alpha/", **EN).content.decode()
    assert page.count('class="traffic-light traffic-light-') >= 3  # current + two history rows
    assert "Hersteller" in page and "BlnBDI" in page and "(current)" in page
    assert AuditEntry.objects.filter(action="catalogue.loaded").count() == 2  # the last load changed nothing


def test_changed_criteria_and_categories_are_updated_in_place(db: Any, tmp_path: Path) -> None:
    data = minimal()
    catalogue_load(actor=None, path=write(tmp_path, data))
    data["tools"][0]["criteria"]["e2e"] = "partial"
    data["tools"][0]["categories"] = ["video", "messenger"]
    summary = catalogue_load(actor=None, path=write(tmp_path, data))
    assert summary.tools_updated == ["alpha"] and summary.tools_created == []
    alpha = Tool.objects.get(slug="alpha")
    assert alpha.e2e == "partial" and sorted(c.key for c in alpha.categories.all()) == ["messenger", "video"]


def _break(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(minimal())
    change(data)
    return data


BAD_FILES = [
    ("unknown key", lambda d: d["tools"][1]["criteria"].update(telemtry="low"),
     "tools[1] (beta).criteria: unknown key “telemtry”"),
    ("unknown choice", lambda d: d["tools"][0]["criteria"].update(e2e="maybe"),
     "tools[0] (alpha).criteria.e2e: “maybe” is not one of"),
    ("missing source", lambda d: d["tools"][1]["ratings"][0].pop("source"),
     "tools[1] (beta).ratings[0]: “source” is missing"),
    ("missing url", lambda d: d["tools"][1]["ratings"][0].update(url=""),
     "tools[1] (beta).ratings[0].url: must not be empty"),
    ("bad url", lambda d: d["tools"][1]["ratings"][0].update(url="javascript:alert(1)"),
     "tools[1] (beta).ratings[0].url: not a web address"),
    ("no date", lambda d: d["tools"][0]["ratings"][0].update(date="gestern"),
     "tools[0] (alpha).ratings[0].date: expected a date"),
    ("future date", lambda d: d["tools"][0]["ratings"][0].update(date="2999-01-01"),
     "tools[0] (alpha).ratings[0].date: the date lies in the future"),
    ("no ratings", lambda d: d["tools"][0].update(ratings=[]),
     "tools[0] (alpha).ratings: every tool needs at least one rating"),
    ("unknown light", lambda d: d["tools"][0]["ratings"][0].update(light="orange"),
     "tools[0] (alpha).ratings[0].light: “orange” is not one of"),
    ("unknown category", lambda d: d["tools"][0].update(categories=["fax"]),
     "tools[0] (alpha).categories: unknown category “fax”"),
    ("missing language", lambda d: d["tools"][0]["description"].pop("sv"),
     "tools[0] (alpha).description: “sv” is missing"),
    ("reserved slug", lambda d: d["tools"][0].update(slug="compare"),
     "tools[0].slug: “compare” is the name of a page"),
    ("duplicate slug", lambda d: d["tools"][1].update(slug="alpha"), "tools: “alpha” appears twice"),
    ("open source without licence", lambda d: d["tools"][0]["criteria"].update(licence=""),
     "tools[0] (alpha).criteria.licence: an open-source tool needs its licence"),
    ("not a boolean", lambda d: d["tools"][0]["criteria"].update(self_hostable="ja"),
     "tools[0] (alpha).criteria.self_hostable: expected true or false"),
    ("unknown top key", lambda d: d.update(tool=[]), "unknown key “tool”"),
    ("wrong version", lambda d: d.update(version=2), "version: only version 1 is known"),
]


@pytest.mark.parametrize(("case", "change", "message"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_a_bad_file_is_refused_naming_file_and_key_and_nothing_is_stored(
        db: Any, tmp_path: Path, case: str, change: Any, message: str) -> None:
    path = write(tmp_path, _break(change))
    with pytest.raises(ValidationError) as refused:
        catalogue_load(actor=None, path=path)
    problems = refused.value.messages
    assert any(p.startswith("katalog.yaml: ") and message in p for p in problems), problems
    assert counts() == (0, 0, 0, 0)


def test_unreadable_yaml_and_a_refused_update_leave_the_catalogue_as_it_was(seed: Any,
                                                                           tmp_path: Path) -> None:
    before = counts()
    with pytest.raises(ValidationError, match=r"katalog\.yaml: cannot read the file"):
        catalogue_load(actor=None, path=write(tmp_path, "tools: [unclosed"))
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    data["tools"][0]["name"] = "Umbenannt"  # a valid change …
    data["tools"][-1]["criteria"]["e2e"] = "vielleicht"  # … and a bad one in the same file
    with pytest.raises(ValidationError):
        catalogue_load(actor=None, path=write(tmp_path, data))
    assert counts() == before and not Tool.objects.filter(name="Umbenannt").exists()


def test_command_loads_checks_and_refuses_with_exit_status_2(db: Any, tmp_path: Path, capsys: Any) -> None:
    call_command("catalogue", "check")
    assert "no problems found" in capsys.readouterr().out and Tool.objects.count() == 0
    call_command("catalogue", "load")
    assert "tools added" in capsys.readouterr().out
    call_command("catalogue", "load")
    assert "already up to date" in capsys.readouterr().out
    bad = write(tmp_path, _break(lambda d: d["tools"][0]["criteria"].update(e2e="maybe")))
    before = counts()
    with pytest.raises(SystemExit) as stopped:
        call_command("catalogue", "load", str(bad))
    assert stopped.value.code == 2
    assert "katalog.yaml: tools[0] (alpha).criteria.e2e" in capsys.readouterr().err
    assert counts() == before


# --- pages --------------------------------------------------------------------------------------

@pytest.fixture
def people(tree: SimpleNamespace, mia: Any, jonas: Any, lars: Any, otto: Any) -> dict[str, Any]:
    return {"mia": mia, "jonas": jonas, "lars": lars, "otto": otto}


@pytest.mark.parametrize("who", ["anonymous", "mia", "jonas", "lars", "otto"])
def test_every_catalogue_page_is_readable_by_anyone(seed: Any, people: dict[str, Any], client_for: Any,
                                                    who: str) -> None:
    client = client_for(people.get(who))
    for url in (LIST, "/tools/jitsi-meet/", f"{COMPARE}?t=jitsi-meet&t=zoom",
                f"{ADVICE}?purpose=video&users=11_50&self_hosting=preferred&budget=small&clients=yes"):
        response = client.get(url, **EN)
        assert response.status_code == 200, url
        assert "Demo data — verify before relying on it." in response.content.decode(), url
    for url in (COMPARE, ADVICE):  # the forms alone
        assert client.get(url, **EN).status_code == 200, url


def test_list_shows_every_category_with_lights_in_words(seed: Any, anon: Any) -> None:
    page = anon.get(LIST, **EN).content.decode()
    for key in ("messenger", "video", "online_counseling", "documentation", "collaboration", "scheduling"):
        assert f'id="cat-{key}"' in page
    assert "Demo data — verify before relying on it." in page
    assert 'class="traffic-light traffic-light-red"' in page and ">red</span>" in page  # colour and word
    assert ">not rated</span>" in page
    assert "Data-protection rating:" in page  # the word for screen readers
    assert 'href="/tools/compare/"' in page and 'name="t" value="zoom"' in page


def _slugs(page: str) -> set[str]:
    return {s for s in Tool.objects.values_list("slug", flat=True) if f'href="/tools/{s}/"' in page}


@pytest.mark.parametrize(("query", "wanted", "unwanted"), [
    ("light=green", {"wire"}, {"zoom", "jitsi-meet", "whatsapp"}),
    ("light=green_yellow", {"wire"}, {"zoom"}),
    ("self_hostable=on", {"nextcloud", "jitsi-meet", "threema-work"}, {"zoom", "whatsapp", "doodle"}),
    ("eu_servers=on", {"wire", "nextcloud", "cryptpad"}, {"zoom", "whatsapp", "signal", "doodle"}),
    ("e2e=on&open_source=on", {"signal", "cryptpad", "element-matrix"}, {"jitsi-meet", "whatsapp"}),
    ("dpa=on", {"zoom", "nextcloud", "threema-work"}, {"whatsapp", "signal", "doodle"}),
    ("category=scheduling", {"framadate", "doodle", "cal-com", "nextcloud"}, {"zoom", "whatsapp"}),
])
def test_list_filters(seed: Any, anon: Any, query: str, wanted: set[str], unwanted: set[str]) -> None:
    response = anon.get(f"{LIST}?{query}", **EN)
    assert response.status_code == 200
    shown = _slugs(response.content.decode())
    assert wanted <= shown and not unwanted & shown


def test_a_tampered_filter_is_a_translated_error_and_shows_nothing(seed: Any, anon: Any) -> None:
    response = anon.get(f"{LIST}?light=purple&category=fax", **EN)
    assert response.status_code == 400
    page = response.content.decode()
    assert page.count("Please choose one of the answers offered.") == 2
    assert _slugs(page) == set()


def test_list_page_queries_do_not_grow_with_the_catalogue(seed: Any, client_for: Any, otto: Any,
                                                         django_assert_max_num_queries: Any) -> None:
    anonymous, logged_in = client_for(None), client_for(otto)
    logged_in.get("/tools/zoom/")  # the first request of a session records it (allauth usersessions)
    with django_assert_max_num_queries(4):  # categories, tools, their categories, current ratings
        assert anonymous.get(LIST).status_code == 200
    with django_assert_max_num_queries(14):  # + up to 10 of session, user and usersessions bookkeeping
        assert logged_in.get(f"{LIST}?light=green_yellow&eu_servers=on").status_code == 200


def test_detail_shows_every_criterion_and_the_rating_with_source_and_date(seed: Any, anon: Any) -> None:
    page = anon.get("/tools/zoom/", **EN).content.decode()
    for label in ("Processing agreement (Art. 28 GDPR)", "Server location", "Encryption",
                  "Telemetry and metadata", "Open source", "Can be self-hosted", "Cost model",
                  "Accessibility", "Fit for vulnerable clients"):
        assert label in page
    assert "BlnBDI" in page and "07/03/2020" in page and ">red</span>" in page
    assert "Rating history" in page


def test_detail_in_swedish_uses_the_swedish_texts(seed: Any, anon: Any) -> None:
    page = anon.get("/tools/signal/", headers={"accept-language": "sv"}).content.decode()
    assert Tool.objects.get(slug="signal").description_sv.split(".")[0] in page


@pytest.mark.parametrize("slug", ["no-such-tool", "ZOOM", "a" * 200, "zoom'--"])
def test_unknown_or_malformed_tool_is_404(seed: Any, anon: Any, slug: str) -> None:
    assert anon.get(f"/tools/{slug}/").status_code == 404


def test_compare_two_to_four_tools_side_by_side(seed: Any, anon: Any) -> None:
    page = anon.get(f"{COMPARE}?t=jitsi-meet&t=bigbluebutton&t=zoom&t=microsoft-teams", **EN)
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count('<th scope="col">') == 4 and 'class="compare"' in body
    assert body.index("Jitsi Meet") < body.index("BigBlueButton") < body.index("Microsoft Teams")
    two = anon.get(f"{COMPARE}?t=signal&t=signal&t=wire", **EN)  # the same tool twice counts once
    assert two.status_code == 200 and two.content.decode().count('<th scope="col">') == 2


@pytest.mark.parametrize(("query", "message"), [
    ("t=zoom&t=wire&t=signal&t=doodle&t=nextcloud",
     "You can compare at most 4 tools at a time; you chose 5."),
    ("t=zoom&t=no-such-tool", "One of the chosen tools is not in the catalogue. Please choose again."),
    ("t=zoom&t=%3Cscript%3E", "One of the chosen tools is not in the catalogue. Please choose again."),
    ("t=zoom", "Choose at least two tools to compare."),
    ("t=", "Choose at least two tools to compare."),
])
def test_compare_refuses_bad_choices_with_400(seed: Any, anon: Any, query: str, message: str) -> None:
    response = anon.get(f"{COMPARE}?{query}", **EN)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body and 'class="compare"' not in body and "<script>" not in body


def test_compare_without_choice_offers_the_tools_to_pick(seed: Any, anon: Any) -> None:
    response = anon.get(COMPARE, **EN)
    assert response.status_code == 200
    assert response.content.decode().count('name="t"') == Tool.objects.count()


ADVICE_OK = {"purpose": "video", "users": "11_50", "self_hosting": "no", "budget": "any", "clients": "yes"}


def test_advice_ranks_and_explains_and_rules_out_red_tools_for_clients(seed: Any, anon: Any) -> None:
    before = counts()
    response = anon.get(ADVICE, ADVICE_OK, **EN)
    assert response.status_code == 200
    page = response.content.decode()
    shortlist = page[page.index('class="advice-shortlist"'):page.index("Ruled out</h3>")]
    assert "Wire" in shortlist and "Zoom" not in shortlist and "Microsoft Teams" not in shortlist
    assert shortlist.index("Wire") < shortlist.index("Jitsi Meet")  # green before not rated
    assert "EU servers." in shortlist and "End-to-end encrypted." in shortlist
    ruled_out = page[page.index("Ruled out</h3>"):]
    assert "Zoom" in ruled_out and "ruled out for vulnerable clients" in ruled_out
    assert counts() == before  # advice stores nothing


def test_advice_without_clients_keeps_red_tools_but_ranks_them_low(seed: Any, anon: Any) -> None:
    page = anon.get(ADVICE, {**ADVICE_OK, "clients": "no"}, **EN).content.decode()
    assert "Rated red by BlnBDI" in page and "ruled out for vulnerable clients" not in page


def test_advice_for_messengers_rules_out_tools_without_processing_agreement(seed: Any, anon: Any) -> None:
    page = anon.get(ADVICE, {**ADVICE_OK, "purpose": "messenger"}, **EN).content.decode()
    ruled_out = page[page.index("Ruled out</h3>"):]
    assert "WhatsApp" in ruled_out and "No processing agreement: ruled out for client data." in ruled_out
    assert "Not suitable for vulnerable clients." in ruled_out


@pytest.mark.parametrize("change", [{"budget": "lots"}, {"purpose": "fax"}, {"users": "-1"},
                                    {"self_hosting": ""}, {"clients": "vielleicht"}])
def test_advice_refuses_unknown_answers_with_400(seed: Any, anon: Any, change: dict[str, str]) -> None:
    response = anon.get(ADVICE, {**ADVICE_OK, **change}, **EN)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Please choose one of the answers offered." in page or "This field is required." in page
    assert 'class="advice-shortlist"' not in page


def test_advice_form_alone_is_a_plain_page(seed: Any, anon: Any) -> None:
    page = anon.get(ADVICE, **EN).content.decode()
    assert 'method="get"' in page and 'name="purpose"' in page and 'type="radio"' in page
    assert "<script>" not in page and "style=" not in page


# --- no writes over HTTP ----------------------------------------------------------------------

def test_no_write_endpoint_is_reachable_over_http(seed: Any, client_for: Any, otto: Any) -> None:
    patterns = {p.name for p in get_resolver().url_patterns for p in getattr(p, "url_patterns", [])
                if getattr(p, "name", None) and p.lookup_str.startswith("wegweiser.catalogue.")}
    assert patterns == {"list", "detail", "compare", "advice"}
    client = client_for(otto)
    before = counts()
    for url in (LIST, "/tools/zoom/", COMPARE, ADVICE):
        for method in (client.post, client.put, client.patch, client.delete):
            response = method(url, headers={"x-csrftoken": client.cookies["csrftoken"].value})
            assert response.status_code == 405, (url, method)
    assert counts() == before


def test_selector_tools_for_categories_gives_the_best_rated_first(seed: Any,
                                                                  django_assert_max_num_queries: Any) -> None:
    with django_assert_max_num_queries(3):
        tools = selectors.tools_for_categories(["video", "messenger"], limit=3)
    assert tools[0].slug == "wire"  # the only green one
    assert len(tools) == 3 and len({t.slug for t in tools}) == 3
    assert "zoom" not in [t.slug for t in selectors.tools_for_categories(["video"], limit=4)]
    video = selectors.tools_for_categories(["video"], limit=10)
    assert {t.slug for t in video[-2:]} == {"microsoft-teams", "zoom"}  # the red ones last
    assert selectors.tools_for_categories(["no-such-category"]) == []
    assert selectors.tools_for_categories(["video"], limit=0) == []


def test_footer_links_to_the_catalogue(db: Any, anon: Any) -> None:
    assert f'href="{reverse("catalogue:list")}"' in anon.get(reverse("benefits:rules_index")).content.decode()
