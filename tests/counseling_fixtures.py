"""Shared set-up for counseling tests: a topic, agency A offering it, mia's conversation."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from wegweiser.counseling import actions
from wegweiser.counseling.models import Agency, PostcodeRange, Topic


def make_agency(node: Any, topics: list[Topic], ranges: list[tuple[str, str]] = (), **extra: Any) -> Agency:
    agency = Agency.objects.create(node=node, **extra)
    agency.topics.set(topics)
    for start, end in ranges:
        PostcodeRange.objects.create(agency=agency, country="DE", start=start, end=end)
    return agency


@pytest.fixture
def counseling(tree: SimpleNamespace, mia: Any, jonas: Any) -> SimpleNamespace:
    topic = Topic.objects.create(organization=tree.fed, name="Schulden", postcode_required=False)
    agency_a = make_agency(tree.agency_a, [topic], [("24000", "24999")])
    agency_b = make_agency(tree.agency_b, [topic], [("25000", "25999")])
    conversation = actions.enquiry_create(client=mia, agency=agency_a, topic=topic,
                                          body="Ich habe Schulden.", postcode="24103")
    actions.enquiry_accept(actor=jonas, conversation=conversation)
    conversation.refresh_from_db()
    return SimpleNamespace(topic=topic, agency_a=agency_a, agency_b=agency_b, conversation=conversation)
