"""Forms of the application: the household as a formset of persons plus the household's costs and
benefits, built from the ruleset's own input fields and labels, so the form asks exactly what the
engine needs. Money is typed as people write it ("1 234,50" or "1234.50") and held in minor units.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.forms import formset_factory
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from wegweiser.benefits.models import BenefitOffice
from wegweiser.rules.engine import Ruleset
from wegweiser.rules.schema import MAX_AGE, MAX_AMOUNT, MAX_PERSONS

_PERSON_ID = re.compile(r"^[a-z0-9]{1,12}$")


class MoneyField(forms.CharField):
    """An amount in kronor or euro with up to two decimals → an integer in minor units."""

    default_error_messages = {
        "invalid": _("Enter an amount such as 1250 or 1 250,50."),
        "negative": _("Amounts cannot be negative."),
        "too_large": _("This amount is implausibly large."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)  # no max_length: the cleaned value is an int (checked below)
        self.widget.attrs.update({"inputmode": "decimal", "autocomplete": "off", "maxlength": "20"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            whole, cents = divmod(value, 100)
            return f"{whole}" if cents == 0 else f"{whole}.{cents:02d}"
        return value

    def to_python(self, value: Any) -> int:  # type: ignore[override]  # minor units, not text
        text = (super().to_python(value) or "").strip().replace("\u00a0", "").replace("\u202f", "")
        if not text:
            return 0
        text = text.replace(" ", "").replace("'", "")
        if len(text) > 20:
            raise forms.ValidationError(self.error_messages["too_large"], code="too_large")
        if "," in text and "." in text:  # 1.234,50 or 1,234.50: the last one is the decimal mark
            text = text.replace(".", "").replace(",", ".") if text.rfind(",") > text.rfind(".") else \
                text.replace(",", "")
        else:
            text = text.replace(",", ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not number.is_finite() or number != number.quantize(Decimal("0.01")):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if number < 0:
            raise forms.ValidationError(self.error_messages["negative"], code="negative")
        minor = int(number * 100)
        if minor > MAX_AMOUNT:
            raise forms.ValidationError(self.error_messages["too_large"], code="too_large")
        return minor


def _label(ruleset: Ruleset, name: str) -> str:
    language = translation.get_language() or "de"
    return ruleset.variables[name].label.get(language, ruleset.variables[name].label["de"])


class PersonForm(forms.Form):
    pid = forms.CharField(widget=forms.HiddenInput, required=False, max_length=12)
    role = forms.ChoiceField(label=_("Role in the household"),
                             choices=[("adult", _("Adult")), ("child", _("Child"))])
    age = forms.IntegerField(label=_("Age"), min_value=0, max_value=MAX_AGE)
    not_partner = forms.BooleanField(label=_("Lives here but is not my partner"), required=False)

    def __init__(self, *args: Any, ruleset: Ruleset, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ruleset = ruleset
        for name, (kind, maximum) in ruleset.schema.person_flags.items():
            label = _label(ruleset, name)
            self.fields[name] = (forms.BooleanField(label=label, required=False) if kind == "bool" else
                                 forms.IntegerField(label=label, required=False, min_value=0,
                                                    max_value=maximum))
        for name in ruleset.schema.income:
            self.fields[f"income_{name}"] = MoneyField(label=_label(ruleset, name))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors.get("pid") or (data.get("pid") and not _PERSON_ID.match(data["pid"])):
            # A hidden field: its error must show at the top of the person, not beside nothing.
            self.errors.pop("pid", None)
            raise forms.ValidationError(_("This form was changed outside the page. Reload it."))
        return data

    def person(self) -> dict[str, Any]:
        data = self.cleaned_data
        person: dict[str, Any] = {"id": data["pid"], "role": data["role"], "age": data["age"]}
        if data.get("not_partner"):
            person["partner"] = False
        for name, (kind, _maximum) in self.ruleset.schema.person_flags.items():
            if data.get(name):
                person[name] = bool(data[name]) if kind == "bool" else int(data[name])
        income = {name: data[f"income_{name}"] for name in self.ruleset.schema.income
                  if data.get(f"income_{name}")}
        if income:
            person["income"] = income
        return person

    @staticmethod
    def initial_of(person: dict[str, Any]) -> dict[str, Any]:
        initial = {"pid": person.get("id", ""), "role": person.get("role"), "age": person.get("age"),
                   "not_partner": person.get("partner") is False}
        for name, value in person.get("income", {}).items():
            initial[f"income_{name}"] = value
        for key, value in person.items():
            if key not in {"id", "role", "age", "partner", "income"}:
                initial[key] = value
        return initial


class BasePersonFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        persons = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if not any(f.cleaned_data.get("role") == "adult" for f in persons):
            raise forms.ValidationError(_("The household needs at least one adult."))
        given = [f.cleaned_data.get("pid") for f in persons if f.cleaned_data.get("pid")]
        if len(given) != len(set(given)):
            raise forms.ValidationError(_("This form was changed outside the page. Reload it."))


PersonFormSet = formset_factory(PersonForm, formset=BasePersonFormSet, extra=0, can_delete=True,
                                max_num=MAX_PERSONS, validate_max=True, absolute_max=MAX_PERSONS)


class HouseholdMoneyForm(forms.Form):
    def __init__(self, *args: Any, ruleset: Ruleset, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ruleset = ruleset
        for name in (*ruleset.schema.costs, *ruleset.schema.benefits):
            self.fields[name] = MoneyField(label=_label(ruleset, name))

    def values(self) -> tuple[dict[str, int], dict[str, int]]:
        data = self.cleaned_data
        costs = {n: data[n] for n in self.ruleset.schema.costs if data.get(n)}
        benefits = {n: data[n] for n in self.ruleset.schema.benefits if data.get(n)}
        return costs, benefits


def tampered(data: Any) -> bool:
    """Hidden person ids that the page cannot have produced (bad format or twice): someone edited
    the form outside the page, which gets a 404 like a foreign id."""
    seen: set[str] = set()
    for key, value in data.items():
        if key.startswith("person-") and key.endswith("-pid") and value:
            if not _PERSON_ID.match(value) or value in seen:
                return True
            seen.add(value)
    return False


def household_forms(ruleset: Ruleset, household: dict[str, Any], data: Any = None,
                    add_person: bool = False) -> tuple[Any, HouseholdMoneyForm]:
    """The bound (``data``) or initial formset and money form for a household."""
    persons = [PersonForm.initial_of(p) for p in household.get("persons", [])]
    if add_person or not persons:
        persons.append({"role": "adult" if not persons else "child"})
    formset = PersonFormSet(data, initial=persons if data is None else None, prefix="person",
                            form_kwargs={"ruleset": ruleset})
    money_initial = {**household.get("costs", {}), **household.get("benefits", {})}
    money = HouseholdMoneyForm(data, initial=money_initial if data is None else None,
                               ruleset=ruleset, prefix="money")
    return formset, money


def household_from_forms(formset: Any, money: HouseholdMoneyForm) -> dict[str, Any]:
    """The contract's household from valid forms; new persons get the next free id."""
    persons = [f.person() for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
    taken = {p["id"] for p in persons if p["id"]}
    number = 1
    for person in persons:
        if not person["id"]:
            while f"p{number}" in taken:
                number += 1
            person["id"] = f"p{number}"
            taken.add(person["id"])
    costs, benefits = money.values()
    household: dict[str, Any] = {"persons": persons}
    if costs:
        household["costs"] = costs
    if benefits:
        household["benefits"] = benefits
    return household


class StartForm(forms.Form):
    office = forms.ModelChoiceField(label=_("Office"), queryset=BenefitOffice.objects.none(),
                                    to_field_name="public_id", empty_label=None)
    month = forms.RegexField(label=_("Month"), regex=r"^\d{4}-\d{2}$", max_length=7,
                             help_text=_("As YYYY-MM, for example 2026-01."),
                             error_messages={"invalid": _("Give the month as YYYY-MM.")})

    def __init__(self, *args: Any, offices: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["office"].queryset = offices  # type: ignore[attr-defined]


class DecideForm(forms.Form):
    amount = MoneyField(label=_("Amount to decide (leave empty to accept the calculation)"))
    reason = forms.CharField(label=_("Reason (required when the amount differs)"), required=False,
                             max_length=4000, widget=forms.Textarea(attrs={"rows": 4}))


class ReassessForm(forms.Form):
    reason = forms.CharField(label=_("Why the inputs were changed"), max_length=4000,
                             widget=forms.Textarea(attrs={"rows": 3}))


class PolicyForm(forms.ModelForm):
    rent_cap = MoneyField(label=_("Highest accepted housing cost (0 = no limit)"))
    four_eyes_above = MoneyField(label=_("Second approval for decisions above (0 = never)"))

    class Meta:
        model = BenefitOffice
        fields = ["is_active", "rent_cap", "auto_enabled", "auto_repeat_only", "auto_max_change_percent",
                  "auto_allow_household_change", "auto_require_receipts", "four_eyes_above"]


class ReformForm(forms.Form):
    office = forms.ModelChoiceField(label=_("Office"), queryset=BenefitOffice.objects.none(),
                                    to_field_name="public_id", empty_label=None)
    group = forms.ChoiceField(label=_("Amounts to change"), choices=())
    percent = forms.DecimalField(label=_("Change in per cent"), min_value=Decimal(-50), max_value=Decimal(50),
                                 max_digits=5, decimal_places=2, initial=Decimal(5))
    round_to = forms.TypedChoiceField(label=_("Round each amount to"), coerce=int, initial=100, choices=[
        (1, _("the cent / öre")), (100, _("whole kronor / euro")), (1000, _("tens of kronor / euro"))])

    def __init__(self, *args: Any, offices: Any, groups: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["office"].queryset = offices  # type: ignore[attr-defined]
        self.fields["group"].choices = [(g, g.rstrip(".")) for g in groups]  # type: ignore[attr-defined]


class ReceiptForm(forms.Form):
    file = forms.FileField(label=_("Receipt (PDF, JPEG, PNG or DOCX)"))
