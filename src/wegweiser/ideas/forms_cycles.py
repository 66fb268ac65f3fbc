"""Forms of the improvement cycles. They parse what people type (numbers as "12,5" or "12.5", dates)
and check the obvious; the actions (``ideas.actions.cycles``) check the rules again and name the
field of each refusal, which the views attach to the same form field.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from wegweiser.ideas.actions.cycles import MEASURE_MAX, NOTE_MAX, UNIT_MAX
from wegweiser.ideas.models import SHORT_TEXT_MAX, TITLE_MAX, ImprovementCycle, Pdsa
from wegweiser.organizations.models import Node

_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
NUMBER_TEXT_MAX = 24


class NumberField(forms.CharField):
    """A value as people write it: "12", "12,5", "-3.25", "1 234,5" or "1.234,5" → Decimal. With
    both separators the last one is the decimal mark; a lone "." or "," is always one, so "1.234"
    is 1.234 (and refused by the action for its third decimal) instead of silently 1234."""

    default_error_messages = {
        "invalid": _("Enter a number such as 12 or 12,5."),
        "too_long": _("This number is too long."),
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)  # no max_length: the cleaned value is a Decimal (checked below)
        self.widget.attrs.update({"inputmode": "decimal", "autocomplete": "off",
                                  "maxlength": str(NUMBER_TEXT_MAX)})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, Decimal):
            return number_format(value)
        return value

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]  # a Decimal, not text
        text = super().to_python(value) or ""
        for space in ("\u00a0", "\u202f", " ", "'"):
            text = text.replace(space, "")
        text = text.replace("\u2212", "-")
        if not text:
            return None
        if len(text) > NUMBER_TEXT_MAX:
            raise forms.ValidationError(self.error_messages["too_long"], code="too_long")
        if "," in text and "." in text:
            text = (text.replace(".", "").replace(",", ".") if text.rfind(",") > text.rfind(".")
                    else text.replace(",", ""))
        else:
            text = text.replace(",", ".")
        if not _NUMBER.match(text):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return Decimal(text)


def _date_field(label: Any, **kwargs: Any) -> forms.DateField:
    return forms.DateField(label=label, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                           **kwargs)


def _text(label: Any, maximum: int, *, rows: int = 0, **kwargs: Any) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": rows}) if rows else forms.TextInput()
    return forms.CharField(label=label, max_length=maximum, widget=widget, **kwargs)


DIRECTIONS = [("higher", _("Higher values are better")), ("lower", _("Lower values are better"))]


class CycleForm(forms.Form):
    """The three questions of the improvement model, plus a title."""

    title = _text(_("Title"), TITLE_MAX)
    aim = _text(_("Aim: what are we trying to accomplish?"), SHORT_TEXT_MAX, rows=3,
                help_text=_("As concrete as you can: how much, by when, for whom."))
    measure = _text(_("Measure: how will we know that a change is an improvement?"), MEASURE_MAX,
                    help_text=_("What you count or measure regularly, for example "
                                "\"waiting days until the first appointment\"."))
    measure_unit = _text(_("Unit"), UNIT_MAX, required=False,
                         help_text=_("For example: days, %, calls per week."))
    direction = forms.ChoiceField(label=_("Which direction is better?"), choices=DIRECTIONS,
                                  widget=forms.RadioSelect, initial="higher")
    baseline = NumberField(label=_("Baseline"),
                           help_text=_("The value of the measure today, before any change."))
    change_idea = _text(_("Change: what change can we make that will result in improvement?"),
                        SHORT_TEXT_MAX, rows=3)

    @classmethod
    def initial_of(cls, cycle: ImprovementCycle) -> dict[str, Any]:
        return {"title": cycle.title, "aim": cycle.aim, "measure": cycle.measure,
                "measure_unit": cycle.measure_unit, "baseline": cycle.baseline,
                "direction": "higher" if cycle.higher_is_better else "lower",
                "change_idea": cycle.change_idea}

    def action_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"title": data["title"], "aim": data["aim"], "measure": data["measure"],
                "measure_unit": data["measure_unit"], "baseline": data["baseline"],
                "higher_is_better": data["direction"] == "higher", "change_idea": data["change_idea"]}


class CycleCreateForm(CycleForm):
    team = forms.ChoiceField(label=_("Team"), help_text=_("The unit whose members carry out the cycle."))

    field_order = ["team", "title"]

    def __init__(self, *args: Any, units: list[Node], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.units = {str(unit.public_id): unit for unit in units}
        cast(forms.ChoiceField, self.fields["team"]).choices = [(k, u.name) for k, u in self.units.items()]
        if len(units) == 1:
            self.fields["team"].initial = str(units[0].public_id)

    def chosen_team(self) -> Node:
        return self.units[self.cleaned_data["team"]]


class TeamFilterForm(forms.Form):
    team = forms.ChoiceField(label=_("Team"), required=False)

    def __init__(self, *args: Any, teams: list[Node], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.teams = {str(team.public_id): team for team in teams}
        cast(forms.ChoiceField, self.fields["team"]).choices = [("", _("All teams"))] + [
            (k, t.name) for k, t in self.teams.items()]

    def chosen_team(self) -> Node | None:
        if not self.is_valid():
            return None
        return self.teams.get(self.cleaned_data["team"])


class MeasurementForm(forms.Form):
    date = _date_field(_("Date"))
    value = NumberField(label=_("Value"))
    note = _text(_("Note"), NOTE_MAX, required=False,
                 help_text=_("Optional, for example what was special on that day. No names of clients."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"date": timezone.localdate()})
        kwargs.setdefault("auto_id", "measurement_%s")  # unique ids beside the PDSA forms
        super().__init__(*args, **kwargs)


class MeasurementDeleteForm(forms.Form):
    date = forms.DateField(widget=forms.HiddenInput)


class PdsaStartForm(forms.Form):
    plan = _text(_("Plan: what do we test, who does what, when and where?"), SHORT_TEXT_MAX, rows=4)
    prediction = _text(_("Prediction: what do we expect to happen, and why?"), SHORT_TEXT_MAX, rows=3,
                       help_text=_("Write it down before the test: comparing with it is what you learn "
                                   "from."))
    started_on = _date_field(_("Start"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"started_on": timezone.localdate()})
        kwargs.setdefault("auto_id", "start_%s")
        super().__init__(*args, **kwargs)


DECISIONS = [
    ("", _("Not decided yet")),
    (Pdsa.Decision.ADOPT, _("Adopt: keep the change as it is")),
    (Pdsa.Decision.ADAPT, _("Adapt: change it and test again in a new cycle")),
    (Pdsa.Decision.ABANDON, _("Abandon: stop testing this change")),
]


class PdsaForm(forms.Form):
    """Do, Study and Act of a running PDSA cycle. The plan and prediction can still be corrected
    until Do or Study is written down; then they are shown but not sent (disabled)."""

    plan = _text(_("Plan: what do we test, who does what, when and where?"), SHORT_TEXT_MAX, rows=4)
    prediction = _text(_("Prediction: what do we expect to happen, and why?"), SHORT_TEXT_MAX, rows=3)
    do_notes = _text(_("Do: what happened? What was unexpected?"), SHORT_TEXT_MAX, rows=4, required=False)
    study = _text(_("Study: what do the results show, compared with the prediction?"), SHORT_TEXT_MAX,
                  rows=4, required=False)
    decision = forms.ChoiceField(label=_("Act: what do we decide?"), choices=DECISIONS, required=False,
                                 widget=forms.RadioSelect)
    act_notes = _text(_("Act: what happens next?"), SHORT_TEXT_MAX, rows=3, required=False)
    ended_on = _date_field(_("End"), required=False,
                           help_text=_("Only with a decision. Empty: today."))

    def __init__(self, *args: Any, pdsa: Pdsa, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"plan": pdsa.plan, "prediction": pdsa.prediction,
                                      "do_notes": pdsa.do_notes, "study": pdsa.study,
                                      "decision": pdsa.decision, "act_notes": pdsa.act_notes})
        kwargs.setdefault("auto_id", f"pdsa{pdsa.number}_%s")
        super().__init__(*args, **kwargs)
        self.pdsa = pdsa
        self.plan_fixed = bool(pdsa.do_notes or pdsa.study)
        if self.plan_fixed:
            for name in ("plan", "prediction"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("Fixed: the test has been carried out.")

    def action_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        kwargs = {"do_notes": data["do_notes"], "study": data["study"], "decision": data["decision"],
                  "act_notes": data["act_notes"], "ended_on": data["ended_on"]}
        if not self.plan_fixed:
            kwargs.update(plan=data["plan"], prediction=data["prediction"])
        return kwargs
