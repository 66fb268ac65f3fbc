"""Forms of the needs & ideas pages. Limits are checked here for a friendly message and again in
the actions, which are the rule."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from wegweiser.ideas.models import (
    SHORT_TEXT_MAX,
    TEXT_MAX,
    TITLE_MAX,
    DeclineReason,
    FieldOfWork,
    Item,
    ReportReason,
    Stage,
    StageKind,
)
from wegweiser.ideas.selectors import AGE_FILTERS, BoardFilters
from wegweiser.organizations.models import Node


class UnitChoiceField(forms.ModelChoiceField):
    """A unit by its public id (integer keys never leave the server)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, to_field_name="public_id", **kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


def _units(units: list[Node]) -> Any:
    return Node.objects.filter(pk__in=[u.pk for u in units]).order_by("path")


class ItemForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Is this a need or an idea?"),
        choices=Item.Kind.choices,
        widget=forms.RadioSelect,
        initial=Item.Kind.IDEA,
    )
    title = forms.CharField(
        label=_("Title"), max_length=TITLE_MAX, help_text=_("One line that says what it is about.")
    )
    problem = forms.CharField(
        label=_("Problem"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What does not work today, and what would help? No client data."),
    )
    affected = forms.CharField(
        label=_("Who is affected?"),
        max_length=SHORT_TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    field = forms.ChoiceField(label=_("Field of work"), choices=[("", "—"), *FieldOfWork.choices])
    branch = UnitChoiceField(label=_("Your unit"), queryset=Node.objects.none(), empty_label=None)
    files = MultipleFileField(  # type: ignore[assignment]  # a field named like BaseForm.files
        label=_("Files (optional)"), required=False, help_text=_("PDF, JPEG, PNG or DOCX.")
    )

    def __init__(self, *args: Any, units: list[Node], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = _units(units)  # type: ignore[attr-defined]
        self.fields["title"].widget.attrs.update({"autocomplete": "off", "aria-describedby": "similar"})


class ItemEditForm(forms.Form):
    title = ItemForm.base_fields["title"]
    problem = ItemForm.base_fields["problem"]
    affected = ItemForm.base_fields["affected"]
    field = ItemForm.base_fields["field"]


class SupportForm(forms.Form):
    branch = UnitChoiceField(label=_("For which unit?"), queryset=Node.objects.none(), empty_label=None)

    def __init__(self, *args: Any, units: list[Node], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = _units(units)  # type: ignore[attr-defined]


class CommentForm(SupportForm):
    text = forms.CharField(
        label=_("Your comment"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )

    field_order = ["text", "branch"]


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label=_("Why do you report this item?"), choices=ReportReason.choices)


class FilterForm(forms.Form):
    q = forms.CharField(label=_("Title contains"), required=False, max_length=100)
    field = forms.ChoiceField(
        label=_("Field of work"), required=False, choices=[("", _("all")), *FieldOfWork.choices]
    )
    kind = forms.ChoiceField(label=_("Type"), required=False, choices=[("", _("all")), *Item.Kind.choices])
    branch = forms.ChoiceField(label=_("Region or branch"), required=False)
    stage = forms.ChoiceField(label=_("Stage"), required=False)
    age = forms.ChoiceField(
        label=pgettext_lazy("ideas filter", "Submitted"),
        required=False,
        choices=[
            ("", _("any time")),
            ("14", _("in the last 14 days")),
            ("90", _("in the last 90 days")),
            ("older90", _("more than 90 days ago")),
            ("older365", _("more than a year ago")),
        ],
    )

    def __init__(self, *args: Any, nodes: list[Node], stages: list[Stage], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.nodes = {str(n.public_id): n for n in nodes}
        self.stages = {str(s.public_id): s for s in stages}
        self.fields["branch"].choices = [  # type: ignore[attr-defined]
            ("", _("all")),
            *[(key, ("— " if n.kind == "branch" else "") + n.name) for key, n in self.nodes.items()],
        ]
        self.fields["stage"].choices = [("", _("all")), *[(key, s.label) for key, s in self.stages.items()]]  # type: ignore[attr-defined]

    def filters(self) -> BoardFilters:
        """The valid part of the filters (an unknown value is ignored, not an error)."""
        data = self.cleaned_data if self.is_valid() else {}
        return BoardFilters(
            field=data.get("field", ""),
            kind=data.get("kind", ""),
            branch=self.nodes.get(data.get("branch", "")),
            stage=self.stages.get(data.get("stage", "")),
            age=data.get("age", "") if data.get("age", "") in AGE_FILTERS else "",
            query=(data.get("q") or "").strip(),
        )


class MoveForm(forms.Form):
    stage = forms.ChoiceField(label=_("Stage"))
    answer = forms.CharField(
        label=_("Public answer"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Everyone who follows the item reads it. Required for every change."),
    )
    reason = forms.ChoiceField(
        label=_("Reason for declining"),
        required=False,
        choices=[("", "—"), *DeclineReason.choices],
        help_text=_("Required when declining."),
    )
    original = forms.CharField(
        label=_("Original item (when marking as duplicate)"),
        required=False,
        max_length=300,
        help_text=_("The address or id of the original item."),
    )

    def __init__(self, *args: Any, stages: list[Stage], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stage_map = {str(s.public_id): s for s in stages if s.is_active}
        self.fields["stage"].choices = [  # type: ignore[attr-defined]
            (key, f"{s.label} ({s.get_kind_display()})") for key, s in self.stage_map.items()
        ]


class ScoreForm(forms.Form):
    effort = forms.TypedChoiceField(
        label=_("Effort"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—"), *[(i, str(i)) for i in range(1, 6)]],
    )
    impact = forms.TypedChoiceField(
        label=_("Impact"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—"), *[(i, str(i)) for i in range(1, 6)]],
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Internal note"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only the competence centre and the evaluators read this."),
    )


class EvaluatorForm(forms.Form):
    username = forms.CharField(label=_("Username of the evaluator"), max_length=150)


class StageForm(forms.Form):
    label_de = forms.CharField(label=_("Name (German)"), max_length=60)
    label_sv = forms.CharField(label=_("Name (Swedish)"), max_length=60)
    label_en = forms.CharField(label=_("Name (English)"), max_length=60)
    kind = forms.ChoiceField(label=_("Kind"), choices=StageKind.choices)
    position = forms.IntegerField(label=_("Position"), min_value=0, max_value=999)
    is_active = forms.BooleanField(label=_("In use"), required=False, initial=True)
