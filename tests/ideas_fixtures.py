"""Shared set-up for the needs & ideas tests. Besides the named people of conftest (jonas and ayse
of agency A, frieda the federation admin who triages, lars of the other federation, otto with no
role, mia the client): greta runs the federation's competence centre (triage on the root), sven
works in Region Süd (another branch), and an idea of jonas's."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import make_staff
from wegweiser.ideas import actions
from wegweiser.ideas.models import Item
from wegweiser.organizations.models import Role


@pytest.fixture
def greta(tree: SimpleNamespace) -> Any:
    return make_staff("greta", [(tree.fed, Role.INNOVATION)])


@pytest.fixture
def sven(tree: SimpleNamespace) -> Any:
    return make_staff("sven", [(tree.region_south, Role.STAFF)])


def make_item(author: Any, branch: Any, title: str = "Besuchsdienst gegen Einsamkeit im Alter",
              problem: str = "Viele Seniorinnen und Senioren sind allein.", **extra: Any) -> Item:
    federation = type(branch).objects.get(path=branch.federation_path)
    fields = {"kind": Item.Kind.IDEA, "affected": "Ältere Menschen", "field": "elderly_care", **extra}
    return actions.item_create(author=author, federation=federation, branch=branch, title=title,
                               problem=problem, **fields)


@pytest.fixture
def idea(tree: SimpleNamespace, jonas: Any) -> Item:
    return make_item(jonas, tree.agency_a)
