"""Transparency: a public page per ruleset listing every rule and every parameter with its
history and legal reference, so anyone can check what the calculation does."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from wegweiser import rulesets
from wegweiser.benefits import selectors
from wegweiser.benefits.selectors import reader_language


def rules_index(request: HttpRequest) -> HttpResponse:
    language = reader_language()
    items = [{"ruleset": r, "label": r.label[language], "parameters": len(r.parameters.parameters),
              "variables": len(r.variables), "unverified": len(r.parameters.unverified())}
             for r in rulesets.all_rulesets()]
    return render(request, "benefits/rules_index.html", {"items": items})


def ruleset_detail(request: HttpRequest, ruleset_id: str) -> HttpResponse:
    ruleset = selectors.ruleset_get(ruleset_id)
    language = reader_language()
    return render(request, "benefits/ruleset.html", {
        "ruleset": ruleset, "label": ruleset.label[language],
        "variables": selectors.variable_rows(ruleset, language),
        "parameters": selectors.parameter_rows(ruleset, language),
    })
