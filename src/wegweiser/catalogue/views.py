"""The public catalogue pages: list with filters, one tool, comparison, advice.

Public like ``/rules/``: the catalogue holds facts about software, no personal or organization
data, so anyone may read it, logged in or not. GET only: there is no write endpoint on the web
(the catalogue changes only through ``python -m wegweiser catalogue load``). Every page is a
plain form or link and works without JavaScript; bad input is answered with the form's translated
errors and status 400, never a 500.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from wegweiser.catalogue import selectors
from wegweiser.catalogue.access import access_tool
from wegweiser.catalogue.forms import COMPARE_MAX, AdviceForm, CompareForm, FilterForm


@require_GET
def tool_list(request: HttpRequest) -> HttpResponse:
    categories = selectors.categories()
    form = FilterForm(request.GET, categories=categories)
    valid = form.is_valid()
    sections = selectors.catalogue_sections(form.filters(), categories) if valid else []
    tools = {t.pk: t for s in sections for t in s.tools}
    return render(request, "catalogue/index.html", {
        "form": form, "sections": sections, "filters_valid": valid,
        "filtered": valid and form.filters().active, "count": len(tools),
        "demo": any(t.is_demo for t in tools.values()), "empty": not categories,
        "compare_max": COMPARE_MAX,
    }, status=200 if valid else 400)


@require_GET
def tool_detail(request: HttpRequest, slug: str) -> HttpResponse:
    tool = access_tool(slug)
    return render(request, "catalogue/tool.html", {
        "tool": tool, "rating": tool.current_rating, "history": selectors.tool_history(tool),
        "criteria": selectors.criteria(tool), "demo": tool.is_demo,
        "categories": list(tool.categories.all()),
    })


@require_GET
def tool_compare(request: HttpRequest) -> HttpResponse:
    choices = selectors.tool_choices()
    asked = "t" in request.GET
    form = CompareForm(request.GET if asked else None, tools=choices)
    tools = selectors.tools_by_slugs(form.cleaned_data["t"]) if asked and form.is_valid() else []
    return render(request, "catalogue/compare.html", {
        "form": form, "tools": tools, "rows": selectors.comparison(tools),
        "ratings": [t.current_rating for t in tools], "demo": any(t.is_demo for t in tools),
        "compare_max": COMPARE_MAX,
    }, status=400 if asked and not tools else 200)


@require_GET
def advice(request: HttpRequest) -> HttpResponse:
    categories = selectors.categories()
    asked = bool(request.GET)
    form = AdviceForm(request.GET if asked else None, categories=categories)
    result, tools = (selectors.advice_for(form.needs()) if asked and form.is_valid() else (None, {}))
    return render(request, "catalogue/advice.html", {
        "form": form, "advice": result,
        "shortlist": [(rec, tools[rec.candidate.slug]) for rec in result.shortlist] if result else [],
        "demo": any(t.is_demo for t in tools.values()),
    }, status=400 if asked and result is None else 200)
