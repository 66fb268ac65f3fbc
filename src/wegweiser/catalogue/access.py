"""Who may see what: everyone sees every tool (the catalogue is public facts, like ``/rules/``).
The helper still exists so that a lookup by a value from the address goes through one place and
a malformed or unknown slug is a plain 404."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404

from wegweiser.catalogue.loader import SLUG
from wegweiser.catalogue.models import Rating, Tool


def access_tool(slug: str) -> Tool:
    if len(slug) > 60 or not SLUG.match(slug):
        raise Http404
    tool = (Tool.objects.prefetch_related(
        "categories",
        Prefetch("ratings", queryset=Rating.objects.filter(is_current=True), to_attr="current_ratings"),
    ).filter(slug=slug).first())
    if tool is None:
        raise Http404
    return tool
