"""Public read-only API (django-ninja, OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs).

Only what the public agency finder shows: no client data is reachable here.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Query, Schema, Status
from ninja.errors import HttpError

from wegweiser.counseling.selectors import active_topics, find_agencies

api = NinjaAPI(title="Wegweiser API", version="1", urls_namespace="api-v1",
               description="Public, read-only API of Wegweiser: the agency finder of online counseling "
                           "and the benefits calculator (no client data is stored or returned).")


class TopicOut(Schema):
    id: uuid.UUID
    name: str
    description: str
    postcode_required: bool
    min_age: int
    anonymous_allowed: bool


class AgencyOut(Schema):
    id: uuid.UUID
    name: str
    description: str
    languages: list[str]
    opening_hours: str
    offline: bool
    external_url: str
    topics: list[uuid.UUID]


class AgencyList(Schema):
    fallback: bool
    agencies: list[AgencyOut]


class ErrorOut(Schema):
    detail: str


class AgencyQuery(Schema):
    topic: uuid.UUID
    postcode: str = ""
    age: int | None = None


@api.get("/topics", response=list[TopicOut], summary="Active counseling topics")
def topics(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {"id": t.public_id, "name": t.name, "description": t.description,
         "postcode_required": t.postcode_required, "min_age": t.min_age,
         "anonymous_allowed": t.anonymous_allowed}
        for t in active_topics()
    ]


@api.get("/agencies", response={200: AgencyList, 400: ErrorOut, 404: ErrorOut},
         summary="Agencies offering a topic for a postcode and age",
         description="Agencies below the topic's organization that offer it, cover the postcode and "
                     "accept the age; when none does, the topic's fallback agency (fallback=true).")
def agencies(request: HttpRequest, query: Query[AgencyQuery]) -> Any:
    topic = active_topics().filter(public_id=query.topic).first()
    if topic is None:
        raise HttpError(404, _("Unknown topic."))
    try:
        result = find_agencies(topic=topic, postcode=query.postcode, age=query.age)
    except ValidationError as exc:
        return Status(400, {"detail": " ".join(exc.messages)})
    return Status(200, {
        "fallback": result.fallback,
        "agencies": [
            {"id": a.node.public_id, "name": a.node.name, "description": a.description,
             "languages": list(a.languages), "opening_hours": a.opening_hours, "offline": a.offline,
             "external_url": a.external_url, "topics": [t.public_id for t in a.topics.all()]}
            for a in result.agencies
        ],
    })
