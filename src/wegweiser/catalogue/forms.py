"""The three GET forms of the catalogue: list filters, the comparison's choice of tools, and the
advice questions. All read the address only; none writes anything.

Anything not offered by the form (a tampered slug, a sixth tool, an answer that is not one of the
choices) is a translated form error shown beside the field, and the page answers 400.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from wegweiser.catalogue import advice
from wegweiser.catalogue.models import Category
from wegweiser.catalogue.selectors import Filters

COMPARE_MIN, COMPARE_MAX = 2, 4
NOT_OFFERED = _("Please choose one of the answers offered.")


class FilterForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), required=False,
                                 error_messages={"invalid_choice": NOT_OFFERED})
    light = forms.ChoiceField(
        label=_("Data-protection rating"), required=False,
        choices=[("", _("any")), ("green", _("only green")), ("green_yellow", _("green or yellow"))],
        error_messages={"invalid_choice": NOT_OFFERED},
    )
    eu_servers = forms.BooleanField(label=_("Servers in the EU or your own"), required=False)
    self_hostable = forms.BooleanField(label=_("Can be self-hosted"), required=False)
    e2e = forms.BooleanField(label=_("End-to-end encrypted"), required=False)
    dpa = forms.BooleanField(label=_("Processing agreement available or not needed"), required=False)
    open_source = forms.BooleanField(label=_("Open source"), required=False)

    def __init__(self, *args: Any, categories: list[Category], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", _("all")), *[(c.key, c.label) for c in categories]]  # type: ignore[attr-defined]

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(category=data.get("category", ""), light=data.get("light", ""),
                       self_hostable=bool(data.get("self_hostable")), eu_servers=bool(data.get("eu_servers")),
                       open_source=bool(data.get("open_source")), e2e=bool(data.get("e2e")),
                       dpa=bool(data.get("dpa")))


class ToolsField(forms.MultipleChoiceField):
    """Empty values (``?t=``) count as nothing chosen, not as an unknown tool."""

    def to_python(self, value: Any) -> list[str]:
        return [v for v in super().to_python(value) if v]


class CompareForm(forms.Form):
    t = ToolsField(
        label=_("Tools to compare"), widget=forms.CheckboxSelectMultiple,
        help_text=_("Choose two to four tools."),
        error_messages={"required": _("Choose at least two tools to compare."),
                        "invalid_choice": _("One of the chosen tools is not in the catalogue. "
                                            "Please choose again.")},
    )

    def __init__(self, *args: Any, tools: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["t"].choices = tools  # type: ignore[attr-defined]

    def clean_t(self) -> list[str]:
        slugs = list(dict.fromkeys(self.cleaned_data["t"]))  # the same tool twice counts once
        if len(slugs) < COMPARE_MIN:
            raise forms.ValidationError(_("Choose at least two tools to compare."), code="too_few")
        if len(slugs) > COMPARE_MAX:
            raise forms.ValidationError(
                _("You can compare at most %(max)d tools at a time; you chose %(n)d."),
                code="too_many", params={"max": COMPARE_MAX, "n": len(slugs)})
        return slugs


class AdviceForm(forms.Form):
    purpose = forms.ChoiceField(label=_("What do you need a tool for?"),
                                error_messages={"invalid_choice": NOT_OFFERED})
    users = forms.ChoiceField(
        label=_("How many people will use it?"), widget=forms.RadioSelect,
        choices=[("1_10", _("1 to 10")), ("11_50", _("11 to 50")), ("51_250", _("51 to 250")),
                 ("251_plus", _("more than 250"))],
        error_messages={"invalid_choice": NOT_OFFERED},
    )
    self_hosting = forms.ChoiceField(
        label=_("Do you want to run it on your own server (or your IT provider's)?"),
        widget=forms.RadioSelect,
        choices=[("required", _("Yes, that is a must")), ("preferred", _("If possible")),
                 ("no", _("No, we want a ready service"))],
        error_messages={"invalid_choice": NOT_OFFERED},
    )
    budget = forms.ChoiceField(
        label=_("What is your budget?"), widget=forms.RadioSelect,
        choices=[("none", _("None: it has to be free")), ("small", _("Small")),
                 ("any", _("Cost is not the deciding factor"))],
        error_messages={"invalid_choice": NOT_OFFERED},
    )
    clients = forms.ChoiceField(
        label=_("Will vulnerable clients use it, or will their data be in it?"), widget=forms.RadioSelect,
        choices=[("yes", _("Yes")), ("no", _("No, only staff and volunteers"))],
        help_text=_("For example people in crisis, children, or people seeking counseling."),
        error_messages={"invalid_choice": NOT_OFFERED},
    )

    def __init__(self, *args: Any, categories: list[Category], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["purpose"].choices = [("", "—"), *[(c.key, c.label) for c in categories]]  # type: ignore[attr-defined]

    def needs(self) -> advice.Needs:
        data = self.cleaned_data
        return advice.Needs(purpose=data["purpose"], users=data["users"], self_hosting=data["self_hosting"],
                            budget=data["budget"], vulnerable_clients=data["clients"] == "yes")
