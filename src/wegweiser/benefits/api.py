"""``POST /api/v1/benefits/assess``: one household in, the contract's result with explanation out
(../shared/contracts/benefits-io.md). A public calculator: it stores nothing and reads nothing but
the rules, so it needs no login; ``Accept-Language`` picks the explanation's language."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import translation
from ninja import Router

from wegweiser import rulesets
from wegweiser.benefits.errors import as_dict
from wegweiser.rules.errors import InputError, NoParameters, RulesError

router = Router(tags=["benefits"])


@router.post("/assess", summary="Assess one household",
             description="Body and result as in the benefits I/O contract; errors are 400 with "
                         "code, field and a translated message.",
             openapi_extra={"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}},
                                            "required": True}})
def assess(request: HttpRequest) -> Any:
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurd nesting
        return JsonResponse(as_dict(InputError("body: not valid JSON", field="body", code="invalid")),
                            status=400)
    try:
        result = rulesets.assess(data, translation.get_language() or "de")
    except (InputError, NoParameters) as error:
        return JsonResponse(as_dict(error), status=400)
    except RulesError as error:  # a broken ruleset is our fault, not the caller's
        raise RuntimeError(str(error)) from error
    return JsonResponse(result, json_dumps_params={"ensure_ascii": False})
