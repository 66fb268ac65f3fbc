"""Forms of the workshop pages. They parse and check the shape of the input; the rules (place or
link, https only, end after start, places and registrations, which items may be linked) live in
``ideas.actions.workshops``, whose errors the views show above the form.

Linking items: 10,000 items are too many for one list, so the form offers checkboxes for at most
``ITEM_CHOICES`` items of the federation that are in an open or active stage (active ones first,
then the most supported), plus the items already linked and the one the organizer came from
(``?item=<id>`` on the new-workshop page, the item page's "plan a workshop" link). Any other item
of the federation is linked by pasting its address (or id) into "further items", one per line.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms
from django.db.models import Case, IntegerField, Value, When
from django.utils.translation import gettext_lazy as _

from wegweiser.ideas.actions.workshops import (
    ATTENDEES_MAX,
    CAPACITY_MAX,
    CAPACITY_MIN,
    MAX_LINKED_ITEMS,
    OUTCOME_MAX,
    PLACE_MAX,
    URL_MAX,
)
from wegweiser.ideas.models import TEXT_MAX, TITLE_MAX, Item, StageKind, Workshop
from wegweiser.organizations.models import Node

ITEM_CHOICES = 50
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def item_candidates(federation: Node) -> list[Item]:
    """The items offered as checkboxes: open or active, visible, active stages first."""
    return list(
        Item.objects.filter(federation=federation, moderation=Item.Moderation.NONE,
                            stage__kind__in=[StageKind.OPEN, StageKind.ACTIVE])
        .select_related("stage")
        .annotate(active_first=Case(When(stage__kind=StageKind.ACTIVE, then=Value(0)), default=Value(1),
                                    output_field=IntegerField()))
        .order_by("active_first", "-support_count", "-created_at")[:ITEM_CHOICES])


def _item_label(item: Item) -> str:
    label = f"{item.title} ({item.stage.label})"
    return f"{label} – {_('hidden by moderation')}" if item.is_hidden else label


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class WorkshopForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    description = forms.CharField(label=_("Description"), required=False, max_length=TEXT_MAX,
                                  widget=forms.Textarea(attrs={"rows": 5}))
    organizer = forms.ChoiceField(label=_("Organized by"))
    starts_at = forms.DateTimeField(label=_("Start"), widget=DateTimeLocalInput())
    ends_at = forms.DateTimeField(label=_("End"), widget=DateTimeLocalInput())
    place = forms.CharField(label=_("Place"), required=False, max_length=PLACE_MAX,
                            help_text=_("Address and room. Leave empty for an online-only workshop."))
    online_url = forms.CharField(label=_("Online link"), required=False, max_length=URL_MAX,
                                 widget=forms.URLInput(attrs={"placeholder": "https://"}),
                                 help_text=_("Only registered participants see the link."))
    capacity = forms.IntegerField(label=_("Places"), min_value=CAPACITY_MIN, max_value=CAPACITY_MAX)
    items = forms.MultipleChoiceField(label=_("Linked needs and ideas"), required=False,
                                      widget=forms.CheckboxSelectMultiple)
    more_items = forms.CharField(
        label=_("Further items"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("To link an item that is not in the list, paste the address of its page, one per line."))

    def __init__(self, *args: Any, federation: Node, organizers: list[Node], candidates: list[Item],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.federation = federation
        self.organizers = {str(node.public_id): node for node in organizers}
        self.candidates = {str(item.public_id): item for item in candidates}
        self.fields["organizer"].choices = [(key, node.name) for key, node in self.organizers.items()]  # type: ignore[attr-defined]
        self.fields["items"].choices = [(key, _item_label(item)) for key, item in self.candidates.items()]  # type: ignore[attr-defined]
        self.fields["items"].help_text = _(
            "Needs and ideas that are open or in progress, the most supported first.")

    @classmethod
    def initial_for(cls, workshop: Workshop, linked: list[Item]) -> dict[str, Any]:
        return {"title": workshop.title, "description": workshop.description,
                "organizer": str(workshop.organizer.public_id), "starts_at": workshop.starts_at,
                "ends_at": workshop.ends_at, "place": workshop.place, "online_url": workshop.online_url,
                "capacity": workshop.capacity, "items": [str(item.public_id) for item in linked]}

    def clean_more_items(self) -> list[uuid.UUID]:
        ids: list[uuid.UUID] = []
        lines = [line.strip() for line in self.cleaned_data["more_items"].splitlines() if line.strip()]
        for number, line in enumerate(lines, start=1):
            found = _UUID.findall(line)
            if len(found) != 1:
                raise forms.ValidationError(_("Line %(number)s: this is not the address of an item."),
                                            code="bad_item_link", params={"number": number})
            ids.append(uuid.UUID(found[0]))
        if len(ids) > MAX_LINKED_ITEMS:
            raise forms.ValidationError(_("Link at most %(count)s items to one workshop."),
                                        code="too_many_items", params={"count": MAX_LINKED_ITEMS})
        return ids

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        chosen = [self.candidates[key] for key in data.get("items", [])]
        more = data.get("more_items") or []
        if more:
            found = {item.public_id: item for item in
                     Item.objects.filter(federation=self.federation, moderation=Item.Moderation.NONE,
                                         public_id__in=more)}
            missing = [str(key) for key in more if key not in found]
            if missing:
                self.add_error("more_items", _("No visible item of this federation has the id %(ids)s.")
                               % {"ids": ", ".join(missing)})
            chosen += [found[key] for key in more if key in found]
        data["linked"] = list({item.pk: item for item in chosen}.values())
        return data

    def action_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"organizer": self.organizers[data["organizer"]], "title": data["title"],
                "description": data["description"], "starts_at": data["starts_at"],
                "ends_at": data["ends_at"], "place": data["place"], "online_url": data["online_url"],
                "capacity": data["capacity"], "items": data["linked"]}


class OutcomeForm(forms.Form):
    outcome = forms.CharField(label=_("Outcome report"), max_length=OUTCOME_MAX,
                              widget=forms.Textarea(attrs={"rows": 10}),
                              help_text=_("What was worked out, what happens next, who takes it on."))
    attendee_count = forms.IntegerField(label=_("Number of participants"), required=False, min_value=0,
                                        max_value=ATTENDEES_MAX)
    moved_on = forms.MultipleChoiceField(label=_("Linked items that moved on"), required=False,
                                         widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, linked: list[Item], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.linked = {str(item.public_id): item for item in linked}
        self.fields["moved_on"].choices = [(key, _item_label(item)) for key, item in self.linked.items()]  # type: ignore[attr-defined]

    def moved_on_items(self) -> list[Item]:
        return [self.linked[key] for key in self.cleaned_data["moved_on"]]


class RegisterForm(forms.Form):
    branch = forms.ChoiceField(label=_("I take part for"))

    def __init__(self, *args: Any, branches: list[Node], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.branches = {str(node.public_id): node for node in branches}
        self.fields["branch"].choices = [(key, node.name) for key, node in self.branches.items()]  # type: ignore[attr-defined]
        if len(branches) == 1:
            self.fields["branch"].widget = forms.HiddenInput()
            self.fields["branch"].initial = str(branches[0].public_id)

    def chosen_branch(self) -> Node:
        return self.branches[self.cleaned_data["branch"]]
